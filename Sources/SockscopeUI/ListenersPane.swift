import SockscopeCore

/// The Listening pane: one row per listener.
enum ListenersPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let open = state.listeners.filter(\.isOpen).count
        let area = PaneFrame.draw(in: &grid, rect, title: "Listening (\(open))", focused: focused)
        if state.listeners.isEmpty {
            if state.connections.isEmpty {
                grid.put("Nothing yet. Press : and type listen 9000 (then :connect 9000)", x: area.x, y: area.y,
                         maxWidth: area.width, role: .dim)
            } else {
                grid.put("No listeners. :listen PORT opens one", x: area.x, y: area.y, maxWidth: area.width, role: .dim)
            }
            return
        }
        let rows = state.listeners.map { row -> TableView.Row in
            let local = row.local.description + (row.isAllInterfaces ? " (ALL interfaces)" : "")
            let role: StyleRole = !row.isOpen ? .dim : row.isAllInterfaces ? .warning : .normal
            let mode = row.relayTarget.map { "relay to " + DisplayText.escape(string: $0) } ?? row.mode.description
            return TableView.Row(cells: [row.id.description, row.transport.label, local, mode,
                                         Self.clients(row), row.transport.isDatagram || row.relayTarget != nil ? "-" : "\(row.backlog)",
                                         LabDetail.listenerStateLabel(row, state)],
                                 role: role)
        }
        let selected = state.view.selectedListener.flatMap { id in state.listeners.firstIndex { $0.id == id } }
        TableView(columns: columns, rows: rows,
                  selected: selected, focused: focused).draw(in: &grid, area)
    }

    static let columns: [TableView.Column] = [
        .init(header: "ID", priority: 0), .init(header: "PROTO", priority: 4),
        .init(header: "LOCAL", priority: 1, elidable: true), .init(header: "MODE", priority: 3, elidable: true),
        .init(header: "CONNS/ALL", priority: 2), .init(header: "BACKLOG", priority: 5), .init(header: "STATE", priority: 2),
    ]

    /// Open/accepted connections, or datagrams in/out for a datagram listener.
    static func clients(_ row: ListenerRow) -> String {
        row.transport.isDatagram && row.relayTarget == nil ? "\(row.datagramsIn)↓ \(row.datagramsOut)↑ dgrams" : "\(row.activeConnections)/\(row.acceptedTotal)"
    }
}
