import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

/// Something that counts its unrequested traffic (reads, echoes) instead of emitting
/// an event per read, and reports the totals when the batcher asks: a traffic tap
/// (`StreamTap`, and `DatagramLog` for datagram sockets). Lives on one event loop.
protocol TrafficTally: AnyObject {
    /// Emits the events for the traffic counted since the last call (on the source's loop).
    func reportTraffic()
}

/// Gathers what an engine event loop emits and hands it on in batches.
///
/// Why: under load nearly every event is a read or a write, and handing each on alone
/// cost the consumer's lock, the lab's and the kernel probe's work and a dictionary
/// look-up apiece: most of the engine thread's time with 16 busy connections.
///
/// - A batch leaves at the end of the loop turn that started it (NIO runs queued tasks
///   right after the turn's I/O), so one turn serving every socket that became ready
///   in one `epoll_wait` costs one hand-over.
/// - Connections do not emit an event per read: their taps count (`TrafficTally`) and report
///   their totals when the batch leaves, so a busy connection costs one received and
///   one sent event per batch.
/// - After a batch that carried traffic, the next one waits for a window that starts at
///   10 ms and doubles while the traffic goes on, up to `longestTrafficWindowMilliseconds`
///   (`DataPacing`): a stream of reads is reported about ten times a second, with exact
///   byte counts, however many reads it takes, while a reply to a request still shows
///   within ~10 ms. The first event after a quiet spell leaves at once, and nothing is
///   scheduled once the traffic stops: an idle engine has no timers.
/// - News (an accept, a close, an error, a request's answer) does not wait out a long
///   window: the batch holding it leaves within `longestWaitForNewsMilliseconds`, and
///   at once when `heldEventsLimit` events wait, so a burst of new connections leaves
///   in bounded batches instead of piling up for the whole window.
///
/// Order: a loop's events leave in the order they were emitted, a connection reports
/// its traffic before any other event about itself, and every event of a socket comes
/// from its own loop. Events emitted off the engine's loops (a caller's thread after
/// shutdown, the UNIX datagram watcher thread) are handed on at once.
final class EventBatcher: Sendable {
    /// The longest wait between reports of ongoing traffic: each hand-over costs the
    /// engine thread a lock, the lab's pass and the consumer a wake-up, and at ten a
    /// second the counters on screen still move smoothly.
    static let longestTrafficWindowMilliseconds = 100

    /// Events (other than traffic, which is counted, not queued) a window may hold
    /// before the batch leaves anyway: about 5 ms of a 10 000-connection burst.
    static let heldEventsLimit = 256

    /// The longest news waits for a traffic window: the first window's length, so an
    /// accept or a close among busy connections shows as soon as a reply would.
    static let longestWaitForNewsMilliseconds = DataPacing.firstPauseMilliseconds

    /// One loop's batch in the making. Touched only on that loop's thread.
    private final class Pending: @unchecked Sendable {
        var events: [EngineEvent] = []
        var tallies: [any TrafficTally] = []
        var handOverQueued = false
        /// Until when a batch waits after the last one that carried traffic.
        var trafficWindowEnd = NIODeadline.uptimeNanoseconds(0)
        /// The queued hand-over waits for the window: something (usually more traffic)
        /// came while it was open, so the flow goes on and the next window may be longer.
        var handOverWaitsForWindow = false
        /// The hand-over waiting for the window, cancelled if the batch must leave sooner.
        var scheduledHandOver: Scheduled<Void>?
        /// When `scheduledHandOver` runs: news only ever moves it sooner.
        var scheduledDeadline = NIODeadline.uptimeNanoseconds(0)
        var pacing = DataPacing(longestMilliseconds: EventBatcher.longestTrafficWindowMilliseconds)
    }

    /// Fixed when the engine starts: one entry per loop of its group.
    private let pendingByLoop: [ObjectIdentifier: Pending]
    private let deliver: @Sendable ([EngineEvent]) -> Void
    /// Sees each batch after it is delivered (the lab: accept completions, kernel sampling).
    private let observer = NIOLockedValueBox<(@Sendable ([EngineEvent]) -> Void)?>(nil)

    init(group: MultiThreadedEventLoopGroup, deliver: @escaping @Sendable ([EngineEvent]) -> Void) {
        var pending: [ObjectIdentifier: Pending] = [:]
        for loop in group.makeIterator() { pending[ObjectIdentifier(loop)] = Pending() }
        pendingByLoop = pending
        self.deliver = deliver
    }

    /// Set once, right after the engine is made.
    func setObserver(_ observe: @escaping @Sendable ([EngineEvent]) -> Void) {
        observer.withLockedValue { $0 = observe }
    }

