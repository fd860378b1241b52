import Foundation
import Testing
import TestSupport

/// A private tmux server running one program in a pane of a fixed size, for
/// end-to-end tests that type keys and read the screen as a person would.
final class TmuxSession: @unchecked Sendable {
    /// The server's socket, in the test process's own directory (tmux's default directory
    /// keeps a socket file per server long after the server is gone).
    let socketPath = TemporaryPath.make(prefix: "tmux", suffix: ".sock")
    let width: Int
    let height: Int
    let statusFile = TemporaryPath.make(prefix: "tmux-status", suffix: ".txt")

    /// The program's `XDG_STATE_HOME`, its own per session unless given: a test never
    /// reads or rewrites the user's real command history. Two sessions share one by passing it.
    let stateDirectory: String

    /// The history file sockscope keeps under `stateDirectory`.
    var historyPath: String { stateDirectory + "/sockscope/history" }

    init(command: [String], width: Int = 100, height: Int = 30, stateDirectory: String? = nil) async throws {
        self.width = width
        self.height = height
        let state = stateDirectory ?? TemporaryPath.make(prefix: "state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        self.stateDirectory = state
        // A shell waits for the program and writes its exit status to a file:
        // tmux does not always reap a pane's process, so its pane_dead_status is unreliable.
        // The shell ignores Ctrl-C (sockscope installs its own handler) so it lives to write the status.
        // SOCKSCOPE_HISTORY (a path that wins over XDG_STATE_HOME) and NO_COLOR (mono) are
        // unset: the environment running the tests may have them (`swift test` sets NO_COLOR),
        // and the tests check colours. A test that wants them sets them in `command` (`env`).
        let script = #"trap "" INT; unset SOCKSCOPE_HISTORY NO_COLOR; TERM=tmux-256color "$0" "$@"; echo "$?" > "$SOCKSCOPE_STATUS_FILE"; sleep 3600"#
        let (status, output) = try await run("tmux", ["-S", socketPath, "-f", "/dev/null", "new-session", "-d",
                                                       "-x", "\(width)", "-y", "\(height)", "-s", "t",
                                                       "-e", "SOCKSCOPE_STATUS_FILE=\(statusFile)", "-e", "XDG_STATE_HOME=\(state)",
                                                       "/bin/sh", "-c", script] + command)
        guard status == 0 else { throw TmuxError.failed("new-session: \(output)") }
    }

    deinit {
        if let process = try? SpawnedProcess("tmux", ["-S", socketPath, "kill-server"]) {
            _ = waitUntilBlocking(timeout: .seconds(5)) { process.exitCode != nil }
        }
    }

    /// The pid of the program under test (the child of the pane's shell).
    func programPID() async throws -> Int32? {
        let shell = try await tmux("display-message", "-p", "-t", "t", "#{pane_pid}").trimmingCharacters(in: .whitespacesAndNewlines)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").first.flatMap { Int32($0) }
    }

    enum TmuxError: Error { case failed(String) }

    @discardableResult
    func tmux(_ arguments: String...) async throws -> String {
        let (status, output) = try await run("tmux", ["-S", socketPath] + arguments)
        guard status == 0 else { throw TmuxError.failed("\(arguments.joined(separator: " ")): \(output)") }
        return output
    }

    /// Types literal text.
    func type(_ text: String) async throws { try await tmux("send-keys", "-t", "t", "-l", text) }

    /// Presses keys by tmux name: Enter, Tab, Escape, Up, C-c...
    func press(_ keys: String...) async throws {
        for key in keys { try await tmux("send-keys", "-t", "t", key) }
    }

    func screen() async throws -> String { try await tmux("capture-pane", "-p", "-t", "t") }

    /// The screen with its attributes as SGR escape sequences (`capture-pane -e`).
    func screenWithAttributes() async throws -> String { try await tmux("capture-pane", "-p", "-e", "-t", "t") }

    /// A pane variable such as `alternate_on` or `cursor_flag` (`display-message -p`).
    func paneVariable(_ name: String) async throws -> String {
        try await tmux("display-message", "-p", "-t", "t", "#{\(name)}").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the screen satisfies `condition`; returns the last screen seen.
    @discardableResult
    func waitForScreen(timeout: Duration = .seconds(10), _ condition: @escaping (String) -> Bool,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        var last = ""
        let ok = await waitUntil(timeout: timeout, poll: .milliseconds(20)) {
            // A failed capture (pane gone) just counts as "not yet".
            last = (try? blockingCapture()) ?? last
            return condition(last)
        }
        if !ok { Issue.record("screen never matched; last screen:\n\(last)", sourceLocation: sourceLocation) }
        return last
    }

    @discardableResult
    func waitFor(_ text: String, timeout: Duration = .seconds(10),
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try await waitForScreen(timeout: timeout, { $0.contains(text) }, sourceLocation: sourceLocation)
    }

    /// Waits for the program in the pane to end; its exit status, or nil at the deadline.
    func waitForExit(timeout: Duration = .seconds(10)) async -> Int? {
        var status: Int?
        _ = await waitUntil(timeout: timeout, poll: .milliseconds(20)) {
            let text = (try? String(contentsOfFile: self.statusFile, encoding: .utf8)) ?? ""
            status = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            return status != nil
        }
        return status
    }

    private func blockingCapture() throws -> String { try blocking(["capture-pane", "-p", "-t", "t"]) }

    /// `screenWithAttributes` for conditions polled with `waitUntil`.
    func blockingScreenWithAttributes() throws -> String { try blocking(["capture-pane", "-p", "-e", "-t", "t"]) }

    private func blocking(_ arguments: [String]) throws -> String {
        let process = try SpawnedProcess("tmux", ["-S", socketPath] + arguments)
        _ = waitUntilBlocking(timeout: .seconds(5)) { process.exitCode != nil }
        return process.output
    }

}
