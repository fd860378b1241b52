import NIOCore
import NIOPosix
import SockscopeCore

extension Engine {
    /// `relay udp://LISTEN udp://TARGET`: the target is resolved once, the relay's socket is
    /// bound (no SO_REUSEADDR, as a UDP listener) and each client address gets its own
    /// upstream socket (`UDPRelay`). Runs on `loop`.
    func relayDatagrams(_ relay: RelayRequest, request: RequestID, on loop: any EventLoop) {
        guard case .inet(.udp, let targetHost, let targetPort) = relay.target,
              case .inet(.udp, let host, let port) = relay.listen.endpoint else {
            return sink.complete(request, failure: SocketFailure(call: "relay", explanation: "a UDP relay forwards UDP to UDP"))
        }
        let target = relay.target.description
        let place = relay.listen.endpoint.description
        let idle = TimeAmount.milliseconds(Int64(relay.listen.policy.idleTimeoutMilliseconds ?? UDPRelay.defaultIdleMilliseconds))
        resolver.resolve(host: targetHost, port: targetPort, kind: .datagram, on: loop).and(
            resolver.resolve(host: host, port: port, kind: .datagram, on: loop)
        ).whenComplete { result in
            switch result {
            case .failure(let error):
                self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: "\(place) -> \(target)"))
            case .success(let (targets, locals)):
                let relayHandler = UDPRelay(target: target, targetAddress: targets[0], idle: idle,
                                            policy: relay.listen.policy, sink: self.sink, registry: self.registry)
                var bootstrap = DatagramBootstrap(group: loop)
                    .channelOption(.autoRead, value: false)
                    .channelOption(.recvAllocator, value: DatagramHandler.receiveAllocator)
                if relay.listen.reuseAddress { bootstrap = bootstrap.channelOption(.socketOption(.so_reuseaddr), value: 1) }
                bootstrap
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(relayHandler) }
                    }
                    .bind(to: locals[0])
                    .whenComplete { result in
                        switch result {
                        case .success(let channel):
                            let id = self.registry.nextRelayID()
                            self.sink.emit(.relay(.listening(id, .udp, local: SocketEndpoint(channel.localAddress), target: target)),
                                           request: request)
                            relayHandler.activate(as: id, channel: channel)
                            self.sink.complete(request)
                        case .failure(let error):
                            self.sink.complete(request, failure: .from(error, call: "bind", target: place))
                        }
                    }
            }
        }
    }
}

/// Whatever a relay is, stream or UDP: its toxics change and it goes down and up
/// (`toxic R1 ...`, `relay R1 down|up`). Call on the relay's listening socket's loop.
protocol RelayControl: AnyObject {
    func change(_ command: ToxicCommand, of relay: SocketID, request: RequestID)
    func switchTo(_ change: RelaySwitch, of relay: SocketID, request: RequestID)
    /// Stream relays hold their traffic; a UDP relay answers that it does not.
    func hold(_ command: HoldCommand, of relay: SocketID, request: RequestID)
}

extension RelayUpstream: RelayControl {}

/// A UDP relay (`R1`): its socket receives every client's datagrams; each client address
/// gets a session, a pair of legs in Connections: the client leg (`C` id: that address, as
/// seen on the relay's socket) and the upstream leg (`C` id: a socket of its own, connected
/// to the target, so only the target's answers reach it and they go back to that client).
///
/// - Each datagram is forwarded whole and on its own, both ways, and reported on its leg as
///   one `.receivedFrom` / `.sentTo` (the legs' `DatagramLog`s bound a flood).
/// - A session ends after `idle` without a datagram either way (one timer per session, so
///   an idle relay with no sessions never wakes), when the relay closes or goes down.
/// - UDP has no backpressure: a datagram that finds the other socket's NIO write buffer over
///   its high water mark (64 KiB) is dropped, as the kernel drops one that finds the socket
///   buffer full, and the drop is counted on the leg (`relay-dropped`): nothing queues
///   without bound. Before its upstream socket is connected a session holds at most
///   `waitingLimit` datagrams.
/// - `loss` (the only toxic a UDP relay takes) drops each datagram with its probability,
///   after its toxicity was rolled once per session and direction; each drop is a firing.
///
/// Everything, the sessions' upstream channels included, runs on the relay socket's loop.
final class UDPRelay: ChannelInboundHandler, SocketControl, RelayControl {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    static let defaultIdleMilliseconds = 60_000
    /// Datagrams a new session keeps while its upstream socket connects.
    static let waitingLimit = 64

