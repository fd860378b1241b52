/// One line of a socket's history: a call it made or a state it entered.
public struct LedgerEntry: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// A system call (made by us in step mode, or on our behalf by the engine).
        case call
        /// A state change the kernel reported or an event implied.
        case state
        /// Data moved: consecutive sends (or receives) share one entry.
        case data
        case error
    }

    public var time: Timestamp
    public var kind: Kind
    /// Already escaped where it quotes outside text.
    public var text: String
    /// For data entries: how many calls and bytes this entry stands for.
    public var calls = 0
    public var bytes = 0

    public init(time: Timestamp, kind: Kind, text: String) {
        self.time = time
        self.kind = kind
        self.text = text
    }
}

/// Every socket's history of calls and state changes, bounded per socket.
public struct Ledger: Sendable {
    /// Entries kept per socket: the first ones (how it was born) and the newest.
    public static let entriesPerSocket = 200
    static let keptFromTheStart = 20
    /// Histories of closed sockets kept; older ones are dropped with their rows.
    static let socketsKept = 400

    /// One socket's entries: how it was born, then a ring of the newest, so a busy
    /// socket costs O(1) per event instead of shifting 180 entries each time.
    private struct History: Sendable {
        var first: [LedgerEntry] = []
        var newest = RingBuffer<LedgerEntry>(capacity: Ledger.entriesPerSocket - Ledger.keptFromTheStart)

        var last: LedgerEntry? { newest.last ?? first.last }

        mutating func append(_ entry: LedgerEntry) {
            if newest.isEmpty, first.count < Ledger.keptFromTheStart { first.append(entry) } else { newest.append(entry) }
        }

        mutating func replaceLast(with entry: LedgerEntry) {
            if newest.isEmpty { first[first.count - 1] = entry } else { newest[newest.count - 1] = entry }
        }

        var all: [LedgerEntry] { first + (0..<newest.count).map { newest[$0] } }
    }

    private var histories: [SocketID: History] = [:]
    private var order: [SocketID] = []

    public init() {}

    public func history(of id: SocketID) -> [LedgerEntry] { histories[id]?.all ?? [] }

    public mutating func append(_ entry: LedgerEntry, to id: SocketID) {
        if histories[id] == nil {
            order.append(id)
            if order.count > Self.socketsKept {
                let oldest = order.removeFirst()
                histories[oldest] = nil
            }
        }
        // Mutated in place through the dictionary; copying a history out and back costs O(entries).
        histories[id, default: History()].append(entry)
    }

    /// Sends and receives are counted into the last entry when it is the same
    /// direction, so a flood of data does not push the calls out.
    /// `calls`: system calls the bytes took (several for datagrams counted together).
    public mutating func appendData(_ direction: String, count: Int, calls: Int = 1, time: Timestamp, to id: SocketID) {
        if let last = histories[id]?.last, last.kind == .data, last.text.hasPrefix(direction) {
            var merged = last
            merged.calls += calls
            merged.bytes += count
            merged.time = time
            merged.text = Self.dataText(direction, calls: merged.calls, bytes: merged.bytes)
            histories[id]?.replaceLast(with: merged)
            return
        }
        var entry = LedgerEntry(time: time, kind: .data, text: Self.dataText(direction, calls: calls, bytes: count))
        entry.calls = calls
        entry.bytes = count
        append(entry, to: id)
    }

    static func dataText(_ direction: String, calls: Int, bytes: Int) -> String {
        calls == 1 ? "\(direction) \(ByteCount.text(bytes))" : "\(direction) ×\(calls), \(ByteCount.text(bytes)) in all"
    }
}
