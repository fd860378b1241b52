/// What a listener does with each connection it accepts.
public enum ListenMode: Hashable, Sendable, CustomStringConvertible {
    /// Nothing automatic: the user reads and types.
    case interactive
    /// Writes back every byte received.
    case echo
    /// Sends these bytes as soon as a connection is accepted.
    case reply([UInt8])
    /// Reads and counts, never answers.
    case discard

    public var description: String {
        switch self {
        case .interactive: "interactive"
        case .echo: "echo"
        case .reply: "reply"
        case .discard: "discard"
        }
    }
}

public struct ListenRequest: Hashable, Sendable {
    public var endpoint: Endpoint
    public var mode: ListenMode
    public var backlog: Int
    /// For UNIX sockets: remove a stale socket file left at the path before binding.
    public var replaceStale = false
    /// Who may connect, how many at once, how long they may stay silent.
    public var policy = ListenerPolicy()
    /// The user confirmed binding every interface (`--public`).
    public var isPublic = false
    /// `--manual-accept`: clients wait in the kernel's accept queue until `accept` takes one.
    public var manualAccept = false
    /// `--reuseaddr` (UDP): SO_REUSEADDR, so the bind may share a port with sockets that
    /// set it too. TCP listeners always set it (it only skips TIME-WAIT remnants there).
    public var reuseAddress = false
    /// `--reuseport` (TCP, UDP): SO_REUSEPORT, so several sockets of this user share the port
    /// and the kernel spreads connections or datagrams among them.
    public var reusePort = false
    /// `tls://`: every accepted connection is a TLS server (nil: plain).
    public var tls: TLSServerOptions?
    /// `--rules FILE`: rules (one per line, the words after `rule ID`) read once it listens.
    /// The app reads the file; the engine never looks at it.
    public var rulesFile: String?

    /// Large enough that a burst of connections is not dropped by the kernel;
    /// the kernel caps it at net.core.somaxconn.
    public static let defaultBacklog = 4096

    public init(endpoint: Endpoint, mode: ListenMode = .interactive, backlog: Int = ListenRequest.defaultBacklog) {
        self.endpoint = endpoint
        self.mode = mode
        self.backlog = backlog
    }
}

/// A listener's access control. Refused peers are reported, never dropped silently.
public struct ListenerPolicy: Hashable, Sendable {
    /// When not empty, only peers in one of these ranges are accepted.
    public var allow: [AddressRange] = []
    /// Peers in these ranges are refused (checked before `allow`).
    public var deny: [AddressRange] = []
    /// Connections open at once; more are accepted and closed at once with a note.
    public var maxConnections: Int?
    /// Connections silent (no data either way) this long are closed.
    public var idleTimeoutMilliseconds: Int?

    public init() {}

    public var isUnrestricted: Bool { allow.isEmpty && deny.isEmpty && maxConnections == nil }

    /// Why a peer at `remote` may not connect, or nil if it may.
    public func refusal(for remote: SocketEndpoint, openConnections: Int) -> String? {
        if let range = deny.first(where: { $0.contains(remote) }) { return "denied by --deny \(range)" }
        if !allow.isEmpty, !allow.contains(where: { $0.contains(remote) }) { return "not in any --allow range" }
        if let maxConnections, openConnections >= maxConnections {
            return "--max-conns \(maxConnections) reached"
        }
        return nil
    }
}

public struct ConnectRequest: Hashable, Sendable {
    public var endpoint: Endpoint
    /// The local address and port to bind before connecting (`--bind`); port 0 lets the kernel choose.
    public var bind: LocalAddress?
    /// How long one connect attempt may take (`--timeout`); nil uses the engine's default (10 s).
    public var timeoutMilliseconds: Int?
    /// `tls://`: a TLS client over the TCP connection (nil: plain).
    public var tls: TLSClientOptions?

    public init(endpoint: Endpoint, bind: LocalAddress? = nil, timeoutMilliseconds: Int? = nil) {
        self.endpoint = endpoint
        self.bind = bind
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// A host (IP literal or name) and port to bind to.
public struct LocalAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { AddressText.hostPort(host, port) }
}

/// Which direction `shutdown` ends.
public enum ShutdownDirection: String, Hashable, Sendable, CaseIterable {
    /// SHUT_RD: we will read no more.
    case read
    /// SHUT_WR: we send FIN; the peer reads EOF; we can still receive (half-close).
    case write
    /// SHUT_RDWR.
    case both
}

/// The socket options `set` and `get` know.
public enum SocketOptionName: String, Hashable, Sendable, CaseIterable {
    case nodelay, keepalive, reuseaddr, reuseport, rcvbuf, sndbuf, linger, ttl

