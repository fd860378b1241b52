import Testing
@testable import SockscopeCore

/// The typed form of every command, as a person types it at the prompt or in a script.
/// (`sendhex` with hex that could also be an id, such as `sendhex c1 c2`, is left to the
/// command table's rule; only unambiguous input is here.)
@Suite struct TypedCommandTests {
    let C1 = SocketID(.connection, 1)
    let C2 = SocketID(.connection, 2)

    func parse(_ line: String) throws -> Command? { try CommandParser.parse(line) }

    @Test func sendhexTakesEverySpellingOfHex() throws {
        let bytes: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        #expect(try parse("sendhex de ad be ef") == .send(target: nil, bytes: bytes))
        #expect(try parse("sendhex deadbeef") == .send(target: nil, bytes: bytes))
        #expect(try parse("sendhex 0xde,0xad,0xbe,0xef") == .send(target: nil, bytes: bytes))
        #expect(try parse("sendhex C2 00 ff") == .send(target: C2, bytes: [0x00, 0xFF]))
        #expect(throws: CommandParser.ParseError.self) { try parse("sendhex") }
        #expect(throws: CommandParser.ParseError.self) { try parse("sendhex abc") }
        #expect(throws: CommandParser.ParseError.self) { try parse("sendhex zz") }
    }

    @Test func hexTextDecodesAndRefusesWithOneLine() throws {
        #expect(try HexText.decode("de ad be ef") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try HexText.decode("DEADBEEF") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(try HexText.decode("0x01,0x02 0x03") == [1, 2, 3])
        #expect(try HexText.decode("00") == [0])
        for bad in ["abc", "0xg1", "\u{1B}[2J", "0x", "é1"] {
            do {
                let decoded = try HexText.decode(bad)
                Issue.record("\(bad.debugDescription) decoded to \(decoded)")
            } catch {
                #expect(!error.message.isEmpty && !error.message.contains("\n"), "\(bad.debugDescription): \(error.message)")
            }
        }
    }

    @Test func sendtoShutdownResetAndSendfile() throws {
        #expect(try parse("sendto 127.0.0.1:53 hello") == .sendTo(target: nil, destination: .inet(.udp, host: "127.0.0.1", port: 53), bytes: Array("hello".utf8)))
        #expect(try parse("sendto C1 [::1]:9 \"a b\"") == .sendTo(target: C1, destination: .inet(.udp, host: "::1", port: 9), bytes: Array("a b".utf8)))
        #expect(try parse("shutdown write") == .shutdown(target: nil, .write))
        #expect(try parse("shutdown C2 read") == .shutdown(target: C2, .read))
        #expect(try parse("shutdown C1 both") == .shutdown(target: C1, .both))
        #expect(throws: CommandParser.ParseError.self) { try parse("shutdown sideways") }
        #expect(try parse("reset") == .reset(target: nil))
        #expect(try parse("reset C2") == .reset(target: C2))
        #expect(try parse("sendfile C1 /tmp/a.bin") == .sendFile(target: C1, path: "/tmp/a.bin"))
    }

    @Test func getAndSetOptions() throws {
        for option in SocketOptionName.allCases {
            #expect(try parse("get \(option.rawValue)") == .getOption(target: nil, option))
            #expect(try parse("get C2 \(option.rawValue)") == .getOption(target: C2, option))
        }
        #expect(try parse("set nodelay 1") == .setOption(target: nil, .nodelay, 1))
        #expect(try parse("set C1 rcvbuf 65536") == .setOption(target: C1, .rcvbuf, 65536))
        #expect(try parse("set eol crlf") == .setLineEnding(target: nil, .crlf))
        #expect(try parse("set C2 eol none") == .setLineEnding(target: C2, .none))
        #expect(throws: CommandParser.ParseError.self) { try parse("get nosuchoption") }
        #expect(throws: CommandParser.ParseError.self) { try parse("set nodelay") }
        #expect(try parse("set nodelay yes") == .setOption(target: nil, .nodelay, 1))
        #expect(throws: CommandParser.ParseError.self) { try parse("set nodelay maybe") }
    }

    @Test func resolveAndExplain() throws {
        #expect(try parse("resolve example.com") == .resolve(host: "example.com"))
        #expect(try parse("explain ECONNREFUSED") == .explain("ECONNREFUSED"))
        #expect(try parse("explain TIME-WAIT") == .explain("TIME-WAIT"))
        #expect(throws: CommandParser.ParseError.self) { try parse("resolve") }
        #expect(throws: CommandParser.ParseError.self) { try parse("explain") }
    }

