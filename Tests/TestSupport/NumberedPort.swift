/// Ports for real servers that must be told their port by number (redis-server and
/// memcached cannot bind port 0 and say which port they got).
///
/// Numbers come from 10000-20999: below the shared benchmark harness (21000-32000) and
/// the kernel's ephemeral range (32768 and up), so no port-0 bind of a parallel test lands
/// there. Nothing is probed and released (a probe's port could be taken before the
/// server binds it): the server itself binds, and a start that fails (the port was taken)
/// is retried with another number. `start` judges a start by the server's own words
/// (its "ready" line), so a stranger already on the port is never taken for ours.
public enum NumberedPort {
    public static func startServer<Server>(attempts: Int = 20,
                                           _ start: (Int) async throws -> Server?) async throws -> Server {
        for _ in 0..<attempts {
            if let server = try await start(Int.random(in: 10_000..<21_000)) { return server }
        }
        throw NoServerStarted(attempts: attempts)
    }

    public struct NoServerStarted: Error, CustomStringConvertible {
        public let attempts: Int
        public var description: String { "no server started in \(attempts) tries on numbered ports" }
    }
}
