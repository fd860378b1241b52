import PropertyBased
import Testing
@testable import SockscopeCore

/// The log filter's fast text search (bytes in a reused buffer, ASCII folding,
/// narrowing while typing) against a plain reference: the body built with
/// Strings as `LogText.body` used to, searched the obvious way.
@Suite struct LogFilterTests {
    // MARK: The reference

    /// An entry's body as shown: count, datagram peer, escaped preview, … when cut.
    static func referenceBody(_ entry: LogEntry) -> String {
        switch entry.kind {
        case .received, .sent:
            // A datagram's peer is an endpoint, which writes itself escaped.
            let peer = entry.text.isEmpty ? "" : (entry.kind == .received ? " from " : " to ") + entry.text
            let more = entry.count > entry.bytes.count ? "…" : ""
            return ByteCount.text(entry.count) + peer + " " + DisplayText.escape(entry.bytes) + more
        case .info, .error, .command:
            return DisplayText.escape(string: entry.text, backslashes: false)
        }
    }

    /// What a text filter keeps: an ASCII needle is searched in the body's bytes with
    /// ASCII letters in either case; any other needle in the lowercased body, by
    /// characters (which compare under canonical equivalence).
    static func referenceMatches(_ typed: String, _ entry: LogEntry) -> Bool {
        let needle = typed.lowercased()
        let body = referenceBody(entry)
        guard needle.unicodeScalars.allSatisfy(\.isASCII) else {
            // Spelt out: in this test module Foundation's `contains` (UTF-16, not characters) would be picked.
            return occurs(Array(needle), in: Array(body.lowercased()))
        }
        return occurs(Array(needle.utf8), in: body.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 })
    }

    static func occurs<Element: Equatable>(_ pattern: [Element], in haystack: [Element]) -> Bool {
        pattern.isEmpty || haystack.indices.contains { haystack[$0...].starts(with: pattern) }
    }

    // MARK: Random entries and needles

    /// Bytes that exercise every branch of escaping: letters of both cases, the
    /// backslash, controls, DEL, UTF-8 (accents, CJK, bidi override, Kelvin sign,
    /// Greek question mark, a combining accent) and invalid UTF-8.
    static let pieces: [[UInt8]] = [
        "a", "B", "e", "K", "k", "x", "1", "b", " ", ";", "/", "\\", "{", "}", "…", "é", "É", "漢", "\u{202E}", "\u{212A}",
        "\u{037E}", "\u{301}", "GET /item", "HTTP/1.1", "\r\n",
    ].map { Array($0.utf8) } + [[0x00], [0x1B], [0x09], [0x7F], [0x80], [0xC3], [0xFF], [0xE2, 0x80], [0x85]]

    /// A deterministic generator, so a failing seed can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The ASCII pieces: data in ASCII is searched without building its body.
    static let asciiPieces = pieces.filter { $0.allSatisfy { $0 < 0x80 } }

    static func randomBytes(_ random: inout SplitMix, maximumPieces: Int, ascii: Bool = false) -> [UInt8] {
        (0..<Int.random(in: 0...maximumPieces, using: &random)).flatMap { _ in
            random.next() % 8 == 0 ? [UInt8.random(in: 0...(ascii ? 0x7F : 0xFF), using: &random)]
                : (ascii ? asciiPieces : pieces).randomElement(using: &random)!
        }
    }

    static func randomEntry(_ random: inout SplitMix) -> LogEntry {
        let ascii = random.next() % 2 == 0
        let kind = [LogKind.received, .sent, .info, .error, .command].randomElement(using: &random)!
        let socket = SocketID(.connection, Int.random(in: 1...3, using: &random))
        let time = Timestamp(nanoseconds: 0)
        switch kind {
        case .received, .sent:
            let bytes = randomBytes(&random, maximumPieces: 12, ascii: ascii)
            let count = [bytes.count, bytes.count + 1, 10_240, 3 << 20][Int.random(in: 0...3, using: &random)]
            // A third are datagrams, which name their peer.
            let peerBytes = randomBytes(&random, maximumPieces: 3, ascii: ascii)
            let peer = random.next() % 3 == 0 ? String(decoding: peerBytes, as: UTF8.self) + "1.2.3.4:5" : ""
            return LogEntry(time: time, socket: socket, kind: kind, count: max(count, bytes.count), bytes: bytes, text: peer)
        case .info, .error, .command:
            let text = String(decoding: randomBytes(&random, maximumPieces: 8), as: UTF8.self)
            return LogEntry(time: time, socket: socket, kind: kind, text: text)
        }
    }

    /// Mostly a piece of the entry's body with letters' case changed, so that many
    /// needles match (starting and ending anywhere, inside escapes too); sometimes
    /// unrelated text, so that many do not.
    static func randomNeedle(for entry: LogEntry, _ random: inout SplitMix) -> String {
        let body = Array(referenceBody(entry))
        guard random.next() % 4 != 0, !body.isEmpty else {
            return String(decoding: randomBytes(&random, maximumPieces: 3, ascii: random.next() % 2 == 0), as: UTF8.self)
        }
        let start = Int.random(in: 0..<body.count, using: &random)
        let end = Int.random(in: (start + 1)...min(body.count, start + 8), using: &random)
        return body[start..<end].map { random.next() % 2 == 0 ? $0.uppercased() : String($0) }.joined()
    }

    // MARK: Properties

    @Test func bodyBytesAreTheReferenceBody() async {
        await propertyCheck(count: 2000, input: Gen.uint64()) { seed in
            var random = SplitMix(state: seed)
            let entry = Self.randomEntry(&random)
            #expect(LogText.body(entry) == Self.referenceBody(entry), "seed \(seed)")
        }
    }

    @Test func dataEscapingIsDisplayTextEscaping() async {
        await propertyCheck(count: 1000, input: Gen.uint8().array(of: 0...200), Gen.int(in: 0...10)) { bytes, cut in
            var out: [UInt8] = [0x2A]
            DataEscaping.append(bytes[...], to: &out)
            #expect(out == [0x2A] + Array(DisplayText.escape(bytes).utf8))
            // A slice that does not start at 0.
            let tail = bytes.dropFirst(cut)
            out = []
            DataEscaping.append(tail, to: &out)
            #expect(out == Array(DisplayText.escape(Array(tail)).utf8))
        }
    }

    @Test func textSearchMatchesTheReference() async {
        await propertyCheck(count: 3000, input: Gen.uint64()) { seed in
            var random = SplitMix(state: seed)
            let entry = Self.randomEntry(&random)
            let needle = Self.randomNeedle(for: entry, &random)
            guard !needle.isEmpty else { return }
            var scratch: [UInt8] = Array("left over from another entry".utf8)
            let found = LogFilter.Needle(needle.lowercased()).isFound(in: entry, scratch: &scratch)
            #expect(found == Self.referenceMatches(needle, entry),
                    "seed \(seed): \(needle.debugDescription) in \(Self.referenceBody(entry).debugDescription)")
        }
    }

    /// Every ASCII byte, at every place in and after an eight-byte word, with every
    /// piece of what is shown around it as the needle: escapes are found wherever they are.
    @Test func everyASCIIByteInEveryPlace() {
        for byte in UInt8(0)..<0x80 {
            for before in 0..<10 {
                let bytes = Array("aB3 xyz!/".utf8.prefix(before)) + [byte] + Array("Cd\\".utf8)
                let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: nil, kind: .sent, count: bytes.count, bytes: bytes)
                let body = Array(Self.referenceBody(entry).utf8)
                // Needles that start from a little before the byte's escape to inside it.
                let shownAt = (ByteCount.text(bytes.count) + " ").utf8.count + before
                for start in max(0, shownAt - 6)...(shownAt + DataEscaping.escapedCount(byte) - 1) {
                    for end in (start + 1)...min(body.count, start + 7) {
                        let needle = String(decoding: body[start..<end], as: UTF8.self)
                        var scratch: [UInt8] = []
                        let found = LogFilter.Needle(needle.lowercased()).isFound(in: entry, scratch: &scratch)
                        #expect(found, "\(needle.debugDescription) in \(Self.referenceBody(entry).debugDescription)")
                    }
                }
                // And a needle found nowhere, which takes every path to its end.
                var scratch: [UInt8] = []
                #expect(!LogFilter.Needle("qq").isFound(in: entry, scratch: &scratch))
            }
        }
    }

    /// Typing, erasing and retyping a filter while entries arrive, merge and fall off
    /// the ring: the index always holds exactly what a full scan finds.
    @Test func indexFollowsTypingAndNewEntries() async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            var random = SplitMix(state: seed)
            var log = LogBook(capacity: 40, byteBudget: 400)
            var index = LogFilterIndex()
            var typed = ""
            var nanoseconds: Int64 = 0
            for _ in 0..<50 {
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    let entry = Self.randomEntry(&random)
                    nanoseconds += random.next() % 2 == 0 ? 1_000 : 100_000_000
                    if let socket = entry.socket, entry.kind == .received || entry.kind == .sent, entry.text.isEmpty {
                        // Through appendData, so close reads merge into the newest entry.
                        log.appendData(time: Timestamp(nanoseconds: nanoseconds), socket: socket, kind: entry.kind,
                                       bytes: entry.bytes, count: entry.count)
                    } else {
                        log.append(entry)
                    }
                }
                switch random.next() % 6 {
                case 0: if !typed.isEmpty { typed.removeLast() }
                case 1: typed = ""
                default:
                    let source = log.count > 0 ? log[Int.random(in: 0..<log.count, using: &random)] : Self.randomEntry(&random)
                    let piece = Self.randomNeedle(for: source, &random)
                    typed += String(piece.prefix(Int.random(in: 1...2, using: &random)))
                }
                let filterText = typed.isEmpty ? nil : typed
                index.update(for: filterText, log: log)
                let expected = LogFilter.window(of: log, filter: LogFilter(filterText), skip: 0, count: log.count)
                if let filter = LogFilter(filterText), log.count > 0 {
                    #expect(index.window(of: log, filterText: filterText, skip: 0, count: log.count) == expected,
                            "seed \(seed), filter \(typed.debugDescription)")
                    if case .text = filter.criterion {
                        #expect(expected == (0..<log.count).filter { Self.referenceMatches(typed, log[$0]) }, "seed \(seed)")
                    }
                }
            }
        }
    }

    // MARK: Cases worth naming

    @Test(arguments: [
        // (needle, body source, found)
        ("hello", "HeLLo world", true),
        ("WORLD", "hello world", true),
        ("10 b 64", "64 B GET /", true),  // the count is part of the body
        ("6 b get /", "GET /x", true),
        (" get /", "GET /x", true),  // from the space before the data to its fifth byte
        ("nhost", "x\r\nHost: a", true),  // from inside an escape into the data
        ("\\r\\nhost", "x\r\nHost: a", true),  // escapes are searched as shown
        ("\r", "x\r\nHost: a", false),  // the raw control is never shown, so never found
        ("x1b[2j", "\u{1B}[2J", true),
        ("\\\\", "a\\b", true),  // a backslash in data shows doubled
        ("é", "CAFÉ", true),
        ("É", "café", true),
        ("漢字", "漢字テキスト", true),
        ("u{202e}", "a\u{202E}b", true),
        ("k", "\u{212A}", false),  // the Kelvin sign is not an ASCII k to a byte search
        ("e", "e\u{301}", true),  // nor does a byte search see combined characters
        ("\u{037E}", "a;b", true),  // U+037E equals ; in Swift's string comparison
        ("é", "plain ascii", false),
        ("…", "truncated", true),
    ])
    func textCases(needle: String, data: String, found: Bool) {
        let bytes = Array(data.utf8)
        let count = data == "truncated" ? 100 : bytes.count
        let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: SocketID(.connection, 1), kind: .received,
                             count: count, bytes: bytes)
        #expect(Self.referenceMatches(needle, entry) == found)
        #expect(LogFilter(needle)?.matches(entry) == found)
    }

    @Test func datagramPeersAreSearched() {
        let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: SocketID(.listener, 1), kind: .received,
                             count: 2, bytes: Array("hi".utf8), text: "10.0.0.7:53")
        #expect(LogText.body(entry) == "2 B from 10.0.0.7:53 hi")
        #expect(LogFilter("from 10.0.0.7")?.matches(entry) == true)
    }

    @Test func messagesKeepTheirBackslashesAsTyped() {
        let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: nil, kind: .command, text: #"send "a\n""#)
        #expect(LogFilter(#"a\n"#)?.matches(entry) == true)
        #expect(LogFilter(#"a\\n"#)?.matches(entry) == false)
    }

    @Test(arguments: [
        (0, "0 B"), (1, "1 B"), (10_239, "10239 B"), (10_240, "10.0 KiB"), (15_360, "15.0 KiB"),
        (1_048_575, "1.0 MiB"), (1_048_576, "1.0 MiB"), (1_500_000, "1.4 MiB"), (5 << 40, "5.0 TiB"),
        (1 << 60, "1048576.0 TiB"),
    ])
    func byteCounts(bytes: Int, text: String) {
        #expect(ByteCount.text(bytes) == text)
    }

    @Test func narrowingNeedsTheSameKindOfSearch() {
        func narrows(_ narrower: String, _ wider: String) -> Bool {
            LogFilter(narrower)!.narrows(LogFilter(wider)!)
        }
        #expect(narrows("item/6", "item/"))
        #expect(narrows("Xitem", "ITE"))
        #expect(narrows("café", "afé"))
        #expect(!narrows("ite", "item"))
        // An ASCII needle is found in bytes, a non-ASCII one in characters: "k" is not
        // found in the Kelvin sign but "kü" is (it lowercases to k), so neither implies the other.
        #expect(!narrows("kü", "k"))
        #expect(!narrows("C5", "c"))  // a socket id, not text
    }
}
