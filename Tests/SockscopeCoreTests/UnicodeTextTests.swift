#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SockscopeCore

/// Every Unicode scalar, for sweeps.
private let allScalars: [Unicode.Scalar] = (0..<0x110000).compactMap(Unicode.Scalar.init)

private func escaped(_ text: String) -> String { DisplayText.escape(Array(text.utf8)) }

/// Invisible and unassigned characters are escaped, decided from Unicode's data.
@Suite struct InvisibleCharacterTests {
    @Test func theInvisibleCharactersOnceLetThroughAreEscaped() throws {
        #expect(escaped("a\u{061C}b") == "a\\u{61C}b")  // ARABIC LETTER MARK
        #expect(escaped("a\u{00AD}b") == "a\\u{AD}b")  // SOFT HYPHEN
        #expect(escaped("a\u{0600}1") == "a\\u{600}1")  // ARABIC NUMBER SIGN
        #expect(escaped("a\u{180E}b") == "a\\u{180E}b")  // MONGOLIAN VOWEL SEPARATOR
        #expect(escaped("a\u{FE0F}b") == "a\\u{FE0F}b")  // VARIATION SELECTOR-16
        #expect(escaped("\u{3164}") == "\\u{3164}")  // HANGUL FILLER, a "blank" name
        #expect(escaped("\u{E0041}\u{E0042}") == "\\u{E0041}\\u{E0042}")  // tag characters
        #expect(escaped("ab\u{E000}\u{10FFFD}cd") == "ab\\u{E000}\\u{10FFFD}cd")  // private use
        #expect(escaped("ab\u{0378}\u{FFFE}cd") == "ab\\u{378}\\u{FFFE}cd")  // unassigned, noncharacter
        // Every escape decodes back to the bytes.
        for text in ["a\u{061C}b\u{00AD}\u{0600}\u{180E}", "\u{301}x", "ab\u{E000}", "\u{1F680}漢e\u{301}"] {
            #expect(try EscapedText.decode(escaped(text)) == Array(text.utf8))
        }
    }

    @Test func everyFormatAndDefaultIgnorableScalarIsEscaped() {
        let invisible = allScalars.filter {
            $0.value >= 0x80 && ($0.properties.generalCategory == .format || $0.properties.isDefaultIgnorableCodePoint)
        }
        #expect(invisible.count > 4000)  // Cf and the default-ignorable planes, as of Unicode 14 and later
        for scalar in invisible {
            let expected = "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            #expect(escaped("x" + String(scalar)) == "x" + expected, "U+\(String(scalar.value, radix: 16))")
        }
    }

    /// Whatever a scalar is, it comes out as itself only if Unicode's data says it is
    /// visible and assigned; otherwise as an escape in printable ASCII.
    @Test func everyScalarComesOutAsItselfOnlyWhenVisibleOrElseAsPrintableASCII() {
        let hidden: Set<Unicode.GeneralCategory> = [.control, .format, .surrogate, .privateUse, .unassigned,
                                                    .lineSeparator, .paragraphSeparator]
        var asItself = 0
        // Every scalar of the BMP and the SMP and every assigned one; of the rest (private
        // use and unassigned planes) one in 61, to keep the sweep to a few seconds.
        for scalar in allScalars where scalar.value < 0x20000 || scalar.value % 61 == 0 || scalar.properties.age != nil {
            // After a letter, so a combining mark has something to mark.
            let shown = escaped("x" + String(scalar)).unicodeScalars.dropFirst()
            if shown.count == 1, shown.first == scalar, scalar != "\\" {
                asItself += 1
                #expect(!hidden.contains(scalar.properties.generalCategory) && !scalar.properties.isDefaultIgnorableCodePoint,
                        "U+\(String(scalar.value, radix: 16)) is shown as itself")
            } else {
                #expect(shown.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }, "U+\(String(scalar.value, radix: 16))")
            }
        }
        #expect(asItself > 100_000)
    }

    @Test func aCombiningMarkIsShownOnlyOnACharacterShownAsItself() {
        #expect(escaped("e\u{301}") == "e\u{301}")
        #expect(escaped("漢\u{301}") == "漢\u{301}")
        #expect(escaped("\u{301}x") == "\\u{301}x", "alone it would draw on the quote before the preview")
        #expect(escaped("\n\u{338}") == "\\n\\u{338}", "after an escape it would make \\n read as something else")
        #expect(escaped("\\\u{301}") == "\\\\\\u{301}")
        #expect(escaped("\u{202E}\u{301}") == "\\u{202E}\\u{301}")
        // Conjoining jamo spell a syllable after a leading consonant; alone they are marks too.
        #expect(escaped("\u{1112}\u{1161}\u{11AB}") == "\u{1112}\u{1161}\u{11AB}")
        #expect(escaped("\u{1161}") == "\\u{1161}")
    }
}

