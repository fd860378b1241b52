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
