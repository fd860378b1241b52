import Testing
@testable import SockscopeUI

/// A cut line never ends inside an escape: half of `\x1b` would read as other bytes.
@Suite struct EscapeCutTests {
    @Test func truncationKeepsEscapesWhole() {
        #expect(TextFit.truncate(#"ab\x1bcd"#, to: 5) == "ab…")
        #expect(TextFit.truncate(#"ab\x1bcd"#, to: 7) == #"ab\x1b…"#)
        #expect(TextFit.truncate(#"a\\\\bcdef"#, to: 4) == #"a\\…"#, "an escaped backslash is one escape")
        #expect(TextFit.truncate(#"ab\u{202E}cd"#, to: 8) == "ab…")
        #expect(TextFit.truncate("short", to: 10) == "short")
    }
}
