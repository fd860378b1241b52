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
}

/// What the reducer asks the runtime to do; the reducer itself performs no I/O.
public enum Effect: Hashable, Sendable {
    case perform(EngineRequest)
    /// A message for the person: headless prints it, the TUI has already logged it.
    case notice(LogKind, String)
    case quit
}