    @Test func connectBindTimeoutAndUnixDatagrams() throws {
        var request = ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000))
        request.bind = LocalAddress(host: "127.0.0.2", port: 0)
        request.timeoutMilliseconds = 1500
        #expect(try parse("connect 9000 --bind 127.0.0.2:0 --timeout 1.5") == .connect(request))
        #expect(try parse("connect unixgram:/tmp/d.sock") == .connect(ConnectRequest(endpoint: .unixDatagram(path: "/tmp/d.sock"))))
        #expect(try parse("listen unixgram:@name") == .listen(ListenRequest(endpoint: .unixDatagram(path: "@name"))))
        var replacing = ListenRequest(endpoint: .unix(path: "/tmp/s.sock"))
        replacing.replaceStale = true
        #expect(try parse("listen unix:/tmp/s.sock --replace") == .listen(replacing))
        #expect(throws: CommandParser.ParseError.self) { try parse("connect 9000 --timeout -1") }
        #expect(throws: CommandParser.ParseError.self) { try parse("connect 9000 --bind") }
    }

    /// `recv S1` reads up to 4096 bytes; printed back as `recv S1 4096`, that must parse too
    /// (and so may anything up to 64 KiB).
    @Test func recvTakesItsDefaultAndUpTo64KiB() throws {
        #expect(try parse("recv S1") == .step(.recv(SocketID(.socket, 1), maxBytes: 4096)))
        #expect(try parse("recv S1 4096") == .step(.recv(SocketID(.socket, 1), maxBytes: 4096)))
        #expect(try parse("recv S1 65536") == .step(.recv(SocketID(.socket, 1), maxBytes: 65536)))
        #expect(throws: CommandParser.ParseError.self) { try parse("recv S1 65537") }
        #expect(throws: CommandParser.ParseError.self) { try parse("recv S1 0") }
    }

    @Test func saveFormats() throws {
        #expect(try parse("save /tmp/log.txt") == .save(path: "/tmp/log.txt", format: .text))
        #expect(try parse("save /tmp/log.jsonl") == .save(path: "/tmp/log.jsonl", format: .json))
        #expect(try parse("save /tmp/log.jsonl --text") == .save(path: "/tmp/log.jsonl", format: .text))
        #expect(try parse("save /tmp/log --json") == .save(path: "/tmp/log", format: .json))
    }

    /// `relay` with tls:// on either side: each side takes its own command's TLS options; with
    /// both, the options both sides have say their side (`--listen-cert`, `--target-ca`).
    @Test func relayTLSSidesAndTheirOptions() throws {
        let loopback8443 = Endpoint.inet(.tcp, host: "127.0.0.1", port: 8443)
        var terminating = RelayRequest(listen: ListenRequest(endpoint: loopback8443), target: .inet(.tcp, host: "127.0.0.1", port: 80))
        var server = TLSServerOptions()
        server.certificateFile = "s.pem"
        server.keyFile = "s.key"
        server.alpn = ["http/1.1"]
        terminating.listen.tls = server
        #expect(try parse("relay tls://8443 127.0.0.1:80 --cert s.pem --key s.key --alpn http/1.1") == .relay(terminating))

        var originating = RelayRequest(listen: ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 8080)),
                                       target: .inet(.tcp, host: "example.com", port: 443), targetTLS: TLSClientOptions())
        originating.targetTLS?.caFile = "ca.pem"
        originating.targetTLS?.serverName = .name("other.example")
        originating.targetTLS?.certificateFile = "c.pem"
        originating.targetTLS?.keyFile = "c.key"
        #expect(try parse("relay 8080 tls://example.com:443 --ca ca.pem --sni other.example --cert c.pem --key c.key")
                == .relay(originating))
        #expect(CommandText.line(for: .relay(originating)).hasPrefix("relay tcp://127.0.0.1:8080 tls://example.com:443 "))

        var both = RelayRequest(listen: ListenRequest(endpoint: loopback8443), target: .inet(.tcp, host: "example.com", port: 443),
                                targetTLS: TLSClientOptions())
        both.listen.tls = server
        both.listen.tls?.alpn = []
        both.listen.tls?.saveCertificateFile = nil
        both.listen.tls?.keyLogFile = "k.log"
        both.targetTLS?.caFile = "ca.pem"
        both.targetTLS?.insecure = true
        both.targetTLS?.keyLogFile = "k.log"
        let line = "relay tls://8443 tls://example.com:443 --listen-cert s.pem --listen-key s.key --target-ca ca.pem --insecure --keylog k.log"
        #expect(try parse(line) == .relay(both))
        #expect(try parse(CommandText.line(for: .relay(both))) == .relay(both))
        #expect(CommandText.line(for: .relay(both)).contains("--listen-cert s.pem"))

        for (bad, why) in [("relay tls://8443 tls://a:443 --cert s.pem --key s.key", "say which --cert"),
                           ("relay tls://8443 tls://a:443 --ca ca.pem", "--listen-ca"),
                           ("relay 8080 127.0.0.1:80 --ca ca.pem", "need a tls:// LISTEN or TARGET"),
                           ("relay 8080 tls://a:443 --save-cert x.pem", "needs a tls:// LISTEN"),
                           ("relay tls://8443 a:80 --insecure", "needs a tls:// TARGET"),
                           ("relay tls://8443 a:80 --target-ca ca.pem", "needs a tls:// TARGET"),
                           ("relay 8080 tls://a:443 --cert c.pem", "--cert and --key go together"),
                           ("relay tls://8443 a:80 --ca ca.pem", "use it with --require-client-cert")] {
            do {
                _ = try parse(bad)
                Issue.record("\(bad) parsed")
            } catch {
                let message = (error as? CommandParser.ParseError)?.message ?? "\(error)"
                #expect(message.contains(why), "\(bad): \(message)")
            }
        }
    }

    @Test func tlsEndpointsAndTheirOptions() throws {
        var request = ConnectRequest(endpoint: .inet(.tcp, host: "example.com", port: 443))
        var options = TLSClientOptions()
        options.serverName = .name("other.example")
        options.alpn = ["h2", "http/1.1"]
        options.caFile = "ca.pem"
        options.insecure = true
        options.minimumVersion = .tls12
        request.tls = options
        #expect(try parse("connect tls://example.com:443 --sni other.example --alpn h2,http/1.1 --ca ca.pem --insecure --tls-min 1.2")
                == .connect(request))
        #expect(try parse("connect TLS://example.com:443") == .connect({
            var plain = ConnectRequest(endpoint: .inet(.tcp, host: "example.com", port: 443))
            plain.tls = TLSClientOptions()
            return plain
        }()))
        var listen = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 8443))
        var server = TLSServerOptions()
        server.saveCertificateFile = "/tmp/c.pem"
        listen.tls = server
        #expect(try parse("listen tls://8443 --save-cert /tmp/c.pem") == .listen(listen))
        #expect(TLSClientOptions().serverName(for: "127.0.0.1") == nil)
        #expect(TLSClientOptions().serverName(for: "::1") == nil)
        #expect(TLSClientOptions().serverName(for: "example.com") == "example.com")
        for bad in ["connect 9000 --alpn h2", "connect tls://a:1 --sni x --no-sni", "connect tls://a:1 --cert c.pem",
                    "connect tls://a:1 --tls-min 1.4", "connect tls://a:1 --tls-min 1.3 --tls-max 1.2", "connect tls://a:1 --alpn ,",
                    "listen 9000 --save-cert x.pem", "listen tls://9000 --cert c.pem --key k.pem --save-cert x.pem",
                    "listen tls://9000 --sni x", "connect tls://a:1 --save-cert x"] {
            #expect(throws: CommandParser.ParseError.self, "\(bad)") { try parse(bad) }
        }
    }

    /// Every command, typed, parsed, printed back (`CommandText`) and parsed again, is the
    /// same command: what the history and `save` keep can be replayed.
    @Test(arguments: [
        "listen 9000", "listen 0.0.0.0:80 --echo --backlog 5", "listen udp://127.0.0.1:0 --discard",
        "listen unix:/tmp/s.sock --replace", "listen unixgram:@name", "listen 1 --reply \"hi\\r\\n\"",
        "connect 9000 --bind 127.0.0.2:0 --timeout 1.5", "connect unixgram:/tmp/d.sock", "connect udp://[::1]:53",
        "send C1 hello", "send \"two  words\\n\"", "sendhex C2 00 ff", "sendto C1 127.0.0.1:53 hi", "sendfile C1 /tmp/a.bin",
        "close", "close L2", "shutdown C1 write", "reset C2", "get C1 ttl", "set C1 rcvbuf 65536", "set eol crlf",
        "resolve example.com", "explain ECONNRESET", "save /tmp/log.jsonl --text", "save /tmp/log", "help", "help send", "quit",
        "socket tcp", "bind S1 127.0.0.1:0", "listen S1 2", "connect S1 127.0.0.1:9", "accept S1", "recv S1", "recv S1 1",
        "sys on", "sys off",
        "connect tls://example.com:443", "connect tls://[::1]:8443 --sni a.example --alpn h2,http/1.1 --ca \"/tmp/my ca.pem\"",
        "connect tls://localhost:1 --no-sni --insecure --cert c.pem --key k.pem --tls-min 1.2 --tls-max 1.3",
        "listen tls://127.0.0.1:8443 --save-cert /tmp/s.pem --alpn h2 --echo", "listen tls://:8443 --cert c.pem --key k.pem",
        "listen tls://:8443 --require-client-cert", "listen tls://:8443 --require-client-cert --ca \"/tmp/clients ca.pem\"",
    ])
    func printedCommandsParseBack(_ line: String) throws {
        let command = try #require(try parse(line))
        let printed = CommandText.line(for: command)
        #expect(try parse(printed) == command, "\(line) printed as \(printed)")
    }
}
