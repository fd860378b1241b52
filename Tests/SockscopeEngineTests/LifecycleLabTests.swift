import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Step mode, the ledger, manual accept and the kernel's view, on real sockets.
@Suite("Lifecycle lab", .timeLimit(.minutes(2)))
struct LifecycleLabTests {
    // MARK: Helpers

    /// The step-mode call records the engine reported for `id`.
    static func calls(_ harness: EngineHarness, _ id: SocketID) -> [SyscallRecord] {
        harness.kinds.compactMap { kind in
            if case .lab(.call(id, let record)) = kind { return record }
            return nil
        }
    }

    static func kernelSamples(_ harness: EngineHarness, _ id: SocketID) -> [KernelSample] {
        harness.kinds.compactMap { kind in
            if case .lab(.kernel(id, let sample)) = kind { return sample }
            return nil
        }
    }

    /// Performs a step call and returns the records it produced.
    @discardableResult
    static func step(_ harness: EngineHarness, _ call: StepCall) async throws -> [SyscallRecord] {
        try await harness.perform(.lab(.step(call))).compactMap { kind in
            if case .lab(.call(_, let record)) = kind { return record }
            return nil
        }
    }

    /// Runs the recorded events through the reducer, as the app does.
    static func replay(_ harness: EngineHarness) -> AppState {
        var state = AppState(interactive: false)
        for event in harness.events { _ = Reducer.reduce(&state, .engine(event)) }
        return state
    }

    static let S1 = SocketID(.socket, 1), S2 = SocketID(.socket, 2)

    static func isSubsequence(_ wanted: [String], of list: [String]) -> Bool {
        var rest = wanted[...]
        for item in list where item == rest.first { rest = rest.dropFirst() }
        return rest.isEmpty
    }

    // MARK: Step mode and the ledger

    @Test func stepModeServerAndClientLeaveALedger() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let made = try await Self.step(harness, .socket(.tcp))
        let fd = try #require(made.first?.result)
        #expect(made.first?.text == "socket(AF_INET, SOCK_STREAM) = \(fd)")
        #expect(made.first?.kernelState == .close, "a fresh TCP socket is CLOSE to the kernel")

        // Out of order on purpose: the kernel's real answer is the lesson.
        let early = try await Self.step(harness, .accept(Self.S1))
        #expect(early.first?.text == "accept(\(fd)) = -1 EINVAL")

        let bound = try await Self.step(harness, .bind(Self.S1, .inet(.tcp, host: "127.0.0.1", port: 0)))
        #expect(bound.first?.text == "bind(\(fd), 127.0.0.1:0) = 0")
        #expect(bound.first?.phase == .bound)
        let listened = try await Self.step(harness, .listen(Self.S1, backlog: 5))
        #expect(listened.first?.text == "listen(\(fd), 5) = 0")
        let local = try #require(listened.first?.local)
        let port = try #require(EngineHarness.port(of: local))
        #expect(harness.kinds.contains(.listening(Self.S1, .tcp, local: local, mode: .interactive, backlog: 5)))

