import SockscopeCore

/// Where each region goes for a given state and size.
///
///     status line                                          row 0
///     tour progress (while a tour runs)                    row 1
///     ┌─ Listening ─────────────────┐┌─ Detail ──────────┐
///     └─────────────────────────────┘│ the selected      │   wide screens:
///     ┌─ Connections ───────────────┐│ socket            │   Detail on the right
///     └─────────────────────────────┘└───────────────────┘
///     ┌─ Log ──────────────────────────────────────────────┐
///     └────────────────────────────────────────────────────┘
///     footer: key hints, or the prompt                     last row
///
/// Narrow screens stack Detail above the Log when there is room, or show it in
/// the Log's place while it has focus. `z` gives the focused pane the whole
/// body; below `minimumStackedHeight` rows only the focused pane is shown.
public struct Layout: Hashable, Sendable {
    public var status: Rect
    /// The tour's progress line, under the status line while a tour runs (nil otherwise).
    public var tour: Rect?
    public var panes: [Pane: Rect]
    public var footer: Rect

    public static let minimumStackedHeight = 14
    /// Detail goes beside the tables from this width; narrower, the tables keep the
    /// whole width (Connections needs about 120 columns for IPv6 addresses and rates).
    public static let sideDetailWidth = 160
    public static let stackedDetailHeight = 34

    public init(state: AppState) {
        let width = state.view.width
        let height = state.view.height
        let statusHeight = StatusLine.height(state, width: width, screenHeight: height)
        let footerHeight = Footer.height(state, width: width, screenHeight: height)
        status = Rect(x: 0, y: 0, width: width, height: statusHeight)
        footer = Rect(x: 0, y: max(0, height - footerHeight), width: width, height: footerHeight)
        let tourHeight = state.tour != nil && height > Self.minimumStackedHeight ? 1 : 0
        tour = tourHeight > 0 ? Rect(x: 0, y: statusHeight, width: width, height: 1) : nil
        let top = statusHeight + tourHeight
        let body = Rect(x: 0, y: top, width: width, height: max(0, height - top - footerHeight))
        if state.view.zoomed || body.height < Self.minimumStackedHeight {
            panes = [state.view.focus: body]
            return
        }
        let listenerHeight = min(max(state.listeners.count + 3, 4), body.height / 4)
        let rest = body.height - listenerHeight
        var connectionHeight = min(max(state.connections.count + 3, 5), rest * 45 / 100)
        // With Detail beside the tables, give the top half of the screen to them and to Detail.
        if width >= Self.sideDetailWidth {
            connectionHeight = max(connectionHeight, min(rest * 55 / 100, body.height / 2 - listenerHeight + 2))
        }
        let topHeight = listenerHeight + connectionHeight
        var logRect = Rect(x: 0, y: body.y + topHeight, width: width, height: body.height - topHeight)
        var tableWidth = width
        var panes: [Pane: Rect] = [:]
        if width >= Self.sideDetailWidth {
            tableWidth = width * 62 / 100
            panes[.detail] = Rect(x: tableWidth, y: body.y, width: width - tableWidth, height: topHeight)
        } else if body.height >= Self.stackedDetailHeight {
            let detailHeight = max(9, logRect.height / 2)
            panes[.detail] = Rect(x: 0, y: logRect.y, width: width, height: detailHeight)
            logRect = Rect(x: 0, y: logRect.y + detailHeight, width: width, height: logRect.height - detailHeight)
        }
        panes[.listeners] = Rect(x: 0, y: body.y, width: tableWidth, height: listenerHeight)
        panes[.connections] = Rect(x: 0, y: body.y + listenerHeight, width: tableWidth, height: connectionHeight)
        if panes[.detail] == nil, state.view.focus == .detail {
            panes[.detail] = logRect
        } else {
            panes[.log] = logRect
        }
        self.panes = panes
    }

    /// The pane under a screen cell, if any.
    public func pane(at x: Int, _ y: Int) -> Pane? {
        panes.first { _, rect in x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height }?.key
    }
}
