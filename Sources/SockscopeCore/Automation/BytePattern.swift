/// What a rule (`rule ... when MATCH`) or an expectation (`expect MATCH`) looks for in
/// received bytes, as the user wrote it. `ByteMatcher` is its compiled form.
public enum BytePattern: Hashable, Sendable {
    /// `/REGEX/`: Swift Regex syntax, matched on Unicode scalars (see `ByteMatcher`).
    case regex(String)
    /// `"exact"`: a rule's line or read is exactly these bytes; an expectation finds them.
    case exact([UInt8])
    /// `contains "x"`.
    case contains([UInt8])
    /// `prefix "x"`: a rule's line or read starts with them; an expectation's unread bytes do.
    case prefix([UInt8])
    /// `hex "de ad"`: as `exact`, written in hex.
    case hex([UInt8])

    /// The pattern as the command language writes it (`/GET (.*)/`, `contains "x"`).
    public var text: String {
        switch self {
        case .regex(let source): "/" + source + "/"
        case .exact(let bytes): CommandText.quoted(bytes)
        case .contains(let bytes): "contains " + CommandText.quoted(bytes)
        case .prefix(let bytes): "prefix " + CommandText.quoted(bytes)
        case .hex(let bytes): "hex \"" + bytes.map(Self.hexByte).joined(separator: " ") + "\""
        }
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
    }
}

/// A `BytePattern` ready to match: the regex compiled once, when the rule or expectation is
/// made (a bad one is a parse error), never per read.
///
/// A regex sees the bytes as text: as UTF-8 when they are valid UTF-8, otherwise each byte
/// as one scalar (Latin-1), so binary input still matches byte for byte. It matches on
/// Unicode scalars, not grapheme clusters, so `.` is one scalar and `\r\n` is two.
///
/// `Regex` is not `Sendable`; a matcher is only read after it is made (the regex is used
/// once at compile time, so its lazily built program exists before it is shared).
public struct ByteMatcher: @unchecked Sendable {
    public let pattern: BytePattern
    private let regex: Regex<AnyRegexOutput>?
    /// The regex again when its shape lets bytes be compared instead (`/^GET (.*)/`,
    /// `/(?s)(.*)/`: see `PlainRegex`): the same matches without building text or running
    /// `Regex`, which cost a rule more than the rest of its answer together.
    let plain: PlainRegex?
    private let needle: [UInt8]
    /// The bytes every match of an anchored regex starts with (`/^GET (.*)/`: `GET `): a unit
    /// that does not start with them is turned down without building its text or running the
    /// regex, the bulk of a rule's cost when many rules are tried on each read.
    let requiredPrefix: [UInt8]?

    public struct PatternError: Error, Hashable, Sendable {
        public let message: String
    }

    /// Where a match's groups lie in the unit (a rule's line or read), as byte offsets: group
    /// 0 the whole match, nil a group that took no part. Kept as offsets so that a reply copies
    /// its captures straight from the bytes received.
    public typealias Groups = [Range<Int>?]

    /// A match in a unit, its captures as bytes (group 0 the whole match).
    public struct UnitMatch {
        public var captures: [[UInt8]?]
    }

    public init(_ pattern: BytePattern) throws(PatternError) {
        self.pattern = pattern
        switch pattern {
        case .regex(let source):
            guard !source.isEmpty else { throw PatternError(message: "an empty regex (//) matches everything; write /.*/ if you mean it") }
            do {
                let compiled = try Regex(source).matchingSemantics(.unicodeScalar)
                // Builds the regex's program now, on this thread, before the matcher is shared.
                _ = "".firstMatch(of: compiled)
                regex = compiled
            } catch {
                throw PatternError(message: "bad regex /\(source)/: \(error)")
            }
            needle = []
            plain = PlainRegex(source)
            requiredPrefix = Self.literalPrefix(ofAnchored: source)
        case .exact(let bytes), .contains(let bytes), .prefix(let bytes), .hex(let bytes):
            regex = nil
            plain = nil
            needle = bytes
            requiredPrefix = nil
        }
    }

