/// Nanoseconds since the Unix epoch (wall clock), stamped by the engine.
public struct Timestamp: Hashable, Sendable, Comparable {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

/// A failed call, with the errno's symbolic name and a plain explanation.
public struct SocketFailure: Error, Hashable, Sendable {
    /// The system call or step that failed: `bind`, `connect`, `getaddrinfo`, `write`...
    public var call: String
    /// The errno value (Linux numbering), when the failure came from the kernel.
    public var errno: Int32?
    /// `ECONNREFUSED`, `EAI_NONAME`...; nil when there is no symbolic code.
    public var code: String?
    /// One line a person understands without a manual.
    public var explanation: String
    /// What was being attempted, e.g. `tcp://127.0.0.1:9`.
    public var target: String?

    public init(call: String, errno: Int32? = nil, code: String? = nil, explanation: String, target: String? = nil) {
        self.call = call
        self.errno = errno
        self.code = code
        self.explanation = explanation
        self.target = target
    }

    /// A failure of a call on a file, explained in words about files.
    public static func file(call: String, errno: Int32, path: String) -> SocketFailure {
        var failure = system(call: call, errno: errno, target: path)
        if let text = ErrnoCatalog.fileExplanations[errno] { failure.explanation = text }
        return failure
    }

    /// A failure from the kernel, explained from the errno catalogue.
    public static func system(call: String, errno: Int32, target: String? = nil) -> SocketFailure {
        let entry = ErrnoCatalog.entry(for: errno)
        return SocketFailure(call: call, errno: errno, code: entry?.name ?? "errno \(errno)",
                             explanation: entry?.explanation ?? "the system call failed", target: target)
    }

    /// The same failure, its kernel errno explained for a socket of `transport`
    /// (a UDP ECONNREFUSED is an ICMP port unreachable, not a TCP RST).
    public func explained(on transport: TransportProtocol) -> SocketFailure {
        guard let errno, let meaning = ErrnoCatalog.explanation(for: errno, on: transport) else { return self }
        var failure = self
        failure.explanation = meaning
        return failure
    }
}

/// Something that happened to a socket. Events say what happened; they are
/// produced on engine threads and consumed by the UI thread or the headless loop.
/// Addresses are typed (`SocketEndpoint`), formatted only when shown.
public enum EngineEventKind: Hashable, Sendable {
    case listening(SocketID, TransportProtocol, local: SocketEndpoint, mode: ListenMode, backlog: Int)
    case accepted(SocketID, listener: SocketID, local: SocketEndpoint, remote: SocketEndpoint)
    /// `remote` is the place asked for, as the user wrote it (`localhost:9000`, a path): not yet an address.
    case connecting(SocketID, remote: String)
    case connected(SocketID, local: SocketEndpoint, remote: SocketEndpoint)
    /// `bytes` holds at most `DataPreview.limit` bytes; `count` is the exact total.
    case received(SocketID, bytes: [UInt8], count: Int)
    case sent(SocketID, bytes: [UInt8], count: Int)
    /// The peer shut down its sending side (FIN): we read EOF but may still send.
    case peerClosed(SocketID)
    /// We shut down one direction; `.write` means the peer now reads EOF.
    case shutDown(SocketID, ShutdownDirection)
    /// One datagram (UDP or UNIX, listener or connected socket) arrived from `from`: one event
    /// per datagram, never merged with another, so its boundaries stay visible. `truncated`:
    /// the kernel cut it (MSG_TRUNC), it was longer than the receive buffer and `count` is
    /// what was read.
    case receivedFrom(SocketID, from: SocketEndpoint, bytes: [UInt8], count: Int, truncated: Bool)
    /// One datagram went out to `to` (never merged either).
    case sentTo(SocketID, to: SocketEndpoint, bytes: [UInt8], count: Int)
    /// Datagrams that moved while one engine batch already held the engine's limit of
    /// datagram events for the socket (`DatagramLog.datagramsPerBatch`): counted here (exact bytes), not
    /// logged one by one, so a flood cannot outrun the log. Comes after the datagrams it follows.
    case moreDatagrams(SocketID, DatagramTotals)
    /// One address of several is being tried (connect to a name).
    case attempt(SocketID, address: SocketEndpoint)
    /// What the kernel holds for an option after `set` or `get` (it may differ from what was set).
    case optionValue(SocketID, SocketOptionName, value: Int)
    /// Every address getaddrinfo returned for a name.
    case resolved(host: String, addresses: [ResolvedAddress])
    /// SO_PEERCRED of an accepted UNIX connection: who is on the other end.
    case peerCredentials(SocketID, pid: Int32, uid: UInt32, gid: UInt32)
    /// A TLS handshake completed (client or server side): the inspector's fields.
    case tls(SocketID, TLSReport)
    /// A `tls://` listener's certificate: what clients will see (`selfSigned`: made in memory;
    /// `savedTo`: written there as PEM).
    case tlsCertificate(SocketID, CertificateSummary, selfSigned: Bool, savedTo: String?)
    case closed(SocketID, reason: String)
    /// A listener turned a peer away (access control); the peer was accepted and closed at once.
    case refused(SocketID, remote: SocketEndpoint, reason: String)
    case error(SocketID?, SocketFailure)
    /// Step-mode calls, kernel samples, the system's sockets.
    case lab(LabEvent)
    /// The port scanner's results (`scan`): about a host's ports, not one of our sockets.
    case scan(ScanEvent)
    /// `ping`'s echo replies and losses: about a host, not one of our sockets.
    case ping(PingEvent)
    /// A relay and its pairs of legs (`RelayEvent`).
    case relay(RelayEvent)
    /// The last event for a request: the next scripted command may run.
    case requestCompleted
    /// Rule `R<rule>` answered on the connection `times` times since the last report (its
    /// replies are in the connection's `sent` events).
    case ruleFired(SocketID, rule: Int, times: Int)
    /// A TLS connection's bytes on the wire so far (TLS records: the handshake, the ciphertext
    /// of the data, alerts), read from the socket and handed to it; sent after its traffic
    /// when they changed. The data events count plaintext.
    case tlsWire(SocketID, received: Int, sent: Int)
    /// `sendfile` opened `path` and is about to send its `size` bytes (the progress bar's whole).
    case fileSending(SocketID, path: String, size: Int)
    /// A capture started or stopped (`capture on`, `capture off`).
    case capture(CaptureEvent)
    /// The answer to `.replayRecord`: what the connection's client side sent, chunk by chunk.
    case replayRecord(SocketID, ReplayRecord)

