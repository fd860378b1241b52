import Foundation
import Testing
import TestSupport

/// The command-line flags, each checked by what it changes in the running program.
@Suite(.timeLimit(.minutes(1))) struct CommandLineFlagTests {
    func headless(_ flags: [String], _ commands: [String]) throws -> SpawnedProcess {
        try SpawnedProcess(Binary.path, ["--headless"] + flags + commands.flatMap { ["-c", $0] })
    }

    /// A listener on every interface needs `--public` (on the command or the command line).
    @Test func publicAllowsListenersOnEveryInterface() async throws {
        let refused = try headless([], ["listen 0.0.0.0:0", "quit"])
        #expect(await refused.wait() == 1, "a refused scripted command ends the session with status 1")
        #expect(refused.output.contains("error listen: tcp://0.0.0.0:0 binds every interface"), "\(refused.output)")
        #expect(!refused.output.contains("listening"))

        let allowed = try headless(["--public"], ["listen 0.0.0.0:0", "quit"])
        #expect(await allowed.wait() == 0)
        #expect(allowed.output.contains("L1 listening tcp 0.0.0.0:"), "\(allowed.output)")
        #expect(!allowed.output.contains("error"))
    }

    /// `--coalesce-ms 1000`: a steady 4 s flow prints at most one line a second once the
    /// pause has grown (10, 20, 40 ... 1000 ms), with the exact total; kernel samples riding
    /// on the traffic split it into a line every 100-300 ms before they stopped ending merges.
    @Test(.requires("python3")) func coalesceMsBoundsTheLinesOfASteadyFlow() async throws {
        let server = try headless(["--coalesce-ms", "1000"], ["listen 127.0.0.1:0 --discard"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "L1 listening"))
        let range = try #require(server.output.range(of: #"127\.0\.0\.1:\d+"#, options: .regularExpression))
        let port = try #require(server.output[range].split(separator: ":").last.flatMap { Int($0) })
        let peer = try PythonPeer.run("""
        import socket, sys, time
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        start = time.monotonic(); sent = 0
        while time.monotonic() - start < 4:
            s.sendall(b"x" * 100); sent += 100
            time.sleep(0.002)
        s.close()
        print("SENT %d %.3f" % (sent, time.monotonic() - start), flush=True)
        """, [String(port)])
        defer { peer.kill(SIGKILL) }
        #expect(await peer.waitForOutput(containing: "SENT", timeout: .seconds(30)))
        let words = peer.output.split(separator: " ")
        let sent = try #require(words.dropFirst().first.flatMap { Int($0) })
        let seconds = try #require(words.dropFirst(2).first.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        func receivedLines() -> [Int] {
            server.output.split(separator: "\n").filter { $0.contains(" C1 received ") }.compactMap { line in
                line.split(separator: " ").drop { $0 != "received" }.dropFirst().first.flatMap { Int($0) }
            }
        }
        #expect(await waitUntil { receivedLines().reduce(0, +) == sent }, "exact total: \(receivedLines().reduce(0, +)) of \(sent)")
        // Ramp (10+20+...+640 ms: 7 lines), then one per second, plus the partial ends.
        let bound = 7 + Int(seconds.rounded(.up)) + 2
        #expect(receivedLines().count <= bound, "\(receivedLines().count) lines for \(seconds) s: \(receivedLines())")
    }

    /// `--threads N` runs N engine event loops (NIO names them NIO-ELT-…).
    @Test(arguments: [1, 3])
    func threadsSetsTheEngineEventLoops(_ count: Int) async throws {
        let server = try headless(["--threads", "\(count)"], ["listen 0"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening"))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/task")) ?? []
        let loops = names.compactMap { try? String(contentsOfFile: "/proc/\(server.pid)/task/\($0)/comm", encoding: .utf8) }
            .filter { $0.hasPrefix("NIO-ELT-") }
        #expect(loops.count == count, "\(loops)")
    }

    @Test(arguments: [(["--threads", "0"], "--threads must be from 1 to 64"),
                      (["--threads", "65"], "--threads must be from 1 to 64"),
                      (["--coalesce-ms", "10001"], "--coalesce-ms must be from 0 to 10000"),
                      (["--theme", "purple"], "--theme must be dark, light or mono")])
    func outOfRangeFlagsAreUsageErrors(_ flags: [String], _ message: String) async throws {
        let run = try SpawnedProcess(Binary.path, flags + ["--headless", "-c", "quit"])
        #expect(await run.wait() == 64, "\(run.output)")
        #expect(run.output.contains(message), "\(run.output)")
    }
}
