import Glibc
import NIOCore
@testable import SockscopeCore
@testable import SockscopeEngine
import Synchronization
import Testing
import TestSupport

/// A long scan split between workers (`ScanRun`, `ScanPlan.parts`), and the refused socket
/// each worker keeps for its next port: the same answers as one worker with fresh sockets.
@Suite(.timeLimit(.minutes(1))) struct ScanWorkersTests {
    private func plan(_ ports: [ClosedRange<Int>], concurrency: Int) throws -> ScanPlan {
        var request = ScanRequest(host: "127.0.0.1", ports: PortList(ports))
        request.concurrency = concurrency
        let budget = DescriptorBudget(limit: 100_000, inUse: 0)
        return try #require(ScanPlan(request, address: try SocketAddress(ipAddress: "127.0.0.1", port: 0), budget: budget))
    }

    @Test func partsShareThePortsAndTheConcurrencyWithoutGapsOrOverlaps() throws {
        let whole = try plan([1...10, 20...20, 30...39], concurrency: 8)
        let parts = whole.parts(3)
        #expect(parts.count == 3)
        let ports = parts.flatMap { $0.scan.ports.ranges.flatMap { Array($0) } }
        #expect(ports == Array(1...10) + [20] + Array(30...39), "each port once, in order: \(parts.map(\.scan.ports))")
        #expect(parts.map(\.scan.ports.count) == [7, 7, 7])
        #expect(parts.map(\.concurrency) == [3, 3, 2], "the sum stays the plan's")
        #expect(whole.parts(1).map(\.scan.ports) == [whole.scan.ports])
        // Never more workers than ports, or than connects allowed at once.
        #expect(try plan([5...6], concurrency: 8).parts(4).count == 2)
        #expect(try plan([1...100], concurrency: 2).parts(4).count == 2)
        #expect(try plan([1...65535], concurrency: 1024).parts(2).map(\.scan.ports.description) == ["1-32767", "32768-65535"])
    }

    /// Three workers over listeners and refusing ports of ours: every answer exact. The ports
    /// are sorted, so within each worker refused ports come before and after open ones, and
    /// each open port is reached by a socket kept from a refusal (a socket refused once must be
    /// disconnected first: Linux answers its next connect with ECONNABORTED).
    @Test func workersFindExactlyWhatOneWorkerFinds() throws {
        let listeners = try (0..<6).map { _ in try ReservedPort(listenBacklog: 16) }
        let silent = try (0..<40).map { _ in try ReservedPort() }
        let ports = (listeners + silent).map(\.port)
        let whole = try plan(ports.map { $0...$0 }, concurrency: 3)
        var stop: [CInt] = [-1, -1]
        #expect(pipe(&stop) == 0)
        defer { stop.forEach { close($0) } }
        let delivered = Mutex<[EngineEvent]>([])
        let last = ScanRun.run(whole, workers: 3, stopFD: stop[0], request: RequestID(1)) { events in
            delivered.withLock { $0 += events }
        }
        let events = delivered.withLock { $0 } + last
        var open: [Int] = []
        var refused: [Int] = []
        var others: [PortOutcome: [Int]] = [:]
        var summary: ScanSummary?
        for event in events {
            switch event.kind {
            case .scan(.open(let port, _)): open.append(port)
            case .scan(.notOpen(let outcome, let ranges)) where outcome == PortOutcome(state: .closed, errno: ECONNREFUSED):
                refused += ranges.flatMap { Array($0) }
            case .scan(.notOpen(let outcome, let ranges)): others[outcome, default: []] += ranges.flatMap { Array($0) }
            case .scan(.finished(let done)): summary = done
            default: break
            }
        }
        #expect(open.sorted() == listeners.map(\.port).sorted(), "others: \(others)")
        #expect(refused.sorted() == silent.map(\.port).sorted())
        #expect(others.isEmpty, "\(others)")
        let done = try #require(summary)
        #expect(done.scanned == 46 && done.open == listeners.map(\.port).sorted() && done.closed == 40 && !done.stopped)
        #expect(done.maxInFlight <= 3)
    }
}
