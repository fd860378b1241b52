import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

extension Engine {
    /// Binds a listener and reports `.listening`, or `.error(nil, ...)`; then completes the request.
    /// Runs on `loop`, which becomes the listener's loop.
    func listen(_ listen: ListenRequest, request: RequestID, on loop: any EventLoop) {
        let target = listen.endpoint.description
        switch listen.endpoint {
        case .inet(.tcp, let host, let port):
            var tls: TLSServerSetup?
            if let options = listen.tls {
                do {
                    tls = try TLSServerSetup(options: options, host: host, capture: registry.capture)
                } catch {
                    return sink.complete(request, failure: .from(error, call: "tls", target: target))
                }
            }
            resolver.resolve(host: host, port: port, kind: .stream, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    self.bindStream(listen, to: .address(addresses[0]), socketPath: nil, tls: tls, request: request, on: loop)
                case .failure(let error):
                    self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target))
                }
            }
        case .unix(let path):
            listenUnixStream(listen, name: UnixSocketName(path), request: request, on: loop)
        case .inet(.udp, let host, let port):
            resolver.resolve(host: host, port: port, kind: .datagram, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    self.bindDatagram(listen, to: addresses[0], request: request, on: loop)
                case .failure(let error):
                    self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target))
                }
            }
        case .inet(.unix, _, _), .inet(.unixgram, _, _):
            sink.complete(request, failure: SocketFailure(
                call: "listen", explanation: "a UNIX socket needs a path, not a host and port", target: target))
        case .inet(.icmp, _, _):
            // The parser never makes one (only sendto takes a host alone); answered all the same.
            sink.complete(request, failure: SocketFailure(
                call: "listen", explanation: "ICMP has no ports to listen on: socket raw icmp, then recv", target: target))
        case .unixDatagram(let path):
            listenUnixDatagram(listen, name: UnixSocketName(path), request: request, on: loop)
        }
    }

    /// The listener accepts nothing until it has its id and has reported `.listening`:
    /// `autoRead` stays off until then, so early clients wait in the kernel's accept queue.
    /// With `relay`, it is a relay (`R1`): each client's connection is a relay's client leg.
    func bindStream(_ listen: ListenRequest, to place: StreamBindPlace, socketPath: String?, tls: TLSServerSetup? = nil,
                    relay: RelayUpstream? = nil, request: RequestID, on loop: any EventLoop) {
        let sink = sink
        let registry = registry
        let listenerID = NIOLockedValueBox(SocketID(.listener, 0))
        let isTCP = listen.endpoint.transport == .tcp
        var bootstrap = ServerBootstrap(group: loop, childGroup: group)
            .serverChannelOption(.backlog, value: ChannelOptions.Types.BacklogOption.Value(clamping: listen.backlog))
            .serverChannelOption(.autoRead, value: false)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No NIO `AcceptBackoffHandler`: it cannot stop NIO's retries (see `ListenerHandler.pauseAccepting`).
                    try channel.pipeline.syncOperations.addHandler(
                        ListenerHandler(sink: sink, registry: registry, socketPath: socketPath, policy: listen.policy,
                                        pausesWhenExhausted: true, relay: relay))
                }
            }
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let listener = listenerID.withLockedValue { $0 }
                    let handler = ConnectionHandler(origin: .accepted(listener: listener),
                                                    mode: listen.mode, sink: sink, registry: registry)
                    let idleWatch: [any ChannelHandler] = listen.policy.idleTimeoutMilliseconds.map { idle in
                        [IdleStateHandler(allTimeout: .milliseconds(Int64(idle))),
                         IdleCloser(connection: handler, timeoutMilliseconds: idle)]
                    } ?? []
                    // TCP_NODELAY is inherited from the listener (set below): a system call per accept saved.
                    let relayLeg = relay.map { RelayLegHandler(role: .client, relay: listener, sink: sink, upstream: $0) }
                    try handler.install(on: child, leading: (tls?.handlers(sink: sink) ?? []) + idleWatch, noDelay: false,
                                        relayLeg: relayLeg)
                }
            }
        if isTCP {
            // SO_REUSEADDR on a TCP listener only lets it bind while old connections of the
            // port sit in TIME-WAIT; Linux never lets it share a port another socket listens on.
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            if listen.reusePort { bootstrap = bootstrap.serverChannelOption(.socketOption(.soReusePort), value: 1) }
        }
        let target = listen.endpoint.description
        let bound = switch place {
        case .address(let address): bootstrap.bind(to: address)
        case .boundSocket(let descriptor): bootstrap.withBoundSocket(descriptor)
        }
        bound.whenComplete { result in
            switch result {
            case .success(let channel):
                if case .boundSocket(let descriptor) = place {
                    // NIO listens with its own backlog (128) on a socket handed to it; set ours.
                    Glibc.listen(descriptor, Int32(clamping: listen.backlog))
                }
                guard let handler = try? channel.pipeline.syncOperations.handler(type: ListenerHandler.self) else {
                    channel.close(promise: nil)
                    return sink.complete(request, failure: SocketFailure(
                        call: "listen", explanation: "the listener's pipeline is incomplete", target: target))
                }
                let id = relay == nil ? registry.nextListenerID() : registry.nextRelayID()
                listenerID.withLockedValue { $0 = id }
                handler.activate(as: id, channel: channel)
                let local = SocketEndpoint(channel.localAddress)
                if let relay {
                    sink.emit(.relay(.listening(id, isTCP ? .tcp : .unix, local: local, target: relay.target)), request: request)
                } else {
                    sink.emit(.listening(id, isTCP ? .tcp : .unix, local: local, mode: listen.mode, backlog: listen.backlog),
                              request: request)
                }
                if let tls {
                    sink.emit(.tlsCertificate(id, tls.certificate, selfSigned: tls.isSelfSigned,
                                              savedTo: listen.tls?.saveCertificateFile), request: request)
                }
                sink.complete(request)
                channel.setOption(.autoRead, value: true).whenFailure { error in
                    sink.emit(.error(id, .from(error, call: "listen")))
                }
            case .failure(let error):
                sink.complete(request, failure: .from(error, call: "bind", target: target))
            }
        }
    }
}

