import Foundation
import PropertyBased
import Testing
@testable import SockscopeCore

/// Random input never crashes or hangs, and what is printed parses back.
@Suite struct PropertyTests {
    static let bytes = Gen.uint8().array(of: 0...300)
    /// Text heavy in the characters parsers trip on.
    static let trickyText = Gen<Character?>.element(of: Array("ab01 :\"'\\[]-x.@/\u{1B}\u{0}é漢\u{202E}\t\n"))
        .map { $0 ?? "a" }.string(of: 0...60)

    @Test func escapingRoundTripsAndIsAlwaysSafe() async {
        await propertyCheck(count: 500, input: Self.bytes) { bytes in
            let shown = DisplayText.escape(bytes)
            #expect(shown.unicodeScalars.allSatisfy(DisplayText.isSafe))
            #expect((try? EscapedText.decode(shown)) == bytes)
        }
    }

    /// Noise after any verb is either one clear line of error, or a command that prints
    /// back (`CommandText`) to a line parsing to the same command.
    @Test func noiseGetsAOneLineErrorOrACommandThatPrintsBack() async {
        let verbs = ["", "listen ", "connect ", "send ", "sendhex ", "sendto ", "sendfile ", "close ", "shutdown ", "reset ",
                     "set ", "get ", "resolve ", "explain ", "save ", "help ", "socket ", "bind ", "accept ", "recv ", "sys ",
                     "expect ", "expect C1 /", "rule L1 when ", "rule when /", "rule all when contains ", "sleep "]
        await propertyCheck(count: 1000, input: Self.trickyText) { line in
            for verb in verbs {
                do {
                    guard let command = try CommandParser.parse(verb + line) else { continue }
                    let printed = CommandText.line(for: command)
                    #expect((try? CommandParser.parse(printed)) == command, "\((verb + line).debugDescription) printed as \(printed.debugDescription)")
                } catch let error as CommandParser.ParseError {
                    #expect(!error.message.isEmpty && !error.message.contains("\n"), "\((verb + line).debugDescription): \(error.message)")
                } catch {
                    Issue.record("\((verb + line).debugDescription): not a parse error: \(error)")
                }
            }
        }
    }

    @Test func sendPrintsAndParsesBack() async {
        await propertyCheck(count: 500, input: Self.bytes.filter { !$0.isEmpty }, Gen.int(in: 0...20)) { bytes, id in
            let command = Command.send(target: id == 0 ? nil : SocketID(.connection, id), bytes: bytes)
            #expect((try? CommandParser.parse(CommandText.line(for: command))) == command)
        }
    }

    @Test func listenPrintsAndParsesBack() async {
        let hosts = Gen<String?>.element(of: ["127.0.0.1", "0.0.0.0", "::1", "::", "localhost"]).map { $0 ?? "::1" }
        await propertyCheck(count: 300, input: hosts, Gen.int(in: 0...65535), Self.bytes, Gen.int(in: 0...4)) { host, port, reply, kind in
            let mode: ListenMode = [.interactive, .echo, .discard, .reply(reply), .echo][kind]
            let command = Command.listen(ListenRequest(endpoint: .inet(.tcp, host: host, port: port), mode: mode,
                                                      backlog: kind == 4 ? port % 100 : ListenRequest.defaultBacklog))
            #expect((try? CommandParser.parse(CommandText.line(for: command))) == command)
        }
    }

    @Test func procParsersSurviveGarbage() async {
        let noise = Gen<Character?>.element(of: Array("0123456789ABCDEF: \n\u{0}x-")).map { $0 ?? "0" }.string(of: 0...400)
        await propertyCheck(count: 500, input: noise) { text in
            _ = ProcNet.parseInet("header\n" + text, ipv6: false)
            _ = ProcNet.parseInet("header\n" + text, ipv6: true)
            _ = ProcNet.parseUnix("header\n" + text)
            _ = ProcNet.parseCounters(text)
        }
    }

