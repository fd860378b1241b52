/// `ping`'s vocabulary: ICMP echo requests to a host and the replies' times.

/// `ping HOST [--count N] [--interval MS] [--timeout MS]`.
public struct PingRequest: Hashable, Sendable {
    public var host: String
    public var count = PingRequest.defaultCount
    /// Between two echo requests.
    public var intervalMilliseconds = PingRequest.defaultIntervalMilliseconds
    /// How long a reply may take before its request counts as lost.
    public var timeoutMilliseconds = PingRequest.defaultTimeoutMilliseconds

    public static let defaultCount = 4
    public static let defaultIntervalMilliseconds = 1000
    public static let defaultTimeoutMilliseconds = 1000
    /// The echo's data after the 8-byte ICMP header, as ping(8) sends: 64 bytes of ICMP in all.
    public static let payloadBytes = 56

    public init(host: String) { self.host = host }
}

/// Which socket sends the echo requests.
public enum PingMethod: String, Hashable, Sendable {
    /// SOCK_RAW: takes CAP_NET_RAW (root); we write the whole ICMP message, and an IPv4
    /// raw socket reads the IP header back (its TTL is shown).
    case raw
    /// SOCK_DGRAM with IPPROTO_ICMP: no capability, but only for groups in
    /// net.ipv4.ping_group_range; the kernel picks the echo's identifier and checks replies.
    case datagram

    public var words: String {
        switch self {
        case .raw: "a raw ICMP socket (SOCK_RAW: allowed with CAP_NET_RAW)"
        case .datagram: "an ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP: allowed by net.ipv4.ping_group_range)"
        }
    }
}

public struct PingStart: Hashable, Sendable {
    public var host: String
    public var address: SocketEndpoint
    public var method: PingMethod
    public var count: Int
    public var intervalMilliseconds: Int
    public var timeoutMilliseconds: Int
    public var payloadBytes: Int

    public init(host: String, address: SocketEndpoint, method: PingMethod, count: Int, intervalMilliseconds: Int,
                timeoutMilliseconds: Int, payloadBytes: Int) {
        self.host = host
        self.address = address
        self.method = method
        self.count = count
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.payloadBytes = payloadBytes
    }
}

/// One echo reply.
public struct PingReply: Hashable, Sendable {
    public var sequence: Int
    public var from: SocketEndpoint
    /// The ICMP message's size (header and data), as ping(8) counts it.
    public var bytes: Int
    /// The IP header's time to live, where the socket shows it (an IPv4 raw socket).
    public var ttl: Int?
    public var rttMicroseconds: Int

    public init(sequence: Int, from: SocketEndpoint, bytes: Int, ttl: Int?, rttMicroseconds: Int) {
        self.sequence = sequence
        self.from = from
        self.bytes = bytes
        self.ttl = ttl
        self.rttMicroseconds = rttMicroseconds
    }
}

public struct PingSummary: Hashable, Sendable {
    public var address: SocketEndpoint
    public var sent: Int
    public var received: Int
    /// Round-trip times of the replies (nil when none came).
    public var minimumMicroseconds: Int?
    public var averageMicroseconds: Int?
    public var maximumMicroseconds: Int?
    public var elapsedMicroseconds: Int
    public var stopped: Bool

    public init(address: SocketEndpoint, sent: Int, received: Int, minimumMicroseconds: Int?, averageMicroseconds: Int?,
                maximumMicroseconds: Int?, elapsedMicroseconds: Int, stopped: Bool) {
        self.address = address
        self.sent = sent
        self.received = received
        self.minimumMicroseconds = minimumMicroseconds
        self.averageMicroseconds = averageMicroseconds
        self.maximumMicroseconds = maximumMicroseconds
        self.elapsedMicroseconds = elapsedMicroseconds
        self.stopped = stopped
    }

    /// Lost requests, in percent of those sent (0 when none was sent).
    public var lossPercent: Int { sent == 0 ? 0 : (sent - received) * 100 / sent }
}

public enum PingEvent: Hashable, Sendable {
    case started(PingStart)
    case reply(PingReply)
    /// No reply to `sequence` within the timeout.
    case lost(sequence: Int, waitedMilliseconds: Int)
    case finished(PingSummary)
}

extension PingMethod {
    /// Why no echo can be sent: neither socket may be opened. Names both ways to be allowed.
    /// `groupRange`: /proc/sys/net/ipv4/ping_group_range as read (nil: unreadable).
    public static func neitherAllowed(rawErrno: String, datagramErrno: String, groupRange: String?) -> String {
        let bounds = groupRange?.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) } ?? []
        let range = bounds.count == 2 ? "\(bounds[0]) \(bounds[1])" : "unreadable"
        let admits = bounds.count == 2 && bounds[0] > bounds[1] ? ", which admits no group" : ", which does not hold your group"
        return "ping may use neither socket: a raw ICMP socket (SOCK_RAW: \(rawErrno)) needs CAP_NET_RAW: run as root, "
            + "or give the binary the capability (setcap cap_net_raw+ep PATH); an ICMP datagram socket "
            + "(SOCK_DGRAM, IPPROTO_ICMP: \(datagramErrno)) needs your group in net.ipv4.ping_group_range, now \"\(range)\""
            + "\(admits): sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" admits every group"
    }
}
