import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

extension Engine {
    /// `relay LISTEN TARGET`: the target is resolved once, then the relay listens like a
    /// stream listener whose connections are client legs (`bindStream`). Runs on `loop`.
    func relay(_ relay: RelayRequest, request: RequestID, on loop: any EventLoop) {
        let target = relay.targetText
        // A tls:// TARGET: every upstream leg is a TLS client, set up once as `connect tls://` sets up its own.
        var tls: TLSClientSetup?
        if let options = relay.targetTLS, case .inet(.tcp, let host, _) = relay.target {
            do {
                tls = try TLSClientSetup(options: options, host: host, capture: registry.capture)
            } catch {
                return sink.complete(request, failure: .from(error, call: "tls", target: target))
            }
        }
        let makeUpstream: @Sendable ([SocketAddress], TransportProtocol) -> RelayUpstream = { [tls] addresses, transport in
            RelayUpstream(addresses: addresses, target: target, transport: transport, tls: tls, timeout: self.connectTimeout,
                          sink: self.sink, registry: self.registry)
        }
        switch relay.target {
        case .inet(.tcp, let host, let port):
            resolver.resolve(host: host, port: port, kind: .stream, on: loop).whenComplete { result in
                switch result {
                case .success(let addresses):
                    self.listenForRelay(relay, upstream: makeUpstream(addresses, .tcp), request: request, on: loop)
                case .failure(let error):
                    self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target))
                }
            }
        case .unix(let path) where !UnixSocketName(path).isAbstract:
            do {
                let address = try SocketAddress(unixDomainSocketPath: path)
                listenForRelay(relay, upstream: makeUpstream([address], .unix), request: request, on: loop)
            } catch {
                sink.complete(request, failure: .from(error, call: "connect", target: target))
            }
        case .unix:
            sink.complete(request, failure: SocketFailure(
                call: "relay", explanation: "a relay connects to a UNIX path, not yet to an abstract name", target: target))
        case .inet(.udp, _, _):
            relayDatagrams(relay, request: request, on: loop)
        case .inet, .unixDatagram:
            sink.complete(request, failure: SocketFailure(
                call: "relay", explanation: "a relay forwards TCP and UNIX stream sockets, or UDP", target: target))
        }
    }

    private func listenForRelay(_ relay: RelayRequest, upstream: RelayUpstream, request: RequestID, on loop: any EventLoop) {
        let listen = relay.listen
        let place = listen.endpoint.description
        switch listen.endpoint {
        case .inet(.tcp, let host, let port):
            // A tls:// LISTEN: each client leg's handshake, as `listen tls://` does it (the same setup and certificate).
            var tls: TLSServerSetup?
            if let options = listen.tls {
                do {
                    tls = try TLSServerSetup(options: options, host: host, capture: registry.capture)
                } catch {
                    return sink.complete(request, failure: .from(error, call: "tls", target: place))
                }
            }
            resolver.resolve(host: host, port: port, kind: .stream, on: loop).whenComplete { [tls] result in
                switch result {
                case .success(let addresses):
                    self.bindStream(listen, to: .address(addresses[0]), socketPath: nil, tls: tls, relay: upstream,
                                    request: request, on: loop)
                case .failure(let error):
                    self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: place))
                }
            }
        case .unix(let path):
            listenUnixStream(listen, name: UnixSocketName(path), relay: upstream, request: request, on: loop)
        case .inet, .unixDatagram:
            sink.complete(request, failure: SocketFailure(
                call: "relay", explanation: "a relay listens for TCP or UNIX stream clients", target: place))
        }
    }
}

/// How a relay's client legs reach the target: its resolved addresses, tried in turn for
/// each client, on the client leg's own loop (so both legs share it).
final class RelayUpstream: Sendable {
    /// As the user wrote it (`tcp://127.0.0.1:80`): shown, and named in failures.
    let target: String
    private let addresses: [SocketAddress]
    private let transport: TransportProtocol
    /// A `tls://` target: the TLS client in front of each upstream leg.
    private let tls: TLSClientSetup?
    private let timeout: TimeAmount
    private let sink: EventSink
    private let registry: SocketRegistry
    /// `hold R1 ...`: the relay's held chunks, in order (`RelayHold.swift`).
    let holdBook: RelayHoldBook

    /// The relay's toxics, its pairs (by their client legs, from the accept on) and whether it is down.
    private struct Toxics {
        var list: [Toxic] = []
        var pairs: [ObjectIdentifier: NIOLoopBound<RelayLegHandler>] = [:]
        var isDown = false
    }
    /// Taken per accept, per pair (start, end) and per toxic or up/down change, never per read.
    private let toxics = NIOLockedValueBox(Toxics())

    /// `relay R1 down`: each new client is refused (`ListenerHandler`) until `relay R1 up`.
    var isDown: Bool { toxics.withLockedValue { $0.isDown } }

    init(addresses: [SocketAddress], target: String, transport: TransportProtocol, tls: TLSClientSetup? = nil,
         timeout: TimeAmount, sink: EventSink, registry: SocketRegistry) {
        self.addresses = addresses
        self.target = target
        self.transport = transport
        self.tls = tls
        self.timeout = timeout
        self.sink = sink
        self.registry = registry
        holdBook = RelayHoldBook(sink: sink)
    }

