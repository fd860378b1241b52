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
        case .socket(let id): entry.socket == id
        case .kinds(let kinds): kinds.contains(entry.kind)
        case .text(let needle): LogText.body(entry).lowercased().contains(needle)
        }
    }

    /// Indexes of the newest `count` matching entries, oldest first, after
    /// skipping `skip` newer matches. Scans backwards, so the cost grows with the
    /// distance scanned, not with the size of the log.
    public static func window(of log: LogBook, filter: LogFilter?, skip: Int, count: Int) -> [Int] {
        var picked: [Int] = []
        var skipped = 0
        var index = log.count - 1
        while index >= 0, picked.count < count {
            if filter?.matches(log[index]) ?? true {
                if skipped < skip { skipped += 1 } else { picked.append(index) }
            }
            index -= 1
        }
        return picked.reversed()
    }
}
