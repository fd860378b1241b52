/// The transport a socket speaks.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
    /// `unix` is a UNIX stream socket, `unixgram` a UNIX datagram socket.
    case tcp, udp, unix, unixgram

    public var label: String { rawValue }

    public var isDatagram: Bool { self == .udp || self == .unixgram }
}

/// Where to listen or connect, as the user wrote it (names are resolved by the engine).
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    case inet(TransportProtocol, host: String, port: Int)
    /// A UNIX stream socket; a path starting with `@` is an abstract name.
    case unix(path: String)
    /// A UNIX datagram socket; a path starting with `@` is an abstract name.
    case unixDatagram(path: String)

    public var transport: TransportProtocol {
        switch self {
        case .inet(let transport, _, _): transport
        case .unix: .unix
        case .unixDatagram: .unixgram
        }
    }

    /// `tcp://127.0.0.1:9000`, `tcp://[::1]:9000`, `unix:/tmp/s`.
    public var description: String {
        switch self {
        case .inet(let transport, let host, let port):
            "\(transport.label)://\(AddressText.hostPort(host, port))"
        case .unix(let path):
            "unix:\(path)"
        case .unixDatagram(let path):
            "unixgram:\(path)"
        }
    }

    /// The address that listens on every interface rather than loopback.
    public var isAllInterfaces: Bool {
        if case .inet(_, let host, _) = self { return AddressText.isAllInterfaces(host) }
        return false
    }
}

/// Formatting of socket addresses, shared by every pane and output format.
public enum AddressText {
    /// `host:port`, with IPv6 literals in brackets.
    public static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `a.b.c.d:port` from an IPv4 address as `sin_addr.s_addr` holds it (network order:
    /// first octet first in memory), written as bytes. Both ends of every accepted
    /// connection are named this way; inet_ntop's text interpolated cost ~5 000
    /// instructions per address.
    public static func hostPort(ipv4 address: UInt32, _ port: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(21)  // 255.255.255.255:65535
        withUnsafeBytes(of: address) { octets in
            for (index, octet) in octets.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ".")) }
                ASCIIText.appendDecimal(Int(octet), to: &out)
            }
        }
        out.append(UInt8(ascii: ":"))
        ASCIIText.appendDecimal(port, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func isAllInterfaces(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "*"
    }

    /// True for a bound address such as `0.0.0.0:9000` or `[::]:9000`: reachable from the network.
    public static func isAllInterfaces(address: String) -> Bool {
        address.hasPrefix("0.0.0.0:") || address.hasPrefix("[::]:")
    }
}
