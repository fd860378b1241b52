/// The transport a socket speaks.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
    case tcp, udp, unix

    public var label: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .unix: "unix"
        }
    }
}

/// Where to listen or connect, as the user wrote it (names are resolved by the engine).
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    case inet(TransportProtocol, host: String, port: Int)
    case unix(path: String)

    public var transport: TransportProtocol {
        switch self {
        case .inet(let transport, _, _): transport
        case .unix: .unix
        }
    }

    /// `tcp://127.0.0.1:9000`, `tcp://[::1]:9000`, `unix:/tmp/s`.
    public var description: String {
        switch self {
        case .inet(let transport, let host, let port):
            "\(transport.label)://\(AddressText.hostPort(host, port))"
        case .unix(let path):
            "unix:\(path)"
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

    public static func isAllInterfaces(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "*"
    }

    /// True for a bound address such as `0.0.0.0:9000` or `[::]:9000`: reachable from the network.
    public static func isAllInterfaces(address: String) -> Bool {
        address.hasPrefix("0.0.0.0:") || address.hasPrefix("[::]:")
    }
}
