import CSystemShim
import Glibc
import NIOCore
import SockscopeCore

/// Plain system calls on a file descriptor, for step mode: each returns the
/// kernel's answer as it is (result and errno), never throwing.
enum RawSocket {
    struct Answer {
        var result: Int
        var errno: Int32?

        static func of(_ result: Int) -> Answer {
            result < 0 ? Answer(result: -1, errno: Glibc.errno) : Answer(result: result, errno: nil)
        }
    }

    /// A socket address in kernel form.
    struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }

        /// The typed endpoint the kernel form stands for.
        var endpoint: SocketEndpoint {
            withUnsafeBytes(of: storage) { SocketEndpoint(kernel: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
        }

        init() {}

        /// The kernel form of an IP endpoint or a UNIX name (nil for one too long, or for no name).
        init?(_ endpoint: SocketEndpoint) {
            switch endpoint {
            case .ipv4(let address, let port):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr.s_addr = address.value.bigEndian
                withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: &sin) { target.copyMemory(from: $0) } }
                length = socklen_t(MemoryLayout<sockaddr_in>.size)
            case .ipv6(let address, let port):
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) {
                    $0.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
                withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: &sin6) { target.copyMemory(from: $0) } }
                length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            case .unixPath(let bytes):
                guard let unix = RawSocket.unixAddress(bytes, abstract: false) else { return nil }
                self = unix
            case .unixAbstract(let bytes):
                guard let unix = RawSocket.unixAddress(bytes, abstract: true) else { return nil }
                self = unix
            case .unnamed, .unknown:
                return nil
            }
        }
    }

    static func family(of kind: StepSocketKind) -> Int32 {
        switch kind {
        case .tcp, .udp, .icmp: AF_INET
        case .tcp6, .udp6, .icmp6: AF_INET6
        case .unix: AF_UNIX
        }
    }

    static func type(of kind: StepSocketKind) -> Int32 {
        kind.transport == .udp ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
    }

    /// A non-blocking, close-on-exec socket: the engine's loop must never block on it.
    static func socket(family: Int32, type: Int32) -> Answer {
        .of(Int(Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)))
    }

    static func bind(_ fd: CInt, _ address: Address) -> Answer {
        var address = address
        return .of(Int(withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, address.length) }
        }))
    }

    static func connect(_ fd: CInt, _ address: Address) -> Answer {
        var address = address
        return .of(Int(withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }))
    }

    static func listen(_ fd: CInt, backlog: Int) -> Answer {
        .of(Int(Glibc.listen(fd, Int32(clamping: backlog))))
    }

    /// The accepted socket is non-blocking and close-on-exec, like every socket we make.
    static func accept(_ fd: CInt) -> Answer {
        // accept4 is not in Swift's Glibc module (it needs _GNU_SOURCE): set the flags after.
        let answer = Answer.of(Int(Glibc.accept(fd, nil, nil)))
        if answer.errno == nil {
            let accepted = CInt(answer.result)
            _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
            _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
        }
        return answer
    }

    static func send(_ fd: CInt, _ bytes: [UInt8]) -> Answer {
        .of(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) })
    }

    static func recv(_ fd: CInt, maxBytes: Int) -> (Answer, [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        let answer = Answer.of(count)
        return (answer, count > 0 ? Array(buffer.prefix(count)) : [])
    }

    static func sendTo(_ fd: CInt, _ bytes: [UInt8], _ address: Address) -> Answer {
        var address = address
        return .of(bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, address.length)
                }
            }
        })
    }

    /// One datagram and its sender. With MSG_TRUNC the result is the datagram's whole length,
    /// larger than `maxBytes` when the rest was cut off.
    static func recvFrom(_ fd: CInt, maxBytes: Int) -> (Answer, [UInt8], SocketEndpoint?) {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var address = Address()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_TRUNC), $0, &address.length)
                }
            }
        }
        let answer = Answer.of(count)
        guard count >= 0 else { return (answer, [], nil) }
        return (answer, Array(buffer.prefix(min(count, maxBytes))), address.endpoint)
    }

    static func shutdown(_ fd: CInt, _ direction: ShutdownDirection) -> Answer {
        let how = switch direction {
        case .read: Int32(SHUT_RD)
        case .write: Int32(SHUT_WR)
        case .both: Int32(SHUT_RDWR)
        }
        return .of(Int(Glibc.shutdown(fd, how)))
    }

    static func close(_ fd: CInt) -> Answer {
        .of(Int(Glibc.close(fd)))
    }

    static func setReuseAddress(_ fd: CInt) {
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// TCP_NODELAY: each write leaves at once instead of waiting (Nagle) for earlier data's ACK.
    static func setNoDelay(_ fd: CInt, _ on: Bool) -> Answer {
        var value: Int32 = on ? 1 : 0
        return .of(Int(setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, socklen_t(MemoryLayout<Int32>.size))))
    }

    /// SO_LINGER {on, 0 s}: close then drops what is unsent and sends RST instead of FIN.
    static func setLingerZero(_ fd: CInt) -> Answer {
        var value = linger(l_onoff: 1, l_linger: 0)
        return .of(Int(setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))))
    }

    static func setReuseAddress(_ fd: CInt, _ on: Bool) -> Answer {
        var value: Int32 = on ? 1 : 0
        return .of(Int(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, socklen_t(MemoryLayout<Int32>.size))))
    }

    /// SO_ERROR: the outcome of a non-blocking connect once the socket is writable.
    static func pendingError(_ fd: CInt) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return Glibc.errno }
        return value
    }

    /// Whether a non-blocking connect has finished (the socket became writable or failed).
    static func isWritable(_ fd: CInt) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents != 0
    }

    static func tcpInfo(_ fd: CInt) -> sockscope_tcp_info? {
        var info = sockscope_tcp_info()
        return sockscope_tcp_info_read(fd, &info) == 0 ? info : nil
    }

    /// Whether a connected TCP socket is connected to itself: its local address and port are
    /// the ones it connected to. On loopback the kernel may pick the very port being
    /// connected to as the ephemeral port, and then the two ends of a "simultaneous open"
    /// are one socket: the connect succeeds with nothing listening there.
    static func isConnectedToItself(_ fd: CInt) -> Bool {
        guard let local = localAddress(fd), let remote = remoteAddress(fd) else { return false }
        return local == remote
    }

    static func localAddress(_ fd: CInt) -> SocketEndpoint? {
        name(of: fd, getName: getsockname)
    }

    static func remoteAddress(_ fd: CInt) -> SocketEndpoint? {
        name(of: fd, getName: getpeername)
    }

    /// getsockname or getpeername as a typed endpoint; nil when the kernel says there is none.
    private static func name(of fd: CInt,
                             getName: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32)
        -> SocketEndpoint?
    {
        var address = Address()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getName(fd, $0, &address.length) }
        }
        guard result == 0 else { return nil }
        return withUnsafeBytes(of: &address.storage) {
            SocketEndpoint(kernel: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(address.length))))
        }
    }

    /// The kernel form of an endpoint, for a socket of `family`. IP literals only
    /// (and `localhost`): step mode shows single calls, not name resolution.
    static func address(_ endpoint: Endpoint, family: Int32) -> Result<Address, SocketFailure> {
        switch endpoint {
        case .inet(_, let host, let port):
            // `*` and `localhost` stand for the wildcard and loopback addresses of the socket's family.
            let ipv6 = family == AF_INET6
            let typed: SocketEndpoint? = UInt16(exactly: port).flatMap { port in
                switch host {
                case "*": .wildcard(ipv6: ipv6, port: port)
                case "localhost": .loopback(ipv6: ipv6, port: port)
                default: IPv4Address(parsing: host).map { .ipv4($0, port: port) }
                    ?? IPv6Address(parsing: host).map { .ipv6($0, port: port) }
                }
            }
            guard let typed, let address = Address(typed) else {
                return .failure(SocketFailure(call: "bind", explanation: "step mode takes IP addresses such as 127.0.0.1 or ::1, not names",
                                              target: endpoint.description))
            }
            return .success(address)
        case .unix(let path), .unixDatagram(let path):
            return unixAddress(path).map(Result.success)
                ?? .failure(SocketFailure(call: "bind", errno: ENAMETOOLONG, code: "ENAMETOOLONG",
                                          explanation: "UNIX socket paths hold at most 107 bytes", target: path))
        }
    }

    static func address(_ address: SocketAddress) -> Address {
        var result = Address()
        switch address {
        case .v4(let v4):
            var sin = v4.address
            withUnsafeMutableBytes(of: &result.storage) { target in
                withUnsafeBytes(of: &sin) { target.copyMemory(from: $0) }
            }
            result.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let v6):
            var sin6 = v6.address
            withUnsafeMutableBytes(of: &result.storage) { target in
                withUnsafeBytes(of: &sin6) { target.copyMemory(from: $0) }
            }
            result.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        case .unixDomainSocket:
            return unixAddress(address.pathname ?? "") ?? result
        }
        return result
    }

    /// `sockaddr_un` for a path; a leading `@` names an abstract socket (leading NUL, no file).
    static func unixAddress(_ path: String) -> Address? {
        Address(.unix(path))
    }

    /// `sockaddr_un` for a path's bytes, or an abstract name's (after a leading NUL).
    static func unixAddress(_ name: [UInt8], abstract: Bool) -> Address? {
        let bytes = abstract ? [0] + name : name
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard bytes.count < capacity || (abstract && bytes.count <= capacity) else { return nil }
        var result = Address()
        let pathOffset = MemoryLayout<sa_family_t>.size
        withUnsafeMutableBytes(of: &result.storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_UNIX), as: sa_family_t.self)
            for (index, byte) in bytes.enumerated() { raw[pathOffset + index] = byte }
        }
        result.length = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
        return result
    }
}
