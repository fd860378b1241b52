import SockscopeCore
import Testing

/// The command side of datagram sockets: where `sendto` may send, who `send` answers,
/// how a listener may share its port, and how datagram news is logged.
@Suite struct DatagramCommandTests {
    static func entries(_ state: AppState) -> [LogEntry] {
        (0..<state.log.entries.count).map { state.log.entries[$0] }
    }

    @Test func sendToTakesAUnixPathOrAbstractName() throws {
        #expect(try CommandParser.parse("sendto unix:/tmp/peer.sock hi")
            == .sendTo(target: nil, destination: .unixDatagram(path: "/tmp/peer.sock"), bytes: Array("hi".utf8)))
        #expect(try CommandParser.parse("sendto L2 unixgram:@peer hi")
            == .sendTo(target: SocketID(.listener, 2), destination: .unixDatagram(path: "@peer"), bytes: Array("hi".utf8)))
        #expect(try CommandParser.parse("sendto @peer hi")
            == .sendTo(target: nil, destination: .unixDatagram(path: "@peer"), bytes: Array("hi".utf8)))
        #expect(try CommandParser.parse("sendto 10.0.0.1:53 hi")
            == .sendTo(target: nil, destination: .inet(.udp, host: "10.0.0.1", port: 53), bytes: Array("hi".utf8)))
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("sendto unix: hi") }
    }

    @Test func listenSharesItsPortOnlyWhenAsked() throws {
        var plain = ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 53))
        #expect(try CommandParser.parse("listen udp://127.0.0.1:53") == .listen(plain))
        plain.reuseAddress = true
        plain.reusePort = true
        #expect(try CommandParser.parse("listen udp://127.0.0.1:53 --reuseaddr --reuseport") == .listen(plain))
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("listen unixgram:/tmp/x --reuseaddr") }
        #expect(CommandCatalog.helpLines(topic: "listen").joined().contains("--reuseaddr"))
    }

    @Test func sendWithoutAnIdAnswersTheLatestSenderOfADatagramListener() throws {
        var state = AppState(interactive: false)
        let listen = try #require(requests(Reducer.reduce(&state, .commandLine("listen udp://127.0.0.1:5353", origin: .script,
                                                                               time: t0))).first)
        _ = Reducer.reduce(&state, event(.listening(L1, .udp, local: "127.0.0.1:5353", mode: .interactive, backlog: 0), listen.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, listen.id))
        _ = Reducer.reduce(&state, event(.receivedFrom(L1, from: "127.0.0.1:40000", bytes: [1], count: 1, truncated: false)))
        let effects = Reducer.reduce(&state, .commandLine("send answer", origin: .prompt, time: t0))
        #expect(requests(effects).map(\.command) == [.send(L1, Array("answer".utf8))])

        // A connection the commands open is the recent socket, so the default, from then on.
        let connect = try #require(requests(Reducer.reduce(&state, .commandLine("connect udp://127.0.0.1:53", origin: .script,
                                                                                time: t0))).first)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40001", remote: "127.0.0.1:53"), connect.id))
        let toConnection = Reducer.reduce(&state, .commandLine("send x", origin: .prompt, time: t0))
        #expect(requests(toConnection).map(\.command) == [.send(C1, [0x78])])
    }

    @Test func truncatedDatagramsAndUnloggedOnesAreInTheLogAndCounted() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .unixgram, local: "/tmp/x", mode: .interactive, backlog: 0)))
        _ = Reducer.reduce(&state, event(.receivedFrom(L1, from: "/tmp/y", bytes: [1], count: 262_144, truncated: true)))
        _ = Reducer.reduce(&state, event(.moreDatagrams(L1, DatagramTotals(received: 300, receivedBytes: 900))))
        let texts = Self.entries(state).map(LogText.body)
        #expect(texts.contains { $0.contains("MSG_TRUNC") }, "\(texts)")
        #expect(texts.contains { $0.hasPrefix("300 more datagrams not logged one by one (300 received, 900 B)") }, "\(texts)")
        #expect(state.listener(L1)?.datagramsIn == 301)
        #expect(state.listener(L1)?.bytesIn == 262_144 + 900)
    }

    /// A UNIX datagram sender's path is escaped once, as the endpoint writes it (the log
    /// escaped the already escaped text again: `\\x1b` for an ESC in the path).
    @Test func aUnixDatagramPeerIsEscapedOnce() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .unixgram, local: "/tmp/x", mode: .interactive, backlog: 0)))
        let sender = SocketEndpoint.unixPath(Array("/tmp/a\u{1B}b".utf8))
        _ = Reducer.reduce(&state, event(.receivedFrom(L1, from: sender, bytes: [0x68, 0x69], count: 2, truncated: false)))
        let body = Self.entries(state).last.map(LogText.body)
        #expect(body == #"2 B from /tmp/a\x1bb hi"#)
        #expect(EventText.line(Self.entries(state).last!)?.hasSuffix(#"received 2 B from /tmp/a\x1bb "hi""#) == true)
    }

    @Test func datagramEntriesNeverMergeInTheLog() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.connected(C1, local: "a", remote: "127.0.0.1:11211")))
        for size in [1400, 1400, 1400, 857] {
            _ = Reducer.reduce(&state, event(.receivedFrom(C1, from: "127.0.0.1:11211", bytes: [0x61], count: size,
                                                           truncated: false)))
        }
        #expect(Self.entries(state).filter { $0.kind == .received }.map(\.count) == [1400, 1400, 1400, 857])
        #expect(state.connection(C1)?.messagesIn == 4)
    }
}

/// A UNIX datagram destination whose name holds a quote prints back as a line that parses
/// to the same command (the property test found `sendto '@"' ""` printed unquoted).
@Test func sendtoAQuotedAbstractNamePrintsBack() throws {
    let command = try CommandParser.parse(#"sendto '@"' "x""#)
    #expect(command == .sendTo(target: nil, destination: .unixDatagram(path: "@\""), bytes: Array("x".utf8)))
    let printed = CommandText.line(for: try #require(command))
    #expect(try CommandParser.parse(printed) == command, "\(printed)")
}

/// A host holding a quote prints back quoted (the property test found `sendto "':1` printed
/// as an unclosed quote).
@Test func sendtoAHostWithAQuotePrintsBack() throws {
    let command = try #require(try CommandParser.parse(#"sendto "'":1 x"#))
    #expect(command == .sendTo(target: nil, destination: .inet(.udp, host: "'", port: 1), bytes: [0x78]))
    #expect(try CommandParser.parse(CommandText.line(for: command)) == command, "\(CommandText.line(for: command))")
}
