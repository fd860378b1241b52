import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore
@testable import SockscopeEngine
import Testing

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
}