    /// The ASCII literal an anchored regex's every match starts with, or nil when it cannot be
    /// told for sure. Deliberately narrow: the source must start with `^` (a leading `(?s)`
    /// allowed on either side of it, as it changes only what `.` matches), must have no `|`
    /// anywhere (`^a|b` is `(^a)|b`), and the literal ends at the first character that is not
    /// plainly itself (`RegexLiteral`). A character a quantifier follows is left out.
    static func literalPrefix(ofAnchored source: String) -> [UInt8]? {
        var rest = Substring(source)
        guard !rest.contains("|") else { return nil }
        if rest.hasPrefix("(?s)") { rest = rest.dropFirst(4) }
        guard rest.hasPrefix("^") else { return nil }
        rest = rest.dropFirst()
        if rest.hasPrefix("(?s)") { rest = rest.dropFirst(4) }
        var scalars = rest.unicodeScalars[...]
        var literal = RegexLiteral.take(from: &scalars)
        // `ab?`, `ab*`, `ab{0,1}`, `ab+`: the last character may be absent or repeated.
        if let next = scalars.first, "?*{+".unicodeScalars.contains(next) { literal.removeLast() }
        return literal.isEmpty ? nil : literal
    }

    /// Whether a rule's unit (a line without its ending, or a whole read) matches: `exact`
    /// and `hex` are the whole unit, `contains` anywhere, `prefix` its start, a regex
    /// anywhere in it (anchor with `^...$` for the whole). Captures only for a regex.
    /// `capturing` false: only whether it matches (a reply without `\1` needs no captures, and
    /// a regex then skips building them).
    public func matchUnit(_ bytes: UnsafeRawBufferPointer, capturing: Bool = true) -> UnitMatch? {
        var text: MatchText?
        var groups: Groups = []
        guard matchUnit(bytes, text: &text, groups: &groups, capturing: capturing) else { return nil }
        return UnitMatch(captures: groups.map { $0.map { Array(bytes[$0]) } })
    }

    /// As `matchUnit(_:capturing:)`, for the hot path: on a match the groups go into
    /// `groups` (a buffer the caller reuses; a unit that does not match leaves it alone, as
    /// most rules tried on a read do not), `text` is the unit as a regex sees it, built by
    /// the first regex that needs it and reused by the next (one unit tried against many rules).
    public func matchUnit(_ bytes: UnsafeRawBufferPointer, text: inout MatchText?, groups: inout Groups,
                          capturing: Bool = true) -> Bool {
        switch pattern {
        case .exact, .hex:
            guard bytes.count == needle.count && bytes.elementsEqual(needle) else { return false }
            groups.removeAll(keepingCapacity: true)
            groups.append(0..<bytes.count)
        case .prefix:
            guard bytes.count >= needle.count && bytes.prefix(needle.count).elementsEqual(needle) else { return false }
            groups.removeAll(keepingCapacity: true)
            groups.append(0..<needle.count)
        case .contains:
            guard let start = Self.find(needle, in: bytes, from: 0) else { return false }
            groups.removeAll(keepingCapacity: true)
            groups.append(start..<(start + needle.count))
        case .regex:
            if let plain {
                switch plain.firstMatch(in: bytes) {
                case .noMatch: return false
                case .match(let whole, let group):
                    groups.removeAll(keepingCapacity: true)
                    groups.append(whole)
                    if plain.hasGroup { groups.append(group) }
                    return true
                case .needsRegex: break
                }
            }
            if let requiredPrefix, !(bytes.count >= requiredPrefix.count && bytes.prefix(requiredPrefix.count).elementsEqual(requiredPrefix)) {
                return false
            }
            return matchRegex(bytes, text: &text, groups: &groups, capturing: capturing)
        }
        return true
    }

    /// The part of `matchUnit` that runs `Regex`. A function of its own because `Regex`'s
    /// types are resilient (their sizes known only at run time): whatever function holds
    /// them sets up room for them on every call, which cost the byte comparisons above as much
    /// as they cost themselves.
    @inline(never)
    private func matchRegex(_ bytes: UnsafeRawBufferPointer, text: inout MatchText?, groups: inout Groups, capturing: Bool) -> Bool {
        guard let regex else { return false }
        let unit = text ?? MatchText(bytes)
        text = unit
        guard capturing else { return unit.string.contains(regex) }
        guard let match = unit.string.firstMatch(of: regex) else { return false }
        groups.removeAll(keepingCapacity: true)
        for group in match.output { groups.append(group.range.map(unit.offsets(of:))) }
        return true
    }

