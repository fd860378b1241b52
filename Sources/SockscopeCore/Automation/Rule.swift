/// A rule that answers (`rule ID|all when MATCH reply TEXT ...`): on a listener it applies
/// to every connection the listener accepted or will accept, on a connection to that one,
/// with `all` to every stream connection of the session. Rules are tried in order (the
/// connection's own, then its listener's, then `all`'s); the first that matches fires.
public struct Rule: Hashable, Sendable {
    public enum Framing: Hashable, Sendable {
        /// Each line (ended by `\n`; the `\r` of `\r\n` is not part of it) is matched whole.
        case lines
        /// Each read, as the kernel handed it over, is matched whole (`--raw`).
        case reads
    }

    public var pattern: BytePattern
    public var reply: ReplyTemplate
    public var framing: Framing = .lines
    /// `--delay MS`: the reply leaves this long after the match.
    public var delayMilliseconds = 0
    /// `--once`: the rule fires at most once on each connection.
    public var once = false
    /// `--close`: the connection closes once the reply has left.
    public var closes = false

    public init(pattern: BytePattern, reply: ReplyTemplate) {
        self.pattern = pattern
        self.reply = reply
    }

    /// At most this many rules per socket (and for `all`): each read is tried against them in turn.
    public static let limitPerOwner = 256

    /// `when /x/ reply "y" --once`, as the command language writes it.
    public var text: String {
        var words = ["when", pattern.text, "reply", reply.text]
        if framing == .reads { words.append("--raw") }
        if delayMilliseconds > 0 { words += ["--delay", String(delayMilliseconds)] }
        if once { words.append("--once") }
        if closes { words.append("--close") }
        return words.joined(separator: " ")
    }

    /// In line framing a reply is a line too: it gets the request line's ending unless it
    /// already ends with `\n` (so `reply "+PONG"` answers `PING\r\n` with `+PONG\r\n`).
    public var addsLineEnding: Bool { framing == .lines }
}

/// Whose rules: one socket's, or the whole session's (`rule all`).
public enum RuleOwner: Hashable, Sendable, CustomStringConvertible {
    case socket(SocketID)
    case all

    public var description: String {
        switch self {
        case .socket(let id): id.description
        case .all: "all"
        }
    }
}

/// `rule` commands.
public enum RuleCommand: Hashable, Sendable {
    case add(Rule)
    case list
    /// Removes rule `R<number>`.
    case remove(Int)
}

/// A reply with its placeholders: `\1`...`\9` (a regex's captures), `{{date}}` (UTC,
/// 2026-12-03), `{{time}}` (UTC, 09:15:02), `{{unixtime}}` (seconds), `{{random}}` (0 to
/// 4294967295), `{{count}}` (this rule's firings, this one included), `{{peer}}` (the
/// client's address). Parsed once, when the rule is made; rendered per firing.
public struct ReplyTemplate: Hashable, Sendable {
    public enum Part: Hashable, Sendable {
        case bytes([UInt8])
        case capture(Int)
        case date, time, unixtime, random, count, peer
    }

    public let parts: [Part]

    public init(parts: [Part]) {
        var merged: [Part] = []
        for part in parts {
            if case .bytes(let more) = part, case .bytes(let bytes)? = merged.last {
                merged[merged.count - 1] = .bytes(bytes + more)
            } else if part != .bytes([]) {
                merged.append(part)
            }
        }
        self.parts = merged
    }

    static let placeholders: [String: Part] = [
        "date": .date, "time": .time, "unixtime": .unixtime, "random": .random, "count": .count, "peer": .peer,
    ]

    public struct ParseError: Error, Hashable, Sendable {
        public let message: String
    }

    /// Reads a reply as typed: escapes as for `send` (`\r\n`, `\xHH`), `\1`-`\9`, `{{name}}`.
    public init(parsing text: String) throws(ParseError) {
        var parts: [Part] = []
        var segment = String.UnicodeScalarView()
        func flush() throws(ParseError) {
            guard !segment.isEmpty else { return }
            do { parts.append(.bytes(try EscapedText.decode(String(segment)))) } catch {
                throw ParseError(message: error.message)
            }
            segment = String.UnicodeScalarView()
        }
        var scalars = Array(text.unicodeScalars)[...]
        while let scalar = scalars.popFirst() {
            if scalar == "\\", let next = scalars.first {
                scalars = scalars.dropFirst()
                if let digit = Int(String(next)), (1...9).contains(digit) {
                    try flush()
                    parts.append(.capture(digit))
                } else {
                    segment.append(scalar)
                    segment.append(next)
                }
            } else if scalar == "{", scalars.first == "{" {
                let rest = scalars.dropFirst()
                guard let close = rest.indices.first(where: { rest[$0] == "}" && rest.index(after: $0) < rest.endIndex
                                                              && rest[rest.index(after: $0)] == "}" }) else {
                    throw ParseError(message: "{{ without }}: placeholders are {{date}} {{time}} {{unixtime}} {{random}} {{count}} {{peer}}")
                }
                let name = String(String.UnicodeScalarView(rest[..<close]))
                guard let part = Self.placeholders[name.lowercased()] else {
                    throw ParseError(message: "unknown placeholder {{\(name)}}; known: {{date}} {{time}} {{unixtime}} {{random}} {{count}} {{peer}}")
                }
                try flush()
                parts.append(part)
                scalars = scalars.dropFirst(1 + name.unicodeScalars.count + 2)
            } else {
                segment.append(scalar)
            }
        }
        try flush()
        self.init(parts: parts)
    }

