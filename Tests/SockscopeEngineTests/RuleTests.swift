import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Rules that answer, on real sockets with Python clients: what the client receives is
/// exactly the replies, and the engine reports each firing and counts each reply as sent.
@Suite(.timeLimit(.minutes(1))) struct RuleTests {
    /// argv: port, then messages (Python escapes: \\r \\n \\xHH) sent 50 ms apart; then reads
    /// until the peer closes or 1 s passes with nothing new; prints `GOT <repr of everything>`.
    static let converse = """
    import socket, sys, time
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("CONNECTED", flush=True)
    for part in sys.argv[2:]:
        if part.startswith("WAIT"):
            while not __import__("os").path.exists(part[4:]): time.sleep(0.01)
            continue
        s.sendall(part.encode("latin-1").decode("unicode_escape").encode("latin-1"))
        time.sleep(0.05)
    s.settimeout(1.0)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                data += b"<EOF>"
                break
            data += chunk
    except socket.timeout:
        pass
    print("GOT " + repr(data), flush=True)
    """

    func rule(_ line: String) throws -> Rule {
        guard case .rule(_, .add(let rule))? = try CommandParser.parse(line) else { throw CommandParser.ParseError("no rule") }
        return rule
    }

    func add(_ line: String, to owner: RuleOwner, number: Int, _ harness: EngineHarness) async throws {
        let answer = try await harness.perform(.addRule(owner, number: number, try rule(line)))
        #expect(answer == [.requestCompleted], "\(answer)")
    }

    func firings(_ harness: EngineHarness, rule: Int) -> Int {
        harness.kinds.reduce(0) { total, kind in
            if case .ruleFired(_, rule, let times) = kind { total + times } else { total }
        }
    }

    @Test(.requires("python3")) func aListenersRulesAnswerLinesFirstMatchWins() async throws {
        let harness = EngineHarness()
        let (listener, port) = try await harness.listen()
        try await add(#"rule when "PING" reply "+PONG""#, to: .socket(listener), number: 1, harness)
        try await add(#"rule when /^ECHO (.*)$/ reply "\1 \1\n""#, to: .socket(listener), number: 2, harness)
        try await add(#"rule when prefix "P" reply "never: R1 comes first""#, to: .socket(listener), number: 3, harness)
        // A line cut across two reads, CRLF and LF endings, a line no rule takes.
        let client = try PythonPeer.run(Self.converse, ["\(port)", "PI", "NG\\r\\n", "ECHO hi there\\n", "nothing\\n", "PING\\n"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: "GOT "))
        #expect(client.output.contains(#"GOT b'+PONG\r\nhi there hi there\n+PONG\n'"#), "\(client.output)")
        let connection = try #require(harness.acceptedConnections(on: listener).first)
        try await harness.waitFor("the replies counted as sent") { harness.sentCount(on: connection) == 31 }
        #expect(firings(harness, rule: 1) == 2 && firings(harness, rule: 2) == 1 && firings(harness, rule: 3) == 0)
        // The firing is reported after the read that caused it and before the reply.
        let about = harness.events(about: connection)
        let fired = try #require(about.firstIndex { if case .ruleFired = $0 { true } else { false } })
        let read = try #require(about.firstIndex { if case .received = $0 { true } else { false } })
        let sent = try #require(about.firstIndex { if case .sent = $0 { true } else { false } })
        #expect(read < fired && fired < sent, "\(about)")
    }

    /// A rule added to a listener reaches the connections it has already accepted; removing it stops it.
    @Test(.requires("python3")) func rulesReachOpenConnectionsAndGoWhenRemoved() async throws {
        let harness = EngineHarness()
        let (listener, port) = try await harness.listen()
        let go = TemporaryPath.make(prefix: "go")
        let stop = TemporaryPath.make(prefix: "stop")
        let client = try PythonPeer.run(Self.converse, ["\(port)", "WAIT" + go, "one\\n", "WAIT" + stop, "two\\n"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: "CONNECTED"))
        _ = try await harness.first("the accept") { if case .accepted(let id, listener, _, _) = $0 { id } else { nil } }
        try await add(#"rule when /^(one|two)$/ reply "got \1""#, to: .socket(listener), number: 7, harness)
        try await add(#"rule when contains "o" reply "also""#, to: .all, number: 8, harness)
        touchFile(go)
        try await harness.waitFor("R7's firing") { firings(harness, rule: 7) == 1 }
        #expect(try await harness.perform(.removeRule(.socket(listener), number: 7)) == [.requestCompleted])
        touchFile(stop)
        #expect(await client.waitForOutput(containing: "GOT "))
        #expect(client.output.contains(#"GOT b'got one\nalso\n'"#), "R8 (all) answers once R7 is gone: \(client.output)")
        let missing = try await harness.perform(.removeRule(.socket(listener), number: 7))
        #expect(missing.contains { if case .error(_, let failure) = $0 { failure.explanation.contains("no rule R7") } else { false } })
    }

    @Test(.requires("python3")) func closeDelayOnceRawAndTemplates() async throws {
        let harness = EngineHarness()
        let (listener, port) = try await harness.listen()
        try await add(#"rule when hex "de ad" reply "\xbe\xef" --raw --once"#, to: .socket(listener), number: 1, harness)
        try await add(##"rule when "count" reply "#{{count}} for {{peer}}""##, to: .socket(listener), number: 2, harness)
        try await add(#"rule when /^GET (\S+)/ reply "200 \1" --delay 300 --close"#, to: .socket(listener), number: 3, harness)
        let started = ContinuousClock.now
        // The first de ad must be a read of its own (a --raw rule matches a whole read): the
        // client waits until we have read it. A 50 ms gap was not enough on a loaded machine.
        let firstRead = TemporaryPath.make(prefix: "first-read", suffix: "")
        defer { try? FileManager.default.removeItem(atPath: firstRead) }
        let client = try PythonPeer.run(Self.converse, ["\(port)", "\\xde\\xad", "WAIT" + firstRead, "\\xde\\xad\\n", "count\\n",
                                                        "count\\n", "GET /x HTTP/1.0\\n"])
        defer { client.kill(SIGKILL) }
        try await harness.waitFor("the first read") {
            harness.acceptedConnections(on: listener).first.map { harness.receivedCount(on: $0) >= 2 } ?? false
        }
        _ = FileManager.default.createFile(atPath: firstRead, contents: nil)
        #expect(await client.waitForOutput(containing: "GOT "))
        #expect(ContinuousClock.now - started >= .milliseconds(300), "--delay held the reply")
        let output = client.output
        let peerPort = try #require(harness.kinds.lazy.compactMap { kind -> SocketEndpoint? in
            if case .accepted(_, listener, _, let remote) = kind { remote } else { nil }
        }.first)
        // --raw --once: the second de ad gets no answer (and is not a line anyway); --close ends with EOF.
        #expect(output.contains(#"GOT b'\xbe\xef#1 for \#(peerPort)\n#2 for \#(peerPort)\n200 /x\n<EOF>'"#), "\(output)")
        let connection = try #require(harness.acceptedConnections(on: listener).first)
        try await harness.waitFor("the close") { harness.closedReason(of: connection) != nil }
        #expect(harness.closedReason(of: connection) == "closed by rule R3 (--close)")
    }

    /// A reply's captures are the bytes received, byte for byte: from a line cut across two
    /// reads, from bytes that are not UTF-8 (which a regex sees as Latin-1, so `.` without
    /// `(?s)` stops at 0x85, U+0085, a newline), and from a `--raw` read whose `(?s)` group runs
    /// over a newline and any byte.
    @Test(.requires("python3")) func capturesComeBackByteForByte() async throws {
        let harness = EngineHarness()
        let (lines, linePort) = try await harness.listen()
        try await add(#"rule when /^ECHO (.*)/ reply "<\1>""#, to: .socket(lines), number: 1, harness)
        try await add(#"rule when /^N([0-9]+) (\S+)$/ reply "\2=\1""#, to: .socket(lines), number: 2, harness)
        let (raw, rawPort) = try await harness.listen()
        try await add(#"rule when /(?s)X(.+)/ reply "[\1]" --raw"#, to: .socket(raw), number: 3, harness)
        let lineClient = try PythonPeer.run(Self.converse, ["\(linePort)", "EC", "HO a\\xffb\\x85c\\r\\n", "N12 \\xe9\\xff\\n"])
        defer { lineClient.kill(SIGKILL) }
        let rawClient = try PythonPeer.run(Self.converse, ["\(rawPort)", "zzX\\n\\x00\\xe9\\x85"])
        defer { rawClient.kill(SIGKILL) }
        #expect(await lineClient.waitForOutput(containing: "GOT "))
        #expect(lineClient.output.contains(#"GOT b'<a\xffb>\r\n\xe9\xff=12\n'"#), "\(lineClient.output)")
        #expect(await rawClient.waitForOutput(containing: "GOT "))
        #expect(rawClient.output.contains(#"GOT b'[\n\x00\xe9\x85]'"#), "\(rawClient.output)")
        try await harness.waitFor("each rule's firing") {
            firings(harness, rule: 1) == 1 && firings(harness, rule: 2) == 1 && firings(harness, rule: 3) == 1
        }
    }

    @Test(.requires("python3")) func anOutgoingConnectionsOwnRule() async throws {
        let harness = EngineHarness()
        let go = TemporaryPath.make(prefix: "go")
        let server = try PythonPeer.run("""
            import os, socket, sys, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print("PORT", s.getsockname()[1], flush=True)
            c, _ = s.accept()
            while not os.path.exists(sys.argv[1]): time.sleep(0.01)
            c.sendall(b"220 ready\\r\\n")
            c.settimeout(2)
            print("GOT", repr(c.recv(100)), flush=True)
            """, [go])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(Int(server.output.split(separator: " ")[1].prefix { $0.isNumber }))
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let connection = SocketID(.connection, 1)
        try await add(#"rule when prefix "220" reply "EHLO me""#, to: .socket(connection), number: 1, harness)
        touchFile(go)
        #expect(await server.waitForOutput(containing: "GOT "))
        #expect(server.output.contains(#"GOT b'EHLO me\r\n'"#), "\(server.output)")
    }

    /// argv: port, then datagrams (Python escapes) sent 50 ms apart from one socket; prints
    /// `GOT <repr>` for each datagram that comes back within 1 s of the last.
    static let datagramClient = """
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", int(sys.argv[1])))
    for part in sys.argv[2:]:
        s.send(part.encode("latin-1").decode("unicode_escape").encode("latin-1"))
        time.sleep(0.05)
    s.settimeout(1.0)
    try:
        while True: print("GOT " + repr(s.recv(65536)), flush=True)
    except socket.timeout:
        print("DONE", flush=True)
    """

    /// A UDP listener's rules answer each matching datagram (each matching line of it) to its
    /// sender, one reply datagram per firing; a datagram no rule takes gets nothing.
    @Test(.requires("python3")) func aUDPListenersRulesAnswerEachMatchingDatagramToItsSender() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0))))
        guard case .listening(let udp, _, let local, _, _)? = answer.first, let port = local.port else {
            throw EngineHarness.Timeout(what: "udp", events: harness.events)
        }
        try await add(#"rule when "PING" reply "+PONG""#, to: .socket(udp), number: 1, harness)
        try await add(#"rule when /^ECHO (.*)$/ reply "\1 \1\n""#, to: .socket(udp), number: 2, harness)
        try await add(#"rule when hex "de ad" reply "dead" --raw"#, to: .socket(udp), number: 3, harness)
        let client = try PythonPeer.run(Self.datagramClient, ["\(port)", "PING", "ECHO hi\\r\\nnothing\\nPING\\n", "nothing",
                                                                "\\xde\\xad"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: "DONE"))
        let got = client.output.split(separator: "\n").filter { $0.hasPrefix("GOT ") }
        #expect(got == [#"GOT b'+PONG'"#, #"GOT b'hi hi\n'"#, #"GOT b'+PONG\n'"#, #"GOT b'dead'"#], "\(client.output)")
        try await harness.waitFor("the replies counted as sent") { harness.datagrams(sentOn: udp).count == 4 }
        #expect(firings(harness, rule: 1) == 2 && firings(harness, rule: 2) == 1 && firings(harness, rule: 3) == 1)
        // Each firing comes after the datagram that caused it and before its reply.
        let about = harness.events(about: udp)
        let fired = try #require(about.firstIndex { if case .ruleFired = $0 { true } else { false } })
        let read = try #require(about.firstIndex { if case .receivedFrom = $0 { true } else { false } })
        let sent = try #require(about.firstIndex { if case .sentTo = $0 { true } else { false } })
        #expect(read < fired && fired < sent, "\(about)")
    }

    @Test func rulesNeedATCPUNIXStreamOrUDPSocket() async throws {
        let harness = EngineHarness()
        let path = TemporaryPath.make(prefix: "rules", suffix: ".sock")
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unixDatagram(path: path))))
        guard case .listening(let unix, _, _, _, _)? = answer.first else { throw EngineHarness.Timeout(what: "unixgram", events: harness.events) }
        let refused = try await harness.perform(.addRule(.socket(unix), number: 1, try rule(#"rule when "x" reply "y""#)))
        #expect(refused.contains { if case .error(_, let failure) = $0 { failure.explanation.contains("UNIX datagram socket") } else { false } })
        let missing = try await harness.perform(.addRule(.socket(SocketID(.connection, 99)), number: 2, try rule(#"rule when "x" reply "y""#)))
        #expect(missing.contains { if case .error = $0 { true } else { false } })
    }
}

/// Creates an empty file (a flag a Python peer waits for).
func touchFile(_ path: String) {
    let fd = open(path, O_CREAT | O_WRONLY, 0o600)
    if fd >= 0 { close(fd) }
}
