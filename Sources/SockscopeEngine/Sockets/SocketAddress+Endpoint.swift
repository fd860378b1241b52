import Glibc
import NIOCore
import SockscopeCore

/// The kernel's socket addresses as typed endpoints, in one place: from NIO's
/// `SocketAddress` (channels) and from a raw `sockaddr` with its length (step mode,
/// UNIX datagram sockets). Bytes are copied; nothing is formatted or parsed.
extension SocketEndpoint {
    init(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4)?:
            self = .ipv4(IPv4Address(UInt32(bigEndian: v4.address.sin_addr.s_addr)),
                         port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6)?:
            self = .ipv6(Self.ipv6Address(v6.address.sin6_addr), port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket(let unix)?:
            // NIO keeps no length: a path ends at its NUL, and an abstract name's trailing NULs
            // are taken as padding.
            self = withUnsafeBytes(of: unix.address.sun_path) { raw in
                if raw.first == 0 {
                    let name = raw.dropFirst().reversed().drop { $0 == 0 }.reversed()
                    return name.isEmpty ? .unnamed : .unixAbstract(Array(name))
                }
                return .unixPath(Array(raw.prefix { $0 != 0 }))
            }
        case nil:
            self = .unknown
        }
    }

    /// From `length` bytes of a socket address as the kernel wrote them (getsockname,
    /// getpeername, recvfrom). A UNIX address's length says exactly how long its name is.
    init(kernel address: UnsafeRawBufferPointer) {
        guard address.count >= MemoryLayout<sa_family_t>.size else {
            self = .unnamed
            return
        }
        let family = Int32(address.loadUnaligned(as: sa_family_t.self))
        switch family {
        case AF_INET where address.count >= MemoryLayout<sockaddr_in>.size:
            let sin = address.loadUnaligned(as: sockaddr_in.self)
            self = .ipv4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6 where address.count >= MemoryLayout<sockaddr_in6>.size:
            let sin6 = address.loadUnaligned(as: sockaddr_in6.self)
            self = .ipv6(Self.ipv6Address(sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port))
        case AF_UNIX:
            let name = address[MemoryLayout<sa_family_t>.size...]
            if name.isEmpty {
                self = .unnamed
            } else if name.first == 0 {
                self = .unixAbstract(Array(name.dropFirst()))
            } else {
                self = .unixPath(Array(name.prefix { $0 != 0 }))
            }
        default:
            self = .unknown
        }
    }

    private static func ipv6Address(_ address: in6_addr) -> IPv6Address {
        withUnsafeBytes(of: address) { IPv6Address(bytes: $0) }
    }
}