    /// The highest capture the reply uses (0: none).
    public var highestCapture: Int {
        parts.reduce(0) { if case .capture(let n) = $1 { max($0, n) } else { $0 } }
    }

    /// Which placeholders it has: what a firing must find out (the clock, the count...) and nothing more.
    public var uses: (time: Bool, count: Bool, peer: Bool, random: Bool) {
        (parts.contains { $0 == .date || $0 == .time || $0 == .unixtime }, parts.contains(.count), parts.contains(.peer),
         parts.contains(.random))
    }

    /// What renders this reply for one firing.
    public struct Context {
        public var time: Timestamp
        public var count: Int
        public var peer: String
        public var random: UInt32
        public init(time: Timestamp, count: Int, peer: String, random: UInt32) {
            self.time = time
            self.count = count
            self.peer = peer
            self.random = random
        }
    }

    /// Appends the reply to `out`, its captures copied from `unit` (the line or read that
    /// matched) where `groups` say they lie; a capture the match did not set adds nothing.
    public func render(groups: ByteMatcher.Groups, of unit: UnsafeRawBufferPointer, context: Context, into out: inout [UInt8]) {
        for part in parts {
            switch part {
            case .bytes(let bytes): out += bytes
            case .capture(let index):
                if index < groups.count, let range = groups[index] { out += UnsafeRawBufferPointer(rebasing: unit[range]) }
            case .date: out += Array(TimeText.date(context.time).utf8)
            case .time: out += Array(TimeText.clock(context.time).utf8.prefix(8))
            case .unixtime: ASCIIText.appendDecimal(Int(context.time.nanoseconds / 1_000_000_000), to: &out)
            case .random: ASCIIText.appendDecimal(Int(context.random), to: &out)
            case .count: ASCIIText.appendDecimal(context.count, to: &out)
            case .peer: out += Array(context.peer.utf8)
            }
        }
    }

    /// As the command language writes it: quoted, escaped, placeholders as written.
    public var text: String {
        var out = "\""
        for (index, part) in parts.enumerated() {
            switch part {
            case .bytes(let bytes):
                // A brace that would start a placeholder (`{{`, or a last `{` before one) is written escaped.
                let beforePlaceholder = index + 1 < parts.count && { if case .capture = parts[index + 1] { false } else { true } }()
                let scalars = Array(DisplayText.escape(bytes).unicodeScalars)
                var piece = String.UnicodeScalarView()
                for (position, scalar) in scalars.enumerated() {
                    if scalar == "\"" { piece.append("\\") }
                    let next = position + 1 < scalars.count ? scalars[position + 1] : nil
                    if scalar == "{", next == "{" || (next == nil && beforePlaceholder) {
                        piece.append(contentsOf: "\\x7b".unicodeScalars)
                    } else {
                        piece.append(scalar)
                    }
                }
                out += String(piece)
            case .capture(let index): out += "\\\(index)"
            case .date: out += "{{date}}"
            case .time: out += "{{time}}"
            case .unixtime: out += "{{unixtime}}"
            case .random: out += "{{random}}"
            case .count: out += "{{count}}"
            case .peer: out += "{{peer}}"
            }
        }
        return out + "\""
    }
}

/// A rule as the session shows it (`rule ID list`, Detail): its number, its words and how
/// often it answered (on every connection it applies to).
public struct RuleRow: Hashable, Sendable {
    public var number: Int
    public var rule: Rule
    public var firings = 0

    /// `R2 when "PING" reply "+PONG" (fired 3 times)`.
    public var text: String {
        "#\(number) \(rule.text) (fired \(firings == 1 ? "once" : "\(firings) times"))"
    }
}

/// A rule change the engine is making.
enum RuleChange: Hashable, Sendable {
    case add(RuleOwner, RuleRow)
    case remove(RuleOwner, number: Int)
    /// The engine answered with an error: nothing changes.
    case refused
}
