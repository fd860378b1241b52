import PropertyBased
import Testing
@testable import SockscopeCore

// C1, C2 and L1 come from ReducerTests.swift.
private let S1 = SocketID(.socket, 1)
private let R1 = SocketID(.relay, 1)
private func loopback(_ port: Int, _ transport: TransportProtocol = .tcp) -> Endpoint {
    .inet(transport, host: "127.0.0.1", port: port)
}

/// The command table (`CommandCatalog`) drives parsing, help, completion and printing:
/// every command it declares must work through each of them.
@Suite struct CommandTableTests {
    @Test func everyExampleParsesAndPrintsBack() throws {
        for spec in CommandCatalog.specs {
            #expect(!spec.examples.isEmpty, "\(spec.name) has no example")
            for example in spec.examples {
                let name = try #require(CommandParser.tokenize(example).first)
                #expect(spec.names.contains(name.lowercased()), "example '\(example)' is not a \(spec.name) command")
                let command = try #require(try CommandParser.parse(example), "\(example)")
                #expect(try CommandParser.parse(CommandText.line(for: command)) == command, "\(example)")
            }
        }
    }

    @Test func everyDeclaredOptionIsUsedByAnExampleAndExplainedByHelp() {
        for spec in CommandCatalog.specs {
            let help = CommandCatalog.helpLines(topic: spec.name).joined(separator: "\n")
            for option in spec.options {
                #expect(spec.examples.contains { $0.contains(option.name) }, "no example of \(spec.name) \(option.name)")
                #expect(help.contains(option.name), "help \(spec.name) does not mention \(option.name)")
            }
        }
    }

    @Test func completionOffersEveryOptionOfEveryCommand() {
        let state = AppState(interactive: true)
        for spec in CommandCatalog.specs where !spec.options.isEmpty {
            let line = "\(spec.name) x -"
            let result = Completion.complete(line, cursor: line.count, state: state)
            let offered = result.candidates.isEmpty ? [String(result.text.dropFirst(line.count - 1)).trimmingWhitespace]
                                                    : result.candidates
            #expect(Set(offered) == Set(spec.options.map(\.name)), "\(spec.name)")
            for option in spec.options {
                let typed = "\(spec.name) x \(option.name)"
                let longer = spec.options.map(\.name).filter { $0 != option.name && $0.hasPrefix(option.name) }
                if !longer.isEmpty {
                    // `--key` and `--keylog` (TLS): both stay on offer until the user says which.
                    let offered = Set(Completion.complete(typed, cursor: typed.count, state: state).candidates)
                    #expect(offered == Set([option.name] + longer), "\(typed)")
                    continue
                }
                #expect(Completion.complete(typed, cursor: typed.count, state: state).text == typed + " ", "\(typed)")
            }
        }
        // The options the old hand-kept list missed.
        let listen = Completion.complete("listen 1 --", cursor: 11, state: state).candidates
        for option in ["--manual-accept", "--allow", "--deny", "--max-conns", "--idle-timeout", "--replace", "--public"] {
            #expect(listen.contains(option), "\(option)")
        }
    }

    @Test func completionOffersTheWordsAnArgumentTakes() {
        let state = AppState(interactive: true)
        #expect(Completion.complete("shutdown w", cursor: 10, state: state).text == "shutdown write ")
        #expect(Completion.complete("get rcv", cursor: 7, state: state).text == "get rcvbuf ")
        #expect(Completion.complete("set C1 eol cr", cursor: 13, state: state).candidates == ["crlf", "cr"])
        #expect(Completion.complete("help sendf", cursor: 10, state: state).text == "help sendfile ")
        #expect(Completion.complete("socket tcp", cursor: 10, state: state).candidates == ["tcp", "tcp6"])
        #expect(Completion.complete("send hello wo", cursor: 13, state: state).candidates.isEmpty, "text is the user's")
        var typedBefore = AppState(interactive: true)
        typedBefore.view.history = ["c 127.0.0.2:80"]
        #expect(Completion.complete("connect 127.0.0.", cursor: 16, state: typedBefore).text == "connect 127.0.0.2:80 ",
                "an alias's endpoint is remembered too")
    }

    @Test func helpExistsForEveryCommandAndAlias() throws {
        let known = CommandCatalog.helpLines(topic: nil)
        for spec in CommandCatalog.specs {
            #expect(known.contains { $0.hasPrefix(spec.usage + "  —  ") }, "help lists \(spec.name)")
            for name in spec.names {
                let lines = CommandCatalog.helpLines(topic: name)
                #expect(lines.first?.hasPrefix("\(spec.usage)  —  \(spec.summary)") == true, "help \(name)")
                #expect(try CommandParser.parse("help \(name)") == .help(topic: name))
            }
        }
        #expect(CommandCatalog.helpLines(topic: "frobnicate").first?.hasPrefix("no command named") == true)
    }

    @Test func namesAreUnique() {
        let names = CommandCatalog.specs.flatMap(\.names)
        #expect(names.count == Set(names).count, "a name or alias is declared twice")
    }
}

