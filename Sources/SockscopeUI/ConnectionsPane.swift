import SockscopeCore

/// The Connections pane as a tree: each listener's accepted connections under
/// it, then our outgoing connections under their own heading (`out`).
enum ConnectionsPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let open = state.connections.filter(\.state.isOpen).count
        // Only the rows on screen are formatted: with 10,000 connections, formatting
        // every row each frame cost more than the rest of the frame together.
        let order = state.connectionDisplayOrder
        let area = PaneFrame.draw(in: &grid, rect, title: title(state, open: open, shown: order.count), focused: focused)
        if state.connections.isEmpty {
            grid.put("No connections. :connect HOST:PORT opens one", x: area.x, y: area.y, maxWidth: area.width, role: .dim)
            return
        }
        if order.isEmpty {
            grid.put("No connection matches the filter. / changes it, Esc clears it", x: area.x, y: area.y,
                     maxWidth: area.width, role: .dim)
            return
        }
        let isTree = state.view.connectionSort == .tree
        let pinned = Set(state.view.pinnedConnections)
        let selected = state.displayPosition(of: state.view.selectedConnection, in: order)
        let visible = max(0, area.height - 1)
        let first = TableView.firstVisibleRow(selected: selected, rowCount: order.count, visible: visible)
        let shown = first..<min(order.count, first + visible)
        var previousGroup: SocketID?? = first > 0 ? .some(state.connections[order[first - 1]].listener) : .none
        let tableRows = shown.map { position -> TableView.Row in
            let row = state.connections[order[position]]
            // In the tree, the group's name on its first row only, so the rows read as a tree;
            // sorted otherwise, every row names its listener.
            let group = row.listener
            let isFirstOfGroup = !isTree || previousGroup == .none || previousGroup! != group
            previousGroup = .some(group)
            // A relay's upstream leg sits under its client leg: the pair reads as one client.
            let via = row.relay?.role == .upstream && isTree ? "   ↳" : isFirstOfGroup ? (group.map { "\($0) ▸" } ?? "out ▸") : "  └"
            let role: StyleRole = row.state.isOpen ? .normal : .dim
            let id = pinned.contains(row.id) ? pinMark + row.id.description : row.id.description
            return TableView.Row(cells: [via, id, row.transport.label,
                                         row.localText, row.remoteText,
                                         stateLabel(row, state), ByteCount.text(row.bytesIn), ByteCount.text(row.bytesOut),
                                         activityCell(row, state),
                                         rateText(row.rate), row.lineEnding.rawValue],
                                 role: role)
        }
        TableView(columns: columns, rows: tableRows,
                  selected: selected.map { $0 - first }, focused: focused).draw(in: &grid, area)
    }

    /// The state, and for a relay leg that stopped reading, the bytes its other leg holds;
    /// while a `sendfile` runs, how far it is (the sparkline column, gone at 80 columns, has its bar).
    static func stateLabel(_ row: ConnectionRow, _ state: AppState) -> String {
        var label = LabDetail.stateLabel(row, state)
        if let held = row.relay?.held { label += " held " + ByteCount.text(held) }
        if let leg = row.relay, leg.heldChunks > 0 {
            label += " holds \(leg.heldChunks)/" + ByteCount.text(leg.heldBytes) + (leg.holdFull ? " full" : "")
        }
        if let progress = state.transferProgress(of: row.id) { label += " sendfile \(Int(progress.fraction * 100))%" }
        return label
    }

    /// The sparklines, or while a `sendfile` runs, its progress bar in their place.
    static func activityCell(_ row: ConnectionRow, _ state: AppState) -> String {
        guard let progress = state.transferProgress(of: row.id) else {
            return Sparkline.cell(row.rate.history, glyphs: state.view.glyphs)
        }
        return ProgressBar.text(progress.fraction, width: 2 * RateHistory.capacity + 1, glyphs: state.view.glyphs)
    }

    /// Before a pinned connection's id (`m`).
    static let pinMark = "^"

    /// `Connections (3 open)`, then the sort unless it is the tree, then the filter with how
    /// many rows it keeps: `Connections (3 open) · by rate · rows/port:443 2 of 10`.
    static func title(_ state: AppState, open: Int, shown: Int) -> String {
        var title = "Connections (\(open) open)"
        if state.view.connectionSort != .tree { title += " · " + state.view.connectionSort.title }
        if let filter = state.view.connectionFilter {
            title += " · " + Prompt(.connectionFilter).label + DisplayText.escape(string: filter.text)
                + " \(shown) of \(state.connections.count)"
        }
        if state.view.followsBusiest { title += " · following busiest" }
        return title
    }

    /// The id, the counts and the state go last when the width runs out; addresses are elided first.
    /// The sparklines outlast the rate's numbers; at 80 columns both go, so that addresses stay whole.
    static let columns: [TableView.Column] = [
        .init(header: "VIA", priority: 7), .init(header: "ID", priority: 0), .init(header: "PROTO", priority: 5),
        .init(header: "LOCAL", priority: 4, elidable: true), .init(header: "REMOTE", priority: 3, elidable: true),
        .init(header: "STATE", priority: 2), .init(header: "IN", priority: 1), .init(header: "OUT", priority: 1),
        .init(header: sparklineHeader, priority: 6), .init(header: "RATE ↓/↑", priority: 6), .init(header: "EOL", priority: 8),
    ]

    /// Over the sparklines: received, then sent, one character per second.
    static let sparklineHeader = "IN/OUT LAST \(RateHistory.capacity)s"

    /// `1.2 KiB/s / 3 B/s`, or `-` when the connection is quiet.
    static func rateText(_ rate: TrafficRate) -> String {
        rate.inPerSecond == 0 && rate.outPerSecond == 0
            ? "-" : "\(ByteCount.rate(rate.inPerSecond)) / \(ByteCount.rate(rate.outPerSecond))"
    }
}
