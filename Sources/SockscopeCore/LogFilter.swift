/// Which log entries a filter keeps: a socket id (`C2`), a direction (`in`,
/// `out`, `error`, `info`), or else text found in the entry as shown.
public struct LogFilter: Hashable, Sendable {
    public enum Criterion: Hashable, Sendable {
        case socket(SocketID)
        case kinds(Set<LogKind>)
        case text(String)
    }

    public let criterion: Criterion

    public init?(_ text: String?) {
        guard let text, !text.isEmpty else { return nil }
        if let id = SocketID(parsing: text) {
            criterion = .socket(id)
            return
        }
        switch text.lowercased() {
        case "in", "<", "←", "received", "rx": criterion = .kinds([.received])
        case "out", ">", "→", "sent", "tx": criterion = .kinds([.sent])
        case "data": criterion = .kinds([.received, .sent])
        case "error", "errors", "!": criterion = .kinds([.error])
        case "info": criterion = .kinds([.info])
        default: criterion = .text(text.lowercased())
        }
    }

    public func matches(_ entry: LogEntry) -> Bool {
        switch criterion {
        case .socket(let id):
            return entry.socket == id
        case .kinds(let kinds):
            return kinds.contains(entry.kind)
        case .text(let needle):
            if entry.kind == .received || entry.kind == .sent, needle.utf8.allSatisfy({ $0 < 0x80 }) {
                // The body as `LogText.body` shows it, but as bytes: no String built per entry.
                var body = Array(ByteCount.text(entry.count).utf8)
                body.append(0x20)
                DisplayText.appendEscaped(entry.bytes, to: &body)
                if entry.count > entry.bytes.count { body += "…".utf8 }
                return Self.containsIgnoringCase(body, Array(needle.utf8))
            }
            return Self.containsIgnoringCase(LogText.body(entry), needle)
        }
    }

    /// Byte search, ASCII letters compared without case; `pattern` is lowercase ASCII.
    static func containsIgnoringCase(_ haystack: [UInt8], _ pattern: [UInt8]) -> Bool {
        guard let head = pattern.first else { return true }
        guard haystack.count >= pattern.count else { return false }
        @inline(__always) func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        for start in 0...(haystack.count - pattern.count) where lower(haystack[start]) == head {
            var offset = 1
            while offset < pattern.count, lower(haystack[start + offset]) == pattern[offset] { offset += 1 }
            if offset == pattern.count { return true }
        }
        return false
    }

    /// `text.lowercased().contains(needle)` for a lowercased needle, without the
    /// lowercased copy when the needle is ASCII (a byte search, ~20x faster).
    static func containsIgnoringCase(_ text: String, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard pattern.allSatisfy({ $0 < 0x80 }) else { return text.lowercased().contains(needle) }
        return containsIgnoringCase(Array(text.utf8), pattern)
    }

    /// Indexes of the newest `count` matching entries, oldest first, after
    /// skipping `skip` newer matches. Scans backwards, so the cost grows with the
    /// distance scanned, not with the size of the log.
    public static func window(of log: LogBook, filter: LogFilter?, skip: Int, count: Int) -> [Int] {
        guard let filter else {
            let end = max(0, log.count - max(0, skip))
            return Array(max(0, end - count)..<end)
        }
        var picked: [Int] = []
        var skipped = 0
        var index = log.count - 1
        while index >= 0, picked.count < count {
            if filter.matches(log[index]) {
                if skipped < skip { skipped += 1 } else { picked.append(index) }
            }
            index -= 1
        }
        return picked.reversed()
    }
}

/// The log entries matching the current filter, by sequence number, kept up to
/// date by the reducer as entries arrive (one test per new entry), so a filtered
/// log draws in O(rows shown) even when matches are rare among 100,000 entries.
public struct LogFilterIndex: Sendable {
    /// The filter text this index was built for.
    public private(set) var filterText: String?
    private var filter: LogFilter?
    /// Matching sequence numbers, ascending; those before `start` fell off the log.
    private var matches: [Int] = []
    private var start = 0
    /// The newest entry examined. It is examined again next time: data may merge into it.
    private var scannedThrough = -1

    public init() {}

    /// Brings the index up to date with `log` under the filter `text`.
    public mutating func update(for text: String?, log: LogBook) {
        if text != filterText {
            self = LogFilterIndex()
            filterText = text
            filter = LogFilter(text)
        }
        guard let filter else { return }
        guard log.count > 0 else {
            matches.removeAll()
            start = 0
            return
        }
        let firstSequence = log[0].sequence
        let lastSequence = log[log.count - 1].sequence
        let from = max(scannedThrough, firstSequence)
        if from <= lastSequence {
            if matches.count > start, matches[matches.count - 1] >= from { matches.removeLast() }
            for sequence in from...lastSequence where filter.matches(log[sequence - firstSequence]) {
                matches.append(sequence)
            }
        }
        scannedThrough = lastSequence
        while start < matches.count, matches[start] < firstSequence { start += 1 }
        if start > 4096, start * 2 > matches.count {
            matches.removeFirst(start)
            start = 0
        }
    }

    /// Like `LogFilter.window`, from the index: log indexes of the newest `count`
    /// matches after skipping `skip` newer ones, oldest first. Nil when the index
    /// was built for another filter (then scan with `LogFilter.window`).
    public func window(of log: LogBook, filterText text: String?, skip: Int, count: Int) -> [Int]? {
        guard text == filterText, filter != nil, log.count > 0, scannedThrough == log[log.count - 1].sequence else {
            return nil
        }
        let firstSequence = log[0].sequence
        let end = max(start, matches.count - max(0, skip))
        return matches[max(start, end - count)..<end].map { $0 - firstSequence }
    }
}
