/// What a log line is, for its marker, colour and the direction filters.
public enum LogKind: String, Hashable, Sendable {
    case received, sent, info, error, command
}

/// What a log entry holds, typed, not worded: `EventText` words it when it is
/// shown, printed or saved, so each event is worded in one place. Every case with a
/// payload is boxed: most entries are data (no payload here), so an entry stays one
/// pointer wide for its record (FrameBench: 100 000 entries, less memory than sentences took).
public indirect enum LogRecord: Hashable, Sendable {
    /// Bytes on a stream connection: the entry's `count` and `bytes`.
    case data
    /// One datagram and its peer (the sender, or where it went): the entry's `count` and
    /// `bytes`. `truncated`: the kernel cut it (MSG_TRUNC). Never merged with another.
    case datagram(peer: SocketEndpoint, truncated: Bool)
    /// Any other engine event, kept whole.
    case event(EngineEventKind)
    /// A command line as it was typed or scripted.
    case command(String)
    /// The app's own words: help, a command's error, an outcome such as a saved file.
    case note(String)
}

extension EngineEventKind {
    /// Whether the log keeps the event: all but bookkeeping (`requestCompleted`), the
    /// lab's observations (kernel samples, the system's sockets, the port range) and a TLS
    /// connection's wire totals, which are state shown in Detail, not history.
    public var isKeptInLog: Bool {
        switch self {
        // A replay record is the reducer's material: the replay's own notes say what it holds.
        case .requestCompleted, .lab(.kernel), .lab(.system), .lab(.portRange), .tlsWire, .replayRecord: false
        default: true
        }
    }
}

/// One entry of the message log: a record, when it happened, the socket it concerns
/// and, for data, the exact count and the first bytes.
public struct LogEntry: Hashable, Sendable {
    /// Position in the whole history, counting entries that were dropped.
    public var sequence: Int
    public var time: Timestamp
    public var socket: SocketID?
    public var kind: LogKind
    /// The socket's protocol, when known: every JSON event about a socket names it.
    public var transport: TransportProtocol?
    /// The exact number of bytes this entry stands for (data entries).
    public var count: Int
    /// The first bytes of the data (at most `LogBook.previewLimit`).
    public var bytes: [UInt8]
    public var record: LogRecord

    public init(sequence: Int = 0, time: Timestamp, socket: SocketID?, kind: LogKind, transport: TransportProtocol? = nil,
                count: Int = 0, bytes: [UInt8] = [], record: LogRecord) {
        self.sequence = sequence
        self.time = time
        self.socket = socket
        self.kind = kind
        self.transport = transport
        self.count = count
        self.bytes = bytes
        self.record = record
    }

    /// The entry for an engine event, or nil for one the log does not keep (`isKeptInLog`).
    public init?(_ event: EngineEvent, transport: TransportProtocol?) {
        let kind = event.kind
        switch kind {
        case .received(let id, let bytes, let count):
            self.init(time: event.time, socket: id, kind: .received, transport: transport, count: count, bytes: bytes, record: .data)
        case .sent(let id, let bytes, let count):
            self.init(time: event.time, socket: id, kind: .sent, transport: transport, count: count, bytes: bytes, record: .data)
        case .receivedFrom(let id, let peer, let bytes, let count, let truncated):
            self.init(time: event.time, socket: id, kind: .received, transport: transport, count: count, bytes: bytes,
                      record: .datagram(peer: peer, truncated: truncated))
        case .sentTo(let id, let peer, let bytes, let count):
            self.init(time: event.time, socket: id, kind: .sent, transport: transport, count: count, bytes: bytes,
                      record: .datagram(peer: peer, truncated: false))
        default:
            guard kind.isKeptInLog else { return nil }
            self.init(observation: event, transport: transport)
        }
    }

    /// Any event as an entry, kept or not: headless prints the lab's observations this way.
    public init(observation event: EngineEvent, transport: TransportProtocol?) {
        let isError = switch event.kind {
        case .error, .refused: true
        case .lab(.call(_, let record)): record.errno != nil && record.errno != 115  // EINPROGRESS is news, not failure
        default: false
        }
        var transport = transport
        if case .lab(.call(_, let record)) = event.kind { transport = record.transport }
        self.init(time: event.time, socket: event.kind.socket, kind: isError ? .error : .info, transport: transport,
                  record: .event(event.kind))
    }

    /// True for data (stream bytes or a datagram): its count and preview are the entry's.
    public var isData: Bool {
        switch record {
        case .data, .datagram: true
        case .event, .command, .note: false
        }
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
    /// The sequence number the next entry gets.
    public private(set) var nextSequence = 0
    /// The connection the conversation view follows: its entries keep up to
    /// `DataPreview.followedLimit` bytes each (the engine sends that much for it), within the
    /// same `byteBudget`.
    public var followed: SocketID?

    /// How many bytes an entry about `socket` keeps.
    func previewLimit(for socket: SocketID?) -> Int {
        socket != nil && socket == followed ? DataPreview.followedLimit : Self.previewLimit
    }

    /// Whether data close together on one socket shares an entry (`appendData`). The TUI
    /// merges so a stream of small reads makes one line; headless paces its own output
    /// and keeps one entry per printed line, so a saved log is what it printed.
    public var mergesNearbyData = true

    public init(capacity: Int = LogBook.defaultCapacity, byteBudget: Int = LogBook.defaultByteBudget) {
        entries = RingBuffer(capacity: capacity)
        self.byteBudget = byteBudget
    }

    public var count: Int { entries.count }
    public subscript(index: Int) -> LogEntry { entries[index] }
    public var last: LogEntry? { entries.last }

    public mutating func append(_ entry: LogEntry) {
        var entry = entry
        let limit = previewLimit(for: entry.socket)
        if entry.bytes.count > limit { entry.bytes = Array(entry.bytes.prefix(limit)) }
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
    public mutating func appendData(time: Timestamp, socket: SocketID, kind: LogKind, transport: TransportProtocol? = nil,
                                    bytes: [UInt8], count: Int) {
        if mergesNearbyData, let last = entries.last, last.socket == socket, last.kind == kind, case .data = last.record,
           time.nanoseconds - last.time.nanoseconds < Self.coalesceWindowNanoseconds {
            var merged = last
            let room = previewLimit(for: socket) - merged.bytes.count
            let added = room > 0 ? Array(bytes.prefix(room)) : []
            merged.bytes += added
            merged.count += count
            merged.time = time
            storedBytes += added.count
            entries[entries.count - 1] = merged
            return
        }
        append(LogEntry(time: time, socket: socket, kind: kind, transport: transport, count: count, bytes: bytes, record: .data))
    }
}
