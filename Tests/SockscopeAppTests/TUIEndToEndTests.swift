import Foundation
import Testing
import TestSupport

/// The real program in a real terminal (tmux): type commands, watch the panes fill.
@Suite(.timeLimit(.minutes(2)), .requires("tmux"))
struct TUIEndToEndTests {
    @Test func listenConnectSendResizeQuit() async throws {
        let session = try await TmuxSession(command: [Binary.path], width: 100, height: 30)
        try await session.waitFor("Press : and type listen 9000")
        try await session.press(":")
        try await session.type("listen 0 --echo")
        try await session.press("Enter")
        let screen = try await session.waitFor("listening on tcp 127.0.0.1:")
        let port = try #require(listeningPort(in: screen))
        try await session.press(":")
        try await session.type("connect \(port)")
        try await session.press("Enter")
        try await session.waitFor("Connections (2 open)")
        try await session.press(":")
        try await session.type(#"send "hello from tmux\n""#)
        try await session.press("Enter")
        let log = try await session.waitForScreen { $0.components(separatedBy: "hello from tmux\\n").count >= 4 }
        #expect(log.contains("← 16 B hello from tmux\\n"), "the echo comes back and is logged escaped")
        // Listener row and both connection rows.
        #expect(log.contains("L1") && log.contains("echo"))
        #expect(log.contains("C1") && log.contains("C2"))

        // tmux cuts a stale screen to the new size, so only a redraw closes a pane's frame
        // at the new right edge.
        try await session.tmux("resize-window", "-t", "t", "-x", "60", "-y", "20")
        try await session.waitForScreen { Self.framesCloseAt(width: 60, $0) && $0.contains("Listening") }
        try await session.tmux("resize-window", "-t", "t", "-x", "20", "-y", "6")
        try await session.waitForScreen { Self.framesCloseAt(width: 20, $0) && $0.split(separator: "\n").count <= 6 }

        try await session.press("q")
        let status = await session.waitForExit()
        let finalScreen = (try? await session.screen()) ?? ""
        #expect(status == 0, "exit status \(String(describing: status)); screen:\n\(finalScreen)")
    }

    /// Whether a pane's top border ends exactly at column `width` (`┌ Title ───┐`).
    static func framesCloseAt(width: Int, _ screen: String) -> Bool {
        screen.split(separator: "\n").contains { $0.hasPrefix("┌") && $0.hasSuffix("┐") && $0.count == width }
    }

    @Test func badCommandShowsInlineErrorAndKeepsTheText() async throws {
        let session = try await TmuxSession(command: [Binary.path], width: 100, height: 30)
        try await session.waitFor("Press :")
        try await session.press(":")
        try await session.type("listen 99999")
        try await session.press("Enter")
        let screen = try await session.waitFor("out of range")
        #expect(screen.contains(":listen 99999"))
        try await session.press("Escape", "?")
        try await session.waitFor("Esc closes")
        // The overlay fits the screen; a page down brings the commands into it.
        try await session.press("NPage")
        try await session.waitFor("Commands (type : first)")
        try await session.press("Escape", "C-c")
        let status = await session.waitForExit()
        let finalScreen = (try? await session.screen()) ?? ""
        #expect(status == 0, "exit status \(String(describing: status)); screen:\n\(finalScreen)")
    }

    @Test func sigtermRestoresTheTerminal() async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0"], width: 80, height: 24)
        try await session.waitFor("listening on tcp")
        let processID = try #require(try await session.programPID())
        #expect(try await session.paneVariable("alternate_on") == "1", "the TUI runs on the alternate screen")
        #expect(try await session.paneVariable("cursor_flag") == "0", "with the cursor hidden")
        kill(processID, SIGTERM)
        let status = await session.waitForExit()
        let finalScreen = (try? await session.screen()) ?? ""
        #expect(status == 0, "exit status \(String(describing: status)); screen:\n\(finalScreen)")
        // The pane's shell lives on (it sleeps): the terminal is as sockscope found it.
        #expect(try await session.paneVariable("alternate_on") == "0", "back on the normal screen")
        #expect(try await session.paneVariable("cursor_flag") == "1", "the cursor is visible again")
    }

