import CSystemShim
import Foundation

/// A child process for tests: started with `posix_spawn` with an empty signal mask and
/// default signal handlers (Swift Testing's threads block signals, and children would
/// inherit that), stdin from /dev/null, stdout and stderr into a file (never a pipe: a
/// daemonising child such as tmux would keep a pipe open forever), in its own process group.
///
/// Thread-safe; `deinit` kills the process group if it is still running.
public final class SpawnedProcess: @unchecked Sendable {
    public enum SpawnError: Error, CustomStringConvertible {
        case failed(executable: String, errno: Int32)

        public var description: String {
            switch self {
            case .failed(let executable, let code):
                "could not start \(executable): \(String(cString: strerror(code)))"
            }
        }
    }

    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// Where stdout and stderr go.
    public let outputPath: String

    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    /// - Parameter outputPath: defaults to a fresh file in the temporary directory.
    public init(_ executable: String, _ arguments: [String] = [], outputPath: String? = nil) throws {
        self.executable = executable
        self.arguments = arguments
        let output = outputPath ?? TemporaryPath.make(prefix: "spawn", suffix: ".out")
        self.outputPath = output
        _ = FileManager.default.createFile(atPath: output, contents: nil)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pid = argv.withUnsafeBufferPointer { sockscope_spawn(executable, $0.baseAddress, output) }
        guard pid > 0 else { throw SpawnError.failed(executable: executable, errno: errno) }
        self.pid = pid
    }

    deinit {
        if exitStatus == nil {
            Glibc.kill(-pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Everything the process wrote so far (stdout and stderr interleaved).
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// The exit status if the process has ended (reaping it), else nil. 128+n for signal n.
    public var exitCode: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return exitStatus
    }

    /// Waits for the process to end; nil if it is still running at the deadline.
    @discardableResult
    public func wait(timeout: Duration = .seconds(10)) async -> Int32? {
        _ = await waitUntil(timeout: timeout) { self.exitCode != nil }
        return exitCode
    }

    /// Waits until the output contains `text`; false at the deadline.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
        await waitUntil(timeout: timeout) { self.output.contains(text) }
    }

    /// Sends `signal` to the whole process group (the child may have children of its own).
    public func kill(_ signal: Int32 = SIGTERM) {
        guard exitCode == nil else { return }
        Glibc.kill(-pid, signal)
    }

    /// Whether `name` is an executable somewhere on `PATH`.
    public static func isInstalled(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
    }
}
