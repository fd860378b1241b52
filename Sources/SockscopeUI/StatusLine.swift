import SockscopeCore

/// The top row: counts and totals on the left, the flash message on the right.
/// A message too long for the row wraps onto rows below it (the layout makes room),
/// so an error is read whole; past a quarter of the screen it ends pointing at the
/// log, which holds every notice.
enum StatusLine {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect) {
        guard rect.height > 0, rect.width > 0 else { return }
        grid.clear(rect, role: .status)
        let summary = self.summary(state, width: rect.width)
        guard let message = message(state) else {
            grid.put(TextFit.elide(summary, to: rect.width), x: rect.x, y: rect.y, role: .status)
            return
        }
        let summaryWidth = TextWidth.columns(of: summary)
        let messageWidth = TextWidth.columns(of: message)
        if summaryWidth + 2 + messageWidth <= rect.width {
            grid.put(summary, x: rect.x, y: rect.y, role: .status)
            grid.put(message, x: rect.x + rect.width - messageWidth, y: rect.y, role: .flash)
            return
        }
        let lines = messageLines(message, width: rect.width, maximum: rect.height > 1 ? rect.height - 1 : 1)
        var y = rect.y
        if rect.height > 1 {
            grid.put(TextFit.elide(summary, to: rect.width), x: rect.x, y: y, role: .status)
            y += 1
        }
        for line in lines {
            grid.clear(Rect(x: rect.x, y: y, width: rect.width, height: 1), role: .flash)
            grid.put(line, x: rect.x, y: y, maxWidth: rect.width, role: .flash)
            y += 1
        }
    }

    /// Rows the status line needs at `width` for `screenHeight` rows: one, and as many
    /// more as its message needs when it does not fit beside the totals (at most a
    /// quarter of the screen; none on a screen too small to spare them).
    static func height(_ state: AppState, width: Int, screenHeight: Int) -> Int {
        guard screenHeight >= Layout.minimumStackedHeight, let message = message(state) else { return min(1, screenHeight) }
        if TextWidth.columns(of: summary(state, width: width)) + 2 + TextWidth.columns(of: message) <= width { return 1 }
        return 1 + messageLines(message, width: width, maximum: max(1, screenHeight / 4)).count
    }

    /// The message wrapped at word boundaries into at most `maximum` lines; cut, it
    /// says where the whole text is.
    static func messageLines(_ message: String, width: Int, maximum: Int) -> [String] {
        let lines = TextFit.wrap(message, width: width)
        guard lines.count > maximum else { return lines }
        let pointer = " (whole text in the log)"
        let kept = TextFit.wrap(message, width: width, maximumLines: maximum)
        var last = kept[kept.count - 1]
        if TextWidth.columns(of: pointer) < width {
            last = TextWidth.prefix(last, fitting: width - TextWidth.columns(of: pointer) - 1) + "…" + pointer
        }
        return Array(kept.dropLast()) + [last]
    }

    static func message(_ state: AppState) -> String? {
        (state.view.prompt?.error ?? state.view.flash).map { DisplayText.escape(string: $0) }
    }

    /// The totals; the program's name goes first when the row is too narrow for all.
    static func summary(_ state: AppState, width: Int) -> String {
        let listening = state.listeners.filter(\.isOpen).count
        let open = state.connections.filter(\.state.isOpen).count
        let bytesIn = state.totalBytesIn, bytesOut = state.totalBytesOut
        var rateIn = 0, rateOut = 0
        for id in state.activeRates {
            if let rate = state.connection(id)?.rate {
                rateIn += rate.inPerSecond
                rateOut += rate.outPerSecond
            }
        }
        var summary = "\(listening) listening  \(open) open  in \(ByteCount.text(bytesIn))  out \(ByteCount.text(bytesOut))"
        if rateIn + rateOut > 0 { summary += "  ↓\(ByteCount.rate(rateIn)) ↑\(ByteCount.rate(rateOut))" }
        let named = "sockscope  " + summary
        return TextWidth.columns(of: named) <= width ? named : summary
    }
}

/// The bottom row: key hints, or the command prompt while it is open.
enum Footer {
    /// Rows the footer needs: one, and the rows above it for completion candidates
    /// that do not fit on the prompt's line (at most a quarter of the screen).
    static func height(_ state: AppState, width: Int, screenHeight: Int) -> Int {
        guard screenHeight >= 2 else { return 0 }
        guard screenHeight >= Layout.minimumStackedHeight, let prompt = state.view.prompt else { return 1 }
        return 1 + candidateLines(prompt, width: width, maximum: max(1, screenHeight / 4)).count
    }

    /// The candidates wrapped into lines, none when they fit beside the typed text.
    static func candidateLines(_ prompt: Prompt, width: Int, maximum: Int) -> [String] {
        guard !prompt.candidates.isEmpty else { return [] }
        let joined = prompt.candidates.joined(separator: " ")
        let typed = TextWidth.columns(of: prompt.label) + TextWidth.columns(of: DisplayText.escape(string: prompt.text, backslashes: false))
        if typed + 3 + TextWidth.columns(of: joined) <= width { return [] }
        return TextFit.wrap(joined, width: width, maximumLines: maximum)
    }

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
            // Completion candidates that do not fit beside the text take the rows above it.
            let candidateRows = rect.height > 1 ? candidateLines(prompt, width: rect.width, maximum: rect.height - 1) : []
            for (index, line) in candidateRows.enumerated() {
                grid.put(line, x: rect.x, y: rect.y + index, maxWidth: rect.width, role: .dim)
            }
            let rect = Rect(x: rect.x, y: rect.y + rect.height - 1, width: rect.width, height: 1)
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
            if candidateRows.isEmpty, !prompt.candidates.isEmpty, used + 4 < visibleWidth {
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
