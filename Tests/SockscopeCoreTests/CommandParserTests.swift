import Testing
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
