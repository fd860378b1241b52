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
}
