/// Decodes what a user types for data: `\n \r \t \0 \\ \" \xHH` escapes,
/// everything else as UTF-8. The inverse of `DisplayText.escape` for bytes.
public enum EscapedText {
    public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func decode(_ text: String) throws(DecodeError) -> [UInt8] {
        var out: [UInt8] = []
        var scalars = Array(text.unicodeScalars)[...]
        while let scalar = scalars.popFirst() {
            guard scalar == "\\" else {
                out.append(contentsOf: Array(String(scalar).utf8))
                continue
            }
            guard let next = scalars.popFirst() else {
                throw DecodeError(message: "text ends with a lone backslash; write \\\\ for a backslash")
            }
            switch next {
            case "n": out.append(0x0A)
            case "r": out.append(0x0D)
            case "t": out.append(0x09)
            case "0": out.append(0x00)
            case "e": out.append(0x1B)
            case "\\": out.append(0x5C)
            case "\"": out.append(0x22)
            case "'": out.append(0x27)
            case "x":
                let digits = String(String.UnicodeScalarView(scalars.prefix(2)))
                guard digits.count == 2, let byte = UInt8(digits, radix: 16) else {
                    throw DecodeError(message: "\\x needs two hex digits, as in \\x0a")
                }
                scalars = scalars.dropFirst(2)
                out.append(byte)
            case "u":
                // \u{HEX}: a Unicode scalar, as DisplayText writes C1 controls and bidi marks.
                guard scalars.first == "{", let close = scalars.firstIndex(of: "}"),
                      let value = UInt32(String(String.UnicodeScalarView(scalars[scalars.index(after: scalars.startIndex)..<close])), radix: 16),
                      let decoded = Unicode.Scalar(value) else {
                    throw DecodeError(message: "\\u needs a hex scalar in braces, as in \\u{202E}")
                }
                scalars = scalars[scalars.index(after: close)...]
                out.append(contentsOf: Array(String(decoded).utf8))
            default:
                throw DecodeError(message: "unknown escape \\\(next); known: \\n \\r \\t \\0 \\e \\\\ \\\" \\xHH \\u{HEX}")
            }
        }
        return out
    }
}
