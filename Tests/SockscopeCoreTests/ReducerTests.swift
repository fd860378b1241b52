import Testing
import TestSupport
@testable import SockscopeCore

let t0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
let L1 = SocketID(.listener, 1), C1 = SocketID(.connection, 1), C2 = SocketID(.connection, 2)

func event(_ kind: EngineEventKind, _ request: RequestID? = nil, at offset: Int64 = 0) -> AppEvent {
    .engine(EngineEvent(time: Timestamp(nanoseconds: t0.nanoseconds + offset), request: request, kind: kind))
}

func requests(_ effects: [Effect]) -> [EngineRequest] {
    effects.compactMap { if case .perform(let request) = $0 { request } else { nil } }
}

@Suite struct ReducerTests {
    @Test func promptCommandBecomesEngineRequest() {
        var state = AppState(interactive: true)
        let effects = Reducer.reduce(&state, .commandLine("listen 9000 --echo", origin: .prompt, time: t0))
        #expect(requests(effects).map(\.command) == [.listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000), mode: .echo))])
        #expect(state.log.last?.kind == .command)
    }

    @Test func scriptedCommandsWaitForTheEngine() {
        var state = AppState(interactive: false)
        var effects = Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0))
        let connect = requests(effects)
        #expect(connect.count == 1)
        effects = Reducer.reduce(&state, .commandLine("send hi", origin: .script, time: t0))
        #expect(effects.isEmpty, "send must wait until connect has finished")
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:9000"), connect[0].id))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), connect[0].id))
        effects = Reducer.reduce(&state, event(.requestCompleted, connect[0].id))
        #expect(requests(effects).map(\.command) == [.send(C1, Array("hi".utf8))])
    }

    /// What lets a headless session end once its stdin has: nothing queued or unanswered,
    /// no listener, no connection that could still bring data.
    @Test func waitingOnlyForCommandsOnceEveryExchangeIsOver() {
        var state = AppState(interactive: false)
        #expect(state.isWaitingOnlyForCommands)
        var effects = Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0))
        let connect = requests(effects)[0]
        _ = Reducer.reduce(&state, .commandLine("send hi", origin: .script, time: t0))
        #expect(!state.isWaitingOnlyForCommands, "a connect is unanswered and a send queued")
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:9000"), connect.id))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), connect.id))
        effects = Reducer.reduce(&state, event(.requestCompleted, connect.id))
        let send = requests(effects)[0]
        #expect(!state.isWaitingOnlyForCommands, "the send is unanswered")
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("hi".utf8), count: 2), send.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, send.id))
        #expect(!state.isWaitingOnlyForCommands, "the peer may still answer")
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("ok".utf8), count: 2)))
        _ = Reducer.reduce(&state, event(.peerClosed(C1)))
        #expect(state.isWaitingOnlyForCommands, "the peer is done: only a command could send more")

        // A file transfer holds the script like any command: `close` runs once the whole file has left.
        effects = Reducer.reduce(&state, .commandLine("sendfile C1 /etc/hostname", origin: .script, time: t0))
        let file = requests(effects)[0]
        #expect(!state.isWaitingOnlyForCommands)
        effects = Reducer.reduce(&state, .commandLine("close C1", origin: .script, time: t0))
        #expect(effects.isEmpty, "close waits for the file")
        effects = Reducer.reduce(&state, event(.requestCompleted, file.id))
        let close = requests(effects)
        #expect(close.map(\.command) == [.close(C1)])
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "closed by us"), close[0].id))
        _ = Reducer.reduce(&state, event(.requestCompleted, close[0].id))
        #expect(state.isWaitingOnlyForCommands)

        effects = Reducer.reduce(&state, .commandLine("sys on", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.requestCompleted, requests(effects)[0].id))
        #expect(!state.isWaitingOnlyForCommands, "the system view scans once a second")
        effects = Reducer.reduce(&state, .commandLine("sys off", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.requestCompleted, requests(effects)[0].id))
        #expect(state.isWaitingOnlyForCommands)

        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9001", mode: .echo, backlog: 128)))
        #expect(!state.isWaitingOnlyForCommands, "a listener keeps serving")
        _ = Reducer.reduce(&state, event(.closed(L1, reason: "stopped listening")))
        _ = Reducer.reduce(&state, event(.accepted(C2, listener: L1, local: "127.0.0.1:9001", remote: "127.0.0.1:5000")))
        #expect(!state.isWaitingOnlyForCommands, "an open connection may still bring data")
        _ = Reducer.reduce(&state, event(.closed(C2, reason: "peer closed")))
        #expect(state.isWaitingOnlyForCommands)
    }

    @Test func scriptErrorsDoNotStopTheScript() {
        var state = AppState(interactive: false)
        let effects = Reducer.reduce(&state, .commandLine("bogus", origin: .script, time: t0))
            + Reducer.reduce(&state, .commandLine("listen 1", origin: .script, time: t0))
        #expect(effects.contains { if case .notice(.error, _) = $0 { true } else { false } })
        #expect(requests(effects).count == 1)
        #expect(state.script.failure?.contains("bogus") == true)
    }

    @Test func connectionsAndCountersFollowEvents() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 128)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:5000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("abc".utf8), count: 3)))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("abc".utf8), count: 3)))
        #expect(state.listener(L1)?.activeConnections == 1)
        #expect(state.connection(C1)?.bytesIn == 3)
        #expect(state.connection(C1)?.bytesOut == 3)
        #expect(state.view.selectedConnection == C1)
        _ = Reducer.reduce(&state, event(.peerClosed(C1)))
        #expect(state.connection(C1)?.state == .peerClosed)
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed")))
        #expect(state.connection(C1)?.state.isOpen == false)
        #expect(state.listener(L1)?.activeConnections == 0)
        #expect(state.listener(L1)?.acceptedTotal == 1)
    }

    @Test func sendWithoutConnectionExplains() {
        var state = AppState(interactive: false)
        let effects = Reducer.reduce(&state, .commandLine("send hi", origin: .prompt, time: t0))
        #expect(effects == [.notice(.error, "send: no connection yet; connect first, or name one: send C1 TEXT")])
    }

    @Test func sendToListenerOrClosedIsRefused() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "a", remote: "b")))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "x")))
        #expect(requests(Reducer.reduce(&state, .commandLine("send L1 x", origin: .prompt, time: t0))).isEmpty)
        #expect(requests(Reducer.reduce(&state, .commandLine("send C1 x", origin: .prompt, time: t0))).isEmpty)
        #expect(requests(Reducer.reduce(&state, .commandLine("close C1", origin: .prompt, time: t0))).isEmpty)
        #expect(requests(Reducer.reduce(&state, .commandLine("close L1", origin: .prompt, time: t0))).count == 1)
    }

    /// Opens a connection the way a command does: the connect request, then its events.
    func connect(_ id: SocketID, _ state: inout AppState, origin: CommandOrigin = .script) {
        let request = requests(Reducer.reduce(&state, .commandLine("connect 9000", origin: origin, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.connecting(id, remote: "127.0.0.1:9000"), request.id))
        _ = Reducer.reduce(&state, event(.connected(id, local: "127.0.0.1:5000", remote: "127.0.0.1:9000"), request.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, request.id))
    }

    /// Headless, a command without an id acts on the socket the commands last made or named,
    /// never on one that merely arrived later (an accepted client): the same script means the
    /// same socket however its events are timed.
    @Test func headlessDefaultsToTheSocketTheScriptMadeOrNamed() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 1)))
        connect(C1, &state)
        connect(C2, &state)
        let C3 = SocketID(.connection, 3)
        _ = Reducer.reduce(&state, event(.accepted(C3, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:5000")))
        #expect(state.view.selectedConnection == nil)
        var effects = Reducer.reduce(&state, .commandLine("send x", origin: .script, time: t0))
        #expect(requests(effects).map(\.command) == [.send(C2, [0x78])], "the accepted C3 arrived last, but the script made C2")
        _ = Reducer.reduce(&state, event(.requestCompleted, requests(effects)[0].id))
        effects = Reducer.reduce(&state, .commandLine("send C1 y", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.requestCompleted, requests(effects)[0].id))
        effects = Reducer.reduce(&state, .commandLine("send z", origin: .script, time: t0))
        #expect(requests(effects).map(\.command) == [.send(C1, [0x7A])], "naming C1 made it the recent socket")
    }

    /// A listener the script made answers through the client it accepted last.
    @Test func aListenerTheScriptMadeSendsToItsLatestClient() {
        var state = AppState(interactive: false)
        let listen = requests(Reducer.reduce(&state, .commandLine("listen 9000", origin: .script, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 1), listen.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, listen.id))
        #expect(state.recentSocket == L1)
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:5000")))
        let effects = Reducer.reduce(&state, .commandLine("send x", origin: .script, time: t0))
        #expect(requests(effects).map(\.command) == [.send(C1, [0x78])])
    }

    /// A command naming a closed socket is refused with that reason and asks nothing of the
    /// engine: the descriptor may belong to another socket by now (a closed step socket used
    /// to log a `send(12) = -1 EBADF` that no kernel ever answered).
    @Test func aClosedSocketIsRefusedBeforeAnySystemCall() {
        var state = AppState(interactive: false)
        let S1 = SocketID(.socket, 1)
        _ = Reducer.reduce(&state, event(.lab(.call(S1, SyscallRecord(call: "socket", arguments: ["AF_INET", "SOCK_STREAM"],
                                                                      result: 12, phase: .created, transport: .tcp)))))
        _ = Reducer.reduce(&state, event(.lab(.call(S1, SyscallRecord(call: "close", arguments: ["12"], result: 0,
                                                                      phase: .closed, transport: .tcp)))))
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "a", remote: "b")))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed")))
        for (line, message) in [("send S1 hi", "send: S1 is closed"), ("recv S1", "recv: S1 is closed"),
                                ("bind S1 127.0.0.1:0", "bind: S1 is closed"), ("send C1 hi", "send: C1 is closed"),
                                ("shutdown C1 write", "shutdown: C1 is closed"), ("get C1 rcvbuf", "get: C1 is closed")] {
            let effects = Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: t0))
            #expect(requests(effects).isEmpty, "\(line) reached the engine")
            #expect(effects == [.notice(.error, message)])
        }
    }

    /// The first failed scripted command is kept: headless leaves with status 1 on it.
    @Test func aFailedScriptedCommandIsRemembered() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, .commandLine("explain 111", origin: .script, time: t0))
        #expect(state.script.failure == nil)
        let connect = requests(Reducer.reduce(&state, .commandLine("connect 9", origin: .script, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:9"), connect.id))
        _ = Reducer.reduce(&state, event(.error(C1, .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:9")), connect.id))
        #expect(state.script.failure?.contains("ECONNREFUSED") == true)

        var unknown = AppState(interactive: false)
        _ = Reducer.reduce(&unknown, .commandLine("frobnicate", origin: .script, time: t0))
        #expect(unknown.script.failure?.contains("unknown command 'frobnicate'") == true)

        // An error the script did not ask for (a peer's reset) is no scripted failure.
        var other = AppState(interactive: false)
        _ = Reducer.reduce(&other, event(.error(C1, .system(call: "read", errno: 104))))
        #expect(other.script.failure == nil)
    }

    @Test func errorsAreLoggedWithErrnoName() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:9")))
        _ = Reducer.reduce(&state, event(.error(C1, .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:9"))))
        #expect(state.log.last?.text.contains("ECONNREFUSED") == true)
        #expect(state.connection(C1)?.state.isOpen == false)
        #expect(state.view.flash?.contains("ECONNREFUSED") == true)
    }

    @Test func closedRowsArePrunedInBatches() {
        var state = AppState(interactive: false)
        let open = SocketID(.connection, 0)
        _ = Reducer.reduce(&state, event(.connected(open, local: "a", remote: "b")))
        let batchDue = AppState.closedRowsKept + AppState.closedRowsPrunedAtOnce + 1
        for n in 1...(batchDue + 50) {
            let id = SocketID(.connection, n)
            _ = Reducer.reduce(&state, event(.connected(id, local: "a", remote: "b")))
            _ = Reducer.reduce(&state, event(.closed(id, reason: "x")))
            if n == batchDue - 1 { #expect(state.connections.count == 1 + n, "no prune before the batch is due") }
            if n == batchDue { #expect(state.connections.count == 1 + AppState.closedRowsKept) }
        }
        #expect(state.connections.count == 1 + AppState.closedRowsKept + 50)
        #expect(state.connection(open) != nil, "open rows are never pruned")
        #expect(state.connection(SocketID(.connection, batchDue + 50)) != nil)
        #expect(state.connection(SocketID(.connection, batchDue - AppState.closedRowsKept)) == nil, "the oldest went")
        // Lookups still find every row after the index was rebuilt.
        for row in state.connections { #expect(state.connection(row.id)?.id == row.id) }
    }

    @Test func quitAndHelp() {
        var state = AppState(interactive: true)
        #expect(Reducer.reduce(&state, .commandLine("quit", origin: .prompt, time: t0)) == [.quit])
        let help = Reducer.reduce(&state, .commandLine("help", origin: .prompt, time: t0))
        #expect(help.count == CommandCatalog.specs.count)
        #expect(state.view.showHelp)
    }
}

@Suite struct KeyTests {
    func type(_ text: String, into state: inout AppState) -> [Effect] {
        var effects: [Effect] = []
        for c in text { effects += Reducer.reduce(&state, .key(.character(c), time: t0)) }
        return effects
    }

    @Test func promptEditsAndSubmits() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
        _ = type("listen 900", into: &state)
        _ = Reducer.reduce(&state, .key(.character("0"), time: t0))
        #expect(state.view.prompt?.text == "listen 9000")
        let effects = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(requests(effects).count == 1)
        #expect(state.view.prompt == nil)
        #expect(state.view.history == ["listen 9000"])
    }

    @Test func badCommandKeepsWhatWasTyped() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
        _ = type("listen 99999", into: &state)
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(state.view.prompt?.text == "listen 99999")
        #expect(state.view.prompt?.error?.contains("out of range") == true)
    }

    @Test func historyRecallsPreviousCommands() {
        var state = AppState(interactive: true)
        for line in ["help", "help send"] {
            _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
            _ = type(line, into: &state)
            _ = Reducer.reduce(&state, .key(.enter, time: t0))
            _ = Reducer.reduce(&state, .key(.escape, time: t0))
        }
        _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
        _ = Reducer.reduce(&state, .key(.up, time: t0))
        #expect(state.view.prompt?.text == "help send")
        _ = Reducer.reduce(&state, .key(.up, time: t0))
        #expect(state.view.prompt?.text == "help")
        _ = Reducer.reduce(&state, .key(.down, time: t0))
        _ = Reducer.reduce(&state, .key(.down, time: t0))
        #expect(state.view.prompt?.text == "")
    }

    /// Tab again over several candidates cycles through them in the word's place, then
    /// starts over; any edit ends the cycle (a Tab only listed them before).
    @Test func tabCyclesThroughMatches() {
        var state = AppState(interactive: true)
        func press(_ key: KeyPress) { _ = Reducer.reduce(&state, .key(key, time: t0)) }
        press(.character(":"))
        for c in "sen" { press(.character(c)) }
        press(.tab)
        #expect(state.view.prompt?.text == "send")
        #expect(state.view.prompt?.candidates == ["send", "sendhex", "sendfile", "sendto"])
        var seen: [String] = []
        for _ in 0..<5 {
            press(.tab)
            seen.append(state.view.prompt?.text ?? "")
        }
        #expect(seen == ["send", "sendhex", "sendfile", "sendto", "send"])
        #expect(state.view.prompt?.cursor == 4)
        press(.character(" "))
        #expect(state.view.prompt?.text == "send " && state.view.prompt?.candidates == [])
    }

    @Test func navigationMovesFocusAndSelection() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "a", remote: "b")))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "a", remote: "c")))
        #expect(state.view.focus == .listeners)
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        #expect(state.view.focus == .connections)
        _ = Reducer.reduce(&state, .key(.character("j"), time: t0))
        #expect(state.view.selectedConnection == C2)
        _ = Reducer.reduce(&state, .key(.down, time: t0))
        #expect(state.view.selectedConnection == C2)
        _ = Reducer.reduce(&state, .key(.character("g"), time: t0))
        #expect(state.view.selectedConnection == C1)
        let close = Reducer.reduce(&state, .key(.character("x"), time: t0))
        #expect(requests(close).map(\.command) == [.close(C1)])
    }

    @Test func everyBindingDispatches() {
        for binding in KeyBindings.table {
            for key in binding.keys { #expect(KeyBindings.action(for: key) == binding.action) }
        }
    }

    @Test func quitKeys() {
        var state = AppState(interactive: true)
        #expect(Reducer.reduce(&state, .key(.character("q"), time: t0)) == [.quit])
        #expect(Reducer.reduce(&state, .key(.control("c"), time: t0)) == [.quit])
    }

    /// Ctrl-C with sockets open asks first (pressed by habit, it quit at once and closed
    /// everything); `y` quits, anything else keeps the session; at the prompt it cancels the line.
    @Test func ctrlCAsksBeforeClosingOpenSockets() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000")))
        #expect(Reducer.reduce(&state, .key(.control("c"), time: t0)) == [])
        #expect(state.view.confirmation?.question.contains("1 connection(s)") == true)
        #expect(Reducer.reduce(&state, .key(.character("n"), time: t0)) == [])
        #expect(state.view.confirmation == nil)
        _ = Reducer.reduce(&state, .key(.control("c"), time: t0))
        #expect(Reducer.reduce(&state, .key(.character("y"), time: t0)) == [.quit])
        // At the prompt, Ctrl-C cancels the line and quits nothing.
        _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
        _ = Reducer.reduce(&state, .key(.character("x"), time: t0))
        #expect(Reducer.reduce(&state, .key(.control("c"), time: t0)) == [])
        #expect(state.view.prompt == nil)
    }
}

