/// The lifecycle lab's vocabulary: step-mode system calls, the kernel's view of
/// our sockets, and the machine-wide socket table. Commands go to the engine as
/// `EngineCommand.lab`, answers come back as `EngineEventKind.lab`.

/// What `socket` makes: the family and type of a step-mode socket.
public enum StepSocketKind: String, Hashable, Sendable, CaseIterable {
    /// `icmp`, `icmp6`: `socket raw icmp [--ipv6]`, a raw ICMP socket where the process may
    /// open one (CAP_NET_RAW), else an ICMP datagram socket (net.ipv4.ping_group_range), as ping.
    case tcp, tcp6, udp, udp6, unix, icmp, icmp6

    public var transport: TransportProtocol {
        switch self {
        case .tcp, .tcp6: .tcp
        case .udp, .udp6: .udp
        case .unix: .unix
        case .icmp, .icmp6: .icmp
        }
    }

    /// The kind a `socket` call's arguments make; an ICMP socket may have been SOCK_RAW or SOCK_DGRAM.
    public init?(callArguments: [String]) {
        if callArguments.count == 3, callArguments[1] == "SOCK_RAW" || callArguments[1] == "SOCK_DGRAM" {
            switch callArguments[2] {
            case "IPPROTO_ICMP": self = .icmp
            case "IPPROTO_ICMPV6": self = .icmp6
            default: return nil
            }
            return
        }
        guard let kind = Self.allCases.first(where: { $0.callArguments == callArguments }) else { return nil }
        self = kind
    }

    /// The words after `socket` that make it: `tcp`, `raw icmp`, `raw icmp6`.
    public var commandWords: String {
        transport == .icmp ? "raw \(rawValue)" : rawValue
    }

    /// The arguments as a C program would write them: `AF_INET, SOCK_STREAM`.
    public var callArguments: [String] {
        switch self {
        case .tcp: ["AF_INET", "SOCK_STREAM"]
        case .tcp6: ["AF_INET6", "SOCK_STREAM"]
        case .udp: ["AF_INET", "SOCK_DGRAM"]
        case .udp6: ["AF_INET6", "SOCK_DGRAM"]
        case .unix: ["AF_UNIX", "SOCK_STREAM"]
        // The first try; without CAP_NET_RAW the engine's second is SOCK_DGRAM (`ICMPEcho.open`).
        case .icmp: ["AF_INET", "SOCK_RAW", "IPPROTO_ICMP"]
        case .icmp6: ["AF_INET6", "SOCK_RAW", "IPPROTO_ICMPV6"]
        }
    }
}

/// One system call on a step-mode socket (or `accept` on any manual-accept listener).
/// Calls out of order are allowed: the kernel's real answer is the lesson.
public enum StepCall: Hashable, Sendable {
    /// What `recv ID` reads at most when N is not given, and the largest N.
    public static let recvDefaultBytes = 4096

    case socket(StepSocketKind)
    case bind(SocketID, Endpoint)
    case listen(SocketID, backlog: Int)
    case accept(SocketID)
    case connect(SocketID, Endpoint)
    case send(SocketID, [UInt8])
    case recv(SocketID, maxBytes: Int)
    case shutdown(SocketID, ShutdownDirection)
    case close(SocketID)
    /// `sendto S1 ADDR TEXT` on a step datagram socket: one datagram to that address.
    case sendTo(SocketID, Endpoint, [UInt8])

    public var socket: SocketID? {
        switch self {
        case .socket: nil
        case .bind(let id, _), .listen(let id, _), .accept(let id), .connect(let id, _), .send(let id, _),
             .recv(let id, _), .shutdown(let id, _), .close(let id), .sendTo(let id, _, _):
            id
        }
    }
}

/// Orders for the lab side of the engine.
public enum LabCommand: Hashable, Sendable {
    case step(StepCall)
    /// `listen ... --manual-accept`: a listener that accepts one client per `accept`.
    case manualListen(ListenRequest)
    /// The system view is shown (refresh the machine's socket table while it is) or hidden (stop).
    case systemView(visible: Bool)
    /// `lab NAME`: run one of the labs; answered when it has ended (one at a time).
    case experiment(ExperimentName)
}

/// Where a step-mode socket is in its life, as sockscope tracks it (a bound, not
/// listening TCP socket is invisible to `ss` and /proc, so the kernel cannot tell us).
public enum StepPhase: String, Hashable, Sendable {
    case created, bound, listening, connecting, connected, failed, closed

    public var explanation: String {
        switch self {
        case .created: "a socket with no address yet (the kernel calls it CLOSE)"
        case .bound: "bound to a local address; not listening, not connected (ss cannot see it)"
        case .listening: "listening: clients that connect wait in the accept queue until accept"
        case .connecting: "connecting: SYN sent, waiting for the peer's SYN-ACK"
        case .connected: "connected: data can flow both ways"
        case .failed: "the last connect failed; the socket is still open (close it, or connect again)"
        case .closed: "closed: the file descriptor is gone"
        }
    }
}

/// A system call and the kernel's answer, as `strace` would show it.
public struct SyscallRecord: Hashable, Sendable {
    public var call: String
    public var arguments: [String]
    /// The return value: 0, a new fd, a byte count, or -1 with `errno`.
    public var result: Int
    public var errno: Int32?
    /// The step socket's phase after the call.
    public var phase: StepPhase
    public var transport: TransportProtocol
    /// The kernel's TCP state right after the call (TCP_INFO), for TCP sockets.
    public var kernelState: TCPState?
    /// getsockname / getpeername after the call, when they say something.
    public var local: SocketEndpoint?
    public var remote: SocketEndpoint?
    /// Bytes sent or received by this call (a preview) for send and recv.
    public var data: [UInt8]?
    /// A short remark the engine adds: "waiting for a client", "SO_ERROR after the handshake".
    public var note: String?
    /// The ICMP message an ICMP step socket's sendto built or recvfrom read, decoded.
    public var icmp: ICMPMessage?
    /// Shown instead of the number when the result is better named: `accept(7) = C3`.
    public var resultText: String?

