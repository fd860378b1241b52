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

    /// Drawn over the whole body (everything between the status line and the footer),
    /// so no pane shows through; long lines wrap under themselves.
    static func draw(_ state: AppState, in grid: inout CellGrid, _ layout: Layout) {
        let rect = Rect(x: 0, y: layout.status.height, width: grid.width,
                        height: grid.height - layout.status.height - layout.footer.height)
        guard rect.width > 0, rect.height > 0 else { return }
        grid.clear(rect)
        let all = wrappedLines(width: PaneFrame.contentArea(rect).width)
        let visible = PaneFrame.contentArea(rect).height
        let scroll = min(state.view.helpScroll, max(0, all.count - visible))
        let position = all.count > visible ? " lines \(scroll + 1)-\(min(all.count, scroll + visible)) of \(all.count)," : ""
        let area = PaneFrame.draw(in: &grid, rect, title: "Help:\(position) ↑↓ PgUp PgDn scroll, Esc closes", focused: true)
        for (row, line) in all.dropFirst(scroll).prefix(area.height).enumerated() {
            grid.put(line.0, x: area.x, y: area.y + row, maxWidth: area.width, role: line.1)
        }
    }

    /// `lines()` wrapped to `width`; a continuation starts under the text it continues
    /// (a key's description, not the key).
    static func wrappedLines(width: Int) -> [(String, StyleRole)] {
        lines().flatMap { text, role -> [(String, StyleRole)] in
            let characters = Array(text)
            var hang = characters.prefix { $0 == " " }.count
            // "  KEY  description": continue under the description.
            if let gap = (hang..<max(hang, characters.count - 2)).first(where: { characters[$0] == " " && characters[$0 + 1] == " " }),
               let start = characters[gap...].firstIndex(where: { $0 != " " }) {
                hang = start
            }
            let pieces = TextFit.wrap(text, width: max(1, width))
            guard pieces.count > 1, hang < width / 2 else { return pieces.map { ($0, role) } }
            let rest = TextFit.wrap(String(text.dropFirst(TextWidth.columns(of: pieces[0]))), width: width - hang)
            return [(pieces[0], role)] + rest.map { (String(repeating: " ", count: hang) + $0, role) }
        }
    }
}
