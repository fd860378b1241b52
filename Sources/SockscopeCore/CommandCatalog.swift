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
        Spec(name: "listen", usage: "listen ENDPOINT [--echo | --reply TEXT | --discard] [--backlog N]",
             summary: "open a server socket (binds 127.0.0.1 unless you name an address)",
             details: [
                "ENDPOINT: tcp://HOST:PORT, tcp://[::1]:PORT, tcp://:PORT or a bare PORT (127.0.0.1)",
                "port 0 lets the kernel choose; the chosen port is reported",
                "--echo writes back what arrives; --reply TEXT greets each client; --discard only counts",
                "--backlog N sets the accept queue length (default 4096, capped by net.core.somaxconn)",
             ]),
        Spec(name: "connect", usage: "connect ENDPOINT",
             summary: "open a client connection (tcp://HOST:PORT, HOST:PORT, or PORT on 127.0.0.1)",
             details: ["the kernel picks an ephemeral source port; the connection row shows it"]),
        Spec(name: "send", usage: "send [ID] TEXT",
             summary: "send text on a connection (escapes: \\n \\r \\t \\0 \\e \\\\ \\\" \\xHH)",
             details: [
                "quote with \"...\" to keep spaces; without ID: the selected socket, else the newest connection",
             ]),
        Spec(name: "close", usage: "close [ID]",
             summary: "close a connection or stop a listener",
             details: ["without ID: the selected socket, else the newest connection"]),
        Spec(name: "set", usage: "set [ID] eol none|lf|crlf|cr",
             summary: "choose what ends each line typed in a connection's send line (default lf)",
             details: ["the Connections pane shows each connection's line ending"]),
        Spec(name: "save", usage: "save PATH [--text | --json]",
             summary: "write the whole log to a file (JSON Lines for .jsonl/.json or --json)",
             details: ["every entry with its exact byte count; totals per connection at the end"]),
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
