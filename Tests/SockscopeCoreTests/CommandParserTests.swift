import Testing
import TestSupport
@testable import SockscopeCore

@Suite struct CommandParserTests {
    @Test func listenOnBarePortBindsLoopback() throws {
        #expect(try CommandParser.parse("listen 9000") == .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000))))
        #expect(try CommandParser.parse("listen tcp://:0") == .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0))))
    }

    @Test func listenOptions() throws {
        let command = try CommandParser.parse("listen tcp://0.0.0.0:80 --reply \"hi\\r\\n\" --backlog 5")
        #expect(command == .listen(ListenRequest(endpoint: .inet(.tcp, host: "0.0.0.0", port: 80),
                                                 mode: .reply([0x68, 0x69, 0x0D, 0x0A]), backlog: 5)))
        #expect(try CommandParser.parse("listen 1 --echo") == .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 1), mode: .echo)))
        #expect(try CommandParser.parse("listen 1 --discard") == .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 1), mode: .discard)))
    }

    @Test func ipv6NeedsBrackets() throws {
        #expect(try CommandParser.parse("connect tcp://[::1]:9000") == .connect(ConnectRequest(endpoint: .inet(.tcp, host: "::1", port: 9000))))
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("connect ::1:9000") }
    }

    @Test func endpointsOfEveryShape() throws {
        #expect(try CommandParser.parseEndpoint("example.com:80", listening: false) == .inet(.tcp, host: "example.com", port: 80))
        #expect(try CommandParser.parseEndpoint("udp://10.0.0.1:53", listening: false) == .inet(.udp, host: "10.0.0.1", port: 53))
        #expect(try CommandParser.parseEndpoint("unix:/tmp/x.sock", listening: true) == .unix(path: "/tmp/x.sock"))
        #expect(try CommandParser.parseEndpoint("9000", listening: false) == .inet(.tcp, host: "127.0.0.1", port: 9000))
    }

    @Test(arguments: ["listen 65536", "listen tcp://:99999", "connect localhost:0", "connect localhost", "listen http://x:1",
                      "listen", "connect", "send", "close nope", "listen 1 --echo --discard", "listen 1 --backlog -1",
                      "frobnicate", "send \"unclosed", "send hi\\q", "send \\x4"])
    func badCommandsGetOneClearLine(_ line: String) {
        do {
            _ = try CommandParser.parse(line)
            Issue.record("expected an error for \(line)")
        } catch {
            #expect(!error.message.isEmpty)
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func portOutOfRangeSaysTheRange() {
        #expect(throws: CommandParser.ParseError("port 70000 is out of range: ports go from 0 to 65535")) {
            try CommandParser.parse("listen 70000")
        }
    }

    @Test func sendWithAndWithoutId() throws {
        #expect(try CommandParser.parse("send C3 hello world") == .send(target: SocketID(.connection, 3), bytes: Array("hello world".utf8)))
        #expect(try CommandParser.parse("send hello") == .send(target: nil, bytes: Array("hello".utf8)))
        #expect(try CommandParser.parse("send \"GET / HTTP/1.0\\r\\n\\r\\n\"") == .send(target: nil, bytes: Array("GET / HTTP/1.0\r\n\r\n".utf8)))
        #expect(try CommandParser.parse("send C1") == .send(target: nil, bytes: Array("C1".utf8)))
        #expect(try CommandParser.parse("send \"  two  spaces \"") == .send(target: nil, bytes: Array("  two  spaces ".utf8)))
    }

    @Test func closeHelpQuit() throws {
        #expect(try CommandParser.parse("close") == .close(target: nil))
        #expect(try CommandParser.parse("close l2") == .close(target: SocketID(.listener, 2)))
        #expect(try CommandParser.parse("help send") == .help(topic: "send"))
        #expect(try CommandParser.parse("quit") == .quit)
        #expect(try CommandParser.parse("   ") == nil)
    }

    @Test func escapesDecode() throws {
        #expect(try EscapedText.decode("a\\n\\r\\t\\\\\\x00\\xff\\\"") == [0x61, 0x0A, 0x0D, 0x09, 0x5C, 0x00, 0xFF, 0x22])
        #expect(try EscapedText.decode("é") == [0xC3, 0xA9])
    }

    @Test func socketIDs() {
        #expect(SocketID(parsing: "L1") == SocketID(.listener, 1))
        #expect(SocketID(parsing: "c42") == SocketID(.connection, 42))
        #expect(SocketID(parsing: "C") == nil)
        #expect(SocketID(parsing: "C0") == nil)
        #expect(SocketID(parsing: "X1") == nil)
        #expect(SocketID(parsing: "C1x") == nil)
        #expect(SocketID(.connection, 3).description == "C3")
    }
}

