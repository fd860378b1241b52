import Glibc
import NIOCore
import NIOPosix
import SockscopeCore

extension Engine {
    /// Reports `.connecting`, then `.connected` (the handler does that and completes the request)
    /// or `.error` and `.closed`. Runs on `loop`.
    func connect(_ connect: ConnectRequest, request: RequestID, on loop: any EventLoop) {
        let id = registry.nextConnectionID()
        let target = connect.endpoint.description
        let timeout = connect.timeoutMilliseconds.map { TimeAmount.milliseconds(Int64($0)) } ?? connectTimeout
        switch connect.endpoint {
        case .inet(let transport, let host, let port):
            sink.emit(.connecting(id, remote: AddressText.hostPort(host, port)), request: request)
            guard transport != .unix, transport != .unixgram else {
                return failConnect(id, request: request, failure: SocketFailure(
                    call: "connect", explanation: "a UNIX socket needs a path, not a host and port", target: target))
            }
            let kind: HostResolver.SocketKind = transport == .udp ? .datagram : .stream
            var tls: TLSClientSetup?
            if let options = connect.tls {
                do {
                    tls = try TLSClientSetup(options: options, host: host, capture: registry.capture)
                } catch {
                    return failConnect(id, request: request, failure: .from(error, call: "tls", target: target))
                }
            }
            let plan = ConnectPlan(id: id, request: request, transport: transport, target: target,
                                   requested: AddressText.hostPort(host, port), timeout: timeout, tls: tls)
            localAddresses(for: connect.bind, kind: kind, on: loop).whenComplete { localResult in
                switch localResult {
                case .success(let locals):
                    self.resolver.resolve(host: host, port: port, kind: kind, on: loop).whenComplete { result in
                        switch result {
                        case .success(let addresses):
                            self.attempt(addresses[...], plan: plan, locals: locals, lastError: nil, on: loop)
                        case .failure(let error):
                            self.failConnect(id, request: request, failure: .from(error, call: "getaddrinfo", target: target))
                        }
                    }
                case .failure(let error):
                    let bindTarget = connect.bind.map { "--bind \($0)" }
                    self.failConnect(id, request: request, failure: .from(error, call: "getaddrinfo", target: bindTarget))
                }
            }
        case .unixDatagram(let path):
            sink.emit(.connecting(id, remote: path), request: request)
            guard connect.bind == nil else { return failConnect(id, request: request, failure: Self.noBindForUnix(target)) }
            connectUnixDatagram(UnixSocketName(path), id: id, request: request, target: target, on: loop)
        case .unix(let path):
            sink.emit(.connecting(id, remote: path), request: request)
            guard connect.bind == nil else { return failConnect(id, request: request, failure: Self.noBindForUnix(target)) }
            let name = UnixSocketName(path)
            if name.isAbstract {
                return connectAbstractStream(name, id: id, request: request, target: target, on: loop)
            }
            do {
                let address = try SocketAddress(unixDomainSocketPath: path)
                let plan = ConnectPlan(id: id, request: request, transport: .unix, target: target, requested: path,
                                       timeout: timeout)
                attempt([address], plan: plan, locals: nil, lastError: nil, on: loop)
            } catch {
                failConnect(id, request: request, failure: .from(error, call: "connect", target: target))
            }
        }
    }

    /// What one connect request needs at every attempt.
    private struct ConnectPlan: Sendable {
        let id: SocketID
        let request: RequestID
        let transport: TransportProtocol
        /// `tcp://localhost:9000`, for failures.
        let target: String
        /// `localhost:9000` as the user wrote it: an attempt at anything else is announced.
        let requested: String
        let timeout: TimeAmount
        /// `tls://`: the TLS client every attempt puts in front of its connection.
        var tls: TLSClientSetup?
    }

    /// `--bind HOST:PORT` resolved (nil without `--bind`).
    private func localAddresses(for bind: LocalAddress?, kind: HostResolver.SocketKind,
                                on loop: any EventLoop) -> EventLoopFuture<[SocketAddress]?> {
        guard let bind else { return loop.makeSucceededFuture(nil) }
        return resolver.resolve(host: bind.host, port: bind.port, kind: kind, on: loop).map { Optional($0) }
    }

    /// Tries each resolved address in turn (`localhost` is often `::1` first while the
    /// server listens on 127.0.0.1); the last error is the one reported. Each address that
    /// differs from what the user typed is announced with `.attempt`, so every try is logged.
    private func attempt(_ addresses: ArraySlice<SocketAddress>, plan: ConnectPlan, locals: [SocketAddress]?,
                         lastError: (any Error)?, on loop: any EventLoop) {
        guard let address = addresses.first else {
            let failure = lastError.map { SocketFailure.from($0, call: "connect", target: plan.target) }
                ?? SocketFailure(call: "connect", explanation: "no address to connect to", target: plan.target)
            return failConnect(plan.id, request: plan.request, failure: failure)
        }
        let tryNext = { @Sendable (error: any Error) in
            self.attempt(addresses.dropFirst(), plan: plan, locals: locals, lastError: error, on: loop)
        }
        let isIPv6 = if case .v6 = address { true } else { false }
        var local: SocketAddress?
        if let locals {
            local = locals.first { if case .v6 = $0 { isIPv6 } else { !isIPv6 } }
            guard local != nil else {
                var failure = SocketFailure.system(call: "bind", errno: EAFNOSUPPORT, target: plan.target)
                failure.explanation = "--bind has no \(isIPv6 ? "IPv6" : "IPv4") address to match \(SocketEndpoint(address))"
                return tryNext(failure)
            }
        }
        if addresses.count > 1 || SocketEndpoint(address).description != plan.requested || addresses.startIndex > 0 {
            sink.emit(.attempt(plan.id, address: SocketEndpoint(address)), request: plan.request)
        }
        connectOnce(to: address, from: local, plan: plan, on: loop).whenFailure(tryNext)
    }