@Suite struct LogBookTests {
    @Test func boundedByCount() {
        var log = LogBook(capacity: 10)
        for n in 0..<25 { log.append(LogEntry(time: t0, socket: nil, kind: .info, text: "\(n)")) }
        #expect(log.count == 10)
        #expect(log[0].text == "15")
        #expect(log.droppedEntries == 15)
    }

    @Test func boundedByBytes() {
        var log = LogBook(capacity: 1000, byteBudget: 4096)
        for n in 0..<100 {
            log.append(LogEntry(time: Timestamp(nanoseconds: Int64(n) * 1_000_000_000), socket: C1, kind: .received,
                                count: 1000, bytes: Array(repeating: 0x41, count: 1000)))
        }
        #expect(log.storedBytes <= 4096)
        #expect(log.count == 4)
    }

    @Test func closeReadsCoalesceWithExactCount() {
        var log = LogBook()
        for n in 0..<100 {
            log.appendData(time: Timestamp(nanoseconds: t0.nanoseconds + Int64(n)), socket: C1, kind: .received,
                           bytes: Array(repeating: 0x41, count: 100), count: 100)
        }
        #expect(log.count == 1)
        #expect(log[0].count == 10_000)
        #expect(log[0].bytes.count == LogBook.previewLimit)
    }
}

