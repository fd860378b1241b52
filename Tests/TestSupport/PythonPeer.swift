/// A Python 3 script run as a real socket peer (python3 must be on `PATH`).
public enum PythonPeer {
    /// Runs `script` with `arguments` (available as `sys.argv[1...]`).
    public static func run(_ script: String, _ arguments: [String] = []) throws -> SpawnedProcess {
        let path = try TemporaryPath.file(prefix: "peer", suffix: ".py", contents: script)
        return try SpawnedProcess("python3", ["-u", path] + arguments)
    }
}
