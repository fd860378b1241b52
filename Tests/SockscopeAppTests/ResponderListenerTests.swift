import Foundation
import Testing
import TestSupport

/// `--reply`, `--echo` and `--discard` listeners against real clients: a finished client is
/// closed on our side too, and running out of descriptors pauses accepting instead of
/// spinning, with one line that counts the failures.
@Suite(.timeLimit(.minutes(2))) struct ResponderListenerTests {
    static let httpReply = #"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"#

    func port(of process: SpawnedProcess) async throws -> Int {
        #expect(await process.waitForOutput(containing: "listening"), "\(process.output)")
        return try #require(listeningPort(in: process.output))
    }

    /// Our sockets in CLOSE-WAIT on `port` (the peer closed, we did not), as the kernel lists them.
    func closeWaitCount(port: Int) async throws -> Int {
        let (status, output) = try await run("ss", ["-Htan", "state", "close-wait", "( sport = :\(port) )"])
        #expect(status == 0, "ss: \(output)")
        return output.split(separator: "\n").count
    }

    /// 20 curl requests used to leave 20 sockets in CLOSE-WAIT: the reply listener answered and
    /// then held each connection open after curl had closed its side.
    @Test(.requires("curl")) func aReplyListenerClosesEachClientCurlHasFinishedWith() async throws {
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0 --reply \"\(Self.httpReply)\""])
        defer { server.kill(SIGKILL) }
        let port = try await port(of: server)
        for request in 1...20 {
            let (status, body) = try await run("curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(port)/"])
            #expect(status == 0 && body == "ok", "request \(request): \(body)")
        }
        // The close is shown, one per client.
        let closedAll = await waitUntil {
            server.output.components(separatedBy: "closed (peer closed)").count - 1 == 20
        }
        #expect(closedAll, "\(server.output)")
        #expect(try await closeWaitCount(port: port) == 0)
        server.kill(SIGTERM)
        #expect(await server.wait() == 0)
    }

    /// Echo and discard listeners close a finished client too (they already did; the one rule
    /// now covers all three responders).
    @Test(.requires("python3")) func echoAndDiscardListenersCloseAFinishedClient() async throws {
        for mode in ["--echo", "--discard"] {
            let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0 \(mode)"])
            defer { server.kill(SIGKILL) }
            let port = try await port(of: server)
            let client = try PythonPeer.run("""
                import socket, sys
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
                s.sendall(b"bye"); s.shutdown(socket.SHUT_WR)
                while s.recv(100): pass
                print("EOF", flush=True)
                """, ["\(port)"])
            #expect(await client.waitForOutput(containing: "EOF"), "\(mode): the client reads our FIN: \(client.output)")
            #expect(await server.waitForOutput(containing: "C1 closed (peer closed)"), "\(mode): \(server.output)")
            #expect(try await closeWaitCount(port: port) == 0)
        }
    }

    /// `prlimit --nofile=64` and a client opening connections as fast as it can for two
    /// seconds: accept fails with EMFILE. It used to be retried at once, ~3,000 lines a second;
    /// now accepting pauses, the first failure is logged, and one more line counts them all
    /// once accepting works again. The listener serves again once descriptors are free.
    @Test(.requires("python3", "prlimit", "curl")) func runningOutOfDescriptorsPausesAcceptingAndIsCountedOnce() async throws {
        let server = try SpawnedProcess("prlimit", ["--nofile=64", "--", Binary.path, "--headless", "--json",
                                                    "-c", "listen 0 --reply \"\(Self.httpReply)\""])
        defer { server.kill(SIGKILL) }
        let port = try await port(of: server)
        let hammer = try PythonPeer.run("""
            import socket, sys, time
            port, held = int(sys.argv[1]), []
            start = time.time()
            # Well past the listener's 64 descriptors (a loaded machine may take longer than 2 s)...
            while (time.time() - start < 2 or len(held) < 100) and time.time() - start < 20:
                try:
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=1))
                except OSError:
                    time.sleep(0.01)
                if len(held) >= 400:
                    time.sleep(0.01)
            # ...then held while the listener's paused accepts fail again (10, 20, 40 ... ms apart),
            # so an episode has more than its first failure and ends with the counted line.
            time.sleep(1.5)
            print("held", len(held), flush=True)
            for s in held: s.close()
            print("released", flush=True)
            """, ["\(port)"])
        defer { hammer.kill(SIGKILL) }
        #expect(await hammer.waitForOutput(containing: "released", timeout: .seconds(20)), "\(hammer.output)")
        #expect(await server.waitForOutput(containing: #""errno":"EMFILE""#), "\(server.output)")
        // Served again once the hammer's connections are gone.
        let served = await waitUntil(timeout: .seconds(15)) {
            let (status, body) = (try? runBlocking("curl", ["-sS", "--max-time", "2", "http://127.0.0.1:\(port)/"])) ?? (nil, "")
            return status == 0 && body == "ok"
        }
        #expect(served, "the listener serves again: \(server.output.suffix(2000))")
        #expect(await server.waitForOutput(containing: "accepting again", timeout: .seconds(15)), "\(server.output.suffix(2000))")
        let failures = server.output.split(separator: "\n").filter { $0.contains(#""errno":"EMFILE""#) }
        #expect(failures.count == 2, "the first failure and one line with the count: \(failures)")
        let counted = try #require(failures.last)
        // How many failed depends on how fast this machine's hammer is; counting two in one
        // line is AcceptFailureTests' (deterministic) job.
        let count = try #require(counted.firstMatch(of: /(\d+) accepts? failed with EMFILE in/)?.1).flatMap { Int($0) }
        #expect((count ?? 0) >= 1, "\(counted)")
        #expect(failures.first?.contains("accepting paused") == true)
        #expect(failures.first?.contains("ulimit -n") == true)
    }
}

/// `run`, for a polling condition (which cannot await).
private func runBlocking(_ executable: String, _ arguments: [String]) throws -> (Int32?, String) {
    let process = try SpawnedProcess(executable, arguments)
    _ = waitUntilBlocking(timeout: .seconds(5)) { process.exitCode != nil }
    if process.exitCode == nil { process.kill(SIGKILL) }
    return (process.exitCode, process.output)
}
