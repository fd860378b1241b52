import Glibc
import NIOCore
import SockscopeCore

extension Engine {
    /// A UNIX stream listener at a path (after checking what is already there) or an
    /// abstract name. Runs on `loop`.
    func listenUnixStream(_ listen: ListenRequest, name: UnixSocketName, relay: RelayUpstream? = nil, request: RequestID,
                          on loop: any EventLoop) {
        let target = listen.endpoint.description
        if let failure = clearPath(for: name, socketType: Int32(SOCK_STREAM.rawValue), replaceStale: listen.replaceStale,
                                   target: target) {
            return sink.complete(request, failure: failure)
        }
        guard name.isAbstract else {
            do {
                let address = try SocketAddress(unixDomainSocketPath: name.text)
                return bindStream(listen, to: .address(address), socketPath: name.text, relay: relay, request: request, on: loop)
            } catch {
                return sink.complete(request, failure: .from(error, call: "bind", target: target))
            }
        }
        do {
            let descriptor = try UnixSocketName.makeSocket(type: Int32(SOCK_STREAM.rawValue))
            do {
                try name.bind(descriptor)
            } catch {
                close(descriptor)
                throw error
            }
            // No file to remove when it closes: the name goes with the socket.
            bindStream(listen, to: .boundSocket(descriptor), socketPath: nil, relay: relay, request: request, on: loop)
        } catch {
            sink.complete(request, failure: .from(error, call: "bind", target: target, namedByNIO: false))
        }
    }

    /// A UNIX datagram "listener": a socket bound at the name, receiving from anyone.
    func listenUnixDatagram(_ listen: ListenRequest, name: UnixSocketName, request: RequestID, on loop: any EventLoop) {
        let target = listen.endpoint.description
        if let failure = clearPath(for: name, socketType: Int32(SOCK_DGRAM.rawValue), replaceStale: listen.replaceStale,
                                   target: target) {
            return sink.complete(request, failure: failure)
        }
        do {
            let descriptor = try UnixSocketName.makeSocket(type: Int32(SOCK_DGRAM.rawValue))
            let socket: UnixDatagramSocket
            do {
                try name.bind(descriptor)
                socket = try UnixDatagramSocket(descriptor: descriptor, role: .listener(listen.mode, name: name),
                                                eventLoop: loop, sink: sink, registry: registry)
            } catch {
                close(descriptor)
                name.removeOwnSocketFile()
                throw error
            }
            let id = registry.nextListenerID()
            do {
                try socket.activate(as: id)
            } catch {
                name.removeOwnSocketFile()
                throw error
            }
            // Datagrams are delivered by tasks queued behind this one: `.listening` comes first.
            sink.emit(.listening(id, .unixgram, local: name.endpoint, mode: listen.mode, backlog: 0), request: request)
            sink.complete(request)
        } catch {
            sink.complete(request, failure: .from(error, call: "bind", target: target, namedByNIO: false))
        }
    }

    /// Says why binding at `name` would fail, before trying: a socket file left by a process
    /// that is gone (removed only with `--replace`, and only if it is a socket), a live
    /// socket, or some other file. Nil when the path is free (or was freed).
    private func clearPath(for name: UnixSocketName, socketType: Int32, replaceStale: Bool,
                           target: String) -> SocketFailure? {
        var failure = SocketFailure.system(call: "bind", errno: EADDRINUSE, target: target)
        switch name.occupant(socketType: socketType) {
        case .nothing:
            return nil
        case .staleSocket where replaceStale:
            do {
                try name.removeStaleSocket()
                return nil
            } catch {
                return .from(error, call: "unlink", target: target, namedByNIO: false)
            }
        case .staleSocket:
            failure.explanation = "a stale socket file is at \(name.text): nothing listens there (connecting is "
                + "refused); remove it, or listen with --replace"
        case .liveSocket:
            failure.explanation = "another socket is already listening at \(name.text)"
        case .notASocket:
            failure.explanation = "\(name.text) exists and is not a socket (sockscope never removes such a file)"
        }
        return failure
    }
}
