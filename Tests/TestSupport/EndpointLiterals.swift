import SockscopeCore

/// Tests write addresses as the app shows them (`"127.0.0.1:\(port)"`, `"[::1]:9000"`,
/// `"/tmp/x.sock"`, `"@name"`, `"(unnamed)"`); each becomes a typed endpoint through the
/// parser people's input goes through, and is compared as a typed value. Text that is not an
/// IP address names a UNIX socket (a leading `@` an abstract one).
extension SocketEndpoint: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral text: String) {
        switch text {
        case "(unnamed)": self = .unnamed
        case "?": self = .unknown
        default:
            // A bare address (`"::1"`, `"10.1.2.3"`, for access rules) has port 0.
            if let endpoint = SocketEndpoint(parsing: text) {
                self = endpoint
            } else if let address = IPv4Address(parsing: text) {
                self = .ipv4(address, port: 0)
            } else if let address = IPv6Address(parsing: text) {
                self = .ipv6(address, port: 0)
            } else {
                self = .unix(text)
            }
        }
    }
}

/// A pattern naming an address held in a String variable: `case .listening(_, .unix, path, _, _)`.
public func ~= (pattern: String, value: SocketEndpoint) -> Bool {
    SocketEndpoint(stringLiteral: pattern) == value
}

extension SocketEndpoint {
    /// Whether the address as shown starts with `prefix` (`"127.0.0.1:"`, `"@"`).
    public func hasPrefix(_ prefix: String) -> Bool { description.hasPrefix(prefix) }

    /// An address held in a String variable, read as a literal would be.
    public init(_ text: String) { self.init(stringLiteral: text) }
}

/// Compares with an address held in a String variable.
public func == (endpoint: SocketEndpoint, text: String) -> Bool {
    endpoint == SocketEndpoint(text)
}
