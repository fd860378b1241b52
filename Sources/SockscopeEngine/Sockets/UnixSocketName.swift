import Glibc
import NIOCore
import SockscopeCore

/// A UNIX socket's name as the user wrote it: a filesystem path, or, with a leading `@`,
/// a name in Linux's abstract namespace (no file; gone when the last socket closes).
///
/// NIO always passes the full `sizeof(sockaddr_un)` as the address length. That is harmless
/// for paths (the kernel stops at the NUL) but wrong for abstract names, whose every byte up
/// to the length counts: `@name` bound by Python or socat would never match. So sockets
/// with abstract names are made, bound and connected here with the exact length, and then
/// handed to NIO (or to `UnixDatagramSocket`).
struct UnixSocketName: Sendable {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    var isAbstract: Bool { text.hasPrefix("@") }

    /// The socket's address once bound or connected at this name.
    var endpoint: SocketEndpoint { .unix(text) }

    /// What sits at a filesystem path before we bind there.
    enum Occupant: Equatable {
        case nothing
        /// A socket file whose owner is gone: connecting is refused.
        case staleSocket
        /// A socket somebody listens on (or is bound to, for datagrams).
        case liveSocket
        /// A regular file, directory...: never ours to remove.
        case notASocket
    }

    /// Calls `body` with the address and its exact length; throws ENAMETOOLONG for long names.
    func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws -> T {
        var bytes = Array(text.utf8)
        if isAbstract { bytes[0] = 0 }
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs room for its NUL; an abstract name has none.
        guard bytes.count < capacity || (isAbstract && bytes.count <= capacity) else {
            throw IOError(errnoCode: ENAMETOOLONG, reason: "bind")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = socklen_t(pathOffset + bytes.count + (isAbstract ? 0 : 1))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// A new non-blocking, close-on-exec UNIX socket of `type` (`SOCK_STREAM`, `SOCK_DGRAM`).
    static func makeSocket(type: Int32) throws -> CInt {
        let fd = socket(AF_UNIX, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        return fd
    }

    func bind(_ fd: CInt) throws {
        let result = try withSockAddr { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw IOError(errnoCode: errno, reason: "bind") }
    }

    /// Connects `fd` (non-blocking: a listener with a full backlog answers EAGAIN).
    func connect(_ fd: CInt) throws {
        let result = try withSockAddr { Glibc.connect(fd, $0, $1) }
        guard result == 0 else { throw IOError(errnoCode: errno, reason: "connect") }
    }

    /// Binds `fd` to a fresh abstract name the kernel picks (`bind` with only the family),
    /// so that a datagram client has an address its peer can answer.
    static func autobind(_ fd: CInt) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sa_family_t>.size))
            }
        }
        guard result == 0 else { throw IOError(errnoCode: errno, reason: "bind") }
    }

    /// Looks at the path without changing anything. A socket file is probed by connecting
    /// to it (non-blocking, so a full backlog cannot stall the event loop): refused means
    /// nobody owns it any more.
    func occupant(socketType: Int32) -> Occupant {
        guard !isAbstract else { return .nothing }
        var status = stat()
        guard lstat(text, &status) == 0 else { return .nothing }
        guard status.st_mode & S_IFMT == S_IFSOCK else { return .notASocket }
        guard let probe = try? Self.makeSocket(type: socketType) else { return .liveSocket }
        defer { close(probe) }
        do {
            try connect(probe)
            return .liveSocket
        } catch let error as IOError where error.errnoCode == ECONNREFUSED {
            return .staleSocket
        } catch {
            // EAGAIN (a full backlog), EPROTOTYPE (a socket of the other type)...: in use.
            return .liveSocket
        }
    }

    /// Removes a stale socket file; only ever a socket, never anything else.
    func removeStaleSocket() throws {
        var status = stat()
        guard lstat(text, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return }
        guard unlink(text) == 0 else { throw IOError(errnoCode: errno, reason: "unlink") }
    }

    /// Removes the socket file a listener of ours created (nothing to do for abstract names).
    func removeOwnSocketFile() {
        if !isAbstract { unlink(text) }
    }
}
