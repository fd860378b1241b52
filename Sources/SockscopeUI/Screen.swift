import SockscopeCore

/// One rendered frame: the cells and where the terminal cursor goes (nil hides it).
public struct Frame: Hashable, Sendable {
    public var grid: CellGrid
    public var cursorX: Int?
    public var cursorY: Int?
}

/// Renders the whole application state into an off-screen grid. Pure: the
/// same state always gives the same frame, so tests compare text snapshots.
public enum Screen {
    public static func render(_ state: AppState) -> Frame {
        var grid = CellGrid(width: state.view.width, height: state.view.height)
        let layout = Layout(state: state)
        StatusLine.draw(state, in: &grid, layout.status)
        if let rect = layout.tour, let tour = state.tour {
            // Ids and ports only: nothing from outside is in it, but escape as every line does.
            grid.clear(rect, role: .info)
            grid.put(TextFit.elide(DisplayText.escape(string: tour.progress), to: rect.width), x: rect.x, y: rect.y, role: .info)
        }
        for (pane, rect) in layout.panes {
            let focused = pane == state.view.focus
            switch pane {
            case .listeners: ListenersPane.draw(state, in: &grid, rect, focused: focused)
            case .connections: ConnectionsPane.draw(state, in: &grid, rect, focused: focused)
            case .detail: DetailPane.draw(state, in: &grid, rect, focused: focused)
            case .log: LogPane.draw(state, in: &grid, rect, focused: focused)
            }
        }
        if state.lab.system.visible { SystemPane.draw(state, in: &grid, layout) }
        if state.scan.visible { ScanPane.draw(state, in: &grid, layout) }
        let cursor = Footer.draw(state, in: &grid, layout.footer)
        if state.view.showHelp { HelpOverlay.draw(state, in: &grid, layout) }
        return Frame(grid: grid, cursorX: cursor?.x, cursorY: cursor?.y)
    }
}
