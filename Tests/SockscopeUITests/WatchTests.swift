import Testing
import TestSupport
import SockscopeCore
import SockscopeUI

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
