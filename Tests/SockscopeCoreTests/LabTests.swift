import Testing
import TestSupport
@testable import SockscopeCore

private let labT0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
private let labS1 = SocketID(.socket, 1), labL1 = SocketID(.listener, 1), labC1 = SocketID(.connection, 1)

private func engine(_ kind: EngineEventKind, _ state: inout AppState, request: RequestID? = nil, ms: Int64 = 0) {
    _ = Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: labT0.nanoseconds + ms * 1_000_000),
                                                   request: request, kind: kind)))
}

private func command(_ line: String, _ state: inout AppState) -> [Effect] {
    Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: labT0))
}

private func requested(_ effects: [Effect]) -> [EngineCommand] {
    effects.compactMap { if case .perform(let request) = $0 { request.command } else { nil } }
}

@Suite struct LabParsingTests {
    @Test func stepCommandsParse() throws {
        #expect(try CommandParser.parse("socket tcp") == .step(.socket(.tcp)))
        #expect(try CommandParser.parse("socket unix") == .step(.socket(.unix)))
        #expect(try CommandParser.parse("bind S1 127.0.0.1:9000") == .step(.bind(labS1, .inet(.tcp, host: "127.0.0.1", port: 9000))))
        #expect(try CommandParser.parse("bind s1 unix:/tmp/x") == .step(.bind(labS1, .unix(path: "/tmp/x"))))
        #expect(try CommandParser.parse("listen S1 5") == .step(.listen(labS1, backlog: 5)))
        #expect(try CommandParser.parse("listen S1") == .step(.listen(labS1, backlog: 128)))
        #expect(try CommandParser.parse("connect S1 9000") == .step(.connect(labS1, .inet(.tcp, host: "127.0.0.1", port: 9000))))
        #expect(try CommandParser.parse("recv S1 10") == .step(.recv(labS1, maxBytes: 10)))
        #expect(try CommandParser.parse("accept") == .accept(target: nil))
        #expect(try CommandParser.parse("accept L1") == .accept(target: labL1))
        #expect(try CommandParser.parse("sys") == .system(.toggle))
        #expect(try CommandParser.parse("sys filter python 3") == .system(.filter("python 3")))
        #expect(try CommandParser.parse("sys sort queue") == .system(.sort(.queue)))
        // The usual forms are untouched.
        #expect(try CommandParser.parse("listen 9000") == .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000))))
        var manual = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000), backlog: 2)
        manual.manualAccept = true
        #expect(try CommandParser.parse("listen 9000 --backlog 2 --manual-accept") == .listen(manual))
        #expect(try CommandParser.parse(CommandText.line(for: .listen(manual))) == .listen(manual))
    }

    @Test func badStepCommandsSayWhatIsWrong() {
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("socket sctp") }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("bind 127.0.0.1:9000") }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("recv S1 0") }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("listen S1 many") }
    }

    @Test func stepCommandsPrintBack() throws {
        for line in ["socket udp6", "bind S1 tcp://127.0.0.1:0", "listen S1 7", "recv S1 12", "accept S1", "sys sort state"] {
            let parsed = try #require(try CommandParser.parse(line))
            #expect(try CommandParser.parse(CommandText.line(for: parsed)) == parsed, "\(line)")
        }
    }
}

@Suite struct LabReducerTests {
    static func record(_ call: String, _ arguments: [String], result: Int = 0, errno: Int32? = nil,
                       phase: StepPhase) -> SyscallRecord {
        SyscallRecord(call: call, arguments: arguments, result: result, errno: errno, phase: phase, transport: .tcp)
    }

