import NIOCore
import SockscopeCore

extension SocketAddress {
    /// `127.0.0.1:9000`, `[::1]:9000`, or a UNIX socket's path (`(unnamed)` for an unbound client).
    var displayText: String {
        switch self {
        case .v4, .v6:
            AddressText.hostPort(ipAddress ?? "?", port ?? 0)
        case .unixDomainSocket:
            pathname.flatMap { $0.isEmpty ? nil : $0 } ?? "(unnamed)"
        }
    }
}

extension Optional where Wrapped == SocketAddress {
    var displayText: String { self?.displayText ?? "?" }
}
