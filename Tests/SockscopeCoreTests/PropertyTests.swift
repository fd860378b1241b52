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

    @Test func parserNeverCrashesOnNoise() async {
        await propertyCheck(count: 1000, input: Self.trickyText) { line in
            for prefix in ["", "listen ", "connect ", "send ", "close ", "set ", "save "] {
                _ = try? CommandParser.parse(prefix + line)
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