@Suite struct RedrawTests {
    @Test func completionAfterAnEventStillRedraws() {
        var state = AppState(interactive: true)
        state.needsRedraw = false
        let request = RequestID(1)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:1", mode: .echo, backlog: 1), request))
        _ = Reducer.reduce(&state, event(.requestCompleted, request))
        #expect(state.needsRedraw)
    }

    @Test func completionAloneDoesNotRedraw() {
        var state = AppState(interactive: true)
        state.needsRedraw = false
        _ = Reducer.reduce(&state, event(.requestCompleted, RequestID(1)))
        #expect(!state.needsRedraw)
    }
}

@Suite struct TUIFeatureTests {
    func connected() -> AppState {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:5000")))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:5000", remote: "127.0.0.1:9000")))
        return state
    }

    @Test func sendLineSendsRawTextWithTheLineEnding() {
        var state = connected()
        _ = Reducer.reduce(&state, .commandLine("set C1 eol crlf", origin: .prompt, time: t0))
        _ = Reducer.reduce(&state, .key(.character("s"), time: t0))
        for c in #"a\n"# { _ = Reducer.reduce(&state, .key(.character(c), time: t0)) }
        let effects = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(requests(effects).map(\.command) == [.send(C1, [0x61, 0x5C, 0x6E, 0x0D, 0x0A])], "no escape processing")
        #expect(state.view.prompt?.purpose == .send(C1), "the send line stays open")
    }

    @Test func completionOfCommandsIdsAndOptions() {
        let state = connected()
        #expect(Completion.complete("lis", cursor: 3, state: state).text == "listen ")
        #expect(Completion.complete("se", cursor: 2, state: state).candidates == ["send", "sendhex", "sendfile", "sendto", "set"])
        #expect(Completion.complete("res", cursor: 3, state: state).candidates == ["reset", "resolve"])
        #expect(Completion.complete("send C", cursor: 6, state: state).candidates == ["C1", "C2"])
        #expect(Completion.complete("listen 1 --ec", cursor: 13, state: state).text == "listen 1 --echo ")
        #expect(Completion.complete("connect 127", cursor: 11, state: state).text == "connect 127.0.0.1:9000 ")
    }

    /// `:connect` (and `d`, which types one) selects the connection it opened, so that the
    /// next `:send` goes there, not to whatever was selected before.
    @Test func connectSelectsTheConnectionItOpened() {
        var state = connected()
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        #expect(state.view.selectedConnection == C1)
        let C3 = SocketID(.connection, 3)
        let connect = requests(Reducer.reduce(&state, .commandLine("connect 9000", origin: .prompt, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.connecting(C3, remote: "127.0.0.1:9000"), connect.id))
        #expect(state.view.selectedConnection == C3)
        // Its peer, accepted meanwhile, does not take the selection.
        _ = Reducer.reduce(&state, event(.accepted(SocketID(.connection, 4), listener: L1, local: "127.0.0.1:9000",
                                                   remote: "127.0.0.1:5001")))
        #expect(state.view.selectedConnection == C3)
        _ = Reducer.reduce(&state, event(.connected(C3, local: "127.0.0.1:5001", remote: "127.0.0.1:9000"), connect.id))
        let effects = Reducer.reduce(&state, .commandLine("send hello", origin: .prompt, time: t0))
        #expect(requests(effects).map(\.command) == [.send(C3, Array("hello".utf8))])

        // `d` on the listener opens one more: it is selected too.
        _ = Reducer.reduce(&state, .key(.backTab, time: t0))
        #expect(state.view.focus == .listeners)
        let again = requests(Reducer.reduce(&state, .key(.character("d"), time: t0)))
        let C5 = SocketID(.connection, 5)
        _ = Reducer.reduce(&state, event(.connecting(C5, remote: "127.0.0.1:9000"), try! #require(again.first).id))
        #expect(state.view.selectedConnection == C5)
    }

    @Test func connectAgainTargetsTheListener() {
        var state = connected()
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        let effects = Reducer.reduce(&state, .key(.character("d"), time: t0))
        #expect(requests(effects).map(\.command) == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000)))])
    }

    @Test func enterShowsOneSocketsLogAndEscapeClearsIt() {
        var state = connected()
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(state.view.logFilter == "C1")
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        #expect(state.view.logFilter == nil)
    }

    @Test func closingAListenerWithClientsAsksFirst() {
        var state = connected()
        var effects = Reducer.reduce(&state, .key(.character("x"), time: t0))
        #expect(effects.isEmpty && state.view.confirmation != nil)
        effects = Reducer.reduce(&state, .key(.character("y"), time: t0))
        #expect(requests(effects).map(\.command) == [.close(L1)])
    }

    @Test func saveExportsEveryEntryAndTotals() {
        var state = connected()
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array(repeating: 0x41, count: 4096), count: 100_000)))
        let effects = Reducer.reduce(&state, .commandLine("save /tmp/x.jsonl", origin: .prompt, time: t0))
        #expect(effects == [.saveLog(path: "/tmp/x.jsonl", format: .json)])
        let json = LogExport.render(state, format: .json)
        #expect(json.contains(#""bytes":100000"#))
        #expect(json.contains(#""event":"total","id":"C1","remote":"127.0.0.1:5000","bytes_received":100000"#))
        let text = LogExport.render(state, format: .text)
        #expect(text.contains("# total C1 127.0.0.1:5000 received 100000 B"))
    }

    @Test func filterKeepsOnlyMatches() {
        var log = LogBook()
        for n in 0..<50 {
            log.append(LogEntry(time: t0, socket: SocketID(.connection, n % 5 + 1), kind: n % 2 == 0 ? .received : .sent,
                                count: 1, bytes: [UInt8(0x30 + n % 10)]))
        }
        let picked = LogFilter.window(of: log, filter: LogFilter("C3"), skip: 0, count: 100)
        #expect(picked.count == 10 && picked.allSatisfy { log[$0].socket == SocketID(.connection, 3) })
        #expect(LogFilter.window(of: log, filter: LogFilter("out"), skip: 2, count: 3).count == 3)
        #expect(LogFilter.window(of: log, filter: nil, skip: 0, count: 5) == [45, 46, 47, 48, 49])
    }
}

