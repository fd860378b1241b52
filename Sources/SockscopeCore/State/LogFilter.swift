/// Which log entries a filter keeps: a socket id (`C2`), a direction (`in`,
/// `out`, `error`, `info`), or else text found in the entry's body as shown
/// (`LogText.body`), in any case.
public struct LogFilter: Hashable, Sendable {
    public enum Criterion: Hashable, Sendable {
        case socket(SocketID)
        case kinds(Set<LogKind>)
        case text(Needle)
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
        case let lowercased: criterion = .text(Needle(lowercased))
        }
    }

    public func matches(_ entry: LogEntry) -> Bool {
        var scratch: [UInt8] = []
        return matches(entry, scratch: &scratch)
    }

    /// `matches`, writing the text it searches into `scratch`: a scan passes the
    /// same buffer for every entry, so it allocates once, not per entry.
    func matches(_ entry: LogEntry, scratch: inout [UInt8]) -> Bool {
        switch criterion {
        case .socket(let id): entry.socket == id
        case .kinds(let kinds): kinds.contains(entry.kind)
        case .text(let needle): needle.isFound(in: entry, scratch: &scratch)
        }
    }

    /// True when every entry this filter keeps is also kept by `wider`, as when
    /// one more character is typed: then only `wider`'s matches need testing.
    func narrows(_ wider: LogFilter) -> Bool {
        guard case .text(let needle) = criterion, case .text(let widerNeedle) = wider.criterion else { return false }
        return needle.narrows(widerNeedle)
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
        var scratch: [UInt8] = []
        var index = log.count - 1
        while index >= 0, picked.count < count {
            if filter.matches(log[index], scratch: &scratch) {
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
            let newFilter = LogFilter(text)
            if let newFilter, let filter, newFilter.narrows(filter) {
                narrow(to: newFilter, log: log)
            } else {
                self = LogFilterIndex()
                filter = newFilter
            }
            filterText = text
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
            var scratch: [UInt8] = []
            for sequence in from...lastSequence where filter.matches(log[sequence - firstSequence], scratch: &scratch) {
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

    /// Keeps the matches that `narrower` (which keeps a subset of what the current
    /// filter keeps) keeps too: typing at the filter prompt tests the previous
    /// matches, not the whole log. Entries the index has not seen are left to `update`.
    private mutating func narrow(to narrower: LogFilter, log: LogBook) {
        filter = narrower
        guard log.count > 0 else { return }
        let firstSequence = log[0].sequence
        let lastSequence = log[log.count - 1].sequence
        var scratch: [UInt8] = []
        matches = matches[start...].filter { sequence in
            sequence >= firstSequence && sequence <= lastSequence
                && narrower.matches(log[sequence - firstSequence], scratch: &scratch)
        }
        start = 0
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