    @Test func aStepSocketGetsARowAStoryAndAdvice() {
        var state = AppState(interactive: true)
        #expect(requested(command("bind S1 127.0.0.1:9000", &state)).isEmpty, "no S1 yet: explained, not sent")
        #expect(requested(command("socket tcp", &state)) == [.lab(.step(.socket(.tcp)))])
        engine(.lab(.call(labS1, Self.record("socket", ["AF_INET", "SOCK_STREAM"], result: 7, phase: .created))), &state)
        #expect(state.connection(labS1)?.state == .unconnected("created"))
        #expect(state.view.selectedConnection == labS1)
        engine(.lab(.call(labS1, Self.record("accept", ["7"], result: -1, errno: 22, phase: .created))), &state, ms: 1)
        let lastLog = state.log.entries.last?.text ?? ""
        #expect(lastLog.hasPrefix("accept(7) = -1 EINVAL — state created — accept needs a listening socket"), "\(lastLog)")
        #expect(lastLog.contains("next: bind S1 ADDR | connect S1 ADDR | listen S1 N"))
        #expect(requested(command("send S1 hi", &state)) == [.lab(.step(.send(labS1, Array("hi".utf8))))],
                "step sockets get the kernel's answer even out of order")
        #expect(requested(command("close S1", &state)) == [.lab(.step(.close(labS1)))])
        engine(.lab(.call(labS1, Self.record("bind", ["7", "127.0.0.1:9000"], phase: .bound))), &state, ms: 2)
        engine(.lab(.call(labS1, Self.record("listen", ["7", "5"], phase: .listening))), &state, ms: 3)
        engine(.listening(labS1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 5), &state, ms: 3)
        #expect(state.connection(labS1) == nil, "a listening step socket is a listener now")
        #expect(state.listener(labS1)?.backlog == 5)
        #expect(state.lab.manualAccept.contains(labS1))
        #expect(state.lab.ledger.history(of: labS1).map(\.text) == [
            "socket(AF_INET, SOCK_STREAM) = 7", "phase: created", "accept(7) = -1 EINVAL", "bind(7, 127.0.0.1:9000) = 0",
            "phase: bound", "listen(7, 5) = 0", "phase: listening", "LISTEN on 127.0.0.1:9000",
        ])
    }

    @Test func manualListenersAreMarkedAndAcceptGoesToThem() {
        var state = AppState(interactive: false)
        let effects = command("listen 0 --manual-accept --backlog 2", &state)
        guard case .perform(let request)? = effects.first, case .lab(.manualListen(let listen)) = request.command else {
            Issue.record("expected a manual listen: \(effects)")
            return
        }
        #expect(listen.manualAccept && listen.backlog == 2)
        engine(.listening(labL1, .tcp, local: "127.0.0.1:4000", mode: .interactive, backlog: 2), &state, request: request.id)
        #expect(state.lab.manualAccept == [labL1])
        #expect(requested(command("accept", &state)) == [.lab(.step(.accept(labL1)))])
        var sample = KernelSample()
        sample.state = .listen
        sample.acceptQueue = 3
        sample.backlog = 2
        engine(.lab(.kernel(labL1, sample)), &state)
        #expect(state.lab.kernel[labL1]?.acceptQueue == 3)
        engine(.listening(SocketID(.listener, 2), .tcp, local: "127.0.0.1:4001", mode: .echo, backlog: 9), &state)
        #expect(requested(command("accept L2", &state)).isEmpty, "an auto-accept listener has nothing to accept by hand")
    }

    @Test func everySocketKeepsALedgerAndKernelStateChanges() {
        var state = AppState(interactive: false)
        engine(.connecting(labC1, remote: "127.0.0.1:9000"), &state)
        engine(.connected(labC1, local: "127.0.0.1:50000", remote: "127.0.0.1:9000"), &state, ms: 1)
        for index in 0..<50 { engine(.sent(labC1, bytes: [1], count: 1), &state, ms: 2 + Int64(index)) }
        var sample = KernelSample()
        sample.state = .established
        engine(.lab(.kernel(labC1, sample)), &state, ms: 60)
        engine(.closed(labC1, reason: "closed by us"), &state, ms: 70)
        sample.state = .timeWait
        sample.lingering = true
        sample.timerSeconds = 59.5
        engine(.lab(.kernel(labC1, sample)), &state, ms: 80)
        #expect(state.lab.ledger.history(of: labC1).map(\.text) == [
            "socket(), connect(127.0.0.1:9000) = -1 EINPROGRESS", "SYN-SENT (handshake in progress)",
            "ESTABLISHED: connected to 127.0.0.1:9000 from 127.0.0.1:50000", "send ×50, 50 B in all",
            "kernel: ESTABLISHED", "close() — closed by us", "kernel: ESTABLISHED → TIME-WAIT",
        ])
    }

    @Test func kernelSamplesGoWithPrunedRows() {
        var state = AppState(interactive: false)
        var sample = KernelSample()
        sample.state = .established
        let count = AppState.closedRowsKept + AppState.closedRowsPrunedAtOnce + 1
        for n in 1...count {
            let id = SocketID(.connection, n)
            engine(.connected(id, local: "127.0.0.1:\(40000 + n)", remote: "127.0.0.1:9000"), &state, ms: Int64(n))
            engine(.lab(.kernel(id, sample)), &state, ms: Int64(n))
            engine(.closed(id, reason: "closed by us"), &state, ms: Int64(n))
        }
        #expect(state.lab.kernel.count == AppState.closedRowsKept)
        #expect(state.lab.kernel[SocketID(.connection, count)] != nil)
        // The probe's last word on a socket whose row is gone (it left TIME-WAIT) is not kept either.
        var gone = KernelSample()
        gone.gone = true
        engine(.lab(.kernel(labC1, gone)), &state, ms: Int64(count + 1))
        #expect(state.lab.kernel[labC1] == nil)
        #expect(state.lab.kernel.count == AppState.closedRowsKept)
    }

    @Test func theLedgerIsBounded() {
        var ledger = Ledger()
        for index in 0..<1000 { ledger.append(LedgerEntry(time: labT0, kind: .call, text: "call \(index)"), to: labC1) }
        let texts = ledger.history(of: labC1).map(\.text)
        #expect(texts.count == Ledger.entriesPerSocket)
        #expect(texts.first == "call 0" && texts.last == "call 999", "the birth and the newest are kept")
    }

    /// Our own rows in the system view name our id: a listener by its address, a connection by both ends.
    @Test func ourRowsInTheSystemViewKnowTheirIDs() {
        var state = AppState(interactive: true)
        engine(.listening(SocketID(.listener, 1), .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 5), &state)
        engine(.accepted(labC1, listener: SocketID(.listener, 1), local: "127.0.0.1:9000", remote: "127.0.0.1:40000"), &state)
        let listener = SystemSocket(proto: "tcp", state: "LISTEN", receiveQueue: 0, sendQueue: 5, local: "127.0.0.1:9000",
                                    remote: "0.0.0.0:0", process: "sockscope (1)", inode: 1, isOurs: true)
        let accepted = SystemSocket(proto: "tcp", state: "ESTABLISHED", receiveQueue: 0, sendQueue: 0, local: "127.0.0.1:9000",
                                    remote: "127.0.0.1:40000", process: "sockscope (1)", inode: 2, isOurs: true)
        let theirs = SystemSocket(proto: "tcp", state: "ESTABLISHED", receiveQueue: 0, sendQueue: 0, local: "127.0.0.1:40000",
                                  remote: "127.0.0.1:9000", process: "curl (2)", inode: 3, isOurs: false)
        #expect([listener, accepted, theirs].map { state.ourID(for: $0) } == [SocketID(.listener, 1), labC1, nil])
    }

    @Test func systemViewTogglesFiltersSortsAndConnects() {
        var state = AppState(interactive: true)
        #expect(requested(Reducer.reduce(&state, .key(.character("S"), time: labT0))) == [.lab(.systemView(visible: true))])
        let sockets = [
            SystemSocket(proto: "tcp", state: "ESTABLISHED", receiveQueue: 0, sendQueue: 5, local: "127.0.0.1:1",
                         remote: "127.0.0.1:2", process: "curl (10)", inode: 1, isOurs: false),
            SystemSocket(proto: "tcp", state: "LISTEN", receiveQueue: 3, sendQueue: 128, local: "0.0.0.0:8080",
                         remote: "0.0.0.0:0", process: "python3 (11)", inode: 2, isOurs: false),
        ]
        engine(.lab(.system(sockets)), &state)
        _ = Reducer.reduce(&state, .key(.character("o"), time: labT0))
        #expect(state.lab.system.sort == .state)
        #expect(state.lab.system.rows.map(\.state) == ["ESTABLISHED", "LISTEN"])
        _ = Reducer.reduce(&state, .key(.character("j"), time: labT0))
        #expect(state.lab.system.selected == 1)
        #expect(state.lab.system.rows.map(\.remoteText) == ["127.0.0.1:2", "*"], "a listener's peer is anyone")
        let effects = Reducer.reduce(&state, .key(.character("c"), time: labT0))
        #expect(requested(effects) == [.lab(.systemView(visible: false)),
                                       .connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 8080)))],
                "a wildcard listener is reached through loopback, and the view closes onto the new connection")
        #expect(!state.lab.system.visible && state.view.focus == .connections)
        _ = command("sys filter curl", &state)
        engine(.lab(.system(sockets)), &state)
        #expect(state.lab.system.rows.count == 1)
        // `/` while the view is shown filters its rows as you type.
        _ = Reducer.reduce(&state, .key(.character("/"), time: labT0))
        #expect(state.view.prompt?.text == "curl")
        for _ in 0..<4 { _ = Reducer.reduce(&state, .key(.backspace, time: labT0)) }
        for c in "python" { _ = Reducer.reduce(&state, .key(.character(c), time: labT0)) }
        #expect(state.lab.system.rows.map(\.process) == ["python3 (11)"])
        _ = Reducer.reduce(&state, .key(.enter, time: labT0))
        #expect(state.lab.system.filter == "python" && state.view.logFilter == nil)
        #expect(requested(Reducer.reduce(&state, .key(.escape, time: labT0))) == [.lab(.systemView(visible: false))])
        #expect(!state.lab.system.visible && state.lab.system.sockets.isEmpty)
    }

    /// `d` on a listener bound to every interface connects through loopback of its family
    /// (`SocketEndpoint.connectable`, the one place that rewrite is written); other addresses as they are.
    @Test(arguments: [
        ("0.0.0.0:9000", .inet(.tcp, host: "127.0.0.1", port: 9000)),
        ("[::]:9001", .inet(.tcp, host: "::1", port: 9001)),
        ("127.0.0.2:9002", .inet(.tcp, host: "127.0.0.2", port: 9002)),
        ("/tmp/x.sock", .unix(path: "/tmp/x.sock")),
    ] as [(SocketEndpoint, Endpoint)])
    func connectAgainReachesAWildcardListenerThroughLoopback(local: SocketEndpoint, expected: Endpoint) {
        var state = AppState(interactive: true)
        let transport: TransportProtocol = local.isIP ? .tcp : .unix
        engine(.listening(SocketID(.listener, 1), transport, local: local, mode: .echo, backlog: 1), &state)
        state.view.focus = .listeners
        #expect(requested(Reducer.reduce(&state, .key(.character("d"), time: labT0)))
            == [.connect(ConnectRequest(endpoint: expected))])
    }

    @Test func headlessLinesForLabEvents() {
        let call = EngineEvent(time: labT0, kind: .lab(.call(labS1, Self.record("connect", ["8", "127.0.0.1:9"], result: -1,
                                                                          errno: 111, phase: .failed))))
        let text = EventText.line(EventText.entry(call)) ?? ""
        #expect(text.contains("S1 call connect(8, 127.0.0.1:9) = -1 ECONNREFUSED — state failed"), "\(text)")
        let json = EventText.json(EventText.entry(call)) ?? ""
        #expect(json.contains(#""event":"call""#) && json.contains(#""errno":"ECONNREFUSED""#), "\(json)")
        var sample = KernelSample()
        sample.state = .timeWait
        sample.timerSeconds = 42
        sample.lingering = true
        let kernel = EventText.line(EventText.entry(EngineEvent(time: labT0, kind: .lab(.kernel(labC1, sample))))) ?? ""
        #expect(kernel.hasSuffix("C1 kernel state=TIME-WAIT ours=closed timer=42.0s"), "\(kernel)")
        let hostile = SystemSocket(proto: "unix", state: "LISTEN", receiveQueue: 0, sendQueue: 0, local: "/tmp/\u{1B}[2J",
                                   remote: "", process: "evil\u{1B}]0;x\u{07} (3)", inode: 9, isOurs: false)
        let system = EventText.json(EventText.entry(EngineEvent(time: labT0, kind: .lab(.system([hostile]))))) ?? ""
        #expect(!system.unicodeScalars.contains { $0.value < 0x20 }, "JSON escapes control characters")
    }
}