@Suite struct TickTests {
    @Test func flashExpiresAfterSomeTicks() {
        var state = AppState(interactive: true)
        state.view.flash = "hello"
        #expect(state.wantsTicks)
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: 1_000_000_000)))
        #expect(state.view.flash == "hello")
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: 5_000_000_000)))
        #expect(state.view.flash == "hello")
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: 6_100_000_000)))
        #expect(state.view.flash == nil)
        #expect(!state.wantsTicks, "nothing left to tick for: the app sleeps")
    }

    @Test func ratesFallToZeroAndTickingStops() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "a", remote: "b"), at: 0))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: [1], count: 1000), at: 10))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: [1], count: 1000), at: 1_000_000_010))
        #expect(state.connection(C1)?.rate.inPerSecond == 1000)
        #expect(state.wantsTicks)
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + 2_100_000_000)))
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + 3_200_000_000)))
        #expect(state.connection(C1)?.rate.inPerSecond == 0)
        #expect(!state.wantsTicks)
    }
}

@Suite struct QuietAfterShortExchangeTests {
    @Test func aShortExchangeShowsNoRateAndWantsNoTicks() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "a", remote: "b"), at: 0))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: [1], count: 64), at: 1_000))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: [1], count: 64), at: 50_000))
        #expect(!state.wantsTicks, "an idle screen after one echo must not wake up")
    }
}