    /// Thread-safe. On an engine loop the event joins the loop's batch; elsewhere it leaves at once.
    func emit(_ event: EngineEvent) {
        guard let (loop, pending) = currentLoop() else { return handOn([event]) }
        pending.events.append(event)
        queueHandOver(on: loop, pending)
        // Outside a traffic window the batch leaves at the end of this turn anyway.
        guard pending.scheduledHandOver != nil else { return }
        if pending.events.count >= Self.heldEventsLimit {
            handOverSooner(on: loop, pending, deadline: nil)
        } else if event.kind.isNews {
            handOverSooner(on: loop, pending, deadline: .now() + .milliseconds(Int64(Self.longestWaitForNewsMilliseconds)))
        }
    }

    /// Events from a thread of the engine's own that is not an event loop (the port scanner's):
    /// handed on together, at once, in order: one wake-up for a batch of results.
    func emit(batch events: [EngineEvent]) {
        guard !events.isEmpty else { return }
        guard currentLoop() == nil else { return events.forEach { emit($0) } }
        handOn(events)
    }

    /// `source` has counted traffic: it reports it when the loop's batch leaves.
    /// Call on the source's loop, once per batch (the source remembers that it is queued).
    func noteTally(_ source: any TrafficTally) {
        guard let (loop, pending) = currentLoop() else { return source.reportTraffic() }
        pending.tallies.append(source)
        queueHandOver(on: loop, pending)
    }

    /// Hands on whatever every loop still holds. For shutdown: call from outside the loops,
    /// after the last socket closed and before the loops stop.
    func flushAll(_ group: MultiThreadedEventLoopGroup) {
        for loop in group.makeIterator() {
            guard let pending = pendingByLoop[ObjectIdentifier(loop)] else { continue }
            try? loop.submit { self.handOver(pending, on: loop) }.wait()
        }
    }

    private func currentLoop() -> (any EventLoop, Pending)? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop,
              let pending = pendingByLoop[ObjectIdentifier(loop)] else { return nil }
        return (loop, pending)
    }

    private func queueHandOver(on loop: any EventLoop, _ pending: Pending) {
        guard !pending.handOverQueued else { return }
        pending.handOverQueued = true
        pending.handOverWaitsForWindow = pending.trafficWindowEnd > .now()
        if pending.handOverWaitsForWindow {
            schedule(on: loop, pending, deadline: pending.trafficWindowEnd)
        } else {
            loop.execute { self.handOver(pending, on: loop) }
        }
    }

    /// Moves a hand-over waiting for the window to `deadline` if that is sooner (nil: now).
    private func handOverSooner(on loop: any EventLoop, _ pending: Pending, deadline: NIODeadline?) {
        guard let scheduled = pending.scheduledHandOver, deadline.map({ $0 < pending.scheduledDeadline }) ?? true
        else { return }
        scheduled.cancel()
        if let deadline {
            schedule(on: loop, pending, deadline: deadline)
        } else {
            pending.scheduledHandOver = nil
            loop.execute { self.handOver(pending, on: loop) }
        }
    }

    private func schedule(on loop: any EventLoop, _ pending: Pending, deadline: NIODeadline) {
        pending.scheduledDeadline = deadline
        pending.scheduledHandOver = loop.scheduleTask(deadline: deadline) { self.handOver(pending, on: loop) }
    }

    private func handOver(_ pending: Pending, on loop: any EventLoop) {
        pending.scheduledHandOver = nil
        let tallies = pending.tallies
        pending.tallies = []
        // Their events join this batch: the hand-over is still marked queued.
        for source in tallies { source.reportTraffic() }
        let events = pending.events
        pending.events = []
        pending.handOverQueued = false
        if !tallies.isEmpty {
            // Traffic after a quiet spell starts with the shortest window again.
            if !pending.handOverWaitsForWindow { _ = pending.pacing.pause(afterBatchWithData: false) }
            let window = pending.pacing.pause(afterBatchWithData: true) ?? DataPacing.firstPauseMilliseconds
            pending.trafficWindowEnd = .now() + .milliseconds(Int64(window))
        }
        // A source that counted more while reporting (an echo connection learning that
        // its queue drained) reports with the next batch.
        if !pending.tallies.isEmpty { queueHandOver(on: loop, pending) }
        // Events emitted from here on (by observers) start the next batch.
        if !events.isEmpty { handOn(events) }
    }

    /// The observer sees a batch before its receiver does: whatever the receiver asks next
    /// (a lab `recv` after a `.received`) finds the observer already up to date.
    private func handOn(_ events: [EngineEvent]) {
        observer.withLockedValue { $0 }?(events)
        deliver(events)
    }
}