/// Data that is mostly not text is shown as hex escapes, whatever UTF-8 it spells.
@Suite struct BinaryDataTests {
    @Test func halfTextIsStillTextAndOneCharacterMoreIsBinary() {
        // Each control is one character that is not text, each "é" one that is.
        let half: [UInt8] = [0x01, 0x02] + Array("éé".utf8)
        #expect(DisplayText.escape(half) == "\\x01\\x02éé")
        let moreThanHalf: [UInt8] = [0x01, 0x02, 0x03] + Array("éé".utf8)
        #expect(DisplayText.escape(moreThanHalf) == "\\x01\\x02\\x03\\xc3\\xa9\\xc3\\xa9")
        #expect(DisplayText.isMostlyBinary(moreThanHalf) && !DisplayText.isMostlyBinary(half))
        // Text with a few controls stays text.
        #expect(DisplayText.escape(Array("héllo wörld\u{1B}[0m".utf8)) == "héllo wörld\\x1b[0m")
        #expect(DisplayText.escape(Array("日本語\r\n".utf8)) == "日本語\\r\\n")
    }

    @Test func newlinesTabsAndBackslashesCountAsText() {
        #expect(DisplayText.escape([0x00, 0x0A, 0x0D] + Array("é".utf8)) == "\\x00\\n\\ré")
        #expect(DisplayText.escape([0x00, 0x00, 0x09, 0x5C] + Array("é".utf8)) == "\\x00\\x00\\t\\\\é")
        // Three controls against a newline and "é": binary.
        #expect(DisplayText.escape([0x00, 0x00, 0x00, 0x0A] + Array("é".utf8)) == "\\x00\\x00\\x00\\n\\xc3\\xa9")
    }

    @Test func invisibleCharactersAreTextButInvalidAndPrivateOnesAreNot() {
        #expect(DisplayText.escape(Array("\u{202E}\u{AD}é".utf8)) == "\\u{202E}\\u{AD}é")
        #expect(DisplayText.escape(Array("\u{E000}é".utf8)) == "\\u{E000}é")
        #expect(DisplayText.escape(Array("\u{E000}\u{F0000}é".utf8)) == "\\xee\\x80\\x80\\xf3\\xb0\\x80\\x80\\xc3\\xa9")
        #expect(DisplayText.escape([0xFF] + Array("é".utf8)) == "\\xffé")
        #expect(DisplayText.escape([0xFF, 0xFE] + Array("é".utf8)) == "\\xff\\xfe\\xc3\\xa9")
        // C1 controls spelled in UTF-8 are not text either.
        #expect(DisplayText.escape(Array("\u{9B}\u{9D}é".utf8)) == "\\xc2\\x9b\\xc2\\x9d\\xc3\\xa9")
    }

    @Test func binaryDataKeepsItsPrintableASCII() {
        // Five NULs against "ab" and "é": binary, but "ab" still reads as itself.
        #expect(DisplayText.escape([0, 0, 0, 0, 0] + Array("abé".utf8)) == "\\x00\\x00\\x00\\x00\\x00ab\\xc3\\xa9")
    }

    @Test func bytesThatHappenToSpellCharactersInBinaryDataAreHex() throws {
        // A TLS-like record: a header of controls, then bytes spelling "Յ" and "ԅ".
        let record: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 0xD5, 0x85, 0xD4, 0x85, 0x00]
        #expect(DisplayText.escape(record) == "\\x16\\x03\\x01\\x00\\x05\\xd5\\x85\\xd4\\x85\\x00")
        #expect(try EscapedText.decode(DisplayText.escape(record)) == record)
    }

    @Test func everyLogFormShowsBinaryDataAsHex() {
        let bytes: [UInt8] = [0x01, 0x02, 0x03] + Array("é".utf8)
        let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: SocketID(.connection, 1), kind: .received,
                             count: bytes.count, bytes: bytes)
        #expect(LogText.body(entry) == "5 B \\x01\\x02\\x03\\xc3\\xa9")
    }
}

