/// Classic hex and ASCII lines: `0000  47 45 54 20 ...  GET ...`.
public enum HexDump {
    public static let bytesPerLine = 16

    public static func lines(_ bytes: [UInt8]) -> [String] {
        stride(from: 0, to: bytes.count, by: bytesPerLine).map { offset in
            let chunk = bytes[offset..<min(offset + bytesPerLine, bytes.count)]
            var hex = ""
            for (index, byte) in chunk.enumerated() {
                if index == 8 { hex += " " }
                DisplayText.appendHexDigits(byte, to: &hex)
                hex += " "
            }
            let padding = String(repeating: " ", count: (bytesPerLine - chunk.count) * 3 + (chunk.count <= 8 ? 1 : 0))
            // Only printable ASCII is shown as itself; everything else is a dot.
            let ascii = String(chunk.map { (0x20...0x7E).contains($0) ? Character(Unicode.Scalar($0)) : "." })
            return "\(hexOffset(offset))  \(hex)\(padding) \(ascii)"
        }
    }

    private static func hexOffset(_ offset: Int) -> String {
        let digits = String(offset, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