    /// Where an expectation finds its pattern in the bytes not yet consumed: the first
    /// occurrence (`prefix`: only at the start), as byte offsets.
    public func search(_ bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBytes { buffer in
            switch pattern {
            case .exact, .hex, .contains:
                return Self.find(needle, in: buffer, from: 0).map { $0..<($0 + needle.count) }
            case .prefix:
                return buffer.count >= needle.count && buffer.prefix(needle.count).elementsEqual(needle)
                    ? 0..<needle.count : nil
            case .regex:
                guard let regex else { return nil }
                switch plain?.firstMatch(in: buffer) {
                case .noMatch?: return nil
                case .match(let whole, _)?: return whole
                case .needsRegex?, nil: break
                }
                let text = MatchText(buffer)
                return text.string.firstMatch(of: regex).map { text.offsets(of: $0.range) }
            }
        }
    }

    /// The first offset at or after `start` where `needle` occurs.
    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let first = needle.first else { return start <= bytes.count ? start : nil }
        guard bytes.count >= needle.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < needle.count, bytes[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return index }
            }
            index += 1
        }
        return nil
    }
}

/// The characters a regex's source writes as plainly themselves, read as the bytes they match.
enum RegexLiteral {
    /// Takes characters from the front of `scalars` while each is a literal: an ASCII letter,
    /// digit or space, one of a few punctuation marks, or one of `.[](){}*+?^$|/\` escaped.
    /// Whatever else comes first (a class, a group, an anchor, a quantifier, `\d`...) stops it.
    static func take(from scalars: inout Substring.UnicodeScalarView) -> [UInt8] {
        var literal: [UInt8] = []
        while let scalar = scalars.first, scalar.isASCII {
            let byte = UInt8(scalar.value)
            if scalar.properties.isAlphabetic || (0x30...0x39).contains(byte) || Array(" -_:=,;<>@#%&'\"!~`/".utf8).contains(byte) {
                literal.append(byte)
                scalars = scalars.dropFirst()
            } else if byte == 0x5C, let escaped = scalars.dropFirst().first, escaped.isASCII,
                      Array(".[](){}*+?^$|/\\".utf8).contains(UInt8(escaped.value)) {
                literal.append(UInt8(escaped.value))
                scalars = scalars.dropFirst(2)
            } else {
                break
            }
        }
        return literal
    }
}

/// A regex simple enough that its first match is found by comparing bytes, giving what
/// `Regex` gives on the unit's text: an optional `^`, an ASCII literal (`RegexLiteral`), and
/// optionally a last group `(.*)` or `(.+)`, with `(?s)` allowed before any of them. Nothing
/// else (no `$`, no alternation, no quantifier on the literal, no other flag).
///
/// Why comparing bytes is the same: an ASCII byte in valid UTF-8 is always that ASCII scalar
/// and in the Latin-1 view every byte is one scalar, so the literal occurs at the same places
/// either way, and byte offsets are the offsets captures are kept in. With `(?s)` `.` is any
/// scalar, so the group runs to the unit's end. Without it `.` stops before a newline scalar
/// (`\n`, `\v`, `\f`, `\r`, and U+0085, U+2028, U+2029, which are made of bytes >= 0x80 and
/// mean different scalars in UTF-8 and Latin-1): at a byte >= 0x80 before the group's end
/// the answer is left to `Regex` (`needsRegex`). `RuleMatchingTests` checks all of this
/// against `Regex` on generated patterns and inputs.
struct PlainRegex: Hashable {
    let anchored: Bool
    let literal: [UInt8]
    /// The last group: `(.*)` or `(.+)`.
    let group: Group?

    struct Group: Hashable {
        let atLeastOne: Bool
        /// `(?s)` was in effect: `.` matches newlines too.
        let dotMatchesNewlines: Bool
    }

    enum Outcome: Equatable {
        case noMatch
        /// The whole match and the group's part (empty when the pattern has no group).
        case match(whole: Range<Int>, group: Range<Int>)
        case needsRegex
    }

