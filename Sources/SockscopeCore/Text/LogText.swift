/// How a log entry is laid out in the Log pane and a saved text log: time, id, marker, body.
public enum LogText {
    /// A one-character marker for the entry's direction or kind.
    public static func marker(_ kind: LogKind) -> String {
        switch kind {
        case .received: "←"
        case .sent: "→"
        case .info: "·"
        case .error: "!"
        case .command: ">"
        }
    }

    /// The entry's body with every untrusted byte escaped, as `EventText` words it.
    public static func body(_ entry: LogEntry) -> String {
        var out: [UInt8] = []
        EventText.appendBody(entry, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A data entry's kept payload cut at its line feeds, each line escaped (the `\n` kept at
    /// its end, so nothing is hidden): the Log pane's conversation form.
    public static func payloadLines(_ entry: LogEntry) -> [String] {
        var lines: [String] = []
        var start = entry.bytes.startIndex
        while start < entry.bytes.endIndex {
            let end = entry.bytes[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? entry.bytes.endIndex
            var out: [UInt8] = []
            DataEscaping.append(entry.bytes[start..<end], to: &out)
            lines.append(String(decoding: out, as: UTF8.self))
            start = end
        }
        if entry.count > entry.bytes.count { lines.append("… (\(entry.count - entry.bytes.count) more bytes not kept)") }
        return lines
    }

    /// `17:50:03.123 C2 ← 5 B hello\n`
    public static func line(_ entry: LogEntry) -> String {
        let id = entry.socket?.description ?? "-"
        return "\(TimeText.clock(entry.time)) \(id.padding(3)) \(marker(entry.kind)) \(body(entry))"
    }
}

/// Human-readable byte counts: exact below 10 KiB so small exchanges can be checked by eye.
public enum ByteCount {
    /// A size as typed (`--max 64M`): a number of bytes, with K, M or G (powers of 1024; a
    /// trailing `B` or `iB` is allowed). Nil for anything else.
    public static func parse(_ text: String) -> Int? {
        var digits = Substring(text.uppercased())
        if digits.hasSuffix("IB") { digits = digits.dropLast(2) } else if digits.hasSuffix("B") { digits = digits.dropLast() }
        let shift = switch digits.last {
        case "K": 10
        case "M": 20
        case "G": 30
        default: 0
        }
        if shift > 0 { digits = digits.dropLast() }
        guard let number = Int(digits), number >= 0, number <= Int.max >> shift else { return nil }
        return number << shift
    }

    /// A size as `parse` reads it back: the largest unit that divides it exactly.
    public static func sizeWord(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] where bytes > 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return String(bytes)
    }

    public static func text(_ bytes: Int) -> String {
        var out: [UInt8] = []
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` as UTF-8, appended to `out`; the exact form, the common one, without building a String.
    static func append(_ bytes: Int, to out: inout [UInt8]) {
        guard bytes >= 0, bytes < 10_240 else {
            out += largeText(bytes).utf8
            return
        }
        // At most five digits and " B": the bytes of one word, first in its low byte.
        var word: UInt64 = 0x42_20  // " B"
        var length = 2
        var rest = bytes
        repeat {
            word = word << 8 | UInt64(0x30 + rest % 10)
            length += 1
            rest /= 10
        } while rest > 0
        withUnsafeBytes(of: word.littleEndian) { out += UnsafeRawBufferPointer(rebasing: $0[..<length]) }
    }

    private static func largeText(_ bytes: Int) -> String {
        if bytes < 10_240 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        var tenths = Int((value * 10).rounded())
        // 1023.96 KiB rounds to 1024.0 KiB: that is 1.0 MiB.
        if tenths >= 10_240, unit < units.count - 1 {
            unit += 1
            tenths = Int((value / 1024 * 10).rounded())
        }
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}

extension String {
    /// Pads on the right with spaces to at least `width` characters.
    public func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