    /// The socket this event is about, if any.
    public var socket: SocketID? {
        switch self {
        case .listening(let id, _, _, _, _), .accepted(let id, _, _, _), .connecting(let id, _),
             .connected(let id, _, _), .received(let id, _, _), .sent(let id, _, _),
             .peerClosed(let id), .closed(let id, _), .shutDown(let id, _), .receivedFrom(let id, _, _, _, _),
             .sentTo(let id, _, _, _), .moreDatagrams(let id, _), .attempt(let id, _), .optionValue(let id, _, _), .peerCredentials(let id, _, _, _), .refused(let id, _, _),
             .tls(let id, _), .tlsCertificate(let id, _, _, _), .ruleFired(let id, _, _), .fileSending(let id, _, _), .tlsWire(let id, _, _),
             .replayRecord(let id, _):
            id
        case .resolved, .scan, .ping, .capture:
            nil
        case .error(let id, _):
            id
        case .lab(let event):
            event.socket
        case .relay(let event):
            event.socket
        case .requestCompleted:
            nil
        }
    }

    /// Whether a person watching should see it at once even while traffic is paced:
    /// everything but data (counted, and coming again while a socket is busy) and kernel
    /// samples (every 250 ms or so while sockets are busy). The engine's traffic windows
    /// and the headless printer's pauses both end early for news.
    public var isNews: Bool {
        switch self {
        case .received, .sent, .receivedFrom, .sentTo, .moreDatagrams, .lab(.kernel), .ruleFired, .tlsWire: false
        default: true
        }
    }
}

public struct EngineEvent: Hashable, Sendable {
    public var time: Timestamp
    public var request: RequestID?
    public var kind: EngineEventKind

    public init(time: Timestamp, request: RequestID? = nil, kind: EngineEventKind) {
        self.time = time
        self.request = request
        self.kind = kind
    }
}

/// Datagrams counted but not logged one by one, per direction, with their exact bytes.
public struct DatagramTotals: Hashable, Sendable {
    public var received = 0
    public var receivedBytes = 0
    public var sent = 0
    public var sentBytes = 0

    public init(received: Int = 0, receivedBytes: Int = 0, sent: Int = 0, sentBytes: Int = 0) {
        self.received = received
        self.receivedBytes = receivedBytes
        self.sent = sent
        self.sentBytes = sentBytes
    }

    public var isEmpty: Bool { received == 0 && sent == 0 }

    /// `312 more datagrams not logged one by one (200 received, 40000 B; 112 sent, 3000 B)`
    public var text: String {
        var parts: [String] = []
        if received > 0 { parts.append("\(received) received, \(receivedBytes) B") }
        if sent > 0 { parts.append("\(sent) sent, \(sentBytes) B") }
        return "\(received + sent) more datagrams not logged one by one ("
            + parts.joined(separator: "; ") + "): too many for the log in one interval"
    }
}

/// How datagram news reads, in every output.
public enum DatagramText {
    /// Follows a datagram the kernel cut (MSG_TRUNC).
    public static let truncation = "MSG_TRUNC: the kernel cut this datagram (longer than the receive buffer; the rest is lost)"
}

/// One answer of getaddrinfo.
public struct ResolvedAddress: Hashable, Sendable {
    /// `IPv4` or `IPv6`.
    public var family: String
    /// `stream` or `datagram`.
    public var type: String
    public var address: String

    public init(family: String, type: String, address: String) {
        self.family = family
        self.type = type
        self.address = address
    }
}

/// How much of a data event's payload is kept for display; the count is always exact.
/// One size everywhere: what a headless line prints is what the log keeps and shows.
public enum DataPreview {
    public static let limit = 1024
    /// The preview of the one connection the conversation view follows (`EngineCommand.follow`):
    /// enough for a whole HTTP response header, a redis reply, a page of a text protocol.
    public static let followedLimit = 64 * 1024

    /// Appends `more` to `bytes` without exceeding the limit. Inlinable so callers in
    /// other modules (the mailbox, per read under load) get a specialised copy.
    @inlinable
    public static func append(_ more: some Collection<UInt8>, to bytes: inout [UInt8]) {
        let room = limit - bytes.count
        if room > 0 { bytes.append(contentsOf: more.prefix(room)) }
    }
}