    /// Opens the upstream leg for `clientLeg` (a new connection id), announced by
    /// `.relay(.upstream)`; if no address answers, the leg's connect fails as a `connect`
    /// does and the client leg closes, saying why.
    func connect(for clientLeg: RelayLegHandler, client: SocketID, on loop: any EventLoop) {
        // Registered before connecting, so `relay down` reaches a pair whose upstream leg is not up yet.
        let wentDown = toxics.withLockedValue { state in
            if !state.isDown { state.pairs[ObjectIdentifier(clientLeg)] = NIOLoopBound(clientLeg, eventLoop: loop) }
            return state.isDown
        }
        // Accepted just before `relay down`: it goes as the pairs did.
        if wentDown { return clientLeg.endPair(.close, reason: Self.downReason(clientLeg.relay)) }
        let id = registry.nextConnectionID()
        sink.emit(.relay(.upstream(id, relay: clientLeg.relay, client: client, transport, target: target)))
        attempt(addresses[...], id: id, clientLeg: NIOLoopBound(clientLeg, eventLoop: loop), lastError: nil, on: loop)
    }

    /// A pair is forwarding: the toxics in place now (changes reach it through `change`).
    var currentToxics: [Toxic] { toxics.withLockedValue { $0.list } }

    static func downReason(_ relay: SocketID) -> String { "relay \(relay) is down" }

    /// `relay R1 down|up`: down closes every pair (each leg for that reason) and refuses new
    /// clients; up forwards new clients again.
    func switchTo(_ change: RelaySwitch, of relay: SocketID, request: RequestID) {
        let outcome: (changed: Bool, pairs: [NIOLoopBound<RelayLegHandler>]) = toxics.withLockedValue { state in
            guard state.isDown != (change == .down) else { return (false, []) }
            state.isDown = change == .down
            return (true, change == .down ? Array(state.pairs.values) : [])
        }
        guard outcome.changed else {
            return sink.complete(request, failure: SocketFailure(call: "relay", explanation: "\(relay) is already \(change.rawValue)"),
                                 socket: relay)
        }
        let reason = Self.downReason(relay)
        for pair in outcome.pairs { pair.eventLoop.execute { pair.value.endPair(.close, reason: reason) } }
        sink.emit(.relay(change == .down ? .down(relay, closedPairs: outcome.pairs.count) : .up(relay)), request: request)
        sink.complete(request)
    }

    /// `hold`, `forward`, `drop`, `edit`, `release`: on every pair's loop (`RelayHoldBook`).
    func hold(_ command: HoldCommand, of relay: SocketID, request: RequestID) {
        let pairs = toxics.withLockedValue { Array($0.pairs.values) }
        holdBook.perform(command, relay: relay, pairs: pairs, request: request)
    }

    func unregister(_ clientLeg: RelayLegHandler) {
        _ = toxics.withLockedValue { $0.pairs.removeValue(forKey: ObjectIdentifier(clientLeg)) }
    }

    /// `toxic R1 add|remove`: changes the list, then hands it to every pair on its own loop,
    /// where it applies from the next read on.
    func change(_ command: ToxicCommand, of relay: SocketID, request: RequestID) {
        let outcome: Result<(RelayEvent, [Toxic], [NIOLoopBound<RelayLegHandler>]), SocketFailure> = toxics.withLockedValue { state in
            switch command {
            case .add(let toxic):
                guard !state.list.contains(where: { $0.name == toxic.name }) else {
                    return .failure(SocketFailure(call: "toxic", explanation: "\(relay) already has a toxic named \(toxic.name)"))
                }
                state.list.append(toxic)
                return .success((.toxicAdded(relay, toxic), state.list, Array(state.pairs.values)))
            case .remove(let name):
                guard state.list.contains(where: { $0.name == name }) else {
                    return .failure(SocketFailure(call: "toxic", explanation: "\(relay) has no toxic named \(name)"))
                }
                state.list.removeAll { $0.name == name }
                return .success((.toxicRemoved(relay, name: name), state.list, Array(state.pairs.values)))
            case .list:
                return .failure(SocketFailure(call: "toxic", explanation: "the list is read from \(relay)'s row"))
            }
        }
        switch outcome {
        case .success(let (event, list, pairs)):
            sink.emit(.relay(event), request: request)
            for pair in pairs { pair.eventLoop.execute { pair.value.toxicsChanged(list) } }
            sink.complete(request)
        case .failure(let failure):
            sink.complete(request, failure: failure, socket: relay)
        }
    }

    private func attempt(_ addresses: ArraySlice<SocketAddress>, id: SocketID, clientLeg: NIOLoopBound<RelayLegHandler>,
                         lastError: (any Error)?, on loop: any EventLoop) {
        if clientLeg.value.hasClosed {
            return sink.emit(.closed(id, reason: "its client leg closed before it connected"))
        }
        guard let address = addresses.first else {
            let failure = lastError.map { SocketFailure.from($0, call: "connect", target: target) }
                ?? SocketFailure(call: "connect", explanation: "no address to connect to", target: target)
            sink.emit(.error(id, failure))
            sink.emit(.closed(id, reason: "connect failed"))
            return clientLeg.value.upstreamFailed(id, failure: failure)
        }
        if self.addresses.count > 1 {
            sink.emit(.attempt(id, address: SocketEndpoint(address)))
        }
        let sink = sink
        let registry = registry
        let noDelay = transport == .tcp
        let tls = tls
        let named = target
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let client = clientLeg.value
                    let leg = RelayLegHandler(role: .upstream, relay: client.relay, sink: sink)
                    let leading = try tls?.handlers(for: id, sink: sink, target: named) ?? []
                    try ConnectionHandler(origin: .relayUpstream(id), mode: .interactive, sink: sink, registry: registry)
                        .install(on: channel, leading: leading, noDelay: noDelay, relayLeg: leg)
                    leg.pair(with: client)
                }
            }
            .connect(to: address)
            .whenFailure { error in
                self.attempt(addresses.dropFirst(), id: id, clientLeg: clientLeg, lastError: error, on: loop)
            }
    }
}