    @Test(arguments: [SIGINT, SIGHUP])
    func signalsEndCleanly(_ signal: Int32) async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0"], width: 80, height: 24)
        try await session.waitFor("listening on tcp")
        let processID = try #require(try await session.programPID())
        kill(processID, signal)
        #expect(await session.waitForExit() == 0)
    }

    @Test func resizeStormsAndExtremeSizesNeverCrash() async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0 --echo", "-c", "connect 127.0.0.1:1"],
                                            width: 100, height: 30)
        try await session.waitFor("ECONNREFUSED")
        for (width, height) in [(300, 100), (20, 6), (1, 1), (300, 100), (33, 7), (120, 40), (2, 50), (200, 3), (80, 24)] {
            try await session.tmux("resize-window", "-t", "t", "-x", "\(width)", "-y", "\(height)")
        }
        try await session.tmux("resize-window", "-t", "t", "-x", "300", "-y", "100")
        let big = try await session.waitForScreen { $0.split(separator: "\n").count >= 99 && $0.contains("Detail") }
        #expect(big.contains("Listening (1)"))
        try await session.tmux("resize-window", "-t", "t", "-x", "20", "-y", "6")
        try await session.waitForScreen { $0.split(separator: "\n", omittingEmptySubsequences: false).count <= 7 }
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
    }

    @Test func theTerminalGoingAwayEndsSockscope() async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0"], width: 80, height: 24)
        try await session.waitFor("listening on tcp")
        let processID = try #require(try await session.programPID())
        // Killing the pane closes the pty: the kernel sends SIGHUP and reads fail.
        try await session.tmux("kill-pane", "-t", "t")
        let gone = await waitUntil(timeout: .seconds(10)) { kill(processID, 0) != 0 }
        #expect(gone, "sockscope ended when its terminal went away")
    }

    @Test func promptCompletionHistoryHexFilterAndSave() async throws {
        let saved = TemporaryPath.make(prefix: "saved", suffix: ".jsonl")
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0 --echo"], width: 120, height: 36)
        let screen = try await session.waitFor("listening on tcp 127.0.0.1:")
        let port = try #require(listeningPort(in: screen))
        // Completion: "conn" + Tab becomes "connect ".
        try await session.press(":")
        try await session.type("conn")
        try await session.press("Tab")
        try await session.waitFor(":connect ")
        try await session.type("\(port)")
        try await session.press("Enter")
        try await session.waitFor("Connections (2 open)")
        // The send line sends raw text plus the line ending.
        try await session.press("Tab")
        try await session.press("s")
        try await session.type("ping")
        try await session.press("Enter", "Escape")
        try await session.waitForScreen { $0.components(separatedBy: "ping\\n").count >= 5 }
        // Hex view.
        try await session.press("h")
        try await session.waitFor("70 69 6e 67 0a")
        try await session.press("h")
        // Filter the log by direction, then clear it (from the Log: `/` in Connections filters its rows).
        try await session.press("Tab", "Tab", "/")
        try await session.type("in")
        try await session.press("Enter")
        let filtered = try await session.waitFor("filter: in")
        #expect(!filtered.contains("→ 5 B"))
        try await session.press("Escape")
        // History: the previous command comes back with ↑.
        try await session.press(":", "Up")
        try await session.waitFor(":connect \(port)")
        try await session.press("C-u")
        try await session.type("save \(saved)")
        try await session.press("Enter")
        try await session.waitFor("saved the log to")
        let text = try String(contentsOfFile: saved, encoding: .utf8)
        #expect(text.contains(#""event":"received""#) && text.contains(#""bytes":5"#))
        #expect(text.contains(#""event":"total""#))
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
        let remembered = try String(contentsOfFile: session.historyPath, encoding: .utf8)
        #expect(remembered.contains("connect \(port)"), "history is kept across runs")
    }

    /// A second run finds the first one's commands with ↑ (same state directory, new process).
    @Test func aSecondSessionRecallsTheFirstOnesCommand() async throws {
        let first = try await TmuxSession(command: [Binary.path], width: 100, height: 30)
        try await first.waitFor("Press :")
        try await first.press(":")
        try await first.type("explain ECONNRESET")
        try await first.press("Enter")
        try await first.waitFor("ECONNRESET")
        try await first.press("Escape", "q")
        #expect(await first.waitForExit() == 0)

        let second = try await TmuxSession(command: [Binary.path], width: 100, height: 30,
                                           stateDirectory: first.stateDirectory)
        try await second.waitFor("Press :")
        try await second.press(":", "Up")
        try await second.waitFor(":explain ECONNRESET")
        try await second.press("Escape", "Escape", "q")
        #expect(await second.waitForExit() == 0)
    }

    /// The history file keeps the newest `ViewState.historyLimit` (500) commands: a full
    /// file loses its oldest line when a run adds one.
    @Test func theHistoryKeepsTheNewestFiveHundredCommands() async throws {
        let state = TemporaryPath.make(prefix: "state")
        try FileManager.default.createDirectory(atPath: state + "/sockscope", withIntermediateDirectories: true)
        let old = (1...600).map { "explain E\($0)" }
        try (old.joined(separator: "\n") + "\n").write(toFile: state + "/sockscope/history", atomically: false, encoding: .utf8)
        let session = try await TmuxSession(command: [Binary.path], width: 100, height: 30, stateDirectory: state)
        try await session.waitFor("Press :")
        // The newest loaded command is the last of the file.
        try await session.press(":", "Up")
        try await session.waitFor(":explain E600")
        try await session.press("C-u")
        try await session.type("explain EPIPE")
        try await session.press("Enter")
        try await session.waitFor("EPIPE")
        try await session.press("Escape", "q")
        #expect(await session.waitForExit() == 0)
        let kept = try String(contentsOfFile: session.historyPath, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(kept == Array(old.suffix(499)) + ["explain EPIPE"], "first kept: \(kept.first ?? "none"), count \(kept.count)")
    }

    /// `--no-history` neither recalls the history file nor writes what was typed into it.
    @Test func noHistoryLeavesTheHistoryFileAlone() async throws {
        let history = TemporaryPath.make(prefix: "history")
        try "explain EPIPE\n".write(toFile: history, atomically: false, encoding: .utf8)
        let session = try await TmuxSession(command: ["env", "SOCKSCOPE_HISTORY=\(history)", Binary.path, "--no-history"])
        try await session.waitFor("Press : and type listen 9000")
        try await session.press(":")
        try await session.type("explain 111")
        try await session.press("Enter")
        try await session.waitFor("ECONNREFUSED (errno 111)")
        try await session.press(":", "Up")
        try await session.waitFor(":explain 111")
        try await session.press("Up")
        let screen = try await session.screen()
        #expect(!screen.contains("explain EPIPE"), "the file's history was not read")
        try await session.press("Escape", "q")
        #expect(await session.waitForExit() == 0)
        #expect(try String(contentsOfFile: history, encoding: .utf8) == "explain EPIPE\n", "nor written")
    }
}
