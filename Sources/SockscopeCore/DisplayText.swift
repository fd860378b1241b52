/// Turns untrusted bytes (network data, process names, paths) into text that is
/// safe to show on a terminal: printable UTF-8 stays, everything that could
/// move the cursor, change colours, set the title or reorder text is escaped.
public enum DisplayText {
    /// Escapes bytes as C-like text: `\n`, `\r`, `\t`, `\\`, `\xHH` for other
    /// controls and invalid UTF-8, `\u{...}` for C1 controls, bidi overrides
    /// and other invisible format characters.
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
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // Printable ASCII other than the backslash, the common case, is copied as it is.
            if byte >= 0x20, byte < 0x7F, byte != 0x5C {
                out.append(byte)
                index += 1
            } else if let (scalar, length) = decodeScalar(bytes, at: index) {
                if scalar == "\\", !backslashes {
                    out.append(0x5C)
                } else if length > 1, isSafe(scalar) {
                    out.append(contentsOf: bytes[index..<(index + length)])
                } else {
                    appendEscaped(scalar, to: &out)
                }
                index += length
            } else {
                appendHex(byte, to: &out)
                index += 1
            }
        }
    }

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

    /// True if the scalar may be written to a terminal as it is.
    public static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || value == 0x7F { return false }
        if (0x80...0x9F).contains(value) { return false }
        if isInvisibleFormat(value) { return false }
        return true
    }

    private static func isInvisibleFormat(_ value: UInt32) -> Bool {
        // Bidi embeddings/overrides/isolates, zero-width characters, line and
        // paragraph separators, BOM, interlinear annotations, tag characters.
        (0x200B...0x200F).contains(value) || (0x2028...0x202E).contains(value)
            || (0x2060...0x206F).contains(value) || value == 0xFEFF
            || (0xFFF9...0xFFFB).contains(value) || (0xE0000...0xE007F).contains(value)
    }

    /// A control, backslash or unsafe scalar as its escape, in UTF-8.
    private static func appendEscaped(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        switch scalar {
        case "\n": out += [0x5C, 0x6E]
        case "\r": out += [0x5C, 0x72]
        case "\t": out += [0x5C, 0x74]
        case "\\": out += [0x5C, 0x5C]
        default:
            if scalar.value < 0x80 {
                if isSafe(scalar) { out.append(UInt8(scalar.value)) } else { appendHex(UInt8(scalar.value), to: &out) }
            } else if isSafe(scalar) {
                out += String(scalar).utf8
            } else {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".utf8
            }
        }
    }

    private static let hexDigitBytes = Array("0123456789abcdef".utf8)

    private static func appendHex(_ byte: UInt8, to out: inout [UInt8]) {
        out += [0x5C, 0x78, hexDigitBytes[Int(byte >> 4)], hexDigitBytes[Int(byte & 0xF)]]
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
