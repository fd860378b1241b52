import Foundation
import Testing
import TestSupport

/// The real program in a real terminal (tmux): type commands, watch the panes fill.
@Suite(.timeLimit(.minutes(2)), .enabled(if: toolAvailable("tmux"), "tmux is not installed; skipping TUI end-to-end tests"))
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

        try await session.tmux("resize-window", "-t", "t", "-x", "60", "-y", "20")
        try await session.waitForScreen { screen in
            screen.split(separator: "\n").allSatisfy { $0.count <= 60 } && screen.contains("Listening")
        }
        try await session.tmux("resize-window", "-t", "t", "-x", "20", "-y", "6")
        try await session.waitForScreen { $0.split(separator: "\n").count <= 6 && $0.contains("Listen") }

        try await session.press("q")
        let status = await session.waitForExit()
        let finalScreen = (try? await session.screen()) ?? ""
        #expect(status == 0, "exit status \(String(describing: status)); screen:\n\(finalScreen)")
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
        kill(processID, SIGTERM)
        let status = await session.waitForExit()
        let finalScreen = (try? await session.screen()) ?? ""
        #expect(status == 0, "exit status \(String(describing: status)); screen:\n\(finalScreen)")
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
        let history = TemporaryPath.make(prefix: "history")
        let saved = TemporaryPath.make(prefix: "saved", suffix: ".jsonl")
        let session = try await TmuxSession(command: ["env", "SOCKSCOPE_HISTORY=\(history)", Binary.path,
                                                      "-c", "listen 0 --echo"], width: 120, height: 36)
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
        // Filter by direction, then clear it.
        try await session.press("/")
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
        #expect(text.contains(#""kind":"received""#) && text.contains(#""bytes":5"#))
        #expect(text.contains(#""kind":"total""#))
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
        let remembered = try String(contentsOfFile: history, encoding: .utf8)
        #expect(remembered.contains("connect \(port)"), "history is kept across runs")
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
