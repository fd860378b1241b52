import PropertyBased
import Testing
@testable import SockscopeCore

/// Matching and reply templates, the pure half of `rule` and `expect`.
@Suite struct RuleMatchingTests {
    func unit(_ pattern: BytePattern, _ text: String) throws -> [[UInt8]?]? {
        let matcher = try ByteMatcher(pattern)
        return Array(text.utf8).withUnsafeBytes { matcher.matchUnit($0) }?.captures
    }

    func rule(_ line: String) throws -> Rule {
        guard case .rule(_, .add(let rule))? = try CommandParser.parse(line) else {
            Issue.record("not a rule: \(line)")
            throw CommandParser.ParseError("not a rule")
        }
        return rule
    }

    @Test func eachKindOfMatchOnALine() throws {
        #expect(try unit(.exact(Array("PING".utf8)), "PING") != nil)
        #expect(try unit(.exact(Array("PING".utf8)), "PINGS") == nil, "exact is the whole line")
        #expect(try unit(.hex([0xDE, 0xAD]), "\u{DE}") == nil)
        #expect(try ([0xDE, 0xAD] as [UInt8]).withUnsafeBytes { try ByteMatcher(.hex([0xDE, 0xAD])).matchUnit($0) } != nil)
        #expect(try unit(.prefix(Array("GET ".utf8)), "GET /x") != nil)
        #expect(try unit(.prefix(Array("GET ".utf8)), "xGET /x") == nil)
        #expect(try unit(.contains(Array("ell".utf8)), "hello") != nil)
        #expect(try unit(.contains(Array("elk".utf8)), "hello") == nil)
        #expect(try unit(.regex("^GET (\\S+) HTTP"), "GET /index.html HTTP/1.1")?[1] == Array("/index.html".utf8))
        #expect(try unit(.regex("b+"), "abbbc")?[0] == Array("bbb".utf8), "a regex matches anywhere in the line")
        #expect(try unit(.regex("^b+$"), "abbbc") == nil)
        // Without captures (a reply with no \1) a regex says only whether it matches, the same way.
        for (source, text) in [("b+", "abbbc"), ("^b+$", "abbbc"), ("^GET ", "GET /"), ("x", "")] {
            let matcher = try ByteMatcher(.regex(source))
            let full = Array(text.utf8).withUnsafeBytes { matcher.matchUnit($0) } != nil
            let bare = Array(text.utf8).withUnsafeBytes { matcher.matchUnit($0, capturing: false) } != nil
            #expect(full == bare, "\(source) on \(text)")
        }
        // Not UTF-8: each byte is one scalar, so a regex still sees every byte.
        let binary: [UInt8] = [0xFF, 0x41, 0x42, 0xFE]
        let captures = try binary.withUnsafeBytes { try ByteMatcher(.regex("A(B)")).matchUnit($0) }?.captures
        #expect(captures?[1] == [0x42])
        #expect(try binary.withUnsafeBytes { try ByteMatcher(.regex("\\xFF")).matchUnit($0) } != nil)
    }

    /// The literal an anchored regex must start with, used to turn units down before the regex runs.
    @Test func theRequiredPrefixIsOnlyWhatEveryMatchMustStartWith() {
        let cases: [(String, String?)] = [
            ("^GET (.*)", "GET "), ("^zz(?s)(.*)", "zz"), ("(?s)^ab", "ab"), ("^(?s)ab.c", "ab"),
            ("^ab?c", "a"), ("^ab*", "a"), ("^ab{2}", "a"), ("^ab+", "a"), ("^\\.x\\[", ".x["),
            ("^a|b", nil), ("ab", nil), ("^(?i)abc", nil), ("^\\d+", nil), ("^[ab]", nil), ("^.x", nil),
            ("^", nil), ("^é", nil), ("^ab\\n", "ab"), ("^HELO$", "HELO"),
        ]
        for (source, prefix) in cases {
            #expect(ByteMatcher.literalPrefix(ofAnchored: source) == prefix.map { Array($0.utf8) }, "\(source)")
        }
    }

