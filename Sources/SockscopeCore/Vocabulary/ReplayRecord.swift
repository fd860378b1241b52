/// What one stream connection's client side sent, chunk by chunk, as the engine recorded it
/// for `replay`: on a connection we opened, each of our writes (a `send`, a rule's reply...);
/// on one we accepted (a relay's client leg too), each read of what the client sent.
///
/// Kept by the engine, not taken from the log: the log words traffic for people (the TUI
/// merges writes a few milliseconds apart into one entry, and keeps 1 KiB of a read unless
/// the connection is followed), while a replay needs every byte in its original chunks.
/// Bounded: `connectionLimit` bytes per connection, and `totalLimit` of memory across all of
/// them, bookkeeping included (the records of closed connections are given up oldest first
/// to make room).
public struct ReplayRecord: Hashable, Sendable {
    /// Bytes kept per connection; past it the record says so (`cut`) and keeps no more.
    public static let connectionLimit = 256 * 1024
    /// Memory kept across every connection, open or closed: the bytes and what each chunk
    /// and record costs beside them.
    public static let totalLimit = 32 * 1024 * 1024

    public struct Chunk: Hashable, Sendable {
        public var bytes: [UInt8]
        /// When it was read or written.
        public var time: Timestamp

        public init(bytes: [UInt8], time: Timestamp) {
            self.bytes = bytes
            self.time = time
        }
    }

    /// The chunks kept, in order: every byte from the first on, up to `cut` if there is one.
    public var chunks: [Chunk]
    /// Every byte the client side sent, kept or not.
    public var total: Int
    /// Why the record stops before the end (the per-connection bound, the shared one, a file
    /// sent by sendfile); nil when it holds everything.
    public var cut: String?

    public init(chunks: [Chunk] = [], total: Int = 0, cut: String? = nil) {
        self.chunks = chunks
        self.total = total
        self.cut = cut
    }

    /// The bytes kept.
    public var keptBytes: Int { chunks.reduce(0) { $0 + $1.bytes.count } }

    /// Whether the clients of a listener in this mode are recorded: not those of `--echo` and
    /// `--discard`, which soak up load (a record each would cost 10 000 held echo clients
    /// 0.2 KiB apiece), where the other modes hold conversations.
    public static func isKept(forClientsOf mode: ListenMode) -> Bool {
        switch mode {
        case .echo, .discard: false
        case .interactive, .reply: true
        }
    }
}
