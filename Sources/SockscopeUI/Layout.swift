import SockscopeCore

/// Where each region goes for a given state and size.
///
///     ┌ status line ─────────────────────────────┐  row 0
///     ┌─ Listening ──────────────────────────────┐
///     │ ID  PROTO LOCAL           MODE  CONNS    │
///     └──────────────────────────────────────────┘
///     ┌─ Connections ────────────────────────────┐
///     └──────────────────────────────────────────┘
///     ┌─ Log ────────────────────────────────────┐
///     └──────────────────────────────────────────┘
///       footer: key hints, or the : prompt          last row
///
/// Below `minimumStackedHeight` rows only the focused pane is shown.
public struct Layout: Hashable, Sendable {
    public var status: Rect
    public var panes: [Pane: Rect]
    public var footer: Rect

    public static let minimumStackedHeight = 14

    public init(state: AppState) {
        let width = state.view.width
        let height = state.view.height
        status = Rect(x: 0, y: 0, width: width, height: min(1, height))
        footer = Rect(x: 0, y: max(0, height - 1), width: width, height: height >= 2 ? 1 : 0)
        let body = Rect(x: 0, y: 1, width: width, height: max(0, height - 2))
        if body.height < Self.minimumStackedHeight {
            panes = [state.view.focus: body]
            return
        }
        let listenerHeight = min(max(state.listeners.count + 3, 4), body.height / 4)
        let rest = body.height - listenerHeight
        let connectionHeight = min(max(state.connections.count + 3, 5), rest * 45 / 100)
        let logHeight = rest - connectionHeight
        panes = [
            .listeners: Rect(x: 0, y: body.y, width: width, height: listenerHeight),
            .connections: Rect(x: 0, y: body.y + listenerHeight, width: width, height: connectionHeight),
            .log: Rect(x: 0, y: body.y + listenerHeight + connectionHeight, width: width, height: logHeight),
        ]
    }
}
