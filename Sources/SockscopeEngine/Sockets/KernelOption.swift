import Glibc
import NIOCore
import SockscopeCore

/// The socket options `set` and `get` know, as the kernel names them, and how to write and
/// read them back. The value reported is always the kernel's, read after setting: it may
/// differ from what was asked (the kernel doubles buffer sizes, caps them, rounds...).
struct KernelOption {
    /// A failed `setsockopt`/`getsockopt`, already explained.
    struct Failure: Error {
        let failure: SocketFailure
    }

    let name: SockscopeCore.SocketOptionName
    let family: Int32

    init(_ name: SockscopeCore.SocketOptionName, family: Int32) {
        self.name = name
        self.family = family
    }

    /// The C constant, for messages: `TCP_NODELAY`, `IPV6_UNICAST_HOPS`...
    var constantName: String {
        switch name {
        case .nodelay: "TCP_NODELAY"
        case .keepalive: "SO_KEEPALIVE"
        case .reuseaddr: "SO_REUSEADDR"
        case .reuseport: "SO_REUSEPORT"
        case .rcvbuf: "SO_RCVBUF"
        case .sndbuf: "SO_SNDBUF"
        case .linger: "SO_LINGER"
        case .ttl: family == AF_INET6 ? "IPV6_UNICAST_HOPS" : "IP_TTL"
        }
    }

    private var levelAndName: (level: Int32, name: Int32) {
        switch name {
        case .nodelay: (Int32(IPPROTO_TCP), TCP_NODELAY)
        case .keepalive: (SOL_SOCKET, SO_KEEPALIVE)
        case .reuseaddr: (SOL_SOCKET, SO_REUSEADDR)
        case .reuseport: (SOL_SOCKET, SO_REUSEPORT)
        case .rcvbuf: (SOL_SOCKET, SO_RCVBUF)
        case .sndbuf: (SOL_SOCKET, SO_SNDBUF)
        case .linger: (SOL_SOCKET, SO_LINGER)
        case .ttl: family == AF_INET6 ? (Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS) : (Int32(IPPROTO_IP), IP_TTL)
        }
    }

    /// Sets the option, then reads back what the kernel holds.
    func write(_ value: Int, on socket: any SocketOptionAccess) -> EventLoopFuture<Int> {
        if let refusal = refusal(call: "setsockopt") ?? invalid(value) {
            return socket.eventLoop.makeFailedFuture(refusal)
        }
        let (level, optionName) = levelAndName
        let written: EventLoopFuture<Void>
        if name == .linger {
            // -1 turns lingering off; n >= 0 makes close() wait up to n seconds (0: send RST).
            let setting = linger(l_onoff: value >= 0 ? 1 : 0, l_linger: Int32(max(value, 0)))
            written = socket.set(level: level, name: optionName, value: setting)
        } else {
            written = socket.set(level: level, name: optionName, value: Int32(value))
        }
        return written
            .flatMapErrorThrowing { throw explained($0, call: "setsockopt") }
            .flatMap { read(from: socket) }
    }

    func read(from socket: any SocketOptionAccess) -> EventLoopFuture<Int> {
        if let refusal = refusal(call: "getsockopt") {
            return socket.eventLoop.makeFailedFuture(refusal)
        }
        let (level, optionName) = levelAndName
        let value: EventLoopFuture<Int>
        if name == .linger {
            value = socket.get(level: level, name: optionName).map { (setting: linger) in
                setting.l_onoff == 0 ? -1 : Int(setting.l_linger)
            }
        } else {
            value = socket.get(level: level, name: optionName).map { (raw: Int32) in Int(raw) }
        }
        return value.flatMapErrorThrowing { throw explained($0, call: "getsockopt") }
    }

    /// TCP and IP options mean nothing on a UNIX socket; say so instead of the kernel's
    /// bare EOPNOTSUPP.
    private func refusal(call: String) -> Failure? {
        guard family == AF_UNIX, name == .nodelay || name == .ttl else { return nil }
        var failure = SocketFailure.system(call: call, errno: ENOPROTOOPT, target: constantName)
        failure.explanation = "\(constantName) is an IP/TCP option; a UNIX socket has no such option"
        return Failure(failure: failure)
    }

    private func invalid(_ value: Int) -> Failure? {
        let lowest = switch name {
        case .linger, .ttl: -1
        default: 0
        }
        guard value < lowest || value > Int(Int32.max) else { return nil }
        var failure = SocketFailure.system(call: "setsockopt", errno: EINVAL, target: constantName)
        failure.explanation = "\(value) is not a valid value for \(constantName) (\(name.explanation))"
        return Failure(failure: failure)
    }

    private func explained(_ error: any Error, call: String) -> any Error {
        if error is Failure { return error }
        return Failure(failure: SocketFailure.from(error, call: call, target: constantName, namedByNIO: false))
    }
}
