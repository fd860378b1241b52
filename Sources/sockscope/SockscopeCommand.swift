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

    @Option(name: .customShort("c"), parsing: .singleValue,
            help: "Run a command at start-up (repeatable), e.g. -c 'listen 9000 --echo'.")
    var commands: [String] = []

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

    func validate() throws {
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
        if headless {
            status = HeadlessSession.run(.init(commands: commands, json: json, engineThreads: threads, allowPublic: `public`,
                                               coalesceMilliseconds: coalesceMilliseconds, keepGoing: keepGoing))
        } else {
            status = TUISession.run(.init(commands: commands, theme: Theme.Name(rawValue: theme)!, engineThreads: threads,
                                          keepsHistory: !noHistory))
        }
        if status != 0 { throw ExitCode(status) }
    }
}
