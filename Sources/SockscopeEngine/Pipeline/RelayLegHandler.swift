import NIOCore
import SockscopeCore

/// One leg of a relayed pair (the client leg a relay accepted, or the upstream leg it opened
/// for that client): forwards what this leg reads to the other leg, and passes this leg's
/// ending (FIN, RST, close) on to it.
///
/// It sits between the `StreamTap` and the `ConnectionHandler` (`ConnectionHandler.install`):
/// this leg's tap counts what it reads, and the other leg's tap counts what is forwarded, as
/// it passes on its way out. Both legs live on one event loop (the upstream leg is connected
/// on the accepted channel's loop), so they call each other directly, without locks.
///
/// - Per read: the read's buffer is written to the other leg's channel as it is (the same
///   `NIOAny`, no copy, no promise), and flushed once per read burst (`channelReadComplete`).
/// - Backpressure: while the other leg's channel is not writable (NIO holds more than its
///   high water mark for the peer), this leg does not ask NIO to read, so the kernel's
///   receive window fills and the sender slows down. Nothing is queued here, with one
///   exception NIO forces: on the peer's FIN NIO reads everything up to EOF even while no
///   read was asked, and before the upstream leg is connected that has nowhere to go yet
///   (`waiting`, at most one receive buffer's worth).
/// - A pause that lasts (`pauseReportedAfter`) is reported, with the bytes held on the
///   other leg, and so is its end.
///
/// Every method runs on the legs' event loop.
final class RelayLegHandler: ChannelDuplexHandler, TrafficTally {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A pause shorter than this is backpressure doing its job, not news.
    static let pauseReportedAfter = TimeAmount.milliseconds(50)

    let role: RelayLegRole
    let relay: SocketID
    private let sink: EventSink
    /// This leg's connection: its id, its tap, and how it closes.
    private(set) var connection: ConnectionHandler?
    /// The other leg, once there is one: set by `pair(with:)`, cleared when either closes.
    private(set) var partner: RelayLegHandler?

    private var context: ChannelHandlerContext?
    /// This leg's channel is active (the upstream leg: connected).
    private var isActive = false
    /// A TLS leg (`relay tls://...`) carries plaintext only once its handshake is done: until
    /// then it reads for the handshake alone, and the other leg neither forwards to it (the
    /// bytes would wait inside TLS, counted as sent, and be lost if the handshake failed) nor
    /// reads for it.
    private var handshakePending = false
    /// Up and, for a TLS leg, through its handshake: the other leg may forward to it.
    private var isReady: Bool { isActive && !handshakePending }
    /// This leg's channel has closed.
    private(set) var hasClosed = false
    /// A toxic is ending the pair: each leg closes for its reason, none passes its end on.
    private var endedByToxic = false
    /// Follows this channel's writability: whether the other leg may read for it.
    @exclusivity(unchecked) private var isWritable = true
    /// Forwarded writes not yet flushed.
    @exclusivity(unchecked) private var flushPending = false
    /// A read was asked for while the other leg could not take more: issued when it can.
    @exclusivity(unchecked) private var readHeld = false
    /// This leg takes no more output: its output was shut down or it is closing.
    private var outputEnded = false
    /// Reads with nowhere to go yet (before the upstream leg is connected; see the type's comment).
    private var waiting: [NIOAny] = []
    /// The peer's FIN came before there was a leg to pass it on to.
    private var finWaiting = false
    /// The other leg is gone (closed, or never connected): reads have nowhere to go.
    private var partnerGone = false
    /// When reading stopped for backpressure, while it is stopped.
    private var pausedSince: NIODeadline?
    private var pauseReported = false
    /// How long the reported pause that just ended lasted.
    private var endedPause: TimeAmount?
    private var tallyQueued = false
    /// Off the engine's loops (tests) the batcher asks for the report at once: no re-asking from inside it.
    private var isReporting = false

    /// A client leg's way to its upstream leg, connected once the client leg is active.
    private let upstream: RelayUpstream?
    /// The toxics acting on what this leg reads; nil (the usual case): reads go straight through.
    private var toxics: ToxicStream?
    /// Whether each toxic (by name) acts on this leg's reads, rolled once against its toxicity.
    private var toxicityRolls: [String: Bool] = [:]
    /// The relay's hold (`hold R1 up`): the client leg's from its relay, the upstream leg's from its pair.
    var holdBook: RelayHoldBook?
    /// What this leg read and holds; nil (the usual case): reads go straight on.
    private var held: HeldTraffic?
    /// Not reading: the relay's held bytes reached `RelayHoldBook.bound` (since then).
    private var holdStalledSince: NIODeadline?

