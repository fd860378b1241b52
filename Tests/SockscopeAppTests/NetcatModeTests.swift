import Foundation
import Testing
import TestSupport

/// `sockscope HOST PORT` and `sockscope -l [HOST] PORT` against real peers: stdin raw to
/// the socket, the socket raw to stdout, errors to stderr, exit status as nc's.
@Suite(.timeLimit(.minutes(1))) struct NetcatModeTests {
    /// Every byte value, then random bytes: 300 KiB, far past the 1 KiB preview.
    static func payload(seed: UInt64) -> Data {
        var generator = seed
        var bytes = (0..<1024).map { UInt8($0 % 256) }
        for _ in 0..<(300 * 1024) {
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(UInt8(truncatingIfNeeded: generator >> 33))
        }
        return Data(bytes)
    }

    static func sha256(_ path: String) async throws -> String {
        let (status, output) = try await run("/usr/bin/sha256sum", [path])
        #expect(status == 0)
        return String(output.prefix(64))
    }

    /// Runs sockscope with stdin, stdout and stderr each on its own file.
    func spawn(_ arguments: [String], stdin: String, stdout: String, stderr: String) throws -> SpawnedProcess {
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        return try SpawnedProcess("/bin/sh", ["-c", "exec \(Binary.path) \(quoted) < \(stdin) > \(stdout) 2> \(stderr)"])
    }

    /// A Python server that reads until EOF (so only our half-close lets it answer), writes
    /// the sha256 of what it read to its stdout, sends `reply` back and closes.
    static let readAllThenReply = """
        import hashlib, socket, sys
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
        print(l.getsockname()[1], flush=True)
        c, _ = l.accept(); got = b""
        while True:
            chunk = c.recv(65536)
            if not chunk: break
            got += chunk
        print(hashlib.sha256(got).hexdigest(), flush=True)
        c.sendall(open(sys.argv[1], "rb").read()); c.close()
        """

    /// `-u`: each stdin read is one datagram, a datagram's bytes go to stdout whole, the
    /// session ends with its input. Python holds our stdin open until the answer is on our
    /// stdout (a UDP session has no EOF from the peer to wait for).
    @Test(.requires("python3")) func udpSendsEachReadAsADatagramAndWritesTheAnswer() async throws {
        let driver = try PythonPeer.run("""
            import socket, subprocess, sys
            server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); server.bind(("127.0.0.1", 0))
            port = server.getsockname()[1]
            nc = subprocess.Popen([sys.argv[1], "-u", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            nc.stdin.write(b"hello\\x00udp\\n"); nc.stdin.flush()
            server.settimeout(10)
            data, peer = server.recvfrom(65536)
            print("SERVER GOT %r" % data, flush=True)
            server.sendto(data.upper() + b"!", peer)
            answer = nc.stdout.read(len(data) + 1)
            print("STDOUT %r" % answer, flush=True)
            nc.stdin.close()
            print("EXIT %d" % nc.wait(timeout=10), flush=True)
            """, [Binary.path])
        defer { driver.kill(SIGKILL) }
        #expect(await driver.waitForOutput(containing: "EXIT", timeout: .seconds(20)), "\(driver.output)")
        #expect(driver.output.contains(#"SERVER GOT b'hello\x00udp\n'"#), "one datagram, every byte: \(driver.output)")
        #expect(driver.output.contains(#"STDOUT b'HELLO\x00UDP\n!'"#), "the answer, raw: \(driver.output)")
        #expect(driver.output.contains("EXIT 0"), "\(driver.output)")
    }

    @Test(.requires("python3")) func aClientPipesEveryByteBothWaysAndHalfClosesAtEndOfInput() async throws {
        let sent = TemporaryPath.make(prefix: "sent"), reply = TemporaryPath.make(prefix: "reply")
        try Self.payload(seed: 1).write(to: URL(fileURLWithPath: sent))
        try Self.payload(seed: 2).write(to: URL(fileURLWithPath: reply))
        let server = try PythonPeer.run(Self.readAllThenReply, [reply])
        defer { server.kill(SIGKILL) }
        #expect(await waitUntil { Int(server.output.split(separator: "\n").first ?? "") != nil })
        let port = try #require(Int(server.output.split(separator: "\n").first ?? ""))
        let stdout = TemporaryPath.make(prefix: "stdout"), stderr = TemporaryPath.make(prefix: "stderr")
        let events = TemporaryPath.make(prefix: "events", suffix: ".jsonl")
        let client = try spawn(["127.0.0.1", "\(port)", "--events", events, "--payload", "base64"],
                               stdin: sent, stdout: stdout, stderr: stderr)
        defer { client.kill(SIGKILL) }
        #expect(await client.wait() == 0, "the session ends once the peer has answered and closed")
        let lines = server.output.split(separator: "\n")
        let sentHash = try await Self.sha256(sent), replyHash = try await Self.sha256(reply)
        let stdoutHash = try await Self.sha256(stdout)
        #expect(lines.count == 2 && lines.last.map(String.init) == sentHash, "the server read exactly our stdin, then EOF")
        #expect(stdoutHash == replyHash, "stdout holds exactly what the server sent")
        #expect(try String(contentsOfFile: stderr, encoding: .utf8).isEmpty, "no diagnostics when all went well")
        // The event stream carries the same bytes, whole, base64.
        var received = Data()
        for line in try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["event"] as? String == "received" else { continue }
            let encoded = try #require(object["payload"] as? String)
            let chunk = try #require(Data(base64Encoded: encoded))
            #expect(chunk.count == object["bytes"] as? Int)
            received += chunk
        }
        // A Bool, not `received == payload` inside #expect: a failure would diff 300 KiB element by element.
        let sameBytes = received == Self.payload(seed: 2)
        #expect(sameBytes, "the events carry \(received.count) bytes, the reply \(Self.payload(seed: 2).count)")
    }

    @Test(.requires("nc")) func aListenerTakesOneClientAndPipesBothWays() async throws {
        let sent = TemporaryPath.make(prefix: "sent"), fromPeer = TemporaryPath.make(prefix: "peer")
        let peerOutput = TemporaryPath.make(prefix: "peer-out")
        try Self.payload(seed: 3).write(to: URL(fileURLWithPath: sent))
        try Self.payload(seed: 4).write(to: URL(fileURLWithPath: fromPeer))
        let stdout = TemporaryPath.make(prefix: "stdout"), stderr = TemporaryPath.make(prefix: "stderr")
        let events = TemporaryPath.make(prefix: "events", suffix: ".jsonl")
        // Port 0: the kernel chooses, and the listening event says which.
        let listener = try spawn(["-l", "127.0.0.1", "0", "--events", events], stdin: sent, stdout: stdout, stderr: stderr)
        defer { listener.kill(SIGKILL) }
        #expect(await waitUntil { (try? String(contentsOfFile: events, encoding: .utf8))?.contains(#""event":"listening""#) == true })
        let listening = try String(contentsOfFile: events, encoding: .utf8)
        let local = try #require(listening.range(of: #""local":"127\.0\.0\.1:\d+""#, options: .regularExpression))
        let port = try #require(Int(listening[local].dropLast().split(separator: ":").last!))
        // OpenBSD nc -N: shutdown(SHUT_WR) at the end of its input, then read until EOF.
        let peer = try SpawnedProcess("/bin/sh", ["-c", "exec nc -N 127.0.0.1 \(port) < \(fromPeer) > \(peerOutput)"])
        defer { peer.kill(SIGKILL) }
        #expect(await listener.wait() == 0)
        #expect(await peer.wait() == 0)
        let stdoutHash = try await Self.sha256(stdout), fromPeerHash = try await Self.sha256(fromPeer)
        let peerOutputHash = try await Self.sha256(peerOutput), sentHash = try await Self.sha256(sent)
        #expect(stdoutHash == fromPeerHash)
        #expect(peerOutputHash == sentHash)
        let log = try String(contentsOfFile: events, encoding: .utf8)
        #expect(log.contains(#""event":"accepted""#) && log.contains(#""id":"L1","event":"closed""#),
                "one client, then the listener closes, as nc -l")
    }

    @Test(.requires("socat")) func aUnixStreamPeerGetsEveryByte() async throws {
        let path = TemporaryPath.make(prefix: "nc", suffix: ".sock")
        let sent = TemporaryPath.make(prefix: "sent"), got = TemporaryPath.make(prefix: "got")
        try Self.payload(seed: 5).write(to: URL(fileURLWithPath: sent))
        let server = try SpawnedProcess("socat", ["-u", "UNIX-LISTEN:\(path)", "CREATE:\(got)"])
        defer { server.kill(SIGKILL) }
        #expect(await waitUntil { FileManager.default.fileExists(atPath: path) })
        let client = try spawn(["-U", path], stdin: sent, stdout: TemporaryPath.make(prefix: "stdout"),
                               stderr: TemporaryPath.make(prefix: "stderr"))
        defer { client.kill(SIGKILL) }
        #expect(await client.wait() == 0)
        #expect(await server.wait() == 0)
        let gotHash = try await Self.sha256(got), sentHash = try await Self.sha256(sent)
        #expect(gotHash == sentHash)
    }

    @Test func aRefusedConnectionExitsWith1AndSaysWhyOnStderr() async throws {
        let closed = try ReservedPort()  // bound, not listening: refused for the whole test
        let port = closed.port
        let stdout = TemporaryPath.make(prefix: "stdout"), stderr = TemporaryPath.make(prefix: "stderr")
        let client = try spawn(["127.0.0.1", "\(port)"], stdin: "/dev/null", stdout: stdout, stderr: stderr)
        #expect(await client.wait() == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: stdout)).isEmpty, "stdout carries only received bytes")
        #expect(try String(contentsOfFile: stderr, encoding: .utf8).contains("ECONNREFUSED"))
    }

    /// `--headless --json --payload base64`: each data event carries its bytes whole, past 1 KiB.
    @Test(.requires("python3")) func headlessJSONCarriesWholePayloadsInBase64() async throws {
        let reply = TemporaryPath.make(prefix: "reply")
        try Self.payload(seed: 6).write(to: URL(fileURLWithPath: reply))
        let server = try PythonPeer.run(Self.readAllThenReply, [reply])
        defer { server.kill(SIGKILL) }
        #expect(await waitUntil { Int(server.output.split(separator: "\n").first ?? "") != nil })
        let port = try #require(Int(server.output.split(separator: "\n").first ?? ""))
        let session = try SpawnedProcess(Binary.path, ["--headless", "--json", "--payload", "base64",
                                                       "-c", "connect \(port)", "-c", "shutdown write"])
        defer { session.kill(SIGKILL) }
        #expect(await session.wait() == 0)
        var received = Data()
        for line in session.output.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["event"] as? String == "received" else { continue }
            #expect((object["text"] as? String).map { $0.utf8.count <= 4 * 1024 } == true, "the text stays a preview")
            let encoded = try #require(object["payload"] as? String)
            received += try #require(Data(base64Encoded: encoded))
        }
        let sameBytes = received == Self.payload(seed: 6)
        #expect(sameBytes, "the events carry \(received.count) bytes, the reply \(Self.payload(seed: 6).count)")
    }
}
