/// Where a command line came from.
public enum CommandOrigin: Hashable, Sendable {
    /// Typed at the `:` prompt: runs at once.
    case prompt
    /// From `-c` or headless stdin: runs after the previous scripted command finished.
    case script
}

/// Everything that can change the application state.
public enum AppEvent: Hashable, Sendable {
    case engine(EngineEvent)
    case key(KeyPress, time: Timestamp)
    case resize(width: Int, height: Int)
    case commandLine(String, origin: CommandOrigin, time: Timestamp)
    /// A command made by the program itself, run at once and not logged as typed: the
    /// netcat mode's sends of what arrives on stdin (raw bytes, any size).
    case command(Command, time: Timestamp)
    /// A mouse click on row `index` of a pane (the app maps screen cells to rows).
    case select(Pane, index: Int)
    /// The mouse wheel over a pane: positive scrolls down.
    case scroll(Pane, lines: Int)
    /// A second passed while some rate was still moving (never sent when all is quiet).
    case tick(Timestamp)
    /// The outcome of something the app did for an effect (a saved file), for the log.
    case outcome(LogKind, String, time: Timestamp)
    /// The lines of a listener's `--rules FILE`, read by the app (`Effect.loadRules`).
    case ruleFile(owner: SocketID, path: String, lines: [String], listenRequest: RequestID?, time: Timestamp)
}

/// The formats `save` writes.
public enum LogFormat: String, Hashable, Sendable {
    case text, json
    /// The session as a script to run again (`save PATH --script`, `ScriptExport`).
    case script
    /// The TCP and UDP traffic the log holds, as packets (`save PATH.pcapng`, `HistoryCapture`).
    case pcapng

    /// The format a path's extension asks for when no flag does.
    public static func implied(by path: String) -> LogFormat {
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") { return .json }
        if path.hasSuffix(".pcapng") { return .pcapng }
        return .text
    }
}

/// What the reducer asks the runtime to do; the reducer itself performs no I/O.
public enum Effect: Hashable, Sendable {
    case perform(EngineRequest)
    /// A message for the person: headless prints it, the TUI has already logged it.
    case notice(LogKind, String)
    /// Write the whole log to a file (the app does the I/O and reports back with `.commandLine`-free notices).
    case saveLog(path: String, format: LogFormat)
    /// Read a listener's `--rules FILE` and answer with `.ruleFile` (or an error `.outcome`).
    case loadRules(path: String, owner: SocketID, listenRequest: RequestID?)
    case quit
}