        _ = try await Self.step(harness, .socket(.tcp))
        let clientFD = try #require(Self.calls(harness, Self.S2).first?.result)
        let connecting = try await harness.perform(.lab(.step(.connect(Self.S2, .inet(.tcp, host: "127.0.0.1", port: port)))))
        let connectTexts = connecting.compactMap { kind -> String? in
            if case .lab(.call(Self.S2, let record)) = kind { return record.text }
            return nil
        }
        #expect(connectTexts == ["connect(\(clientFD), 127.0.0.1:\(port)) = -1 EINPROGRESS",
                                 "connect(\(clientFD), 127.0.0.1:\(port)) = 0"])
        #expect(connecting.contains { if case .connected(Self.S2, _, _) = $0 { true } else { false } })

        // The client is through the handshake and waits in the accept queue until accept takes it.
        let accepted = try await harness.perform(.lab(.step(.accept(Self.S1))))
        let connection = try #require(harness.acceptedConnections(on: Self.S1).first)
        #expect(accepted.contains { if case .lab(.call(Self.S1, let r)) = $0 { r.text == "accept(\(fd)) = \(connection)" } else { false } })

        _ = try await harness.perform(.send(Self.S2, Array("hi".utf8)))
        try await harness.waitFor("the accepted side to read hi") { harness.receivedCount(on: connection) == 2 }
        _ = try await harness.perform(.lab(.step(.close(Self.S2))))

        let state = Self.replay(harness)
        let server = state.lab.ledger.history(of: Self.S1).map(\.text)
        let client = state.lab.ledger.history(of: Self.S2).map(\.text)
        // Kernel samples ("kernel: CLOSE") may come in between; the calls keep their order.
        #expect(Self.isSubsequence(["socket(AF_INET, SOCK_STREAM) = \(fd)", "phase: created", "accept(\(fd)) = -1 EINVAL",
                                    "bind(\(fd), 127.0.0.1:0) = 0", "phase: bound", "listen(\(fd), 5) = 0", "phase: listening",
                                    "accept(\(fd)) = \(connection)"], of: server), "\(server)")
        #expect(server.contains("accept(\(fd)) = \(connection)"), "\(server)")
        #expect(server.contains("accept() = \(connection) from \(try #require(state.connection(connection)?.remote))"))
        #expect(client.contains("connect(\(clientFD), 127.0.0.1:\(port)) = -1 EINPROGRESS"), "\(client)")
        #expect(client.contains { $0.hasPrefix("ESTABLISHED: connected to 127.0.0.1:\(port)") }, "\(client)")
        #expect(client.contains("send 2 B"), "\(client)")
        #expect(client.contains("close(\(clientFD)) = 0"), "\(client)")
        #expect(state.listener(Self.S1)?.isOpen == true)
        #expect(state.lab.manualAccept.contains(Self.S1))
        #expect(state.connection(Self.S2)?.state.isOpen == false)
        // Every socket keeps a ledger, not only step sockets.
        #expect(state.lab.ledger.history(of: connection).map(\.text).contains("recv 2 B"))
    }

    @Test func refusedConnectShowsEINPROGRESSThenTheKernelsAnswer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let closed = try ReservedPort()
        _ = try await Self.step(harness, .socket(.tcp))
        let early = try await Self.step(harness, .recv(Self.S1, maxBytes: 10))
        #expect(early.first?.errnoName == "ENOTCONN", "recv before connect: \(early)")
        let records = try await Self.step(harness, .connect(Self.S1, .inet(.tcp, host: "127.0.0.1", port: closed.port)))
        #expect(records.map(\.errnoName) == ["EINPROGRESS", "ECONNREFUSED"])
        // Two steps: the call in progress ("connecting", no kernel state yet), then the outcome.
        #expect(records.first?.phase == .connecting)
        #expect(records.first?.kernelState == nil, "\(records)")
        #expect(records.first.map { StepGuide.line(Self.S1, $0).contains("kernel:") } == false)
        #expect(records.last?.phase == .failed)
        let udp = try await Self.step(harness, .socket(.udp))
        #expect(udp.first?.text.hasPrefix("socket(AF_INET, SOCK_DGRAM) = ") == true)
        let listenUDP = try await Self.step(harness, .listen(Self.S2, backlog: 1))
        #expect(listenUDP.first?.errnoName == "EOPNOTSUPP")
    }

    @Test func stepUDPRefusalIsExplainedAsICMPPortUnreachable() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // A UDP port nobody is bound to any more: the kernel answers datagrams with ICMP port unreachable.
        let closedPort = try ReservedPort(type: SOCK_DGRAM).port
        _ = try await Self.step(harness, .socket(.udp))
        _ = try await Self.step(harness, .connect(Self.S1, .inet(.udp, host: "127.0.0.1", port: closedPort)))
        _ = try await Self.step(harness, .send(Self.S1, Array("anyone?".utf8)))
        // The ICMP answer comes back asynchronously: the first recv after it reports it (EAGAIN before).
        var refusal: SyscallRecord?
        let deadline = ContinuousClock.now + .seconds(5)
        while refusal == nil && ContinuousClock.now < deadline {
            refusal = try await Self.step(harness, .recv(Self.S1, maxBytes: 100)).first { $0.errnoName == "ECONNREFUSED" }
        }
        let explanation = StepGuide.explanation(try #require(refusal, "\(Self.calls(harness, Self.S1).prefix(6).map(\.text))"))
        #expect(explanation.contains("ICMP port unreachable") && !explanation.contains("RST"), "\(explanation)")
    }

    @Test func nonBlockingConnectShowsConnectingThenTheKernelsStateAtTheOutcome() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await Self.step(harness, .socket(.tcp))
        let records = try await Self.step(harness, .connect(Self.S1, .inet(.tcp, host: "127.0.0.1", port: listener.port)))
        #expect(records.count == 2, "\(records)")
        let started = try #require(records.first), outcome = try #require(records.last)
        #expect(started.errnoName == "EINPROGRESS" && started.phase == .connecting)
        // Loopback finishes the handshake before connect returns: "EINPROGRESS (kernel: ESTABLISHED)" was shown.
        #expect(started.kernelState == nil, "\(started)")
        #expect(!StepGuide.line(Self.S1, started).contains("ESTABLISHED"), "\(StepGuide.line(Self.S1, started))")
        #expect(StepGuide.line(Self.S1, started).contains("state connecting"))
        #expect(outcome.errno == nil && outcome.phase == .connected && outcome.kernelState == .established, "\(outcome)")
    }

    @Test func recvOnStepConnectionsShowsWhatTheEngineAlreadyRead() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        _ = try await Self.step(harness, .socket(.tcp))
        _ = try await Self.step(harness, .bind(Self.S1, .inet(.tcp, host: "127.0.0.1", port: 0)))
        let listened = try await Self.step(harness, .listen(Self.S1, backlog: 5))
        let port = try #require(listened.first?.local.flatMap(EngineHarness.port(of:)))
        _ = try await Self.step(harness, .socket(.tcp))
        _ = try await Self.step(harness, .connect(Self.S2, .inet(.tcp, host: "127.0.0.1", port: port)))
        _ = try await Self.step(harness, .accept(Self.S1))
        let accepted = try #require(harness.acceptedConnections(on: Self.S1).first)

        _ = try await harness.perform(.send(Self.S2, Array("hello".utf8)))
        try await harness.waitFor("the engine to read hello") { harness.received(on: accepted).count == 5 }
        let onAccepted = try await Self.step(harness, .recv(accepted, maxBytes: 3))
        #expect(onAccepted.count == 1, "recv works on an accepted connection: \(onAccepted)")
        #expect(onAccepted.first?.result == 3 && onAccepted.first?.data == Array("hel".utf8), "\(onAccepted)")
        #expect(onAccepted.first?.note?.contains("already read") == true)
        let rest = try await Self.step(harness, .recv(accepted, maxBytes: 100))
        #expect(rest.first?.result == 2 && rest.first?.data == Array("lo".utf8), "\(rest)")
        // Nothing unread is not end of file: no "= 0" that a learner takes for EOF.
        let nothing = try #require(try await Self.step(harness, .recv(accepted, maxBytes: 100)).first)
        #expect(!nothing.text.hasSuffix("= 0"), "\(nothing.text)")

        _ = try await harness.perform(.send(accepted, Array("back".utf8)))
        try await harness.waitFor("the engine to read back") { harness.received(on: Self.S2).count == 4 }
        let onStep = try #require(try await Self.step(harness, .recv(Self.S2, maxBytes: 100)).first)
        #expect(onStep.result == 4 && onStep.data == Array("back".utf8), "\(onStep)")
        #expect(!onStep.text.hasSuffix("= 0"), "\(onStep.text)")

        _ = try await harness.perform(.shutdown(Self.S2, .write))
        try await harness.waitFor("the peer's EOF") { harness.kinds.contains(.peerClosed(accepted)) }
        let eof = try #require(try await Self.step(harness, .recv(accepted, maxBytes: 100)).first)
        #expect(eof.text.hasSuffix("= 0") && eof.note?.contains("end of file") == true, "\(eof)")
    }

    @Test(.requires("python3")) func recvOnAConnectionAcceptedOffAManualUnixListener() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "recv", suffix: ".sock")
        let answer = try await harness.perform(.lab(.manualListen(ListenRequest(endpoint: .unix(path: path)))))
        guard case .listening(let listener, .unix, _, _, _)? = answer.first else {
            Issue.record("no listening event: \(answer)")
            return
        }
        let client = try PythonPeer.run(PeerScripts.unixSendThenRead, [path, "over unix"])
        defer { client.kill(SIGKILL) }
        _ = try await harness.perform(.lab(.step(.accept(listener))))
        let accepted = try #require(harness.acceptedConnections(on: listener).first)
        try await harness.waitFor("the peer's EOF") { harness.kinds.contains(.peerClosed(accepted)) }
        let read = try #require(try await Self.step(harness, .recv(accepted, maxBytes: 100)).first)
        #expect(read.result == 9 && read.data == Array("over unix".utf8) && read.transport == .unix, "\(read)")
        let eof = try #require(try await Self.step(harness, .recv(accepted, maxBytes: 100)).first)
        #expect(eof.text.hasSuffix("= 0") && eof.note?.contains("end of file") == true, "\(eof)")
    }

    // MARK: Manual accept

    /// One python client that connects and then waits (it never sends).
    static let waitingClient = """
    import socket, sys, time
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", int(sys.argv[1])))
    print("STARTED", flush=True)
    time.sleep(60)
    """

    @Test(.requires("python3")) func queueRisesAsClientsConnectAndFallsWithEachAccept() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.lab(.manualListen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0),
                                                                                  mode: .echo, backlog: 1))))
        guard case .listening(let listener, _, let local, _, 1)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("no listening event: \(answer)")
            return
        }
        func queue() -> Int? { Self.kernelSamples(harness, listener).last?.acceptQueue }
        var clients: [SpawnedProcess] = []
        defer { clients.forEach { $0.kill(SIGKILL) } }
        // Nobody accepts: the kernel queues completed handshakes, backlog + 1 of them.
        for expected in 1...2 {
            clients.append(try PythonPeer.run(Self.waitingClient, ["\(port)"]))
            try await harness.waitFor("the accept queue to hold \(expected)") { queue() == expected }
        }
        #expect(Self.kernelSamples(harness, listener).last?.backlog == 1)
        let overflowsBefore = try #require(Self.kernelSamples(harness, listener).last?.listenOverflows)
        // The queue is full: the next client's SYN is dropped and it waits in SYN-SENT.
        clients.append(try PythonPeer.run(Self.waitingClient, ["\(port)"]))
        #expect(await clients[2].waitForOutput(containing: "STARTED"))
        try await harness.waitFor("a client stuck in SYN-SENT") {
            // /proc files report size 0: read them to the end rather than by size.
            let text = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp")).readToEnd())
                .flatMap { String(data: $0, encoding: .utf8) } ?? ""
            return ProcNet.parseInet(text, ipv6: false)
                .contains { $0.remote.port.map(Int.init) == port && $0.state == TCPState.synSent.rawValue }
        }
        _ = try await harness.perform(.lab(.step(.accept(listener))))
        try await harness.waitFor("ListenOverflows to count the dropped SYN") {
            (Self.kernelSamples(harness, listener).last?.listenOverflows ?? 0) > overflowsBefore
        }
        // The counters are the machine's since boot; the listener's share is their change since it
        // opened: every sample measures it from the same baseline, read before the first sample.
        let counted = Self.kernelSamples(harness, listener).filter { $0.listenOverflows != nil }
        let sinceOpen = try #require(counted.last?.listenOverflowsSinceOpen, "\(counted)")
        #expect(sinceOpen >= 1)
        let baselines = Set(counted.map { sample in sample.listenOverflows! - (sample.listenOverflowsSinceOpen ?? .max) })
        #expect(baselines.count == 1, "one baseline: \(baselines)")
        #expect(counted.allSatisfy { ($0.listenOverflowsSinceOpen ?? -1) >= 0 && $0.listenDropsSinceOpen != nil })
        #expect(harness.acceptedConnections(on: listener).count == 1)
        _ = try await harness.perform(.lab(.step(.accept(listener))))
        _ = try await harness.perform(.lab(.step(.accept(listener))), timeout: .seconds(20))
        #expect(harness.acceptedConnections(on: listener).count == 3)
        try await harness.waitFor("the accept queue to empty") { queue() == 0 }
        let queues = Self.kernelSamples(harness, listener).compactMap(\.acceptQueue)
        #expect(queues.contains(2) && queues.last == 0, "\(queues)")
    }

    // MARK: Kernel states

    /// argv: mode. Listens, prints PORT, accepts one client; `fin` half-closes at once and waits,
    /// `wait-eof` reads until EOF and then closes, `slow-close` reads until EOF and closes 0.2 s later
    /// (a server finishing its work: our end sits in FIN-WAIT-2 meanwhile).
    static let peerServer = """
    import socket, sys, time
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print("PORT %d" % server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    if sys.argv[1] == "fin":
        conn.shutdown(socket.SHUT_WR)
        time.sleep(60)
    else:
        while conn.recv(4096):
            pass
        if sys.argv[1] == "slow-close":
            time.sleep(0.2)
        conn.close()
        print("CLOSED", flush=True)
        time.sleep(60)
    """

    static func startPeer(_ mode: String) async throws -> (SpawnedProcess, Int) {
        let peer = try PythonPeer.run(Self.peerServer, [mode])
        guard await peer.waitForOutput(containing: "PORT "),
              let line = peer.output.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }),
              let port = Int(line.dropFirst(5)) else { throw EngineHarness.Timeout(what: "the peer's port", events: []) }
        return (peer, port)
    }

    @Test(.requires("python3")) func closeWaitAfterThePeersFIN() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (peer, port) = try await Self.startPeer("fin")
        defer { peer.kill(SIGKILL) }
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let client = SocketID(.connection, 1)
        // The kernel may show CLOSE-WAIT a moment before the engine has read the EOF: wait for both.
        try await harness.waitFor("CLOSE-WAIT in the kernel's view and the peer's EOF") {
            Self.kernelSamples(harness, client).contains { $0.state == .closeWait }
                && harness.events(about: client).contains(.peerClosed(client))
        }
        let first = try #require(Self.kernelSamples(harness, client).first)
        #expect(first.rttMicroseconds != nil && first.congestionWindow != nil)
    }

    @Test(.requires("python3")) func timeWaitOnTheSideThatClosedFirst() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (peer, port) = try await Self.startPeer("wait-eof")
        defer { peer.kill(SIGKILL) }
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let client = SocketID(.connection, 1)
        _ = try await harness.perform(.send(client, Array("bye".utf8)))
        _ = try await harness.perform(.close(client))
        #expect(await peer.waitForOutput(containing: "CLOSED"))
        try await harness.waitFor("TIME-WAIT after our close") {
            Self.kernelSamples(harness, client).contains { $0.state == .timeWait && $0.lingering }
        }
        let sample = try #require(Self.kernelSamples(harness, client).last { $0.state == .timeWait })
        let seconds = try #require(sample.timerSeconds)
        #expect(seconds > 0 && seconds <= 60, "TIME-WAIT lasts 60 s on Linux: \(seconds)")
    }

    @Test(.requires("python3")) func activeCloseStatesShowAsTheKernelChangesThem() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (peer, port) = try await Self.startPeer("slow-close")
        defer { peer.kill(SIGKILL) }
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let client = SocketID(.connection, 1)
        _ = try await harness.perform(.close(client))
        // FIN-WAIT-2 while the peer works, TIME-WAIT once its FIN comes (0.2 s later): the probe
        // follows a close with samples milliseconds apart, not only its once-a-second look at
        // closed sockets, which showed TIME-WAIT a second late.
        try await harness.waitFor("TIME-WAIT within 0.8 s of our close", timeout: .milliseconds(800)) {
            Self.kernelSamples(harness, client).contains { $0.state == .timeWait }
        }
        let states = Self.kernelSamples(harness, client).compactMap(\.state)
        #expect(Self.isSubsequence(["FIN-WAIT-2", "TIME-WAIT"], of: states.map(\.name)), "\(states)")
        #expect(await peer.waitForOutput(containing: "CLOSED"))
    }

    @Test func bothEndsOursShowFinWaitThenTimeWaitAndCloseWait() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = SocketID(.connection, 1)
        let server = try await harness.first("the accepted end") { kind -> SocketID? in
            if case .accepted(let id, listener.id, _, _) = kind { return id }
            return nil
        }
        _ = try await harness.perform(.close(client))
        try await harness.waitFor("CLOSE-WAIT on the server end, FIN-WAIT-2 on ours") {
            Self.kernelSamples(harness, server).last?.state == .closeWait
                && Self.kernelSamples(harness, client).last?.state == .finWait2
        }
        _ = try await harness.perform(.close(server))
        try await harness.waitFor("TIME-WAIT on the end that closed first") {
            Self.kernelSamples(harness, client).last?.state == .timeWait
        }
        let state = Self.replay(harness)
        let ledger = state.lab.ledger.history(of: client).map(\.text)
        #expect(ledger.contains { $0.contains("FIN-WAIT-2 → TIME-WAIT") }, "\(ledger)")
    }

    // MARK: The system view

    static let listeningPeer = """
    import socket, time
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    print("PORT %d" % s.getsockname()[1], flush=True)
    time.sleep(60)
    """

    @Test(.requires("python3")) func systemViewFindsAListenerOfAnotherProcess() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let peer = try PythonPeer.run(Self.listeningPeer)
        defer { peer.kill(SIGKILL) }
        #expect(await peer.waitForOutput(containing: "PORT "))
        let port = try #require(peer.output.split(separator: "\n").first { $0.hasPrefix("PORT ") }.flatMap { Int($0.dropFirst(5)) })
        let ours = try await harness.listen()
        _ = try await harness.perform(.lab(.systemView(visible: true)))
        let sockets = try await harness.first("a system snapshot with the python listener") { kind -> [SystemSocket]? in
            guard case .lab(.system(let sockets)) = kind,
                  sockets.contains(where: { $0.local == "127.0.0.1:\(port)" && $0.isListener }) else { return nil }
            return sockets
        }
        let theirs = try #require(sockets.first { $0.local == "127.0.0.1:\(port)" })
        #expect(theirs.proto == "tcp" && !theirs.isOurs)
        #expect(theirs.process?.contains("python") == true, "owner: \(theirs.process ?? "unknown")")
        #expect(sockets.contains { $0.local == "127.0.0.1:\(ours.port)" && $0.isOurs })
        _ = try await harness.perform(.lab(.systemView(visible: false)))
    }
}
