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

/// An ICMP message as read off (or written to) an ICMP socket, decoded: step mode's
/// `sendto`/`recvfrom` on `socket raw icmp` show it field by field.
public struct ICMPMessage: Hashable, Sendable {
    public var isIPv6: Bool
    public var type: Int
    public var code: Int
    public var checksum: Int
    /// The echo's identifier and sequence number (the header's second word, for any type).
    public var identifier: Int
    public var sequence: Int
    /// The data after the 8-byte header: a preview (`DataPreview.limit`), and its whole length.
    public var payload: [UInt8]
    public var payloadCount: Int
    /// The IPv4 header an IPv4 raw socket reads before the message (nil on other sockets).
    public var ipHeader: IPv4HeaderSummary?

    public init(isIPv6: Bool, type: Int, code: Int, checksum: Int, identifier: Int, sequence: Int, payload: [UInt8],
                payloadCount: Int, ipHeader: IPv4HeaderSummary? = nil) {
        self.isIPv6 = isIPv6
        self.type = type
        self.code = code
        self.checksum = checksum
        self.identifier = identifier
        self.sequence = sequence
        self.payload = payload
        self.payloadCount = payloadCount
        self.ipHeader = ipHeader
    }

    public var isEchoRequest: Bool { type == (isIPv6 ? 128 : 8) }
    public var isEchoReply: Bool { type == (isIPv6 ? 129 : 0) }

    /// `echo reply`, `destination unreachable`...: the type's name (RFC 792, RFC 4443).
    public var typeName: String {
        let names: [Int: String] = isIPv6
            ? [1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem",
               128: "echo request", 129: "echo reply"]
            : [0: "echo reply", 3: "destination unreachable", 5: "redirect", 8: "echo request", 11: "time exceeded",
               12: "parameter problem"]
        return names[type] ?? "type \(type)"
    }

    /// `echo reply (type 0, code 0), id 4660, seq 1, 5 B of data "hello"`: the data escaped.
    public var words: String {
        let data = payloadCount == 0 ? "no data"
            : "\(payloadCount) B of data \(CommandText.quoted(payload))\(payloadCount > payload.count ? "..." : "")"
        return "\(typeName) (type \(type), code \(code)), id \(identifier), seq \(sequence), \(data)"
    }
}

/// The fields of an IPv4 header worth showing a learner.
public struct IPv4HeaderSummary: Hashable, Sendable {
    public var headerBytes: Int
    public var totalLength: Int
    public var ttl: Int
    public var protocolNumber: Int
    public var source: String
    public var destination: String

    public init(headerBytes: Int, totalLength: Int, ttl: Int, protocolNumber: Int, source: String, destination: String) {
        self.headerBytes = headerBytes
        self.totalLength = totalLength
        self.ttl = ttl
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
    }

    /// `IPv4 header 20 B: 127.0.0.1 -> 127.0.0.1, ttl 64, protocol 1 (ICMP), 33 B in all`.
    public var words: String {
        let name = protocolNumber == 1 ? " (ICMP)" : ""
        return "IPv4 header \(headerBytes) B: \(source) -> \(destination), ttl \(ttl), protocol \(protocolNumber)\(name), "
            + "\(totalLength) B in all"
    }
}
