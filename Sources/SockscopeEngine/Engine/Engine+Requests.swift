import Glibc
import NIOCore
import SockscopeCore

/// The requests that act on one open socket beyond send and close (shutdown, reset, sendto,
/// sendfile, socket options), and name resolution. Each runs on the socket's event loop and
/// answers with exactly one `.requestCompleted`, after an `.error` when it cannot apply. What a
/// socket can do is its `SocketCapability`, switched over here: no downcasts.
extension Engine {
    /// A stream connection's request (`shutdown`, `reset`, `sendfile`), on the socket's loop;
    /// any other kind of socket answers why it cannot.
    func withStream(_ id: SocketID, request: RequestID, call: String,
                    _ body: @escaping @Sendable (any StreamControl) -> Void) {
        let sink = sink
        withOpenSocket(id, request: request, call: call) { control in
            switch control.capability {
            case .stream(let stream):
                body(stream)
            case .addressedDatagrams, .namedDatagrams, .listener, .relay:
                sink.complete(request, failure: Self.streamOnly(id, call: call), socket: id)
            }
        }
    }

    /// Runs `body` on a relay's loop, or answers that `id` is no open relay.
    func withRelay(_ id: SocketID, request: RequestID, call: String, _ body: @escaping @Sendable (any RelayControl) -> Void) {
        let sink = sink
        withOpenSocket(id, request: request, call: call) { control in
            guard case .relay(let relay) = control.capability else {
                return sink.complete(request, failure: SocketFailure(call: call, explanation: "\(id) is not a relay"), socket: id)
            }
            body(relay)
        }
    }

    /// One datagram from a UNIX datagram socket to the socket named `name`.
    func sendTo(_ id: SocketID, unixName name: UnixSocketName, bytes: [UInt8], request: RequestID) {
        let sink = sink
        withOpenSocket(id, request: request, call: "sendto") { control in
            switch control.capability {
            case .namedDatagrams(let socket):
                socket.send(bytes, to: name, request: request)
            case .stream, .addressedDatagrams, .listener, .relay:
                sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "sendto unix:PATH needs a UNIX datagram socket (unixgram:); \(id) is not one"),
                    socket: id)
            }
        }
    }

    /// Resolves `host` for datagrams, picks the address of the socket's own family, and sends.
    func sendTo(_ id: SocketID, host: String, port: Int, bytes: [UInt8], request: RequestID) {
        let sink = sink
        let resolver = resolver
        withOpenEntry(id, request: request, call: "sendto") { entry in
            let socket: any AddressedDatagramControl
            switch entry.control.value.capability {
            case .addressedDatagrams(let datagrams):
                socket = datagrams
            case .stream:
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "sendto needs a UDP socket; \(id) is not one (use send on a stream connection)"),
                    socket: id)
            case .namedDatagrams:
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "sendto HOST:PORT needs a UDP socket; \(id) is a UNIX datagram socket "
                        + "(sendto unix:PATH)"), socket: id)
            case .listener, .relay:
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "sendto needs a UDP socket; \(id) is not one"), socket: id)
            }
            let target = AddressText.hostPort(host, port)
            let wantsIPv6 = socket.isIPv6
            let loopBound = NIOLoopBound(socket, eventLoop: entry.eventLoop)
            resolver.resolve(host: host, port: port, kind: .datagram, on: entry.eventLoop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    let sameFamily = addresses.first { address in
                        if case .v6 = address { wantsIPv6 } else { !wantsIPv6 }
                    }
                    guard let address = sameFamily else {
                        var failure = SocketFailure.system(call: "sendto", errno: EAFNOSUPPORT, target: target)
                        failure.explanation = "\(host) has no \(wantsIPv6 ? "IPv6" : "IPv4") address, and \(id) is an "
                            + "\(wantsIPv6 ? "IPv6" : "IPv4") socket"
                        return sink.complete(request, failure: failure, socket: id)
                    }
                    // Still on the socket's loop: the resolver answers there.
                    loopBound.value.send(bytes, to: address, request: request)
                case .failure(let error):
                    sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target), socket: id)
                }
            }
        }
    }

    /// Every address getaddrinfo gives for `host`.
    func resolve(_ host: String, request: RequestID) {
        let sink = sink
        resolver.resolveEverything(host: host, on: group.next()).whenComplete { result in
            switch result {
            case .success(let addresses):
                sink.emit(.resolved(host: host, addresses: addresses), request: request)
                sink.complete(request)
            case .failure(let error):
                sink.complete(request, failure: .from(error, call: "getaddrinfo", target: host))
            }
        }
    }

    /// Sets (when `value` is given) and then reads an option; answers `.optionValue` with what
    /// the kernel holds.
    func option(_ option: SockscopeCore.SocketOptionName, of id: SocketID, settingTo value: Int?, request: RequestID) {
        let sink = sink
        let call = value == nil ? "getsockopt" : "setsockopt"
        withOpenSocket(id, request: request, call: call) { control in
            guard let access = control.optionAccess else {
                return sink.complete(request, failure: SocketFailure(call: call, explanation: "\(id) has no socket options"),
                                     socket: id)
            }
            let kernelOption = KernelOption(option, family: access.addressFamily)
            let answer = value.map { kernelOption.write($0, on: access) } ?? kernelOption.read(from: access)
            answer.whenComplete { result in
                switch result {
                case .success(let current):
                    sink.emit(.optionValue(id, option, value: current), request: request)
                    sink.complete(request)
                case .failure(let error):
                    let failure = (error as? KernelOption.Failure)?.failure
                        ?? SocketFailure.from(error, call: call, namedByNIO: false)
                    sink.complete(request, failure: failure, socket: id)
                }
            }
        }
    }

    private static func streamOnly(_ id: SocketID, call: String) -> SocketFailure {
        let what = switch id.kind {
        case .listener: "\(id) is a listener"
        case .relay: "\(id) is a relay (its legs are stream connections)"
        case .connection, .socket: "\(id) is a datagram socket"
        }
        return SocketFailure(call: call, explanation: "\(call) applies to stream connections (TCP, UNIX); \(what)")
    }
}