/// Column widths from Unicode's data.
@Suite struct TextWidthTests {
    @Test func widthsAcrossCategories() {
        let samples: [(Character, Int)] = [
            ("a", 1), ("é", 1), ("ß", 1), ("Ω", 1), ("ж", 1), ("ש", 1), ("ع", 1), ("क", 1),
            ("\u{1F680}", 2),  // ROCKET, Emoji_Presentation
            ("\u{231A}", 2),  // WATCH, an emoji in the BMP
            ("\u{1F9FF}", 2), ("\u{1FAE8}", 2),  // emoji of Unicode 11 and 15 (newer than the table)
            ("漢", 2), ("あ", 2), ("한", 2), ("\u{3000}", 2), ("Ａ", 2), ("\u{20000}", 2), ("\u{2A700}", 2),
            ("ｱ", 1),  // HALFWIDTH KATAKANA
            ("\u{2764}", 1),  // HEAVY BLACK HEART: text presentation by default
            ("e\u{301}", 1), ("漢\u{301}", 2), ("\u{301}", 0), ("\u{20DD}", 0),  // marks add nothing
            ("\u{1112}\u{1161}\u{11AB}", 2),  // a Hangul syllable spelled in jamo
            ("\u{903}", 1),  // a spacing mark alone
            // Where terminals disagree, ncurses' count (see TextWidth):
            ("\u{2764}\u{FE0F}", 1), ("\u{1F44D}\u{1F3FD}", 4), ("\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", 6),
            ("\u{1F1FA}\u{1F1F8}", 2),
        ]
        for (character, columns) in samples {
            #expect(TextWidth.columns(of: character) == columns, "\(character.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        #expect(TextWidth.columns(of: "🚀 漢字 café") == 12)
        #expect(TextWidth.prefix("ab漢字", fitting: 3) == "ab")
    }

    /// The generated East Asian Width table agrees with the standard library's own
    /// data where both speak: emoji presentation and ideographs are wide.
    @Test func tableAgreesWithTheStandardLibrary() {
        let tableVersion = EastAsianWidth.unicodeVersion
        func inTableVersion(_ scalar: Unicode.Scalar) -> Bool {
            guard let age = scalar.properties.age else { return false }
            return (age.major, age.minor) <= tableVersion
        }
        var checked = 0
        for scalar in allScalars where inTableVersion(scalar) {
            let wide = ScalarTraits.ranges(EastAsianWidth.wideRanges, contain: scalar.value)
            let properties = scalar.properties
            // Unicode gives every Emoji_Presentation scalar East Asian Width W, except the
            // regional indicators that pair into flags.
            if properties.isEmojiPresentation, properties.name?.hasPrefix("REGIONAL INDICATOR") != true {
                #expect(wide, "emoji U+\(String(scalar.value, radix: 16))")
                checked += 1
            }
            if properties.isIdeographic, properties.generalCategory != .nonspacingMark {
                #expect(wide, "ideograph U+\(String(scalar.value, radix: 16))")
                checked += 1
            }
        }
        #expect(checked > 90_000)
        // Every range holds scalars assigned by the table's version only.
        for index in stride(from: 0, to: EastAsianWidth.wideRanges.count, by: 2) {
            for value in EastAsianWidth.wideRanges[index]...EastAsianWidth.wideRanges[index + 1] {
                let scalar = Unicode.Scalar(value)
                #expect(scalar.map(inTableVersion) == true, "U+\(String(value, radix: 16)) is not assigned")
            }
        }
        for index in stride(from: 0, to: EastAsianWidth.conjoiningJamoRanges.count, by: 2) {
            for value in EastAsianWidth.conjoiningJamoRanges[index]...EastAsianWidth.conjoiningJamoRanges[index + 1] {
                #expect(Unicode.Scalar(value)?.properties.name?.hasPrefix("HANGUL JONG") == true
                    || Unicode.Scalar(value)?.properties.name?.hasPrefix("HANGUL JUNG") == true)
            }
        }
    }

    #if canImport(Glibc)
    /// For every scalar shown as itself that glibc knows, our width is glibc's wcwidth
    /// under a UTF-8 locale (what ncurses uses), but for two blocks glibc widens beyond
    /// East Asian Width, and U+1171E, a nonspacing mark in glibc 2.36's Unicode 14 that
    /// Unicode 15 made a spacing one. The locale is set for this thread only.
    @Test func widthsMatchTheCLibrarysWcwidth() throws {
        let locale = try #require(newlocale(LC_CTYPE_MASK, "C.UTF-8", nil))
        let previous = uselocale(locale)
        defer {
            uselocale(previous)
            freelocale(locale)
        }
        let knownDifferences: [ClosedRange<UInt32>] = [0x3248...0x324F, 0x4DC0...0x4DFF, 0x1171E...0x1171E]
        // Looked up at run time: Glibc's Swift module leaves the wide-character functions out.
        let symbol = try #require(dlsym(dlopen(nil, RTLD_NOW), "wcwidth"))
        let wcwidth = unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        var compared = 0
        for scalar in allScalars where scalar.value >= 0x80 && DisplayText.isSafe(scalar) {
            let libc = Int(wcwidth(Int32(scalar.value)))
            guard libc >= 0, let age = scalar.properties.age, (age.major, age.minor) <= EastAsianWidth.unicodeVersion,
                  !knownDifferences.contains(where: { $0.contains(scalar.value) }) else { continue }
            compared += 1
            #expect(TextWidth.columns(of: Character(scalar)) == libc, "U+\(String(scalar.value, radix: 16))")
        }
        #expect(compared > 100_000)
    }
    #endif
}
