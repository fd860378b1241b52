import Foundation
import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `relay LISTEN TARGET` against real clients and servers: curl and python3's http.server,
/// redis-cli and redis-server, python peers that half-close and reset, a refused target, a
/// UNIX upstream and IPv6. Both legs' byte counts are exact.
@Suite(.timeLimit(.minutes(2))) struct RelayTests {
    static let r1 = SocketID(.relay, 1)

    /// Starts a relay and returns its id and the port clients connect to.
    static func relay(_ harness: EngineHarness, listen: Endpoint = .inet(.tcp, host: "127.0.0.1", port: 0),
                      to target: Endpoint) async throws -> (id: SocketID, port: Int) {
        let answer = try await harness.perform(.relay(RelayRequest(listen: ListenRequest(endpoint: listen), target: target)))
        guard case .relay(.listening(let id, _, let local, _))? = answer.first, let port = local.port else {
            throw EngineHarness.Timeout(what: "a relaying event", events: harness.events)
        }
        return (id, Int(port))
    }

    /// The pairs the relay made so far: (client leg, upstream leg).
    static func pairs(_ harness: EngineHarness) -> [(client: SocketID, upstream: SocketID)] {
        harness.kinds.compactMap { kind in
            if case .relay(.upstream(let upstream, _, let client, _, _)) = kind { return (client, upstream) }
            return nil
        }
    }

    static func waitForClose(of ids: [SocketID], _ harness: EngineHarness) async throws {
        try await harness.waitFor("\(ids) closed") { ids.allSatisfy { harness.closedReason(of: $0) != nil } }
    }

    /// What each leg counted, both ways: what one leg received the other sent, byte for byte.
    static func expectExactForwarding(_ pair: (client: SocketID, upstream: SocketID), _ harness: EngineHarness,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(harness.receivedCount(on: pair.client) == harness.sentCount(on: pair.upstream),
                "client leg received = upstream leg sent", sourceLocation: sourceLocation)
        #expect(harness.receivedCount(on: pair.upstream) == harness.sentCount(on: pair.client),
                "upstream leg received = client leg sent", sourceLocation: sourceLocation)
    }

    static func python(_ script: String, _ arguments: [String]) throws -> SpawnedProcess {
        try PythonPeer.run(script, arguments)
    }

    /// Waits for `process` to end with status 0 and returns its output.
    static func finished(_ process: SpawnedProcess, timeout: Duration = .seconds(20),
                         sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        let status = await process.wait(timeout: timeout)
        if status == nil { process.kill(SIGKILL) }
        #expect(status == 0, "\(process.executable) \(process.arguments): \(process.output)", sourceLocation: sourceLocation)
        return process.output
    }

    // MARK: Real clients and servers

    @Test(.requires("curl", "python3", "sha256sum")) func curlThroughTheRelayGetsTheWholeBodyAndBothLegsCountEveryByte()
        async throws {
        let directory = TemporaryPath.make(prefix: "www")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // From the kernel in one read: a byte-by-byte loop in a debug build held a test thread for seconds.
        let body = try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: 3_000_000))
        try body.write(to: URL(fileURLWithPath: directory + "/body.bin"))
        let (server, serverPort) = try await PythonHTTPServer.start(serving: directory)
        defer { server.kill(SIGKILL) }

        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let saved = TemporaryPath.make(prefix: "download")
        let curl = try SpawnedProcess("curl", ["-sS", "--max-time", "20", "-o", saved, "-w", "%{size_header} %{size_download}",
                                               "http://127.0.0.1:\(port)/body.bin"])
        let sizes = await Self.finished(curl).split(separator: " ").compactMap { Int($0) }
        #expect(try await SHA256Sum.of(path: saved) == SHA256Sum.of(path: directory + "/body.bin"))
        #expect(sizes.last == body.count)

        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        Self.expectExactForwarding(pair, harness)
        #expect(harness.sentCount(on: pair.client) == sizes.reduce(0, +), "the client leg sent curl the headers and body")
    }

    @Test(.requires("redis-server", "redis-cli")) func redisCliTalksToRedisThroughTheRelay() async throws {
        let (redis, redisPort) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: redisPort))
        let set = try SpawnedProcess("redis-cli", ["-h", "127.0.0.1", "-p", "\(port)", "SET", "relayed", "through R1"])
        #expect(await Self.finished(set).contains("OK"))
        let get = try SpawnedProcess("redis-cli", ["-h", "127.0.0.1", "-p", "\(port)", "GET", "relayed"])
        #expect(await Self.finished(get).contains("through R1"))

        // redis-cli can be done before the engine's events about the second pair arrive.
        try await harness.waitFor("one pair per redis-cli") { Self.pairs(harness).count == 2 }
        let pairs = Self.pairs(harness)
        try await Self.waitForClose(of: pairs.flatMap { [$0.client, $0.upstream] }, harness)
        for pair in pairs { Self.expectExactForwarding(pair, harness) }
    }

    /// A client that shuts down its sending side and still reads the answer: the relay passes
    /// the FIN on (shutdown write on the upstream leg) and the answer comes back.
    @Test(.requires("python3")) func aHalfCloseGoesThroughAndTheAnswerStillComesBack() async throws {
        let server = try Self.python(Self.serverScript, ["answer-after-eof"])
        defer { server.kill(SIGKILL) }
        let serverPort = try await Self.port(of: server)
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let client = try Self.python(Self.clientScript, ["half-close", "127.0.0.1", "\(port)", "100000"])
        #expect(await Self.finished(client).contains("answer: got 100000 bytes"))

        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        let upstreamEvents = harness.events(about: pair.upstream)
        #expect(upstreamEvents.contains(.relay(.passedOn(pair.upstream, .upstream, relay: relay, from: pair.client, .fin))),
                "\(upstreamEvents)")
        #expect(harness.events(about: pair.client).contains(.peerClosed(pair.client)))
        #expect(harness.receivedCount(on: pair.client) == 100_000)
        Self.expectExactForwarding(pair, harness)
    }

    @Test(.requires("python3")) func anRSTFromTheServerReachesTheClientAsAnRST() async throws {
        let server = try Self.python(Self.serverScript, ["reset"])
        defer { server.kill(SIGKILL) }
        let serverPort = try await Self.port(of: server)
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let client = try Self.python(Self.clientScript, ["expect-reset", "127.0.0.1", "\(port)"])
        #expect(await Self.finished(client).contains("client: reset"))

        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.closedReason(of: pair.upstream) == "reset by peer")
        #expect(harness.events(about: pair.client).contains(.relay(.passedOn(pair.client, .client, relay: relay,
                                                                              from: pair.upstream, .reset))))
    }

    @Test(.requires("python3")) func anRSTFromTheClientReachesTheServerAsAnRST() async throws {
        let server = try Self.python(Self.serverScript, ["expect-reset"])
        defer { server.kill(SIGKILL) }
        let serverPort = try await Self.port(of: server)
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let client = try Self.python(Self.clientScript, ["reset", "127.0.0.1", "\(port)"])
        _ = await Self.finished(client)
        #expect(await server.wait(timeout: .seconds(10)) == 0, "\(server.output)")
        #expect(server.output.contains("server: reset"), "\(server.output)")
        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.closedReason(of: pair.client) == "reset by peer")
        #expect(harness.closedReason(of: pair.upstream)?.hasPrefix("reset: ") == true)
    }

    @Test(.requires("python3")) func aRefusedUpstreamClosesTheClientLegNamingTheErrnoAndTheTarget() async throws {
        let closed = try ReservedPort()
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: closed.port))
        let client = try Self.python(Self.clientScript, ["expect-eof", "127.0.0.1", "\(port)"])
        #expect(await Self.finished(client).contains("client: eof"))

        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        let failure = try #require(harness.failures(on: pair.upstream).first)
        #expect(failure.code == "ECONNREFUSED")
        #expect(failure.target == "tcp://127.0.0.1:\(closed.port)")
        #expect(harness.closedReason(of: pair.upstream) == "connect failed")
        #expect(harness.closedReason(of: pair.client)
                == "upstream \(pair.upstream) could not connect: ECONNREFUSED tcp://127.0.0.1:\(closed.port)")
    }

    /// TCP clients, a UNIX stream server (the engine's own echo listener at a path).
    @Test(.requires("python3")) func aUnixUpstreamServesTCPClients() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "up", suffix: ".sock")
        _ = try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path), mode: .echo)))
        let (_, port) = try await Self.relay(harness, to: .unix(path: path))
        let client = try Self.python(Self.clientScript, ["echo", "127.0.0.1", "\(port)", "5000"])
        #expect(await Self.finished(client).contains("client: echoed 5000"))
        let pair = try #require(Self.pairs(harness).first)
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.receivedCount(on: pair.client) == 5000)
        Self.expectExactForwarding(pair, harness)
    }

    /// IPv6 clients, an IPv4 server.
    @Test(.requires("python3")) func anIPv6RelayForwardsToAnIPv4Server() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, echoPort) = try await harness.listen(.echo)
        let (_, port) = try await Self.relay(harness, listen: .inet(.tcp, host: "::1", port: 0),
                                             to: .inet(.tcp, host: "127.0.0.1", port: echoPort))
        let client = try Self.python(Self.clientScript, ["echo", "::1", "\(port)", "70000"])
        #expect(await Self.finished(client).contains("client: echoed 70000"))
        let pair = try #require(Self.pairs(harness).first)
        guard case .accepted(_, _, let local, let remote)? = harness.events(about: pair.client).first else {
            Issue.record("no accept: \(harness.events(about: pair.client))")
            return
        }
        #expect(local.description.hasPrefix("[::1]:") && remote.description.hasPrefix("[::1]:"))
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        Self.expectExactForwarding(pair, harness)
    }

    /// A client that does not read: the upstream leg stops reading once the client leg holds
    /// its high water mark, says so, and no more than that (plus one read) waits in the engine.
    @Test(.requires("python3")) func aSlowReaderPausesTheOtherLegAndNothingPilesUp() async throws {
        // The server stays open after sending: a FIN would make NIO read to EOF whatever the
        // kernel holds, which only the kernel's buffers bound (see ARCHITECTURE.md, Bounds).
        let server = try Self.python(Self.serverScript, ["flood-then-wait", "16000000"])
        defer { server.kill(SIGKILL) }
        let serverPort = try await Self.port(of: server)
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let go = TemporaryPath.make(prefix: "go")
        let client = try Self.python(Self.clientScript, ["stall-then-read", "127.0.0.1", "\(port)", go, "16000000"])
        let paused = try await harness.first("the upstream leg pausing") { kind -> (SocketID, Int)? in
            if case .relay(.paused(let leg, .upstream, relay, _, let held)) = kind { return (leg, held) }
            return nil
        }
        let pair = try #require(Self.pairs(harness).first)
        #expect(paused.0 == pair.upstream)
        // NIO's default water marks: unwritable above 64 KiB, writable again below 32 KiB, so a
        // pause still on holds more than 32 KiB; a read adds at most 1 MiB (the largest read
        // buffer) four times to the 64 KiB.
        #expect(paused.1 >= 32 * 1024 && paused.1 <= 64 * 1024 + (4 << 20), "held \(paused.1)")
        // The client reads only now: the pause was the relay's answer to it not reading.
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(await Self.finished(client).contains("client: read 16000000"))
        try await harness.waitFor("the pause ending") {
            harness.kinds.contains { if case .relay(.resumed(pair.upstream, .upstream, relay, _)) = $0 { true } else { false } }
        }
        try await Self.waitForClose(of: [pair.client, pair.upstream], harness)
        Self.expectExactForwarding(pair, harness)
    }

    /// A port another program listens on stays its own: the relay fails with EADDRINUSE.
    @Test func aRelayNeverTakesOverAPortInUse() async throws {
        let taken = try ReservedPort(listenBacklog: 1)
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.relay(RelayRequest(
            listen: ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: taken.port)),
            target: .inet(.tcp, host: "127.0.0.1", port: 9))))
        let failure = answer.compactMap { kind -> SocketFailure? in if case .error(_, let failure) = kind { failure } else { nil } }.first
        #expect(failure?.code == "EADDRINUSE", "\(answer)")
        #expect(!answer.contains { if case .relay(.listening) = $0 { true } else { false } })
    }

    // MARK: Peers

    static func port(of process: SpawnedProcess) async throws -> Int {
        #expect(await process.waitForOutput(containing: "port "), "\(process.output)")
        return try #require(process.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
    }

    /// One-connection servers, by mode: `answer-after-eof` reads to EOF and answers how much
    /// it got; `reset` resets after the first read; `expect-reset` says whether its client
    /// reset or closed; `flood N` sends N bytes and closes; `flood-then-wait N` sends N bytes
    /// and closes after its client.
    static let serverScript = #"""
    import socket, struct, sys
    mode = sys.argv[1]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print("port", server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    if mode == "answer-after-eof":
        total = 0
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
        conn.sendall(b"got %d bytes" % total)
        conn.close()
    elif mode == "reset":
        conn.recv(100)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    elif mode == "expect-reset":
        conn.recv(100)
        conn.sendall(b"ready")
        try:
            while conn.recv(100):
                pass
            print("server: eof")
        except ConnectionResetError:
            print("server: reset")
    elif mode == "flood":
        conn.sendall(bytes(int(sys.argv[2])))
        conn.close()
    elif mode == "flood-then-wait":
        conn.sendall(bytes(int(sys.argv[2])))
        while conn.recv(100):
            pass
        conn.close()
    """#

    /// Clients, by mode, given HOST PORT: `half-close N` sends N bytes, shuts down writing and
    /// reads the answer; `expect-reset` / `expect-eof` say how the connection ended; `reset`
    /// waits for the server to be there, then resets; `echo N` checks N bytes come back;
    /// `stall-then-read GOFILE N` reads nothing until GOFILE exists, then N bytes, and closes.
    static let clientScript = #"""
    import os, socket, struct, sys, time
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    conn.settimeout(15)
    if mode == "stall-then-read":
        # A small receive window, set before connecting: the relay's output backs up soon.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect((host, port))
    if mode == "half-close":
        conn.sendall(bytes(int(sys.argv[4])))
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        print("answer:", answer.decode())
    elif mode in ("expect-reset", "expect-eof"):
        try:
            if mode == "expect-reset":
                conn.sendall(b"x")
            print("client: eof" if conn.recv(100) == b"" else "client: data")
        except ConnectionResetError:
            print("client: reset")
    elif mode == "reset":
        conn.sendall(b"hi")
        assert conn.recv(5) == b"ready"
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    elif mode == "echo":
        count = int(sys.argv[4])
        payload = bytes(i % 251 for i in range(count))
        conn.sendall(payload)
        echoed = b""
        while len(echoed) < count:
            chunk = conn.recv(65536)
            if not chunk:
                break
            echoed += chunk
        assert echoed == payload, len(echoed)
        conn.shutdown(socket.SHUT_WR)
        print("client: echoed", len(echoed))
        conn.recv(1)
    elif mode == "stall-then-read":
        # Not reading until the test has seen the relay pause (it then creates the file).
        deadline = time.monotonic() + 15
        while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
            time.sleep(0.01)
        total, expected = 0, int(sys.argv[5])
        while total < expected:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
        conn.close()
        print("client: read", total)
    """#
}
