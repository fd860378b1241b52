import Glibc
import NIOCore
import SockscopeCore

/// Drives one stream connection (TCP or UNIX), accepted or outgoing: its life (open,
/// half-closed, closed, and why), the user's requests (send, sendfile, shutdown, reset,
/// close) and the events about them. Its traffic is counted by the `StreamTap` near the
/// head of the pipeline, and a listener's mode is carried out by a `StreamResponder`
/// between the two (`install` builds the pipeline).
///
/// Lives at the tail of the channel's pipeline; every method runs on the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler, StreamControl {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Origin {
        /// Accepted by this listener; the id is allocated when the connection becomes active.
        case accepted(listener: SocketID)
        /// Made by a `.connect` request, which is completed once the connection is up.
        case outgoing(SocketID, request: RequestID)
        /// A relay's upstream leg, opened for one of its clients (no request of its own).
        case relayUpstream(SocketID)
    }

    private let origin: Origin
    /// Use `sinkAfterTraffic` instead.
    private let sink: EventSink
    private let registry: SocketRegistry
    /// Counts and reports the connection's traffic; requested writes go out through it.
    let tap: StreamTap
    /// Carries out a listener's `--echo`, `--reply` or `--discard`; nil when the user answers.
    private let responder: StreamResponder?
    /// Answers by the connection's rules; added behind the tap once it has any (`refreshRules`).
    private var rules: RuleResponder?

    private var id: SocketID
    private var context: ChannelHandlerContext?
    private var isOpen = false
    /// No new work (sends, files) is taken: a close is under way, perhaps waiting for queued output.
    private var isClosing = false
    /// Set once `reset` has been asked: nothing graceful follows it.
    private var isResetting = false
    private var inputClosed = false
    private(set) var closeReason: String?
    private var closeRequests: [RequestID] = []
    /// One kernel failure per connection is news; the same errno failing every queued write is not.
    private var failureReported = false
    /// Files being sent (`FileSender`s running): each queues its next chunks only as earlier
    /// ones leave, so NIO's queue alone cannot say when the output is done.
    private var fileSends = 0
    /// What waits for every file being sent to finish, then for NIO's queue to drain: a
    /// requested close or `shutdown write` (graceful, as close(2) is for what the kernel holds).
    private var afterFileSends: [() -> Void] = []
    /// Set by our own `shutdown`: NIO then reports `inputClosed` as if the peer had sent FIN.
    private var inputShutDownByUs = false
    private var outputShutDown = false
    /// A `connect tls://` is answered when its handshake is done (or failed), not when TCP
    /// is up: a script's next `send` is then encrypted, and a failed handshake fails it.
    private var completesAfterHandshake = false
    private var awaitingHandshake: RequestID?
    /// The connection ended with an RST, the peer's or ours: a relay passes that on as an RST.
    private(set) var endedByReset = false

    init(origin: Origin, mode: ListenMode, sink: EventSink, registry: SocketRegistry) {
        self.origin = origin
        self.sink = sink
        self.registry = registry
        let tap = StreamTap(sink: sink, credit: registry.payloadCredit)
        self.tap = tap
        responder = Responder(mode: mode, framing: .stream).map { StreamResponder($0, tap: tap) }
        switch origin {
        case .accepted: id = SocketID(.connection, 0)
        case .outgoing(let id, _), .relayUpstream(let id): self.id = id
        }
        // The client side's bytes, for `replay`: the peer's on an accepted connection, ours on
        // one we opened. A relay's upstream leg writes its client leg's reads, recorded there.
        // Not the clients of `--echo` and `--discard` listeners: they are load to soak up (10 000
        // held echo clients would each keep their request), not conversations to replay
        // (`ReplayRecord.isKept(forClientsOf:)`).
        switch origin {
        case .accepted:
            if ReplayRecord.isKept(forClientsOf: mode) { tap.replayRecords = registry.replayRecords }
        case .outgoing:
            tap.replayRecords = registry.replayRecords
            tap.recordsOutput = true
        case .relayUpstream: break
        }
    }

    // MARK: Setup

    /// Sets up a new stream connection's channel (accepted, connected, or handed over by
    /// step mode) and builds its pipeline, the one place it is built, from the socket on:
    ///
    ///     `leading` (what changes the bytes on the wire, e.g. TLS; an idle watch)
    ///     -> `StreamTap` (counts and reports both directions)
    ///     -> `StreamResponder` (echo, reply, discard; absent for interactive connections)
    ///     -> this handler (requests, life and close)
    ///
    /// A new handler that acts on the traffic (a relay leg, a rule) goes between the tap and
    /// this handler, so the tap counts what it writes. Call from the channel's initializer,
    /// before it is registered.
    ///
    /// The options are set here, directly, rather than as a bootstrap's channel options:
    /// a bootstrap applies each one through a chain of futures, ~10 000 instructions per
    /// option on every accept, which was a tenth of the engine's time opening 10 000
    /// connections.
    ///
    /// A relay's leg (`relayLeg`) stands where a responder would: it reads for its other leg.
    func install(on channel: any Channel, leading: [any ChannelHandler] = [], noDelay: Bool,
                 relayLeg: RelayLegHandler? = nil) throws {
        guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
        // Half-close is a state to show and a command to give, not a reason to close.
        try options.setOption(.allowRemoteHalfClosure, value: true)
        try options.setOption(.recvAllocator, value: Engine.readBuffers)
        if noDelay { try options.setOption(.tcpOption(.tcp_nodelay), value: 1) }
        if case .echo? = responder?.responder.answer {
            try options.setOption(.writeBufferWaterMark, value: StreamResponder.echoWaterMark)
        }
        let pipeline = channel.pipeline.syncOperations
        completesAfterHandshake = leading.contains { $0 is TLSWireObserver }
        tap.wire = leading.lazy.compactMap { $0 as? TLSWireObserver }.first?.session
        // Nearest the socket: a capture sees what goes over the wire (ciphertext under TLS).
        if let writer = registry.capture.writer { try pipeline.addHandler(StreamCaptureTap(writer: writer, connection: self)) }
        for handler in leading { try pipeline.addHandler(handler) }
        try pipeline.addHandler(tap)
        if let responder { try pipeline.addHandler(responder) }
        if let relayLeg {
            // Its reads wait for the other leg's output, not for this one's (`RelayLegHandler.read`).
            tap.holdsReadsForOwnOutput = false
            relayLeg.attach(to: self, tls: completesAfterHandshake)
            try pipeline.addHandler(relayLeg)
        }
        try pipeline.addHandler(self)
    }

    var capability: SocketCapability { .stream(self) }
    var replayRecord: ReplayRecord? { tap.replayRecord }
    /// The connection's id (an accepted one has it once active): for the handlers in front of this one.
    var socketID: SocketID { id }
    /// Whether a handler in front (a relay leg) may still write: open, not closing, not shut down for writing.
    var takesOutput: Bool { isOpen && !isClosing && !outputShutDown }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The connection's id, given as it opens (an accepted one's is allocated then, by the
    /// first to ask: this handler, or the capture tap in front of it, which names it first).
    func assignID() -> SocketID {
        if case .accepted = origin, id.number == 0 { id = registry.nextConnectionID() }
        return id
    }

    /// We opened it (a connect, a relay's upstream leg); else it was accepted.
    var initiatedLocally: Bool {
        if case .accepted = origin { false } else { true }
    }

    /// `capture on` while the connection is open: the capture tap joins at the head of the pipeline.
    func startCapture(_ writer: CaptureWriter) {
        guard isOpen, let context, (try? context.pipeline.syncOperations.handler(type: StreamCaptureTap.self)) == nil else { return }
        try? context.pipeline.syncOperations.addHandler(StreamCaptureTap(writer: writer, connection: self), position: .first)
    }

    /// `capture off`: the tap leaves, and the connection pays nothing for it again.
    func stopCapture() {
        guard let context, let capture = try? context.pipeline.syncOperations.handler(type: StreamCaptureTap.self) else { return }
        context.pipeline.syncOperations.removeHandler(capture, promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        _ = assignID()
        tap.id = id
        isOpen = true
        registry.register(id, channel: context.channel, control: self)
        // After registering: a rule added from now on reaches this connection by `refreshRules`.
        refreshRules()
        let local = SocketEndpoint(context.channel.localAddress)
        let remote = SocketEndpoint(context.channel.remoteAddress)
        switch origin {
        case .accepted(let listener):
            sinkAfterTraffic.emit(.accepted(id, listener: listener, local: local, remote: remote))
            if case .unixDomainSocket? = context.channel.localAddress { reportPeerCredentials(context.channel) }
        case .outgoing(_, let request):
            sinkAfterTraffic.emit(.connected(id, local: local, remote: remote), request: request)
            if completesAfterHandshake { awaitingHandshake = request } else { sinkAfterTraffic.complete(request) }
        case .relayUpstream:
            sinkAfterTraffic.emit(.connected(id, local: local, remote: remote))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard isOpen else { return context.fireChannelInactive() }
        isOpen = false
        // Kept before the socket leaves the registry: `replayRecord` looks there first, then here.
        tap.keepReplayRecord(of: id)
        registry.remove(id)
        registry.rules.forget(.socket(id))
        let reason = closeReason ?? (registry.isStopping ? "engine stopped" : inputClosed ? "connection lost" : "peer closed")
        if let request = awaitingHandshake {
            awaitingHandshake = nil
            sinkAfterTraffic.complete(request, failure: SocketFailure(
                call: "tls handshake", explanation: "the connection closed before the handshake was done (\(reason))"), socket: id)
        }
        sinkAfterTraffic.reportClosed(id, reason: reason, closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    /// The bytes were counted by the tap; the user reads them in the events.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelReadComplete(context: ChannelHandlerContext) {
        if inputClosed && !isClosing { noticeKernelFailure(context: context) }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let request = awaitingHandshake, TLSHandshakeReporter.isHandshakeCompletion(event) {
            awaitingHandshake = nil
            sinkAfterTraffic.complete(request)
        }
        // After the close: swift-nio-ssl passes the socket's EOF on even once it has closed the
        // channel itself (on the peer's close_notify), and a `peer-closed` after `closed` is news
        // out of order.
        guard case ChannelEvent.inputClosed = event, !inputShutDownByUs, isOpen else {
            return context.fireUserInboundEventTriggered(event)
        }
        inputClosed = true
        guard let responder, responder.responder.closesWhenPeerFinishes else {
            return sinkAfterTraffic.emit(.peerClosed(id))
        }
        // A responder has nothing more to say once the peer is done (`Responder`). First
        // every answer goes out (an empty write completes after all before it), counted
        // while NIO can still say that it left.
        beginClosing(reason: "peer closed")
        afterQueuedWrites(context: context) { _ in
            self.tap.reportNow()
            self.context?.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let request = awaitingHandshake {
            awaitingHandshake = nil
            return fail(request: request, with: error, call: Self.failedOperation(error))
        }
        noteFailure(error, call: Self.failedOperation(error))
        beginClosing(reason: closeReason ?? "closed after an error")
        context.close(promise: nil)
    }

    // MARK: SocketControl

    func send(_ bytes: [UInt8], request: RequestID) {
        guard isOpen, !isClosing, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "send"), socket: id)
        }
        guard !outputShutDown else {
            return sinkAfterTraffic.complete(request, failure: shutDownForWriting(call: "send"), socket: id)
        }
        write(bytes, request: request, context: context)
    }

    /// shutdown(2) of one direction (NIO's half-close). Shutting down the output is graceful:
    /// what is queued to go out (a file being sent, a large send) leaves first, then FIN.
    /// Once both directions are gone NIO closes the socket, so the request is then answered by `.closed`.
    func shutdown(_ direction: ShutdownDirection, request: RequestID) {
        guard isOpen, !isClosing, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "shutdown"), socket: id)
        }
        if direction != .read && outputShutDown || direction == .read && inputShutDownByUs {
            return sinkAfterTraffic.complete(request, failure: SocketFailure.system(call: "shutdown", errno: ESHUTDOWN), socket: id)
        }
        let readingDone = inputClosed || inputShutDownByUs || direction != .write
        let writingDone = outputShutDown || direction != .read
        // From now on nothing new is taken for output: sends and files fail with ESHUTDOWN.
        if direction != .read {
            outputShutDown = true
            responder?.stopAnswering()
            rules?.stopAnswering()
        }
        if direction != .write { inputShutDownByUs = true }
        if readingDone && writingDone {
            closeRequests.append(request)
            beginClosing(reason: "both directions shut down")
            return afterOutputDrains(context: context) {
                guard !self.isResetting, let context = self.context, context.channel.isActive else { return }
                self.sinkAfterTraffic.emit(.shutDown(self.id, direction), request: request)
                context.close(promise: nil)
            }
        }
        guard direction == .write else { return halfClose(direction, request: request, context: context) }
        afterOutputDrains(context: context) {
            guard let context = self.context else {
                return self.sinkAfterTraffic.complete(request, failure: self.noOpenConnection(call: "shutdown"), socket: self.id)
            }
            self.halfClose(direction, request: request, context: context)
        }
    }

    private func halfClose(_ direction: ShutdownDirection, request: RequestID, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: direction == .write ? .output : .input, promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                self.sinkAfterTraffic.emit(.shutDown(self.id, direction), request: request)
                self.sinkAfterTraffic.complete(request)
            case .failure(let error):
                self.sinkAfterTraffic.complete(request, failure: .from(error, call: "shutdown", namedByNIO: false), socket: self.id)
            }
        }
    }

    /// Abortive close: SO_LINGER {on, 0 s} makes close(2) drop unsent data and send RST,
    /// so the peer's next call fails with ECONNRESET. It also cuts short a graceful close
    /// still waiting for queued output: that output is dropped.
    func startTLS(_ startTLS: StartTLSRequest, request: RequestID) {
        guard isOpen, !isClosing, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "starttls"), socket: id)
        }
        guard !outputShutDown else {
            return sinkAfterTraffic.complete(request, failure: shutDownForWriting(call: "starttls"), socket: id)
        }
        let operations = context.pipeline.syncOperations
        // Every TLS pipeline (connect, listen, an earlier starttls) has the wire observer.
        if (try? operations.handler(type: TLSWireObserver.self)) != nil || (try? operations.handler(type: StartTLSNegotiator.self)) != nil {
            return sinkAfterTraffic.complete(request, failure: SocketFailure(
                call: "starttls", explanation: "\(id) already speaks TLS (or is being upgraded)"), socket: id)
        }
        let target = startTLS.host
        do {
            let setup = try TLSClientSetup(options: startTLS.tls, host: startTLS.host, capture: registry.capture)
            let negotiator = StartTLSNegotiator(
                dialogue: startTLS.dialogue.map { StartTLSDialogue($0, host: startTLS.host, greetingSeen: tap.receivedTotal > 0) },
                setup: setup, id: id,
                request: request, sink: sink, connection: self, target: target)
            try operations.addHandler(negotiator, position: .before(self))
        } catch {
            sinkAfterTraffic.complete(request, failure: .from(error, call: "starttls", target: target), socket: id)
        }
    }

    /// A request whose failure ends the connection (a STARTTLS handshake that failed): the
    /// failure answers the request (the one report of it), and the connection closes.
    func fail(request: RequestID, with error: any Error, call: String) {
        noteCloseCause(error)
        let failure = SocketFailure.from(error, call: call, namedByNIO: false)
        sinkAfterTraffic.complete(request, failure: failureReported ? nil : failure, socket: id)
        failureReported = true
        beginClosing(reason: closeReason ?? "closed after an error")
        context?.close(promise: nil)
    }

    func reset(request: RequestID) {
        guard isOpen, !isResetting, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "reset"), socket: id)
        }
        abort(reason: "reset by us (RST sent)", request: request, announcing: nil, context: context)
    }

    /// SO_LINGER {on, 0 s}, then close: RST. `announcing` is emitted just before the close.
    private func abort(reason: String, request: RequestID?, announcing event: EngineEventKind?,
                       context: ChannelHandlerContext) {
        ChannelOptionAccess(channel: context.channel)
            .set(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success:
                    if let request { self.closeRequests.append(request) }
                    self.isResetting = true
                    self.endedByReset = true
                    self.beginClosing(reason: reason)
                    self.closeReason = reason
                    if let event { self.sinkAfterTraffic.emit(event) }
                    self.context?.close(promise: nil)
                case .failure(let error):
                    let failure = SocketFailure.from(error, call: "setsockopt", target: "SO_LINGER", namedByNIO: false)
                    guard let request else {
                        self.sinkAfterTraffic.emit(.error(self.id, failure))
                        return self.close(reason: reason, request: nil)
                    }
                    self.sinkAfterTraffic.complete(request, failure: failure, socket: self.id)
                }
            }
    }

    // MARK: A relay leg passing its other leg's ending on

    /// The other leg's peer sent FIN: FIN here too (shutdown write), once what is queued to go
    /// out has left; `event` says so just before. With the input already at EOF the socket
    /// then closes (both directions are done).
    func shutDownOutputWhenDrained(announcing event: EngineEventKind) {
        guard isOpen, !isClosing, !outputShutDown, let context else { return }
        outputShutDown = true
        let bothDone = inputClosed || inputShutDownByUs
        if bothDone { beginClosing(reason: "FIN both ways") }
        afterOutputDrains(context: context) {
            guard !self.isResetting, let context = self.context, context.channel.isActive else { return }
            self.sinkAfterTraffic.emit(event)
            context.close(mode: bothDone ? .all : .output, promise: nil)
        }
    }

    /// The other leg was reset: RST here (SO_LINGER 0, close), dropping what is still queued.
    func abort(reason: String, announcing event: EngineEventKind?) {
        guard isOpen, !isResetting, let context else { return }
        abort(reason: reason, request: nil, announcing: event, context: context)
    }

    /// Closes once what is queued to go out has left (the other leg closed, or never
    /// connected); `event`, if any, is emitted just before the close.
    func closeWhenDrained(reason: String, announcing event: EngineEventKind?) {
        guard isOpen, !isClosing, let context else { return }
        beginClosing(reason: reason)
        afterOutputDrains(context: context) {
            guard !self.isResetting, let context = self.context, context.channel.isActive else { return }
            if let event { self.sinkAfterTraffic.emit(event) }
            context.close(promise: nil)
        }
    }

    /// Streams a file with sendfile(2); see `FileSender`.
    func sendFile(path: String, request: RequestID) {
        guard isOpen, !isClosing, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "sendfile"), socket: id)
        }
        guard !outputShutDown else {
            return sinkAfterTraffic.complete(request, failure: shutDownForWriting(call: "sendfile"), socket: id)
        }
        fileSends += 1
        FileSender(path: path, id: id, request: request, connection: self, eventLoop: context.eventLoop).start()
    }

    /// A `FileSender` has finished (sent everything, or failed): a close waiting for it may go on.
    func fileSendEnded() {
        fileSends -= 1
        guard fileSends == 0, !afterFileSends.isEmpty else { return }
        let waiting = afterFileSends
        afterFileSends = []
        guard let context else { return waiting.forEach { $0() } }
        for body in waiting { afterQueuedWrites(context: context) { _ in body() } }
    }

    /// A requested close is graceful: what is queued to go out (a file being sent, a large
    /// send) leaves first, as close(2) lets the kernel's queue drain; `reset` drops it. A close
    /// the user did not ask for (an idle timeout, the engine stopping) is immediate.
    func close(reason: String, request: RequestID?) {
        guard isOpen, let context else {
            if let request { sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "close"), socket: id) }
            return
        }
        guard let request else {
            beginClosing(reason: reason)
            return context.close(promise: nil)
        }
        closeRequests.append(request)
        guard !isClosing else { return }
        beginClosing(reason: reason)
        afterOutputDrains(context: context) { self.context?.close(promise: nil) }
    }

    /// A rule's `--close`: closes once its reply (and everything before it) has left.
    func closeAfterOutput(reason: String) {
        guard isOpen, !isClosing, let context else { return }
        beginClosing(reason: reason)
        afterOutputDrains(context: context) { self.context?.close(promise: nil) }
    }

    /// The conversation view follows this connection (or no longer does): its tap keeps more of each read and write.
    func follow(_ on: Bool) {
        tap.previewLimit = on ? DataPreview.followedLimit : DataPreview.limit
    }

    /// The rules the connection answers by, read again from the engine's book: the first
    /// time it has any, a `RuleResponder` joins the pipeline right behind the tap.
    func refreshRules() {
        guard isOpen, let context else { return }
        let listener: SocketID? = if case .accepted(let listener) = origin { listener } else { nil }
        let live = registry.rules.rules(for: id, listener: listener)
        if rules == nil {
            guard !live.isEmpty else { return }
            let added = RuleResponder()
            do {
                try context.pipeline.syncOperations.addHandler(added, position: .after(tap))
            } catch {
                return noteFailure(error, call: "rule")
            }
            rules = added
            tap.rules = added
            if isClosing || outputShutDown { added.stopAnswering() }
        }
        rules?.update(live)
    }

    /// Runs `body` once everything queued to go out has left: the files being sent, then
    /// whatever waits in NIO's queue. If the connection dies first, `body` runs then.
    private func afterOutputDrains(context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        guard fileSends == 0 else { return afterFileSends.append(body) }
        afterQueuedWrites(context: context) { _ in body() }
    }

    /// Runs `body` once every write queued so far has completed (an empty write completes
    /// after all before it), or failed with the channel.
    private func afterQueuedWrites(context: ChannelHandlerContext,
                                   _ body: @escaping (Result<Void, any Error>) -> Void) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete(body)
    }

    // MARK: Traffic

    /// The sink, once the traffic counted so far is reported: any other event about
    /// this connection must come after the reads and echoes that happened before it.
    /// Everything that reports about the connection (its `FileSender`s too) goes through it.
    var sinkAfterTraffic: EventSink {
        tap.reportNow()
        return sink
    }

    // MARK: Helpers

    /// A requested send: the tap reports it as sent (answering the request) once the kernel
    /// has it; a failure answers the request here.
    private func write(_ bytes: [UInt8], request: RequestID, context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        guard let written = tap.send(.byteBuffer(buffer), request: request) else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "send"), socket: id)
        }
        written.assumeIsolated().whenComplete { result in
            if case .failure(let error) = result {
                self.noteCloseCause(error)
                self.failureReported = true
                self.sinkAfterTraffic.emit(.error(self.id, SocketFailure.from(error, call: "send", namedByNIO: false)),
                                           request: request)
            }
            self.sinkAfterTraffic.complete(request)
        }
    }

    /// Reports a kernel failure once and remembers it as the reason the connection is going away.
    private func noteFailure(_ error: any Error, call: String) {
        noteCloseCause(error)
        guard !failureReported else { return }
        failureReported = true
        sinkAfterTraffic.emit(.error(id, SocketFailure.from(error, call: call, namedByNIO: false)))
    }

    private func noteCloseCause(_ error: any Error) {
        guard closeReason == nil, let code = SocketFailure.errnoCode(of: error) else { return }
        closeReason = Self.closeReason(errno: code)
        if code == ECONNRESET || code == EPIPE { endedByReset = true }
    }

    /// After the peer's FIN, NIO learns of a reset only from `SO_ERROR` and never passes the
    /// errno on; peek at it while the socket is still open so the user sees why it died.
    private func noticeKernelFailure(context: ChannelHandlerContext) {
        guard let pending = try? context.channel.syncOptions?.getOption(.socketOption(.so_error)),
              pending != 0 else { return }
        let error = IOError(errnoCode: CInt(truncatingIfNeeded: pending), reason: "so_error")
        noteFailure(error, call: Self.failedOperation(error))
    }

    /// Which of our operations an error from NIO belongs to, as a learner names it: NIO names
    /// the syscall when one failed (`writev`, `read`); a pending socket error (a reset seen
    /// through `SO_ERROR`) names none, and then EPIPE, which only writes return, is a write's.
    static func failedOperation(_ error: any Error) -> String {
        let description = (error as? IOError)?.description ?? ""
        let syscall = description.prefix { $0.isLetter || $0 == "_" }
        switch syscall {
        case "write", "writev", "send", "sendmsg", "sendfile", "sendto": return "write"
        case "read", "readv", "recv", "recvmsg", "recvfrom": return "read"
        default: return SocketFailure.errnoCode(of: error) == EPIPE ? "write" : "read"
        }
    }

    private func beginClosing(reason: String) {
        tap.reportNow()
        isClosing = true
        responder?.stopAnswering()
        rules?.stopAnswering()
        if closeReason == nil { closeReason = reason }
    }

    private func shutDownForWriting(call: String) -> SocketFailure {
        var failure = SocketFailure.system(call: call, errno: ESHUTDOWN)
        failure.explanation = "\(id) was shut down for writing (shutdown write): it can only receive now"
        return failure
    }

    /// SO_PEERCRED: which process is on the other end of an accepted UNIX connection.
    private func reportPeerCredentials(_ channel: any Channel) {
        let sink = sinkAfterTraffic
        let id = id
        PeerCredentials.of(channel).whenComplete { result in
            switch result {
            case .success(let peer):
                sink.emit(.peerCredentials(id, pid: peer.pid, uid: peer.uid, gid: peer.gid))
            case .failure(let error):
                sink.emit(.error(id, .from(error, call: "getsockopt", target: "SO_PEERCRED", namedByNIO: false)))
            }
        }
    }

    private func noOpenConnection(call: String) -> SocketFailure {
        SocketFailure(call: call, explanation: "no open connection \(id)")
    }

    private static func closeReason(errno code: Int32) -> String {
        switch code {
        case ECONNRESET, EPIPE: "reset by peer"
        default: "closed after \(ErrnoCatalog.entry(for: code)?.name ?? "errno \(code)")"
        }
    }
}
