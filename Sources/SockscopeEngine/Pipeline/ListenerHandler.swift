import Glibc
import NIOCore
import SockscopeCore

/// Sits in a listening (server) channel's pipeline: reports accept failures without
/// stopping (pausing accepts while descriptors run out, see `AcceptExhaustion`), and
/// reports the listener's one `.closed`.
///
/// Every method runs on the server channel's event loop.
final class ListenerHandler: ChannelInboundHandler, SocketControl {
    typealias InboundIn = any Channel

    private let sink: EventSink
    private let registry: SocketRegistry
    /// A UNIX socket's path, removed when the listener closes so the path can be reused.
    private let socketPath: String?
    /// Who may connect and how many at once.
    private let policy: ListenerPolicy
    /// Connections accepted through this listener and still open (for `--max-conns`).
    private var openConnections = 0
    /// Accepting on its own (autoRead), so it pauses itself when descriptors run out; a
    /// manual-accept listener accepts only when asked, and each failure answers that ask.
    private let pausesWhenExhausted: Bool
    private var exhaustion = AcceptExhaustion()
    /// Turns accepting back on after a pause.
    private var scheduledResume: Scheduled<Void>?
    /// Looks for the end of an exhaustion episode (a quiet spell) to report its count.
    private var scheduledEpisodeCheck: Scheduled<Void>?

    private var id: SocketID?
    private var context: ChannelHandlerContext?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    /// A relay's way to its target and its toxics; nil for a listener.
    private let relay: RelayUpstream?

    init(sink: EventSink, registry: SocketRegistry, socketPath: String?, policy: ListenerPolicy = ListenerPolicy(),
         pausesWhenExhausted: Bool = false, relay: RelayUpstream? = nil) {
        self.relay = relay
        self.sink = sink
        self.registry = registry
        self.socketPath = socketPath
        self.policy = policy
        self.pausesWhenExhausted = pausesWhenExhausted
    }

