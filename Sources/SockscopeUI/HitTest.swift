import SockscopeCore

/// Maps a screen cell to what is drawn there, for the mouse.
public enum HitTest {
    public struct Hit: Hashable, Sendable {
        public var pane: Pane
        /// The table row under the cell (listeners, connections), if any.
        public var row: Int?
    }

    public static func hit(_ state: AppState, x: Int, y: Int) -> Hit? {
        let layout = Layout(state: state)
        guard let pane = layout.pane(at: x, y), let rect = layout.panes[pane] else { return nil }
        let area = PaneFrame.contentArea(rect)
        let rowCount: Int
        let selected: Int?
        switch pane {
        case .listeners:
            rowCount = state.listeners.count
            selected = state.view.selectedListener.flatMap { id in state.listeners.firstIndex { $0.id == id } }
        case .connections:
            let order = state.connectionDisplayOrder
            rowCount = order.count
            selected = state.displayPosition(of: state.view.selectedConnection, in: order)
        case .detail, .log:
            return Hit(pane: pane, row: nil)
        }
        // The first line of a table is its header.
        let line = y - area.y - 1
        let visible = area.height - 1
        guard line >= 0, line < visible else { return Hit(pane: pane, row: nil) }
        let row = TableView.firstVisibleRow(selected: selected, rowCount: rowCount, visible: visible) + line
        return Hit(pane: pane, row: row < rowCount ? row : nil)
    }
}
