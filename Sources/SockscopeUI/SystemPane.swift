import SockscopeCore

/// The system view: every socket on the machine (like `ss -tuxanp`), drawn over
/// the body while it is shown. Our own sockets show their id (`L1`, `C3`; `*` for one
/// whose row is gone). Addresses, paths
/// and process names come from the system and are escaped like network data.
enum SystemPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ layout: Layout) {
        let body = Rect(x: 0, y: layout.status.height, width: grid.width,
                        height: max(0, grid.height - layout.status.height - layout.footer.height))
        guard body.height > 0, body.width > 0 else { return }
        grid.clear(body)
        let system = state.lab.system
        let rows = system.rows
        var title = "System: \(rows.count) sockets, sorted by \(system.sort.rawValue) (o)"
        if let filter = system.filter { title += ", filter \"\(DisplayText.escape(string: filter))\"" }
        title += "  / filters, S/Esc hides, c connects"
        let area = PaneFrame.draw(in: &grid, body, title: title, focused: true)
        if system.sockets.isEmpty {
            grid.put("Reading /proc/net...", x: area.x, y: area.y, maxWidth: area.width, role: .dim)
            return
        }
        let tableRows = rows.map { row -> TableView.Row in
            let role: StyleRole = row.isOurs ? .info : row.isListener ? .normal : .dim
            let ours = row.isOurs ? state.ourID(for: row)?.description ?? "*" : ""
            return TableView.Row(cells: [ours, row.proto, row.state,
                                         "\(row.receiveQueue)", "\(row.sendQueue)",
                                         row.local.description, row.remoteText,
                                         DisplayText.escape(string: row.process ?? "-")],
                                 role: role)
        }
        TableView(columns: [
            .init(header: "OURS", priority: 1), .init(header: "PROTO", priority: 2), .init(header: "STATE", priority: 1),
            .init(header: "RECV-Q", priority: 3), .init(header: "SEND-Q", priority: 3),
            .init(header: "LOCAL", priority: 0, elidable: true), .init(header: "REMOTE", priority: 1, elidable: true),
            .init(header: "PROCESS", priority: 4, elidable: true),
        ], rows: tableRows,
                  selected: rows.isEmpty ? nil : system.selected, focused: true).draw(in: &grid, area)
    }
}
