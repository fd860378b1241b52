/// What a log line records.
public enum LogKind: String, Hashable, Sendable {
    case received, sent, info, error, command
}

/// One line of the message log.
public struct LogEntry: Hashable, Sendable {
    /// Position in the whole history, counting entries that were dropped.
    public var sequence: Int
    public var time: Timestamp
    public var socket: SocketID?
    public var kind: LogKind
    /// The exact number of bytes this entry stands for (data entries).
    public var count: Int
    /// The first bytes of the data (at most `LogBook.previewLimit`).
    public var bytes: [UInt8]
    /// What to say for info, error and command entries.
    public var text: String

    public init(sequence: Int = 0, time: Timestamp, socket: SocketID?, kind: LogKind,
                count: Int = 0, bytes: [UInt8] = [], text: String = "") {
        self.sequence = sequence
        self.time = time
        self.socket = socket
        self.kind = kind
        self.count = count
        self.bytes = bytes
        self.text = text
    }
}

/// The message log: bounded by entry count and by stored payload bytes, so a
/// flood of data cannot grow memory without limit. Dropped entries are counted.
public struct LogBook {
    /// Entries kept in memory; older ones are dropped and counted.
    public static let defaultCapacity = 100_000
    /// Payload bytes kept per entry for display (the count stays exact): an event's whole preview.
    public static let previewLimit = DataPreview.limit
    /// Payload bytes kept across all entries.
    public static let defaultByteBudget = 16 << 20

    public private(set) var entries: RingBuffer<LogEntry>
    public private(set) var storedBytes = 0
    public private(set) var droppedEntries = 0
    public let byteBudget: Int
    private var nextSequence = 0

    public init(capacity: Int = LogBook.defaultCapacity, byteBudget: Int = LogBook.defaultByteBudget) {
        entries = RingBuffer(capacity: capacity)
        self.byteBudget = byteBudget
    }

    public var count: Int { entries.count }
    public subscript(index: Int) -> LogEntry { entries[index] }
    public var last: LogEntry? { entries.last }

    public mutating func append(_ entry: LogEntry) {
        var entry = entry
        if entry.bytes.count > Self.previewLimit { entry.bytes = Array(entry.bytes.prefix(Self.previewLimit)) }
        entry.sequence = nextSequence
        nextSequence += 1
        storedBytes += entry.bytes.count
        if let dropped = entries.append(entry) {
            storedBytes -= dropped.bytes.count
            droppedEntries += 1
        }
        while storedBytes > byteBudget, entries.count > 1, let dropped = entries.removeFirst() {
            storedBytes -= dropped.bytes.count
            droppedEntries += 1
        }
    }

    /// Reads or writes closer together than this on one socket share a log line.
    public static let coalesceWindowNanoseconds: Int64 = 20_000_000

    /// Adds data to the newest entry when it is the same direction on the same
    /// socket and recent, so a stream of small reads makes one line with an exact count.
    public mutating func appendData(time: Timestamp, socket: SocketID, kind: LogKind, bytes: [UInt8], count: Int) {
        if let last = entries.last, last.socket == socket, last.kind == kind,
           time.nanoseconds - last.time.nanoseconds < Self.coalesceWindowNanoseconds {
            var merged = last
            let room = Self.previewLimit - merged.bytes.count
            let added = room > 0 ? Array(bytes.prefix(room)) : []
            merged.bytes += added
            merged.count += count
            merged.time = time
            storedBytes += added.count
            entries[entries.count - 1] = merged
            return
        }
        append(LogEntry(time: time, socket: socket, kind: kind, count: count, bytes: bytes))
    }
}