    public var explanation: String {
        switch self {
        case .nodelay: "TCP_NODELAY: 1 sends small writes at once instead of waiting to batch them (Nagle off)"
        case .keepalive: "SO_KEEPALIVE: 1 makes the kernel probe an idle connection to find a dead peer"
        case .reuseaddr: "SO_REUSEADDR: 1 lets a listener bind a port that still has TIME-WAIT connections"
        case .reuseport: "SO_REUSEPORT: 1 lets several sockets bind the same port and share its traffic"
        case .rcvbuf: "SO_RCVBUF: receive buffer size in bytes (the kernel doubles what you set, for bookkeeping)"
        case .sndbuf: "SO_SNDBUF: send buffer size in bytes (the kernel doubles what you set, for bookkeeping)"
        case .linger: "SO_LINGER: seconds close() waits to send queued data; 0 makes close() send RST; -1 is off"
        case .ttl: "IP_TTL: hops a packet may take before a router drops it"
        }
    }
}

/// A typed order to the socket engine. The engine answers each with events
/// carrying the same `RequestID`, and always last with `.requestCompleted`.
public enum EngineCommand: Hashable, Sendable {
    case listen(ListenRequest)
    case connect(ConnectRequest)
    case send(SocketID, [UInt8])
    case close(SocketID)
    case shutdown(SocketID, ShutdownDirection)
    /// Abortive close: SO_LINGER 0, then close, so the peer gets RST.
    case reset(SocketID)
    /// TLS on an open plain stream connection; answered once the handshake is done (or failed).
    case startTLS(StartTLSRequest)
    /// A datagram from an unconnected UDP socket (or a UDP listener) to an address.
    /// One datagram to `.inet` (UDP socket) or `.unixDatagram` (UNIX datagram socket).
    case sendTo(SocketID, to: Endpoint, [UInt8])
    /// Streams a file's bytes out on a connection, with backpressure.
    case sendFile(SocketID, path: String)
    /// Keeps up to `DataPreview.followedLimit` of each read and write of this stream
    /// connection in its events (the conversation view follows it), instead of
    /// `DataPreview.limit`; nil follows none. One connection at a time.
    case follow(SocketID?)
    /// What a stream connection's client side sent (`ReplayRecord`), open or closed: answered
    /// by one `.replayRecord` event (`replay` asks for it).
    case replayRecord(SocketID)
    case setOption(SocketID, SocketOptionName, Int)
    case getOption(SocketID, SocketOptionName)
    /// getaddrinfo: every address a name gives.
    case resolve(host: String)
    /// The lifecycle lab: step-mode calls, manual accept, the system view.
    case lab(LabCommand)
    /// Completes after this long: a script's `sleep`, and the deadline of its `expect`.
    case wait(milliseconds: Int)
    /// Adds rule `R<number>` at the end of the owner's rules (see `Rule`).
    case addRule(RuleOwner, number: Int, Rule)
    /// Removes rule `R<number>` from the owner's rules.
    case removeRule(RuleOwner, number: Int)
    /// A connect scan of one host's ports; its events end with the scan's `.requestCompleted`.
    case scan(ScanRequest)
    /// Ends the running scan early (its summary says so); answered once it has ended.
    case stopScan
    /// ICMP echo requests to a host; its events end with the ping's `.requestCompleted`.
    case ping(PingRequest)
    /// Ends the running ping early; answered once it has ended.
    case stopPing
    /// A relay: listen, and forward each client to a target (`R1`).
    case relay(RelayRequest)
    /// Adds or removes a relay's toxic (`list` is answered from the state).
    case toxic(SocketID, ToxicCommand)
    /// `relay R1 down|up`.
    case relaySwitch(SocketID, RelaySwitch)
    /// `hold`, `forward`, `drop`, `edit`, `release` on a stream relay's traffic.
    case hold(SocketID, HoldCommand)
    /// `capture on [PATH] [--max SIZE]` / `capture off`: packets Wireshark opens.
    case capture(CaptureRequest)
}

public struct EngineRequest: Hashable, Sendable {
    public let id: RequestID
    public let command: EngineCommand
    public init(id: RequestID, command: EngineCommand) {
        self.id = id
        self.command = command
    }
}
