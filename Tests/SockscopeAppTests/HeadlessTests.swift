import Foundation
import SockscopeApp
import Testing
import SockscopeCore
import TestSupport

/// The built binary in `--headless` mode, talking to itself and to real peers.
@Suite(.timeLimit(.minutes(1))) struct HeadlessTests {
    func start(_ arguments: [String]) throws -> SpawnedProcess {
        try SpawnedProcess(Binary.path, ["--headless"] + arguments)
    }

    @Test func echoServerAndClientTalk() async throws {
        // Its stdin is /dev/null: a listener keeps the session serving after stdin has ended.
        let server = try start(["-c", "listen 0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: server.output))
        let client = try start(["-c", "connect \(port)", "-c", "send \"hello\\n\""])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: #"C1 received 6 B "hello\n""#))
        client.kill(SIGINT)
        #expect(await client.wait() == 0, "SIGINT ends headless mode cleanly")
        let output = client.output
        #expect(output.contains("C1 connected local=127.0.0.1:"))
        #expect(output.contains(#"C1 sent 6 B "hello\n""#))
        #expect(output.contains("C1 closed (engine stopped)"))
        #expect(await server.waitForOutput(containing: #"C1 received 6 B "hello\n""#))
        server.kill(SIGTERM)
        #expect(await server.wait() == 0, "SIGTERM ends headless mode cleanly")
    }

    @Test func jsonLinesHaveTheDocumentedFields() async throws {
        let server = try start(["--json", "-c", "listen 0 --reply \"hi\\r\\n\""])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: #""event":"listening""#))
        let port = try #require(listeningPort(in: server.output))
        let client = try start(["--json", "-c", "connect \(port)", "-c", "quit"])
        _ = await client.wait()
        #expect(await server.waitForOutput(containing: #""event":"sent""#))
        let lines = server.output.split(separator: "\n")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] is String)
            #expect(object?["event"] is String)
        }
        let sent = try #require(lines.first { $0.contains(#""event":"sent""#) })
        #expect(sent.contains(#""bytes":4"#) && sent.contains(#""text":"hi\\r\\n""#) && sent.contains(#""id":"C1""#))
        let accepted = try #require(lines.first { $0.contains(#""event":"accepted""#) })
        #expect(accepted.contains(#""local":"127.0.0.1:\#(port)""#) && accepted.contains(#""remote":"127.0.0.1:"#))
    }

    /// With real sockets, `connected` and `accepted` lines are exactly what they were when the
    /// engine carried addresses as text: the same keys in the same order, the ends crossing
    /// (and, since every event about a socket names its protocol, `proto`).
    @Test func connectedAndAcceptedJSONLinesKeepTheirShape() async throws {
        let server = try start(["--json", "-c", "listen 0"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: #""event":"listening""#))
        let port = try #require(listeningPort(in: server.output))
        let client = try start(["--json", "-c", "connect \(port)", "-c", "quit"])
        _ = await client.wait()
        #expect(await server.waitForOutput(containing: #""event":"accepted""#))
        /// The line without its timestamp, which is all that differs from run to run.
        func untimed(_ output: String, _ event: String) throws -> String {
            let line = try #require(output.split(separator: "\n").first { $0.contains(#""event":"\#(event)""#) })
            #expect(line.hasPrefix(#"{"ts":""#))
            return String(line.drop { $0 != "," })
        }
        let accepted = try untimed(server.output, "accepted")
        let clientPort = try #require(accepted.split(separator: ":").last.flatMap { Int($0.dropLast(2)) })
        #expect(accepted == #","id":"C1","event":"accepted","proto":"tcp","listener":"L1","local":"127.0.0.1:\#(port)","#
            + #""remote":"127.0.0.1:\#(clientPort)"}"#)
        #expect(try untimed(client.output, "connected") == #","id":"C1","event":"connected","proto":"tcp","#
            + #""local":"127.0.0.1:\#(clientPort)","remote":"127.0.0.1:\#(port)"}"#)
    }

    /// `save --json` writes the lines `--headless --json` printed, one renderer for both:
    /// the saved file, without the commands it also keeps and the totals and summary after
    /// them, is what was printed before the save (kernel samples are printed, not kept).
    @Test func savedJSONIsWhatHeadlessPrinted() async throws {
        let path = TemporaryPath.make(prefix: "saved", suffix: ".sock")
        let saved = TemporaryPath.make(prefix: "saved", suffix: ".jsonl")
        let udp = try ReservedPort(type: SOCK_DGRAM)  // ours: no stranger answers the connected UDP socket
        let run = try start(["--json", "--keep-going", "-c", "listen unix:\(path) --echo", "-c", "connect unix:\(path)",
                             "-c", "send C1 \"hello\\n\"", "-c", "connect udp://127.0.0.1:\(udp.port)", "-c", "frobnicate",
                             "-c", "save \(saved)", "-c", "quit"])
        #expect(await run.wait() == 0)
        func event(_ line: Substring) -> String? {
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event"] as? String
        }
        let printed = run.output.split(separator: "\n")
        let beforeSave = printed.prefix { !$0.contains("saved the log to") }
            .filter { !["kernel", "system", "ephemeral-ports"].contains(event($0)) }
        let file = try String(contentsOfFile: saved, encoding: .utf8).split(separator: "\n")
        #expect(event(file.last ?? "") == "summary")
        let entries = file.filter { !["command", "total", "summary"].contains(event($0)) }
        #expect(entries == beforeSave, "saved:\n\(entries.joined(separator: "\n"))\nprinted:\n\(beforeSave.joined(separator: "\n"))")
        // Every event about a socket names its protocol: a script tells UDP from TCP and UNIX.
        #expect(entries.contains { event($0) == "connected" && $0.contains(#""proto":"udp""#) }, "\(entries)")
        #expect(entries.contains { event($0) == "sent" && $0.contains(#""proto":"unix""#) }, "\(entries)")
        for line in entries where line.contains(#""id":"#) { #expect(line.contains(#""proto":"#), "\(line)") }
        #expect(entries.contains { event($0) == "error" && $0.contains("unknown command 'frobnicate'") })
        #expect(file.contains { event($0) == "command" && $0.contains(#""line":"connect unix:"#) })
    }

    @Test func errorsNameTheErrnoAndDoNotStopTheScript() async throws {
        let busy = try start(["-c", "listen 0"])
        defer { busy.kill(SIGKILL) }
        #expect(await busy.waitForOutput(containing: "listening"))
        let port = try #require(listeningPort(in: busy.output))
        let closed = try ReservedPort()  // bound, not listening: refused for the whole test
        let run = try start(["--json", "--keep-going",
                             "-c", "connect 127.0.0.1:\(closed.port)",
                             "-c", "listen \(port)",
                             "-c", "connect no-such-host.invalid:80",
                             "-c", "listen 70000",
                             "-c", "frobnicate",
                             "-c", "listen 0",
                             "-c", "quit"])
        #expect(await run.wait() == 0)
        let output = run.output
        #expect(output.contains(#""errno":"ECONNREFUSED""#))
        #expect(output.contains(#""errno":"EADDRINUSE""#))
        #expect(output.contains(#""call":"getaddrinfo""#))
        #expect(output.contains("port 70000 is out of range"))
        #expect(output.contains("unknown command 'frobnicate'"))
        #expect(output.contains(#""event":"listening""#), "the engine keeps working after every error")
    }

    /// Like nc, a failed scripted command (a refused connect, an unknown command) ends the
    /// session with status 1, and no later line runs; `--keep-going` is tested above.
    @Test func aFailedScriptedCommandEndsTheSessionWithStatus1() async throws {
        let closed = try ReservedPort()  // bound, not listening: refused for the whole test
        let refused = try start(["-c", "connect 127.0.0.1:\(closed.port)", "-c", "listen 0"])
        #expect(await refused.wait() == 1)
        #expect(refused.output.contains("ECONNREFUSED"))
        #expect(refused.output.contains("a scripted command failed: leaving with status 1"))
        #expect(!refused.output.contains("L1 listening"), "no line after the failure runs")

        let unknown = try start(["-c", "frobnicate", "-c", "listen 0"])
        #expect(await unknown.wait() == 1)
        #expect(unknown.output.contains("unknown command 'frobnicate'"))
        #expect(!unknown.output.contains("L1 listening"))

        let fine = try start(["-c", "explain 111", "-c", "quit"])
        #expect(await fine.wait() == 0)
    }

    /// The issue's example, `printf 'connect PORT\nsend "hello\n"\n' | sockscope --headless
    /// -c 'listen PORT --echo'`, at both timings: the lines at once, and the send only after
    /// the listener has accepted (which used to send from the accepted side, so nothing was
    /// echoed). Either way the client the script made sends and gets the echo.
    @Test(arguments: [false, true]) func aSendWithoutIdGoesFromTheSocketTheScriptMade(pausing: Bool) async throws {
        let fifo = TemporaryPath.make(prefix: "stdin")
        try #require(mkfifo(fifo, 0o600) == 0)
        let session = try SpawnedProcess("/bin/sh", ["-c", "exec \(Binary.path) --headless -c 'listen 0 --echo' < \(fifo)"])
        defer { session.kill(SIGKILL) }
        let input = open(fifo, O_WRONLY)  // returns once the shell has opened it for reading
        try #require(input >= 0)
        defer { close(input) }
        func feed(_ line: String) { _ = Array((line + "\n").utf8).withUnsafeBytes { write(input, $0.baseAddress, $0.count) } }
        #expect(await session.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: session.output))
        feed("connect \(port)")
        if pausing { #expect(await session.waitForOutput(containing: " accepted remote=")) }
        feed(#"send "hello\n""#)
        #expect(await session.waitForOutput(containing: " connected local="))
        let connected = try #require(session.output.range(of: #"C\d+ connected"#, options: .regularExpression))
        let client = session.output[connected].split(separator: " ")[0]
        #expect(await session.waitForOutput(containing: #"\#(client) received 6 B "hello\n""#))
        #expect(session.output.contains(#"\#(client) sent 6 B "hello\n""#), "the client sent it")
    }

    @Test func versionIsTheOneDefinedInTheApp() async throws {
        let (status, output) = try await run(Binary.path, ["--version"])
        #expect(status == 0)
        #expect(output == SockscopeVersion.current + "\n")
    }

    /// `save ~/x.txt` writes into the home directory (no shell expands `~` at the prompt),
    /// and a save that fails is explained in words about files.
    @Test func saveExpandsHomeAndExplainsFileErrors() async throws {
        let home = TemporaryPath.make(prefix: "home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let session = try SpawnedProcess("/usr/bin/env", ["HOME=\(home)", Binary.path, "--headless",
                                                          "-c", "save ~/x.txt", "-c", "save ~/no-such-folder/y.txt"])
        #expect(await session.wait() == 1, "a failed save is a failed command")
        #expect(FileManager.default.fileExists(atPath: home + "/x.txt"))
        let output = session.output
        #expect(output.contains("saved the log to ~/x.txt"))
        #expect(output.contains("save ~/no-such-folder/y.txt failed: ENOENT (no such file or directory: the folder it would go in does not exist)"))
        #expect(!output.contains("UNIX"))
    }

    @Test func commandsArriveOnStdin() async throws {
        let server = try start(["-c", "listen 0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening"))
        let port = try #require(listeningPort(in: server.output))
        let script = try TemporaryPath.file(prefix: "script", contents: "connect \(port)\nsend ping\n")
        let client = try SpawnedProcess("/bin/sh", ["-c", "exec \(Binary.path) --headless < \(script)"])
        defer { client.kill(SIGKILL) }
        // End of stdin does not end the session while the connection is open; the echo still arrives.
        #expect(await client.waitForOutput(containing: #"received 4 B "ping""#))
        client.kill(SIGTERM)
        #expect(await client.wait() == 0)
    }

    /// Like `printf REQUEST | nc HOST PORT`: once stdin has ended and the server has
    /// answered and closed, the session ends by itself, with everything printed.
    @Test(.requires("python3")) func aPipedExchangeEndsWhenThePeerIsDone() async throws {
        let server = try PythonPeer.run("""
            import socket
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            print(l.getsockname()[1], flush=True)
            c, _ = l.accept(); request = b""
            while not request.endswith(b"\\r\\n\\r\\n"):
                request += c.recv(100)
            c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\nhello"); c.close()
            """)
        defer { server.kill(SIGKILL) }
        #expect(await waitUntil { Int(server.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let port = try #require(Int(server.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let script = try TemporaryPath.file(prefix: "request", contents: #"send "GET / HTTP/1.0\r\n\r\n""# + "\n")
        let client = try SpawnedProcess("/bin/sh", ["-c", "exec \(Binary.path) --headless -c 'connect \(port)' < \(script)"])
        defer { client.kill(SIGKILL) }
        #expect(await client.wait() == 0, "the session ends by itself once the exchange is over")
        let output = client.output
        #expect(output.contains(#"sent 18 B "GET / HTTP/1.0\r\n\r\n""#))
        let received = try #require(output.range(of: #"received 24 B "HTTP/1.0 200 OK\r\n\r\nhello""#))
        let leaving = try #require(output.range(of: "info input ended and no socket can bring more: leaving"))
        let closed = try #require(output.range(of: "C1 closed"))
        #expect(received.lowerBound < leaving.lowerBound && leaving.lowerBound < closed.lowerBound)
    }

    /// `-c 'connect' -c 'sendfile F' -c close` delivers the whole file, as `nc HOST PORT < F`
    /// does: the script waits for the transfer and the close is graceful (it sent 0 of
    /// 5,000,000 bytes, logging "the socket is already closed").
    @Test(.requires("python3")) func sendfileThenCloseDeliversEveryByte() async throws {
        let file = TemporaryPath.make(prefix: "five-million", suffix: ".bin")
        let random = try SpawnedProcess("head", ["-c", "5000000", "/dev/urandom"], outputPath: file)
        #expect(await random.wait() == 0)
        let digest = try await SHA256Sum.of(path: file)
        let sink = try PythonPeer.run("""
            import hashlib, socket
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            print(l.getsockname()[1], flush=True)
            c, _ = l.accept(); digest, total = hashlib.sha256(), 0
            while True:
                chunk = c.recv(1 << 20)
                if not chunk: break
                digest.update(chunk); total += len(chunk)
            print("GOT", total, digest.hexdigest(), flush=True)
            """)
        defer { sink.kill(SIGKILL) }
        #expect(await waitUntil { Int(sink.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let port = try #require(Int(sink.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let client = try start(["--json", "-c", "connect 127.0.0.1:\(port)", "-c", "sendfile \(file)", "-c", "close"])
        defer { client.kill(SIGKILL) }
        #expect(await client.wait(timeout: .seconds(30)) == 0, "the session ends once the file is out and C1 closed")
        #expect(await sink.waitForOutput(containing: "GOT 5000000 \(digest)"), "sink: \(sink.output)")
        let events = try client.output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        #expect(!client.output.contains("already closed"), "\(client.output)")
        let closed = try #require(events.firstIndex { $0["event"] as? String == "closed" })
        #expect(events[closed]["reason"] as? String == "closed by us")
        // Every byte is counted, and reported before the close.
        let sent = events.enumerated().filter { $0.element["event"] as? String == "sent" }
        #expect(sent.map { $0.element["bytes"] as? Int ?? 0 }.reduce(0, +) == 5_000_000)
        #expect(sent.allSatisfy { $0.offset < closed })
    }

    @Test(.requires("python3")) func hostileBytesArePrintedEscaped() async throws {
        let server = try start(["-c", "listen 0"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening"))
        let port = try #require(listeningPort(in: server.output))
        let peer = try PythonPeer.run("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"\\x1b[2J\\x1b]0;pwned\\x07\\x9b\\xff")
            s.close()
            """, ["\(port)"])
        _ = await peer.wait()
        #expect(await server.waitForOutput(containing: "closed"))
        let output = server.output
        #expect(output.contains(#"\x1b[2J\x1b]0;pwned\x07\x9b\xff"#))
        #expect(!output.utf8.contains(0x1B), "no raw ESC reaches stdout")
        #expect(!output.utf8.contains(0x07))
    }

    @Test(.requires("python3")) func greetingThenCloseFromARealServer() async throws {
        let greeter = try PythonPeer.run("""
            import socket
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            print(l.getsockname()[1], flush=True)
            c, _ = l.accept(); c.sendall(b"220 welcome\\r\\n"); c.close()
            """)
        defer { greeter.kill(SIGKILL) }
        #expect(await waitUntil { Int(greeter.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
        let port = try #require(Int(greeter.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let client = try start(["-c", "connect \(port)"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: "closed"))
        let output = client.output
        let received = try #require(output.range(of: #"received 13 B "220 welcome\r\n""#))
        let closed = try #require(output.range(of: "closed"))
        #expect(received.lowerBound < closed.lowerBound)
    }

    /// A steady trickle (a 10-byte write every 5 ms for ~1 s) is printed with pauses that
    /// grow to --coalesce-ms: few lines, exact totals. Pauses fixed at 10 ms would print
    /// one line per ~2 writes, about a hundred.
    @Test(.requires("python3")) func aSteadyFlowIsPrintedInFewLinesWithExactCounts() async throws {
        let server = try start(["-c", "listen 0 --discard"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: server.output))
        let writes = 200
        let trickle = try PythonPeer.run("""
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(int(sys.argv[2])):
                s.sendall(b"0123456789"); time.sleep(0.005)
            time.sleep(0.5)
            s.close()
            """, ["\(port)", "\(writes)"])
        defer { trickle.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "C1 closed", timeout: .seconds(30)))
        let lines = server.output.split(separator: "\n").filter { $0.contains(" C1 received ") }
        let counts = lines.compactMap { Int($0.split(separator: " ")[3]) }
        #expect(counts.count == lines.count && counts.reduce(0, +) == writes * 10, "every byte counted once")
        // Bounded by time, not by a count that assumes an unloaded machine: a stall may
        // restart the pacing (more lines), but the pauses between lines grow to 100 ms,
        // so most gaps are long; pauses fixed at 10 ms would make most gaps ~10 ms.
        let times = lines.compactMap { Self.milliseconds(ofTimestamp: $0) }
        #expect(times.count == lines.count && lines.count >= 2)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
        let elapsed = (times.last ?? 0) - (times.first ?? 0)
        #expect(lines.count <= 1 + elapsed / DataPacing.firstPauseMilliseconds, "\(lines.count) lines in \(elapsed) ms")
        #expect(gaps.isEmpty || gaps[gaps.count / 2] >= 50, "median gap \(gaps.isEmpty ? 0 : gaps[gaps.count / 2]) ms; gaps \(gaps)")
    }

    /// Milliseconds since midnight of a headless line's timestamp (`2026-01-01T12:34:56.789Z ...`).
    static func milliseconds(ofTimestamp line: Substring) -> Int? {
        guard let match = line.firstMatch(of: /T(\d\d):(\d\d):(\d\d)\.(\d\d\d)Z\s/),
              let hours = Int(match.1), let minutes = Int(match.2), let seconds = Int(match.3), let millis = Int(match.4)
        else { return nil }
        return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis
    }
}
