/// The transport a socket speaks.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
    /// `unix` is a UNIX stream socket, `unixgram` a UNIX datagram socket; `icmp` is step mode's
    /// ICMP socket (`socket raw icmp`), whose addresses have no port.
    case tcp, udp, unix, unixgram, icmp

    public var label: String { rawValue }

    public var isDatagram: Bool { self == .udp || self == .unixgram }

    public var isUnix: Bool { self == .unix || self == .unixgram }
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

    /// `tcp://127.0.0.1:9000`, `tcp://[::1]:9000`, `unix:/tmp/s`; an ICMP address is its host alone.
    public var description: String {
        switch self {
        case .inet(.icmp, let host, _): host
        case .inet(let transport, let host, let port): Self.scheme(of: transport) + AddressText.hostPort(host, port)
        case .unix(let path), .unixDatagram(let path): Self.scheme(of: transport) + path
        }
    }

    /// What comes before the address: `tcp://`, `udp://`, `unix:`, `unixgram:`.
    public static func scheme(of transport: TransportProtocol) -> String {
        transport.isUnix ? transport.label + ":" : transport.label + "://"
    }

    /// The address that listens on every interface rather than loopback.
    public var isAllInterfaces: Bool {
        if case .inet(_, let host, _) = self { return AddressText.isAllInterfaces(host) }
        return false
    }
}

/// Hosts and ports as the user wrote them (names included); a socket's actual address is a
/// `SocketEndpoint`, formatted there.
public enum AddressText {
    /// `host:port`, with IPv6 literals in brackets.
    public static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The host of `host:port` or `[v6]:port` (the brackets removed); nil without a port.
    public static func host(ofHostPort text: String) -> String? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") { return String(text[text.index(after: text.startIndex)..<close]) }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        return String(text[..<colon])
    }

    /// A host that asks for every interface: `0.0.0.0`, `::` or `*`.
    public static func isAllInterfaces(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "*"
    }
}
