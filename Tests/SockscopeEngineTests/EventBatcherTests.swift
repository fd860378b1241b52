import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// The batcher's bounds, checked on a real event loop without sockets: ordering of
/// loop tasks, not timing, decides the outcome.
@Suite struct EventBatcherTests {
    /// Counts traffic and reports it through the batcher, as a connection does.
    final class CountingSource: TrafficTally, @unchecked Sendable {
        let batcher: EventBatcher
        init(_ batcher: EventBatcher) { self.batcher = batcher }
        func reportTraffic() {
            batcher.emit(EngineEvent(time: Timestamp(nanoseconds: 0),
                                     kind: .received(SocketID(.connection, 1), bytes: [0x41], count: 1)))
        }
    }

    static func accepted(_ n: Int) -> EngineEvent {
        EngineEvent(time: Timestamp(nanoseconds: 0),
                    kind: .accepted(SocketID(.connection, 100 + n), listener: SocketID(.listener, 1),
                                    local: "127.0.0.1:9000", remote: "127.0.0.1:\(40000 + n)"))
    }

    @Test func aBurstDuringATrafficWindowLeavesWithoutWaitingForIt() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let delivered = NIOLockedValueBox<[Int]>([])
        let batcher = EventBatcher(group: group) { events in delivered.withLockedValue { $0.append(events.count) } }
        let source = CountingSource(batcher)
        let burst = EventBatcher.heldEventsLimit + 44

        // Traffic: reported at the end of this turn, and it opens a window of >= 10 ms.
        try loop.submit { batcher.noteTally(source) }.wait()
        try loop.submit {}.wait()
        #expect(delivered.withLockedValue { $0 } == [1])

        // A burst inside the window, then a marker queued behind it on the same loop:
        // the batch must have left before the marker runs, not at the window's end.
        let seenByMarker = try loop.submit { () -> EventLoopFuture<[Int]> in
            for n in 0..<burst { batcher.emit(Self.accepted(n)) }
            return loop.submit { delivered.withLockedValue { $0 } }
        }.wait().wait()
        #expect(seenByMarker == [1, burst])

        batcher.flushAll(group)
        #expect(delivered.withLockedValue { $0 } == [1, burst], "nothing else was held")
    }

    @Test func newsDuringALongTrafficWindowLeavesAfterTheFirstWindowsLength() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let windowsToGrow = 5
        let closed = EngineEvent(time: Timestamp(nanoseconds: 0), kind: .closed(SocketID(.connection, 7), reason: "peer closed"))
        let seenByMarker = loop.makePromise(of: Int.self)
        let delivered = NIOLockedValueBox<[[EngineEvent]]>([])
        let batcherBox = NIOLockedValueBox<(EventBatcher, CountingSource)?>(nil)
        let batcher = EventBatcher(group: group) { events in
            let count = delivered.withLockedValue { $0.append(events); return $0.count }
            guard let (batcher, source) = batcherBox.withLockedValue({ $0 }) else { return }
            if count < windowsToGrow {
                // Traffic noted while each window is open makes the next one twice as long:
                // 10, 20, 40, 80 ms, then the longest, 100 ms.
                batcher.noteTally(source)
            } else if count == windowsToGrow {
                // Inside the 100 ms window: traffic, then a close. A marker due 50 ms later
                // must find the close delivered; the loop runs due tasks in deadline order,
                // so this holds however slow the machine is.
                batcher.noteTally(source)
                batcher.emit(closed)
                loop.scheduleTask(in: .milliseconds(50)) { delivered.withLockedValue { $0.count } }
                    .futureResult.cascade(to: seenByMarker)
            }
        }
        let source = CountingSource(batcher)
        batcherBox.withLockedValue { $0 = (batcher, source) }
        try loop.submit { batcher.noteTally(source) }.wait()

        #expect(try seenByMarker.futureResult.wait() == windowsToGrow + 1, "the close waited for the traffic window")
        let last = delivered.withLockedValue { $0.last } ?? []
        #expect(last.count == 2 && last.contains { $0.kind == closed.kind }, "the close leaves with that window's traffic")
    }
}