@Suite struct ExplainTests {
    /// A learner types what a program printed: the number (111) or the name in any case.
    @Test func errnoByNumberOrNameInAnyCase() {
        let expected = ["ECONNREFUSED (errno 111): " + ErrnoCatalog.entry(for: 111)!.explanation]
        for topic in ["111", "econnrefused", "ECONNREFUSED", "EConnRefused"] {
            var state = AppState(interactive: false)
            let effects = Reducer.reduce(&state, .commandLine("explain \(topic)", origin: .prompt, time: t0))
            #expect(effects == expected.map { .notice(.info, $0) }, "explain \(topic)")
        }
        #expect(Explanation.lines(for: "99999").first?.hasPrefix("nothing known about '99999'") == true)
    }

    /// What a TLS error names (a BoringSSL reason, an alert by name or number) is explained too.
    @Test func tlsAlertsAndReasonsByNameNumberOrCode() {
        let unknownCA = "TLS alert unknown_ca (48): the certificate chain does not lead to a CA the peer trusts"
        for topic in ["unknown_ca", "UNKNOWN-CA", "alert:48", "alert48"] {
            #expect(Explanation.lines(for: topic) == [unknownCA], "explain \(topic)")
        }
        #expect(Explanation.lines(for: "tlsv1_alert_unknown_ca")
            == ["TLSV1_ALERT_UNKNOWN_CA (TLS): the peer does not trust our certificate's issuer (alert unknown_ca)"])
        // A BoringSSL alert code without words of its own is named from the alert table.
        #expect(Explanation.lines(for: "SSLV3_ALERT_CERTIFICATE_REVOKED")
            == ["SSLV3_ALERT_CERTIFICATE_REVOKED (TLS): the peer sent alert certificate_revoked (44): a certificate was revoked by its issuer"])
        #expect(Explanation.lines(for: "WRONG_VERSION_NUMBER").first?.contains("does not speak TLS here") == true)
        // Every alert number is distinct and reachable by its number.
        #expect(Set(TLSReasons.alerts.map(\.number)).count == TLSReasons.alerts.count)
        for alert in TLSReasons.alerts { #expect(TLSReasons.alert(named: "alert:\(alert.number)") == alert) }
        // An errno number still means the errno.
        #expect(Explanation.lines(for: "111").first?.contains("(errno 111)") == true)
    }

    /// A file that cannot be written is explained in words about files, not UNIX sockets or ports.
    @Test func fileFailuresTalkAboutFiles() {
        for errno: Int32 in [2, 13] {
            let failure = SocketFailure.file(call: "open", errno: errno, path: "/x/y.txt")
            #expect(!failure.explanation.contains("UNIX") && !failure.explanation.contains("port"), "\(failure.explanation)")
            #expect(failure.explanation != SocketFailure.system(call: "open", errno: errno).explanation)
        }
    }
}

