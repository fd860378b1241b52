/// One command of the language, declared once: its names, arguments and options, the
/// text `help`, the `?` overlay, `--help` and the README show, the examples the tests
/// parse, and how its words become a typed `Command`. Tab completion reads the
/// argument and option declarations.
public struct CommandSpec: Sendable {
    /// A word the command takes (completion offers what its kind names).
    public struct Argument: Hashable, Sendable {
        public enum Kind: Hashable, Sendable {
            case socket(IDPosition, offering: SocketOffer)
            case endpoint
            /// One of these words.
            case choice([String])
            /// A command's name (`help COMMAND`).
            case command
            /// Free data or a name the user makes up (text, hex, a path, a host, a number).
            case value
        }
        public let name: String
        public let kind: Kind
    }

    /// Which of the session's sockets completion offers for an id.
    public enum SocketOffer: Hashable, Sendable {
        case openConnections, openSockets, stepSockets, listeners
    }

    /// An option (`--backlog N`); `value` names what follows it, nil for a flag.
    public struct Option: Hashable, Sendable {
        public let name: String
        public let aliases: [String]
        public let value: String?
        public init(_ name: String, aliases: [String] = [], value: String? = nil) {
            self.name = name
            self.aliases = aliases
            self.value = value
        }
    }

    public let name: String
    public let aliases: [String]
    public let usage: String
    public let summary: String
    public let details: [String]
    public let arguments: [Argument]
    public let options: [Option]
    /// Lines that must parse (a test checks each); they also show the command's forms.
    public let examples: [String]
    /// Its words may be `/regexes/` (`rule`, `expect`): see `CommandParser.words`.
    public let takesPatterns: Bool
    let parse: @Sendable (inout CommandArguments) throws(CommandParser.ParseError) -> Command

    init(_ name: String, aliases: [String] = [], usage: String, summary: String, details: [String] = [],
         arguments: [Argument] = [], options: [Option] = [], examples: [String], takesPatterns: Bool = false,
         parse: @escaping @Sendable (inout CommandArguments) throws(CommandParser.ParseError) -> Command) {
        self.name = name
        self.aliases = aliases
        self.usage = usage
        self.summary = summary
        self.details = details
        self.arguments = arguments
        self.options = options
        self.examples = examples
        self.takesPatterns = takesPatterns
        self.parse = parse
    }

    /// Every name the command answers to.
    public var names: [String] { [name] + aliases }

    func option(matching word: String) -> Option? {
        let lowered = word.lowercased()
        return options.first { $0.name == lowered || $0.aliases.contains(lowered) }
    }
}

private typealias Argument = CommandSpec.Argument
private typealias Option = CommandSpec.Option

