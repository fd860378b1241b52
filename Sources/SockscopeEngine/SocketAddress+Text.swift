import Glibc
import NIOCore
import SockscopeCore

extension SocketAddress {
    /// `127.0.0.1:9000`, `[::1]:9000`, or a UNIX socket's path (`(unnamed)` for an unbound client).
    var displayText: String {
        switch self {
        case .v4(let address):
            AddressText.hostPort(ipv4: address.address.sin_addr.s_addr, port ?? 0)
        case .v6:
            AddressText.hostPort(ipAddress ?? "?", port ?? 0)
        case .unixDomainSocket(let unix):
            pathname.flatMap { $0.isEmpty ? nil : $0 } ?? Self.abstractName(unix.address) ?? "(unnamed)"
        }
    }

    /// `@name` for an abstract-namespace address (sun_path starts with NUL). NIO keeps no
    /// length, so trailing NULs are taken as padding.
    static func abstractName(_ address: sockaddr_un) -> String? {
        withUnsafeBytes(of: address.sun_path) { raw -> String? in
            guard raw.first == 0 else { return nil }
            let name = raw.dropFirst().reversed().drop { $0 == 0 }.reversed()
            return name.isEmpty ? nil : "@" + String(decoding: name, as: UTF8.self)
        }
    }
}

extension Optional where Wrapped == SocketAddress {
    var displayText: String { self?.displayText ?? "?" }
}
