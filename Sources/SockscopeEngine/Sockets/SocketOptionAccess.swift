import Glibc
import NIOCore

/// Reads and writes raw socket options of one open socket. Call on the socket's event loop;
/// failures are `IOError`s carrying the kernel's errno.
protocol SocketOptionAccess: Sendable {
    var eventLoop: any EventLoop { get }
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`: which options apply, and which level `ttl` lives at.
    var addressFamily: Int32 { get }
    func set<Value: Sendable>(level: Int32, name: Int32, value: Value) -> EventLoopFuture<Void>
    func get<Value: Sendable>(level: Int32, name: Int32) -> EventLoopFuture<Value>
}

/// A NIO channel's options, through NIO's `SocketOptionProvider` (NIO does not hand out the fd).
struct ChannelOptionAccess: SocketOptionAccess {
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }

    var addressFamily: Int32 {
        switch channel.localAddress {
        case .v6?: AF_INET6
        case .unixDomainSocket?: AF_UNIX
        case .v4?, nil: AF_INET
        }
    }

    func set<Value: Sendable>(level: Int32, name: Int32, value: Value) -> EventLoopFuture<Void> {
        guard let provider = channel as? any SocketOptionProvider else { return unsupported() }
        return provider.unsafeSetSocketOption(level: NIOBSDSocket.OptionLevel(rawValue: level),
                                              name: NIOBSDSocket.Option(rawValue: name), value: value)
    }

    func get<Value: Sendable>(level: Int32, name: Int32) -> EventLoopFuture<Value> {
        guard let provider = channel as? any SocketOptionProvider else { return unsupported() }
        return provider.unsafeGetSocketOption(level: NIOBSDSocket.OptionLevel(rawValue: level),
                                              name: NIOBSDSocket.Option(rawValue: name))
    }

    private func unsupported<T>() -> EventLoopFuture<T> {
        channel.eventLoop.makeFailedFuture(IOError(errnoCode: EOPNOTSUPP, reason: "setsockopt"))
    }
}

/// Options of a descriptor the engine owns itself (UNIX datagram sockets): plain syscalls.
struct DescriptorOptionAccess: SocketOptionAccess {
    let descriptor: CInt
    let eventLoop: any EventLoop
    var addressFamily: Int32 { AF_UNIX }

    func set<Value: Sendable>(level: Int32, name: Int32, value: Value) -> EventLoopFuture<Void> {
        let result = withUnsafeBytes(of: value) { setsockopt(descriptor, level, name, $0.baseAddress, socklen_t($0.count)) }
        return result == 0 ? eventLoop.makeSucceededVoidFuture()
            : eventLoop.makeFailedFuture(IOError(errnoCode: errno, reason: "setsockopt"))
    }

    func get<Value: Sendable>(level: Int32, name: Int32) -> EventLoopFuture<Value> {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Value>.size,
                                                       alignment: MemoryLayout<Value>.alignment)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Value>.size)
        var length = socklen_t(MemoryLayout<Value>.size)
        guard getsockopt(descriptor, level, name, storage, &length) == 0 else {
            return eventLoop.makeFailedFuture(IOError(errnoCode: errno, reason: "getsockopt"))
        }
        return eventLoop.makeSucceededFuture(storage.load(as: Value.self))
    }
}
