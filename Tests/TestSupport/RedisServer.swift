import Glibc

/// A real redis-server for tests (needs `redis-server` on `PATH`; tests say
/// `.requires("redis-server")`): no persistence, on a free port outside the ephemeral
/// range, killed with the returned process.
public enum RedisServer {
    public static func start() async throws -> (process: SpawnedProcess, port: Int) {
        let port = try FreePort.outsideEphemeralRange()
        let process = try SpawnedProcess("redis-server", ["--port", "\(port)", "--bind", "127.0.0.1",
                                                          "--save", "", "--appendonly", "no"])
        guard await process.waitForOutput(containing: "Ready to accept connections") else {
            process.kill(SIGKILL)
            throw Failure(output: process.output)
        }
        return (process, port)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "redis-server did not start: \(output)" }
    }
}
