import Testing
import TestSupport
@testable import SockscopeCore

private let L2 = SocketID(.listener, 2)
private func C(_ number: Int) -> SocketID { SocketID(.connection, number) }
private func ms(_ value: Int64) -> Int64 { value * 1_000_000 }

/// Two listeners and five connections that differ in every sortable way:
/// C1 (L1, 127.0.0.1:40001, busiest now), C2 (L1, UDP-free TCP, most bytes, older), C3 (L2, IPv6 peer, closed),
/// C4 (ours, to 10.0.0.5:443, peer-EOF), C5 (L2, UDP-like: a udp listener, newest).
private func watchedState() -> AppState {
    var state = AppState(interactive: true)
    _ = Reducer.reduce(&state, .resize(width: 120, height: 40))
    _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 128)))
    _ = Reducer.reduce(&state, event(.listening(L2, .tcp, local: "[::1]:8443", mode: .discard, backlog: 128)))
    _ = Reducer.reduce(&state, event(.accepted(C(2), listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40002"), at: ms(1)))
    _ = Reducer.reduce(&state, event(.accepted(C(1), listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40001"), at: ms(2)))
    _ = Reducer.reduce(&state, event(.accepted(C(3), listener: L2, local: "[::1]:8443", remote: "[::1]:50000"), at: ms(3)))
    _ = Reducer.reduce(&state, event(.connecting(C(4), remote: "10.0.0.5:443"), at: ms(4)))
    _ = Reducer.reduce(&state, event(.connected(C(4), local: "10.0.0.1:33333", remote: "10.0.0.5:443"), at: ms(5)))
    _ = Reducer.reduce(&state, event(.accepted(C(5), listener: L2, local: "[::1]:8443", remote: "[::1]:50001"), at: ms(6)))
    // C2 moved a lot long ago; C1 moves steadily now (a rate), C2 is quiet by then.
    _ = Reducer.reduce(&state, event(.received(C(2), bytes: [], count: 5_000_000), at: ms(10)))
    for step in Int64(0)..<25 {
        _ = Reducer.reduce(&state, event(.received(C(1), bytes: [], count: 10_000), at: ms(1_000 + step * 100)))
    }
    _ = Reducer.reduce(&state, event(.closed(C(3), reason: "peer reset"), at: ms(3_600)))
    _ = Reducer.reduce(&state, event(.peerClosed(C(4)), at: ms(3_700)))
    state.view.focus = .connections
    return state
}

private func shownIDs(_ state: AppState) -> [Int] { state.connectionDisplayOrder.map { state.connections[$0].id.number } }

private func type(_ text: String, _ state: inout AppState) {
    for character in text { _ = Reducer.reduce(&state, .key(.character(character), time: t0)) }
}

@Suite struct ConnectionViewTests {
    @Test func filterWordsReadAsKeysOrText() throws {
        let row = watchedState().connection(C(4))!
        #expect(try ConnectionFilter(parsing: "port:443")!.matches(row))
        #expect(try ConnectionFilter(parsing: "PORT:33333 state:peer-eof proto:tcp")!.matches(row))
        #expect(try !ConnectionFilter(parsing: "port:444")!.matches(row))
        #expect(try !ConnectionFilter(parsing: "state:established")!.matches(row))
        #expect(try ConnectionFilter(parsing: "10.0.0.5:443")!.matches(row), "an address with a colon is text, not a key")
        #expect(try ConnectionFilter(parsing: "c4")!.matches(row), "the id, ignoring case")
        #expect(try !ConnectionFilter(parsing: "c4 proto:udp")!.matches(row), "every word must match")
        #expect(try ConnectionFilter(parsing: "   ") == nil)
        #expect(throws: FilterProblem.self) { try ConnectionFilter(parsing: "port:99999") }
        #expect(throws: FilterProblem.self) { try ConnectionFilter(parsing: "proto:sctp") }
        #expect(throws: FilterProblem.self) { try ConnectionFilter(parsing: "state:establishd") }
    }

    @Test func slashInConnectionsFiltersRowsAsYouTypeAndEscClears() {
        var state = watchedState()
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        #expect(state.view.prompt?.purpose == .connectionFilter)
        type("state:open", &state)
        #expect(shownIDs(state) == [2, 1, 5])
        // Half-typed (`port:` alone) keeps the last filter that read (`port` as text) and says why inline.
        type(" port:", &state)
        #expect(state.view.prompt?.error?.contains("port") == true)
        #expect(state.view.connectionFilter?.text == "state:open port")
        type("9000", &state)
        #expect(state.view.prompt?.error == nil)
        #expect(shownIDs(state) == [2, 1])
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(state.view.prompt == nil && state.view.connectionFilter?.text == "state:open port:9000")
        #expect(state.view.logFilter == nil, "the log's filter is another thing")
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        #expect(state.view.connectionFilter == nil)
        #expect(shownIDs(state) == [2, 1, 3, 5, 4])
    }

    @Test func aFilterMovesAHiddenSelectionToTheFirstRowShown() {
        var state = watchedState()
        state.view.selectedConnection = C(4)
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        type("::1", &state)
        #expect(shownIDs(state) == [3, 5])
        #expect(state.view.selectedConnection == C(3))
    }

    @Test func slashElsewhereStillFiltersTheLog() {
        var state = watchedState()
        state.view.focus = .log
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        type("C1", &state)
        #expect(state.view.logFilter == "C1" && state.view.connectionFilter == nil)
    }

    @Test func oCyclesEverySortAndBackToTheTree() {
        var state = watchedState()
        var seen: [ConnectionSort: [Int]] = [:]
        for _ in ConnectionSort.allCases {
            _ = Reducer.reduce(&state, .key(.character("o"), time: t0))
            seen[state.view.connectionSort] = shownIDs(state)
        }
        #expect(state.view.connectionSort == .tree)
        #expect(seen[.tree] == [2, 1, 3, 5, 4])
        // Only C1 has a rate; the rest keep the tree's order among themselves.
        #expect(seen[.rate] == [1, 2, 3, 5, 4])
        #expect(seen[.bytes] == [2, 1, 3, 5, 4])
        #expect(seen[.age] == [5, 4, 3, 1, 2])
        #expect(seen[.state] == [2, 1, 5, 4, 3])
        // IPv4 numerically (10.0.0.5 before 127.0.0.1, 40001 before 40002), then IPv6.
        #expect(seen[.remote] == [4, 1, 2, 3, 5])
    }

    @Test func oOutsideConnectionsAndTheSystemViewExplains() {
        var state = watchedState()
        state.view.focus = .log
        _ = Reducer.reduce(&state, .key(.character("o"), time: t0))
        #expect(state.view.connectionSort == .tree)
        #expect(state.view.flash?.contains("o sorts Connections") == true)
    }

    @Test func selectionKeysWalkTheFilteredSortedOrder() {
        var state = watchedState()
        _ = Reducer.reduce(&state, .key(.character("o"), time: t0))  // by rate
        _ = Reducer.reduce(&state, .key(.character("g"), time: t0))
        #expect(state.view.selectedConnection == C(1))
        _ = Reducer.reduce(&state, .key(.character("j"), time: t0))
        #expect(state.view.selectedConnection == C(2))
        _ = Reducer.reduce(&state, .select(.connections, index: 4))
        #expect(state.view.selectedConnection == C(4))
    }

    @Test func rateHistoryKeepsTheLastEightSecondsAndAGapAsItsAverage() {
        var rate = TrafficRate()
        func at(_ seconds: Double) -> Timestamp { Timestamp(nanoseconds: t0.nanoseconds + Int64(seconds * 1e9)) }
        for second in 0..<20 { rate.add(received: 2_000, sent: 10, at: at(Double(second))) }
        #expect(rate.history.received == Array(repeating: 2_000, count: RateHistory.capacity))
        #expect(rate.history.sent == Array(repeating: 10, count: RateHistory.capacity))
        // Buckets of 4 s (neither traffic nor ticks between): 4 seconds of their average each,
        // 2,000 B over 19-23 s, then 8,000 B over 23-27 s; the oldest seconds go.
        rate.add(received: 8_000, at: at(23))
        rate.add(received: 1, at: at(27))
        #expect(rate.history.received == [500, 500, 500, 500, 2_000, 2_000, 2_000, 2_000])
        rate.add(received: 1, at: at(28))
        #expect(rate.history.received == [500, 500, 500, 2_000, 2_000, 2_000, 2_000, 1])
    }

    @Test func aClosedConnectionStopsItsRateAndKeepsItsHistory() {
        var state = watchedState()
        let before = state.connection(C(1))!.rate.history
        #expect(state.connection(C(1))!.rate.isActive && !before.received.isEmpty)
        _ = Reducer.reduce(&state, event(.closed(C(1), reason: "closed"), at: ms(3_450)))
        let row = state.connection(C(1))!
        #expect(!row.rate.isActive && row.rate.history == before)
        #expect(!state.activeRates.contains(C(1)))
    }

    @Test func mPinsToTheTopWhateverTheSortAndUnpins() {
        var state = watchedState()
        state.view.selectedConnection = C(4)
        _ = Reducer.reduce(&state, .key(.character("m"), time: t0))
        state.view.selectedConnection = C(3)
        _ = Reducer.reduce(&state, .key(.character("m"), time: t0))
        #expect(shownIDs(state) == [4, 3, 2, 1, 5])
        _ = Reducer.reduce(&state, .key(.character("o"), time: t0))  // by rate: the rest sorted, pins first
        #expect(shownIDs(state) == [4, 3, 1, 2, 5])
        // A filter still applies to pinned rows.
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        type("state:open", &state)
        #expect(shownIDs(state) == [1, 2, 5])
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        state.view.selectedConnection = C(4)
        _ = Reducer.reduce(&state, .key(.character("m"), time: t0))
        #expect(state.view.pinnedConnections == [C(3)])
        // Outside Connections and Detail, m explains instead.
        state.view.focus = .log
        _ = Reducer.reduce(&state, .key(.character("m"), time: t0))
        #expect(state.view.pinnedConnections == [C(3)] && state.view.flash != nil)
    }

    @Test func fFollowsTheBusiestOnEachTickUntilJOrFAgain() {
        var state = watchedState()
        state.view.selectedConnection = C(5)
        _ = Reducer.reduce(&state, .key(.character("f"), time: t0))
        #expect(state.view.followsBusiest && state.view.selectedConnection == C(1))
        // C5 becomes the busiest: the next tick moves the selection there.
        for step in Int64(0)..<12 {
            _ = Reducer.reduce(&state, event(.received(C(5), bytes: [], count: 1_000_000), at: ms(3_500 + step * 100)))
            _ = Reducer.reduce(&state, event(.received(C(1), bytes: [], count: 10_000), at: ms(3_550 + step * 100)))
        }
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + ms(4_700))))
        #expect(state.view.selectedConnection == C(5))
        // j: the user chose; following stops.
        _ = Reducer.reduce(&state, .key(.character("j"), time: t0))
        #expect(!state.view.followsBusiest)
        let chosen = state.view.selectedConnection
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + ms(5_700))))
        #expect(state.view.selectedConnection == chosen)
    }
}
