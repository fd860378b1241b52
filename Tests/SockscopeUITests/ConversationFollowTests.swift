import Testing
@testable import SockscopeCore
@testable import SockscopeUI

/// The conversation view of the connection whose log is read: the engine is asked to keep
/// more of its bytes, and the view scrolls by line from the newest to a long reply's first line.
private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

@Suite struct ConversationFollowTests {
    @Test func readingAConnectionsLogFollowsItAndScrollsToTheFirstLineOfALongReply() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 100, height: 30))
        let C1 = SocketID(.connection, 1)
        func feed(_ kind: EngineEventKind, ms: Int64) -> [Effect] {
            Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: start.nanoseconds + ms * 1_000_000),
                                                       request: nil, kind: kind)))
        }
        _ = feed(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:8000"), ms: 0)
        // Enter on the connection: its log, and the engine follows it.
        state.view.focus = .connections
        let effects = Reducer.reduce(&state, .key(.enter, time: start))
        let follows = effects.compactMap { if case .perform(let request) = $0, case .follow(let id) = request.command { id } else { nil } }
        #expect(follows == [C1])
        #expect(state.log.followed == C1)

        // A 300-line reply, 9 KiB: kept whole (not cut at 1 KiB), shown whole.
        let reply = (1...300).map { String(format: "line %03d of the reply", $0) }.joined(separator: "\n") + "\n"
        _ = feed(.sent(C1, bytes: Array("GET / HTTP/1.0\r\n\r\n".utf8), count: 18), ms: 10)
        _ = feed(.received(C1, bytes: Array(reply.utf8), count: reply.utf8.count), ms: 50)
        #expect(state.log.last?.bytes.count == reply.utf8.count)
        _ = Reducer.reduce(&state, .key(.character("e"), time: start))
        state.view.focus = .log
        var text = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(text.contains("line 300 of the reply") && !text.contains("line 001 of the reply"))
        // Scrolling up goes line by line, through the whole reply, to the request above it.
        for _ in 0..<30 { _ = Reducer.reduce(&state, .key(.pageUp, time: start)) }
        text = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(text.contains("line 001 of the reply") && text.contains("GET / HTTP/1.0"))

        // Another filter: nothing is followed, and the engine is told.
        _ = Reducer.reduce(&state, .key(.escape, time: start))
        let cleared = Reducer.reduce(&state, .key(.escape, time: start))
            + Reducer.reduce(&state, .resize(width: 100, height: 30))
        #expect(state.log.followed == nil)
        #expect(state.view.logFilter == nil)
        _ = cleared
    }
}