/// What each command's typed form means, option by option, including the forms that
/// look alike (`sendhex c1 c2` is two bytes; `sendhex C1 c1 c2` sends them on C1).
@Suite struct TypedFormTests {
    static let forms: [(String, Command)] = {
        var reply = ListenRequest(endpoint: loopback(9000), mode: .reply(Array("hi\r\n".utf8)), backlog: 5)
        reply.replaceStale = false
        var unixListener = ListenRequest(endpoint: .unix(path: "/tmp/s.sock"))
        unixListener.replaceStale = true
        var guarded = ListenRequest(endpoint: .inet(.tcp, host: "0.0.0.0", port: 80), mode: .discard)
        guarded.isPublic = true
        guarded.manualAccept = true
        guarded.policy.allow = [AddressRange("10.0.0.0/8")!]
        guarded.policy.deny = [AddressRange("10.1.0.0/16")!]
        guarded.policy.maxConnections = 5
        guarded.policy.idleTimeoutMilliseconds = 2500
        return [
            ("listen 9000", .listen(ListenRequest(endpoint: loopback(9000)))),
            ("l udp://:0 echo", .listen(ListenRequest(endpoint: loopback(0, .udp), mode: .echo))),
            (#"listen 9000 --reply "hi\r\n" --backlog 5"#, .listen(reply)),
            ("listen unix:/tmp/s.sock --replace", .listen(unixListener)),
            ("listen unixgram:/tmp/d.sock", .listen(ListenRequest(endpoint: .unixDatagram(path: "/tmp/d.sock")))),
            ("listen tcp://0.0.0.0:80 --DISCARD --public --manual-accept --allow 10.0.0.0/8 --deny 10.1.0.0/16 "
                + "--max-conns 5 --idle-timeout 2.5", .listen(guarded)),
            ("listen S1 5", .step(.listen(S1, backlog: 5))),
            ("connect 9000 --bind 127.0.0.1:5000 --timeout 0.25",
             .connect(ConnectRequest(endpoint: loopback(9000), bind: LocalAddress(host: "127.0.0.1", port: 5000),
                                     timeoutMilliseconds: 250))),
            ("c unixgram:@dg", .connect(ConnectRequest(endpoint: .unixDatagram(path: "@dg")))),
            // 1.001 * 1000 is 1000.9999999999999 in binary: rounded, not truncated.
            ("connect 9000 --timeout 1.001", .connect(ConnectRequest(endpoint: loopback(9000), timeoutMilliseconds: 1001))),
            ("connect s1 [::1]:9", .step(.connect(S1, .inet(.tcp, host: "::1", port: 9)))),
            ("send c1", .send(target: nil, bytes: Array("c1".utf8))),
            ("send c1 hi", .send(target: nil, bytes: Array("c1 hi".utf8))),
            ("send C1 hi", .send(target: C1, bytes: Array("hi".utf8))),
            (#"send "C1" hi"#, .send(target: nil, bytes: Array("C1 hi".utf8))),
            ("s C01 x", .send(target: nil, bytes: Array("C01 x".utf8))),
            ("sendhex c1 c2", .send(target: nil, bytes: [0xC1, 0xC2])),
            ("sendhex C1 c1 c2", .send(target: C1, bytes: [0xC1, 0xC2])),
            ("sendhex C1", .send(target: nil, bytes: [0xC1])),
            (#"sendhex "C1" C2"#, .send(target: nil, bytes: [0xC1, 0xC2])),
            ("sendhex de ad", .send(target: nil, bytes: [0xDE, 0xAD])),
            ("sendhex C2 0xde,0xad", .send(target: C2, bytes: [0xDE, 0xAD])),
            ("sendfile C1 /tmp/x", .sendFile(target: C1, path: "/tmp/x")),
            ("sendfile C1", .sendFile(target: nil, path: "C1")),
            ("sendto 127.0.0.1:53 hi there", .sendTo(target: nil, destination: .inet(.udp, host: "127.0.0.1", port: 53), bytes: Array("hi there".utf8))),
            ("sendto l1 [::1]:9 x", .sendTo(target: L1, destination: .inet(.udp, host: "::1", port: 9), bytes: [0x78])),
            ("sendto C2 @name hi", .sendTo(target: C2, destination: .unixDatagram(path: "@name"), bytes: Array("hi".utf8))),
            ("sendto unix:/tmp/d.sock x", .sendTo(target: nil, destination: .unixDatagram(path: "/tmp/d.sock"), bytes: [0x78])),
            ("close c1", .close(target: C1)),
            ("x", .close(target: nil)),
            ("shutdown write", .shutdown(target: nil, .write)),
            ("shutdown c2 READ", .shutdown(target: C2, .read)),
            ("reset", .reset(target: nil)),
            ("reset C1", .reset(target: C1)),
            ("get L1 reuseaddr", .getOption(target: L1, .reuseaddr)),
            ("get ttl", .getOption(target: nil, .ttl)),
            ("set nodelay on", .setOption(target: nil, .nodelay, 1)),
            ("set c1 rcvbuf 65536", .setOption(target: C1, .rcvbuf, 65536)),
            ("set C1 eol CRLF", .setLineEnding(target: C1, .crlf)),
            ("resolve localhost", .resolve(host: "localhost")),
            ("explain ECONNREFUSED", .explain("ECONNREFUSED")),
            ("save /tmp/log.jsonl", .save(path: "/tmp/log.jsonl", format: .json)),
            ("save /tmp/log.jsonl --text", .save(path: "/tmp/log.jsonl", format: .text)),
            ("save /tmp/log --json", .save(path: "/tmp/log", format: .json)),
            ("save /tmp/h.pcapng", .save(path: "/tmp/h.pcapng", format: .pcapng)),
            ("capture on /tmp/c.pcapng --max 64M", .capture(.on(path: "/tmp/c.pcapng", maxBytes: 64 << 20))),
            ("capture on", .capture(.on(path: nil, maxBytes: nil))),
            ("capture off", .capture(.off)),
            ("socket udp6", .step(.socket(.udp6))),
            ("bind S1 unix:/tmp/x", .step(.bind(S1, .unix(path: "/tmp/x")))),
            ("accept", .accept(target: nil)),
            ("accept s1", .accept(target: S1)),
            ("recv S1", .step(.recv(S1, maxBytes: 4096))),
            ("recv S1 65536", .step(.recv(S1, maxBytes: 65536))),
            ("system on", .system(.show)),
            ("sys sort state", .system(.sort(.state))),
            ("sys filter a  b", .system(.filter("a b"))),
            ("? sendhex", .help(topic: "sendhex")),
            ("exit", .quit),
            ("clear CLOSED", .clearClosed),
            ("clear closed --after 2.5", .forgetClosed(afterMilliseconds: 2500)),
            ("clear closed --after OFF", .forgetClosed(afterMilliseconds: nil)),
            ("starttls", .startTLS(target: nil, dialogue: nil, tls: TLSClientOptions())),
            ("starttls c2 SMTP --insecure", .startTLS(target: C2, dialogue: .smtp, tls: {
                var tls = TLSClientOptions()
                tls.insecure = true
                return tls
            }())),
            ("starttls --ca /tmp/ca.pem", .startTLS(target: nil, dialogue: nil, tls: {
                var tls = TLSClientOptions()
                tls.caFile = "/tmp/ca.pem"
                return tls
            }())),
            (#"expect "+PONG""#, .expect(target: nil, .data(.exact(Array("+PONG".utf8))), timeoutMilliseconds: 10_000)),
            ("expect c1 +OK --timeout 0.25", .expect(target: C1, .data(.exact(Array("+OK".utf8))), timeoutMilliseconds: 250)),
            ("expect /C1/", .expect(target: nil, .data(.regex("C1")), timeoutMilliseconds: 10_000)),
            (#"expect "closed""#, .expect(target: nil, .data(.exact(Array("closed".utf8))), timeoutMilliseconds: 10_000)),
            ("expect L1 CONNECTED", .expect(target: L1, .connected, timeoutMilliseconds: 10_000)),
            ("expect hex dead", .expect(target: nil, .data(.hex([0xDE, 0xAD])), timeoutMilliseconds: 10_000)),
            ("sleep 0", .sleep(milliseconds: 0)),
            ("rule all list", .rule(.all, .list)),
            ("rule C1 remove #3", .rule(.socket(C1), .remove(3))),
            (#"rule when /a b/ reply "x \1" --raw"#, .rule(nil, .add({
                var rule = Rule(pattern: .regex("a b"), reply: ReplyTemplate(parts: [.bytes(Array("x ".utf8)), .capture(1)]))
                rule.framing = .reads
                return rule
            }()))),
            ("every 5 --count 2 send C1 a b", .every(milliseconds: 5, count: 2, target: C1, bytes: Array("a b".utf8))),
            ("stop E2", .stop(2)),
            ("stop", .stop(nil)),
            ("scan 127.0.0.1 1-1024,8080", .scan(ScanRequest(host: "127.0.0.1", ports: PortList([1...1024, 8080...8080])))),
            ("SCAN ::1 22 --TIMEOUT 10 --concurrency 2 --banner-wait 250", .scan({
                var scan = ScanRequest(host: "::1", ports: PortList([22...22]))
                scan.timeoutMilliseconds = 10
                scan.concurrency = 2
                scan.bannerWaitMilliseconds = 250
                return scan
            }())),
            ("scan STOP", .scanStop),
            ("ping ::1 --count 2 --interval 10 --timeout 20", .ping({
                var ping = PingRequest(host: "::1")
                ping.count = 2
                ping.intervalMilliseconds = 10
                ping.timeoutMilliseconds = 20
                return ping
            }())),
            ("PING stop", .pingStop),
            ("lab TimeWait", .lab(.timewait)),
            ("lab list", .lab(nil)),
            ("tour", .tour(.start(nil))),
            ("tour UDP", .tour(.start(2))),
            ("tour 7", .tour(.start(6))),
            ("tour Next", .tour(.next)),
            ("toxic R1 add latency 200", .toxic(target: R1, .add(Toxic(effect: .latency(milliseconds: 200, jitter: 0),
                                                                         direction: .down)))),
            ("toxic add slicer 10 2 500 --dir UP --name chop",
             .toxic(target: nil, .add(Toxic(name: "chop", effect: .slicer(averageSize: 10, sizeVariation: 2, delayMicroseconds: 500),
                                            direction: .up)))),
            ("toxic r1 remove latency_down", .toxic(target: R1, .remove(name: "latency_down"))),
            ("toxic list", .toxic(target: nil, .list)),
            ("relay 8080 [::1]:80", .relay(RelayRequest(listen: ListenRequest(endpoint: loopback(8080)),
                                                        target: .inet(.tcp, host: "::1", port: 80)))),
            ("relay unix:/tmp/s.sock tcp://127.0.0.1:6379 --replace", .relay(RelayRequest(listen: unixListener,
                                                                                          target: loopback(6379)))),
            ("hold R1 up", .hold(target: R1, .hold(.up, .raw))),
            ("HOLD both --Frame LEN16", .hold(target: nil, .hold(.both, .len16))),
            ("forward", .hold(target: nil, .forward(1))),
            ("forward r1 5", .hold(target: R1, .forward(5))),
            ("drop R1 2", .hold(target: R1, .drop(2))),
            ("edit", .hold(target: nil, .edit([]))),
            ("edit R1", .hold(target: R1, .edit([]))),
            (#"edit R1 "a b\r\n""#, .hold(target: R1, .edit(Array("a b\r\n".utf8)))),
            ("edit r1 x", .hold(target: nil, .edit(Array("r1 x".utf8)))),
            ("edit --hex 00 05", .hold(target: nil, .edit([0, 5]))),
            ("release R1", .hold(target: R1, .release)),
            ("replay C3", .replay(ReplayRequest(source: SocketID(.connection, 3)))),
            ("REPLAY c3 --Timing to unix:/tmp/s", .replay(ReplayRequest(source: SocketID(.connection, 3),
                                                                        destination: .unix(path: "/tmp/s"), keepsTiming: true))),
            ("replay C3 to 127.0.0.1:80", .replay(ReplayRequest(source: SocketID(.connection, 3), destination: loopback(80)))),
        ]
    }()

    @Test func everyTypedFormMeansWhatItSays() throws {
        for (line, expected) in Self.forms {
            #expect(try CommandParser.parse(line) == expected, "\(line)")
        }
        let covered = Self.forms.compactMap { line, _ in
            CommandCatalog.spec(named: String(line.prefix { $0 != " " }))?.name
        }
        #expect(Set(covered) == Set(CommandCatalog.specs.map(\.name)), "every command has its typed forms here")
    }

    @Test(arguments: ["sendfile c1 /tmp/x", "sendhex C1 zz", "close nope", "accept 7", "sendto C1", "starttls C1 smtpx",
                      "starttls --sni a --no-sni",
                      "connect 9000 --bind", "listen 1 --max-conns 0", "set C1 eol dos", "recv C1 0", "bind 9000",
                      "replay", "replay C3 to", "replay C3 --fast", "replay L1x"])
    func wrongFormsSayWhyInOneLine(_ line: String) {
        do {
            _ = try CommandParser.parse(line)
            Issue.record("expected an error for \(line)")
        } catch {
            #expect(!error.message.contains("\n"))
            #expect(error.message.contains("usage:") || error.message.hasPrefix("sendhex:"), "\(error.message)")
        }
    }
}

/// `parse(print(command)) == command` for every kind of command the parser makes.
@Suite struct CommandRoundTripTests {
    /// A name for each kind; the exhaustive switch makes a new kind show up here.
    static func kind(of command: Command) -> String {
        switch command {
        case .listen: "listen"
        case .connect: "connect"
        case .send: "send"
        case .close: "close"
        case .shutdown: "shutdown"
        case .reset: "reset"
        case .startTLS: "startTLS"
        case .sendTo: "sendTo"
        case .sendFile: "sendFile"
        case .setOption: "setOption"
        case .getOption: "getOption"
        case .resolve: "resolve"
        case .explain: "explain"
        case .setLineEnding: "setLineEnding"
        case .save: "save"
        case .help: "help"
        case .quit: "quit"
        case .accept: "accept"
        case .system: "system"
        case .clearClosed: "clearClosed"
        case .forgetClosed: "forgetClosed"
        case .expect: "expect"
        case .sleep: "sleep"
        case .rule: "rule"
        case .every: "every"
        case .stop: "stop"
        case .scan: "scan"
        case .scanStop: "scanStop"
        case .ping: "ping"
        case .pingStop: "pingStop"
        case .relay: "relay"
        case .toxic: "toxic"
        case .relaySwitch: "relaySwitch"
        case .hold: "hold"
        case .lab: "lab"
        case .tour: "tour"
        case .capture: "capture"
        case .replay: "replay"
        case .step(let call):
            switch call {
            case .socket: "step.socket"
            case .bind: "step.bind"
            case .listen: "step.listen"
            case .connect: "step.connect"
            // The parser reads these as the general commands (send, recv aside), which run them as steps.
            case .accept, .send, .shutdown, .close, .sendTo: "step.general"
            case .recv: "step.recv"
            }
        }
    }

    static let parsedKinds = ["listen", "connect", "send", "close", "shutdown", "reset", "sendTo", "sendFile",
                              "setOption", "getOption", "resolve", "explain", "setLineEnding", "save", "help", "quit",
                              "accept", "system", "step.socket", "step.bind", "step.listen", "step.connect", "step.recv",
                              "clearClosed", "forgetClosed", "startTLS", "expect", "sleep", "rule", "every", "stop", "scan", "scanStop", "ping", "pingStop",
                              "relay", "toxic", "relaySwitch", "lab", "tour", "capture", "hold", "replay"]

    /// Words a user could type as a path, a host or a filter: spaces and quotes included.
    static let word = Gen<Character?>.element(of: Array("ab/._-9 é'")).map { $0 ?? "a" }.string(of: 1...12)
        .filter { !$0.trimmingWhitespace.isEmpty && $0.first != " " && $0.last != " " && !$0.contains("  ") }
    static let bytes = Gen.uint8().array(of: 1...40)

    static func command(kind: Int, id: Int, port: Int, bytes: [UInt8], word: String, number: Int) -> Command {
        let connection = SocketID(.connection, id)
        let socket = SocketID(.socket, id)
        let target: SocketID? = id % 3 == 0 ? nil : (id % 3 == 1 ? connection : SocketID(.listener, id))
        let endpoints: [Endpoint] = [.inet(.tcp, host: "127.0.0.1", port: port), .inet(.udp, host: "::1", port: port),
                                     .unix(path: "/tmp/" + word), .unixDatagram(path: "@" + word)]
        let endpoint = endpoints[number % endpoints.count]
        var listen = ListenRequest(endpoint: endpoint, backlog: number % 65536)
        listen.mode = [.interactive, .echo, .discard, .reply(bytes)][id % 4]
        listen.replaceStale = number % 2 == 0
        listen.isPublic = number % 3 == 0
        listen.manualAccept = number % 5 == 0
        if number % 7 == 0 { listen.policy.allow = [AddressRange("10.0.0.0/8")!, AddressRange("::1")!] }
        if number % 11 == 0 { listen.policy.deny = [AddressRange("192.168.0.0/16")!] }
        if number % 13 == 0 { listen.policy.maxConnections = 1 + number % 1000 }
        if number % 2 == 1 { listen.policy.idleTimeoutMilliseconds = 1 + number % 86_400_000 }
        if number % 17 == 0 { listen.rulesFile = word }
        let connect = ConnectRequest(endpoint: port == 0 ? .unix(path: word) : endpoint,
                                     bind: number % 2 == 0 ? LocalAddress(host: "127.0.0.1", port: port) : nil,
                                     timeoutMilliseconds: number % 3 == 0 ? 1 + number % 3_600_000 : nil)
        let option = SocketOptionName.allCases[number % SocketOptionName.allCases.count]
        switch kind {
        case 0: return .listen(listen)
        case 1: return .connect(connect)
        case 2: return .send(target: target?.kind == .listener ? nil : target, bytes: bytes)
        case 3: return .close(target: target)
        case 4: return .shutdown(target: target, ShutdownDirection.allCases[number % 3])
        case 5: return .reset(target: target)
        case 6: return .sendTo(target: target,
                               destination: id % 3 == 2 ? .unixDatagram(path: "@" + word)
                                   : .inet(.udp, host: id % 2 == 0 ? "::1" : "127.0.0.1", port: max(1, port)),
                               bytes: bytes)
        case 7: return .sendFile(target: target?.kind == .listener ? nil : target, path: word)
        case 8: return .setOption(target: target, option, number - 1000)
        case 9: return .getOption(target: target, option)
        case 10: return .resolve(host: "h" + word.filter { $0 != " " && $0 != "'" })
        case 11: return .explain(["ECONNREFUSED", "TIME-WAIT", "EAGAIN"][number % 3])
        case 12: return .setLineEnding(target: target, LineEnding.allCases[number % 4])
        case 13: return .save(path: word, format: [.json, .text, .script, .pcapng][number % 4])
        case 14: return .help(topic: id % 2 == 0 ? nil : CommandCatalog.specs[number % CommandCatalog.specs.count].name)
        case 15: return .quit
        case 16: return .accept(target: target)
        case 17: return .system([.toggle, .show, .hide, .filter(nil), .filter(word), .sort(.queue)][number % 6])
        case 18: return .step(.socket(StepSocketKind.allCases[number % 5]))
        case 19: return .step(.bind(socket, endpoint))
        case 20: return .step(.listen(socket, backlog: number % 65536))
        case 21: return .step(.connect(socket, port == 0 ? .unix(path: word) : loopback(port)))
        case 23: return .clearClosed
        case 24: return .forgetClosed(afterMilliseconds: number % 3 == 0 ? nil : 1 + number % 86_400_000)
        case 25:
            var tls = TLSClientOptions()
            if number % 2 == 0 { tls.insecure = true }
            if number % 3 == 0 { tls.caFile = word }
            if number % 5 == 0 { tls.alpn = ["h2", "http/1.1"] }
            let dialogues: [StartTLSProtocol?] = [nil] + StartTLSProtocol.allCases
            return .startTLS(target: target, dialogue: dialogues[number % dialogues.count], tls: tls)
        case 26:
            // A regex as the parser gives it: a slash in it is escaped (an unescaped one ends it).
            let patterns: [BytePattern] = [.exact(bytes), .contains(bytes), .prefix(bytes), .hex(bytes), .regex("a(b)+ \\/" + word.replacingOccurrences(of: "/", with: "\\/"))]
            let conditions: [ExpectCondition] = [.connected, .eof, .closed] + patterns.map(ExpectCondition.data)
            return .expect(target: target, conditions[number % conditions.count], timeoutMilliseconds: 1 + number % 3_600_000)
        case 27: return .sleep(milliseconds: number % 3_600_001)
        case 28:
            var rule = Rule(pattern: [.exact(bytes), .regex("^x(y)\\d")][number % 2],
                            reply: ReplyTemplate(parts: [.bytes(bytes), number % 2 == 1 ? .capture(1) : .count, .peer, .date]))
            rule.framing = number % 3 == 0 ? .reads : .lines
            rule.delayMilliseconds = number % 5 == 0 ? 1 + number % 1000 : 0
            rule.once = number % 7 == 0
            rule.closes = number % 11 == 0
            let owner: RuleOwner? = [nil, .all, target.map(RuleOwner.socket)][number % 3]
            return .rule(owner, [.add(rule), .list, .remove(1 + number % 100)][id % 3])
        case 29: return .every(milliseconds: 1 + number % 86_400_000, count: number % 2 == 0 ? nil : 1 + number % 1000,
                               target: target?.kind == .listener ? nil : target, bytes: bytes)
        case 30: return .stop(number % 2 == 0 ? nil : 1 + number % 50)
        case 31:
            var scan = ScanRequest(host: "h" + word, ports: PortList([max(1, port)...max(1, port), (1 + number % 65535)...65535]))
            if number % 2 == 0 { scan.timeoutMilliseconds = 1 + number % 600_000 }
            if number % 3 == 0 { scan.concurrency = 1 + number % 65535 }
            if number % 5 == 0 { scan.bannerWaitMilliseconds = [ScanRequest.defaultBannerWaitMilliseconds, 1 + number % 60_000][id % 2] }
            return .scan(scan)
        case 32: return .scanStop
        case 33:
            var ping = PingRequest(host: "h" + word)
            if number % 2 == 0 { ping.count = 1 + number % 100_000 }
            if number % 3 == 0 { ping.intervalMilliseconds = 10 + number % 3_600_000 }
            if number % 5 == 0 { ping.timeoutMilliseconds = 1 + number % 600_000 }
            return .ping(ping)
        case 34: return .pingStop
        case 35:
            // A relay listens for and connects to streams; its listener takes no mode.
            let streams: [Endpoint] = [.inet(.tcp, host: "127.0.0.1", port: port), .inet(.tcp, host: "::1", port: port),
                                       .unix(path: "/tmp/" + word)]
            var relayListen = listen
            relayListen.endpoint = streams[number % streams.count]
            relayListen.mode = .interactive
            relayListen.manualAccept = false
            relayListen.rulesFile = nil
            let targets: [Endpoint] = [.inet(.tcp, host: "127.0.0.1", port: max(1, port)),
                                       .inet(.tcp, host: "::1", port: max(1, port)), .unix(path: "/tmp/" + word)]
            let target = targets[id % targets.count]
            // Either TCP side may be tls://, each with its own options (prefixed when both are).
            if case .inet = relayListen.endpoint, number % 3 == 0 {
                var server = TLSServerOptions()
                if number % 2 == 0 { server.alpn = ["h2"] }
                if number % 5 == 0 { server.keyLogFile = word }
                relayListen.tls = server
            }
            var targetTLS: TLSClientOptions?
            if case .inet = target, id % 2 == 0 {
                var client = TLSClientOptions()
                if number % 7 == 0 { client.caFile = word }
                if number % 5 == 0 { client.keyLogFile = word }
                if number % 4 == 0 { client.insecure = true }
                targetTLS = client
            }
            return .relay(RelayRequest(listen: relayListen, target: target, targetTLS: targetTLS))
        case 36:
            let relay: SocketID? = id % 2 == 0 ? nil : SocketID(.relay, id)
            let effects: [ToxicEffect] = [.latency(milliseconds: number % 5000, jitter: number % 7), .bandwidth(kilobytesPerSecond: 1 + number % 100_000),
                                          .slicer(averageSize: 2 + number % 1000, sizeVariation: 1, delayMicroseconds: number % 99_999),
                                          .limitData(bytes: number), .timeout(milliseconds: number % 60_000),
                                          .resetPeer(milliseconds: number % 60_000), .slowClose(milliseconds: number % 60_000)]
            let toxic = Toxic(name: number % 3 == 0 ? nil : "t" + word.filter { $0 != " " && $0 != "'" },
                              effect: effects[number % effects.count],
                              direction: ToxicDirection.allCases[id % 3], toxicity: [1, 0, 0.5, 0.125][number % 4])
            return .toxic(target: relay, [.add(toxic), .remove(name: toxic.name), .list][number % 3])
        case 37:
            return .relaySwitch(target: id % 2 == 0 ? nil : SocketID(.relay, id), [.down, .up][number % 2])
        case 38: return .lab(number % 7 == 6 ? nil : ExperimentName.allCases[number % 6])
        case 39: return .tour([.start(nil), .start(number % TourLessons.all.count), .list, .next, .back, .quit][id % 6])
        case 40:
            let maxBytes: Int? = number % 2 == 0 ? nil : CaptureRequest.minimumRingBytes + (number % 5) * 1024
            return .capture([.off, .on(path: nil, maxBytes: maxBytes), .on(path: "/tmp/" + word, maxBytes: maxBytes)][id % 3])
        case 41:
            let relay: SocketID? = id % 2 == 0 ? nil : SocketID(.relay, id)
            let commands: [HoldCommand] = [.hold(ToxicDirection.allCases[id % 3], HoldFraming.allCases[number % 4]),
                                           .forward(1 + number % 100), .drop(1 + number % 3), .edit(bytes), .release]
            return .hold(target: relay, commands[number % commands.count])
        case 42:
            let destinations: [Endpoint?] = [nil, .inet(.tcp, host: "127.0.0.1", port: max(1, port)), .unix(path: "/tmp/" + word)]
            return .replay(ReplayRequest(source: SocketID(.connection, id), destination: destinations[number % 3],
                                         keepsTiming: id % 2 == 0))
        default: return .step(.recv(socket, maxBytes: 1 + number % 65_536))
        }
    }

    @Test func everyKindPrintsAndParsesBack() async {
        var seen = Set<String>()
        for kind in 0..<Self.parsedKinds.count {
            seen.insert(Self.kind(of: Self.command(kind: kind, id: 1, port: 9, bytes: [1], word: "a", number: 1)))
        }
        #expect(seen == Set(Self.parsedKinds), "every kind the parser makes has a generator")
        await propertyCheck(count: 1500, input: Gen.int(in: 0...(Self.parsedKinds.count - 1)), Gen.int(in: 0...30),
                            Gen.int(in: 0...65535), Self.bytes, Self.word, Gen.int(in: 0...100_000_000)) {
            kind, id, port, bytes, word, number in
            let command = Self.command(kind: kind, id: max(1, id), port: port, bytes: bytes, word: word, number: number)
            let line = CommandText.line(for: command)
            #expect((try? CommandParser.parse(line)) == command, "\(line) \(command)")
        }
    }

    @Test func stepCallsPrintAsTheCommandsThatRunThem() throws {
        #expect(try CommandParser.parse(CommandText.line(for: .step(.accept(S1)))) == .accept(target: S1))
        #expect(try CommandParser.parse(CommandText.line(for: .step(.send(S1, [0xC1])))) == .send(target: S1, bytes: [0xC1]))
        #expect(try CommandParser.parse(CommandText.line(for: .step(.shutdown(S1, .write)))) == .shutdown(target: S1, .write))
        #expect(try CommandParser.parse(CommandText.line(for: .step(.close(S1)))) == .close(target: S1))
    }
}

/// Keys and confirmations build typed commands: nothing is printed and parsed again.
@Suite struct KeysBuildTypedCommandsTests {
    @Test func connectAgainReachesAUnixPathWithASpace() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .unix, local: "/tmp/a b.sock", mode: .echo, backlog: 1)))
        state.view.focus = .listeners
        state.view.selectedListener = L1
        let effects = Reducer.reduce(&state, .key(.character("d"), time: t0))
        // As text, "connect unix:/tmp/a b.sock" read as the path /tmp/a and an unknown option.
        #expect(requests(effects).map(\.command) == [.connect(ConnectRequest(endpoint: .unix(path: "/tmp/a b.sock")))])
        #expect(state.log.last?.text == #"connect "unix:/tmp/a b.sock""#, "logged as the line that types it")
    }

    @Test func confirmationsHoldTheCommandTheyRun() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:5000")))
        state.view.focus = .listeners
        state.view.selectedListener = L1
        _ = Reducer.reduce(&state, .key(.character("x"), time: t0))
        #expect(state.view.confirmation?.command == .close(target: L1))
        state.view.confirmation = nil
        state.view.focus = .connections
        state.view.selectedConnection = C1
        _ = Reducer.reduce(&state, .key(.character("R"), time: t0))
        #expect(state.view.confirmation?.command == .reset(target: C1))
    }
}
