import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

/// Gathers the events emitted during one turn of an engine event loop and hands them
/// on together when the turn's I/O is done.
///
/// Why: under load nearly every event is a read or a write, and handing each on alone
/// cost the consumer's lock, the lab's and the kernel probe's lock and a dictionary
/// look-up apiece (a quarter of the engine thread's time with 16 busy connections).
/// One turn serves every socket that became ready in one `epoll_wait`, so a busy loop
/// now pays those costs once per turn. Order is kept: a loop's events leave in the
/// order they were emitted, and all events of a socket come from its own loop.
///
/// Events emitted off the engine's loops (a caller's thread after shutdown, the UNIX
/// datagram watcher thread) are handed on at once.
final class EventBatcher: Sendable {
    /// One loop's events of the current turn. Touched only on that loop's thread.
    private final class Pending: @unchecked Sendable {
        var events: [EngineEvent] = []
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

    /// Thread-safe. On an engine loop the event waits for the end of the turn; elsewhere it leaves at once.
    func emit(_ event: EngineEvent) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop,
              let pending = pendingByLoop[ObjectIdentifier(loop)] else {
            return handOn([event])
        }
        // The first event of a turn queues the hand-over; NIO runs queued tasks right after the turn's I/O.
        if pending.events.isEmpty { loop.execute { self.flush(pending) } }
        pending.events.append(event)
    }

    /// Hands on whatever every loop still holds. For shutdown: call from outside the loops,
    /// after the last socket closed and before the loops stop.
    func flushAll(_ group: MultiThreadedEventLoopGroup) {
        for loop in group.makeIterator() {
            guard let pending = pendingByLoop[ObjectIdentifier(loop)] else { continue }
            try? loop.submit { self.flush(pending) }.wait()
        }
    }

    private func flush(_ pending: Pending) {
        guard !pending.events.isEmpty else { return }
        let events = pending.events
        // Events emitted while this batch is delivered or observed start the next batch.
        pending.events = []
        handOn(events)
    }

    private func handOn(_ events: [EngineEvent]) {
        deliver(events)
        observer.withLockedValue { $0 }?(events)
    }
}
