import Glibc
import NIOCore
import SockscopeCore

/// Drives one stream connection (TCP or UNIX), accepted or outgoing: reports its
/// traffic as events, applies the listener's mode, and closes it on request.
///
/// Lives in the channel's pipeline; every method runs on the channel's event loop.
final class ConnectionHandler: ChannelDuplexHandler, StreamControl, TrafficTally {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Origin {
        /// Accepted by this listener; the id is allocated when the connection becomes active.
        case accepted(listener: SocketID)
        /// Made by a `.connect` request, which is completed once the connection is up.
        case outgoing(SocketID, request: RequestID)
    }

    private let origin: Origin
    private let mode: ListenMode
    /// Use `sinkAfterTraffic` instead, except to report the traffic itself.
    private let sink: EventSink
    private let registry: SocketRegistry

    private var id: SocketID
    // The state touched per read carries `@exclusivity(unchecked)`: it lives on the
    // channel's loop and is never passed inout across a call that could reach it again,
    // and Swift's run-time checks of it were ~6% of the engine thread's instructions.
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    private var isOpen = false
    /// No new work (sends, files) is taken: a close is under way, perhaps waiting for queued output.
    @exclusivity(unchecked) private var isClosing = false
    /// Set once `reset` has been asked: nothing graceful follows it.
    private var isResetting = false
    private var inputClosed = false
    private(set) var closeReason: String?
    private var closeRequests: [RequestID] = []
    /// One kernel failure per connection is news; the same errno failing every queued write is not.
    private var failureReported = false
    /// Echo output waiting in NIO's queue: reading more would grow it without bound.
    @exclusivity(unchecked) private var readHeldBack = false
    /// Follows `channelWritabilityChanged`, so that each read request need not ask the channel.
    @exclusivity(unchecked) private var isWritable = true
    /// What was echoed, and what of it the kernel has taken (asked when a report is due).
    @exclusivity(unchecked) private var echoes = EchoLedger()
    /// `echoes.handed` after the last flush that did not fail.
    @exclusivity(unchecked) private var echoesFlushed = 0
    /// NIO's queue may hold echoes from before the last flush: a report found some
    /// waiting, or writability dropped. Decides what counts as sent if the channel dies
    /// before NIO can be asked (a write failing inside a flush).
    private var echoBacklogSeen = false
    /// An empty write waits behind the echoes to say when they have all left.
    private var drainWatched = false
    /// Files being sent (`FileSender`s running): each queues its next chunks only as earlier
    /// ones leave, so NIO's queue alone cannot say when the output is done.
    private var fileSends = 0
    /// What waits for every file being sent to finish, then for NIO's queue to drain: a
    /// requested close or `shutdown write` (graceful, as close(2) is for what the kernel holds).
    private var afterFileSends: [() -> Void] = []
    /// Set by our own `shutdown`: NIO then reports `inputClosed` as if the peer had sent FIN.
    private var inputShutDownByUs = false
    private var outputShutDown = false
    /// Unrequested traffic not yet reported: reads here, echoes in `echoes`.
    /// Reported when the engine's batch leaves (see `EventBatcher`), so a busy
    /// connection costs two events per batch, not two per read.
    @exclusivity(unchecked) private var received = TrafficCount()
    @exclusivity(unchecked) private var trafficQueued = false

    init(origin: Origin, mode: ListenMode, sink: EventSink, registry: SocketRegistry) {
        self.origin = origin
        self.mode = mode
        self.sink = sink
        self.registry = registry
        received.keepsAll = registry.payloadCredit != nil
        switch origin {
        case .accepted: id = SocketID(.connection, 0)
        case .outgoing(let id, _): self.id = id
        }
    }

    // MARK: Setup

    /// Sets up a new stream connection's channel (accepted, connected, or handed over by
    /// step mode) and puts this handler at the end of its pipeline, after `leading`.
    /// Call from the channel's initializer, before it is registered.
    ///
    /// The options are set here, directly, rather than as a bootstrap's channel options:
    /// a bootstrap applies each one through a chain of futures, ~10 000 instructions per
    /// option on every accept, which was a tenth of the engine's time opening 10 000
    /// connections.
    func install(on channel: any Channel, leading: [any ChannelHandler] = [], noDelay: Bool) throws {
        guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
        // Half-close is a state to show and a command to give, not a reason to close.
        try options.setOption(.allowRemoteHalfClosure, value: true)
        try options.setOption(.recvAllocator, value: Engine.readBuffers)
        if noDelay { try options.setOption(.tcpOption(.tcp_nodelay), value: 1) }
        if case .echo = mode { try options.setOption(.writeBufferWaterMark, value: Self.echoWaterMark) }
        let pipeline = channel.pipeline.syncOperations
        for handler in leading { try pipeline.addHandler(handler) }
        try pipeline.addHandler(self)
    }

