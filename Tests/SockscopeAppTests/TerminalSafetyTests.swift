import Foundation
import Testing
import TestSupport

/// Hostile bytes from the network never act on the terminal: every byte value
/// and the known-dangerous sequences go through a listener into the TUI, and
/// nothing outside the log text changes (screen layout, window title, modes).
@Suite(.timeLimit(.minutes(1)), .requires("tmux"))
struct TerminalSafetyTests {
    static let attack = #"""
    import socket, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    payload = bytes(range(256))
    payload += b"\x1b[2J\x1b[H"                      # clear screen, cursor home
    payload += b"\x1b]0;PWNED-TITLE\x07"             # set window title (OSC 0)
    payload += b"\x1b]2;PWNED-TITLE\x1b\\"           # set title, ST-terminated
    payload += b"\x1b]52;c;cHduZWQ=\x07"             # OSC 52: write the clipboard
    payload += b"\x1bP+q544e\x1b\\"                  # DCS request
    payload += b"\x1b[?1049l\x1b[?25h"               # leave the alternate screen, show cursor
    payload += b"\x1b[10;10H\x1b[31mRED"              # cursor move, colour
    payload += "\u202e\u2066bidi".encode()            # bidi override and isolate
    payload += b"\x9b2J\xc2\x9b2J"                    # C1 CSI raw and as UTF-8
    payload += b"\xff\xfe\xed\xa0\x80"                # invalid UTF-8
    payload += b"END-OF-ATTACK"
    s.sendall(payload)
    s.close()
    """#

    /// The Log pane's text with borders and wrap indentation removed, lines joined.
    static func unwrappedLog(_ screen: String) -> String {
        screen.split(separator: "\n").map { line -> String in
            var text = Substring(line)
            if text.hasPrefix("│") { text = text.dropFirst() }
            if text.hasSuffix("│") { text = text.dropLast() }
            return text.trimmingCharacters(in: .whitespaces)
        }.joined()
    }

    /// Whether any SGR sequence in `text` sets the foreground to red: 31, 91, or palette
    /// colour 1 or 9 (`38;5;N`). Colour specs (`38;5;N`, `38;2;R;G;B`) are skipped as units.
    static func selectsRedForeground(_ text: String) -> Bool {
        for match in text.matches(of: /\x1B\[([0-9;:]*)m/) {
            let parameters = match.1.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
            var index = 0
            while index < parameters.count {
                let parameter = parameters[index]
                if parameter == 31 || parameter == 91 { return true }
                if parameter == 38 || parameter == 48, index + 1 < parameters.count {
                    if parameters[index + 1] == 5, index + 2 < parameters.count {
                        if parameter == 38 && [1, 9].contains(parameters[index + 2]) { return true }
                        index += 3
                        continue
                    }
                    if parameters[index + 1] == 2 { index += 5; continue }
                }
                index += 1
            }
        }
        return false
    }

    @Test(.requires("python3")) func everyByteAndEscapeSequenceIsShownNotObeyed() async throws {
        let session = try await TmuxSession(command: [Binary.path, "-c", "listen 0"], width: 160, height: 40)
        let screen = try await session.waitFor("listening on tcp 127.0.0.1:")
        let port = try #require(listeningPort(in: screen))
        let titleBefore = try await session.tmux("display-message", "-p", "-t", "t", "#{pane_title}")
        let cursorBefore = try await session.tmux("display-message", "-p", "-t", "t", "#{cursor_flag} #{cursor_x},#{cursor_y}")
        let peer = try PythonPeer.run(Self.attack, ["\(port)"])
        _ = await peer.wait()
        // Data entries take one line each until `e` shows them whole.
        try await session.press("e")

        // In text view the payload is escaped (and wrapped); in hex view it is hex.
        let after = try await session.waitFor("END-OF-ATTACK")
        let logText = Self.unwrappedLog(after)
        #expect(logText.contains(#"\x1b[2J\x1b[H\x1b]0;PWNED-TITLE\x07\x1b]2;PWNED-TITLE\x1b\\"#))
        #expect(logText.contains(#"\u{202E}\u{2066}bidi"#))
        #expect(logText.contains(#"\x9b2J\u{9B}2J\xff\xfe\xed\xa0\x80END-OF-ATTACK"#))
        let lines = after.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("sockscope") == true, "the status line is still on top")
        #expect(after.contains("Listening (1)") && after.contains("Connections ("), "the panes are still drawn")
        // The peer asked for red text (SGR 31); sockscope's own red marks errors only, and
        // there is none on this screen: any red foreground would be the peer's.
        let attributes = try await session.screenWithAttributes()
        #expect(attributes.contains("END-OF-ATTACK") && attributes.contains("\u{1B}["), "a capture with attributes")
        #expect(!Self.selectsRedForeground(attributes), "the peer's colour reached the screen:\n\(attributes)")
        let titleAfter = try await session.tmux("display-message", "-p", "-t", "t", "#{pane_title}")
        #expect(titleAfter == titleBefore, "the window title is untouched")
        #expect(!titleAfter.contains("PWNED"))
        let alternate = try await session.tmux("display-message", "-p", "-t", "t", "#{alternate_on}")
        #expect(alternate.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "still on the alternate screen")
        let cursorAfter = try await session.tmux("display-message", "-p", "-t", "t", "#{cursor_flag} #{cursor_x},#{cursor_y}")
        #expect(cursorAfter.hasPrefix("0 ") && cursorBefore.hasPrefix("0 "), "the cursor stays hidden (\\e[?25h was not obeyed)")
        let clipboard = (try? await session.tmux("show-buffer")) ?? ""
        #expect(!clipboard.contains("pwned"), "OSC 52 did not reach tmux's clipboard")

        // The hex view shows the same bytes as hex, not as controls.
        try await session.press("h")
        let hex = try await session.waitFor("00f0  f0 f1 f2 f3 f4 f5 f6 f7  f8 f9 fa fb fc fd fe ff")
        #expect(hex.split(separator: "\n").first?.hasPrefix("sockscope") == true)
        try await session.press("q")
        #expect(await session.waitForExit() == 0)
    }
}