/// Where a stream listener binds: an address NIO binds itself, or a socket already bound
/// by the engine (abstract UNIX names need their exact length; see `UnixSocketName`).
enum StreamBindPlace {
    case address(SocketAddress)
    case boundSocket(CInt)
}

extension Engine {
    /// A UDP "listener" is a bound socket; like a stream listener it reads nothing until
    /// it has its id and has reported `.listening`.
    fileprivate func bindDatagram(_ listen: ListenRequest, to address: SocketAddress,
                                  request: RequestID, on loop: any EventLoop) {
        let sink = sink
        let registry = registry
        let target = listen.endpoint.description
        // No SO_REUSEADDR unless asked: on a UDP socket it lets the bind share a port with a
        // live server that set it too (memcached does), which would then split its
        // datagrams with us. Without it a taken port fails with EADDRINUSE, as with TCP.
        var bootstrap = DatagramBootstrap(group: loop)
            .channelOption(.autoRead, value: false)
            .channelOption(.recvAllocator, value: DatagramHandler.receiveAllocator)
        if listen.reuseAddress { bootstrap = bootstrap.channelOption(.socketOption(.so_reuseaddr), value: 1) }
        if listen.reusePort { bootstrap = bootstrap.channelOption(.socketOption(.soReusePort), value: 1) }
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try DatagramHandler(role: .listener(listen.mode), sink: sink, registry: registry).install(on: channel)
                }
            }
            .bind(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    do {
                        let handler = try channel.pipeline.syncOperations.handler(type: DatagramHandler.self)
                        let id = registry.nextListenerID()
                        sink.emit(.listening(id, .udp, local: SocketEndpoint(channel.localAddress),
                                             mode: listen.mode, backlog: 0), request: request)
                        handler.activate(as: id, channel: channel)
                        sink.complete(request)
                    } catch {
                        channel.close(promise: nil)
                        sink.complete(request, failure: .from(error, call: "bind", target: target))
                    }
                case .failure(let error):
                    sink.complete(request, failure: .from(error, call: "bind", target: target))
                }
            }
    }
}

extension NIOBSDSocket.Option {
    /// SO_REUSEPORT (NIO names SO_REUSEADDR but not this one).
    static let soReusePort = NIOBSDSocket.Option(rawValue: SO_REUSEPORT)
}