    var capability: SocketCapability { .stream(self) }
    /// The connection's id (an accepted one has it once active): for the handlers in front of this one.
    var socketID: SocketID { id }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .accepted = origin { id = registry.nextConnectionID() }
        isOpen = true
        registry.register(id, channel: context.channel, control: self)
        let local = SocketEndpoint(context.channel.localAddress)
        let remote = SocketEndpoint(context.channel.remoteAddress)
        switch origin {
        case .accepted(let listener):
            sinkAfterTraffic.emit(.accepted(id, listener: listener, local: local, remote: remote))
            if case .unixDomainSocket? = context.channel.localAddress { reportPeerCredentials(context.channel) }
        case .outgoing(_, let request):
            sinkAfterTraffic.emit(.connected(id, local: local, remote: remote), request: request)
            sinkAfterTraffic.complete(request)
        }
        if case .reply(let greeting) = mode, !greeting.isEmpty {
            write(greeting, request: nil, context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard isOpen else { return context.fireChannelInactive() }
        isOpen = false
        registry.remove(id)
        let reason = closeReason ?? (registry.isStopping ? "engine stopped" : inputClosed ? "connection lost" : "peer closed")
        sinkAfterTraffic.reportClosed(id, reason: reason, closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        received.add(buffer)
        queueTrafficReport()
        // Shut down for writing (our `shutdown write`): NIO would refuse the echo, so it
        // is neither attempted nor counted.
        guard case .echo = mode, !isClosing, !outputShutDown else { return }
        // No promise per echo: a promise, its callback and its future cost more than the
        // rest of the echo. The report asks NIO what is still waiting (`EchoLedger`).
        context.write(data, promise: nil)
        buffer.withUnsafeReadableBytes { echoes.hand($0) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushEchoes(context: context)
        if inputClosed && !isClosing { noticeKernelFailure(context: context) }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event, !inputShutDownByUs else {
            return context.fireUserInboundEventTriggered(event)
        }
        inputClosed = true
        switch mode {
        case .interactive:
            sinkAfterTraffic.emit(.peerClosed(id))
        case .echo, .reply, .discard:
            // A responder has nothing more to say once the peer is done: close our side too,
            // as a forking socat does (left open, each finished client held a descriptor in
            // CLOSE-WAIT). First every echo or reply goes out (an empty write completes after
            // all before it), counted while NIO can still say that it left.
            flushEchoes(context: context)
            beginClosing(reason: "peer closed")
            afterQueuedWrites(context: context) { _ in
                self.reportTrafficNow()
                self.context?.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        noteFailure(error, call: Self.failedOperation(error))
        beginClosing(reason: closeReason ?? "closed after an error")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        // With `echoWaterMark`'s low mark of one byte, writable again means NIO's queue is empty.
        echoBacklogSeen = !isWritable
        if isWritable && echoes.unreported > 0 { queueTrafficReport() }
        if isWritable && readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        guard isWritable else {
            readHeldBack = true
            return
        }
        // Whole payloads: no read while the consumer has not caught up (see `PayloadCredit`).
        if let credit = registry.payloadCredit {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            guard credit.mayRead(orWhenAllowed: { loop.execute { handler.value.readOnceAllowed() } }) else { return }
        }
        context.read()
    }

    /// The payload credit allows reading again.
    private func readOnceAllowed() {
        guard isOpen, let context else { return }
        read(context: context)
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
        if direction != .read { outputShutDown = true }
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
    func reset(request: RequestID) {
        guard isOpen, !isResetting, let context else {
            return sinkAfterTraffic.complete(request, failure: noOpenConnection(call: "reset"), socket: id)
        }
        ChannelOptionAccess(channel: context.channel)
            .set(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success:
                    self.closeRequests.append(request)
                    self.isResetting = true
                    self.beginClosing(reason: "reset by us (RST sent)")
                    self.closeReason = "reset by us (RST sent)"
                    self.context?.close(promise: nil)
                case .failure(let error):
                    self.sinkAfterTraffic.complete(request, failure: .from(error, call: "setsockopt", target: "SO_LINGER",
                                                               namedByNIO: false), socket: self.id)
                }
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
        FileSender(path: path, id: id, request: request, connection: self, context: context).start()
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

    /// Runs `body` once everything queued to go out has left: the files being sent, then
    /// whatever waits in NIO's queue. If the connection dies first, `body` runs then.
    private func afterOutputDrains(context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        guard fileSends == 0 else { return afterFileSends.append(body) }
        afterQueuedWrites(context: context) { _ in body() }
    }

    // MARK: Echo

    /// Reading pauses once this much echo waits in NIO's queue (the peer is not taking
    /// it), and resumes when all of it has left: the low mark of one byte makes
    /// "writable again" mean "queue empty". Normal request/response traffic never
    /// crosses it, so writability does not flip per echo.
    static let echoWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 1, high: 16 * 1024)

    private func flushEchoes(context: ChannelHandlerContext) {
        guard echoes.handed > echoesFlushed else { return }
        context.flush()
        // A refused write makes NIO close the channel inside the flush, before it could
        // be asked what left: `reportEchoes` then counts from `echoesFlushed`.
        if context.channel.isActive { echoesFlushed = echoes.handed }
    }

    /// Reports the echoes the kernel took since the last report. While any still wait,
    /// an empty write behind them asks for another report once they have left.
    private func reportEchoes() {
        guard echoes.unreported > 0 else { return }
        let waiting: Int
        if let context, context.channel.isActive,
           let queued = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) {
            waiting = queued
            echoBacklogSeen = queued > 0
        } else {
            // Closed before NIO could be asked: what was flushed left unless a backlog was
            // seen; the rest never will.
            waiting = echoBacklogSeen ? echoes.unreported : echoes.handed - echoesFlushed
        }
        if let sent = echoes.takeSent(waiting: waiting) {
            sink.emit(.sent(id, bytes: sent.preview, count: sent.count))
        }
        guard echoes.unreported > 0 else { return }
        guard let context, context.channel.isActive else { return echoes.dropUnsent() }
        guard !drainWatched else { return }
        drainWatched = true
        afterQueuedWrites(context: context) { result in
            self.drainWatched = false
            if case .success = result { self.queueTrafficReport() }
        }
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

    func reportTraffic() {
        trafficQueued = false
        if received.count > 0 {
            sink.emit(.received(id, bytes: received.preview, count: received.count))
            registry.payloadCredit?.charge(received.count)
            received = TrafficCount(keepsAll: received.keepsAll)
        }
        reportEchoes()
    }

    private func queueTrafficReport() {
        guard !trafficQueued else { return }
        trafficQueued = true
        sink.tally(self)
    }

    /// The sink, once the traffic counted so far is reported: any other event about
    /// this connection must come after the reads and echoes that happened before it.
    /// Everything that reports about the connection (its `FileSender`s too) goes through it.
    var sinkAfterTraffic: EventSink {
        reportTrafficNow()
        return sink
    }

    /// Reports the traffic counted so far without waiting for the batch. Before a close
    /// NIO can still say which echoes left; after it, the ones still queued never will.
    private func reportTrafficNow() {
        if received.count > 0 || echoes.unreported > 0 { reportTraffic() }
    }

    // MARK: Helpers

    private func write(_ bytes: [UInt8], request: RequestID?, context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        let keepsAll = registry.payloadCredit != nil
        let preview = bytes.count <= DataPreview.limit || keepsAll ? bytes : Array(bytes.prefix(DataPreview.limit))
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.finishWrite(result, preview: preview, count: bytes.count, request: request)
        }
    }

    private func finishWrite(_ result: Result<Void, any Error>, preview: [UInt8], count: Int, request: RequestID?) {
        switch result {
        case .success:
            sinkAfterTraffic.emit(.sent(id, bytes: preview, count: count), request: request)
        case .failure(let error):
            noteWriteFailure(error, request: request)
        }
        if let request { sinkAfterTraffic.complete(request) }
    }

    /// A requested send's failure answers the request; an unrequested write's (an echo, a
    /// greeting) is reported once, and only when the kernel said why.
    private func noteWriteFailure(_ error: any Error, request: RequestID?) {
        if let request {
            noteCloseCause(error)
            failureReported = true
            sinkAfterTraffic.emit(.error(id, SocketFailure.from(error, call: "send", namedByNIO: false)), request: request)
        } else if SocketFailure.errnoCode(of: error) != nil {
            noteFailure(error, call: "write")
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
        reportTrafficNow()
        isClosing = true
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

/// Bytes counted for one report: the exact total, and a preview of the first ones.
struct TrafficCount {
    private(set) var count = 0
    private(set) var preview: [UInt8] = []
    /// Keeps every byte, not a preview (under a `PayloadCredit`, which bounds them).
    var keepsAll = false

    mutating func add(_ buffer: ByteBuffer) {
        count += buffer.readableBytes
        if keepsAll { return buffer.withUnsafeReadableBytes { preview.append(contentsOf: $0) } }
        let room = DataPreview.limit - preview.count
        guard room > 0 else { return }
        // Rebased to a plain buffer pointer: a `Slice` would be appended byte by byte.
        buffer.withUnsafeReadableBytes { preview.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0.prefix(room))) }
    }

}
