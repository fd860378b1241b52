import Foundation
import SockscopeApp
import SockscopeCore
import Testing
import TestSupport

/// `--script FILE`: conversations with real servers written as files of commands, with
/// `expect` lines, run by the built binary; the exit status says whether they held.
@Suite(.timeLimit(.minutes(1))) struct ScriptTests {
    /// Runs `lines` as a script file; returns the exit status, the output and the file's path.
    func runScript(_ lines: [String], _ extra: [String] = []) async throws -> (status: Int32?, output: String, path: String) {
        let path = try TemporaryPath.file(prefix: "script", suffix: ".txt", contents: lines.joined(separator: "\n") + "\n")
        let process = try SpawnedProcess(Binary.path, extra + ["--script", path])
        let status = await process.wait(timeout: .seconds(30))
        if status == nil { process.kill(SIGKILL) }
        return (status, process.output, path)
    }

    @Test(.requires("redis-server")) func aRedisConversationIsATest() async throws {
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let run = try await runScript([
            "# PING, SET and GET against a real redis-server",
            "connect 127.0.0.1:\(port)",
            "",
            #"send "PING\r\n""#,
            #"expect "+PONG""#,
            #"send "SET greeting hello\r\nGET greeting\r\n""#,
            // Both replies arrive, perhaps in one read: each expect consumes its own.
            #"expect /\+OK\r\n/"#,
            #"expect contains "$5\r\nhello\r\n""#,
            #"send "QUIT\r\n""#,
            // redis closes; our side stays open (half-closed) until we close it.
            "expect eof",
            "close",
            "expect closed",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(#"C1 info expect "+PONG" held ("+PONG") after"#), "\(run.output)")
        #expect(run.output.contains(#"C1 info expect contains "$5\r\nhello\r\n" held"#), "\(run.output)")
        #expect(run.output.contains("C1 info expect closed held"), "\(run.output)")
        #expect(run.output.contains("the script ran to its end: leaving"), "\(run.output)")
    }

    @Test(.requires("python3")) func anHTTPExchangeWithPythonsServer() async throws {
        let directory = TemporaryPath.make(prefix: "www")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "hello from disk\n".write(toFile: directory + "/hello.txt", atomically: true, encoding: .utf8)
        let (server, port) = try await PythonHTTPServer.start(serving: directory)
        defer { server.kill(SIGKILL) }
        let run = try await runScript([
            "connect \(port)",
            #"send "GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n""#,
            #"expect /HTTP\/1\.[01] 200 OK/ --timeout 5"#,
            #"expect prefix "\r\n""#,
            #"expect "hello from disk\n""#,
            "expect eof",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(#"C1 info expect /HTTP\/1\.[01] 200 OK/ held ("HTTP/1.0 200 OK")"#), "\(run.output)")
        #expect(run.output.contains("C1 info expect eof held"), "\(run.output)")
    }

    /// A failing expect ends the script with status 1, naming the line, what was expected
    /// and the last bytes received; no later line runs.
    @Test(.requires("redis-server")) func aFailedExpectNamesItsLineAndTheLastBytes() async throws {
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let run = try await runScript([
            "connect 127.0.0.1:\(port)",
            "# a comment and a blank line still count as lines",
            "",
            #"send "PING\r\n""#,
            #"expect "+PANG" --timeout 0.3"#,
            #"send "QUIT\r\n""#,
        ])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains(#"line 5 of \#(run.path): expect C1 "+PANG" failed: nothing matching came "#
            + #"within 0.3 s; last bytes received: "+PONG\r\n""#), "\(run.output)")
        #expect(run.output.contains("a scripted command failed: leaving with status 1"), "\(run.output)")
        #expect(!run.output.contains("QUIT"), "no line runs after the failure: \(run.output)")
    }

    /// The peer closing before the expected bytes came fails at once, not after the timeout.
    @Test(.requires("python3")) func anExpectFailsAsSoonAsTheSocketCloses() async throws {
        let peer = try PythonPeer.run("""
            import socket
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print("port", s.getsockname()[1], flush=True)
            c, _ = s.accept(); c.sendall(b"bye\\n"); c.close()
            """)
        defer { peer.kill(SIGKILL) }
        #expect(await peer.waitForOutput(containing: "port "))
        let port = try #require(Int(peer.output.split(separator: " ")[1].prefix { $0.isNumber }))
        let started = ContinuousClock.now
        let run = try await runScript(["connect \(port)", #"expect "welcome" --timeout 20"#])
        #expect(run.status == 1, "\(run.output)")
        #expect(ContinuousClock.now - started < .seconds(15), "it did not wait out its 20 s")
        #expect(run.output.contains(#"line 2 of \#(run.path): expect C1 "welcome" failed: "#), "\(run.output)")
        #expect(run.output.contains(#"last bytes received: "bye\n""#), "\(run.output)")
    }

    /// `expect L1 connected` waits for a client; `sleep` waits; -c lines come first and name themselves.
    @Test(.requires("python3")) func aListenerWaitsForItsClient() async throws {
        let script = try TemporaryPath.file(prefix: "script", suffix: ".txt", contents: """
            expect L1 connected --timeout 30
            expect "hello"
            send "hi there\\n"
            sleep 50
            expect eof
            """)
        let process = try SpawnedProcess(Binary.path, ["-c", "listen 0", "--script", script])
        defer { process.kill(SIGKILL) }
        // The whole line (its last field written): a port read from half a line would be another port.
        #expect(await process.waitForOutput(containing: "mode=interactive backlog=4096\n"))
        let port = try #require(listeningPort(in: process.output))
        let client = try PythonPeer.run("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
            print("CONNECTED", flush=True)
            s.sendall(b"hello"); s.shutdown(socket.SHUT_WR)
            print("GOT", repr(s.recv(100)), flush=True)
            """, ["\(port)"])
        defer { client.kill(SIGKILL) }
        // The client is a Python process: on a loaded machine (load 19 on 2 cores was seen) it can
        // take seconds to start, so the script gives it 30 s to arrive.
        #expect(await process.wait(timeout: .seconds(45)) == 0, "port \(port)\n\(process.output)\nclient: \(client.output)")
        #expect(client.output.contains(#"GOT b'hi there\n'"#), "\(client.output)")
        #expect(process.output.contains("L1 info expect connected held (C1)"), "\(process.output)")
        #expect(process.output.contains(#"C1 sent 9 B "hi there\n""#), "\(process.output)")
    }

    @Test func aScriptThatCannotBeReadSaysSo() async throws {
        let (status, output) = try await run(Binary.path, ["--script", "/nonexistent/script.txt"])
        #expect(status == 1)
        #expect(output.contains("cannot read the script /nonexistent/script.txt: ENOENT"), "\(output)")
    }
}

/// `listen --rules FILE` and `every`, with real clients.
@Suite(.timeLimit(.minutes(1))) struct RuleFileTests {
    /// A fake redis from a rules file answers the real redis-cli.
    @Test(.requires("redis-cli")) func aRulesFileMakesAFakeRedis() async throws {
        let rules = try TemporaryPath.file(prefix: "redis", suffix: ".rules", contents: """
            # RESP: redis-cli sends *1, $4, PING as three lines
            when "PING" reply "+PONG"
            when /^ECHO$/ reply "+ECHO?"
            """)
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0 --rules \(rules)"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "rule #2 on L1: when /^ECHO$/ reply"), "\(server.output)")
        let port = try #require(listeningPort(in: server.output))
        let (status, output) = try await run("redis-cli", ["-p", "\(port)", "PING"])
        #expect(status == 0 && output == "PONG\n", "\(output)")
        #expect(await server.waitForOutput(containing: "rule-fired #1"), "\(server.output)")
    }

    @Test(.requires("python3")) func everyRepeatsASendUntilItsCount() async throws {
        let peer = try PythonPeer.run("""
            import socket
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print("port", s.getsockname()[1], flush=True)
            c, _ = s.accept(); c.settimeout(5); data = b""
            while data.count(b"tick") < 3:
                data += c.recv(100)
            print("GOT", repr(data), flush=True)
            """)
        defer { peer.kill(SIGKILL) }
        #expect(await peer.waitForOutput(containing: "port "))
        let port = try #require(Int(peer.output.split(separator: " ")[1].prefix { $0.isNumber }))
        let started = ContinuousClock.now
        let run = try SpawnedProcess(Binary.path, ["--headless", "-c", "connect \(port)", "-c", #"every 100 --count 3 send "tick\n""#])
        defer { run.kill(SIGKILL) }
        #expect(await peer.waitForOutput(containing: "GOT "))
        #expect(peer.output.contains(#"GOT b'tick\ntick\ntick\n'"#), "\(peer.output)")
        #expect(ContinuousClock.now - started >= .milliseconds(200), "two intervals between three sends")
        #expect(await run.waitForOutput(containing: "finished E1 every 100 ms send"), "\(run.output)")
    }
}

/// `save PATH --script`: a session typed by hand becomes a script that checks it again.
@Suite(.timeLimit(.minutes(1))) struct SavedScriptTests {
    @Test(.requires("redis-server")) func aSavedSessionRunsAgainAsACheck() async throws {
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let saved = TemporaryPath.make(prefix: "session", suffix: ".check")
        // By hand (here: stdin lines with pauses, as someone typing): the replies come between commands.
        let session = try SpawnedProcess("sh", ["-c", """
            (p() { printf '%s\\n' "$1"; }; p 'connect 127.0.0.1:\(port)'; sleep 0.3; p 'send "PING\\r\\n"'; sleep 0.3; \
            p 'send "ECHO hello\\r\\n"'; sleep 0.3; p 'help'; p 'save \(saved) --script'; p quit) \
            | '\(Binary.path)' --headless
            """])
        #expect(await session.wait(timeout: .seconds(20)) == 0, "\(session.output)")
        let script = try String(contentsOfFile: saved, encoding: .utf8)
        // The commands as typed, in order; an expect for each reply's first line after the command
        // it followed (or later, if the reply was slow: an expect looks at everything not yet matched).
        let lines = script.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(lines.filter { !$0.hasPrefix("expect") }
            == ["connect 127.0.0.1:\(port)", #"send "PING\r\n""#, #"send "ECHO hello\r\n""#], "\(script)")
        // Each reply's first line, after the command that caused it: both when the replies came
        // apart; when a slow PING reply came together with the ECHO's, one read, its first line.
        let expects = lines.filter { $0.hasPrefix("expect") }
        #expect(expects == [#"expect C1 "+PONG\r\n""#, #"expect C1 "$5\r\n""#] || expects == [#"expect C1 "+PONG\r\n""#],
                "\(script)")
        #expect(lines.firstIndex(of: #"expect C1 "+PONG\r\n""#)! > lines.firstIndex(of: #"send "PING\r\n""#)!)
        #expect(!script.contains("help") && !script.contains("save"), "\(script)")
        // Run again, it holds; against a server that answers otherwise, it fails.
        let again = try SpawnedProcess(Binary.path, ["--script", saved])
        #expect(await again.wait(timeout: .seconds(20)) == 0, "\(again.output)")
        #expect(again.output.contains(#"C1 info expect "+PONG\r\n" held"#), "\(again.output)")
    }
}