/// Closed and failed connections as a new user meets them: no frozen rate, no row for a
/// connect that never connected, and a way to forget closed rows.
@Suite struct ClosedRowsTests {
    @Test func aFailedConnectLeavesNoRowAndTheLogSaysWhy() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:1")))
        _ = Reducer.reduce(&state, event(.error(C1, .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:1"))))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "connect failed")))
        #expect(state.connection(C1) == nil)
        #expect(state.view.selectedConnection == nil)
        #expect((0..<state.log.count).contains { EventText.sentence(state.log[$0]).contains("ECONNREFUSED") })
    }

    @Test func aClosedConnectionsRateReadsNothingMoving() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: [1], count: 50_000), at: 500_000_000))
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + 1_100_000_000)))
        #expect(state.connection(C1)?.rate != TrafficRate(), "moving while open")
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed"), at: 1_200_000_000))
        let rate = try #require(state.connection(C1)?.rate)
        #expect(rate.inPerSecond == 0 && rate.outPerSecond == 0 && !rate.isActive)
        #expect(!state.activeRates.contains(C1), "nothing ticks for it")
        #expect(state.connection(C1)?.bytesIn == 50_000, "the totals stay")
    }

    /// `clear closed --after 30`: each closed row goes 30 s after it closed, on the ticks
    /// that run only while such a row waits (none waiting: no ticks, idle stays idle).
    @Test func closedRowsAreForgottenAfterTheirTime() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .commandLine("clear closed --after 30", origin: .prompt, time: t0))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed"), at: 1_000_000_000))
        state.view.flash = nil
        #expect(state.wantsTicks, "a closed row waits to be forgotten")
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + 30_000_000_000)))
        #expect(state.connection(C1) != nil, "29 s after it closed")
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: t0.nanoseconds + 31_000_000_000)))
        #expect(state.connections.map(\.id) == [C2])
        state.view.flash = nil
        #expect(!state.wantsTicks, "nothing waits: no ticks")
        _ = Reducer.reduce(&state, .commandLine("clear closed --after off", origin: .prompt, time: t0))
        #expect(state.forgetClosedAfterMilliseconds == nil)
    }

    @Test func clearClosedForgetsClosedRowsOnly() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "closed by us")))
        var sample = KernelSample()
        sample.state = .timeWait
        _ = Reducer.reduce(&state, event(.lab(.kernel(C1, sample))))
        _ = Reducer.reduce(&state, .key(.character("X"), time: t0))
        #expect(state.connections.map(\.id) == [C2])
        #expect(state.lab.kernel[C1] == nil, "a forgotten row's kernel view goes with it")
        #expect(EventText.sentence(state.log[state.log.count - 1]).hasPrefix("forgot 1 closed connection(s)"))
        #expect(try CommandParser.parse("clear closed") == .clearClosed)
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("clear") }
    }
}

