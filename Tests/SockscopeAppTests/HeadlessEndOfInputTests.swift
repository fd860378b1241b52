import Foundation
import Testing
import TestSupport

/// What a headless session does once its input has ended (stdin is /dev/null here): it
/// stays while something can still happen without a command, and leaves by itself as soon
/// as nothing can.
@Suite(.timeLimit(.minutes(1))) struct HeadlessEndOfInputTests {
    func start(_ commands: [String]) throws -> SpawnedProcess {
        try SpawnedProcess(Binary.path, ["--headless"] + commands.flatMap { ["-c", $0] })
    }

    static let leaving = "input ended and no socket can bring more: leaving"

    /// The system view scans once a second: that is news a command did not ask for.
    @Test func theSystemViewKeepsTheSessionAndTurningItOffEndsIt() async throws {
        let watching = try start(["sys on"])
        defer { watching.kill(SIGKILL) }
        // Two scans printed (a second apart at least), and still running.
        func scans() -> Int { watching.output.split(separator: "\n").filter { $0.contains(" system ") }.count }
        #expect(await waitUntil(timeout: .seconds(20)) { scans() >= 2 || watching.exitCode != nil }, "\(watching.output)")
        #expect(watching.exitCode == nil, "the session stays while the system view is on: \(watching.output)")
        #expect(!watching.output.contains(Self.leaving))
        watching.kill(SIGTERM)
        #expect(await watching.wait() == 0)

        let done = try start(["sys on", "sys off"])
        defer { done.kill(SIGKILL) }
        #expect(await done.wait() == 0, "\(done.output)")
        #expect(done.output.contains(Self.leaving))
    }

    /// A file still streaming keeps the session until the last byte has left; the peer's
    /// close then ends it.
    @Test(.requires("python3")) func aStreamingSendfileFinishesBeforeTheSessionEnds() async throws {
        let size = 8 << 20
        let file = TemporaryPath.make(prefix: "stream", suffix: ".bin")
        #expect(FileManager.default.createFile(atPath: file, contents: Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })))
        // A slow reader (64 KiB per read, a pause each), so the file is still going when stdin ends.
        let sink = try PythonPeer.run("""
            import socket, sys, time
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            print(l.getsockname()[1], flush=True)
            c, _ = l.accept(); total = 0; want = int(sys.argv[1])
            while total < want:
                chunk = c.recv(65536)
                if not chunk: break
                total += len(chunk); time.sleep(0.002)
            print("GOT", total, flush=True)
            c.close()
            """, ["\(size)"])
        defer { sink.kill(SIGKILL) }
        #expect(await waitUntil { Int(sink.output.split(separator: "\n").first ?? "") != nil })
        let port = try #require(Int(sink.output.split(separator: "\n").first ?? ""))
        let client = try start(["connect \(port)", "sendfile C1 \(file)"])
        defer { client.kill(SIGKILL) }
        #expect(await client.wait(timeout: .seconds(40)) == 0, "\(client.output)")
        #expect(sink.output.contains("GOT \(size)\n"), "every byte left before the session ended: \(sink.output)")
        let sent = client.output.split(separator: "\n").filter { $0.contains(" C1 sent ") }
            .compactMap { $0.firstMatch(of: /sent (\d+) B/).flatMap { Int($0.1) } }.reduce(0, +)
        #expect(sent == size)
        let leaving = try #require(client.output.range(of: Self.leaving))
        let peerClosed = try #require(client.output.range(of: "C1 peer-closed"), "\(client.output)")
        #expect(peerClosed.lowerBound < leaving.lowerBound)
    }

    /// SIGHUP (the terminal or the ssh session went away) ends a serving session cleanly.
    @Test func sigHupEndsAServingSession() async throws {
        let server = try start(["listen 0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        server.kill(SIGHUP)
        #expect(await server.wait() == 0, "\(server.output)")
        #expect(server.output.contains("L1 closed"), "the listener is closed on the way out: \(server.output)")
    }

    /// A step-mode socket that is never connected cannot bring anything: only a command
    /// (connect, listen, recv) could, and none can come.
    @Test(arguments: [["socket tcp"], ["socket tcp", "bind S1 127.0.0.1:0"], ["socket udp", "bind S1 127.0.0.1:0"],
                      ["socket tcp", "connect S1 127.0.0.1:1"]])
    func aStepSocketNeverConnectedDoesNotHoldTheSession(_ commands: [String]) async throws {
        let refused = try ReservedPort()
        let run = try start(commands.map { $0.replacingOccurrences(of: "127.0.0.1:1", with: "127.0.0.1:\(refused.port)") })
        defer { run.kill(SIGKILL) }
        #expect(await run.wait() == 0, "the session should end by itself: \(run.output)")
        #expect(run.output.contains(Self.leaving), "\(run.output)")
    }
}