    /// Turning units down by their prefix never changes what a regex matches: each pattern on
    /// every input, next to Swift's `Regex` run on the same text directly.
    @Test func thePrefixCheckAgreesWithTheRegexOnEveryInput() throws {
        let sources = ["^GET (.*)", "^zz(?s)(.*)", "(?s)^ab", "^ab?c", "^ab*", "^ab+c", "^\\.x", "^HELO$", "^a b", "^ab{2}"]
        let pieces: [[UInt8]] = [[], Array("a".utf8), Array("b".utf8), Array("ab".utf8), Array("abbc".utf8), Array("GET /".utf8),
                                 Array("zz".utf8), Array(".x".utf8), Array("HELO".utf8), Array("a b".utf8), [0x0A], [0xFF], Array("c".utf8)]
        var inputs: [[UInt8]] = []
        for first in pieces { for second in pieces { for third in pieces.prefix(4) { inputs.append(first + second + third) } } }
        for source in sources {
            let matcher = try ByteMatcher(.regex(source))
            let regex = try Regex(source).matchingSemantics(.unicodeScalar)
            #expect(matcher.requiredPrefix != nil, "\(source) has a prefix to check")
            for input in inputs {
                let direct = input.withUnsafeBytes { MatchText($0).string.contains(regex) }
                let checked = input.withUnsafeBytes { matcher.matchUnit($0, capturing: false) } != nil
                #expect(checked == direct, "\(source) on \(input)")
            }
        }
    }

    /// Bytes that are not UTF-8 are one scalar each, 0x00-0xFF, whatever their mix, and each
    /// scalar's position in the text maps back to its byte's offset.
    @Test func textThatIsNotUTF8IsLatin1ScalarForScalar() {
        let all = (0...255).map(UInt8.init) + [0x41, 0xFF, 0x0A]
        let text = all.withUnsafeBytes { MatchText($0) }
        #expect(!text.isUTF8)
        #expect(text.string.unicodeScalars.map(\.value) == all.map(UInt32.init))
        let scalars = text.string.unicodeScalars
        #expect(scalars.indices.map(text.offset(of:)) == Array(all.indices))
        #expect(text.offset(of: text.string.endIndex) == all.count)
        // UTF-8: offsets are the bytes' (é is two).
        let utf8 = Array("aé\u{2028}b".utf8).withUnsafeBytes { MatchText($0) }
        #expect(utf8.isUTF8)
        #expect(utf8.string.unicodeScalars.indices.map(utf8.offset(of:)) == [0, 1, 3, 6])
    }

    @Test func aSearchFindsTheFirstOccurrenceAsByteOffsets() throws {
        let window = Array("é +PONG\r\n+PONG\r\n".utf8)
        #expect(try ByteMatcher(.exact(Array("+PONG".utf8))).search(window) == 3..<8)
        #expect(try ByteMatcher(.regex("\\+P(O)NG")).search(window) == 3..<8, "offsets are bytes, é is two")
        #expect(try ByteMatcher(.prefix(Array("é".utf8))).search(window) == 0..<2)
        #expect(try ByteMatcher(.prefix(Array("+".utf8))).search(window) == nil, "prefix: only at the start")
        #expect(try ByteMatcher(.regex("\\r\\n")).search(window) == 8..<10, "\\r\\n is two scalars")
    }