    let target: String
    private let targetAddress: SocketAddress
    private let idle: TimeAmount
    /// --allow, --deny, --max-conns: applied to a new client address (a new pair).
    private let policy: ListenerPolicy
    private let sink: EventSink
    private let registry: SocketRegistry
    private var id: SocketID?
    private var context: ChannelHandlerContext?
    private var sessions: [SocketAddress: Session] = [:]
    private var toxics: [Toxic] = []
    private var isDown = false
    /// Addresses told they were refused (while down, or by the access policy): one `refused`
    /// each until the relay goes down or up, not one per datagram.
    private var refused: Set<SocketAddress> = []
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    init(target: String, targetAddress: SocketAddress, idle: TimeAmount, policy: ListenerPolicy, sink: EventSink,
         registry: SocketRegistry) {
        self.target = target
        self.targetAddress = targetAddress
        self.idle = idle
        self.policy = policy
        self.sink = sink
        self.registry = registry
    }

    /// One client address's pair of legs.
    final class Session {
        let client: SocketID
        let upstream: SocketID
        let address: SocketAddress
        /// The client leg's datagrams (on the relay's socket, to and from `address`).
        let clientLog: DatagramLog
        /// The upstream socket's tap: it reports that leg's datagrams.
        var upstreamTap: DatagramTap?
        var upstreamChannel: (any Channel)?
        var waiting: [ByteBuffer] = []
        var lastActivity = NIODeadline.now()
        var idleCheck: Scheduled<Void>?
        var ended = false
        /// Per direction (`up`: client to server): whether each toxic acts, rolled once.
        var rolls: [String: Bool] = [:]
        /// Firings per toxic name and leg since the last report.
        var firings: [String: (client: Int, upstream: Int)] = [:]
        var dropped = (client: 0, upstream: 0)

