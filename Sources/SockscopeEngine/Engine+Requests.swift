import Glibc
import NIOCore
import SockscopeCore

/// The requests that act on one open socket beyond send and close (shutdown, reset, sendto,
/// sendfile, socket options), and name resolution. Each runs on the socket's event loop and
/// answers with exactly one `.requestCompleted`, after an `.error` when it cannot apply.
extension Engine {
    /// Runs on the caller's thread under the `isRunning` lock: only hands work to a loop.
    func dispatchSocketRequest(_ request: EngineRequest) {
        let requestID = request.id
        let sink = sink
        switch request.command {
        case .shutdown(let id, let direction):
            withOpenSocket(id, request: requestID, call: "shutdown") { control in
                guard let connection = control as? ConnectionHandler else {
                    return sink.complete(requestID, failure: Self.streamOnly(id, call: "shutdown"), socket: id)
                }
                connection.shutdown(direction, request: requestID)
            }
        case .reset(let id):
            withOpenSocket(id, request: requestID, call: "reset") { control in
                guard let connection = control as? ConnectionHandler else {
                    return sink.complete(requestID, failure: Self.streamOnly(id, call: "reset"), socket: id)
                }
                connection.reset(request: requestID)
            }
        case .sendFile(let id, let path):
            withOpenSocket(id, request: requestID, call: "sendfile") { control in
                guard let connection = control as? ConnectionHandler else {
                    return sink.complete(requestID, failure: Self.streamOnly(id, call: "sendfile"), socket: id)
                }
                connection.sendFile(path: path, request: requestID)
            }
        case .sendTo(let id, let host, let port, let bytes):
            withOpenEntry(id, request: requestID, call: "sendto") { entry in
                self.sendTo(entry, id: id, host: host, port: port, bytes: bytes, request: requestID)
            }
        case .setOption(let id, let option, let value):
            withOpenEntry(id, request: requestID, call: "setsockopt") { entry in
                self.option(option, of: entry, id: id, settingTo: value, request: requestID)
            }
        case .getOption(let id, let option):
            withOpenEntry(id, request: requestID, call: "getsockopt") { entry in
                self.option(option, of: entry, id: id, settingTo: nil, request: requestID)
            }
        case .resolve(let host):
            let loop = group.next()
            resolver.resolveEverything(host: host, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    sink.emit(.resolved(host: host, addresses: addresses), request: requestID)
                    sink.complete(requestID)
                case .failure(let error):
                    sink.complete(requestID, failure: .from(error, call: "getaddrinfo", target: host))
                }
            }
        default:
            preconditionFailure("\(request.command) is dispatched by Engine.dispatch")
        }
    }

    /// Resolves `host` for datagrams, picks the address of the socket's own family, and sends.
    private func sendTo(_ entry: SocketRegistry.Entry, id: SocketID, host: String, port: Int, bytes: [UInt8],
                        request: RequestID) {
        let sink = sink
        guard entry.control.value is DatagramHandler, let channel = entry.channel else {
            var failure = SocketFailure(call: "sendto", explanation: "sendto needs a UDP socket; \(id) is not one")
            if entry.control.value is ConnectionHandler { failure.explanation += " (use send on a stream connection)" }
            return sink.complete(request, failure: failure, socket: id)
        }
        let target = AddressText.hostPort(host, port)
        let wantsIPv6 = if case .v6? = channel.localAddress { true } else { false }
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
                (entry.control.value as? DatagramHandler)?.send(bytes, to: address, request: request)
            case .failure(let error):
                sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target), socket: id)
            }
        }
    }

    /// Sets (when `value` is given) and then reads an option; answers `.optionValue` with what
    /// the kernel holds.
    private func option(_ option: SockscopeCore.SocketOptionName, of entry: SocketRegistry.Entry, id: SocketID, settingTo value: Int?,
                        request: RequestID) {
        let sink = sink
        let access: any SocketOptionAccess
        if let channel = entry.channel {
            access = ChannelOptionAccess(channel: channel)
        } else if let socket = entry.control.value as? UnixDatagramSocket {
            access = socket.optionAccess
        } else {
            return sink.complete(request, failure: SocketFailure(
                call: value == nil ? "getsockopt" : "setsockopt", explanation: "\(id) has no socket options"), socket: id)
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
                    ?? SocketFailure.from(error, call: value == nil ? "getsockopt" : "setsockopt", namedByNIO: false)
                sink.complete(request, failure: failure, socket: id)
            }
        }
    }

    private static func streamOnly(_ id: SocketID, call: String) -> SocketFailure {
        let what = id.kind == .listener ? "\(id) is a listener" : "\(id) is a datagram socket"
        return SocketFailure(call: call, explanation: "\(call) applies to stream connections (TCP, UNIX); \(what)")
    }
}
