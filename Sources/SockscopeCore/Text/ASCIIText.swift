/// Text built as ASCII bytes. Headless lines, times and addresses are written this way:
/// String interpolation costs hundreds of instructions per piece, and every headless
/// line, log row and accepted connection pays it several times.
enum ASCIIText {
    /// `value` in decimal, zero-padded to at least `minimumDigits` digits (at most 19).
    static func appendDecimal(_ value: Int, minimumDigits: Int = 1, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        var digits = 1
        while digits < min(minimumDigits, 19) || divisor <= magnitude / 10 {
            divisor *= 10
            digits += 1
        }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        }
    }
}