/// The command table: every command of the language, in the order `help` lists them.
/// A new command is one entry here (plus its `Command` case, which the compiler then
/// asks `CommandText` and `Reducer.execute` to handle).
public enum CommandCatalog {
    public static let specs: [CommandSpec] = [
        CommandSpec(
            "listen", aliases: ["l"],
            usage: "listen ENDPOINT [--echo | --reply TEXT | --discard] [--backlog N] [OPTIONS]",
            summary: "open a server socket (binds 127.0.0.1 unless you name an address)",
            details: [
                "ENDPOINT: tcp://HOST:PORT, tcp://[::1]:PORT, tcp://:PORT or a bare PORT (127.0.0.1),",
                "udp://HOST:PORT, unix:PATH, unix:@abstract, unixgram:PATH",
                "--replace removes a stale UNIX socket file left at PATH",
                "--allow CIDR / --deny CIDR (repeatable), --max-conns N, --idle-timeout SECONDS: access control;",
                "refused peers are logged with their address",
                "--public: bind every interface (0.0.0.0, ::) without asking; otherwise the TUI asks and headless refuses",
                "port 0 lets the kernel choose; the chosen port is reported",
                "--echo writes back what arrives; --reply TEXT greets each client; --discard only counts (the log",
                "shows exact counts, no previews);",
                "each of them closes a client once it has closed its side (nothing more to say)",
                "--reply answers once, on accept, and then only reads: a client that sends several requests",
                "(redis-cli from a pipe, HTTP keep-alive) waits for answers that never come",
                "--backlog N sets the accept queue length (default 4096, capped by net.core.somaxconn)",
                "--manual-accept: clients wait in the accept queue until `accept` takes one (watch it fill)",
                "--reuseaddr (UDP): SO_REUSEADDR, share the port with sockets that set it too (the kernel gives",
                "each datagram to one of them); without it a port in use fails with EADDRINUSE. TCP always sets it",
                "(it only lets a restart bind past TIME-WAIT); --reuseport: SO_REUSEPORT, several sockets of",
                "one user share the port and the kernel spreads connections or datagrams among them",
                "tls://HOST:PORT: every client gets a TLS handshake (--cert FILE --key FILE, PEM); without them a",
                "self-signed certificate for the address and localhost is made in memory and its SHA-256 fingerprint",
                "shown; --save-cert FILE writes it (PEM) for curl --cacert; --alpn h2,http/1.1 the protocols accepted;",
                "--keylog FILE (or SSLKEYLOGFILE) appends the session secrets (NSS key log format) for Wireshark;",
                "--require-client-cert refuses clients without a certificate and shows theirs; with --ca FILE it",
                "must chain to those roots (a failure is logged with the reason), without --ca it is shown, not checked",
                "--rules FILE: answer by the rules in FILE, one per line as after rule ID (when MATCH reply TEXT ...),",
                "# comments allowed; a bad line is an error naming FILE:LINE (see help rule)",
                "step mode: listen S1 [N] calls listen(2) on a step socket (backlog N, default 128)",
            ],
            arguments: [Argument(name: "S1", kind: .socket(.stepSocket, offering: .stepSockets)),
                        Argument(name: "ENDPOINT", kind: .endpoint)],
            options: [Option("--echo", aliases: ["echo"]), Option("--reply", aliases: ["reply"], value: "TEXT"),
                      Option("--discard", aliases: ["discard"]), Option("--backlog", value: "N"), Option("--replace"),
                      Option("--manual-accept"), Option("--public"), Option("--allow", value: "CIDR"),
                      Option("--deny", value: "CIDR"), Option("--max-conns", value: "N"),
                      Option("--idle-timeout", value: "SECONDS"), Option("--reuseaddr"), Option("--reuseport"),
                      Option("--rules", value: "FILE")]
                + TLSCommandWords.serverOptions,
            examples: ["listen 9000", "l tcp://:0 --echo", "listen udp://127.0.0.1:5300 --reuseaddr --reuseport", #"listen 9000 --reply "hi\r\n" --backlog 5"#,
                       "listen udp://127.0.0.1:0 --discard", "listen unix:/tmp/demo.sock --replace",
                       "listen 9000 --allow 10.0.0.0/8 --deny 10.1.0.0/16 --max-conns 5 --idle-timeout 2.5",
                       "listen 0.0.0.0:9000 --public", "listen 9000 --backlog 2 --manual-accept", "listen S1 5",
                       "listen S1", "listen tls://127.0.0.1:8443 --save-cert /tmp/sockscope.pem --keylog /tmp/keys.log",
                       "listen tls://:8443 --cert server.pem --key server.key --alpn h2,http/1.1",
                       "listen tls://127.0.0.1:8443 --require-client-cert --ca clients-ca.pem",
                       "listen 6379 --rules /tmp/fake-redis.rules"],
            parse: parseListen),
        CommandSpec(
            "connect", aliases: ["c"],
            usage: "connect ENDPOINT [--bind HOST:PORT] [--timeout SECONDS] [TLS OPTIONS]",
            summary: "open a client connection (tcp://HOST:PORT, HOST:PORT, PORT, udp://..., unix:PATH, tls://HOST:PORT)",
            details: ["the kernel picks an ephemeral source port unless --bind names one; the row shows it",
                      "a name with several addresses is tried address by address; udp:// makes a connected UDP socket",
                      "tls://HOST:PORT: a TLS client; the certificate is verified against the system's roots (--ca FILE:",
                      "only those) and HOST; a failure is an error with the reason, and --insecure goes on anyway;",
                      "SNI is HOST when it is a name (--sni NAME, --no-sni); --alpn h2,http/1.1 offers protocols;",
                      "--cert FILE --key FILE present a client certificate; --tls-min/--tls-max 1.0|1.1|1.2|1.3;",
                      "--keylog FILE (or the SSLKEYLOGFILE variable) appends the session secrets for Wireshark",
                      "step mode: connect S1 ADDR calls connect(2) on a step socket"],
            arguments: [Argument(name: "S1", kind: .socket(.stepSocket, offering: .stepSockets)),
                        Argument(name: "ENDPOINT", kind: .endpoint)],
            options: [Option("--bind", value: "HOST:PORT"), Option("--timeout", value: "SECONDS")]
                + TLSCommandWords.clientOptions,
            examples: ["connect 9000", "c example.com:80", "connect tcp://[::1]:9000 --bind 127.0.0.1:0 --timeout 2.5",
                       "connect udp://127.0.0.1:53", "connect unix:/tmp/demo.sock", "connect unixgram:/tmp/dg.sock",
                       "connect S1 127.0.0.1:9000", "connect tls://example.com:443 --alpn h2,http/1.1",
                       "connect tls://127.0.0.1:8443 --ca ca.pem --sni localhost --tls-min 1.3",
                       "connect tls://10.0.0.5:443 --no-sni --cert client.pem --key client.key --tls-max 1.2", "connect tls://localhost:8443 --insecure --keylog /tmp/keys.log"],
            parse: parseConnect),
        CommandSpec(
            "send", aliases: ["s"], usage: "send [ID] TEXT",
            summary: "send text on a connection (escapes: \\n \\r \\t \\0 \\e \\\\ \\\" \\xHH)",
            details: ["quote with \"...\" to keep spaces",
                      "without ID: the selected connection in the TUI (a :connect selects the one it opens); else the most",
                      "recent socket, the one your commands last made (connect, listen, socket) or named by its id, never",
                      "one that merely arrived (an accepted client): a script means the same socket however fast it runs;",
                      "when that is a listener, its latest client (a UDP or UNIX datagram listener answers its latest sender)",
                      "the ID is written as shown (C1, S1) and needs text after it: send c1 hi sends \"c1 hi\""],
            arguments: [Argument(name: "ID", kind: .socket(.beforeData, offering: .openConnections)),
                        Argument(name: "TEXT", kind: .value)],
            examples: ["send hello", "s C3 hello world", #"send "GET / HTTP/1.0\r\n\r\n""#, "send S1 ping"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.beforeData)
                guard let text = args.rest() else { throw args.problem("needs text to send") }
                return .send(target: target, bytes: try decodeText(text, "send"))
            }),
        CommandSpec(
            "sendhex", usage: "sendhex [ID] HEX",
            summary: "send bytes written in hex (\"de ad be ef\", deadbeef, 0xde,0xad)",
            details: ["the ID is written as shown (C1) and needs bytes after it: sendhex c1 c2 sends the bytes",
                      "0xC1 0xC2, sendhex C1 c1 c2 sends them on C1; quoted words are always bytes (sendhex \"C1\" C2)"],
            arguments: [Argument(name: "ID", kind: .socket(.beforeData, offering: .openConnections)),
                        Argument(name: "HEX", kind: .value)],
            examples: [#"sendhex "de ad be ef""#, "sendhex C1 deadbeef", "sendhex 0xde,0xad", "sendhex c1 c2",
                       "sendhex C1 c1 c2"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.beforeData)
                guard let hex = args.rest() else { throw args.problem("needs hex bytes, as in sendhex \"de ad be ef\"") }
                return .send(target: target, bytes: try HexText.decode(hex))
            }),
        CommandSpec(
            "sendfile", usage: "sendfile [ID] PATH",
            summary: "send a file's bytes on a connection (streamed, with backpressure)",
            details: ["the ID is written as shown (C1) and needs a path after it",
                      "a script's next command waits until the whole file has left (or sending failed)"],
            arguments: [Argument(name: "ID", kind: .socket(.beforeData, offering: .openConnections)),
                        Argument(name: "PATH", kind: .value)],
            examples: ["sendfile /etc/hostname", "sendfile C2 \"/tmp/a file\""],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.beforeData)
                guard let path = args.next() else { throw args.problem("needs a file path") }
                try args.end()
                return .sendFile(target: target, path: path)
            }),
        CommandSpec(
            "sendto", usage: "sendto [ID] HOST:PORT|unix:PATH TEXT | sendto ID HOST [TEXT]",
            summary: "send one datagram to an address (UDP: HOST:PORT; UNIX datagram: unix:PATH, unix:@name)",
            details: ["on an ICMP step socket (socket raw icmp) the address is a host alone, and TEXT (optional)",
                      "is the data of an ICMP echo request built for you: sendto S1 127.0.0.1 hello"],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openSockets)),
                        Argument(name: "ADDRESS", kind: .endpoint), Argument(name: "TEXT", kind: .value)],
            examples: ["sendto 127.0.0.1:53 hello", #"sendto L1 [::1]:9000 "two words\n""#,
                       "sendto unix:/tmp/dg.sock hi", "sendto C2 @name hi", "sendto S1 127.0.0.1 hello"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                guard let address = args.next() else { throw args.problem("needs HOST:PORT or unix:PATH") }
                let destination: Endpoint
                // A host without a port is for ICMP step sockets (the reducer checks the socket), and its data is optional.
                if let host = CommandParser.bareHost(address) {
                    destination = .inet(.icmp, host: host, port: 0)
                    return .sendTo(target: target, destination: destination, bytes: try decodeText(args.rest() ?? "", "sendto"))
                }
                switch try CommandParser.parseEndpoint(address.hasPrefix("@") ? "unix:" + address : address,
                                                       listening: false) {
                case .inet(_, let host, let port): destination = .inet(.udp, host: host, port: port)
                // Only datagram sockets send to an address: unix: and unixgram: both name one.
                case .unix(let path), .unixDatagram(let path): destination = .unixDatagram(path: path)
                }
                guard let text = args.rest() else { throw args.problem("needs text to send") }
                return .sendTo(target: target, destination: destination, bytes: try decodeText(text, "sendto"))
            }),
        CommandSpec(
            "close", aliases: ["x"], usage: "close [ID]",
            summary: "close a connection or stop a listener",
            details: ["without ID: the selected socket, else the most recent socket (see help send)",
                      "graceful: a file still being sent (sendfile) or a large send leaves first; reset drops it"],
            arguments: [Argument(name: "ID", kind: .socket(.sole, offering: .openSockets))],
            examples: ["close", "close C1", "x l2", "close S1"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.sole)
                try args.end()
                return .close(target: target)
            }),
        CommandSpec(
            "shutdown", usage: "shutdown [ID] read|write|both",
            summary: "end one direction: write sends FIN (the peer reads EOF) and we can still receive",
            details: ["write (and both) send FIN after what is still queued to go out (a file being sent)"],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openConnections)),
                        Argument(name: "DIRECTION", kind: .choice(ShutdownDirection.allCases.map(\.rawValue)))],
            examples: ["shutdown write", "shutdown C1 read", "shutdown S1 both"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                guard let word = args.next(), let direction = ShutdownDirection(rawValue: word.lowercased()) else {
                    throw args.problem("needs a direction: read, write or both")
                }
                try args.end()
                return .shutdown(target: target, direction)
            }),
        CommandSpec(
            "reset", usage: "reset [ID]",
            summary: "abortive close: SO_LINGER 0 then close, so the peer gets RST (ECONNRESET)",
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openConnections))],
            examples: ["reset", "reset C2"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                try args.end()
                return .reset(target: target)
            }),
        CommandSpec(
            "starttls", usage: "starttls [ID] [PROTOCOL] [TLS options]",
            summary: "upgrade an open plain connection to TLS in place, after the protocol's own STARTTLS dialogue",
            details: ["with a protocol sockscope speaks its upgrade dialogue itself (every line is in the log), then",
                      "does the handshake; without one the handshake starts at once (you typed the dialogue yourself).",
                      "The certificate must name the host the connection was made to; the options are connect tls://'s",
                      "(--sni NAME or --no-sni, --alpn, --ca, --insecure, --cert, --key, --tls-min, --tls-max, --keylog). A refused dialogue",
                      "leaves the connection plain and open; a failed handshake closes it. Bytes the server sends after",
                      "its go-ahead, before the handshake, are refused (the STARTTLS injection flaw, CVE-2011-0411)"]
                + StartTLSProtocol.allCases.map(\.dialogue),
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openConnections)),
                        Argument(name: "PROTOCOL", kind: .choice(StartTLSProtocol.allCases.map(\.rawValue)))],
            options: TLSCommandWords.clientOptions,
            examples: ["starttls smtp", "starttls C2 imap --ca /tmp/ca.pem --sni mail.example.org", "starttls postgres --insecure --no-sni",
                       "starttls C3 smtp --cert me.pem --key me.key --alpn smtp", "starttls --tls-min 1.2 --tls-max 1.3 --keylog /tmp/keys.log"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                var dialogue: StartTLSProtocol?
                if let word = args.peek(), !word.hasPrefix("--") {
                    guard let named = StartTLSProtocol(rawValue: word.lowercased()) else {
                        throw args.problem("knows " + StartTLSProtocol.allCases.map(\.rawValue).joined(separator: ", ")
                                           + "; without a protocol the handshake starts at once")
                    }
                    _ = args.next()
                    dialogue = named
                }
                var tls = TLSClientOptions()
                try args.options { (option, args) throws(CommandParser.ParseError) in
                    _ = try TLSCommandWords.readClient(option, &args, into: &tls)
                }
                try TLSCommandWords.checkClient(tls, touched: true, args)
                return .startTLS(target: target, dialogue: dialogue, tls: tls)
            }),
        CommandSpec(
            "get", usage: "get [ID] OPTION",
            summary: "show a socket option as the kernel holds it (nodelay keepalive reuseaddr reuseport rcvbuf sndbuf linger ttl)",
            details: SocketOptionName.allCases.map(\.explanation),
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openSockets)),
                        Argument(name: "OPTION", kind: .choice(SocketOptionName.allCases.map(\.rawValue)))],
            examples: ["get rcvbuf", "get C1 nodelay", "get L1 reuseaddr"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                guard let name = args.next() else { throw args.problem("needs an option") }
                guard let option = SocketOptionName(rawValue: name.lowercased()) else {
                    throw args.problem("unknown option '\(name)'; options: \(socketOptionList)")
                }
                try args.end()
                return .getOption(target: target, option)
            }),
        CommandSpec(
            "resolve", usage: "resolve HOST",
            summary: "list every address getaddrinfo returns for a name (family, type, address)",
            arguments: [Argument(name: "HOST", kind: .value)],
            examples: ["resolve localhost"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let host = args.next() else { throw args.problem("needs a host name") }
                try args.end()
                return .resolve(host: host)
            }),
        CommandSpec(
            "explain", usage: "explain ERRNO|STATE|TLS-ALERT|TLS-REASON",
            summary: "explain an errno (ECONNREFUSED), a TCP state (TIME-WAIT) or a TLS alert or reason in plain words",
            details: ["an errno by name in any case (econnrefused) or by number (111); a TLS alert by name (unknown_ca)",
                      "or number (alert:48); a reason a TLS error names (TLSV1_ALERT_UNKNOWN_CA, WRONG_VERSION_NUMBER)"],
            arguments: [Argument(name: "TOPIC", kind: .value)],
            examples: ["explain ECONNREFUSED", "explain TIME-WAIT", "explain 111", "explain econnrefused", "explain unknown_ca",
                       "explain alert:112", "explain WRONG_VERSION_NUMBER"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let topic = args.next() else { throw args.problem("needs an errno name or a TCP state") }
                try args.end()
                return .explain(topic)
            }),
        CommandSpec(
            "set", usage: "set [ID] OPTION VALUE",
            summary: "set a socket option (see get) or eol none|lf|crlf|cr, what ends typed lines (default lf)",
            details: ["flags take 1/0 or on/off; the answer shows what the kernel really holds"],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openSockets)),
                        Argument(name: "OPTION", kind: .choice(["eol"] + SocketOptionName.allCases.map(\.rawValue))),
                        Argument(name: "VALUE", kind: .choice(LineEnding.allCases.map(\.rawValue) + ["on", "off"]))],
            examples: ["set nodelay on", "set C1 rcvbuf 65536", "set L1 reuseport 1", "set C1 eol crlf", "set eol none"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                guard let option = args.next()?.lowercased() else { throw args.problem("needs an option") }
                if option == "eol" {
                    guard let value = args.next(), let ending = LineEnding(rawValue: value.lowercased()) else {
                        throw args.problem("eol takes none, lf, crlf or cr")
                    }
                    try args.end()
                    return .setLineEnding(target: target, ending)
                }
                guard let name = SocketOptionName(rawValue: option) else {
                    throw args.problem("unknown option '\(option)'; options: eol, \(socketOptionList)")
                }
                guard let text = args.next(), let value = CommandParser.optionValue(text) else {
                    throw args.problem("\(option) needs a whole number (on/off work for flags)")
                }
                try args.end()
                return .setOption(target: target, name, value)
            }),
        CommandSpec(
            "save", usage: "save PATH [--text | --json | --script | --pcapng]",
            summary: "write the whole log to a file (JSON Lines for .jsonl/.json or --json), or the session as a script",
            details: ["every entry with its exact byte count; totals per connection at the end",
                      "--script: the commands typed, each followed by an expect for the first line (at most 64 bytes) of",
                      "what each connection received after it; sockscope --script PATH runs it again as a check",
                      "--pcapng (or a .pcapng path): the TCP and UDP traffic the log holds, as packets (see capture); the log",
                      "keeps the first 1 KiB of each read or write, so longer ones show as gaps, and the log says how many"],
            arguments: [Argument(name: "PATH", kind: .value)],
            options: [Option("--text"), Option("--json"), Option("--script"), Option("--pcapng")],
            examples: ["save /tmp/session.log", "save /tmp/session.jsonl", "save /tmp/log --json", "save /tmp/x.json --text",
                       "save /tmp/redis.check --script", "save /tmp/history.pcapng", "save /tmp/history --pcapng"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let path = args.next() else { throw args.problem("needs a file path") }
                var format = LogFormat.implied(by: path)
                try args.options { (option, _) throws(CommandParser.ParseError) in
                    format = LogFormat(rawValue: String(option.dropFirst(2))) ?? .text
                }
                return .save(path: path, format: format)
            }),
        CommandSpec(
            "socket", usage: "socket tcp|tcp6|udp|udp6|unix | socket raw icmp|icmp6 [--ipv6]",
            summary: "step mode: make a bare socket (S1...), then walk it through bind, listen, accept, connect...",
            details: ["each call shows the kernel's answer (bind(7, 127.0.0.1:9000) = 0), the new state and what may come next",
                      "calls out of order are allowed: accept before listen gives the kernel's EINVAL",
                      "step calls: bind S1 ADDR, listen S1 N, accept S1, connect S1 ADDR, send S1 TEXT, recv S1 [N],",
                      "shutdown S1 read|write|both, close S1; once listening or connected S1 works like any socket",
                      "UDP: sendto S1 ADDR TEXT sends one datagram; recv S1 is recvfrom (one datagram and its sender);",
                      "connect S1 ADDR only fixes the peer, and the socket stays a step socket",
                      "raw icmp: a raw ICMP socket with CAP_NET_RAW, else an ICMP datagram socket (as ping);",
                      "sendto S1 HOST [TEXT] sends an echo request carrying TEXT, recv S1 decodes what came back"],
            arguments: [Argument(name: "KIND", kind: .choice(StepSocketKind.allCases.filter { $0.transport != .icmp }
                                                               .map(\.rawValue) + ["raw"]))],
            options: [Option("--ipv6")],
            examples: ["socket tcp", "socket udp6", "socket unix", "socket raw icmp", "socket raw icmp --ipv6"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let word = args.next()?.lowercased() else {
                    throw args.problem("needs a kind: tcp, tcp6, udp, udp6, unix or raw icmp")
                }
                if word == "raw" {
                    guard let protocolWord = args.next()?.lowercased(),
                          var kind = StepSocketKind(rawValue: protocolWord), kind.transport == .icmp else {
                        throw args.problem("raw sockets here speak ICMP: socket raw icmp, socket raw icmp6")
                    }
                    try args.options { (_, _) throws(CommandParser.ParseError) in kind = .icmp6 }
                    return .step(.socket(kind))
                }
                guard let kind = StepSocketKind(rawValue: word), kind.transport != .icmp else {
                    throw args.problem("needs a kind: tcp, tcp6, udp, udp6, unix or raw icmp")
                }
                try args.end()
                return .step(.socket(kind))
            }),
        CommandSpec(
            "bind", usage: "bind ID ADDR",
            summary: "step mode: give a socket its local address (HOST:PORT, [::1]:PORT or unix:PATH)",
            arguments: [Argument(name: "ID", kind: .socket(.required, offering: .stepSockets)),
                        Argument(name: "ADDR", kind: .endpoint)],
            examples: ["bind S1 127.0.0.1:9000", "bind s1 unix:/tmp/x"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let id = try args.requiredSocketID()
                guard let text = args.next() else { throw args.problem("needs an address: bind \(id) 127.0.0.1:9000") }
                let endpoint = try CommandParser.parseEndpoint(text, listening: true)
                try args.end()
                return .step(.bind(id, endpoint))
            }),
        CommandSpec(
            "accept", usage: "accept [ID]",
            summary: "take one client off a manual-accept listener's queue (listen S1 N, or listen PORT --manual-accept)",
            details: ["with an empty queue accept waits: the next client to arrive is taken at once"],
            arguments: [Argument(name: "ID", kind: .socket(.sole, offering: .listeners))],
            examples: ["accept", "accept L1", "accept S1"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.sole)
                try args.end()
                return .accept(target: target)
            }),
        CommandSpec(
            "recv", usage: "recv ID [N]",
            summary: "step mode: read up to N bytes (default 4096) now; EAGAIN when nothing has arrived",
            arguments: [Argument(name: "ID", kind: .socket(.required, offering: .stepSockets)),
                        Argument(name: "N", kind: .value)],
            examples: ["recv S1", "recv S1 10"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let id = try args.requiredSocketID()
                var limit = StepCall.recvDefaultBytes
                if let text = args.next() {
                    // Up to 64 KiB: above the default (4096) and the 1 KiB shown; the count stays exact.
                    guard let value = Int(text), value > 0, value <= 65_536 else {
                        throw args.problem("N must be a byte count from 1 to 65536")
                    }
                    limit = value
                }
                try args.end()
                return .step(.recv(id, maxBytes: limit))
            }),
        CommandSpec(
            "sys", aliases: ["system"], usage: "sys [on|off | filter TEXT | sort proto|state|local|remote|queue|process]",
            summary: "the system view: every socket on the machine, live while shown (S toggles it)",
            details: ["our own sockets are marked *; select a listener and press c to connect to it"],
            arguments: [Argument(name: "WORD", kind: .choice(["on", "off", "filter", "sort"])),
                        Argument(name: "ORDER", kind: .choice(SystemSort.allCases.map(\.rawValue)))],
            examples: ["sys", "sys on", "system off", "sys filter python 3", "sys filter", "sys sort queue"],
            parse: parseSystemView),
        CommandSpec(
            "scan", usage: "scan HOST PORTS [--timeout MS] [--concurrency N] [--banner | --banner-wait MS] | scan stop",
            summary: "connect scan: which TCP ports of a host are open, closed or filtered (PORTS: 1-1024,8080,9000-9100)",
            details: [
                "a whole handshake per port, as nmap -sT and nc -z do, so no privilege is needed; results come as they answer:",
                "open (the handshake completed), closed (RST: ECONNREFUSED), filtered (no answer within --timeout MS,",
                "default 1000, or an ICMP error on the way); closed and filtered ports are reported in runs (1-21,23-79)",
                "--concurrency N: connects in flight at once; by default what the free descriptors allow (RLIMIT_NOFILE less",
                "those in use, at most 1024), and never more than that whatever N says (the start line says why)",
                "--banner: hold each open port a moment (--banner-wait MS, default 1000) for what the service says first,",
                "shown escaped; a service where the client speaks first (HTTP, redis) says nothing, and the result says so",
                "the TUI shows the results in their own view (P shows or hides it): j/k move, / filters, Enter or c connects",
                "to the selected open port; scan stop ends a running scan (its summary says how far it got)",
                "scan your own machines, or networks you are allowed to test: to anyone else a scan looks like an attack",
            ],
            arguments: [Argument(name: "HOST", kind: .value), Argument(name: "PORTS", kind: .value)],
            options: [Option("--timeout", value: "MS"), Option("--concurrency", value: "N"), Option("--banner"),
                      Option("--banner-wait", value: "MS")],
            examples: ["scan 127.0.0.1 1-1024", "scan localhost 22,80,443,6379 --banner", "scan ::1 1-65535 --timeout 200 --concurrency 256",
                       "scan 192.168.1.10 8000-8100 --banner-wait 300", "scan stop"],
            parse: parseScan),
        CommandSpec(
            "ping", usage: "ping HOST [--count N] [--interval MS] [--timeout MS] | ping stop",
            summary: "ICMP echo: does the host answer, and how fast (IPv4 and IPv6; --count N requests, default 4)",
            details: [
                "with a raw ICMP socket when the process may (CAP_NET_RAW: root), else with an ICMP datagram socket where",
                "net.ipv4.ping_group_range admits its group, else an error naming both ways to be allowed",
                "--interval MS between requests (default 1000), --timeout MS for each reply (default 1000)",
                "ping stop ends a running ping; its summary counts what was sent and answered",
            ],
            arguments: [Argument(name: "HOST", kind: .value)],
            options: [Option("--count", value: "N"), Option("--interval", value: "MS"), Option("--timeout", value: "MS")],
            examples: ["ping 127.0.0.1", "ping ::1 --count 2", "ping localhost --count 10 --interval 200 --timeout 500", "ping stop"],
            parse: parsePing),
        CommandSpec(
            "lab", usage: "lab NAME | lab list",
            summary: "reproduce a classic socket surprise on real sockets and explain it (timewait, backlog, nagle...)",
            details: ExperimentName.allCases.map { "\($0.rawValue): \(ExperimentCatalog.entry($0).summary)" } + [
                "each lab makes its own sockets on 127.0.0.1, runs in seconds (under 30 s), says what each step did and",
                "why, and ends with a result line and its numbers; one lab at a time (a script waits for its end)",
            ],
            arguments: [Argument(name: "NAME", kind: .choice(ExperimentName.allCases.map(\.rawValue) + ["list"]))],
            examples: ["lab timewait", "lab backlog", "lab nagle", "lab framing", "lab halfclose", "lab reset", "lab list"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let names = ExperimentName.allCases.map(\.rawValue).joined(separator: ", ")
                guard let word = args.next()?.lowercased() else { throw args.problem("name a lab: \(names), or list") }
                try args.end()
                if word == "list" { return .lab(nil) }
                guard let name = ExperimentName(rawValue: word) else {
                    throw args.problem("no lab called \(word); the labs: \(names)")
                }
                return .lab(name)
            }),
        CommandSpec(
            "tour", usage: "tour [LESSON] | tour list | tour next | tour back | tour quit",
            summary: "guided lessons on real sockets: each step says what to type, waits until it happened, explains it",
            details: TourLessons.all.enumerated().map { "\($0.offset + 1) \($0.element.name): \($0.element.title)" } + [
                "a step goes on only when the engine shows it was done (a command that failed does not count);",
                "then it says what the kernel did and where to look; tour next goes to the next step (or lesson),",
                "tour back to the previous one, tour quit ends it; tour alone resumes (or starts lesson 1)",
                "the TUI shows where you are on the line under the status line",
            ],
            arguments: [Argument(name: "LESSON", kind: .choice(TourLessons.all.map(\.name) + ["list", "next", "back", "quit"]))],
            examples: ["tour", "tour 1", "tour udp", "tour list", "tour next", "tour back", "tour quit"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let word = args.next()?.lowercased() else { return .tour(.start(nil)) }
                try args.end()
                switch word {
                case "list": return .tour(.list)
                case "next": return .tour(.next)
                case "back": return .tour(.back)
                case "quit": return .tour(.quit)
                default:
                    guard let index = TourLessons.index(named: word) else {
                        throw args.problem("no lesson \(word): 1-\(TourLessons.all.count) or "
                                           + TourLessons.all.map(\.name).joined(separator: ", "))
                    }
                    return .tour(.start(index))
                }
            }),
        CommandSpec(
            "help", aliases: ["?", "h"], usage: "help [COMMAND]", summary: "list commands, or explain one",
            arguments: [Argument(name: "COMMAND", kind: .command)],
            examples: ["help", "help send", "? listen", "h"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in .help(topic: args.next()) }),
        CommandSpec(
            "clear", usage: "clear closed [--after SECONDS|off]",
            summary: "forget the rows of closed connections (X); their log entries stay",
            details: ["--after SECONDS: from now on, each closed row goes that long after it closed; --after off keeps them"],
            arguments: [Argument(name: "WHAT", kind: .choice(["closed"]))],
            options: [Option("--after", value: "SECONDS|off")],
            examples: ["clear closed", "clear closed --after 30", "clear closed --after off"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard args.next()?.lowercased() == "closed" else { throw args.problem("say what to clear: clear closed") }
                var after: Int??
                try args.options { (option, args) throws(CommandParser.ParseError) in
                    let text = try args.value(of: option)
                    if text.lowercased() == "off" { after = .some(nil); return }
                    guard let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
                        throw args.problem("--after needs seconds from 0.001 to 86400, or off")
                    }
                    after = .some(milliseconds(seconds))
                }
                if let after { return .forgetClosed(afterMilliseconds: after) }
                return .clearClosed
            }),
        // Automation (issue 20): scripts that expect.
        CommandSpec(
            "expect", usage: "expect [ID] MATCH|connected|eof|closed [--timeout SECONDS]",
            summary: "a script waits until the socket received MATCH (or connected, got EOF, closed); fails after 10 s",
            details: ["MATCH: /REGEX/, \"exact text\" (a bare word too), contains \"x\", prefix \"x\", hex \"de ad\"",
                      "it looks at what the socket received after the previous expect on it matched (from the start for",
                      "the first), so a reply that came before the line ran counts, and each reply is matched once;",
                      "prefix: those bytes come first; the others: anywhere; a regex sees UTF-8 text (else one char per byte)",
                      "connected: a connection is up; on a listener, a client arrived (each expect takes one)",
                      "eof: the peer finished sending (FIN) or the connection closed; closed: it is closed",
                      "on failure the script stops (status 1) with the line, what was expected and the last bytes received;",
                      "it fails at once when the socket closes (or the peer sends EOF) before MATCH arrives",
                      "without ID: the recent connection, as for send; every byte counts in -c and --script lines, while",
                      "for lines from stdin only the first 1 KiB of each read is seen"],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openSockets)),
                        Argument(name: "MATCH", kind: .choice(["connected", "eof", "closed", "contains", "prefix", "hex"]))],
            options: [Option("--timeout", value: "SECONDS")],
            examples: [#"expect "+PONG""#, "expect C1 /HTTP\\/1\\.[01] 200/ --timeout 2", #"expect contains "220 ""#,
                       #"expect prefix "HTTP/1.0""#, #"expect hex "de ad""#, "expect closed", "expect L1 connected",
                       "expect C2 eof --timeout 0.5", "expect OK"],
            takesPatterns: true,
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                let condition: ExpectCondition
                if let word = args.peekWord(), !word.quoted, !word.isRegex,
                   let state = ["connected": ExpectCondition.connected, "eof": .eof, "closed": .closed][word.text.lowercased()] {
                    _ = args.next()
                    condition = state
                } else {
                    condition = .data(try parsePattern(&args))
                }
                var timeout = ExpectCondition.defaultTimeoutMilliseconds
                try args.options { (option, args) throws(CommandParser.ParseError) in
                    guard let text = args.next(), let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                        throw args.problem("--timeout needs seconds from 0.001 to 3600")
                    }
                    timeout = milliseconds(seconds)
                }
                return .expect(target: target, condition, timeoutMilliseconds: timeout)
            }),
        CommandSpec(
            "rule", usage: "rule [ID|all] when MATCH reply TEXT [--raw] [--delay MS] [--once] [--close] | list | remove N",
            summary: "answer what arrives: the first rule whose MATCH fits a line (or, --raw, a read) sends its reply",
            details: ["on a listener a rule answers on every connection it accepted or will accept; on a connection, on",
                      "that one; all: on every stream connection; tried in order (the connection's own, its listener's,",
                      "then all's), first match wins; rules answer alongside the listener's mode (--echo still echoes)",
                      "MATCH: /REGEX/ (anywhere in the line; ^...$ for all of it), \"exact line\", contains \"x\",",
                      "prefix \"x\", hex \"de ad\"; a line ends at \\n and the \\r of \\r\\n is not part of it",
                      "TEXT: escapes as for send; \\1..\\9 a regex's captures; {{date}} {{time}} (UTC) {{unixtime}}",
                      "{{random}} {{count}} (this rule's firings) {{peer}} (the client's address); in line mode the reply",
                      "gets the request line's ending unless it ends with \\n itself",
                      "--delay MS: reply that much later; --once: at most once per connection; --close: close after replying",
                      "rules are numbered R1, R2... for the session (rule L1 list shows them with their firings);",
                      "at most \(Rule.limitPerOwner) per socket; each firing is logged (rule-fired), counted in Detail",
                      "a UDP socket's rules answer each datagram (its lines, or with --raw all of it) to its sender,",
                      "one reply datagram per firing (no --close; all is for stream connections); UNIX datagram sockets take none"],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .openSockets)),
                        Argument(name: "WORD", kind: .choice(["when", "list", "remove", "all"])),
                        Argument(name: "MATCH", kind: .choice(["contains", "prefix", "hex", "reply"]))],
            options: [Option("--raw"), Option("--delay", value: "MS"), Option("--once"), Option("--close")],
            examples: [#"rule L1 when "PING" reply "+PONG""#, #"rule when /^GET (\S+)/ reply "HTTP/1.0 200 OK\r\n\r\nyou asked for \1\n" --close"#,
                       #"rule all when contains "time" reply "{{date}} {{time}} UTC, answer {{count}} to {{peer}}""#,
                       #"rule C2 when hex "de ad" reply "\xbe\xef" --raw --delay 100 --once"#,
                       #"rule L1 when prefix "QUIT" reply "221 bye" --close"#, "rule L1 list", "rule L1 remove 2", "rule all list"],
            takesPatterns: true,
            parse: parseRule),
        CommandSpec(
            "every", usage: "every MS [--count N] send [ID] TEXT",
            summary: "repeat a send every MS milliseconds (N times, or until stop); shown in Detail, numbered E1, E2...",
            details: ["the first send leaves at once; a script goes on at once (the sends run in the background)",
                      "it stops by itself when the connection closes or a send fails"],
            arguments: [Argument(name: "MS", kind: .value), Argument(name: "send", kind: .choice(["send", "--count"])),
                        Argument(name: "ID", kind: .socket(.beforeData, offering: .openConnections)),
                        Argument(name: "TEXT", kind: .value)],
            options: [Option("--count", value: "N")],
            examples: [#"every 1000 send "ping\n""#, "every 250 --count 4 send C1 tick", "every 10 send C2 hello world"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let text = args.next(), let interval = Int(text), interval >= 1, interval <= 86_400_000 else {
                    throw args.problem("needs an interval in milliseconds, from 1 to 86400000")
                }
                var count: Int?
                while let word = args.next()?.lowercased(), word != "send" {
                    guard word == "--count", let value = args.next().flatMap({ Int($0) }), value >= 1, value <= 1_000_000_000 else {
                        throw args.problem("after MS come [--count N] and send [ID] TEXT")
                    }
                    count = value
                    if args.peekWord() == nil { throw args.problem("needs send [ID] TEXT") }
                }
                let target = try args.socketID(.beforeData)
                guard let text = args.rest() else { throw args.problem("needs text to send") }
                return .every(milliseconds: interval, count: count, target: target, bytes: try decodeText(text, "every"))
            }),
        CommandSpec(
            "stop", usage: "stop [N]", summary: "stop repeated sends: E<N>, or all of them",
            arguments: [Argument(name: "N", kind: .value)],
            examples: ["stop", "stop 2", "stop E2"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let text = args.next() else { return .stop(nil) }
                guard let number = Int(text.uppercased().hasPrefix("E") ? String(text.dropFirst()) : text), number > 0 else {
                    throw args.problem("takes a repeater's number, as in stop 2 (Detail shows them)")
                }
                try args.end()
                return .stop(number)
            }),
        CommandSpec(
            "sleep", usage: "sleep MS", summary: "a script waits MS milliseconds before its next line",
            arguments: [Argument(name: "MS", kind: .value)],
            examples: ["sleep 250"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let text = args.next(), let value = Int(text), value >= 0, value <= 3_600_000 else {
                    throw args.problem("needs milliseconds from 0 to 3600000")
                }
                try args.end()
                return .sleep(milliseconds: value)
            }),
        CommandSpec(
            "relay", usage: "relay LISTEN TARGET [--backlog N] [--public] [--replace] [ACCESS OPTIONS] [TLS OPTIONS] | relay [R1] down|up",
            summary: "stand between clients and a server: listen (R1) and forward each client to TARGET, both ways",
            details: [
                "LISTEN as for listen (a bare PORT binds 127.0.0.1); TARGET: HOST:PORT, tcp://[::1]:PORT or unix:PATH;",
                "TCP over IPv4 and IPv6 and UNIX stream sockets, in any mix; or UDP to UDP (udp://LISTEN udp://TARGET):",
                "one upstream socket per client address, closed after --idle-timeout S without a datagram (default 60),",
                "each datagram forwarded whole, on its own; toxic loss PERCENT drops datagrams",
                "each client is a pair of connections: its client leg and the upstream leg the relay opens to TARGET,",
                "side by side under R1 in Connections, each with its bytes and rates; Detail shows both legs",
                "a FIN from one side half-closes the other leg (shutdown write), an RST is passed on as an RST, and a",
                "failed upstream connect closes the client leg with the reason (ECONNREFUSED 127.0.0.1:9)",
                "a leg whose other leg does not take what it forwards stops reading (the sender slows down); the pair",
                "shows the bytes held; nothing is buffered without bound",
                "--allow, --deny, --max-conns, --idle-timeout, --backlog, --replace, --public: as for listen",
                "close R1 stops accepting; pairs already relayed go on",
                "relay R1 down closes every pair and refuses each new client (accepted and closed at once, shown as",
                "refused) until relay R1 up; Listening shows the relay as down",
                "tls://HOST:PORT as LISTEN terminates TLS from each client, with listen tls://'s options: --cert FILE",
                "--key FILE, or a self-signed certificate made in memory (its SHA-256 fingerprint shown; --save-cert",
                "FILE writes it for curl --cacert), --alpn, --require-client-cert [--ca FILE]",
                "tls://HOST:PORT as TARGET originates TLS to the server, with connect tls://'s options: verified against",
                "the system's roots or --ca FILE (a failure closes the pair with the reason; --insecure goes on saying",
                "it), --sni NAME or --no-sni, --alpn, --cert FILE --key FILE (a client certificate), --tls-min/--tls-max",
                "the pair's log and counts are the plaintext; each TLS leg shows its handshake in Detail and its",
                "bytes on the wire; --keylog FILE writes the secrets of every tls:// side",
                "both sides tls://: --cert, --key, --alpn and --ca say their side, --listen-cert FILE or",
                "--target-ca FILE (and --listen-key, --listen-alpn, --listen-ca, --target-cert, --target-key,",
                "--target-alpn; --listen-keylog and --target-keylog for two files); the others have one side only",
            ],
            arguments: [Argument(name: "LISTEN", kind: .endpoint), Argument(name: "TARGET", kind: .endpoint)],
            options: [Option("--backlog", value: "N"), Option("--replace"), Option("--public"),
                      Option("--allow", value: "CIDR"), Option("--deny", value: "CIDR"), Option("--max-conns", value: "N"),
                      Option("--idle-timeout", value: "SECONDS")]
                + TLSCommandWords.relayOptions,
            examples: ["relay 8080 127.0.0.1:80", "relay tcp://[::1]:8080 unix:/run/app.sock",
                       "relay udp://127.0.0.1:5353 udp://127.0.0.1:53 --idle-timeout 30",
                       "relay unix:/tmp/front.sock tcp://127.0.0.1:6379 --replace",
                       "relay 0.0.0.0:8080 localhost:80 --public --allow 10.0.0.0/8 --deny 10.1.0.0/16 --max-conns 100",
                       "relay 8080 127.0.0.1:80 --backlog 16 --idle-timeout 30", "relay R1 down", "relay R1 up",
                       "relay tls://127.0.0.1:8443 127.0.0.1:80 --save-cert /tmp/relay.pem --alpn http/1.1",
                       "relay tls://:8443 127.0.0.1:80 --cert server.pem --key server.key --require-client-cert --ca clients-ca.pem",
                       "relay 8080 tls://example.com:443 --alpn h2,http/1.1 --keylog /tmp/keys.log",
                       "relay 8080 tls://10.0.0.5:443 --ca ca.pem --sni internal.example --tls-min 1.2 --tls-max 1.3",
                       "relay 8080 tls://localhost:8443 --insecure --no-sni --cert client.pem --key client.key",
                       "relay tls://127.0.0.1:8443 tls://example.com:443 --listen-cert server.pem --listen-key server.key "
                           + "--listen-alpn http/1.1 --target-alpn h2 --target-ca ca.pem",
                       "relay tls://127.0.0.1:8443 tls://10.0.0.5:443 --target-cert client.pem --target-key client.key "
                           + "--require-client-cert --listen-ca clients-ca.pem --listen-keylog /tmp/in.keys --target-keylog /tmp/out.keys"],
            parse: parseRelay),
        CommandSpec(
            "toxic", usage: "toxic [R1] add KIND [N...] [--dir up|down|both] [--name NAME] [--toxicity P] | remove NAME | list",
            summary: "faults on a relay, as toxiproxy's toxics: they act on every pair at once, live",
            details: [
                "latency MS [JITTER_MS]: each chunk waits MS ± JITTER ms; bandwidth KB_PER_S: at most that many",
                "KB (1000 B) a second; slicer AVERAGE_SIZE [SIZE_VARIATION [DELAY_US]]: chunks cut into pieces,",
                "DELAY_US apart; limit_data BYTES: the pair closes after BYTES; timeout MS: nothing goes through",
                "and the pair closes after MS (0: never); reset_peer [MS]: the pair is reset (RST) after MS;",
                "slow_close MS: a FIN or close is passed on MS late; loss PERCENT (UDP relays, their only toxic): each",
                "datagram is dropped with that probability, each drop counted",
                "--dir: up is client to server, down (the default, as in toxiproxy) server to client",
                "--name: defaults to KIND_DIR (latency_down); each firing is counted (Detail of R1, toxic-fired in the log)",
                "--toxicity P: the probability (0 to 1, default 1) that the toxic acts on a connection, as in toxiproxy:",
                "decided once per connection and direction when the toxic reaches it (not per chunk)",
            ],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .listeners)),
                        Argument(name: "ACTION", kind: .choice(["add", "remove", "list"])),
                        Argument(name: "KIND", kind: .choice(ToxicEffect.kinds))],
            options: [Option("--dir", value: "up|down|both"), Option("--name", value: "NAME"), Option("--toxicity", value: "P")],
            examples: ["toxic R1 add latency 200", "toxic R1 add latency 100 20 --dir both", "toxic add bandwidth 1000",
                       "toxic R1 add slicer 100 20 5000 --dir up --name chop", "toxic R1 add limit_data 4096",
                       "toxic R1 add timeout 0", "toxic R1 add reset_peer 500", "toxic R1 add slow_close 300",
                       "toxic R1 add reset_peer 0 --toxicity 0.3", "toxic R1 add loss 20 --dir both", "toxic R1 list", "toxic R1 remove latency_down"],
            parse: parseToxic),
        // Holding a relay's traffic (issue 18).
        CommandSpec(
            "hold", usage: "hold [R1] up|down|both [--frame raw|line|len16|len32]",
            summary: "hold a relay's traffic one way (or both): chunks queue, shown, until forward, drop, edit or release",
            details: [
                "up is client to server, down server to client; on every pair of the relay, now and later",
                "each pair's row shows what it holds (chunks, bytes), the log each chunk (relay-held), Detail a bar",
                "--frame: raw (default) holds each read as it came; line cuts at \\n (a \\r\\n stays with its line);",
                "len16 and len32 cut frames behind a big-endian 16- or 32-bit length (the prefix stays with the frame);",
                "cut by swift-nio-extras' LineBasedFrameDecoder and LengthFieldBasedFrameDecoder",
                "a relay holds at most 4 MiB (all pairs, both ways): at that, its legs stop reading (the sender slows",
                "down; relay-hold-full in the log) until forward, drop or release makes room; a partial frame counts too",
                "a FIN waits behind what is held; hold again changes the direction (--frame only with nothing held)",
            ],
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .listeners)),
                        Argument(name: "DIR", kind: .choice(ToxicDirection.allCases.map(\.rawValue)))],
            options: [Option("--frame", value: "raw|line|len16|len32")],
            examples: ["hold R1 up", "hold R1 both --frame line", "hold down --frame len32"],
            parse: parseHold),
        CommandSpec(
            "forward", usage: "forward [R1] [N]",
            summary: "send on the next N (default 1) chunks a relay holds, in the order they were read",
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .listeners)), Argument(name: "N", kind: .value)],
            examples: ["forward", "forward R1 5"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in try parseHeldCount(&args, HoldCommand.forward) }),
        CommandSpec(
            "drop", usage: "drop [R1] [N]",
            summary: "throw away the next N (default 1) chunks a relay holds: never sent, counted in the log",
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .listeners)), Argument(name: "N", kind: .value)],
            examples: ["drop", "drop R1 3"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in try parseHeldCount(&args, HoldCommand.drop) }),
        CommandSpec(
            "edit", usage: "edit [R1] [TEXT | --hex HEX]",
            summary: "send other bytes in place of the next chunk a relay holds",
            details: [
                "alone (in the TUI): the command line gets edit R1 \"the next chunk\" to change and run (Enter)",
                "TEXT with escapes as for send (\\n \\r \\xHH); --hex HEX as for sendhex",
                "with --frame len16|len32 the length prefix is made again for the new bytes; a line's bytes are sent as given",
            ],
            arguments: [Argument(name: "ID", kind: .socket(.beforeData, offering: .listeners)), Argument(name: "TEXT", kind: .value)],
            options: [Option("--hex", value: "HEX")],
            examples: ["edit", #"edit R1 "GET /admin HTTP/1.0\r\n""#, "edit R1 --hex 00 05 68 65 6c 6c 6f"],
            parse: parseEdit),
        CommandSpec(
            "release", usage: "release [R1]",
            summary: "forward everything a relay holds, in order, and stop holding",
            arguments: [Argument(name: "ID", kind: .socket(.leading, offering: .listeners))],
            examples: ["release", "release R1"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                let target = try args.socketID(.leading)
                try args.end()
                return .hold(target: target, .release)
            }),
        CommandSpec(
            "capture", usage: "capture on [PATH.pcapng] [--max SIZE] | capture off",
            summary: "write every TCP and UDP byte from now on as packets Wireshark opens (pcapng)",
            details: [
                "real addresses and ports, a TCP handshake, sequence numbers, FIN and RST where they happened;",
                "each connection's first packet carries a comment naming its id (C3); both legs of a relay are captured",
                "PATH defaults to sockscope-DATE-TIME.pcapng here; --max SIZE (4M or more: 64M, 1G) keeps a ring of two",
                "files of SIZE/2 (the older one is NAME.1.pcapng); a TLS connection is captured as ciphertext, with its",
                "session keys in the file (Decryption Secrets Block), so Wireshark decrypts it without a key file",
                "UNIX sockets are not captured (they have no IP addresses); save PATH.pcapng writes the log's history",
            ],
            arguments: [Argument(name: "ACTION", kind: .choice(["on", "off"])), Argument(name: "PATH", kind: .value)],
            options: [Option("--max", value: "SIZE")],
            examples: ["capture on", "capture on /tmp/session.pcapng", "capture on /tmp/ring.pcapng --max 64M", "capture off"],
            parse: parseCapture),
        CommandSpec(
            "replay", usage: "replay ID [to ENDPOINT] [--timing]",
            summary: "open a new connection and send what ID's client side sent, in the same chunks",
            details: [
                "the chunks are what a connection we opened wrote, or what a listener's or a relay's client sent,",
                "as the engine recorded them (the first 256 KiB of each connection; one that sent more is refused;",
                "the clients of --echo and --discard listeners are not recorded)",
                "it connects to ID's remote end (a relay's pair: the relay's target), or to ENDPOINT (needed for a",
                "listener's client); --timing keeps the gaps between the chunks, else they leave one after another",
            ],
            arguments: [Argument(name: "ID", kind: .socket(.sole, offering: .openConnections)),
                        Argument(name: "to", kind: .choice(["to", "--timing"])), Argument(name: "ENDPOINT", kind: .endpoint)],
            options: [Option("--timing")],
            examples: ["replay C3", "replay C3 --timing", "replay C3 to tcp://127.0.0.1:8080 --timing"],
            parse: { (args: inout CommandArguments) throws(CommandParser.ParseError) in
                guard let source = try args.socketID(.sole) else { throw args.problem("needs the connection to replay, as in replay C3") }
                var request = ReplayRequest(source: source)
                while let word = args.next() {
                    switch word.lowercased() {
                    case "to" where request.destination == nil:
                        guard let text = args.next() else { throw args.problem("to needs an endpoint, as in to tcp://127.0.0.1:8080") }
                        request.destination = try CommandParser.parseEndpoint(text, listening: false)
                    case "--timing": request.keepsTiming = true
                    default: throw args.problem("unexpected '\(word)'")
                    }
                }
                return .replay(request)
            }),
        CommandSpec(
            "quit", aliases: ["q", "exit"], usage: "quit", summary: "close every socket and leave",
            examples: ["quit", "q", "exit"],
            parse: { (_: inout CommandArguments) throws(CommandParser.ParseError) in .quit }),
    ]

    /// The command `name` (or one of its aliases) names, in any case.
    public static func spec(named name: String) -> CommandSpec? {
        let lowered = name.lowercased()
        return specs.first { $0.names.contains(lowered) }
    }

    /// The lines `help` prints: every command, or one in detail.
    public static func helpLines(topic: String?) -> [String] {
        if let topic, !topic.isEmpty {
            guard let spec = spec(named: topic) else {
                return ["no command named '\(topic)'; commands: " + specs.map(\.name).joined(separator: ", ")]
            }
            let aliases = spec.aliases.isEmpty ? "" : " (also written " + spec.aliases.joined(separator: ", ") + ")"
            return ["\(spec.usage)  —  \(spec.summary)\(aliases)"] + spec.details.map { "  \($0)" }
        }
        return specs.map { "\($0.usage)  —  \($0.summary)" }
    }

    // MARK: - The longer parsers

    private static let socketOptionList = SocketOptionName.allCases.map(\.rawValue).joined(separator: ", ")

    /// Rounded, not truncated: `2.005` seconds (printed back from 2005 ms) is 2005 ms, not 2004.
    private static func milliseconds(_ seconds: Double) -> Int { max(1, Int((seconds * 1000).rounded())) }

    private static func decodeText(_ text: String, _ command: String) throws(CommandParser.ParseError) -> [UInt8] {
        do { return try EscapedText.decode(text) } catch { throw CommandParser.ParseError("\(command): \(error.message)") }
    }

    private static func parseListen(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        if let id = try args.socketID(.stepSocket) {
            var backlog = 128
            if let text = args.next() {
                guard let value = Int(text), value >= 0, value <= 65535 else {
                    throw args.problem("the backlog must be a number from 0 to 65535, as in listen \(id) 5")
                }
                backlog = value
            }
            try args.end()
            return .step(.listen(id, backlog: backlog))
        }
        guard let written = args.next() else { throw args.problem("needs an endpoint, e.g. listen 9000") }
        let (target, isTLS) = TLSCommandWords.splitScheme(written)
        var request = ListenRequest(endpoint: try CommandParser.parseEndpoint(target, listening: true))
        var modeSet = false
        var tls = TLSServerOptions()
        var tlsTouched = false
        try args.options { (option, args) throws(CommandParser.ParseError) in
            if try TLSCommandWords.readServer(option, &args, into: &tls) {
                tlsTouched = true
                return
            }
            switch option {
            case "--echo", "--discard", "--reply":
                if modeSet { throw args.problem("takes only one of --echo, --reply, --discard") }
                modeSet = true
                if option == "--echo" { request.mode = .echo }
                if option == "--discard" { request.mode = .discard }
                if option == "--reply" {
                    request.mode = .reply(try decodeText(try args.value(of: option), "listen --reply"))
                }
            case "--rules": request.rulesFile = try args.value(of: option)
            case "--manual-accept": request.manualAccept = true
            case "--reuseaddr": request.reuseAddress = true
            case "--reuseport": request.reusePort = true
            default: try readListenerOption(option, &args, into: &request)
            }
        }
        if request.reuseAddress || request.reusePort {
            guard case .inet = request.endpoint, !request.manualAccept else {
                throw args.problem("--reuseaddr and --reuseport apply to TCP and UDP listeners (not UNIX, not --manual-accept)")
            }
        }
        if isTLS { request.tls = tls }
        try TLSCommandWords.checkServer(request.tls, touched: tlsTouched, args)
        return .listen(request)
    }

    /// The options a relay shares with listen: where and whom it accepts.
    private static func readListenerOption(_ option: String, _ args: inout CommandArguments,
                                           into request: inout ListenRequest) throws(CommandParser.ParseError) {
        switch option {
        case "--replace": request.replaceStale = true
        case "--public": request.isPublic = true
        case "--allow", "--deny":
            guard let text = args.next(), let range = AddressRange(text) else {
                throw args.problem("\(option) needs an address or CIDR range, as in 10.0.0.0/8 or ::1")
            }
            if option == "--allow" { request.policy.allow.append(range) } else { request.policy.deny.append(range) }
        case "--max-conns":
            guard let text = args.next(), let value = Int(text), value > 0, value <= 1_000_000 else {
                throw args.problem("--max-conns needs a number from 1 to 1000000")
            }
            request.policy.maxConnections = value
        case "--idle-timeout":
            guard let text = args.next(), let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
                throw args.problem("--idle-timeout needs seconds from 0.001 to 86400")
            }
            request.policy.idleTimeoutMilliseconds = milliseconds(seconds)
        default:  // --backlog
            guard let text = args.next(), let value = Int(text), value >= 0, value <= 65535 else {
                throw args.problem("--backlog needs a number from 0 to 65535")
            }
            request.backlog = value
        }
    }

    private static func parseRelay(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        if let id = try args.socketID(.leading) {
            guard let word = args.next()?.lowercased(), let change = RelaySwitch(rawValue: word) else {
                throw args.problem("relay \(id) takes down or up")
            }
            try args.end()
            return .relaySwitch(target: id, change)
        }
        // `relay down` alone: the selected or recent relay (a relay needs two endpoints).
        if args.words.count == 1, let word = args.peek()?.lowercased(), let change = RelaySwitch(rawValue: word) {
            return .relaySwitch(target: nil, change)
        }
        guard let listenText = args.next() else { throw args.problem("needs where to listen, e.g. relay 8080 127.0.0.1:80") }
        guard let targetText = args.next() else { throw args.problem("needs a target to forward to, e.g. 127.0.0.1:80") }
        let (listenWritten, listenIsTLS) = TLSCommandWords.splitScheme(listenText)
        let (targetWritten, targetIsTLS) = TLSCommandWords.splitScheme(targetText)
        var listen = ListenRequest(endpoint: try CommandParser.parseEndpoint(listenWritten, listening: true))
        let target = try CommandParser.parseEndpoint(targetWritten, listening: false)
        switch (listen.endpoint, target) {
        case (.inet(.udp, _, _), .inet(.udp, _, _)):
            break
        case (.inet(.udp, _, _), _), (_, .inet(.udp, _, _)):
            throw args.problem("a UDP relay forwards UDP to UDP (udp://LISTEN udp://TARGET), not to or from a stream")
        default:
            for (endpoint, role) in [(listen.endpoint, "LISTEN"), (target, "TARGET")] {
                switch endpoint {
                case .inet(.tcp, _, _), .unix: continue
                case .inet, .unixDatagram:
                    throw args.problem("\(role) \(endpoint) is not a stream or UDP: relays forward TCP and UNIX stream sockets, or UDP")
                }
            }
        }
        var listenTLS: TLSServerOptions? = listenIsTLS ? TLSServerOptions() : nil
        var targetTLS: TLSClientOptions? = targetIsTLS ? TLSClientOptions() : nil
        try args.options { (option, args) throws(CommandParser.ParseError) in
            if try !TLSCommandWords.readRelay(option, &args, listen: &listenTLS, target: &targetTLS) {
                try readListenerOption(option, &args, into: &listen)
            }
        }
        listen.tls = listenTLS
        try TLSCommandWords.checkServer(listenTLS, touched: false, args)
        try TLSCommandWords.checkClient(targetTLS, touched: false, args)
        return .relay(RelayRequest(listen: listen, target: target, targetTLS: targetTLS))
    }

    private static func parseHold(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        let target = try args.socketID(.leading)
        guard let word = args.next()?.lowercased(), let direction = ToxicDirection(rawValue: word) else {
            throw args.problem("needs the direction to hold: up (client to server), down or both")
        }
        var framing = HoldFraming.raw
        try args.options { (_, args) throws(CommandParser.ParseError) in
            let value = try args.value(of: "--frame").lowercased()
            guard let chosen = HoldFraming(rawValue: value) else { throw args.problem("--frame takes raw, line, len16 or len32") }
            framing = chosen
        }
        return .hold(target: target, .hold(direction, framing))
    }

    /// `forward [R1] [N]`, `drop [R1] [N]`.
    private static func parseHeldCount(_ args: inout CommandArguments, _ make: (Int) -> HoldCommand)
        throws(CommandParser.ParseError) -> Command {
        let target = try args.socketID(.leading)
        var count = 1
        if let text = args.next() {
            guard let value = Int(text), value > 0 else { throw args.problem("N is a number of held chunks, 1 or more") }
            count = value
        }
        try args.end()
        return .hold(target: target, make(count))
    }

    /// `edit [R1] [TEXT | --hex HEX]`: a relay's id alone is the relay (the TUI's editor), not text.
    private static func parseEdit(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        var target: SocketID?
        if let word = args.peekWord(), !word.quoted, let id = SocketID(parsing: word.text), id.kind == .relay,
           word.text == id.description {
            target = id
            _ = args.next()
        }
        guard let first = args.peekWord() else { return .hold(target: target, .edit([])) }
        if !first.quoted, first.text.lowercased() == "--hex" {
            _ = args.next()
            guard let hex = args.rest() else { throw args.problem("--hex needs the bytes, as in edit --hex 68 69") }
            return .hold(target: target, .edit(try HexText.decode(hex)))
        }
        guard let text = args.rest() else { return .hold(target: target, .edit([])) }
        return .hold(target: target, .edit(try decodeText(text, "edit")))
    }

    private static func parseToxic(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        let target = try args.socketID(.leading)
        guard let action = args.next()?.lowercased() else { throw args.problem("needs add, remove or list") }
        switch action {
        case "list":
            try args.end()
            return .toxic(target: target, .list)
        case "remove":
            guard let name = args.next() else { throw args.problem("remove needs the toxic's name (toxic list shows them)") }
            try args.end()
            return .toxic(target: target, .remove(name: name))
        case "add":
            guard let kind = args.next() else { throw args.problem("add needs a kind: " + ToxicEffect.kinds.joined(separator: ", ")) }
            var numbers: [Int] = []
            while let word = args.peek(), !word.hasPrefix("--") {
                _ = args.next()
                guard let number = Int(word) else { throw args.problem("'\(word)' is not a whole number") }
                numbers.append(number)
            }
            var direction = ToxicDirection.down
            var name: String?
            var toxicity = 1.0
            try args.options { (option, args) throws(CommandParser.ParseError) in
                let value = try args.value(of: option)
                switch option {
                case "--name":
                    name = value
                case "--toxicity":
                    guard let probability = Double(value), probability >= 0, probability <= 1 else {
                        throw args.problem("--toxicity takes a probability from 0 to 1, as in 0.5")
                    }
                    toxicity = probability
                default:
                    guard let chosen = ToxicDirection(rawValue: value.lowercased()) else {
                        throw args.problem("--dir takes up, down or both")
                    }
                    direction = chosen
                }
            }
            switch ToxicEffect.parse(kind: kind, numbers) {
            case .success(let effect):
                return .toxic(target: target, .add(Toxic(name: name, effect: effect, direction: direction, toxicity: toxicity)))
            case .failure(let error): throw args.problem(error.message)
            }
        default:
            throw args.problem("unknown action '\(action)'; use add, remove or list")
        }
    }

    private static func parseConnect(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        if let id = try args.socketID(.stepSocket) {
            guard let text = args.next() else { throw args.problem("needs an address: connect \(id) 127.0.0.1:9000") }
            let endpoint = try CommandParser.parseEndpoint(text, listening: false)
            try args.end()
            return .step(.connect(id, endpoint))
        }
        guard let written = args.next() else { throw args.problem("needs an endpoint") }
        let (target, isTLS) = TLSCommandWords.splitScheme(written)
        var request = ConnectRequest(endpoint: try CommandParser.parseEndpoint(target, listening: false))
        var tls = TLSClientOptions()
        var tlsTouched = false
        try args.options { (option, args) throws(CommandParser.ParseError) in
            if try TLSCommandWords.readClient(option, &args, into: &tls) {
                tlsTouched = true
            } else if option == "--bind" {
                let text = try args.value(of: option)
                guard case .inet(_, let host, let port) = try CommandParser.parseEndpoint(text, listening: true) else {
                    throw args.problem("--bind takes HOST:PORT")
                }
                request.bind = LocalAddress(host: host, port: port)
            } else {  // --timeout
                guard let text = args.next(), let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                    throw args.problem("--timeout needs seconds from 0.001 to 3600")
                }
                request.timeoutMilliseconds = milliseconds(seconds)
            }
        }
        if isTLS { request.tls = tls }
        try TLSCommandWords.checkClient(request.tls, touched: tlsTouched, args)
        return .connect(request)
    }

    private static func parseRule(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        var owner: RuleOwner?
        if args.peekWord()?.text.lowercased() == "all", args.peekWord()?.quoted == false {
            _ = args.next()
            owner = .all
        } else if let id = try args.socketID(.leading) {
            owner = .socket(id)
        }
        guard let word = args.next()?.lowercased() else { throw args.problem("say when, list or remove") }
        switch word {
        case "list":
            try args.end()
            return .rule(owner, .list)
        case "remove":
            // `#2` as the list shows it, or `2` (R2 would be a relay's id).
            guard let text = args.next(), let number = Int(text.hasPrefix("#") ? String(text.dropFirst()) : text),
                  number > 0 else {
                throw args.problem("remove takes a rule's number, as in remove 2 (rule ID list shows them)")
            }
            try args.end()
            return .rule(owner, .remove(number))
        case "when":
            let pattern = try parsePattern(&args)
            guard args.next()?.lowercased() == "reply" else { throw args.problem("MATCH is followed by reply TEXT") }
            guard let text = args.next() else { throw args.problem("reply needs TEXT (quote it to keep spaces)") }
            let reply: ReplyTemplate
            do { reply = try ReplyTemplate(parsing: text) } catch { throw args.problem(error.message) }
            if reply.highestCapture > 0, case .regex = pattern {} else if reply.highestCapture > 0 {
                throw args.problem("\\\(reply.highestCapture) is a regex's capture; only a /REGEX/ MATCH has captures")
            }
            var rule = Rule(pattern: pattern, reply: reply)
            try args.options { (option, args) throws(CommandParser.ParseError) in
                switch option {
                case "--raw": rule.framing = .reads
                case "--once": rule.once = true
                case "--close": rule.closes = true
                default:  // --delay
                    guard let text = args.next(), let value = Int(text), value > 0, value <= 3_600_000 else {
                        throw args.problem("--delay needs milliseconds from 1 to 3600000")
                    }
                    rule.delayMilliseconds = value
                }
            }
            return .rule(owner, .add(rule))
        default:
            throw args.problem("unknown word '\(word)'; rule [ID|all] when MATCH reply TEXT, list, or remove N")
        }
    }

    /// MATCH, for `expect` and `rule`: `/REGEX/`, `"exact"` (or a bare word), `contains "x"`,
    /// `prefix "x"`, `hex "de ad"`. A regex is compiled here, so a bad one is an error now.
    static func parsePattern(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> BytePattern {
        guard let word = args.nextWord() else { throw args.problem("needs what to match: /REGEX/, \"text\", contains \"x\"...") }
        let pattern: BytePattern
        if word.isRegex {
            pattern = .regex(word.text)
        } else if !word.quoted, ["contains", "prefix", "hex"].contains(word.text.lowercased()) {
            let kind = word.text.lowercased()
            guard let value = args.next() else { throw args.problem("\(kind) needs the bytes, as in \(kind) \"x\"") }
            switch kind {
            case "contains": pattern = .contains(try decodeText(value, args.spec.name))
            case "prefix": pattern = .prefix(try decodeText(value, args.spec.name))
            default: pattern = .hex(try HexText.decode(value))
            }
        } else {
            pattern = .exact(try decodeText(word.text, args.spec.name))
        }
        switch pattern {
        case .exact(let bytes), .contains(let bytes), .prefix(let bytes), .hex(let bytes):
            if bytes.isEmpty { throw args.problem("an empty MATCH matches anything; say what to look for") }
        case .regex: break
        }
        do { _ = try ByteMatcher(pattern) } catch { throw args.problem(error.message) }
        return pattern
    }

    private static func parseScan(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        guard let host = args.next() else { throw args.problem("needs a host and ports, as in scan 127.0.0.1 1-1024") }
        if host.lowercased() == "stop" {
            try args.end()
            return .scanStop
        }
        guard let text = args.next(), !text.hasPrefix("--") else {
            throw args.problem("needs ports after the host, as in scan \(host) 1-1024,8080")
        }
        let ports: PortList
        do { ports = try PortList.parse(text) } catch { throw args.problem(error.message) }
        var request = ScanRequest(host: host, ports: ports)
        try args.options { (option, args) throws(CommandParser.ParseError) in
            switch option {
            case "--banner":
                request.bannerWaitMilliseconds = request.bannerWaitMilliseconds ?? ScanRequest.defaultBannerWaitMilliseconds
            case "--concurrency":
                guard let value = Int(try args.value(of: option)), (1...65535).contains(value) else {
                    throw args.problem("--concurrency needs a number from 1 to 65535")
                }
                request.concurrency = value
            case "--banner-wait":
                guard let value = Int(try args.value(of: option)), (1...60_000).contains(value) else {
                    throw args.problem("--banner-wait needs milliseconds from 1 to 60000")
                }
                request.bannerWaitMilliseconds = value
            default:  // --timeout
                guard let value = Int(try args.value(of: option)), (1...600_000).contains(value) else {
                    throw args.problem("--timeout needs milliseconds from 1 to 600000")
                }
                request.timeoutMilliseconds = value
            }
        }
        return .scan(request)
    }

    private static func parseCapture(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        switch args.next()?.lowercased() {
        case "off"?:
            try args.end()
            return .capture(.off)
        case "on"?:
            var path: String?
            var maxBytes: Int?
            if let word = args.peek(), !word.hasPrefix("--") { path = args.next() }
            try args.options { (option, args) throws(CommandParser.ParseError) in
                let text = try args.value(of: option)
                guard let bytes = ByteCount.parse(text), bytes >= CaptureRequest.minimumRingBytes else {
                    throw args.problem("--max needs a size of at least 4M, as in 64M or 1G (K, M, G: powers of 1024)")
                }
                maxBytes = bytes
            }
            return .capture(.on(path: path, maxBytes: maxBytes))
        default:
            throw args.problem("needs on or off, as in capture on /tmp/x.pcapng")
        }
    }

    private static func parsePing(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        guard let host = args.next(), !host.hasPrefix("--") else { throw args.problem("needs a host, as in ping 127.0.0.1") }
        if host.lowercased() == "stop" {
            try args.end()
            return .pingStop
        }
        var request = PingRequest(host: host)
        try args.options { (option, args) throws(CommandParser.ParseError) in
            switch option {
            case "--count":
                guard let value = Int(try args.value(of: option)), (1...100_000).contains(value) else {
                    throw args.problem("--count needs a number from 1 to 100000")
                }
                request.count = value
            case "--interval":
                guard let value = Int(try args.value(of: option)), (10...3_600_000).contains(value) else {
                    throw args.problem("--interval needs milliseconds from 10 to 3600000")
                }
                request.intervalMilliseconds = value
            default:  // --timeout
                guard let value = Int(try args.value(of: option)), (1...600_000).contains(value) else {
                    throw args.problem("--timeout needs milliseconds from 1 to 600000")
                }
                request.timeoutMilliseconds = value
            }
        }
        return .ping(request)
    }

    private static func parseSystemView(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> Command {
        guard let word = args.next() else { return .system(.toggle) }
        switch word.lowercased() {
        case "on", "show": try args.end(); return .system(.show)
        case "off", "hide": try args.end(); return .system(.hide)
        case "sort":
            guard let text = args.next(), let order = SystemSort(rawValue: text.lowercased()) else {
                throw args.problem("sort takes " + SystemSort.allCases.map(\.rawValue).joined(separator: ", "))
            }
            try args.end()
            return .system(.sort(order))
        case "filter":
            return .system(.filter(args.rest()))
        default:
            throw args.problem("unknown word '\(word)'; try sys, sys off, sys filter TEXT, sys sort state")
        }
    }
}
