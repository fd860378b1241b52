import SockscopeCore

/// The Connections pane: accepted and outgoing connections.
enum ConnectionsPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let open = state.connections.filter(\.state.isOpen).count
        let area = PaneFrame.draw(in: &grid, rect, title: "Connections (\(open) open)", focused: focused)
        if state.connections.isEmpty {
            grid.put("No connections. :connect HOST:PORT opens one", x: area.x, y: area.y, maxWidth: area.width, role: .dim)
            return
        }
        let rows = state.connections.map { row -> TableView.Row in
            let role: StyleRole = row.state.isOpen ? .normal : .dim
            return TableView.Row(cells: [row.id.description, row.listener?.description ?? "out",
                                         DisplayText.escape(string: row.local), DisplayText.escape(string: row.remote),
                                         row.state.label, ByteCount.text(row.bytesIn), ByteCount.text(row.bytesOut)],
                                 role: role)
        }
        let selected = state.view.selectedConnection.flatMap { id in state.connections.firstIndex { $0.id == id } }
        TableView(headers: ["ID", "VIA", "LOCAL", "REMOTE", "STATE", "IN", "OUT"], rows: rows,
                  selected: selected, focused: focused).draw(in: &grid, area)
    }
}
