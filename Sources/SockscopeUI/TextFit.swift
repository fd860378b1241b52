import SockscopeCore

/// Fitting text into a number of columns without hiding that something was left
/// out: long cells are elided with a visible `…`, long sentences wrap at word
/// boundaries. Widths come from `TextWidth`, the one place that knows them.
enum TextFit {
    static let ellipsis = "…"

    /// `text` in at most `width` columns: itself when it fits, else its start and its
    /// end around `…`. The end keeps more (a port, a file name), since it tells
    /// addresses and paths apart more often than the start does.
    static func elide(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard TextWidth.columns(of: text) > width else { return text }
        guard width > 1 else { return ellipsis }
        let headWidth = (width - 1) / 3
        let head = TextWidth.prefix(text, fitting: headWidth)
        let tail = suffix(text, fitting: width - 1 - TextWidth.columns(of: head))
        return head + ellipsis + tail
    }

    /// `text` in at most `width` columns: itself when it fits, else its start and `…`
    /// (a payload's first bytes say more than its last).
    static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard TextWidth.columns(of: text) > width else { return text }
        return wholeEscapePrefix(text, fitting: width - 1) + ellipsis
    }

    /// The longest prefix of `text` in `width` columns that does not end inside an escape
    /// (`\x1b`, `\u{202E}`, `\n`): half an escape would read as other bytes.
    static func wholeEscapePrefix(_ text: String, fitting width: Int) -> String {
        let prefix = TextWidth.prefix(text, fitting: width)
        var index = prefix.startIndex
        while let slash = prefix[index...].firstIndex(of: "\\") {
            // The escape in the whole text (it may run past the prefix): same characters, same offsets.
            let escape = text[text.index(text.startIndex, offsetBy: prefix.distance(from: prefix.startIndex, to: slash))...]
            let length: Int = switch escape.dropFirst().first {
            case "x": 4
            case "u": escape.firstIndex(of: "}").map { escape.distance(from: escape.startIndex, to: $0) + 1 } ?? 2
            default: 2  // \n, \\ ...
            }
            guard prefix.distance(from: slash, to: prefix.endIndex) >= length else { return String(prefix[..<slash]) }
            index = prefix.index(slash, offsetBy: length)
        }
        return prefix
    }

    /// The longest suffix of `text` that fits in `width` columns.
    static func suffix(_ text: String, fitting width: Int) -> String {
        var used = 0
        var start = text.endIndex
        while start > text.startIndex {
            let before = text.index(before: start)
            let w = TextWidth.columns(of: text[before])
            if used + w > width { break }
            used += w
            start = before
        }
        return String(text[start...])
    }

    /// `text` in lines of at most `width` columns, broken after spaces (the space stays
    /// at the end of its line, so the lines put together are the text again); a word
    /// longer than a line is broken after a `/` (paths), before a backslash (an escape such as
    /// `\xdf` stays whole) or inside. At most `maximumLines` lines: when more
    /// were needed, the last one ends in `…`.
    static func wrap(_ text: String, width: Int, maximumLines: Int = .max) -> [String] {
        let width = max(1, width)
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if lines.count == maximumLines - 1, TextWidth.columns(of: rest) > width {
                lines.append(wholeEscapePrefix(String(rest), fitting: width - 1) + ellipsis)
                return lines
            }
            var used = 0
            var end = rest.startIndex
            var lastBreak: Substring.Index?
            while end < rest.endIndex {
                let w = TextWidth.columns(of: rest[end])
                if used + w > width { break }
                used += w
                if rest[end] == " " || rest[end] == "/" { lastBreak = rest.index(after: end) }
                // An escape (`\x1b`) is a word of its own: never split one.
                if rest[end] == "\\", end > rest.startIndex { lastBreak = end }
                end = rest.index(after: end)
            }
            if end < rest.endIndex, let lastBreak, lastBreak > rest.startIndex { end = lastBreak }
            if end == rest.startIndex { end = rest.index(after: end) }  // narrower than one wide character
            lines.append(String(rest[..<end]))
            rest = rest[end...]
        }
        return lines.isEmpty ? [""] : lines
    }
}
