import Testing
@testable import SockscopeCore
@testable import SockscopeUI

/// Detail shows every rule that answers on the selected socket, with its firings, and the
/// sends repeating on it.
private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

@Suite struct AutomationDetailTests {
    @Test func detailListsRulesWithTheirCountsAndRepeaters() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 200, height: 60))
        let L1 = SocketID(.listener, 1), C1 = SocketID(.connection, 1)
        func feed(_ kind: EngineEventKind, _ request: RequestID? = nil) {
            _ = Reducer.reduce(&state, .engine(EngineEvent(time: start, request: request, kind: kind)))
        }
        func command(_ line: String) -> [EngineRequest] {
            Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: start)).compactMap {
                if case .perform(let request) = $0 { request } else { nil }
            }
        }
        feed(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 5))
        feed(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000"))
        for line in [#"rule L1 when "PING" reply "+PONG""#, #"rule C1 when /^(\w+)$/ reply "\1!""#,
                     #"rule all when contains "\e[2J" reply "no""#] {
            for request in command(line) { feed(.requestCompleted, request.id) }
        }
        feed(.ruleFired(C1, rule: 1, times: 4))
        _ = command(#"every 500 send C1 "tick""#)
        state.view.focus = .connections
        let index = try #require(state.connectionDisplayOrder.firstIndex { state.connections[$0].id == C1 })
        _ = Reducer.reduce(&state, .select(.connections, index: index))
        state.view.focus = .detail
        state.view.zoomed = true
        let text = Screen.render(state).grid.textLines.joined(separator: "\n")
        for expected in [#"#2 when /^(\w+)$/ reply "\1!" (fired 0 times)"#, #"#1 when "PING" reply "+PONG" (fired 4 times) [L1's]"#,
                         #"#3 when contains "\x1b[2J" reply "no" (fired 0 times) [all's]"#,
                         #"E1 every 500 ms send "tick" (1 sent, until stop) (stop 1)"#] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
        #expect(!text.contains("\u{1B}"))
    }
}
