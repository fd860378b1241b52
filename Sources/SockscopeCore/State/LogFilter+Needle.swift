extension LogFilter {
    /// Filter text, lowercased, prepared once for searching many entries in their
    /// body as `LogText.body` shows it: an ASCII needle as bytes, ASCII letters in
    /// either case; any other in the lowercased body, by characters.
    public struct Needle: Hashable, Sendable {
        public let text: String
        /// `text` as UTF-8 when it is ASCII, the usual case.
        private let ascii: [UInt8]?
        /// True when data shows every byte that can match `ascii` as itself (no
        /// controls, no backslash). Then a data entry is searched without building its
        /// body: see `isFound(_:inData:scratch:)`.
        private let isVerbatim: Bool
        /// For each ASCII byte, the offsets into its escape where a match may start, as
        /// bits (bit 1: after the backslash of the newline's `\n`, for a needle starting with `n`).
        private let escapeStarts: [UInt8]
        /// True when some escape has such an offset.
        private let mayStartInEscapes: Bool
        /// A non-ASCII needle is found with `String.contains`, which compares characters
        /// under canonical equivalence: a few non-ASCII characters equal ASCII ones
        /// (U+037E GREEK QUESTION MARK is `;`). When the needle has a character that
        /// equals none, no body written in ASCII can contain it, and such bodies
        /// (nearly all) are ruled out from their bytes, without building Strings.
        private let needsNonASCII: Bool

        public init(_ lowercased: String) {
            text = lowercased
            let utf8 = Array(lowercased.utf8)
            ascii = utf8.allSatisfy { $0 < 0x80 } ? utf8 : nil
            isVerbatim = ascii != nil && DataEscaping.escapesStartUnshown && EventText.cutMark.allSatisfy { $0 >= 0x80 }
                && utf8.allSatisfy { byte in
                    DataEscaping.isVerbatim(byte) && (!Self.isLowercaseLetter(byte) || DataEscaping.isVerbatim(byte - 0x20))
                }
            escapeStarts = isVerbatim ? Self.escapeStarts(of: utf8) : []
            mayStartInEscapes = escapeStarts.contains { $0 != 0 }
            needsNonASCII = !lowercased.allSatisfy(Self.asciiCharacters.contains)
        }

        private static func escapeStarts(of pattern: [UInt8]) -> [UInt8] {
            (UInt8(0)..<0x80).map { byte in
                guard !DataEscaping.isVerbatim(byte) else { return 0 }
                let escape = DataEscaping.escape(byte)
                return escape.indices.reduce(0) { offsets, offset in
                    bytes(escape.span, at: offset, startWith: pattern.span, from: 0) ? offsets | 1 << offset : offsets
                }
            }
        }

        /// Every character a string of ASCII is made of.
        private static let asciiCharacters = Set((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) } + ["\r\n"])

        func isFound(in entry: LogEntry, scratch: inout [UInt8]) -> Bool {
            if let ascii, isVerbatim, entry.isData, let found = isFound(ascii, inData: entry, scratch: &scratch) {
                return found
            }
            scratch.removeAll(keepingCapacity: true)
            EventText.appendBody(entry, to: &scratch)
            if let ascii { return Self.bytes(scratch.span, containIgnoringCase: ascii.span) }
            if needsNonASCII, !scratch.contains(where: { $0 >= 0x80 }) { return false }
            return String(decoding: scratch, as: UTF8.self).lowercased().contains(text)
        }

        /// For a verbatim needle, whether a data entry's body (head, escaped preview,
        /// tail) contains it, without building the body. A match that starts at a
        /// preview byte shown as itself goes on over such bytes only (escapes start
        /// with a byte the needle lacks, the tail is a cut mark not in ASCII), so it is a match in
        /// the preview as it came. Other matches start in the head or inside an
        /// escape and, for the same reason, go on over preview bytes as they came.
        /// Nil when the preview is not all ASCII (its escaping is then not byte by byte).
        private func isFound(_ pattern: [UInt8], inData entry: LogEntry, scratch: inout [UInt8]) -> Bool? {
            let preview = entry.bytes.span
            let pattern = pattern.span
            if Self.bytes(preview, containIgnoringCase: pattern) { return true }
            guard Self.isASCII(preview) else { return nil }
            scratch.removeAll(keepingCapacity: true)
            EventText.appendDataHead(entry, to: &scratch)
            let head = scratch.span
            /// Whether `pattern` goes on, after its first `matched` bytes, in the preview at `index`.
            func continues(after matched: Int, at index: Int) -> Bool {
                let rest = pattern.count - matched
                return rest <= 0 || (index + rest <= preview.count && Self.bytes(preview, at: index, startWith: pattern, from: matched))
            }
            for start in head.indices where Self.bytes(head, at: start, startWith: pattern, from: 0) {
                if continues(after: head.count - start, at: 0) { return true }
            }
            guard mayStartInEscapes else { return false }
            let escapeStarts = escapeStarts.span
            func startsInEscape(at index: Int) -> Bool {
                let offsets = escapeStarts[Int(preview[index])]
                guard offsets != 0 else { return false }
                let escapeCount = DataEscaping.escapedCount(preview[index])
                for offset in 0..<escapeCount where offsets >> offset & 1 != 0 {
                    if continues(after: escapeCount - offset, at: index + 1) { return true }
                }
                return false
            }
            return DataEscaping.firstEscaped(in: preview, where: startsInEscape)
        }

        /// True when every body containing this needle contains `wider` too: this
        /// needle contains it, and both are searched the same way (bytes or characters).
        func narrows(_ wider: Needle) -> Bool {
            switch (ascii, wider.ascii) {
            case let (ascii?, widerASCII?): Self.bytes(ascii.span, containIgnoringCase: widerASCII.span)
            case (nil, nil): text.contains(wider.text)
            default: false
            }
        }

        // MARK: Bytes

        private static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }

        /// Setting bit 0x20 turns A-Z into a-z and nothing else into a letter, so
        /// `byte | caseBit(p) == p` compares a byte without case to lowercase ASCII p.
        @inline(__always) private static func caseBit(_ lowercase: UInt8) -> UInt8 { isLowercaseLetter(lowercase) ? 0x20 : 0 }

        /// Whether `bytes` from `index` and `pattern` (lowercase ASCII) from `start`
        /// agree, without case, as far as both go.
        private static func bytes(_ bytes: Span<UInt8>, at index: Int, startWith pattern: Span<UInt8>, from start: Int) -> Bool {
            let count = min(bytes.count - index, pattern.count - start)
            for offset in 0..<count where bytes[index + offset] | caseBit(pattern[start + offset]) != pattern[start + offset] {
                return false
            }
            return true
        }

        private static func isASCII(_ bytes: Span<UInt8>) -> Bool {
            bytes.withUnsafeBytes { bytes in
                var any: UInt64 = 0
                var offset = 0
                while offset + 8 <= bytes.count {
                    any |= WordOfBytes.load(bytes, at: offset)
                    offset += 8
                }
                while offset < bytes.count {
                    any |= UInt64(bytes[offset])
                    offset += 1
                }
                return any & WordOfBytes.repeating(0x80) == 0
            }
        }

        /// Byte search, ASCII letters compared without case; `pattern` is lowercase ASCII.
        static func bytes(_ haystack: Span<UInt8>, containIgnoringCase pattern: Span<UInt8>) -> Bool {
            haystack.withUnsafeBufferPointer { haystack in
                pattern.withUnsafeBufferPointer { pattern in bytes(haystack, containIgnoringCase: pattern) }
            }
        }

        private static func bytes(_ haystack: UnsafeBufferPointer<UInt8>, containIgnoringCase pattern: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let head = pattern.first else { return true }
            guard haystack.count >= pattern.count else { return false }
            @inline(__always) func matches(at start: Int) -> Bool {
                for offset in 0..<pattern.count where haystack[start + offset] | caseBit(pattern[offset]) != pattern[offset] {
                    return false
                }
                return true
            }
            let lastStart = haystack.count - pattern.count
            var start = 0
            // Eight bytes at a time, where the first pattern byte is: it turns to zero.
            let folding = WordOfBytes.repeating(caseBit(head))
            let wanted = WordOfBytes.repeating(head)
            while start + 7 <= lastStart {
                let word = WordOfBytes.load(UnsafeRawBufferPointer(haystack), at: start)
                var marks = WordOfBytes.marksBelow(1, in: (word | folding) ^ wanted)
                while marks != 0 {
                    if matches(at: start + marks.trailingZeroBitCount / 8) { return true }
                    marks &= marks &- 1
                }
                start += 8
            }
            while start <= lastStart {
                if matches(at: start) { return true }
                start += 1
            }
            return false
        }
    }
}

/// Eight bytes in a word, to look at them all at once.
enum WordOfBytes {
    @inline(__always)
    static func repeating(_ byte: UInt8) -> UInt64 { 0x0101_0101_0101_0101 &* UInt64(byte) }

    /// The eight bytes at `offset`, the first in the low byte.
    @inline(__always)
    static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Bit 7 set in every byte of `word` below `limit` (at most 0x80); also, maybe,
    /// in a byte equal to `limit` just above such a byte (the subtraction borrows):
    /// callers check each mark.
    @inline(__always)
    static func marksBelow(_ limit: UInt8, in word: UInt64) -> UInt64 {
        (word &- repeating(limit)) & ~word & repeating(0x80)
    }
}
