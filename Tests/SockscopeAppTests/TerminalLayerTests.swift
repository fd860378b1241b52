import Foundation
import Testing
import TestSupport

/// The terminal layer in a real terminal (tmux): themes and NO_COLOR as SGR attributes on
/// the screen, mouse clicks and the scroll wheel decoded from the terminal's input.
@Suite(.timeLimit(.minutes(1)), .requires("tmux"))
struct TerminalLayerTests {
    /// The colours (foreground and background numbers 30–37, 40–47, 90–97, 100–107 and
    /// 38/48 specs) the screen's SGR sequences select; 39 and 49 (the defaults) are not colours.
    static func colours(in screen: String) -> Set<String> {
        var found: Set<String> = []
        for match in screen.matches(of: /\x1B\[([0-9;]*)m/) {
            let parameters = match.1.split(separator: ";").map { Int($0) ?? 0 }
            var index = 0
            while index < parameters.count {
                let parameter = parameters[index]
                if parameter == 38 || parameter == 48 {
                    found.insert(parameters[index...].prefix(3).map(String.init).joined(separator: ";"))
                    index += 3
                    continue
                }
                if (30...37).contains(parameter) || (40...47).contains(parameter) || (90...97).contains(parameter)
                    || (100...107).contains(parameter) {
                    found.insert(String(parameter))
                }
                index += 1
            }
        }
        return found
    }

    func coloursOnScreen(_ command: [String]) async throws -> Set<String> {
        let session = try await TmuxSession(command: command + ["-c", "listen 0"], width: 100, height: 30)
        try await session.waitFor("listening on tcp")
        let screen = try await session.screenWithAttributes()
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
        return Self.colours(in: screen)
    }

    /// dark: cyan accents (36, 46); light: blue (34, 44); mono and NO_COLOR: no colour at all.
    @Test func themesAndNoColor() async throws {
        let dark = try await coloursOnScreen([Binary.path])
        #expect(dark.contains("36") && dark.contains("46") && !dark.contains("34"), "\(dark)")
        let light = try await coloursOnScreen([Binary.path, "--theme", "light"])
        #expect(light.contains("34") && light.contains("44") && !light.contains("36"), "\(light)")
        let mono = try await coloursOnScreen([Binary.path, "--theme", "mono"])
        #expect(mono.isEmpty, "\(mono)")
        let noColor = try await coloursOnScreen(["env", "NO_COLOR=1", Binary.path])
        #expect(noColor.isEmpty, "\(noColor)")
    }

    /// An X10 mouse report as the terminal sends it: ESC [ M, then button, column and row
    /// (1-based), each plus 32. Buttons: 0 press, 64 wheel up, 65 wheel down.
    static func mouseReport(button: Int, x: Int, y: Int) -> String {
        "\u{1B}[M" + String(UnicodeScalar(UInt8(32 + button))) + String(UnicodeScalar(UInt8(32 + x + 1)))
            + String(UnicodeScalar(UInt8(32 + y + 1)))
    }

    /// The line holding a pane's title, e.g. `┌ Log (6) ───`.
    static func titleLine(_ title: String, in screen: String) -> Substring? {
        screen.split(separator: "\n").first { $0.contains(title) }
    }

    @Test func aClickFocusesThePaneUnderIt() async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0"], width: 100, height: 30)
        let screen = try await session.waitFor("listening on tcp")
        let logRow = try #require(screen.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("┌ Log (") })
        // The focused pane's title is drawn reversed (SGR 7).
        let before = try #require(Self.titleLine("Log (", in: try await session.screenWithAttributes()))
        #expect(!before.contains("\u{1B}[7m Log"), "the log is not focused at first")
        try await session.type(Self.mouseReport(button: 0, x: 10, y: logRow + 2))
        let focused = await waitUntil {
            let attributes = (try? session.blockingScreenWithAttributes()) ?? ""
            return Self.titleLine("Log (", in: attributes)?.contains("\u{1B}[7m Log") == true
        }
        #expect(focused, "a click in the log focuses it")
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
    }

    /// The wheel over the log scrolls it: up pauses following (and the newest line leaves
    /// the view), down to the end follows again.
    @Test func theWheelScrollsTheLog() async throws {
        let commands = Array(repeating: "explain EPIPE", count: 30) + ["explain ECONNRESET"]
        let session = try await TmuxSession(command: [Binary.path] + commands.flatMap { ["-c", $0] }, width: 100, height: 30)
        let screen = try await session.waitFor("ECONNRESET (errno 104)")
        let logRow = try #require(screen.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("┌ Log (") })
        for _ in 0..<3 { try await session.type(Self.mouseReport(button: 64, x: 10, y: logRow + 5)) }
        let scrolled = try await session.waitForScreen { $0.contains("paused") && !$0.contains("ECONNRESET (errno 104)") }
        #expect(Self.titleLine("Log (", in: scrolled)?.contains("paused") == true)
        for _ in 0..<6 { try await session.type(Self.mouseReport(button: 65, x: 10, y: logRow + 5)) }
        try await session.waitForScreen { $0.contains("ECONNRESET (errno 104)") && !$0.contains("paused") }
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
    }
}
