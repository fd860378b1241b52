import Glibc

/// Python's `http.server` serving a directory on 127.0.0.1 (port 0: the kernel picks; tests
/// say `.requires("python3")`), killed with the returned process.
public enum PythonHTTPServer {
    public static func start(serving directory: String) async throws -> (process: SpawnedProcess, port: Int) {
        let process = try SpawnedProcess("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                                     "--directory", directory])
        guard await process.waitForOutput(containing: "Serving HTTP"),
              let port = process.output.firstMatch(of: /port (\d+)/).flatMap({ Int($0.1) }) else {
            process.kill(SIGKILL)
            throw Failure(output: process.output)
        }
        return (process, port)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "python3 -m http.server did not start: \(output)" }
    }
}
