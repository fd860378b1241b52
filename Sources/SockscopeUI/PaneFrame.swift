import SockscopeCore

/// Draws a pane's border and title; returns the area inside it.
enum PaneFrame {
    /// The area inside the frame `draw` would make for `rect`.
    static func contentArea(_ rect: Rect) -> Rect {
        rect.height >= 3 && rect.width >= 6 ? rect.inner : Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
    }

    static func draw(in grid: inout CellGrid, _ rect: Rect, title: String, focused: Bool) -> Rect {
        guard rect.width > 0, rect.height > 0 else { return rect }
        let titleRole: StyleRole = focused ? .titleFocused : .title
        // Too small for a border: title on the first line, content below.
        guard rect.height >= 3, rect.width >= 6 else {
            grid.put(TextFit.truncate(title, to: rect.width), x: rect.x, y: rect.y, maxWidth: rect.width, role: titleRole)
            return Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
        }
        let role: StyleRole = focused ? .borderFocused : .border
        let right = rect.x + rect.width - 1
        let bottom = rect.y + rect.height - 1
        grid.put("┌" + String(repeating: "─", count: rect.width - 2) + "┐", x: rect.x, y: rect.y, role: role)
        for row in (rect.y + 1)..<bottom {
            grid.put("│", x: rect.x, y: row, role: role)
            grid.put("│", x: right, y: row, role: role)
        }
        grid.put("└" + String(repeating: "─", count: rect.width - 2) + "┘", x: rect.x, y: bottom, role: role)
        // A title too long for the border is elided with `…`, never cut unmarked.
        grid.put(" \(TextFit.truncate(title, to: rect.width - 4)) ", x: rect.x + 1, y: rect.y, maxWidth: rect.width - 2, role: titleRole)
        return rect.inner
    }
}
