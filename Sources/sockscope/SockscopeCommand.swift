import ArgumentParser
import SockscopeApp
import SockscopeTerminal

/// Argument parsing and wiring only; everything else lives in the libraries.
@main
struct SockscopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sockscope",
        abstract: "An interactive terminal socket explorer: listen, connect, send, and watch what the kernel does.",
        discussion: """
            Without --headless, opens a full-screen view with panes for listening sockets, \
            connections and a message log. Press : for the command prompt and ? for help.

            Commands (for -c, the : prompt and headless stdin):
            \(CommandHelpText.summary)
            """,
        version: SockscopeVersion.current
    )

    @Argument(help: ArgumentHelp("Netcat mode: HOST PORT connects, -l [HOST] PORT listens (127.0.0.1 unless HOST is named), -U PATH uses a UNIX socket. Stdin is sent raw, received bytes go raw to stdout, errors to stderr; exit status 1 when the connection fails. End of stdin sends FIN (half-close, as nc -N); the session ends once both directions are over (our input sent, the peer's EOF read) or the connection closes.",
                          valueName: "host-port-or-path"))
    var target: [String] = []

    @Flag(name: .customShort("l"), help: "Netcat mode: listen for one client instead of connecting.")
    var listen = false

    @Flag(name: .customShort("u"), help: "Netcat mode: UDP instead of TCP (each stdin read is one datagram).")
    var udp = false

    @Flag(name: .customShort("U"), help: "Netcat mode: a UNIX stream socket at the PATH given.")
    var unix = false

    @Option(help: ArgumentHelp("Netcat mode: also write the JSON event stream (as --headless --json) to FILE, or to stderr with -.",
                               valueName: "file"))
    var events: String?

    @Option(help: ArgumentHelp("JSON data events (--headless --json, --events) also carry the whole payload: none or base64 (no size cap; memory stays bounded by backpressure).",
                               valueName: "encoding"))
    var payload: String = PayloadMode.none.rawValue

    @Option(name: .customShort("c"), parsing: .singleValue,
            help: "Run a command at start-up (repeatable), e.g. -c 'listen 9000 --echo'.")
    var commands: [String] = []

    @Option(name: [.customShort("f"), .customLong("script")],
            help: ArgumentHelp("Run a file of commands without a UI (implies --headless), one per line, # comments allowed; stdin is not read. The session ends after the last line; exit status 0 when every line (every expect) held, 1 with the failing line's number and why.",
                               valueName: "file"))
    var script: String?

    @Flag(help: "Run without a UI: print one line per event; read more commands from stdin. Ends at quit or a signal, or once stdin has ended and no listener or connection can bring more.")
    var headless = false

    @Flag(help: "With --headless: print JSON Lines (ts, id, event, local, remote, bytes, text, errno...).")
    var json = false

    @Flag(help: "With --headless: allow listeners on every interface (0.0.0.0, ::) without --public on each.")
    var `public` = false

    @Option(name: .customLong("coalesce-ms"),
            help: ArgumentHelp("With --headless: while data flows, merge each connection's reads and writes into lines with exact byte counts, printed 10 ms apart at first and at most this many milliseconds apart while the flow lasts (0: print each batch as it arrives).",
                               valueName: "ms"))
    var coalesceMilliseconds: Int = HeadlessSession.defaultCoalesceMilliseconds

    @Flag(name: .customLong("keep-going"),
          help: "With --headless: run on after a scripted command fails (a refused connect, an unknown command) and exit 0. Without it the first failure ends the session with exit status 1, as nc does.")
    var keepGoing = false

    @Flag(name: .customLong("no-history"),
          help: "Neither read nor write the prompt's history file ($XDG_STATE_HOME/sockscope/history, else ~/.local/state/sockscope/history; it holds what you sent).")
    var noHistory = false

    @Option(help: "Colour theme: dark, light or mono (NO_COLOR also selects mono).")
    var theme: String = "dark"

    @Option(help: "Engine event-loop threads.")
    var threads: Int = 1

    /// `--payload`'s values (the App's `PayloadEncoding`, which this module may not import).
    enum PayloadMode: String, CaseIterable { case none, base64 }

    var isNetcat: Bool { !target.isEmpty || listen || udp || unix }

    func validate() throws {
        guard PayloadMode(rawValue: payload) != nil else { throw ValidationError("--payload must be none or base64") }
        if isNetcat {
            if headless || !commands.isEmpty || script != nil {
                throw ValidationError("HOST PORT (netcat mode) goes without --headless, -c and --script")
            }
            if udp && unix { throw ValidationError("-u and -U: choose UDP or a UNIX socket") }
            if unix {
                guard target.count == 1 else { throw ValidationError("-U takes one PATH") }
            } else {
                guard (listen ? 1...2 : 2...2).contains(target.count) else {
                    throw ValidationError(listen ? "-l takes [HOST] PORT" : "netcat mode takes HOST PORT")
                }
                guard let port = Int(target.last!), (0...65_535).contains(port) else {
                    throw ValidationError("PORT must be a number from 0 to 65535")
                }
            }
        } else if events != nil {
            throw ValidationError("--events goes with netcat mode (HOST PORT); --headless --json prints the stream on stdout")
        }
        let headless = headless || script != nil
        if payload != PayloadMode.none.rawValue, !isNetcat, !(headless && json) {
            throw ValidationError("--payload goes with --headless --json or netcat mode")
        }
        guard Theme.Name(rawValue: theme) != nil else {
            throw ValidationError("--theme must be dark, light or mono")
        }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
        if json && !headless { throw ValidationError("--json goes with --headless") }
        if keepGoing && !headless { throw ValidationError("--keep-going goes with --headless") }
        guard (0...10_000).contains(coalesceMilliseconds) else {
            throw ValidationError("--coalesce-ms must be from 0 to 10000")
        }
    }

    func run() throws {
        let status: Int32
        let payloadEncoding = payload == PayloadMode.base64.rawValue ? HeadlessSession.Payload.base64 : .none
        if isNetcat {
            let opening = PipeSession.opening(listen: listen, udp: udp, unixPath: unix ? target[0] : nil,
                                              host: unix || target.count < 2 ? nil : target[0],
                                              port: unix ? nil : Int(target.last!))
            let eventsTarget: PipeSession.EventsTarget? = events.map { $0 == "-" ? .standardError : .file($0) }
            status = PipeSession.run(.init(opening: opening, events: eventsTarget, payload: payloadEncoding,
                                           engineThreads: threads))
        } else if headless || script != nil {
            status = HeadlessSession.run(.init(commands: commands, json: json, engineThreads: threads, allowPublic: `public`,
                                               coalesceMilliseconds: coalesceMilliseconds, keepGoing: keepGoing,
                                               payload: payloadEncoding, scriptPath: script))
        } else {
            status = TUISession.run(.init(commands: commands, theme: Theme.Name(rawValue: theme)!, engineThreads: threads,
                                          keepsHistory: !noHistory))
        }
        if status != 0 { throw ExitCode(status) }
    }
}