/// The status line's in/out totals count every byte of the session: datagram listeners
/// (which have no connection rows) and rows forgotten since.
@Suite struct SessionTotalsTests {
    @Test func totalsIncludeDatagramsAndForgottenRows() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .udp, local: "127.0.0.1:5353", mode: .echo, backlog: 0)))
        _ = Reducer.reduce(&state, event(.receivedFrom(L1, from: "127.0.0.1:40000", bytes: [1], count: 700, truncated: false)))
        _ = Reducer.reduce(&state, event(.sentTo(L1, to: "127.0.0.1:40000", bytes: [1], count: 700)))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40001", remote: "127.0.0.1:9000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: [1], count: 5)))
        _ = Reducer.reduce(&state, event(.closed(C1, reason: "peer closed")))
        _ = Reducer.reduce(&state, .commandLine("clear closed", origin: .prompt, time: t0))
        #expect(state.totalBytesIn == 705)
        #expect(state.totalBytesOut == 700)
    }
}

@Suite struct DiscardLogTests {
    /// A `--discard` listener's clients are logged with exact counts and no previews.
    @Test func discardedDataIsCountedWithoutPreviews() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .discard, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("secret upload".utf8), count: 1_000_000)))
        let entry = state.log[state.log.count - 1]
        #expect(entry.count == 1_000_000 && entry.bytes.isEmpty)
        #expect(EventText.line(entry)?.contains("received 1000000 B") == true)
        #expect(EventText.line(entry)?.contains("secret") == false)
    }
}

