import NIOCore
import NIOPosix
import SockscopeCore

extension Engine {
    /// Reports `.connecting`, then `.connected` (the handler does that and completes the request)
    /// or `.error` and `.closed`. Runs on `loop`.
    func connect(_ connect: ConnectRequest, request: RequestID, on loop: any EventLoop) {
        let id = registry.nextConnectionID()
        let target = connect.endpoint.description
        switch connect.endpoint {
        case .inet(let transport, let host, let port):
            sink.emit(.connecting(id, remote: AddressText.hostPort(host, port)), request: request)
            guard transport != .unix, transport != .unixgram else {
                return failConnect(id, request: request, failure: SocketFailure(
                    call: "connect", explanation: "a UNIX socket needs a path, not a host and port", target: target))
            }
            let kind: HostResolver.SocketKind = transport == .udp ? .datagram : .stream
            resolver.resolve(host: host, port: port, kind: kind, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    self.attempt(addresses[...], transport: transport, id: id, request: request, target: target,
                                 lastError: nil, on: loop)
                case .failure(let error):
                    self.failConnect(id, request: request, failure: .from(error, call: "getaddrinfo", target: target))
                }
            }
        case .unixDatagram:
            sink.emit(.connecting(id, remote: target), request: request)
            failConnect(id, request: request, failure: SocketFailure(
                call: "connect", explanation: "UNIX datagram sockets are not supported by the engine yet", target: target))
        case .unix(let path):
            sink.emit(.connecting(id, remote: path), request: request)
            do {
                let address = try SocketAddress(unixDomainSocketPath: path)
                attempt([address], transport: .unix, id: id, request: request, target: target, lastError: nil, on: loop)
            } catch {
                failConnect(id, request: request, failure: .from(error, call: "connect", target: target))
            }
        }
    }

    /// Tries each resolved address in turn (`localhost` is often `::1` first while the
    /// server listens on 127.0.0.1); the last error is the one reported.
    private func attempt(_ addresses: ArraySlice<SocketAddress>, transport: TransportProtocol, id: SocketID,
                         request: RequestID, target: String, lastError: (any Error)?, on loop: any EventLoop) {
        guard let address = addresses.first else {
            let failure = lastError.map { SocketFailure.from($0, call: "connect", target: target) }
                ?? SocketFailure(call: "connect", explanation: "no address to connect to", target: target)
            return failConnect(id, request: request, failure: failure)
        }
        connectOnce(to: address, transport: transport, id: id, request: request, on: loop).whenFailure { error in
            self.attempt(addresses.dropFirst(), transport: transport, id: id, request: request, target: target,
                         lastError: error, on: loop)
        }
    }

    private func connectOnce(to address: SocketAddress, transport: TransportProtocol, id: SocketID,
                             request: RequestID, on loop: any EventLoop) -> EventLoopFuture<Void> {
        let sink = sink
        let registry = registry
        if transport == .udp {
            return DatagramBootstrap(group: loop)
                .channelOption(.autoRead, value: false)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramHandler(
                            role: .connected(id, request: request), sink: sink, registry: registry))
                    }
                }
                .connect(to: address)
                .flatMapThrowing { channel in
                    try channel.pipeline.syncOperations.handler(type: DatagramHandler.self).activate(as: id, channel: channel)
                }
        }
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(
                        origin: .outgoing(id, request: request), mode: .interactive, sink: sink, registry: registry))
                }
            }
        if transport == .tcp {
            bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
        }
        return bootstrap.connect(to: address).map { _ in }
    }

    private func failConnect(_ id: SocketID, request: RequestID, failure: SocketFailure) {
        sink.emit(.error(id, failure), request: request)
        sink.emit(.closed(id, reason: "connect failed"), request: request)
        sink.complete(request)
    }
}