    @Test func ipv4TextIsDottedQuadAndPort() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 4...4), Gen.int(in: 0...65535)) { octets, port in
            let endpoint = SocketEndpoint.ipv4(IPv4Address(octets[0], octets[1], octets[2], octets[3]), port: UInt16(port))
            let expected = octets.map(String.init).joined(separator: ".") + ":\(port)"
            #expect(endpoint.description == expected)
        }
        #expect(SocketEndpoint.ipv4(IPv4Address(0xFFFF_FFFF), port: 65535).description == "255.255.255.255:65535")
        #expect(SocketEndpoint.ipv4(IPv4Address(0x7F00_0001), port: 0).description == "127.0.0.1:0")
        #expect(SocketEndpoint.ipv4(IPv4Address(0x0A00_6401), port: 8080).description == "10.0.100.1:8080")
    }

    /// Reading IPv4 endpoint text (as a person types it) back: the inverse of writing it, and
    /// the same verdict as the address and port parsers taken one at a time on anything else.
    @Test func ipv4EndpointsReadBack() async {
        await propertyCheck(count: 500, input: Gen.uint32(), Gen.int(in: 0...65535)) { address, port in
            let endpoint = SocketEndpoint.ipv4(IPv4Address(address), port: UInt16(port))
            #expect(SocketEndpoint(parsing: endpoint.description) == endpoint)
        }
        // Near-misses: octets and ports just past their limits, and texts bent out of shape.
        let shapes: [(String) -> String] = [
            { $0 }, { "[" + $0.split(separator: ":").joined(separator: "]:") }, { "0" + $0 }, { String($0.dropLast()) },
            { String($0.split(separator: ":")[0]) }, { $0.split(separator: ".", maxSplits: 1).joined(separator: ":") },
            { $0 + ".5" }, { "1." + $0 },
        ]
        await propertyCheck(count: 1000, input: Gen.int(in: 0...300).array(of: 4...4), Gen.int(in: 0...70_000),
                            Gen.int(in: 0..<shapes.count)) { octets, port, shape in
            let text = shapes[shape](octets.map(String.init).joined(separator: ".") + ":\(port)")
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            let piecewise: SocketEndpoint? = parts.count == 2
                ? IPv4Address(parsing: parts[0]).flatMap { address in UInt16(parts[1]).map { .ipv4(address, port: $0) } }
                : nil
            if !text.contains("[") {
                #expect(SocketEndpoint(parsing: text) == piecewise, "\(text)")
            }
        }
        for bad in ["1.2.3.4", "1.2.3:80", "1.2.3.4.5:80", "1.2.3.4:", "1.2.3.4:65536", "256.1.1.1:1", "1..2.3:4", ":80", "::1:80"] {
            #expect(SocketEndpoint(parsing: bad) == nil, "\(bad)")
        }
    }

    /// Netstat-shaped text (groups of names and values, some garbled): asking for some
    /// keys gives exactly those keys of the full parse.
    @Test func countersAskedForAreThoseOfTheFullParse() async {
        let groups = ["TcpExt:", "IpExt:", "Tcp:", "TcpExt"]
        let names = ["ListenDrops", "ListenOverflows", "InNoRoutes", "Drops", ""]
        let values = ["0", "3", "-1", "12345678901", "x", ""]
        let line = Gen.int(in: 0..<groups.count).array(of: 1...3).map { choice in choice.map { groups[$0] } }
        await propertyCheck(count: 300, input: line, Gen.int(in: 0...Int.max).array(of: 0...40)) { lineGroups, picks in
            var picks = picks.makeIterator()
            func pick(_ options: [String]) -> String { options[(picks.next() ?? 0) % options.count] }
            var text = ""
            for group in lineGroups {
                let count = (picks.next() ?? 1) % 4
                let pairGroup = (picks.next() ?? 0) % 5 == 0 ? pick(groups) : group
                text += ([group] + (0..<count).map { _ in pick(names) }).joined(separator: " ") + "\n"
                text += ([pairGroup] + (0..<count).map { _ in pick(values) }).joined(separator: " ") + "\n"
            }
            let all = ProcNet.parseCounters(text)
            let asked: Set<String> = ["TcpExtListenDrops", "IpExtInNoRoutes", "TcpDrops", "TcpExtNone"]
            #expect(ProcNet.parseCounters(text, only: asked) == all.filter { asked.contains($0.key) })
        }
    }

    /// Ids key every dictionary of the engine and the reducer, hashed by hand (`SocketID.hash`).
    @Test func socketIDsReadBackSortAndHashByKindAndNumber() async {
        let kinds = Gen<SocketID.Kind?>.element(of: SocketID.Kind.allCases).map { $0 ?? .connection }
        let numbers = Gen.int(in: 1...Int.max)
        let ids = PropertyBased.zip(kinds, Gen<Int?>.element(of: [1, 2, 255, 256, 257, 65_536, Int.max]).map { $0 ?? 1 })
        await propertyCheck(count: 500, input: kinds, numbers, ids, ids) { kind, number, a, b in
            let id = SocketID(kind, number)
            #expect(SocketID(parsing: id.description) == id)
            #expect(SocketID(parsing: id.description.lowercased()) == id)
            let (x, y) = (SocketID(a.0, a.1), SocketID(b.0, b.1))
            #expect((x == y) == (a.0 == b.0 && a.1 == b.1))
            #expect(Set([x, y]).count == (x == y ? 1 : 2))
            if x == y { #expect(x.hashValue == y.hashValue) }
            // Connections, then listeners, then relays, then step-mode sockets (C < L < R < S), each by number.
            let order: [SocketID.Kind] = [.connection, .listener, .relay, .socket]
            let expectedLess = a.0 != b.0 ? order.firstIndex(of: a.0)! < order.firstIndex(of: b.0)! : a.1 < b.1
            #expect((x < y) == expectedLess)
        }
        #expect(SocketID(parsing: "C\u{301}1") == nil)  // a combining accent makes the letter not C
        #expect(SocketID(parsing: "\u{0}1") == nil)
    }

    @Test func hexDumpCoversEveryByte() async {
        await propertyCheck(count: 300, input: Self.bytes) { bytes in
            let lines = HexDump.lines(bytes)
            #expect(lines.count == (bytes.count + 15) / 16)
            #expect(lines.allSatisfy { $0.unicodeScalars.allSatisfy(DisplayText.isSafe) })
        }
    }

    @Test func nastyCorpusGetsOneLineErrorsOrCommands() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
        let text = try String(contentsOf: directory.appendingPathComponent("nasty-commands.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count > 50)
        for line in lines {
            do {
                _ = try CommandParser.parse(line)
            } catch {
                #expect(!error.message.isEmpty && !error.message.contains("\n"), "bad message for \(line.debugDescription)")
            }
            var state = AppState(interactive: true)
            _ = Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: Timestamp(nanoseconds: 0)))
            #expect(state.log.count <= 2)
        }
    }
}
