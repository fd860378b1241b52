import SockscopeCore

/// A table with a header row, laid out by priority: every column shown is shown
/// whole. Numbers and short cells never shrink; long cells (addresses, paths,
/// modes) are elided with `…` down to `elidedMinimum` columns; when even that does
/// not fit, whole columns go, the least important first, header and values together.
struct TableView {
    struct Column {
        var header: String
        /// Lower is more important: the last to go when the width runs out.
        var priority: Int
        /// May be shortened with `…` (addresses, paths, free text), never a number.
        var elidable = false
    }

    struct Row {
        var cells: [String]
        var role: StyleRole
    }

    var columns: [Column]
    var rows: [Row]
    var selected: Int?
    var focused: Bool
    /// The narrowest an elided cell gets: room for `…` and a port or a file name.
    static let elidedMinimum = 16

    func draw(in grid: inout CellGrid, _ area: Rect) {
        guard area.height > 0, area.width > 0 else { return }
        let widths = Self.widths(columns, rows: rows.map(\.cells), fitting: area.width)
        drawRow(columns.map(\.header), widths: widths, y: area.y, area: area, role: .header, in: &grid)
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

    /// Each column's width in `width` columns (one space between columns), nil for a
    /// column left out.
    static func widths(_ columns: [Column], rows: [[String]], fitting width: Int) -> [Int?] {
        var natural = columns.map { TextWidth.columns(of: $0.header) }
        for cells in rows {
            for (index, cell) in cells.enumerated() where index < natural.count {
                natural[index] = max(natural[index], TextWidth.columns(of: cell))
            }
        }
        let minimum = columns.indices.map { index in
            columns[index].elidable
                ? max(TextWidth.columns(of: columns[index].header), min(natural[index], elidedMinimum)) : natural[index]
        }
        var kept = Array(columns.indices)
        func needed() -> Int { kept.reduce(0) { $0 + minimum[$1] } + kept.count - 1 }
        while kept.count > 1, needed() > width {
            // The least important goes; of equals, the rightmost.
            let least = kept.max { (columns[$0].priority, $0) < (columns[$1].priority, $1) }!
            kept.removeAll { $0 == least }
        }
        var result = [Int?](repeating: nil, count: columns.count)
        if kept.count == 1 {
            result[kept[0]] = min(width, natural[kept[0]])
            return result
        }
        // Whole columns first; what is left goes to the elided ones, the narrowest
        // satisfied first, so no column shrinks while a wider one has room to give.
        let elided = kept.filter { columns[$0].elidable }.sorted { natural[$0] < natural[$1] }
        var budget = width - (kept.count - 1)
        for index in kept where !columns[index].elidable {
            result[index] = natural[index]
            budget -= natural[index]
        }
        for (order, index) in elided.enumerated() {
            let share = budget / (elided.count - order)
            let given = min(natural[index], max(minimum[index], share))
            result[index] = given
            budget -= given
        }
        return result
    }

    private func drawRow(_ cells: [String], widths: [Int?], y: Int, area: Rect, role: StyleRole, in grid: inout CellGrid) {
        var x = area.x
        for (index, cell) in cells.enumerated() where index < widths.count {
            guard let width = widths[index] else { continue }
            let remaining = area.x + area.width - x
            guard remaining > 0 else { break }
            let shown = TextFit.elide(cell, to: min(width, remaining))
            grid.put(shown, x: x, y: y, maxWidth: min(width, remaining), role: role)
            x += width + 1
        }
    }
}