    init(role: RelayLegRole, relay: SocketID, sink: EventSink, upstream: RelayUpstream? = nil) {
        self.role = role
        self.relay = relay
        self.sink = sink
        self.upstream = upstream
        self.holdBook = upstream?.holdBook
    }

    /// Called by `ConnectionHandler.install`, which puts this leg in front of it (`tls`: with
    /// TLS in front of the tap).
    func attach(to connection: ConnectionHandler, tls: Bool) {
        self.connection = connection
        handshakePending = tls
    }

    /// Makes `other` this leg's partner and this leg `other`'s.
    func pair(with other: RelayLegHandler) {
        partner = other
        other.partner = self
        holdBook = holdBook ?? other.holdBook
    }

    private var id: SocketID? { connection?.socketID }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // The connection handler behind names the connection and reports it first.
        context.fireChannelActive()
        isActive = true
        if role == .client {
            // Named now: its upstream leg is connected on this loop (and calls back when it is up).
            if let upstream, let id { upstream.connect(for: self, client: id, on: context.eventLoop) }
            return
        }
        guard let partner, !partner.hasClosed else {
            // The client leg closed while this upstream leg was connecting (`relay down`, or its peer left).
            self.partner = nil
            partnerGone = true
            outputEnded = true
            connection?.closeWhenDrained(reason: "its client leg closed before it connected", announcing: nil)
            return
        }
        // The upstream leg is up: the client leg may now forward what it holds and read (a TLS
        // leg once its handshake is done).
        if isReady { partner.partnerBecameReady() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // This leg's close is reported (by the connection handler) before the other leg acts on it.
        isActive = false
        hasClosed = true
        outputEnded = true
        context.fireChannelInactive()
        if role == .client { upstream?.unregister(self) }
        guard let partner else { return }
        let ending: RelayEnding = connection?.endedByReset == true ? .reset : .close
        // What this leg holds waits for forward, drop or release, as long as the other leg can take it.
        if ending == .close, let held, !held.isEmpty, partner.isActive, !endedByToxic {
            _ = held.flushPartial().map { announceHeld($0) }
            return held.whenEmpty.append { [weak partner] in
                if let partner, self.partner === partner { self.unpair(from: partner, ending: ending) }
            }
        }
        // What this leg read and its toxics still hold goes out first (and slow_close waits).
        if ending == .close, let toxics, !toxics.isIdle {
            return toxics.whenDrained(slowClose: true) { self.unpair(from: partner, ending: ending) }
        }
        unpair(from: partner, ending: ending)
    }

