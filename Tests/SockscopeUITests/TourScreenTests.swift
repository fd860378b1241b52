import Testing
@testable import SockscopeCore
@testable import SockscopeUI

/// The tour's progress line: under the status line while a tour runs, gone after `tour quit`.
@Suite struct TourScreenTests {
    @Test func theProgressLineShowsTheLessonTheStepAndWhatToType() throws {
        let time = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 120, height: 40))
        _ = Reducer.reduce(&state, .commandLine("tour 1", origin: .prompt, time: time))
        var lines = Screen.render(state).grid.textLines
        // Right under the status line (which grows with a long message).
        let layout = Layout(state: state)
        let row = try #require(layout.tour?.y)
        #expect(row == layout.status.y + layout.status.height)
        #expect(lines[row].hasPrefix("tour 1/7 A TCP server, the classic way · step 1/10: socket tcp · waiting"), "\(lines)")
        let record = SyscallRecord(call: "socket", arguments: ["AF_INET", "SOCK_STREAM"], result: 7, phase: .created, transport: .tcp)
        _ = Reducer.reduce(&state, .engine(EngineEvent(time: time, kind: .lab(.call(SocketID(.socket, 1), record)))))
        lines = Screen.render(state).grid.textLines
        #expect(lines.contains { $0.hasPrefix("tour 1/7 A TCP server, the classic way · step 1/10: socket tcp · done: tour next") })
        _ = Reducer.reduce(&state, .commandLine("tour quit", origin: .prompt, time: time))
        lines = Screen.render(state).grid.textLines
        #expect(!lines.contains { $0.hasPrefix("tour 1/7 ") })
        #expect(Layout(state: state).tour == nil)
        #expect(lines.count == 40)
    }
}
