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
    private let needle: [UInt8]
    /// The bytes every match of an anchored regex starts with (`/^GET (.*)/`: `GET `): a unit
    /// that does not start with them is turned down without building its text or running the
    /// regex, the bulk of a rule's cost when many rules are tried on each read.
    let requiredPrefix: [UInt8]?

    public struct PatternError: Error, Hashable, Sendable {
        public let message: String
    }

    /// A match in a unit (a rule's line or read): the captures' bytes, group 0 the whole match.
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
            requiredPrefix = Self.literalPrefix(ofAnchored: source)
        case .exact(let bytes), .contains(let bytes), .prefix(let bytes), .hex(let bytes):
            regex = nil
            needle = bytes
            requiredPrefix = nil
        }
    }

    /// The ASCII literal an anchored regex's every match starts with, or nil when it cannot be
    /// told for sure. Deliberately narrow: the source must start with `^` (a leading `(?s)`
    /// allowed on either side of it, as it changes only what `.` matches), must have no `|`
    /// anywhere (`^a|b` is `(^a)|b`), and the literal ends at the first character that is not
    /// plainly itself (a letter, digit, space or one of a few punctuation marks, or one of
    /// `.[](){}*+?^$|/\` escaped). A character a quantifier follows is left out.
    static func literalPrefix(ofAnchored source: String) -> [UInt8]? {
        var rest = Substring(source)
        guard !rest.contains("|") else { return nil }
        if rest.hasPrefix("(?s)") { rest = rest.dropFirst(4) }
        guard rest.hasPrefix("^") else { return nil }
        rest = rest.dropFirst()
        if rest.hasPrefix("(?s)") { rest = rest.dropFirst(4) }
        var literal: [UInt8] = []
        var scalars = rest.unicodeScalars[...]
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
        return matchUnit(bytes, text: &text, capturing: capturing)
    }

    /// As `matchUnit(_:capturing:)`, with `text` the unit as a regex sees it, built by the
    /// first regex that needs it and reused by the next (one unit tried against many rules).
    public func matchUnit(_ bytes: UnsafeRawBufferPointer, text: inout MatchText?, capturing: Bool = true) -> UnitMatch? {
        switch pattern {
        case .exact, .hex:
            return bytes.count == needle.count && bytes.elementsEqual(needle) ? UnitMatch(captures: [Array(bytes)]) : nil
        case .prefix:
            return bytes.count >= needle.count && bytes.prefix(needle.count).elementsEqual(needle)
                ? UnitMatch(captures: [needle]) : nil
        case .contains:
            return Self.find(needle, in: bytes, from: 0) != nil ? UnitMatch(captures: [needle]) : nil
        case .regex:
            guard let regex else { return nil }
            if let requiredPrefix, !(bytes.count >= requiredPrefix.count && bytes.prefix(requiredPrefix.count).elementsEqual(requiredPrefix)) {
                return nil
            }
            let unit = text ?? MatchText(bytes)
            text = unit
            guard capturing else { return unit.string.contains(regex) ? UnitMatch(captures: []) : nil }
            guard let match = unit.string.firstMatch(of: regex) else { return nil }
            return UnitMatch(captures: match.output.map { $0.substring.map(unit.bytes(of:)) })
        }
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
                let text = MatchText(buffer)
                guard let match = text.string.firstMatch(of: regex) else { return nil }
                return text.offset(of: match.range.lowerBound)..<text.offset(of: match.range.upperBound)
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

    func offset(of index: String.Index) -> Int {
        isUTF8 ? string.utf8.distance(from: string.startIndex, to: index)
            : string.unicodeScalars.distance(from: string.startIndex, to: index)
    }

    func bytes(of text: Substring) -> [UInt8] {
        isUTF8 ? Array(text.utf8) : text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }
}