@Suite struct ProcNetLabTests {
    /// Captured on Linux 6.1: a listener with two queued connections, one established pair,
    /// a TIME-WAIT socket with 59.59 s to go, and a client stuck in SYN-SENT.
    static let tcp = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           1: 0100007F:A8D3 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 368683 3 00000000403ed151 100 0 0 10 0
          29: 0100007F:A8D3 0100007F:C682 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000095907ee2 20 0 0 10 -1
          33: 0100007F:C67A 0100007F:A8D3 06 00000000:00000000 03:0000174D 00000000     0        0 0 3 0000000000000000
          50: 0100007F:C692 0100007F:A8D3 02 00000001:00000000 01:0000004E 00000000     0        0 368725 2 00000000acb88091 100 0 0 10 -1
        """

    @Test func timersQueuesAndStates() {
        let rows = ProcNet.parseInet(Self.tcp, ipv6: false)
        #expect(rows.count == 4)
        #expect(rows[0].state == TCPState.listen.rawValue && rows[0].receiveQueue == 2, "a listener's Recv-Q is its accept queue")
        #expect(rows[0].timerSeconds == nil)
        #expect(rows[2].state == TCPState.timeWait.rawValue && rows[2].timer == 3)
        #expect(rows[2].timerSeconds == 59.65)
        #expect(rows[3].state == TCPState.synSent.rawValue && rows[3].transmitQueue == 1 && rows[3].timer == 1)
    }

    @Test func ipv6TimeWaitTimer() {
        let rows = ProcNet.parseInet(ProcNetTests.tcp6, ipv6: true)
        #expect(rows[1].timerSeconds == 39.98)
    }
}
