/// Parses hex a person types: `de ad be ef`, `deadbeef`, `0xde,0xad`, `de:ad`.
public enum HexText {
    public static func decode(_ text: String) throws(CommandParser.ParseError) -> [UInt8] {
        var digits: [UInt8] = []
        var scalars = Array(text.lowercased().unicodeScalars)[...]
        while let scalar = scalars.popFirst() {
            switch scalar {
            case " ", ",", ":", "-", "\t": continue
            case "0" where scalars.first == "x":
                scalars = scalars.dropFirst()
                // A lone "0x" prefix must be followed by digits; keep them in pairs from here.
                if digits.count % 2 == 1 { throw CommandParser.ParseError("sendhex: 0x in the middle of a byte") }
            default:
                guard let value = UInt8(String(scalar), radix: 16) else {
                    throw CommandParser.ParseError("sendhex: '\(scalar)' is not a hex digit; write bytes like \"de ad be ef\"")
                }
                digits.append(value)
            }
        }
        guard !digits.isEmpty else { throw CommandParser.ParseError("sendhex: no bytes given") }
        guard digits.count % 2 == 0 else {
            throw CommandParser.ParseError("sendhex: odd number of hex digits; each byte takes two, as in 0a")
        }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}