    /// This leg is gone: the other leg takes nothing more from it and passes its end on.
    private func unpair(from partner: RelayLegHandler, ending: RelayEnding) {
        // Held chunks have nowhere to go now.
        dropAllHeld()
        partner.dropAllHeld()
        // Counted before the toxics go with the pair.
        emitFirings()
        partner.emitFirings()
        toxics?.cancel()
        toxics = nil
        partner.toxics?.cancel()
        partner.toxics = nil
        self.partner = nil
        partner.partner = nil
        partner.partnerGone = true
        // A partner still connecting closes itself once connected (`channelActive`).
        guard partner.isActive, !endedByToxic, let id else { return }
        partner.passOn(ending, from: id)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let partner, partner.isReady else {
            // Only NIO's read to EOF, or the read that ended this leg's TLS handshake, brings
            // data before the other leg is ready.
            if !partnerGone, !endedByToxic { waiting.append(data) }
            return
        }
        if held != nil { return hold(Self.unwrapInboundIn(data)) }
        if let toxics { return toxics.accept(Self.unwrapInboundIn(data)) }
        partner.forward(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        toxics?.endOfBurst()
        partner?.flushForwarded()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if handshakePending, TLSHandshakeReporter.isHandshakeCompletion(event) {
            handshakePending = false
            context.fireUserInboundEventTriggered(event)
            // The other leg may now forward what it holds to this one, and read for it.
            if let partner, partner.isReady, isReady { partner.partnerBecameReady() }
            return
        }
        guard case ChannelEvent.inputClosed = event else { return context.fireUserInboundEventTriggered(event) }
        // The connection handler reports the peer's FIN first.
        context.fireUserInboundEventTriggered(event)
        guard let partner, partner.isReady, let id else {
            finWaiting = true
            return
        }
        partner.flushForwarded()
        // After what is held (a partial frame held as it is): forward, drop or release lets the FIN go.
        if let held {
            _ = held.flushPartial().map { announceHeld($0) }
            if !held.isEmpty { return held.whenEmpty.append { self.passFinOn(to: partner, from: id) } }
        }
        passFinOn(to: partner, from: id)
    }

    private func passFinOn(to partner: RelayLegHandler, from id: SocketID) {
        guard let toxics else { return partner.passOn(.fin, from: id) }
        // After what the toxics still hold, and slow_close's delay.
        toxics.whenDrained(slowClose: true) { partner.passOn(.fin, from: id) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    /// NIO asks to read (autoRead): only while the other leg is up and takes more.
    func read(context: ChannelHandlerContext) {
        // The handshake's own messages: nothing to forward yet.
        if handshakePending { return context.read() }
        guard let partner, partner.isReady, partner.isWritable, toxics?.isFull != true, holdStalledSince == nil else {
            readHeld = true
            if partner?.isReady == true, partner?.isWritable == false, pausedSince == nil {
                pausedSince = .now()
                queueTally()
            }
            return
        }
        context.read()
    }

    // MARK: What the other leg asks

    /// Writes a read of the other leg out on this leg, towards the socket: the tap in
    /// front counts it.
    private func forward(_ data: NIOAny) {
        // A leg shut down for writing or closing takes nothing more (NIO would refuse it
        // after the tap had counted it).
        guard !outputEnded, let context, connection?.takesOutput == true else { return }
        context.write(data, promise: nil)
        flushPending = true
    }

    private func flushForwarded() {
        guard flushPending, let context else { return }
        flushPending = false
        context.flush()
    }

    /// This leg's channel can take more again: the other leg may read.
    private func resumeReading() {
        guard readHeld, let context, let partner, partner.isReady, partner.isWritable, toxics?.isFull != true,
              holdStalledSince == nil else { return }
        readHeld = false
        if let since = pausedSince {
            pausedSince = nil
            if pauseReported {
                endedPause = .now() - since
                queueTally()
            }
        }
        context.read()
    }

    /// The other leg is ready (the upstream one connected, a TLS leg through its handshake):
    /// forward what waited and start reading.
    private func partnerBecameReady() {
        guard let partner, let id, let context else { return }
        if let upstream { toxicsChanged(upstream.currentToxics) }
        if let holdBook {
            let setting = holdBook.setting
            holdChanged(setting.direction, setting.framing)
        }
        if !waiting.isEmpty {
            for data in waiting {
                if held != nil { hold(Self.unwrapInboundIn(data)) } else { partner.forward(data) }
            }
            waiting = []
            partner.flushForwarded()
        }
        if finWaiting {
            finWaiting = false
            partner.passOn(.fin, from: id)
        }
        resumeReading()
    }

    /// The other leg ended: pass it on here (FIN: shutdown write; reset: RST; close: close
    /// once the output has left).
    private func passOn(_ ending: RelayEnding, from other: SocketID) {
        guard let connection, let id else { return }
        let event = EngineEventKind.relay(.passedOn(id, role, relay: relay, from: other, ending))
        switch ending {
        case .fin:
            outputEnded = true
            connection.shutDownOutputWhenDrained(announcing: event)
        case .reset:
            outputEnded = true
            connection.abort(reason: "reset: \(other) was reset (RST passed on)", announcing: event)
        case .close:
            outputEnded = true
            connection.closeWhenDrained(reason: "\(other) closed (close passed on)", announcing: event)
        }
    }

    // MARK: Toxics

    /// The client leg of a pair: the relay's toxics changed (or the pair just started). Each
    /// leg keeps those acting on what it reads.
    func toxicsChanged(_ list: [Toxic]) {
        guard role == .client, let partner else { return }
        setToxics(list.filter { $0.direction.acts(onReadsOf: .client) })
        partner.setToxics(list.filter { $0.direction.acts(onReadsOf: .upstream) })
    }

    private func setToxics(_ all: [Toxic]) {
        // --toxicity: one roll per toxic for this leg's direction, when it first reaches the
        // leg, kept while the toxic stays (toxiproxy decides per link, not per chunk).
        toxicityRolls = toxicityRolls.filter { name, _ in all.contains { $0.name == name } }
        let list = all.filter { toxic in
            if let acts = toxicityRolls[toxic.name] { return acts }
            let acts = toxic.acts(rolling: Double.random(in: 0..<1))
            toxicityRolls[toxic.name] = acts
            return acts
        }
        guard let context, toxics != nil || !list.isEmpty else { return }
        let stream = toxics ?? ToxicStream(leg: self, loop: context.eventLoop)
        toxics = stream
        stream.update(list)
    }

    /// A piece the toxics let go: written and flushed on the other leg at once.
    func release(_ piece: ByteBuffer) {
        guard let partner else { return }
        partner.forward(NIOAny(piece))
        partner.flushForwarded()
    }

    /// The toxics' queue has room again (or they were removed): reading may go on.
    func toxicsMayTakeMore() {
        if toxics?.isIdle == true { toxics = nil }
        resumeReading()
    }

    func noteToxicFired() {
        queueTally()
    }

    /// A toxic (limit_data, timeout: close; reset_peer: RST) or `relay down` (close) ends the
    /// pair, both legs at once, each for that reason (not for the other leg's close).
    func endPair(_ ending: RelayEnding, reason: String) {
        let legs = [self, partner].compactMap { $0 }
        for leg in legs {
            leg.endedByToxic = true
            // The firing that ends the pair is told before the legs' closes.
            leg.emitFirings()
        }
        for leg in legs {
            if ending == .reset {
                leg.connection?.abort(reason: reason, announcing: nil)
            } else {
                leg.connection?.closeWhenDrained(reason: reason, announcing: nil)
            }
        }
    }

    /// The upstream leg could not connect: the client leg closes, saying why.
    func upstreamFailed(_ upstream: SocketID, failure: SocketFailure) {
        partner = nil
        partnerGone = true
        waiting = []
        outputEnded = true
        let cause = [failure.code, failure.target].compactMap { $0 }.joined(separator: " ")
        connection?.closeWhenDrained(reason: "upstream \(upstream) could not connect: \(cause.isEmpty ? failure.explanation : cause)",
                                     announcing: nil)
    }

    // MARK: Holding

    /// The client leg of a pair: the relay holds `direction` now (nil: it stopped holding).
    /// Each leg holds what it reads if the direction is its own.
    func holdChanged(_ direction: ToxicDirection?, _ framing: HoldFraming) {
        guard role == .client else { return }
        for leg in [self, partner].compactMap({ $0 }) {
            if let direction, direction.acts(onReadsOf: leg.role) {
                leg.startHolding(framing)
            } else {
                leg.stopHolding()
            }
        }
    }

    private func startHolding(_ framing: HoldFraming) {
        if let held, held.framing == framing || !held.isEmpty { return }
        held = HeldTraffic(framing: framing)
    }

    /// A read while holding: cut into chunks, each held and told; at the relay's bound, reading stops.
    private func hold(_ read: ByteBuffer) {
        guard let held else { return }
        for chunk in held.cut(read) {
            held.append(chunk)
            announceHeld(chunk)
        }
        guard let holdBook, holdStalledSince == nil, let context else { return }
        let relayHeld = holdBook.heldBytes + held.pendingBytes
        guard relayHeld >= RelayHoldBook.bound else { return }
        holdStalledSince = .now()
        holdBook.stall(self, on: context.eventLoop)
        if let id, let connection {
            connection.sinkAfterTraffic.emit(.relay(.holdFull(id, role, relay: relay, relayHeld: relayHeld, bound: RelayHoldBook.bound)))
        }
    }

    /// A chunk joined the held ones: its ticket in the relay's order, and its event.
    private func announceHeld(_ chunk: ByteBuffer) {
        guard let holdBook, let held, let context, let id, let connection else { return }
        let sequence = holdBook.enqueue(self, bytes: chunk.readableBytes, on: context.eventLoop).sequence
        let preview = chunk.getBytes(at: chunk.readerIndex, length: min(chunk.readableBytes, DataPreview.limit)) ?? []
        connection.sinkAfterTraffic.emit(.relay(.held(id, role, relay: relay, sequence: sequence, bytes: preview,
                                                      count: chunk.readableBytes, heldChunks: held.chunks.count,
                                                      heldBytes: held.bytes)))
    }

    /// `forward`, `drop`, `edit`: the next `count` held chunks of this leg go on, go, or go as `replacement`.
    func takeHeld(_ outcome: HeldOutcome, count: Int, replacement: [UInt8]? = nil) {
        guard let held, let id, let connection, let context else { return }
        var chunks = 0
        var bytes = 0
        while chunks < count, let chunk = held.next() {
            chunks += 1
            switch outcome {
            case .forwarded:
                bytes += chunk.readableBytes
                sendOn(chunk)
            case .dropped:
                bytes += chunk.readableBytes
            case .edited:
                let edited = held.framed(replacement ?? [], allocator: context.channel.allocator)
                bytes += edited.readableBytes
                sendOn(edited)
            }
        }
        connection.sinkAfterTraffic.emit(.relay(.heldOut(id, role, relay: relay, outcome, chunks: chunks, bytes: bytes,
                                                         heldChunks: held.chunks.count, heldBytes: held.bytes)))
        runWhenHeldEmpty()
    }

    /// Held bytes on their way, as a read of this leg would go: through the toxics, if any.
    private func sendOn(_ chunk: ByteBuffer) {
        guard let partner, partner.isActive else { return }
        if let toxics {
            toxics.accept(chunk)
            return toxics.endOfBurst()
        }
        partner.forward(NIOAny(chunk))
        partner.flushForwarded()
    }

    /// `release`, or the hold no longer covers this leg's direction: everything held goes on, in order.
    func stopHolding() {
        guard let held else { return }
        _ = held.flushPartial()
        let count = held.chunks.count
        if count > 0 { takeHeld(.forwarded, count: count) }
        self.held = nil
        holdBook?.removeTickets(of: self)
        for body in held.whenEmpty { body() }
        holdHasRoom()
    }

    /// The pair ended: what is held is dropped, and said so.
    private func dropAllHeld() {
        guard let held else { return }
        _ = held.flushPartial()
        if !held.chunks.isEmpty { takeHeld(.dropped, count: held.chunks.count) }
        self.held = nil
        holdBook?.removeTickets(of: self)
    }

    private func runWhenHeldEmpty() {
        guard let held, held.isEmpty, !held.whenEmpty.isEmpty else { return }
        let waiting = held.whenEmpty
        held.whenEmpty = []
        for body in waiting { body() }
    }

    /// The relay holds less than its bound again: this leg may read.
    func holdHasRoom() {
        guard let since = holdStalledSince else { return }
        holdStalledSince = nil
        if let id, let connection {
            let milliseconds = Int((NIODeadline.now() - since).nanoseconds / 1_000_000)
            connection.sinkAfterTraffic.emit(.relay(.resumed(id, role, relay: relay, milliseconds: milliseconds)))
        }
        resumeReading()
    }

    // MARK: Reports

    /// The toxics' firings since the last report, one event per toxic.
    private func emitFirings() {
        guard let id, let connection, let toxics else { return }
        for (name, count) in toxics.takeFirings() {
            connection.sinkAfterTraffic.emit(.relay(.toxicFired(id, role, relay: relay, name: name, count: count)))
        }
    }

    private func queueTally() {
        guard !tallyQueued else { return }
        tallyQueued = true
        sink.tally(self)
    }

    /// With the engine's batch: a pause that has lasted is reported once, with the bytes
    /// held on the other leg; its end once it was reported.
    func reportTraffic() {
        tallyQueued = false
        guard !isReporting, let id, let connection else { return }
        isReporting = true
        defer { isReporting = false }
        emitFirings()
        if let lasted = endedPause {
            endedPause = nil
            pauseReported = false
            let milliseconds = Int(lasted.nanoseconds / 1_000_000)
            connection.sinkAfterTraffic.emit(.relay(.resumed(id, role, relay: relay, milliseconds: milliseconds)))
        }
        guard let since = pausedSince, readHeld, !pauseReported else { return }
        guard NIODeadline.now() - since >= Self.pauseReportedAfter else {
            // Looked at again with the next batch (the batcher paces it).
            return queueTally()
        }
        guard let partner, let partnerID = partner.id else { return }
        pauseReported = true
        let held = (try? partner.context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        connection.sinkAfterTraffic.emit(.relay(.paused(id, role, relay: relay, waitingOn: partnerID, held: held)))
    }
}