    /// Each accepted connection passes here before it is set up: a refused peer is
    /// reported with its address and closed at once, never silently dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        exhaustion.acceptedSinceFailure = true
        let isRelayDown = relay?.isDown == true
        guard !policy.isUnrestricted || isRelayDown else { return context.fireChannelRead(data) }
        let remote = SocketEndpoint(child.remoteAddress)
        let refusal = isRelayDown ? id.map(RelayUpstream.downReason) ?? "the relay is down"
            : policy.refusal(for: remote, openConnections: openConnections)
        if let reason = refusal {
            if let id { sink.emit(.refused(id, remote: remote, reason: reason)) }
            // Never registered with a loop, so closing releases the descriptor at once.
            child.close(promise: nil)
            return
        }
        openConnections += 1
        // The child may live on another loop; the count belongs to this one.
        let listener = NIOLoopBound(self, eventLoop: context.eventLoop)
        child.closeFuture.whenComplete { _ in
            listener.eventLoop.execute { listener.value.openConnections -= 1 }
        }
        context.fireChannelRead(data)
    }

    /// Names the listener once it is bound, before it accepts anything.
    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        registry.register(id, channel: channel, control: self)
    }

    var capability: SocketCapability { relay.map { .relay($0) } ?? .listener }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Accept failures (EMFILE, ENFILE, ECONNABORTED...) leave the listener open. Running out
    /// of descriptors or memory pauses accepting instead of failing again at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard pausesWhenExhausted, let code = SocketFailure.errnoCode(of: error), AcceptExhaustion.pausesFor(code) else {
            return sink.emit(.error(id, SocketFailure.from(error, call: "accept", namedByNIO: false)))
        }
        pauseAccepting(context: context, after: error, errno: code)
    }

    // MARK: Running out of descriptors

    /// NIO retries a failed accept as soon as it returns (its read stays pending, so even its
    /// `AcceptBackoffHandler` cannot hold it): ~3,000 EMFILE a second, each an event. The
    /// listener instead stops reading (autoRead off, so NIO leaves the socket out of epoll) and
    /// tries again after a pause that grows while the failures go on.
    private func pauseAccepting(context: ChannelHandlerContext, after error: any Error, errno code: Int32) {
        let now = NIODeadline.now()
        let pause = exhaustion.noteFailure(errno: code, at: now)
        if exhaustion.failures == 1 {
            var failure = SocketFailure.from(error, call: "accept", namedByNIO: false)
            failure.explanation += "; accepting paused, retried after \(AcceptExhaustion.firstPauseMilliseconds) ms and then "
                + "less often (up to every \(AcceptExhaustion.longestPauseMilliseconds / 1000) s); "
                + "the failures are counted in one line when accepting works again"
            sink.emit(.error(id, failure))
            scheduleEpisodeCheck(context: context, at: now + AcceptExhaustion.quietSpell)
        }
        let channel = context.channel
        try? channel.syncOptions?.setOption(.autoRead, value: false)
        scheduledResume?.cancel()
        scheduledResume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
            self.scheduledResume = nil
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    /// The episode ends after a quiet spell with no failure; it is then reported with its count.
    private func scheduleEpisodeCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        scheduledEpisodeCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.scheduledEpisodeCheck = nil
            guard let context = self.context, let last = self.exhaustion.lastFailure else { return }
            let now = NIODeadline.now()
            let quietUntil = last + AcceptExhaustion.quietSpell
            if now < quietUntil {
                self.scheduleEpisodeCheck(context: context, at: quietUntil)
            } else if !self.exhaustion.acceptedSinceFailure {
                // Still paused between tries: not over until an accept has worked.
                self.scheduleEpisodeCheck(context: context, at: now + AcceptExhaustion.quietSpell)
            } else {
                self.reportEpisodeEnd(recovered: true)
            }
        }
    }

    /// One line for a whole episode: how many accepts failed, over how long. Also after a
    /// single failure: the first line promised one, and without it a reader cannot tell a
    /// listener that recovered from one still paused.
    private func reportEpisodeEnd(recovered: Bool) {
        guard let episode = exhaustion.end(at: .now()) else { return }
        let name = ErrnoCatalog.entry(for: episode.errno)?.name ?? "errno \(episode.errno)"
        let seconds = Double(episode.duration.nanoseconds / 1_000_000) / 1000
        var failure = SocketFailure.system(call: "accept", errno: episode.errno)
        let counted = episode.failures == 1 ? "1 accept failed" : "\(episode.failures) accepts failed"
        failure.explanation = "\(counted) with \(name) in \(seconds) s (the first is reported above); "
            + (recovered ? "accepting again" : "then the listener closed")
        sink.emit(.error(id, failure))
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduledResume?.cancel()
        scheduledEpisodeCheck?.cancel()
        reportEpisodeEnd(recovered: false)
        if let id {
            if let socketPath { unlink(socketPath) }
            registry.remove(id)
        }
        sink.reportClosed(id, reason: closeReason ?? (registry.isStopping ? "engine stopped" : "listener failed"),
                          closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }

    // MARK: SocketControl

    func send(_ bytes: [UInt8], request: RequestID) {
        let name = id.map(String.init(describing:)) ?? "a listener"
        sink.complete(request, failure: SocketFailure(
            call: "send", explanation: "\(name) is a listener: send to one of its connections instead"), socket: id)
    }

    func close(reason: String, request: RequestID?) {
        guard let context, context.channel.isActive else {
            if let request {
                sink.complete(request, failure: SocketFailure(
                    call: "close", explanation: "no open listener \(id.map(String.init(describing:)) ?? "")"), socket: id)
            }
            return
        }
        if let request { closeRequests.append(request) }
        if closeReason == nil {
            closeReason = reason
            context.close(promise: nil)
        }
    }
}

/// One spell of accepts failing for want of descriptors or memory: the pauses between
/// tries (doubling from `firstPauseMilliseconds` to `longestPauseMilliseconds`) and the
/// count, reported once when it is over: an accept has worked since the last failure, and
/// none failed for a `quietSpell`.
struct AcceptExhaustion {
    static let firstPauseMilliseconds = 10
    static let longestPauseMilliseconds = 1000
    /// How long accepting must go without failing for the episode to be over.
    static let quietSpell = TimeAmount.seconds(1)

    /// The errors another try cannot cure until something is freed: this process's
    /// descriptors (EMFILE), the system's (ENFILE), kernel memory (ENOBUFS, ENOMEM).
    static func pausesFor(_ code: Int32) -> Bool {
        code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM
    }

    private(set) var failures = 0
    private(set) var lastFailure: NIODeadline?
    /// An accept has worked since the last failure (set by the listener per accept).
    var acceptedSinceFailure = false
    private var started: NIODeadline?
    private var errno: Int32 = 0
    private var nextPauseMilliseconds = firstPauseMilliseconds

    /// Counts a failure; returns how long to wait before trying again.
    mutating func noteFailure(errno code: Int32, at now: NIODeadline) -> TimeAmount {
        if started == nil { started = now }
        failures += 1
        lastFailure = now
        acceptedSinceFailure = false
        errno = code
        let pause = nextPauseMilliseconds
        nextPauseMilliseconds = min(nextPauseMilliseconds * 2, Self.longestPauseMilliseconds)
        return .milliseconds(Int64(pause))
    }

    /// Ends the episode, if one is under way: its count, errno and length.
    mutating func end(at now: NIODeadline) -> (failures: Int, errno: Int32, duration: TimeAmount)? {
        guard let started, let lastFailure else { return nil }
        defer { self = AcceptExhaustion() }
        return (failures, errno, lastFailure - started)
    }
}
