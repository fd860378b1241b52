import SockscopeCore

/// The `?` overlay: every key binding and every command, from the same tables
/// that drive dispatch and parsing.
enum HelpOverlay {
    static func lines() -> [(String, StyleRole)] {
        var lines: [(String, StyleRole)] = [("Keys", .header)]
        let keyWidth = KeyBindings.table.map { KeyBindings.keyLabel($0).count }.max() ?? 0
        for binding in KeyBindings.table {
            lines.append(("  " + KeyBindings.keyLabel(binding).padding(keyWidth) + "  " + binding.description, .normal))
        }
        lines.append(("", .normal))
        lines.append(("Commands (type : first)", .header))
        for spec in CommandCatalog.specs {
            lines.append(("  " + spec.usage, .command))
            lines.append(("      " + spec.summary, .normal))
        }
        lines.append(("", .normal))
        lines.append(("Esc or ? closes this help", .dim))
        return lines
    }

    static func draw(_ state: AppState, in grid: inout CellGrid) {
        let width = min(grid.width, 118)
        let height = min(grid.height, lines().count + 2)
        let rect = Rect(x: (grid.width - width) / 2, y: (grid.height - height) / 2, width: width, height: height)
        grid.clear(rect)
        let area = PaneFrame.draw(in: &grid, rect, title: "Help: ↑↓ scroll, Esc closes", focused: true)
        let all = lines()
        let scroll = min(state.view.helpScroll, max(0, all.count - area.height))
        for (row, line) in all.dropFirst(scroll).prefix(area.height).enumerated() {
            grid.put(line.0, x: area.x, y: area.y + row, maxWidth: area.width, role: line.1)
        }
    }
}
