import Glibc
import NIOCore
import NIOPosix
import SockscopeCore

extension SocketFailure {
    /// Translates whatever NIO (or our resolver) threw into a failure a person can act on.
    ///
    /// - Parameters:
    ///   - call: the call to blame when the error does not name one itself.
    ///   - target: what was being attempted, e.g. `tcp://127.0.0.1:9`.
    ///   - namedByNIO: whether the syscall NIO names in the error (`writev`, `bind`) wins over `call`.
    static func from(_ error: any Error, call: String, target: String? = nil, namedByNIO: Bool = true) -> SocketFailure {
        var failure = translate(error, call: call, namedByNIO: namedByNIO)
        if failure.target == nil { failure.target = target }
        return failure
    }

    /// The errno behind an error, when it came from the kernel.
    static func errnoCode(of error: any Error) -> Int32? {
        switch error {
        case let ioError as IOError: ioError.errnoCode
        case let connectionError as NIOConnectionError:
            connectionError.connectionErrors.last.flatMap { errnoCode(of: $0.error) }
        case ChannelError.connectTimeout: ETIMEDOUT
        default: nil
        }
    }

    private static func translate(_ error: any Error, call: String, namedByNIO: Bool = true) -> SocketFailure {
        switch error {
        case let failure as SocketFailure:
            return failure
        case let ioError as IOError:
            return .system(call: (namedByNIO ? callName(ioError) : nil) ?? call, errno: ioError.errnoCode)
        case let resolution as ResolutionFailure:
            return resolution.failure
        case let connectionError as NIOConnectionError:
            if let last = connectionError.connectionErrors.last {
                return translate(last.error, call: call, namedByNIO: namedByNIO)
            }
            if let dnsError = connectionError.dnsAError ?? connectionError.dnsAAAAError {
                return translate(dnsError, call: "getaddrinfo")
            }
            return SocketFailure(call: call, explanation: "no address to connect to for \(connectionError.host)")
        case ChannelError.connectTimeout(let timeout):
            var failure = SocketFailure.system(call: "connect", errno: ETIMEDOUT)
            let nanoseconds = timeout.nanoseconds
            let limit = nanoseconds % 1_000_000_000 == 0
                ? "\(nanoseconds / 1_000_000_000) s" : "\(nanoseconds / 1_000_000) ms"
            failure.explanation = "the peer did not answer within \(limit)"
            return failure
        case SocketAddressError.unknown(let host, _):
            return ResolutionFailure(host: host, code: ResolutionFailure.eaiNoName, systemErrno: 0).failure
        case SocketAddressError.unixDomainSocketPathTooLong:
            // What the kernel would say; a sun_path holds 107 bytes and a NUL.
            return .system(call: call, errno: ENAMETOOLONG)
        case let addressError as SocketAddressError:
            return SocketFailure(call: call, explanation: "unusable address: \(addressError)")
        case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.outputClosed:
            return SocketFailure(call: call, explanation: "the socket is already closed")
        case ChannelError.eof:
            return SocketFailure(call: call, explanation: "the peer closed the connection")
        default:
            return SocketFailure(call: call, explanation: String(describing: error))
        }
    }

    /// NIO names the failing syscall first in the error's description:
    /// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
    private static func callName(_ error: IOError) -> String? {
        let description = error.description
        guard let open = description.firstIndex(of: "(") else { return nil }
        let name = description[..<open]
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return String(name)
    }
}
