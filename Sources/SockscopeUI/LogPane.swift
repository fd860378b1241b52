import SockscopeCore

/// The Log pane: newest entries at the bottom, following unless scrolled up.
enum LogPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let log = state.log
        var title = "Log (\(log.count))"
        if state.view.logScroll > 0 { title += " paused, \(state.view.logScroll) newer: End follows" }
        let area = PaneFrame.draw(in: &grid, rect, title: title, focused: focused)
        guard area.height > 0 else { return }
        let end = max(0, log.count - state.view.logScroll)
        let start = max(0, end - area.height)
        for (line, index) in (start..<end).enumerated() {
            let entry = log[index]
            var x = area.x
            let maxX = area.x + area.width
            x += grid.put(TimeText.clock(entry.time) + " ", x: x, y: area.y + line, maxWidth: maxX - x, role: .dim)
            x += grid.put((entry.socket?.description ?? "-").padding(4), x: x, y: area.y + line, maxWidth: maxX - x,
                          role: .info)
            let role = Self.role(for: entry.kind)
            x += grid.put(LogText.marker(entry.kind) + " ", x: x, y: area.y + line, maxWidth: maxX - x, role: role)
            grid.put(LogText.body(entry), x: x, y: area.y + line, maxWidth: maxX - x, role: role)
        }
    }

    static func role(for kind: LogKind) -> StyleRole {
        switch kind {
        case .received: .incoming
        case .sent: .outgoing
        case .info: .info
        case .error: .error
        case .command: .command
        }
    }
}
