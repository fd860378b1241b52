import Testing
@testable import SockscopeCore

private let tourT0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

private func engine(_ kind: EngineEventKind, _ state: inout AppState) {
    _ = Reducer.reduce(&state, .engine(EngineEvent(time: tourT0, kind: kind)))
}

private func type(_ line: String, _ state: inout AppState) {
    _ = Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: tourT0))
}

/// The tour's bookkeeping in the reducer: what finishes a step and what does not.
@Suite struct TourTests {
    let s1 = SocketID(.socket, 1), s2 = SocketID(.socket, 2)

    func call(_ name: String, _ id: SocketID, errno: Int32? = nil) -> EngineEventKind {
        .lab(.call(id, SyscallRecord(call: name, arguments: ["7"], result: errno == nil ? 7 : -1, errno: errno,
                                     phase: .created, transport: .tcp)))
    }

    @Test func aStepWaitsForItsOwnEventOnItsOwnSocket() {
        var state = AppState(interactive: true)
        type("tour 1", &state)
        #expect(state.tour?.step == 0 && state.tour?.isDone == false)
        // Typing the command is not doing it: only the engine's answer counts.
        type("socket tcp", &state)
        #expect(state.tour?.isDone == false)
        type("tour next", &state)
        #expect(state.tour?.step == 0)
        engine(call("socket", s1), &state)
        #expect(state.tour?.isDone == true && state.tour?.remembered["server"] == "S1")
        type("tour next", &state)
        #expect(state.tour?.step == 1 && state.tour?.isDone == false)
        #expect(state.tour?.progress.contains("step 2/10: bind S1 127.0.0.1:0 · waiting") == true)
        // A failed bind, or a bind of another socket, does not finish "bind S1".
        engine(call("bind", s1, errno: 98), &state)
        engine(call("bind", s2), &state)
        #expect(state.tour?.isDone == false)
        engine(call("bind", s1), &state)
        #expect(state.tour?.isDone == true)
        type("tour back", &state)
        #expect(state.tour?.step == 0 && state.tour?.isDone == false)
        type("tour quit", &state)
        #expect(state.tour == nil)
    }

    @Test func lessonsAreNamedAndEveryStepSaysWhatToType() throws {
        #expect(TourLessons.all.count == 7)
        #expect(try CommandParser.parse("tour nonblocking") == .tour(.start(5)))
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("tour 8") }
        for lesson in TourLessons.all {
            for step in lesson.steps {
                #expect(!step.commands.isEmpty && !step.why.isEmpty && !step.explanation.isEmpty)
                // Each command parses once its {names} are filled in (ids as S1, the port as 9000).
                for command in step.commands {
                    let line = command.replacing("{port}", with: "9000").replacing(/\{[a-z0-9]+\}/) { _ in "S1" }
                    #expect(throws: Never.self, "\(line)") { _ = try CommandParser.parse(line) }
                }
            }
        }
    }
}
