import Testing
import TestSupport
import SockscopeCore
@testable import SockscopeUI

private let t0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

private func keys(_ text: String, _ state: inout AppState) {
    for character in text { _ = Reducer.reduce(&state, .key(.character(character), time: t0)) }
}

/// The crowded screen's Connections, zoomed, sorted by rate and filtered to TCP.
private func sortedFiltered(width: Int, height: Int) -> AppState {
    var state = crowdedState(width: width, height: height)
    state.view.focus = .connections
    state.view.zoomed = true
    keys("o/proto:tcp", &state)
    _ = Reducer.reduce(&state, .key(.enter, time: t0))
    return state
}

@Suite struct WatchTests {
    @Test(arguments: [(80, 24), (120, 40), (200, 60), (20, 6)])
    func sortedAndFilteredConnectionsSayHowInTheTitle(_ size: (Int, Int)) {
        let state = sortedFiltered(width: size.0, height: size.1)
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "watch-sorted-filtered-\(size.0)x\(size.1)")
        let lines = frame.grid.textLines
        let title = lines.first { $0.contains("Connections") }!
        if size.0 >= 80 {
            #expect(title.contains("Connections (4 open) · by rate · rows/proto:tcp 3 of 4"))
            // C2 (the only rate) first, then the tree's order; C3 (unix) filtered out.
            let ids = lines.compactMap { line in ["C1", "C2", "C3", "C4"].first { line.contains("│\($0) ") || line.contains(" \($0) ") } }
            #expect(ids == ["C2", "C1", "C4"])
            let headers = ["VIA", "ID", "PROTO", "LOCAL", "REMOTE", "STATE", "IN", "OUT", "RATE ↓/↑", "EOL"]
            expectWholeColumns(lines, headers: headers, elidable: ["LOCAL", "REMOTE"],
                               rows: LayoutTests.connectionRows.filter { $0["ID"] != "C3" },
                               mustShow: ["ID", "LOCAL", "REMOTE", "STATE", "IN", "OUT"])
        } else {
            #expect(title.contains("…"), "a title too long for the border is marked, not cut")
        }
    }
}

/// Recorded samples as the app gets them: data events every 100 ms and, while a rate is
/// shown, a tick a second. C1 streams 100 KiB/s in for 5 s, then stalls; C2 is quiet, then
/// bursts 50 MiB/s in (1 KiB/s out) in seconds 3-4, then is quiet; C3 moves 10 KiB/s each
/// way and closes after 4 s. Ends at 9 s, when nothing moves any more.
func sparklineState(width: Int, height: Int, glyphs: Glyphs = .unicode) -> AppState {
    var state = AppState(interactive: true, glyphs: glyphs)
    _ = Reducer.reduce(&state, .resize(width: width, height: height))
    let L1 = SocketID(.listener, 1), C1 = SocketID(.connection, 1), C2 = SocketID(.connection, 2), C3 = SocketID(.connection, 3)
    func at(_ ms: Int64) -> Timestamp { Timestamp(nanoseconds: t0.nanoseconds + ms * 1_000_000) }
    func feed(_ kind: EngineEventKind, _ ms: Int64) { _ = Reducer.reduce(&state, .engine(EngineEvent(time: at(ms), kind: kind))) }
    feed(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .discard, backlog: 128), 0)
    feed(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40001"), 1)
    feed(.accepted(C2, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40002"), 2)
    feed(.accepted(C3, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40003"), 3)
    for ms in stride(from: Int64(10), to: 9_000, by: 100) {
        if ms < 5_000 { feed(.received(C1, bytes: [], count: 10_240), ms) }
        if ms >= 3_000, ms < 5_000 {
            feed(.received(C2, bytes: [], count: 5_242_880), ms + 1)
            feed(.sent(C2, bytes: [], count: 102), ms + 2)
        }
        if ms < 4_000 {
            feed(.received(C3, bytes: [], count: 1_024), ms + 3)
            feed(.sent(C3, bytes: [], count: 1_024), ms + 4)
        } else if ms == 4_010 {
            feed(.closed(C3, reason: "closed by peer"), ms)
        }
        // The app's once-a-second tick, only while a rate is shown.
        if ms % 1_000 == 910, state.wantsTicks { _ = Reducer.reduce(&state, .tick(at(ms + 50))) }
    }
    state.view.focus = .connections
    state.view.zoomed = true
    state.needsRedraw = false
    return state
}

@Suite struct SparklineTests {
    @Test(arguments: [(80, 24), (120, 40), (200, 60), (20, 6)])
    func sparklinesShowAStallABurstAndAClose(_ size: (Int, Int)) {
        let state = sparklineState(width: size.0, height: size.1)
        // Nothing moves at the end: no tick is wanted, so idle costs no wake-ups.
        #expect(!state.wantsTicks)
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "watch-sparklines-\(size.0)x\(size.1)")
        guard size.0 >= 120 else { return }
        let lines = frame.grid.textLines.map { Array($0) }
        let header = lines.first { String($0).contains("IN/OUT LAST 8s") }!
        let x = (0..<header.count).first { String(header[$0...]).hasPrefix("IN/OUT") }!
        func sparks(_ id: String) -> String {
            let line = lines.first { String($0).contains(" \(id) ") }!
            return String(line[x..<x + 17])
        }
        // 100 KiB/s in (level 4 of 7) for 5 s, then the stall: the baseline, and no tick after it.
        #expect(sparks("C1") == "  ▅▅▅▅▅▁   ▁▁▁▁▁▁")
        // The burst: 50 MiB/s, then its second bucket averaged over the 1.95 s the tick took, then quiet.
        #expect(sparks("C2") == "     ▇▆▁      ▃▃▁")
        // Closed after 4 s at 10 KiB/s each way: its seconds stay, nothing is added.
        #expect(sparks("C3") == "     ▄▄▄      ▄▄▄")
    }

    /// A terminal whose locale is not UTF-8: the same samples in ASCII.
    @Test(arguments: [(120, 40), (200, 60)])
    func withoutUTF8SparklinesAreASCII(_ size: (Int, Int)) {
        let frame = Screen.render(sparklineState(width: size.0, height: size.1, glyphs: .ascii))
        assertSnapshot(frame, named: "watch-sparklines-ascii-\(size.0)x\(size.1)")
        let text = frame.grid.textLines.joined()
        #expect(text.contains("  =====_   ______"))
        #expect(text.contains("     *+_      ::_"))
        for block in Sparkline.unicodeLevels.dropFirst() { #expect(!text.contains(block)) }
    }

    @Test func levelsStepBy32FromOneBytePerSecond() {
        #expect([0, 1, 31, 32, 1_023, 1_024, 32_768, 1 << 20, 1 << 25, 1 << 30, Int.max].map(Sparkline.level)
                == [0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 7])
    }

    /// C3 pinned (`m`) above the others, `f` on: the pinned id is marked and the title says it follows.
    @Test(arguments: [(80, 24), (120, 40), (200, 60), (20, 6)])
    func pinnedRowAndFollowing(_ size: (Int, Int)) {
        var state = sparklineState(width: size.0, height: size.1)
        state.view.selectedConnection = SocketID(.connection, 3)
        keys("mf", &state)
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "watch-pinned-following-\(size.0)x\(size.1)")
        guard size.0 >= 80 else { return }
        let lines = frame.grid.textLines
        #expect(lines.contains { $0.contains("Connections (2 open) · following busiest") })
        let rows = lines.filter { $0.contains("C1 ") || $0.contains("^C3 ") || $0.contains("C2 ") }
        #expect(rows.count == 3 && rows[0].contains("^C3 "), "the pinned row first, marked")
    }
}
