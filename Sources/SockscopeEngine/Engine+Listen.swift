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
            resolver.resolve(host: host, port: port, kind: .stream, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    self.bindStream(listen, to: addresses[0], socketPath: nil, request: request, on: loop)
                case .failure(let error):
                    self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target))
                }
            }
        case .unix(let path):
            do {
                let address = try SocketAddress(unixDomainSocketPath: path)
                bindStream(listen, to: address, socketPath: path, request: request, on: loop)
            } catch {
                sink.complete(request, failure: .from(error, call: "bind", target: target))
            }
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
        case .unixDatagram:
            sink.complete(request, failure: SocketFailure(
                call: "listen", explanation: "UNIX datagram sockets are not supported by the engine yet", target: target))
        }
    }

    /// The listener accepts nothing until it has its id and has reported `.listening`:
    /// `autoRead` stays off until then, so early clients wait in the kernel's accept queue.
    private func bindStream(_ listen: ListenRequest, to address: SocketAddress, socketPath: String?,
                            request: RequestID, on loop: any EventLoop) {
        let sink = sink
        let registry = registry
        let listenerID = NIOLockedValueBox(SocketID(.listener, 0))
        let isTCP = socketPath == nil
        var bootstrap = ServerBootstrap(group: loop, childGroup: group)
            .serverChannelOption(.backlog, value: ChannelOptions.Types.BacklogOption.Value(clamping: listen.backlog))
            .serverChannelOption(.autoRead, value: false)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        AcceptBackoffHandler(),
                        ListenerHandler(sink: sink, registry: registry, socketPath: socketPath))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let handler = ConnectionHandler(origin: .accepted(listener: listenerID.withLockedValue { $0 }),
                                                    mode: listen.mode, sink: sink, registry: registry)
                    try child.pipeline.syncOperations.addHandler(handler)
                }
            }
        if isTCP {
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        }
        let target = listen.endpoint.description
        bootstrap.bind(to: address).whenComplete { result in
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: ListenerHandler.self) else {
                    channel.close(promise: nil)
                    return sink.complete(request, failure: SocketFailure(
                        call: "listen", explanation: "the listener's pipeline is incomplete", target: target))
                }
                let id = registry.nextListenerID()
                listenerID.withLockedValue { $0 = id }
                handler.activate(as: id, channel: channel)
                sink.emit(.listening(id, isTCP ? .tcp : .unix, local: channel.localAddress.displayText,
                                     mode: listen.mode, backlog: listen.backlog), request: request)
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

extension Engine {
    /// A UDP "listener" is a bound socket; like a stream listener it reads nothing until
    /// it has its id and has reported `.listening`.
    fileprivate func bindDatagram(_ listen: ListenRequest, to address: SocketAddress,
                                  request: RequestID, on loop: any EventLoop) {
        let sink = sink
        let registry = registry
        let target = listen.endpoint.description
        DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DatagramHandler(role: .listener(listen.mode), sink: sink, registry: registry))
                }
            }
            .bind(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    do {
                        let handler = try channel.pipeline.syncOperations.handler(type: DatagramHandler.self)
                        let id = registry.nextListenerID()
                        sink.emit(.listening(id, .udp, local: channel.localAddress.displayText,
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