@Suite struct AccessControlParsingTests {
    @Test func rangesParseAndMatch() {
        let v4 = AddressRange("10.1.2.3/8")!
        #expect(v4.description == "10.0.0.0/8")
        #expect(v4.contains("10.200.0.1:5000"))
        #expect(!v4.contains("11.0.0.1"))
        #expect(v4.contains("[::ffff:10.0.0.9]:80"), "IPv4-mapped addresses match IPv4 ranges")
        let v6 = AddressRange("fd00::/8")!
        #expect(v6.contains("[fd12:3456::1]:443"))
        #expect(!v6.contains("[::1]:443"))
        #expect(AddressRange("::1")!.contains("::1"))
        #expect(AddressRange("300.1.1.1") == nil)
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("1::2::3") == nil)
    }

    @Test func listenTakesPolicyOptions() throws {
        let command = try CommandParser.parse("listen 9000 --allow 10.0.0.0/8 --deny 10.1.0.0/16 --max-conns 5 --idle-timeout 2.5")
        guard case .listen(let request) = command else { Issue.record("not a listen"); return }
        #expect(request.policy.allow == [AddressRange("10.0.0.0/8")!])
        #expect(request.policy.deny == [AddressRange("10.1.0.0/16")!])
        #expect(request.policy.maxConnections == 5)
        #expect(request.policy.idleTimeoutMilliseconds == 2500)
        #expect(try CommandParser.parse(CommandText.line(for: command!)) == command)
        #expect(throws: CommandParser.ParseError.self) { try CommandParser.parse("listen 1 --allow nonsense") }
    }

    @Test func refusalsExplainThemselves() {
        var policy = ListenerPolicy()
        policy.deny = [AddressRange("127.0.0.2")!]
        policy.maxConnections = 1
        #expect(policy.refusal(for: "127.0.0.2:1", openConnections: 0) == "denied by --deny 127.0.0.2/32")
        #expect(policy.refusal(for: "127.0.0.1:1", openConnections: 1) == "--max-conns 1 reached")
        #expect(policy.refusal(for: "127.0.0.1:1", openConnections: 0) == nil)
    }

    @Test func publicBindingNeedsConsent() {
        var headless = AppState(interactive: false)
        let refused = Reducer.reduce(&headless, .commandLine("listen 0.0.0.0:9000", origin: .prompt, time: Timestamp(nanoseconds: 0)))
        #expect(refused.contains { if case .notice(.error, let text) = $0 { text.contains("--public") } else { false } })
        let allowed = Reducer.reduce(&headless, .commandLine("listen 0.0.0.0:9000 --public", origin: .prompt, time: Timestamp(nanoseconds: 0)))
        #expect(allowed.contains { if case .perform = $0 { true } else { false } })

        var tui = AppState(interactive: true)
        _ = Reducer.reduce(&tui, .commandLine("listen [::]:9000", origin: .prompt, time: Timestamp(nanoseconds: 0)))
        #expect(tui.view.confirmation.map { CommandText.line(for: $0.command) } == "listen tcp://[::]:9000 --public")
        let confirmed = Reducer.reduce(&tui, .key(.character("y"), time: Timestamp(nanoseconds: 0)))
        #expect(confirmed.contains { if case .perform = $0 { true } else { false } })
    }
}
