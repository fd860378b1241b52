import Glibc
import NIOCore
import NIOPosix
import SockscopeCore

/// Turns host names into socket addresses without blocking an event loop:
/// IP literals are parsed at once, names go to `getaddrinfo` on NIO's blocking-I/O thread pool.
struct HostResolver: Sendable {
    enum SocketKind: Sendable {
        case stream, datagram
    }

    private let pool: NIOThreadPool

    init(pool: NIOThreadPool = .singleton) {
        self.pool = pool
    }

    /// Every address for `host`, in `getaddrinfo`'s preference order. Fails with `ResolutionFailure`.
    func resolve(host: String, port: Int, kind: SocketKind, on loop: EventLoop) -> EventLoopFuture<[SocketAddress]> {
        let host = AddressText.isAllInterfaces(host) && host != "::" ? "0.0.0.0" : host
        if let literal = try? SocketAddress(ipAddress: host, port: port) {
            return loop.makeSucceededFuture([literal])
        }
        return pool.runIfActive(eventLoop: loop) {
            try Self.lookUp(host: host, port: port, kind: kind)
        }
    }

    /// Every answer `getaddrinfo` gives for `host` (both families, stream and datagram), in
    /// its order, for `resolve`. Even IP literals go through `getaddrinfo`, as a learner expects.
    func resolveEverything(host: String, on loop: EventLoop) -> EventLoopFuture<[ResolvedAddress]> {
        pool.runIfActive(eventLoop: loop) { try Self.lookUpEverything(host: host) }
    }

    /// Blocking; call only off the event loops.
    static func lookUpEverything(host: String) throws -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, nil, &hints, &list)
        guard code == 0 else {
            throw ResolutionFailure(host: host, code: code, systemErrno: code == ResolutionFailure.eaiSystem ? errno : 0)
        }
        defer { freeaddrinfo(list) }

        var answers: [ResolvedAddress] = []
        var next = list
        while let info = next?.pointee {
            next = info.ai_next
            // Raw sockets (SOCK_RAW) are listed too; sockscope opens only these two kinds.
            let type: String
            switch info.ai_socktype {
            case Int32(SOCK_STREAM.rawValue): type = "stream"
            case Int32(SOCK_DGRAM.rawValue): type = "datagram"
            default: continue
            }
            guard let raw = info.ai_addr else { continue }
            let address: SocketAddress
            switch info.ai_family {
            case AF_INET:
                address = SocketAddress(raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }, host: host)
            case AF_INET6:
                address = SocketAddress(raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }, host: host)
            default:
                continue
            }
            let answer = ResolvedAddress(family: info.ai_family == AF_INET6 ? "IPv6" : "IPv4", type: type,
                                         address: address.ipAddress ?? "?")
            if !answers.contains(answer) { answers.append(answer) }
        }
        return answers
    }

    /// Blocking `getaddrinfo`; call only off the event loops.
    static func lookUp(host: String, port: Int, kind: SocketKind) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(kind == .stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, nil, &hints, &list)
        guard code == 0 else {
            throw ResolutionFailure(host: host, code: code, systemErrno: code == ResolutionFailure.eaiSystem ? errno : 0)
        }
        defer { freeaddrinfo(list) }

        var addresses: [SocketAddress] = []
        var next = list
        while let info = next?.pointee {
            next = info.ai_next
            guard let raw = info.ai_addr else { continue }
            let address: SocketAddress
            switch info.ai_family {
            case AF_INET:
                var inet = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                inet.sin_port = in_port_t(truncatingIfNeeded: port).bigEndian
                address = SocketAddress(inet, host: host)
            case AF_INET6:
                var inet6 = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                inet6.sin6_port = in_port_t(truncatingIfNeeded: port).bigEndian
                address = SocketAddress(inet6, host: host)
            default:
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else {
            throw ResolutionFailure(host: host, code: ResolutionFailure.eaiNoData, systemErrno: 0)
        }
        return addresses
    }
}
