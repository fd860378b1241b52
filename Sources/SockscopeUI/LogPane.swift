import SockscopeCore

/// The Log pane: newest entries at the bottom, following unless scrolled up;
/// filtered by `/` or Enter on a socket; data as text or hex and ASCII.
enum LogPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let log = state.log
        let view = state.view
        var title = "Log (\(log.count))"
        if let filter = view.logFilter { title += " filter: \(DisplayText.escape(string: filter))" }
        if view.dataView == .hex { title += " hex" }
        title += view.logExpanded ? " · data whole (e: one line each)" : " · e expands data"
        if view.logScroll > 0 { title += " · paused, End follows" }
        let area = PaneFrame.draw(in: &grid, rect, title: title, focused: focused)
        guard area.height > 0, area.width > 0 else { return }
        let filter = LogFilter(view.logFilter)
        func window(skip: Int, count: Int) -> [Int] {
            state.logFilterIndex.window(of: log, filterText: view.logFilter, skip: skip, count: count)
                ?? LogFilter.window(of: log, filter: filter, skip: skip, count: count)
        }
        // Expand entries into screen lines (hex needs several per entry), keep the last that fit.
        var lines: [[(String, StyleRole)]] = []
        let origin = log.count > 0 ? log[0].time : Timestamp(nanoseconds: 0)
        if view.scrollsByLine(followed: log.followed) {
            // The followed conversation scrolls by line: render entries from the newest back
            // until the lines scrolled past and a screenful are there.
            var skipped = 0
            while lines.count < view.logScroll + area.height {
                let batch = window(skip: skipped, count: 32)
                if batch.isEmpty { break }
                skipped += batch.count
                lines = batch.flatMap { render(log[$0], view: view, origin: origin, width: area.width, whole: true) } + lines
            }
            let end = max(min(lines.count, area.height), lines.count - view.logScroll)
            lines = Array(lines[max(0, end - area.height)..<end])
        } else {
            for index in window(skip: view.logScroll, count: area.height) {
                lines += render(log[index], view: view, origin: origin, width: area.width)
            }
        }
        for (row, line) in lines.suffix(area.height).enumerated() {
            var x = area.x
            for (text, role) in line {
                x += grid.put(text, x: x, y: area.y + row, maxWidth: area.x + area.width - x, role: role)
            }
        }
    }

    /// One entry as one or more lines of (text, role) runs.
    /// `whole`: the followed conversation, every line of the entry's payload (else at most
    /// `maximumConversationLines`, each wrapped to at most `maximumWrappedLines`).
    static func render(_ entry: LogEntry, view: ViewState, origin: Timestamp, width: Int,
                       whole: Bool = false) -> [[(String, StyleRole)]] {
        let time: String
        switch view.timestamps {
        case .absolute: time = TimeText.clock(entry.time)
        case .relative: time = TimeText.elapsed(from: origin, to: entry.time)
        }
        let role = Self.role(for: entry.kind)
        let head: [(String, StyleRole)] = [(time + " ", .dim), ((entry.socket?.description ?? "-").padding(4), .info),
                                           (LogText.marker(entry.kind) + " ", role)]
        let isData = entry.kind == .received || entry.kind == .sent
        let headWidth = head.reduce(0) { $0 + TextWidth.columns(of: $1.0) }
        let indent = String(repeating: " ", count: headWidth)
        if isData, view.dataView == .text, !view.logExpanded {
            // One line per data entry: a busy exchange stays readable; `e` shows the rest.
            return [head + [(TextFit.truncate(LogText.body(entry), to: max(8, width - headWidth)), role)]]
        }
        if isData, view.dataView == .text, case .data = entry.record {
            // A conversation: the count, then each line of the payload under it, in its direction's color.
            let counted = head + [(ByteCount.text(entry.count), role)]
            let pieces = LogText.payloadLines(entry).flatMap {
                wrap($0, width: max(8, width - headWidth), maximumLines: whole ? Int.max : maximumWrappedLines)
            }
            return [counted] + pieces.prefix(whole ? Int.max : maximumConversationLines).map { [(indent, .normal), ($0, role)] }
        }
        guard isData, view.dataView == .hex else {
            // Long text wraps under itself, up to a few lines, so a message can be read whole.
            let pieces = wrap(LogText.body(entry), width: max(8, width - headWidth), maximumLines: maximumWrappedLines)
            return pieces.enumerated().map { index, piece in (index == 0 ? head : [(indent, .normal)]) + [(piece, role)] }
        }
        var lines: [[(String, StyleRole)]] = [head + [(ByteCount.text(entry.count) + (entry.count > entry.bytes.count ? " (first \(entry.bytes.count) shown)" : ""), role)]]
        let hexIndent = String(repeating: " ", count: time.count + 1)
        for line in HexDump.lines(entry.bytes) { lines.append([(hexIndent, .normal), (line, role)]) }
        return lines
    }

    /// How many screen lines one log entry may take in text view.
    static let maximumWrappedLines = 12
    /// How many payload lines one data entry may take in the conversation form (its 1 KiB preview).
    static let maximumConversationLines = 64

    /// `text` in lines of at most `width` columns, broken at word boundaries; the last ends in … if cut.
    static func wrap(_ text: String, width: Int, maximumLines: Int) -> [String] {
        TextFit.wrap(text, width: width, maximumLines: maximumLines)
    }

    static func role(for kind: LogKind) -> StyleRole {
        switch kind {
        case .received: .incoming
        case .sent: .outgoing
        case .info: .info
        case .error: .error
        case .command: .command
        }
    }
}
