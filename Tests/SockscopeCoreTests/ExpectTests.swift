import Testing
import TestSupport
@testable import SockscopeCore

/// `expect` in the reducer: the script waits on the expectation's timer request like on any
/// request; received bytes settle it early; each match consumes what it matched.
@Suite struct ExpectTests {
    /// A connected C1 with `lines` queued after the connect; returns the state and what the
    /// first line after the connect asked of the engine.
    func connected(then lines: [String]) -> (AppState, [Effect]) {
        var state = AppState(interactive: false)
        let connect = requests(Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0)))[0]
        for line in lines { _ = Reducer.reduce(&state, .commandLine(line, origin: .script, time: t0)) }
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), connect.id))
        let effects = Reducer.reduce(&state, event(.requestCompleted, connect.id))
        return (state, effects)
    }

    func received(_ text: String, _ state: inout AppState, at offset: Int64 = 1_000_000) -> [Effect] {
        Reducer.reduce(&state, event(.received(C1, bytes: Array(text.utf8), count: text.utf8.count), at: offset))
    }

    @Test func anExpectWaitsForItsBytesThenTheScriptGoesOn() throws {
        var (state, effects) = connected(then: [#"expect "+PONG""#, "send next"])
        let timer = try #require(requests(effects).first)
        #expect(timer.command == .wait(milliseconds: 10_000))
        #expect(state.script.waitingFor == timer.id)
        #expect(received("+PO", &state).isEmpty, "half a reply does not match")
        effects = received("NG\r\n", &state)
        #expect(requests(effects).map(\.command) == [.send(C1, Array("next".utf8))], "the script went on")
        #expect(!state.requestsInFlight.contains(timer.id), "the timer is no longer waited for")
        // The timer's completion, when it comes, changes nothing.
        let late = Reducer.reduce(&state, event(.requestCompleted, timer.id))
        #expect(late.isEmpty && state.script.failure == nil)
        #expect((0..<state.log.count).map { state.log[$0] }.contains { entry in
            guard case .note(let text) = entry.record else { return false }
            return entry.socket == C1 && text == #"expect "+PONG" held ("+PONG") after 1.0 ms"#
        })
    }

    /// The definition: an expect sees what arrived after the previous match, so a reply that
    /// came before the line ran counts, and two expects never match the same bytes.
    @Test func eachMatchConsumesWhatItMatched() throws {
        var (state, effects) = connected(then: [#"expect "OK""#, #"expect "OK""#, #"expect "OK""#, "send done"])
        let first = try #require(requests(effects).first)
        // Two replies in one read: the first expect takes one, the second the other at once.
        effects = received("OK\r\nOK\r\n", &state)
        let third = try #require(requests(effects).first, "the second expect held at once; the third waits")
        #expect(third.command == .wait(milliseconds: 10_000) && third.id != first.id)
        #expect(state.script.windows[C1]?.unread == Array("\r\n".utf8))
        effects = Reducer.reduce(&state, event(.requestCompleted, third.id))
        #expect(state.script.failure?.contains(#"line 4: expect C1 "OK" failed: nothing matching came within 10 s; "#
            + #"last bytes received: "OK\r\nOK\r\n""#) == true, "\(state.script.failure ?? "no failure")")
        #expect(requests(effects).isEmpty, "no line runs after a failure")
    }

    @Test func aReplyThatCameBeforeTheLineRanCounts() {
        var state = AppState(interactive: false)
        state.script.sources = [ScriptSource(name: "check.txt", lines: nil)]
        let connect = requests(Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0)))[0]
        _ = Reducer.reduce(&state, .commandLine("# greeting", origin: .script, time: t0))
        _ = Reducer.reduce(&state, .commandLine("expect prefix \"220 \"", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), connect.id))
        _ = received("220 mail ready\r\n", &state)
        let effects = Reducer.reduce(&state, event(.requestCompleted, connect.id))
        #expect(requests(effects).isEmpty, "held at once: nothing to wait for")
        #expect(state.script.waitingFor == nil && state.isWaitingOnlyForCommands == false)
        #expect(state.script.windows[C1]?.unread == Array("mail ready\r\n".utf8))
    }

    @Test func closedEofAndConnected() throws {
        var (state, effects) = connected(then: ["expect connected", "expect eof", "expect closed", "quit"])
        let eofTimer = try #require(requests(effects).first, "connected held at once; eof waits")
        #expect(state.script.waitingFor == eofTimer.id)
        effects = Reducer.reduce(&state, event(.peerClosed(C1)))
        let closedTimer = try #require(requests(effects).first)
        effects = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed")))
        #expect(effects.contains(.quit), "\(effects)")
        #expect(state.script.failure == nil)
        _ = closedTimer
    }

    @Test func aSocketClosingFirstFailsAtOnce() throws {
        var (state, effects) = connected(then: [#"expect /2\d\d /"#])
        _ = try #require(requests(effects).first)
        _ = received("500 no\r\n", &state)
        effects = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed")))
        #expect(state.script.failure?.contains(#"expect C1 /2\d\d / failed: C1 closed first; last bytes received: "500 no\r\n""#)
            == true, "\(state.script.failure ?? "")")
    }

    @Test func aListenerTakesOneClientPerExpect() throws {
        var state = AppState(interactive: false)
        let listen = requests(Reducer.reduce(&state, .commandLine("listen 9000", origin: .script, time: t0)))[0]
        _ = Reducer.reduce(&state, .commandLine("expect L1 connected", origin: .script, time: t0))
        _ = Reducer.reduce(&state, .commandLine("expect L1 connected", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 5), listen.id))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000")))
        var effects = Reducer.reduce(&state, event(.requestCompleted, listen.id))
        #expect(requests(effects).map(\.command) == [.wait(milliseconds: 10_000)], "the first expect took C1 at once; the second waits")
        let second = try #require(state.script.waitingFor)
        effects = Reducer.reduce(&state, event(.accepted(C2, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40001")))
        #expect(state.script.waitingFor == nil && state.script.failure == nil)
        #expect(!state.requestsInFlight.contains(second))
    }

    @Test func sleepIsARequestTheScriptWaitsFor() throws {
        var state = AppState(interactive: false)
        let sleep = try #require(requests(Reducer.reduce(&state, .commandLine("sleep 250", origin: .script, time: t0))).first)
        #expect(sleep.command == .wait(milliseconds: 250))
        #expect(Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0)).isEmpty)
        let next = Reducer.reduce(&state, event(.requestCompleted, sleep.id))
        #expect(requests(next).count == 1)
    }

    @Test func theLocationNamesTheSourceAndItsLine() {
        var queue = ScriptQueue()
        queue.sources = [ScriptSource(name: "-c", lines: 2), ScriptSource(name: "check.txt", lines: 3),
                         ScriptSource(name: "stdin", lines: nil)]
        #expect(queue.location(ofLine: 2) == "line 2 of -c")
        #expect(queue.location(ofLine: 3) == "line 1 of check.txt")
        #expect(queue.location(ofLine: 5) == "line 3 of check.txt")
        #expect(queue.location(ofLine: 7) == "line 2 of stdin")
    }
}
