/// Every command's usage and explanation: one table drives `help`, the `?`
/// overlay, parser error messages and the README's command list.
public enum CommandCatalog {
    public struct Spec: Hashable, Sendable {
        public let name: String
        public let usage: String
        public let summary: String
        public let details: [String]
    }

    public static let specs: [Spec] = [
        Spec(name: "listen", usage: "listen ENDPOINT [--echo | --reply TEXT | --discard] [--backlog N] [OPTIONS]",
             summary: "open a server socket (binds 127.0.0.1 unless you name an address)",
             details: [
                "ENDPOINT: tcp://HOST:PORT, tcp://[::1]:PORT, tcp://:PORT or a bare PORT (127.0.0.1),",
                "udp://HOST:PORT, unix:PATH, unix:@abstract, unixgram:PATH",
                "--replace removes a stale UNIX socket file left at PATH",
                "--allow CIDR / --deny CIDR (repeatable), --max-conns N, --idle-timeout SECONDS: access control;",
                "refused peers are logged with their address",
                "--public: bind every interface (0.0.0.0, ::) without asking; otherwise the TUI asks and headless refuses",
                "port 0 lets the kernel choose; the chosen port is reported",
                "--echo writes back what arrives; --reply TEXT greets each client; --discard only counts",
                "--backlog N sets the accept queue length (default 4096, capped by net.core.somaxconn)",
                "--manual-accept: clients wait in the accept queue until `accept` takes one (watch it fill)",
             ]),
        Spec(name: "connect", usage: "connect ENDPOINT [--bind HOST:PORT] [--timeout SECONDS]",
             summary: "open a client connection (tcp://HOST:PORT, HOST:PORT, PORT, udp://..., unix:PATH)",
             details: ["the kernel picks an ephemeral source port unless --bind names one; the row shows it",
                       "a name with several addresses is tried address by address; udp:// makes a connected UDP socket"]),
        Spec(name: "send", usage: "send [ID] TEXT",
             summary: "send text on a connection (escapes: \\n \\r \\t \\0 \\e \\\\ \\\" \\xHH)",
             details: [
                "quote with \"...\" to keep spaces",
                "without ID: the selected connection in the TUI (a :connect selects the one it opens); else the most",
                "recent socket, the one your commands last made (connect, listen, socket) or named by its id, never",
                "one that merely arrived (an accepted client): a script means the same socket however fast it runs;",
                "when that is a listener, its latest client (a UDP listener answers its latest sender)",
             ]),
        Spec(name: "sendhex", usage: "sendhex [ID] HEX",
             summary: "send bytes written in hex (\"de ad be ef\", deadbeef, 0xde,0xad)", details: []),
        Spec(name: "sendfile", usage: "sendfile [ID] PATH",
             summary: "send a file's bytes on a connection (streamed, with backpressure)", details: []),
        Spec(name: "sendto", usage: "sendto [ID] HOST:PORT TEXT",
             summary: "send one datagram from a UDP socket to an address", details: []),
        Spec(name: "close", usage: "close [ID]",
             summary: "close a connection or stop a listener",
             details: ["without ID: the selected socket, else the most recent socket (see help send)"]),
        Spec(name: "shutdown", usage: "shutdown [ID] read|write|both",
             summary: "end one direction: write sends FIN (the peer reads EOF) and we can still receive",
             details: []),
        Spec(name: "reset", usage: "reset [ID]",
             summary: "abortive close: SO_LINGER 0 then close, so the peer gets RST (ECONNRESET)", details: []),
        Spec(name: "get", usage: "get [ID] OPTION",
             summary: "show a socket option as the kernel holds it (nodelay keepalive reuseaddr reuseport rcvbuf sndbuf linger ttl)",
             details: SocketOptionName.allCases.map(\.explanation)),
        Spec(name: "resolve", usage: "resolve HOST",
             summary: "list every address getaddrinfo returns for a name (family, type, address)", details: []),
        Spec(name: "explain", usage: "explain ERRNO|STATE",
             summary: "explain an errno (ECONNREFUSED) or a TCP state (TIME-WAIT) in plain words",
             details: ["an errno by name in any case (econnrefused) or by number (111)"]),
        Spec(name: "set", usage: "set [ID] OPTION VALUE",
             summary: "set a socket option (see get) or eol none|lf|crlf|cr, what ends typed lines (default lf)",
             details: ["flags take 1/0 or on/off; the answer shows what the kernel really holds"]),
        Spec(name: "save", usage: "save PATH [--text | --json]",
             summary: "write the whole log to a file (JSON Lines for .jsonl/.json or --json)",
             details: ["every entry with its exact byte count; totals per connection at the end"]),
        Spec(name: "socket", usage: "socket tcp|tcp6|udp|udp6|unix",
             summary: "step mode: make a bare socket (S1...), then walk it through bind, listen, accept, connect...",
             details: ["each call shows the kernel's answer (bind(7, 127.0.0.1:9000) = 0), the new state and what may come next",
                       "calls out of order are allowed: accept before listen gives the kernel's EINVAL",
                       "step calls: bind S1 ADDR, listen S1 N, accept S1, connect S1 ADDR, send S1 TEXT, recv S1 [N],",
                       "shutdown S1 read|write|both, close S1; once listening or connected S1 works like any socket"]),
        Spec(name: "bind", usage: "bind ID ADDR",
             summary: "step mode: give a socket its local address (HOST:PORT, [::1]:PORT or unix:PATH)", details: []),
        Spec(name: "accept", usage: "accept [ID]",
             summary: "take one client off a manual-accept listener's queue (listen S1 N, or listen PORT --manual-accept)",
             details: ["with an empty queue accept waits: the next client to arrive is taken at once"]),
        Spec(name: "recv", usage: "recv ID [N]",
             summary: "step mode: read up to N bytes (default 4096) now; EAGAIN when nothing has arrived", details: []),
        Spec(name: "sys", usage: "sys [on|off | filter TEXT | sort proto|state|local|remote|queue|process]",
             summary: "the system view: every socket on the machine, live while shown (S toggles it)",
             details: ["our own sockets are marked *; select a listener and press c to connect to it"]),
        Spec(name: "help", usage: "help [COMMAND]", summary: "list commands, or explain one", details: []),
        Spec(name: "quit", usage: "quit", summary: "close every socket and leave", details: []),
    ]

    public static func spec(named name: String) -> Spec? {
        specs.first { $0.name == name.lowercased() }
    }

    /// The lines `help` prints: every command, or one in detail.
    public static func helpLines(topic: String?) -> [String] {
        if let topic, !topic.isEmpty {
            guard let spec = spec(named: topic) else {
                return ["no command named '\(topic)'; commands: " + specs.map(\.name).joined(separator: ", ")]
            }
            return ["\(spec.usage)  —  \(spec.summary)"] + spec.details.map { "  \($0)" }
        }
        return specs.map { "\($0.usage)  —  \($0.summary)" }
    }
}
