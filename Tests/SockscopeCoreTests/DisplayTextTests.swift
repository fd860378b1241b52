import Testing
@testable import SockscopeCore

@Suite struct DisplayTextTests {
    @Test func printableTextStays() {
        #expect(DisplayText.escape(Array("hello, wörld ✓".utf8)) == "hello, wörld ✓")
    }

    @Test func controlsAreEscaped() {
        #expect(DisplayText.escape([0x0A, 0x0D, 0x09, 0x5C, 0x00, 0x07, 0x1B, 0x7F]) == "\\n\\r\\t\\\\\\x00\\x07\\x1b\\x7f")
    }

    @Test func terminalSequencesAreDefused() {
        let clear = Array("\u{1B}[2J\u{1B}]0;pwned\u{07}\u{1B}]52;c;ZXZpbA==\u{07}".utf8)
        let shown = DisplayText.escape(clear)
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        #expect(shown.hasPrefix("\\x1b[2J"))
    }

    @Test func c1BidiAndInvalidUTF8() {
        #expect(DisplayText.escape([0xC2, 0x9B]) == "\\u{9B}")  // C1 CSI encoded as UTF-8
        #expect(DisplayText.escape(Array("a\u{202E}b".utf8)) == "a\\u{202E}b")
        #expect(DisplayText.escape([0xFF, 0xC3]) == "\\xff\\xc3")
        #expect(DisplayText.escape([0xC0, 0x80]) == "\\xc0\\x80")  // overlong NUL
        #expect(DisplayText.escape([0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80")  // surrogate
    }

    @Test func everyByteValueComesOutSafe() {
        let all = (0...255).map { UInt8($0) }
        let shown = DisplayText.escape(all)
        #expect(shown.unicodeScalars.allSatisfy(DisplayText.isSafe))
    }

    @Test func escapeRoundTripsThroughDecode() throws {
        let samples: [[UInt8]] = [(0...255).map { UInt8($0) }, Array("plain".utf8), [0x5C, 0x78, 0x34, 0x31], []]
        for bytes in samples {
            #expect(try EscapedText.decode(DisplayText.escape(bytes)) == bytes)
        }
    }
}

@Suite struct MessageEscapingTests {
    @Test func typedCommandsKeepTheirBackslashesButLoseControls() {
        #expect(DisplayText.escape(string: "send \"hi\\n\"\u{1B}", backslashes: false) == "send \"hi\\n\"\\x1b")
    }
}