    public init(call: String, arguments: [String], result: Int, errno: Int32? = nil, phase: StepPhase,
                transport: TransportProtocol, kernelState: TCPState? = nil, local: SocketEndpoint? = nil,
                remote: SocketEndpoint? = nil, data: [UInt8]? = nil, note: String? = nil) {
        self.call = call
        self.arguments = arguments
        self.result = result
        self.errno = errno
        self.phase = phase
        self.transport = transport
        self.kernelState = kernelState
        self.local = local
        self.remote = remote
        self.data = data
        self.note = note
    }

    /// The errno's symbolic name, e.g. `ECONNREFUSED`.
    public var errnoName: String? {
        errno.map { ErrnoCatalog.entry(for: $0)?.name ?? "errno \($0)" }
    }

    /// `bind(7, 127.0.0.1:9000) = 0`, `connect(8, 127.0.0.1:9) = -1 ECONNREFUSED`.
    /// Arguments may come from outside (paths): the caller escapes the line.
    public var text: String {
        let head = "\(call)(\(arguments.joined(separator: ", ")))"
        if let name = errnoName { return "\(head) = -1 \(name)" }
        return "\(head) = \(resultText ?? String(result))"
    }
}

/// What the kernel says about one of our sockets: TCP_INFO while we hold it,
/// /proc/net/tcp for queues and for sockets we have closed but the kernel still keeps.
public struct KernelSample: Hashable, Sendable {
    public var state: TCPState?
    public var rttMicroseconds: Int?
    public var rttVarianceMicroseconds: Int?
    /// Congestion window, in segments.
    public var congestionWindow: Int?
    public var retransmits: Int?
    /// Segments sent and not yet acknowledged.
    public var unackedSegments: Int?
    /// Bytes waiting to go out / not yet read by the program (ss's Send-Q and Recv-Q).
    public var sendQueue: Int?
    public var receiveQueue: Int?
    public var bytesAcked: Int?
    public var bytesReceived: Int?
    /// A listener's accept queue: connections waiting for accept, and its capacity (ss -ltn's Recv-Q / Send-Q).
    public var acceptQueue: Int?
    public var backlog: Int?
    /// The machine-wide counters of /proc/net/netstat that count accept-queue overflow:
    /// every listener of the machine, since boot.
    public var listenOverflows: Int?
    public var listenDrops: Int?
    /// How much those counters grew since this listener opened (still machine-wide: another
    /// program's listener overflowing at the same time counts too).
    public var listenOverflowsSinceOpen: Int?
    public var listenDropsSinceOpen: Int?
    /// Seconds left on the kernel's timer for the socket (TIME-WAIT's countdown), when one runs.
    public var timerSeconds: Double?
    /// True when the socket is closed on our side and the kernel still holds it (TIME-WAIT...).
    public var lingering = false
    /// True when the kernel no longer knows the socket at all.
    public var gone = false
    /// The state, the accept queue or the socket's presence changed since the last sample:
    /// worth a line of headless output (round-trip times and countdowns alone are not).
    public var isNotable = true

    public init() {}
}

/// One socket of the machine, from /proc/net/{tcp,tcp6,udp,udp6,unix}.
public struct SystemSocket: Hashable, Sendable {
    /// tcp, tcp6, udp, udp6, unix
    public var proto: String
    /// LISTEN, ESTABLISHED... (UDP: UNCONN or ESTAB; UNIX: LISTEN, CONNECTED...).
    public var state: String
    public var receiveQueue: Int
    public var sendQueue: Int
    public var local: SocketEndpoint
    /// Nil where the kernel's table names no peer (UNIX sockets).
    public var remote: SocketEndpoint?
    /// `name (pid)` of the owning process when /proc lets us read it. From outside: escape before showing.
    public var process: String?
    public var inode: UInt64
    /// Ours: owned by this sockscope process.
    public var isOurs: Bool

    public init(proto: String, state: String, receiveQueue: Int, sendQueue: Int, local: SocketEndpoint,
                remote: SocketEndpoint?,
                process: String?, inode: UInt64, isOurs: Bool) {
        self.proto = proto
        self.state = state
        self.receiveQueue = receiveQueue
        self.sendQueue = sendQueue
        self.local = local
        self.remote = remote
        self.process = process
        self.inode = inode
        self.isOurs = isOurs
    }

    public var isListener: Bool { state == "LISTEN" }

    /// The remote address as the system view shows it: `*` for a listener (any peer, as
    /// `ss` writes it), empty where there is none.
    public var remoteText: String { isListener ? "*" : remote?.description ?? "" }
}

/// What the lab side of the engine reports.
public enum LabEvent: Hashable, Sendable {
    /// A step-mode system call and its result.
    case call(SocketID, SyscallRecord)
    /// A fresh sample of the kernel's view of one of our sockets (sent only when it changed).
    case kernel(SocketID, KernelSample)
    /// The machine's sockets, while the system view is shown.
    case system([SystemSocket])
    /// /proc/sys/net/ipv4/ip_local_port_range: where the kernel picks client ports from.
    case portRange(low: Int, high: Int)
    /// A step of a running `lab NAME`: what it did or saw.
    case experiment(ExperimentFinding)

    public var socket: SocketID? {
        switch self {
        case .call(let id, _), .kernel(let id, _): id
        case .system, .portRange, .experiment: nil
        }
    }
}