    private func connectOnce(to address: SocketAddress, from local: SocketAddress?, plan: ConnectPlan,
                             on loop: any EventLoop) -> EventLoopFuture<Void> {
        let sink = sink
        let registry = registry
        let id = plan.id
        let request = plan.request
        if plan.transport == .udp {
            let bootstrap = DatagramBootstrap(group: loop)
                .channelOption(.autoRead, value: false)
                .channelOption(.recvAllocator, value: DatagramHandler.receiveAllocator)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try DatagramHandler(role: .connected(id, request: request), sink: sink, registry: registry)
                            .install(on: channel)
                    }
                }
            // With --bind: bind first, then connect(2) the bound socket to its one peer.
            let connected = local.map { local in
                bootstrap.bind(to: local).flatMap { channel in
                    channel.connect(to: address).map { channel }.flatMapError { error in
                        channel.close(promise: nil)
                        return loop.makeFailedFuture(error)
                    }
                }
            } ?? bootstrap.connect(to: address)
            return connected.flatMapThrowing { channel in
                try channel.pipeline.syncOperations.handler(type: DatagramHandler.self).activate(as: id, channel: channel)
            }
        }
        let isTCP = plan.transport == .tcp
        let tls = plan.tls
        let target = plan.target
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(plan.timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let leading = try tls?.handlers(for: id, sink: sink, target: target) ?? []
                    try ConnectionHandler(origin: .outgoing(id, request: request), mode: .interactive, sink: sink,
                                          registry: registry).install(on: channel, leading: leading, noDelay: isTCP)
                }
            }
        if let local {
            bootstrap = bootstrap.bind(to: local)
        }
        return bootstrap.connect(to: address).map { _ in }
    }

    /// An abstract name must be connected with its exact length (see `UnixSocketName`), so
    /// the socket is made and connected here and then handed to NIO.
    private func connectAbstractStream(_ name: UnixSocketName, id: SocketID, request: RequestID, target: String,
                                       on loop: any EventLoop) {
        let sink = sink
        let registry = registry
        let descriptor: CInt
        do {
            descriptor = try UnixSocketName.makeSocket(type: Int32(SOCK_STREAM.rawValue))
            do {
                try name.connect(descriptor)
            } catch {
                close(descriptor)
                throw error
            }
        } catch {
            return failConnect(id, request: request, failure: .from(error, call: "connect", target: target, namedByNIO: false))
        }
        ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try ConnectionHandler(origin: .outgoing(id, request: request), mode: .interactive, sink: sink,
                                          registry: registry).install(on: channel, noDelay: false)
                }
            }
            .withConnectedSocket(descriptor)
            .whenFailure { error in
                self.failConnect(id, request: request, failure: .from(error, call: "connect", target: target))
            }
    }

    /// UNIX datagram sockets are driven by `UnixDatagramSocket`. The client is autobound
    /// first, so the socket it talks to has an address to answer.
    private func connectUnixDatagram(_ name: UnixSocketName, id: SocketID, request: RequestID, target: String,
                                     on loop: any EventLoop) {
        do {
            let descriptor = try UnixSocketName.makeSocket(type: Int32(SOCK_DGRAM.rawValue))
            let socket: UnixDatagramSocket
            do {
                try UnixSocketName.autobind(descriptor)
                try name.connect(descriptor)
                socket = try UnixDatagramSocket(descriptor: descriptor, role: .connected, eventLoop: loop,
                                                sink: sink, registry: registry)
            } catch {
                close(descriptor)
                throw error
            }
            try socket.activate(as: id)
            sink.emit(.connected(id, local: socket.localEndpoint, remote: name.endpoint), request: request)
            sink.complete(request)
        } catch {
            failConnect(id, request: request, failure: .from(error, call: "connect", target: target, namedByNIO: false))
        }
    }

    private static func noBindForUnix(_ target: String) -> SocketFailure {
        SocketFailure(call: "bind", explanation: "--bind applies to TCP and UDP; a UNIX client needs no address",
                      target: target)
    }

    private func failConnect(_ id: SocketID, request: RequestID, failure: SocketFailure) {
        sink.emit(.error(id, failure), request: request)
        sink.emit(.closed(id, reason: "connect failed"), request: request)
        sink.complete(request)
    }
}
