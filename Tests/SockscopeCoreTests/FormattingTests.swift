import Testing
import TestSupport
@testable import SockscopeCore

@Suite struct FormattingTests {
    @Test func isoTimestamps() {
        #expect(TimeText.iso8601(Timestamp(nanoseconds: 0)) == "1970-01-01T00:00:00.000Z")
        // 2026-11-21T17:50:03.123Z
        #expect(TimeText.iso8601(Timestamp(nanoseconds: 1_795_283_403_123_000_000)) == "2026-11-21T17:50:03.123Z")
        #expect(TimeText.iso8601(Timestamp(nanoseconds: 951_782_400_000_000_000)) == "2000-02-29T00:00:00.000Z")
        #expect(TimeText.clock(Timestamp(nanoseconds: 1_795_283_403_123_000_000)) == "17:50:03.123")
    }

    @Test func byteCounts() {
        #expect(ByteCount.text(0) == "0 B")
        #expect(ByteCount.text(10_239) == "10239 B")
        #expect(ByteCount.text(10_240) == "10.0 KiB")
        #expect(ByteCount.text(5 << 30) == "5.0 GiB")
    }

    @Test func jsonLinesCarryTheFieldsScriptsNeed() {
        let event = EngineEvent(time: Timestamp(nanoseconds: 0),
                                kind: .received(SocketID(.connection, 2), bytes: Array("hi\n\u{1B}".utf8), count: 4))
        #expect(EventText.json(EventText.entry(event)) ==
            #"{"ts":"1970-01-01T00:00:00.000Z","id":"C2","event":"received","bytes":4,"text":"hi\\n\\x1b","truncated":false}"#)
        let failure = EngineEvent(time: Timestamp(nanoseconds: 0),
                                  kind: .error(SocketID(.connection, 1), .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:9")))
        let json = EventText.json(EventText.entry(failure))!
        #expect(json.contains(#""errno":"ECONNREFUSED""#))
        #expect(json.contains(#""event":"error""#))
        #expect(EventText.json(EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: .requestCompleted))) == nil)
    }

    @Test func jsonQuotingIsAsciiOnly() {
        #expect(JSONValue.quote("a\"b\\c\u{1B}é") == #""a\"b\\c\u001bé""#.replacingFirstE())
    }

    @Test func textLinesEscapeData() {
        let event = EngineEvent(time: Timestamp(nanoseconds: 0),
                                kind: .sent(SocketID(.connection, 1), bytes: [0x1B, 0x5B, 0x32, 0x4A], count: 4))
        #expect(EventText.line(EventText.entry(event)) == #"1970-01-01T00:00:00.000Z C1 sent 4 B "\x1b[2J""#)
    }

    /// Headless lines are built as bytes; these pin a line of each shape.
    @Test(arguments: [
        (EngineEventKind.accepted(SocketID(.connection, 12), listener: SocketID(.listener, 3), local: "127.0.0.1:80",
                                  remote: "[::1]:5\u{1B}"),
         "C12 accepted remote=[::1]:5\\x1b local=127.0.0.1:80 listener=L3"),
        (.listening(SocketID(.listener, 1), .tcp, local: "0.0.0.0:9", mode: .echo, backlog: 128),
         "L1 listening tcp 0.0.0.0:9 ALL-INTERFACES mode=echo backlog=128"),
        (.receivedFrom(SocketID(.listener, 2), from: "10.0.0.1:53", bytes: [0x61, 0x0A], count: 9, truncated: false),
         #"L2 received 9 B from 10.0.0.1:53 "a\n"..."#),
        (.receivedFrom(SocketID(.listener, 2), from: "10.0.0.1:53", bytes: [0x61], count: 1, truncated: true),
         #"L2 received 1 B from 10.0.0.1:53 "a" MSG_TRUNC: the kernel cut this datagram (longer than the receive buffer; the rest is lost)"#),
        (.moreDatagrams(SocketID(.connection, 3), DatagramTotals(received: 200, receivedBytes: 4000, sent: 2, sentBytes: 9)),
         "C3 202 more datagrams not logged one by one (200 received, 4000 B; 2 sent, 9 B): too many for the log in one interval"),
        (.resolved(host: "h", addresses: [ResolvedAddress(family: "IPv4", type: "stream", address: "1.2.3.4"),
                                          ResolvedAddress(family: "IPv6", type: "stream", address: "::1")]),
         "- resolved h: IPv4 stream 1.2.3.4, IPv6 stream ::1"),
        (.error(SocketID(.connection, 1), .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:9")),
         "C1 error connect tcp://127.0.0.1:9 ECONNREFUSED: "),
        (.peerCredentials(SocketID(.connection, 4), pid: 42, uid: 0, gid: 4_000_000_000),
         "C4 peer-credentials pid=42 uid=0 gid=4000000000"),
    ])
    func textLineShapes(kind: EngineEventKind, expected: String) throws {
        let line = try #require(EventText.line(EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: kind))))
        #expect(line.hasPrefix("1970-01-01T00:00:00.000Z " + expected), "\(line)")
        var appended = Array("x".utf8)
        #expect(EventText.appendLine(EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: kind)), to: &appended))
        #expect(appended == Array(("x" + line).utf8))
    }

    @Test func logLines() {
        let entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: SocketID(.connection, 2), kind: .received,
                             count: 6, bytes: Array("hello\n".utf8))
        #expect(LogText.line(entry) == "00:00:00.000 C2  ← 6 B hello\\n")
    }
}

private extension String {
    /// The expected JSON spells é as \u00e9.
    func replacingFirstE() -> String { replacingOccurrences("é", with: "\\u00e9") }
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Addresses as people write them (`127.0.0.1:5000`, `[::1]:443`) read into typed endpoints.
@Suite struct AddressPartsTests {
    @Test(arguments: [
        ("127.0.0.1:5000", "127.0.0.1", 5000, [127, 0, 0, 1]),
        ("[::1]:443", "::1", 443, [UInt8](repeating: 0, count: 15) + [1]),
        ("[fe80::1%eth0]:22", "fe80::1%eth0", 22, [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1]),
    ] as [(String, String, Int, [UInt8])])
    func hostPortAndBytes(text: String, host: String, port: Int, bytes: [UInt8]) {
        let endpoint = SocketEndpoint(parsing: text)
        #expect(endpoint?.port == UInt16(port))
        #expect(IPAddressText.parse(host) == bytes)
        let expected: SocketEndpoint = bytes.count == 4 ? .ipv4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]), port: UInt16(port))
            : .ipv6(IPv6Address(bytes: bytes), port: UInt16(port))
        #expect(endpoint == expected)
    }

    @Test(arguments: ["-", "/tmp/sock", "@abstract", "::1", "[::1]", "127.0.0.1", "[::1]:x", "host:port", "[::1]5", "[",
                      "[::1", "1.2.3.4:65536", "::1:80"])
    func noPortWhereThereIsNone(text: String) {
        #expect(SocketEndpoint(parsing: text) == nil)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "256.0.0.1", "1.2.3.1000",
                      "1.2.3.4 ", "+1.2.3.4", "1.2.3.a", "\u{0663}.1.1.1", "1.2.3.4:80"])
    func notADottedQuad(text: String) {
        #expect(IPAddressText.parse(text) == nil)
    }

    @Test func dottedQuadBounds() {
        #expect(IPAddressText.parse("0.0.0.0") == [0, 0, 0, 0])
        #expect(IPAddressText.parse("255.255.255.255") == [255, 255, 255, 255])
        #expect(IPAddressText.parse("010.1.1.1") == [10, 1, 1, 1])
        #expect(IPAddressText.parse("::ffff:10.1.2.3") == [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 10, 1, 2, 3])
    }
}

/// `connected` and `accepted` JSON lines are what they were when addresses were text.
@Suite struct EndpointJSONTests {
    @Test func connectedAndAcceptedLinesAreUnchanged() {
        let time = Timestamp(nanoseconds: 0)
        let connected = EngineEvent(time: time, kind: .connected(
            SocketID(.connection, 1), local: .ipv4(IPv4Address(127, 0, 0, 1), port: 40000),
            remote: .ipv6(.loopback, port: 9000)))
        #expect(EventText.json(EventText.entry(connected)) ==
            #"{"ts":"1970-01-01T00:00:00.000Z","id":"C1","event":"connected","local":"127.0.0.1:40000","remote":"[::1]:9000"}"#)
        let accepted = EngineEvent(time: time, kind: .accepted(
            SocketID(.connection, 12), listener: SocketID(.listener, 3), local: .ipv4(IPv4Address(0, 0, 0, 0), port: 80),
            remote: .ipv6(IPv6Address(parsing: "::ffff:10.0.0.9")!, port: 5000)))
        #expect(EventText.json(EventText.entry(accepted)) ==
            #"{"ts":"1970-01-01T00:00:00.000Z","id":"C12","event":"accepted","listener":"L3","local":"0.0.0.0:80","remote":"[::ffff:10.0.0.9]:5000"}"#)
        let unix = EngineEvent(time: time, kind: .accepted(
            SocketID(.connection, 2), listener: SocketID(.listener, 1), local: .unix("/tmp/s.sock"), remote: .unnamed))
        #expect(EventText.json(EventText.entry(unix)) ==
            #"{"ts":"1970-01-01T00:00:00.000Z","id":"C2","event":"accepted","listener":"L1","local":"/tmp/s.sock","remote":"(unnamed)"}"#)
    }
}
