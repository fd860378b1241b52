import Testing
@testable import SockscopeCore

/// The per-second history behind Detail's graphs: bounded in seconds and in sockets, gauges
/// carried between the kernel's change-only reports, rates on every second they covered.
private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
private func at(_ milliseconds: Int64) -> Timestamp { Timestamp(nanoseconds: start.nanoseconds + milliseconds * 1_000_000) }
private let startSecond = start.nanoseconds / 1_000_000_000

@Suite struct GraphHistoryTests {
    @Test func keepsAtMostItsSecondsOldestDroppedFirst() {
        var store = GraphStore()
        let id = SocketID(.connection, 1)
        for second in 0..<500 { store.update(id, at: at(Int64(second) * 1000), keep: nil) { $0.accepts = second } }
        let points = store[id]!.points
        #expect(points.count == GraphHistory.seconds)
        #expect(points.first?.accepts == 500 - GraphHistory.seconds && points.last?.accepts == 499)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.second + 1 == $1.second }, "in order, one per second")
    }

    @Test func keepsAtMostItsSocketsButNeverTheOneDetailShows() {
        var store = GraphStore()
        let shown = SocketID(.connection, 1)
        store.update(shown, at: at(0), keep: shown) { $0.accepts = 1 }
        for index in 2...(GraphStore.socketLimit + 40) {
            store.update(SocketID(.connection, index), at: at(Int64(index) * 1000), keep: shown) { $0.accepts = 1 }
        }
        #expect(store.histories.count == GraphStore.socketLimit)
        #expect(store[shown] != nil, "the oldest, but shown: kept")
        #expect(store[SocketID(.connection, 2)] == nil, "the oldest of the others went first")
        #expect(store[SocketID(.connection, GraphStore.socketLimit + 40)] != nil)
    }

    @Test func gaugesCarryBetweenReportsAndSpikesInASecondAreKept() {
        var store = GraphStore()
        let id = SocketID(.connection, 1)
        func sample(rtt: Int, retransmits: Int) -> KernelSample {
            var sample = KernelSample()
            sample.rttMicroseconds = rtt
            sample.retransmits = retransmits
            return sample
        }
        store.recordSample(id, sample(rtt: 100, retransmits: 2), at: at(0), keep: nil)
        store.recordSample(id, sample(rtt: 9000, retransmits: 2), at: at(5200), keep: nil)
        store.recordSample(id, sample(rtt: 300, retransmits: 5), at: at(5700), keep: nil)
        let history = store[id]!
        let rtt = history.series(endingAt: startSecond + 7, count: 10, carry: true) { $0.rttMicroseconds }
        #expect(rtt == [nil, nil, 100, 100, 100, 100, 100, 9000, 9000, 9000],
                "unknown before the first sample, carried after, the second's peak kept")
        let retransmits = history.counts(endingAt: startSecond + 7, count: 10) { $0.retransmits }
        #expect(retransmits == [nil, nil, 0, 0, 0, 0, 0, 3, 0, 0], "the first sample is a baseline, not 2 retransmissions")
    }

    /// ListenOverflows is machine-wide: another program's overflow must not mark our listener
    /// as refusing (a red mark in a listener's graph that had refused no one).
    @Test func theMachinesListenOverflowsAreNotOurRefusals() {
        var store = GraphStore()
        let id = SocketID(.listener, 1)
        for (second, overflows) in [(0, 0), (1, 5), (2, 9)] {
            var sample = KernelSample()
            sample.acceptQueue = 0
            sample.backlog = 8
            sample.listenOverflowsSinceOpen = overflows
            store.recordSample(id, sample, at: at(Int64(second) * 1000), keep: nil)
        }
        #expect(store[id]!.counts(endingAt: startSecond + 2, count: 3) { $0.refusals } == [0, 0, 0])
    }

    @Test func aBucketsRateCoversEverySecondItSpanned() {
        var rate = TrafficRate()
        var store = GraphStore()
        let id = SocketID(.connection, 1)
        rate.add(received: 1000, at: at(100))
        // Quiet for 3.9 s: the next event closes one bucket that covered seconds 0 to 3.
        let bucket = rate.add(received: 10, at: at(4000))
        store.recordRates(id, bucket!, keep: nil)
        let history = store[id]!
        #expect(history.series(endingAt: startSecond + 3, count: 5, carry: false) { $0.bytesInPerSecond }
                == [nil, 256, 256, 256, 256])
    }

    @Test func headlessKeepsNoGraphs() {
        var state = AppState(interactive: false)
        let id = SocketID(.connection, 1)
        _ = Reducer.reduce(&state, .engine(EngineEvent(time: at(0), request: nil,
                                                       kind: .connected(id, local: "127.0.0.1:4000", remote: "127.0.0.1:9000"))))
        for tenth in 1...30 {
            _ = Reducer.reduce(&state, .engine(EngineEvent(time: at(Int64(tenth) * 100), request: nil,
                                                           kind: .received(id, bytes: [], count: 100))))
        }
        #expect(state.graphs.histories.isEmpty)
        var tui = AppState(interactive: true)
        _ = Reducer.reduce(&tui, .engine(EngineEvent(time: at(0), request: nil,
                                                     kind: .connected(id, local: "127.0.0.1:4000", remote: "127.0.0.1:9000"))))
        for tenth in 1...30 {
            _ = Reducer.reduce(&tui, .engine(EngineEvent(time: at(Int64(tenth) * 100), request: nil,
                                                         kind: .received(id, bytes: [], count: 100))))
        }
        #expect(tui.graphs[id]?.points.isEmpty == false, "the same events in the TUI do graph")
    }

    @Test func aRateJustUnderAUnitIsWrittenInTheNextUnit() {
        #expect(ByteCount.text(1024 * 1024 - 20) == "1.0 MiB", "not 1024.0 KiB")
        #expect(ByteCount.text(1023 * 1024) == "1023.0 KiB")
        #expect(ByteCount.text(10_239) == "10239 B")
    }

    @Test func durationsReadAtAGlance() {
        #expect(TimeText.duration(5.2) == "6 s")
        #expect(TimeText.duration(200) == "3 min 20 s")
        #expect(TimeText.duration(7500) == "2 h 5 min")
    }
}
