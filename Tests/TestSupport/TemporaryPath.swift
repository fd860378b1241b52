import Foundation

/// Unique paths for one test process (tests run in parallel in one process), all inside
/// one directory of its own that is removed when the process exits: peer scripts, child
/// output, 32 MiB test files and sockets must not pile up in the temporary directory run
/// after run. A process that dies without exiting (a crash, SIGKILL) leaves its directory
/// behind; the next test process sweeps it.
public enum TemporaryPath {
    /// A path that does not exist yet, e.g. `/tmp/sockscope-tests-4242/peer-1f3a9c.py`.
    public static func make(prefix: String, suffix: String = "") -> String {
        "\(directory)/\(prefix)-\(String(UInt64.random(in: 0 ... .max), radix: 36))\(suffix)"
    }

    /// Writes `contents` to a fresh file and returns its path.
    public static func file(prefix: String, suffix: String = "", contents: String) throws -> String {
        let path = make(prefix: prefix, suffix: suffix)
        // Not atomically: Foundation would leave a TemporaryDirectory.XXXXXX behind in /tmp.
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// This process's directory, created (and its removal at exit arranged) on first use.
    public static let directory: String = {
        sweepDirectoriesOfDeadProcesses()
        let path = directoryPath(of: getpid())
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TemporaryPath.directoryPath(of: getpid())) }
        return path
    }()

    private static let directoryPrefix = "sockscope-tests-"

    private static func directoryPath(of pid: pid_t) -> String {
        "\(NSTemporaryDirectory())\(directoryPrefix)\(pid)"
    }

    private static func sweepDirectoriesOfDeadProcesses() {
        let parent = NSTemporaryDirectory()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(directoryPrefix) {
            guard let pid = pid_t(name.dropFirst(directoryPrefix.count)), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: parent + name)
        }
    }
}
