/// `DisplayText.appendEscaped` for data previews, faster on ASCII: each ASCII
/// byte is a whole scalar, which `DisplayText` escapes without regard to its
/// neighbours, so its escape is looked up in a table made by `DisplayText`
/// itself, which alone decides what is escaped and how. For the same reason the
/// escaped form of ASCII data is the escapes of its bytes, one after another.
enum DataEscaping {
    /// The longest escape of an ASCII byte (`\xHH`).
    private static let widest = 4

    /// For each ASCII byte its escape, packed: the length in the low byte, then up to
    /// `widest` bytes of escape, first to last, so one store writes any escape.
    private static let asciiEscapes: [UInt64] = (0..<0x80).map { byte in
        var escape: [UInt8] = []
        DisplayText.appendEscaped([UInt8(byte)], to: &escape)
        precondition(escape.count <= widest)
        return escape.reversed().reduce(0) { $0 << 8 | UInt64($1) } << 8 | UInt64(escape.count)
    }

    /// How an ASCII byte is shown.
    static func escape(_ byte: UInt8) -> [UInt8] {
        let packed = asciiEscapes[Int(byte)]
        return (0..<Int(packed & 0xFF)).map { UInt8(truncatingIfNeeded: packed >> (8 * ($0 + 1))) }
    }

    /// How many bytes show an ASCII byte.
    static func escapedCount(_ byte: UInt8) -> Int {
        Int(asciiEscapes[Int(byte)] & 0xFF)
    }

    /// True if `byte` is shown as itself, wherever it is in the data.
    static func isVerbatim(_ byte: UInt8) -> Bool {
        byte < 0x80 && asciiEscapes[Int(byte)] == UInt64(byte) << 8 | 1
    }

    /// The ASCII bytes from 0x20 up not shown as themselves (the backslash, DEL),
    /// each repeated over a word.
    private static let escapedPrintableWords = (UInt8(0x20)..<0x80).filter { !isVerbatim($0) }.map(WordOfBytes.repeating)

    /// Calls `body` with the index of every byte of ASCII `data` not shown as itself
    /// (and maybe of a few that are: callers check), until it returns true.
    static func firstEscaped(in data: Span<UInt8>, where body: (Int) -> Bool) -> Bool {
        let printable = escapedPrintableWords
        return data.withUnsafeBytes { data in
            var index = 0
            // Eight bytes at a time: the controls, and the bytes that equal an escaped printable one.
            while index + 8 <= data.count {
                let word = WordOfBytes.load(data, at: index)
                var marks = WordOfBytes.marksBelow(0x20, in: word)
                for bytes in printable { marks |= WordOfBytes.marksBelow(1, in: word ^ bytes) }
                while marks != 0 {
                    if body(index + marks.trailingZeroBitCount / 8) { return true }
                    marks &= marks &- 1
                }
                index += 8
            }
            while index < data.count {
                if !isVerbatim(data[index]), body(index) { return true }
                index += 1
            }
            return false
        }
    }

    /// True when every ASCII byte not shown as itself is shown starting with a byte
    /// that is not shown as itself either (the backslash): text made of bytes shown
    /// as themselves never runs into an escape, it can only start inside one.
    static let escapesStartUnshown = (0..<0x80).allSatisfy { byte in
        isVerbatim(UInt8(byte)) || escape(UInt8(byte)).first.map { !isVerbatim($0) } == true
    }

    static func append(_ bytes: ArraySlice<UInt8>, to out: inout [UInt8]) {
        let start = out.count
        var isASCII = true
        asciiEscapes.withUnsafeBufferPointer { escapes in
            bytes.withUnsafeBufferPointer { bytes in
                // Room for the widest escape of every byte, so each may store `widest` bytes.
                out.append(addingCapacity: bytes.count * widest) { span in
                    span.withUnsafeMutableBufferPointer { room, written in
                        guard let base = UnsafeMutableRawPointer(room.baseAddress) else { return }
                        for byte in bytes {
                            guard byte < 0x80 else {
                                isASCII = false
                                return
                            }
                            let escape = escapes[Int(byte)]
                            let shown = UInt32(truncatingIfNeeded: escape >> 8)
                            base.storeBytes(of: shown.littleEndian, toByteOffset: written, as: UInt32.self)
                            written += Int(escape & 0xFF)
                        }
                    }
                }
            }
        }
        if !isASCII {
            // UTF-8 sequences and invalid bytes: DisplayText decodes them, and decides
            // whether the data is text at all.
            out.removeSubrange(start...)
            DisplayText.appendEscapedData(Array(bytes), to: &out)
        }
    }
}
