import SockscopeCore

/// The top row: counts and totals on the left, the flash message on the right.
enum StatusLine {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect) {
        guard rect.height > 0 else { return }
        grid.clear(rect, role: .status)
        let listening = state.listeners.filter(\.isOpen).count
        let open = state.connections.filter(\.state.isOpen).count
        let bytesIn = state.connections.reduce(0) { $0 + $1.bytesIn }
        let bytesOut = state.connections.reduce(0) { $0 + $1.bytesOut }
        var rateIn = 0, rateOut = 0
        for id in state.activeRates {
            if let rate = state.connection(id)?.rate {
                rateIn += rate.inPerSecond
                rateOut += rate.outPerSecond
            }
        }
        var summary = "sockscope  \(listening) listening  \(open) open  in \(ByteCount.text(bytesIn))  out \(ByteCount.text(bytesOut))"
        if rateIn + rateOut > 0 { summary += "  ↓\(ByteCount.rate(rateIn)) ↑\(ByteCount.rate(rateOut))" }
        let used = grid.put(summary, x: rect.x, y: rect.y, maxWidth: rect.width, role: .status)
        let message = state.view.prompt?.error ?? state.view.flash
        if let message, rect.width - used > 3 {
            let text = TextWidth.prefix(" " + DisplayText.escape(string: message), fitting: rect.width - used - 1)
            let x = rect.x + rect.width - TextWidth.columns(of: text)
            grid.put(text, x: x, y: rect.y, role: .flash)
        }
    }
}

/// The bottom row: key hints, or the command prompt while it is open.
enum Footer {
    /// Draws the footer; returns the cursor position when the prompt is open.
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect) -> (x: Int, y: Int)? {
        guard rect.height > 0, rect.width > 0 else { return nil }
        if let confirmation = state.view.confirmation {
            grid.clear(rect, role: .flash)
            grid.put(confirmation.question, x: rect.x, y: rect.y, maxWidth: rect.width, role: .flash)
            return nil
        }
        if let prompt = state.view.prompt {
            grid.clear(rect, role: .prompt)
            let label = prompt.label
            let labelWidth = min(rect.width, TextWidth.columns(of: label))
            grid.put(label, x: rect.x, y: rect.y, maxWidth: rect.width, role: .footerKey)
            let visibleWidth = max(1, rect.width - labelWidth - 1)
            // Scroll the text so the cursor stays visible.
            let characters = Array(prompt.text)
            let start = max(0, prompt.cursor - visibleWidth + 1)
            let shown = String(characters[start...])
            let textX = rect.x + labelWidth
            let used = grid.put(DisplayText.escape(string: shown, backslashes: false), x: textX, y: rect.y,
                                maxWidth: visibleWidth, role: .prompt)
            if !prompt.candidates.isEmpty, used + 4 < visibleWidth {
                grid.put("  " + prompt.candidates.joined(separator: " "), x: textX + used, y: rect.y,
                         maxWidth: visibleWidth - used, role: .dim)
            }
            let cursorColumns = TextWidth.columns(of: DisplayText.escape(string: String(characters[start..<prompt.cursor]),
                                                                         backslashes: false))
            return (textX + min(cursorColumns, visibleWidth), rect.y)
        }
        var x = rect.x
        for binding in KeyBindings.table {
            guard let hint = binding.hint else { continue }
            let key = binding.keys[0].label
            let needed = TextWidth.columns(of: key) + TextWidth.columns(of: hint) + 2
            if x + needed > rect.x + rect.width { break }
            x += grid.put(key, x: x, y: rect.y, role: .footerKey)
            x += grid.put(" " + hint + " ", x: x, y: rect.y, role: .footerText)
        }
        return nil
    }
}
