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
            grid.put(title, x: rect.x, y: rect.y, maxWidth: rect.width, role: titleRole)
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
        grid.put(" \(title) ", x: rect.x + 1, y: rect.y, maxWidth: rect.width - 2, role: titleRole)
        return rect.inner
    }
}

/// A table with a header row, columns sized to their content, clipped at the right.
struct TableView {
    struct Row {
        var cells: [String]
        var role: StyleRole
    }

    var headers: [String]
    var rows: [Row]
    var selected: Int?
    var focused: Bool
    /// Widest a column may grow before it is clipped.
    var maximumColumnWidth = 44

    func draw(in grid: inout CellGrid, _ area: Rect) {
        guard area.height > 0, area.width > 0 else { return }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.cells.enumerated() where index < widths.count {
                widths[index] = min(maximumColumnWidth, max(widths[index], TextWidth.columns(of: cell)))
            }
        }
        drawRow(headers, widths: widths, y: area.y, area: area, role: .header, in: &grid)
        let visible = area.height - 1
        guard visible > 0 else { return }
        let offset = Self.firstVisibleRow(selected: selected, rowCount: rows.count, visible: visible)
        for (line, index) in (offset..<min(rows.count, offset + visible)).enumerated() {
            let y = area.y + 1 + line
            let row = rows[index]
            drawRow(row.cells, widths: widths, y: y, area: area, role: row.role, in: &grid)
            if index == selected {
                grid.paint(x: area.x, y: y, width: area.width, role: focused ? .selection : .selectionUnfocused)
            }
        }
    }

    /// The first row shown: the selected row is kept on screen.
    static func firstVisibleRow(selected: Int?, rowCount: Int, visible: Int) -> Int {
        max(0, min((selected ?? 0) - visible + 1, rowCount - visible))
    }

    private func drawRow(_ cells: [String], widths: [Int], y: Int, area: Rect, role: StyleRole, in grid: inout CellGrid) {
        var x = area.x
        for (index, cell) in cells.enumerated() {
            let remaining = area.x + area.width - x
            guard remaining > 0 else { break }
            let isLast = index == cells.count - 1
            let width = isLast ? remaining : min(widths[index], remaining)
            grid.put(TextWidth.prefix(cell, fitting: width), x: x, y: y, maxWidth: width, role: role)
            x += width + 1
        }
    }
}
