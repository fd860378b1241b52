import Foundation
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// The capture writer's thread wakes up to take batches of records, not for each one, and
/// not at all once nothing comes.
@Suite(.timeLimit(.minutes(1))) struct CaptureWakeupTests {
    @Test(.requires("python3")) func theWriterWakesPerBatchWhileRecordsComeAndSleepsWhenTheyStop() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "wakeups", suffix: ".pcapng")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let listener = try await harness.listen(.echo)
        let started = try await harness.perform(.capture(.on(path: path, maxBytes: nil)))
        #expect(started.contains(.capture(.started(path: path, maxBytes: nil))), "\(started)")
        let writer = try #require(harness.engine.registry.capture.writer)

        // 3,000 round trips: 6,000 records (a read and a write each) for the writer.
        let roundTrips = 3000
        let before = writer.looks
        let clock = ContinuousClock(), start = clock.now
        let client = try PythonPeer.run("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(int(sys.argv[2])):
                s.sendall(b"x" * 64)
                got = 0
                while got < 64: got += len(s.recv(64 - got))
            print("DONE", flush=True)
            s.close()
            """, [String(listener.port), String(roundTrips)])
        #expect(await client.waitForOutput(containing: "DONE", timeout: .seconds(30)), "\(client.output)")
        let during = writer.looks - before
        let elapsed = clock.now - start
        // Every 10 ms while records come (there is not a megabyte to wake it sooner): so many
        // for the time the traffic took (twice, for a loaded machine's late timers), not one per record.
        let perPoll = Int(elapsed / .milliseconds(10))
        #expect(during <= 2 * perPoll + 20, "\(during) wake-ups in \(elapsed) for \(2 * roundTrips) records")

        // The client's close is a record too.
        try await harness.waitFor("the connection's close") {
            harness.kinds.contains { if case .closed = $0 { true } else { false } }
        }

        // Idle: after one look that finds nothing, it sleeps until a record comes. Wait until
        // it has stopped looking, then count its looks over a second.
        // (Polled every 50 ms: five of its 10 ms looks would fall between two polls.)
        var last = -1  // the first poll only reads
        let stopped = await waitUntil(timeout: .seconds(5), poll: .milliseconds(50)) {
            let now = writer.looks
            defer { last = now }
            return now == last
        }
        #expect(stopped, "the writer went on looking: \(writer.looks)")
        let settled = writer.looks
        try await Task.sleep(for: .seconds(1))  // the span measured, not a wait for something
        let idle = writer.looks - settled
        #expect(idle == 0, "\(idle) wake-ups in an idle second (polling every 10 ms would be ~100)")
        _ = try await harness.perform(.capture(.off))
    }
}

/// The fixed memory a capture's payload waits in.
@Suite struct CaptureArenaTests {
    @Test func bytesGoInUntilTheArenaIsFullAndOutAsTheyCame() {
        let arena = CaptureArena(capacity: 10)
        let first = [UInt8]("hello".utf8), second = [UInt8]("world".utf8)
        let a = first.withUnsafeBytes { arena.append($0) }, b = second.withUnsafeBytes { arena.append($0) }
        #expect(a == 0..<5 && b == 5..<10)
        #expect([UInt8]("!".utf8).withUnsafeBytes { arena.append($0) } == nil, "full: nothing more, not a byte")
        #expect(Array(arena.bytes(0..<10)) == first + second)
        arena.empty()
        #expect(second.withUnsafeBytes { arena.append($0) } == 0..<5)
    }
}