    var hasGroup: Bool { group != nil }
}

extension PlainRegex {
    /// Reads the source's shape; nil when it is anything else.
    init?(_ source: String) {
        var rest = source.unicodeScalars[...]
        var dotMatchesNewlines = false
        func takeFlags() {
            while rest.starts(with: "(?s)".unicodeScalars) {
                rest = rest.dropFirst(4)
                dotMatchesNewlines = true
            }
        }
        takeFlags()
        anchored = rest.first == "^"
        if anchored { rest = rest.dropFirst() }
        var literal: [UInt8] = []
        while true {
            takeFlags()
            let piece = RegexLiteral.take(from: &rest)
            if piece.isEmpty { break }
            literal += piece
        }
        self.literal = literal
        if rest.starts(with: "(.*)".unicodeScalars) || rest.starts(with: "(.+)".unicodeScalars) {
            group = Group(atLeastOne: rest.dropFirst(2).first == "+", dotMatchesNewlines: dotMatchesNewlines)
            rest = rest.dropFirst(4)
        } else {
            group = nil
        }
        guard rest.isEmpty else { return nil }
    }

    /// The leftmost match, as `Regex.firstMatch` finds it (its group greedy).
    func firstMatch(in bytes: UnsafeRawBufferPointer) -> Outcome {
        var from = 0
        while true {
            let start: Int
            if anchored {
                guard from == 0, bytes.count >= literal.count, bytes.prefix(literal.count).elementsEqual(literal) else { return .noMatch }
                start = 0
            } else {
                guard let found = ByteMatcher.find(literal, in: bytes, from: from) else { return .noMatch }
                start = found
            }
            let literalEnd = start + literal.count
            guard let group else { return .match(whole: start..<literalEnd, group: literalEnd..<literalEnd) }
            var end = bytes.count
            if !group.dotMatchesNewlines {
                end = literalEnd
                while end < bytes.count {
                    let byte = bytes[end]
                    if byte >= 0x80 { return .needsRegex }
                    if (0x0A...0x0D).contains(byte) { break }
                    end += 1
                }
            }
            if !group.atLeastOne || end > literalEnd { return .match(whole: start..<end, group: literalEnd..<end) }
            from = start + 1
        }
    }
}

/// Received bytes as a regex sees them: UTF-8 text when they are valid UTF-8, else one
/// scalar per byte; and the way back from the text's positions to byte offsets.
public struct MatchText {
    let string: String
    /// False: Latin-1, one scalar per byte.
    let isUTF8: Bool

    init(_ bytes: UnsafeRawBufferPointer) {
        if let text = String(validating: bytes, as: UTF8.self) {
            string = text
            isUTF8 = true
        } else {
            // Latin-1 written straight as UTF-8 (a byte >= 0x80 is two code units): appending
            // scalar by scalar cost more than the regex itself.
            string = String(unsafeUninitializedCapacity: bytes.count * 2) { utf8 in
                var count = 0
                for byte in bytes {
                    if byte < 0x80 {
                        utf8[count] = byte
                        count += 1
                    } else {
                        utf8[count] = 0xC0 | byte >> 6
                        utf8[count + 1] = 0x80 | byte & 0x3F
                        count += 2
                    }
                }
                return count
            }
            isUTF8 = false
        }
    }

    /// The byte offset of a position in the text. As UTF-8 the text's code units are the
    /// bytes; as Latin-1 every byte >= 0x80 became two code units, the second a continuation
    /// byte (10xxxxxx), so the offset counts the code units that are not continuations.
    func offset(of index: String.Index) -> Int {
        let codeUnits = string.utf8.distance(from: string.startIndex, to: index)
        guard !isUTF8 else { return codeUnits }
        return string.utf8.withContiguousStorageIfAvailable { utf8 in
            var bytes = 0
            for unit in utf8[..<codeUnits] where unit & 0xC0 != 0x80 { bytes += 1 }
            return bytes
        } ?? string.unicodeScalars.distance(from: string.startIndex, to: index)
    }

    func offsets(of range: Range<String.Index>) -> Range<Int> {
        offset(of: range.lowerBound)..<offset(of: range.upperBound)
    }
}