        init(client: SocketID, upstream: SocketID, address: SocketAddress, sink: EventSink) {
            self.client = client
            self.upstream = upstream
            self.address = address
            clientLog = DatagramLog(sink: sink)
            clientLog.id = client
        }
    }

    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        registry.register(id, channel: channel, control: self)
        channel.setOption(.autoRead, value: true).whenFailure { [sink] error in
            sink.emit(.error(id, .from(error, call: "recvmsg")))
        }
    }

    var capability: SocketCapability { .relay(self) }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: From clients

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let id else { return }
        let envelope = Self.unwrapInboundIn(data)
        let address = envelope.remoteAddress
        let existing = sessions[address]
        let refusal = isDown ? RelayUpstream.downReason(id)
            : existing == nil ? policy.refusal(for: SocketEndpoint(address), openConnections: sessions.count) : nil
        if let refusal {
            // Bounded: a flood from ever new addresses is told again rather than remembered.
            if refused.count >= 4096 { refused = [] }
            if refused.insert(address).inserted { sink.emit(.refused(id, remote: SocketEndpoint(address), reason: refusal)) }
            return
        }
        let session = existing ?? open(for: address, on: context)
        let count = envelope.data.readableBytes
        session.clientLog.received(from: SocketEndpoint(address),
                                   bytes: envelope.data.getBytes(at: envelope.data.readerIndex, length: min(count, DataPreview.limit)) ?? [],
                                   count: count, truncated: count >= DatagramTap.receiveBufferSize)
        session.lastActivity = .now()
        guard !lost(session, going: .client) else { return }
        guard let channel = session.upstreamChannel else {
            if session.waiting.count < Self.waitingLimit { session.waiting.append(envelope.data) } else { drop(session, on: .client) }
            return
        }
        forwardUp(envelope.data, session, channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sink.emit(.error(id, SocketFailure.from(error, call: "recvmsg", namedByNIO: false).explained(on: .udp)))
    }

    private func forwardUp(_ buffer: ByteBuffer, _ session: Session, _ channel: any Channel) {
        guard channel.isWritable else { return drop(session, on: .client) }
        // From the pipeline's tail, through the upstream leg's tap, which reports it as that leg's `.sentTo`.
        channel.pipeline.syncOperations.writeAndFlush(NIOAny(AddressedEnvelope(remoteAddress: targetAddress, data: buffer)),
                                                      promise: nil)
    }

    /// A datagram the upstream leg read: back to its client, from the relay's socket.
    fileprivate func answer(_ buffer: ByteBuffer, for session: Session) {
        guard !session.ended, let context else { return }
        session.lastActivity = .now()
        guard !lost(session, going: .upstream) else { return }
        guard context.channel.isWritable else { return drop(session, on: .upstream) }
        let count = buffer.readableBytes
        let preview = buffer.getBytes(at: buffer.readerIndex, length: min(count, DataPreview.limit)) ?? []
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: session.address, data: buffer)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                session.clientLog.sent(to: SocketEndpoint(session.address), bytes: preview, count: count, request: nil)
            case .failure(let error):
                session.clientLog.emitUnlogged()
                self.sink.emit(.error(session.client, SocketFailure.from(error, call: "sendmsg", namedByNIO: false).explained(on: .udp)))
            }
        }
    }

    // MARK: Sessions

    private func open(for address: SocketAddress, on context: ChannelHandlerContext) -> Session {
        let id = id!
        let session = Session(client: registry.nextConnectionID(), upstream: registry.nextConnectionID(), address: address,
                              sink: sink)
        sessions[address] = session
        sink.emit(.accepted(session.client, listener: id, local: SocketEndpoint(context.channel.localAddress),
                            remote: SocketEndpoint(address)))
        sink.emit(.relay(.upstream(session.upstream, relay: id, client: session.client, .udp, target: target)))
        scheduleIdleCheck(session, at: session.lastActivity + idle)
        let sink = sink
        let tap = DatagramTap(sink: sink, credit: nil, isConnected: true)
        tap.id = session.upstream
        session.upstreamTap = tap
        let reader = UpstreamReader(relay: self, session: session)
        DatagramBootstrap(group: context.eventLoop)
            .channelOption(.recvAllocator, value: DatagramHandler.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(tap)
                    try channel.pipeline.syncOperations.addHandler(reader)
                }
            }
            .connect(to: targetAddress)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard !session.ended else { return channel.close(promise: nil) }
                    session.upstreamChannel = channel
                    sink.emit(.connected(session.upstream, local: SocketEndpoint(channel.localAddress),
                                         remote: SocketEndpoint(channel.remoteAddress)))
                    let waiting = session.waiting
                    session.waiting = []
                    for buffer in waiting { self.forwardUp(buffer, session, channel) }
                case .failure(let error):
                    sink.emit(.error(session.upstream, .from(error, call: "connect", target: self.target)))
                    self.end(session, reason: "upstream \(session.upstream) could not connect")
                }
            }
        return session
    }

    private func scheduleIdleCheck(_ session: Session, at deadline: NIODeadline) {
        guard let context else { return }
        session.idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            guard !session.ended else { return }
            let due = session.lastActivity + self.idle
            if NIODeadline.now() >= due {
                let milliseconds = self.idle.nanoseconds / 1_000_000
                let seconds = milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : "\(Double(milliseconds) / 1000)"
                self.end(session, reason: "idle: no datagram for \(seconds) s (--idle-timeout)")
            } else {
                self.scheduleIdleCheck(session, at: due)
            }
        }
    }

    /// Ends the pair: both legs' counted datagrams, their firings, then their closes.
    private func end(_ session: Session, reason: String) {
        guard !session.ended else { return }
        session.ended = true
        session.idleCheck?.cancel()
        sessions[session.address] = nil
        reportCounts(session)
        session.clientLog.emitUnlogged()
        session.upstreamTap?.log.emitUnlogged()
        session.upstreamChannel?.close(promise: nil)
        sink.emit(.closed(session.upstream, reason: reason))
        sink.emit(.closed(session.client, reason: reason))
    }

    private func endAll(reason: String) -> Int {
        let all = Array(sessions.values)
        for session in all { end(session, reason: reason) }
        return all.count
    }

    // MARK: Toxics and drops

    /// `loss`, in the direction of a datagram read by `leg`: dropped (and counted) or not.
    private func lost(_ session: Session, going leg: RelayLegRole) -> Bool {
        for toxic in toxics where toxic.direction.acts(onReadsOf: leg) {
            guard case .loss(let percent) = toxic.effect else { continue }
            let key = "\(toxic.name)/\(leg.rawValue)"
            let acts = session.rolls[key] ?? {
                let rolled = toxic.acts(rolling: Double.random(in: 0..<1))
                session.rolls[key] = rolled
                return rolled
            }()
            guard acts, Int.random(in: 0..<100) < percent else { continue }
            var counts = session.firings[toxic.name] ?? (0, 0)
            if leg == .client { counts.client += 1 } else { counts.upstream += 1 }
            session.firings[toxic.name] = counts
            queueReport(session)
            return true
        }
        return false
    }

    private func drop(_ session: Session, on leg: RelayLegRole) {
        if leg == .client { session.dropped.client += 1 } else { session.dropped.upstream += 1 }
        queueReport(session)
    }

    /// Firings and drops are reported in bulk: with the next loop turn, not per datagram.
    private var reportQueued: Set<ObjectIdentifier> = []
    private func queueReport(_ session: Session) {
        guard let context, reportQueued.insert(ObjectIdentifier(session)).inserted else { return }
        context.eventLoop.assumeIsolated().execute {
            self.reportQueued.remove(ObjectIdentifier(session))
            self.reportCounts(session)
        }
    }

    private func reportCounts(_ session: Session) {
        guard let id else { return }
        for (name, counts) in session.firings.sorted(by: { $0.key < $1.key }) {
            if counts.client > 0 {
                session.clientLog.emitUnlogged()
                sink.emit(.relay(.toxicFired(session.client, .client, relay: id, name: name, count: counts.client)))
            }
            if counts.upstream > 0 {
                session.upstreamTap?.log.emitUnlogged()
                sink.emit(.relay(.toxicFired(session.upstream, .upstream, relay: id, name: name, count: counts.upstream)))
            }
        }
        session.firings = [:]
        for (leg, count) in [(RelayLegRole.client, session.dropped.client), (.upstream, session.dropped.upstream)] where count > 0 {
            let socket = leg == .client ? session.client : session.upstream
            sink.emit(.relay(.dropped(socket, leg, relay: id, count: count)))
        }
        session.dropped = (0, 0)
    }

    // MARK: RelayControl

    func change(_ command: ToxicCommand, of relay: SocketID, request: RequestID) {
        let event: RelayEvent
        switch command {
        case .add(let toxic):
            guard toxic.effect.isForDatagrams else {
                return sink.complete(request, failure: SocketFailure(call: "toxic", explanation: "a UDP relay takes loss only"),
                                     socket: relay)
            }
            guard !toxics.contains(where: { $0.name == toxic.name }) else {
                return sink.complete(request, failure: SocketFailure(call: "toxic", explanation: "\(relay) already has a toxic named \(toxic.name)"),
                                     socket: relay)
            }
            toxics.append(toxic)
            event = .toxicAdded(relay, toxic)
        case .remove(let name):
            guard toxics.contains(where: { $0.name == name }) else {
                return sink.complete(request, failure: SocketFailure(call: "toxic", explanation: "\(relay) has no toxic named \(name)"),
                                     socket: relay)
            }
            toxics.removeAll { $0.name == name }
            for session in sessions.values { session.rolls = session.rolls.filter { !$0.key.hasPrefix(name + "/") } }
            event = .toxicRemoved(relay, name: name)
        case .list:
            return sink.complete(request, failure: SocketFailure(call: "toxic", explanation: "the list is read from \(relay)'s row"),
                                 socket: relay)
        }
        sink.emit(.relay(event), request: request)
        sink.complete(request)
    }

    func hold(_ command: HoldCommand, of relay: SocketID, request: RequestID) {
        sink.complete(request, failure: SocketFailure(
            call: command.verb, explanation: "\(relay) is a UDP relay; hold works on stream relays (TCP, UNIX)"), socket: relay)
    }

    func switchTo(_ change: RelaySwitch, of relay: SocketID, request: RequestID) {
        guard isDown != (change == .down) else {
            return sink.complete(request, failure: SocketFailure(call: "relay", explanation: "\(relay) is already \(change.rawValue)"),
                                 socket: relay)
        }
        isDown = change == .down
        refused = []
        let closed = isDown ? endAll(reason: RelayUpstream.downReason(relay)) : 0
        sink.emit(.relay(isDown ? .down(relay, closedPairs: closed) : .up(relay)), request: request)
        sink.complete(request)
    }

    // MARK: SocketControl (the relay's own socket)

    func send(_ bytes: [UInt8], request: RequestID) {
        sink.complete(request, failure: SocketFailure(call: "send", explanation: "a relay forwards; it sends nothing of its own"),
                      socket: id)
    }

    func close(reason: String, request: RequestID?) {
        guard let context, context.channel.isActive else {
            if let request { sink.complete(request, failure: SocketFailure(call: "close", explanation: "no open relay"), socket: id) }
            return
        }
        if let request { closeRequests.append(request) }
        if closeReason == nil {
            closeReason = reason
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Unlike a stream relay's pairs, a UDP pair has no socket of its own on the client side: it goes with the relay.
        _ = endAll(reason: "relay \(id.map { "\($0)" } ?? "") closed")
        if let id { registry.remove(id) }
        sink.reportClosed(id, reason: closeReason ?? (registry.isStopping ? "engine stopped" : "socket failed"),
                          closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }
}

/// Behind an upstream socket's tap: hands each datagram from the target to the relay, which
/// sends it back to the session's client.
private final class UpstreamReader: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let relay: UDPRelay
    private let session: UDPRelay.Session

    init(relay: UDPRelay, session: UDPRelay.Session) {
        self.relay = relay
        self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        relay.answer(Self.unwrapInboundIn(data).data, for: session)
    }

    /// An ICMP port unreachable from the target (ECONNREFUSED) is news on the upstream leg; the pair goes on.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.upstreamTap?.log.emitUnlogged()
        relay.reportUpstreamError(error, session: session)
    }
}

extension UDPRelay {
    fileprivate func reportUpstreamError(_ error: any Error, session: Session) {
        sink.emit(.error(session.upstream, SocketFailure.from(error, call: "recvmsg", namedByNIO: false).explained(on: .udp)))
    }
}