    @Test func badPatternsAreClearErrors() {
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("rule L1 when /(/ reply x") }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse(#"rule L1 when "x" reply "\1""#) }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse(#"rule L1 when "x" reply "{{nope}}""#) }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("rule L1 when /a b reply x") }
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse(#"expect """#) }
        do {
            _ = try CommandParser.parse("rule L1 when /(/ reply x")
        } catch {
            #expect(error.message.hasPrefix("rule: bad regex /(/: "), "\(error.message)")
        }
    }

    @Test func repliesRenderCapturesAndPlaceholders() throws {
        let rule = try rule(#"rule L1 when /^(\w+) (\w+)$/ reply "\2 \1 #{{count}} at {{date}} {{time}} ({{unixtime}}) for {{peer}} {{random}}\\1""#)
        var out: [UInt8] = []
        let context = ReplyTemplate.Context(time: t0, count: 7, peer: "127.0.0.1:5000", random: 42)
        // The captures are copied from the unit that matched, where the groups say they lie.
        Array("hello world".utf8).withUnsafeBytes { unit in
            rule.reply.render(groups: [0..<11, 0..<5, 6..<11], of: unit, context: context, into: &out)
        }
        #expect(String(decoding: out, as: UTF8.self)
            == #"world hello #7 at 2026-11-21 17:50:03 (1795283403) for 127.0.0.1:5000 42\1"#)
    }

    @Test func rulesPrintAndParseBack() throws {
        for line in [#"rule L1 when "PING" reply "+PONG""#, #"rule all when /a\/b (c)/ reply "\1{{count}}\x7b{" --raw --delay 5 --once --close"#,
                     #"rule C2 when hex "de ad" reply "\xbe""#, "rule L1 remove 3", "rule list", #"expect C1 prefix "220 " --timeout 2.5"#,
                     "expect L1 connected", "expect eof", #"expect /x\/y/"#] {
            let command = try #require(try CommandParser.parse(line))
            #expect(try CommandParser.parse(CommandText.line(for: command)) == command, "\(line) → \(CommandText.line(for: command))")
        }
    }

    /// What `Regex` finds in a unit, its groups as the bytes they stand for: the reference a
    /// matcher's answers are checked against, built from Swift's `Regex` and the text alone.
    static func regexCaptures(_ source: String, _ bytes: [UInt8]) throws -> [[UInt8]?]? {
        let regex = try Regex(source).matchingSemantics(.unicodeScalar)
        let text = bytes.withUnsafeBytes { MatchText($0) }
        guard let match = text.string.firstMatch(of: regex) else { return nil }
        return match.output.map { group in
            group.substring.map { text.isUTF8 ? Array($0.utf8) : $0.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
        }
    }

    /// Which regexes are matched by comparing bytes: only an optional `^`, an ASCII literal and
    /// a last `(.*)` or `(.+)`, with `(?s)` anywhere before the group.
    @Test func plainRegexesAreOnlyTheShapesBytesCanMatch() throws {
        let plain: [(String, PlainRegex)] = [
            ("(?s)(.*)", PlainRegex(anchored: false, literal: [], group: .init(atLeastOne: false, dotMatchesNewlines: true))),
            ("(.*)", PlainRegex(anchored: false, literal: [], group: .init(atLeastOne: false, dotMatchesNewlines: false))),
            ("^GET (.+)", PlainRegex(anchored: true, literal: Array("GET ".utf8), group: .init(atLeastOne: true, dotMatchesNewlines: false))),
            ("^zz(?s)(.*)", PlainRegex(anchored: true, literal: Array("zz".utf8), group: .init(atLeastOne: false, dotMatchesNewlines: true))),
            ("(?s)^a(?s)b\\.(.+)", PlainRegex(anchored: true, literal: Array("ab.".utf8), group: .init(atLeastOne: true, dotMatchesNewlines: true))),
            ("^PING", PlainRegex(anchored: true, literal: Array("PING".utf8), group: nil)),
            ("x y", PlainRegex(anchored: false, literal: Array("x y".utf8), group: nil)),
        ]
        for (source, expected) in plain {
            #expect(PlainRegex(source) == expected, "\(source)")
            #expect(try ByteMatcher(.regex(source)).plain == expected, "\(source)")
        }
        for source in ["^HELO$", "a|b", "(?i)abc", "ab?", "ab*(.*)", "(.*)x", "^(.*)(.*)", "\\d(.*)", "(.*)+", "[a](.*)", "(.*?)",
                       "(?s:(.*))", "(?-s)(.*)", "^a{2}(.*)", "é(.*)", "(.)*", "(?s)(.*)$", "^^a", "a^(.*)", "((.*))"] {
            #expect(PlainRegex(source) == nil, "\(source) needs Regex")
        }
    }

    /// Every character a plain regex reads as a literal means that byte to `Regex` too: each
    /// printable ASCII character, bare and escaped, in the three places a literal stands.
    @Test func everyLiteralCharacterOfAPlainRegexMeansItselfToRegex() throws {
        let printable = (0x20...0x7E).map { String(UnicodeScalar(UInt8($0))) }
        var literals: Set<String> = []
        for character in printable + printable.map({ "\\" + $0 }) {
            for source in [character, "^" + character + "(.*)", "x" + character + "(?s)(.+)"] {
                guard let plain = PlainRegex(source), let byte = plain.literal.last else { continue }
                literals.insert(character)
                let matcher = try ByteMatcher(.regex(source))
                for input: [UInt8] in [[], [byte], [0x78, byte], [byte, 0x0A, byte], [0x78, 0x78], [0x78, 0x5C, byte, 0x41], [0x78, byte, 0xFF]] {
                    let found = input.withUnsafeBytes { matcher.matchUnit($0) }?.captures
                    #expect(try found == Self.regexCaptures(source, input), "\(source) on \(input)")
                }
            }
        }
        // Letters, digits, 19 punctuation marks and the 15 escaped metacharacters: nothing else.
        #expect(literals.count == 26 * 2 + 10 + 19 + 15, "\(literals.sorted())")
        #expect(literals.isSuperset(of: [" ", "#", "\"", "'", "`", "\\.", "\\\\", "\\/", "\\$"]))
        #expect(literals.isDisjoint(with: [".", "$", "|", "(", "\\d", "\\n", "\\x", "?", "\\b", "{"]))
    }

    /// The byte comparison answers as `Regex` does, groups included, on generated patterns of
    /// every plain shape and generated inputs mixing the literals' characters with every kind of
    /// newline (`\n \v \f \r`, U+0085 and U+2028 as UTF-8 and as Latin-1 bytes) and invalid UTF-8.
    @Test func plainRegexesMatchWhatRegexMatches() async throws {
        let literalCharacters = Array("ab :/-".unicodeScalars.map(String.init)) + ["\\.", "\\(", "\\*"]
        let pattern = zip(Gen.bool(), Gen.bool(), Gen<String?>.element(of: literalCharacters).map { $0 ?? "a" }.array(of: 0...3),
                              Gen.int(in: 0...2), Gen.int(in: 0...3))
            .map { dotAllFirst, anchored, literal, group, flagAt -> String in
                var pieces = literal
                // (?s) before the anchor, between literal characters, or not at all.
                if flagAt > 0 { pieces.insert("(?s)", at: min(flagAt - 1, pieces.count)) }
                let source = (anchored ? "^" : "") + pieces.joined() + ["", "(.*)", "(.+)"][group]
                return dotAllFirst ? "(?s)" + source : source
            }
        let pieces: [[UInt8]] = [Array("a".utf8), Array("b".utf8), Array("ab".utf8), Array(" :/-".utf8), Array(".(*".utf8),
                                 [0x0A], [0x0B], [0x0C], [0x0D], [0x0D, 0x0A], [0x85], [0xC2, 0x85], [0xE2, 0x80, 0xA8],
                                 [0xC3, 0xA9], [0xFF], [0x00], [0xE2, 0x80]]
        let input = Gen<[UInt8]?>.element(of: pieces).map { $0 ?? [] }.array(of: 0...6).map { $0.flatMap { $0 } }
        var decided = (matches: 0, nonMatches: 0, toRegex: 0)
        await propertyCheck(count: 4000, input: pattern, input) { source, bytes in
            guard !source.isEmpty else { return }  // refused: "an empty regex (//) matches everything"
            guard let plain = PlainRegex(source), let matcher = try? ByteMatcher(.regex(source)) else {
                Issue.record("\(source) should be plain")
                return
            }
            let expected = try? Self.regexCaptures(source, bytes)
            // The byte comparison alone, when it decides...
            switch bytes.withUnsafeBytes({ plain.firstMatch(in: $0) }) {
            case .noMatch:
                decided.nonMatches += 1
                #expect(expected == nil, "\(source) on \(bytes)")
            case .match(let whole, let group):
                decided.matches += 1
                let found = [Array(bytes[whole])] + (plain.hasGroup ? [Array(bytes[group])] : [])
                #expect(expected == found, "\(source) on \(bytes)")
            case .needsRegex:
                decided.toRegex += 1
            }
            // ...and the matcher as rules and expectations use it, which asks Regex when it does not.
            #expect(bytes.withUnsafeBytes { matcher.matchUnit($0) }?.captures == expected, "\(source) on \(bytes)")
            #expect(bytes.withUnsafeBytes { matcher.matchUnit($0, capturing: false) != nil } == (expected != nil))
            if let range = matcher.search(bytes) {
                #expect(Array(bytes[range]) == expected?.first ?? nil, "\(source) on \(bytes)")
            } else {
                #expect(expected == nil, "\(source) on \(bytes)")
            }
        }
        // Each way out was taken many times: the check compared something.
        #expect(decided.matches > 600 && decided.nonMatches > 600 && decided.toRegex > 15, "\(decided)")
    }

    // MARK: Properties

    static let bytes = Gen.uint8().array(of: 0...40)

    /// exact, contains and prefix mean what they say on any bytes, and a regex of a literal
    /// finds what `contains` finds.
    @Test func literalMatchesAgreeWithTheBytes() async {
        await propertyCheck(count: 400, input: Self.bytes, Self.bytes.filter { !$0.isEmpty }) { haystack, needle in
            let exact = try? ByteMatcher(.exact(needle))
            let contains = try? ByteMatcher(.contains(needle))
            let prefix = try? ByteMatcher(.prefix(needle))
            haystack.withUnsafeBytes { buffer in
                #expect((exact?.matchUnit(buffer) != nil) == (haystack == needle))
                #expect((prefix?.matchUnit(buffer) != nil) == haystack.starts(with: needle))
                let naive = haystack.count >= needle.count
                    && (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
                #expect((contains?.matchUnit(buffer) != nil) == naive)
                // The search's range holds the needle, and nothing earlier does.
                if let range = contains?.search(haystack) {
                    #expect(Array(haystack[range]) == needle)
                    #expect(!(0..<range.lowerBound).contains { Array(haystack[$0...].prefix(needle.count)) == needle })
                } else {
                    #expect(!naive)
                }
            }
        }
    }

    /// A regex of escaped literal bytes (each byte as `\xHH`, one scalar in the Latin-1 view,
    /// or itself in UTF-8) finds the same place as `contains` for ASCII.
    @Test func aLiteralRegexFindsWhatContainsFinds() async {
        let ascii = Gen<Character?>.element(of: Array("ab c\r\n.*+?()[]{}|^$\\/")).map { $0 ?? "a" }.string(of: 0...30)
        await propertyCheck(count: 300, input: ascii, ascii.filter { !$0.isEmpty }) { haystack, needle in
            let source = needle.unicodeScalars.map { "\\x{\(String($0.value, radix: 16))}" }.joined()
            let regex = try? ByteMatcher(.regex(source))
            let contains = try? ByteMatcher(.contains(Array(needle.utf8)))
            #expect(regex?.search(Array(haystack.utf8)) == contains?.search(Array(haystack.utf8)), "\(source) in \(haystack.debugDescription)")
        }
    }

    /// Any reply's bytes print and parse back to the same template.
    @Test func replyTemplatesRoundTrip() async {
        await propertyCheck(count: 400, input: Self.bytes, Gen.int(in: 0...9)) { bytes, capture in
            var parts: [ReplyTemplate.Part] = [.bytes(bytes)]
            if capture > 0 { parts += [.capture(capture), .bytes(Array("{{".utf8)), .count] }
            let template = ReplyTemplate(parts: parts)
            let text = template.text
            let inner = String(text.dropFirst().dropLast())
            let parsed = try? ReplyTemplate(parsing: CommandParser.tokenize(text)[0])
            #expect(parsed == template, "\(bytes) as \(text) / \(inner)")
        }
    }
}
