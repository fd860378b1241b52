/// What `expect` waits for on a socket.
public enum ExpectCondition: Hashable, Sendable {
    /// Received bytes (not consumed by an earlier expectation) in which the pattern occurs.
    case data(BytePattern)
    /// A connection that is (or was) connected; on a listener, a client it accepted that no
    /// earlier `expect ... connected` on it took.
    case connected
    /// The peer finished sending (FIN), or the connection is closed: nothing more can arrive.
    case eof
    /// The connection (or listener) is closed.
    case closed

    /// As the command language writes it.
    public var text: String {
        switch self {
        case .data(let pattern): pattern.text
        case .connected: "connected"
        case .eof: "eof"
        case .closed: "closed"
        }
    }

    /// 10 s, as pexpect and most expect tools wait by default.
    public static let defaultTimeoutMilliseconds = 10_000
}

/// What a socket received that expectations have not consumed yet: an expectation looks
/// at the bytes received after the end of the previous match on the same socket (from the
/// start of the script's watching, for the first one), so a reply that arrived before its
/// `expect` ran still counts, and each reply is matched once.
///
/// Kept only while a script expects (`ScriptQueue.watchesReceived`), at most `limit` bytes
/// per socket: the oldest unread bytes go first, and are counted.
public struct ReceivedWindow: Hashable, Sendable {
    /// Received and not consumed by a match.
    public private(set) var unread: [UInt8] = []
    /// Unread bytes dropped to keep within `limit`.
    public private(set) var dropped = 0
    /// Some reads were seen only as previews (their first bytes), not whole.
    public private(set) var sawPreviewsOnly = false
    /// The last bytes received, consumed or not: a failed expectation shows them.
    public private(set) var recent: [UInt8] = []
    public private(set) var total = 0

    public static let limit = 1 << 20
    static let recentKept = 128

    public init() {}

    /// A report of `count` received bytes whose first `bytes` are given (all of them with whole payloads).
    public mutating func append(_ bytes: [UInt8], count: Int) {
        total += count
        if bytes.count < count { sawPreviewsOnly = true }
        unread += bytes
        if unread.count > Self.limit {
            let excess = unread.count - Self.limit
            unread.removeFirst(excess)
            dropped += excess
        }
        recent += bytes.suffix(Self.recentKept)
        if recent.count > Self.recentKept { recent.removeFirst(recent.count - Self.recentKept) }
    }

    /// Consumes the unread bytes up to `end` (a match's end).
    public mutating func consume(through end: Int) {
        unread.removeFirst(min(end, unread.count))
    }
}

/// An `expect` waiting for its condition; its timer is an engine `.wait` request, which the
/// script waits for like any request (`ScriptQueue.waitingFor`). A match ends the wait early.
struct PendingExpectation: Hashable, Sendable {
    var socket: SocketID
    var condition: ExpectCondition
    var matcher: ByteMatcher?
    var timer: RequestID
    var timeoutMilliseconds: Int
    var started: Timestamp
    /// Where the line came from (`check.txt:4`), for the failure's message.
    var location: String
    /// A scripted line fails the script; a typed one only reports.
    var scripted: Bool
}

extension ByteMatcher: Hashable {
    public static func == (lhs: ByteMatcher, rhs: ByteMatcher) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}
