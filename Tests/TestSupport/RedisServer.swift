import Glibc

/// A real redis-server for tests (needs `redis-server` on `PATH`; tests say
/// `.requires("redis-server")`): no persistence, on a numbered port (`NumberedPort`),
/// killed with the returned process.
public enum RedisServer {
    public static func start() async throws -> (process: SpawnedProcess, port: Int) {
        var lastOutput = ""
        do {
            return try await NumberedPort.startServer { port in
                let process = try SpawnedProcess("redis-server", ["--port", "\(port)", "--bind", "127.0.0.1",
                                                                  "--save", "", "--appendonly", "no"])
                if await process.waitForOutput(containing: "Ready to accept connections") { return (process, port) }
                process.kill(SIGKILL)
                lastOutput = process.output
                return nil
            }
        } catch is NumberedPort.NoServerStarted {
            throw Failure(output: lastOutput)
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "redis-server did not start: \(output)" }
    }
}