@Suite struct FileTransferLogTests {
    /// A sendfile says when it ends: its bytes (its request's sent events), time and rate;
    /// one that failed says how far it got.
    @Test func aSendfileLogsItsEndWithBytesTimeAndRate() throws {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000")))
        let request = try #require(requests(Reducer.reduce(&state, .commandLine("sendfile C1 /tmp/big", origin: .script,
                                                                                 time: t0))).first)
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: [1], count: 1 << 20), request.id, at: 500_000_000))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: [1], count: 1 << 20), request.id, at: 1_000_000_000))
        _ = Reducer.reduce(&state, event(.requestCompleted, request.id, at: 2_000_000_000))
        let line = EventText.sentence(state.log[state.log.count - 1])
        #expect(line == "sendfile /tmp/big: sent 2.0 MiB in 2.00 s (1.0 MiB/s)", "\(line)")

        let failing = try #require(requests(Reducer.reduce(&state, .commandLine("sendfile C1 /tmp/x", origin: .script,
                                                                                 time: t0))).first)
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: [1], count: 10), failing.id))
        _ = Reducer.reduce(&state, event(.error(C1, .system(call: "sendfile", errno: 32, target: nil)), failing.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, failing.id, at: 1_000_000_000))
        let stopped = state.log[state.log.count - 1]
        #expect(stopped.kind == .info && EventText.sentence(stopped).hasPrefix("sendfile /tmp/x stopped after 10 B in 1.00 s"))
        // One that failed before sending anything: the error alone says it.
        let unreadable = try #require(requests(Reducer.reduce(&state, .commandLine("sendfile C1 /root/secret", origin: .script,
                                                                                    time: t0))).first)
        _ = Reducer.reduce(&state, event(.error(C1, .system(call: "open", errno: 13, target: "/root/secret")), unreadable.id))
        let entries = state.log.count
        _ = Reducer.reduce(&state, event(.requestCompleted, unreadable.id))
        #expect(state.log.count == entries)
    }
}
