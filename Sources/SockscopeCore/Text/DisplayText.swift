/// Turns untrusted bytes (network data, process names, paths) into text that is
/// safe to show on a terminal: printable UTF-8 stays, everything that could
/// move the cursor, change colours, set the title or reorder text is escaped.
public enum DisplayText {
    /// Escapes bytes as C-like text: `\n`, `\r`, `\t`, `\\`, `\xHH` for other
    /// controls and invalid UTF-8, `\u{...}` for every scalar `isSafe` refuses (C1
    /// controls, bidi marks and overrides, every other format or default-ignorable
    /// character, private-use and unassigned ones) and for a combining mark with
    /// nothing shown to mark. Data that is mostly not text shows all its non-ASCII
    /// bytes as `\xHH` (`appendEscapedData`).
    /// - Parameter backslashes: double backslashes so every escape is unambiguous
    ///   (data); false for our own messages and typed commands, where `\n` should read as typed.
    public static func escape(_ bytes: some Collection<UInt8>, backslashes: Bool = true) -> String {
        // Built as UTF-8 bytes and decoded once: appending to a String scalar by
        // scalar cost ~100 instructions a byte, and headless output escapes every preview.
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        if backslashes {
            // Data, the bulk of what is escaped (every headless data line): the table-driven path.
            DataEscaping.append(ArraySlice(bytes), to: &out)
        } else {
            appendEscaped(Array(bytes), backslashes: false, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `escape` as UTF-8 appended to `out`, for callers that search or write bytes.
    static func appendEscaped(_ bytes: [UInt8], backslashes: Bool = true, to out: inout [UInt8]) {
        forEachPiece(of: bytes, backslashes: backslashes) { append($0, of: bytes, to: &out) }
    }

    @inline(__always)
    private static func append(_ piece: Piece, of bytes: [UInt8], to out: inout [UInt8]) {
        switch piece {
        case .asIs(let range) where range.count <= 4:
            // One scalar: byte by byte, cheaper than copying a slice.
            for index in range { out.append(bytes[index]) }
        case .asIs(let range): out.append(contentsOf: bytes[range])
        case .escaped(let scalar): appendEscaped(scalar, to: &out)
        case .invalid(let byte): appendHex(byte, to: &out)
        }
    }

    /// `appendEscaped` for data (backslashes doubled), unless the data is mostly not
    /// text (`TextTally`): then every byte of a UTF-8 sequence is shown as `\xHH` too,
    /// so binary data never reads as the characters it happens to spell. ASCII bytes
    /// are shown the same way in both cases (printable as themselves), so text inside
    /// binary data stays readable and all-ASCII data never needs this decision.
    static func appendEscapedData(_ bytes: [UInt8], to out: inout [UInt8]) {
        // Written as text while counting, in one pass: text is the common case.
        let start = out.count
        var tally = TextTally()
        forEachPiece(of: bytes, backslashes: true) { piece in
            tally.count(piece, of: bytes)
            append(piece, of: bytes, to: &out)
        }
        guard tally.isMostlyBinary else { return }
        out.removeSubrange(start...)
        for byte in bytes {
            if isPlain(byte) {
                out.append(byte)
            } else if byte < 0x80 {
                appendEscaped(Unicode.Scalar(byte), to: &out)
            } else {
                appendHex(byte, to: &out)
            }
        }
    }

    /// Whether `appendEscapedData` shows `bytes` as binary.
    static func isMostlyBinary(_ bytes: [UInt8]) -> Bool {
        var tally = TextTally()
        forEachPiece(of: bytes, backslashes: true) { tally.count($0, of: bytes) }
        return tally.isMostlyBinary
    }

    /// Counts the characters of data that are text and those that are not.
    private struct TextTally {
        var text = 0
        var other = 0
        var showsNonASCII = false

        @inline(__always)
        mutating func count(_ piece: Piece, of bytes: [UInt8]) {
            switch piece {
            case .asIs(let range) where bytes[range.lowerBound] >= 0x80:
                // One non-ASCII scalar.
                text += 1
                showsNonASCII = true
            case .asIs(let range):
                text += range.count
            case .escaped(let scalar):
                if ScalarTraits.of(scalar).isText { text += 1 } else { other += 1 }
            case .invalid:
                other += 1
            }
        }

        /// "Mostly not text": more than half of the characters are not text, a byte that
        /// is not part of valid UTF-8 counting as one character. Not text: controls
        /// other than newline, carriage return and tab (C0, DEL, C1), private-use,
        /// unassigned and noncharacter scalars, invalid bytes (`ScalarTraits.isText`).
        /// Invisible characters are text, only escaped. Half or fewer, and the data is
        /// text. Data with no non-ASCII character shown as itself reads as nothing it
        /// is not, and is left as it is.
        var isMostlyBinary: Bool { showsNonASCII && other > text }
    }

    /// How `appendEscaped` shows a stretch of bytes.
    private enum Piece {
        /// UTF-8 shown as it is.
        case asIs(Range<Int>)
        /// A valid scalar shown as its escape.
        case escaped(Unicode.Scalar)
        /// A byte that is not part of valid UTF-8, shown as `\xHH`.
        case invalid(UInt8)
    }

    /// Calls `body` with each piece of `bytes`, in order, as `appendEscaped` shows them:
    /// the one place that decides what is shown as itself.
    @inline(__always)
    private static func forEachPiece(of bytes: [UInt8], backslashes: Bool, _ body: (Piece) -> Void) {
        var index = 0
        // A combining mark is shown only on a character shown as itself: alone, or
        // after an escape, it would draw on a neighbour (`\n` plus a slash overlay reads
        // as another escape) or take no column at all.
        var followsShown = false
        while index < bytes.count {
            // Printable ASCII other than the backslash, the common case, as one run.
            let start = index
            while index < bytes.count, isPlain(bytes[index]) { index += 1 }
            if index > start {
                body(.asIs(start..<index))
                followsShown = true
                continue
            }
            guard let (scalar, length) = decodeScalar(bytes, at: index) else {
                body(.invalid(bytes[index]))
                followsShown = false
                index += 1
                continue
            }
            let shown: Bool
            if scalar == "\\" {
                shown = !backslashes
            } else if length > 1 {
                let traits = ScalarTraits.of(scalar)
                shown = traits.isShownAsIs && (traits.columns > 0 || followsShown)
            } else {
                shown = false
            }
            body(shown ? .asIs(index..<(index + length)) : .escaped(scalar))
            followsShown = shown
            index += length
        }
    }

    /// Printable ASCII other than the backslash: shown as itself anywhere.
    @inline(__always)
    private static func isPlain(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F && byte != 0x5C }

    /// Escapes a Swift string that came from outside (a process name, a path).
    public static func escape(string: String, backslashes: Bool = true) -> String {
        // Most text escaped this way (addresses, reasons, ids) is printable ASCII without a
        // backslash: handed back as it is, without building a copy.
        if isPlain(string) { return string }
        return escape(Array(string.utf8), backslashes: backslashes)
    }

    /// `escape(string:)` appended to `out` as UTF-8.
    static func appendEscaped(string: String, to out: inout [UInt8]) {
        if isPlain(string) {
            out.append(contentsOf: string.utf8)
        } else {
            DataEscaping.append(ArraySlice(string.utf8), to: &out)
        }
    }

    /// Printable ASCII without a backslash: escapes to itself. Native strings are
    /// scanned in place; walking `String.UTF8View` an index at a time cost ~25
    /// instructions a byte, and every address of every accepted connection passes here.
    private static func isPlain(_ string: String) -> Bool {
        func plain(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F && byte != 0x5C }
        return string.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(plain) }
            ?? string.utf8.allSatisfy(plain)
    }

    /// True if the scalar may be written to a terminal as it is (`ScalarTraits`):
    /// not a control, not invisible (Cf, Default_Ignorable), not a line or paragraph
    /// separator, not private-use or unassigned.
    public static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        ScalarTraits.of(scalar).isShownAsIs
    }

    /// A control, the backslash, or a non-ASCII scalar not shown as itself, as its escape, in UTF-8.
    private static func appendEscaped(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        switch scalar {
        case "\n": out += [0x5C, 0x6E]
        case "\r": out += [0x5C, 0x72]
        case "\t": out += [0x5C, 0x74]
        case "\\": out += [0x5C, 0x5C]
        default:
            if scalar.value < 0x80 {
                if isSafe(scalar) { out.append(UInt8(scalar.value)) } else { appendHex(UInt8(scalar.value), to: &out) }
            } else {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".utf8
            }
        }
    }

    private static let hexDigitBytes = Array("0123456789abcdef".utf8)

    private static func appendHex(_ byte: UInt8, to out: inout [UInt8]) {
        // Appended one by one: an array literal here was allocated per byte.
        out.append(0x5C)
        out.append(0x78)
        out.append(hexDigitBytes[Int(byte >> 4)])
        out.append(hexDigitBytes[Int(byte & 0xF)])
    }

    private static let hexDigits = Array("0123456789abcdef")

    /// Two lowercase hex digits.
    static func appendHexDigits(_ byte: UInt8, to out: inout String) {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0xF)])
    }

    /// The valid UTF-8 scalar starting at `index` and its length, or nil if the bytes there are not one
    /// (overlong forms, surrogates and truncated sequences are rejected).
    static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length: Int
        let minimum: UInt32
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: length = 2; minimum = 0x80
        case 0xE0...0xEF: length = 3; minimum = 0x800
        case 0xF0...0xF4: length = 4; minimum = 0x10000
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        var value = UInt32(lead) & (0xFF >> UInt32(length + 1))
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return nil }
            value = (value << 6) | UInt32(byte & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}
