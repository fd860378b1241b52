import Glibc
import SockscopeCore
import SockscopeEngine

/// Runs the command language with no UI: one line per event on stdout, text or
/// JSON Lines. Commands come from `-c` and then from stdin, line by line.
/// Runs until `quit`, SIGINT, SIGTERM or SIGHUP, or, once stdin has ended, until
/// only a command could make anything happen (`AppState.isWaitingOnlyForCommands`):
/// a listener keeps it serving, a finished exchange lets a piped script end.
public enum HeadlessSession {
    public struct Options: Sendable {
        public var commands: [String]
        public var json: Bool
        public var engineThreads: Int
        /// Listeners may bind every interface without `--public` on each command.
        public var allowPublic: Bool
        /// While data flows, events are collected after a batch with data before the
        /// next is printed, at first for 10 ms and, while the flow lasts, for up to this
        /// long (see `DataPacing`): each socket then gets one received and one sent
        /// line per interval (exact byte counts). 0 prints every batch at once.
        public var coalesceMilliseconds: Int
        /// Run on after a scripted command failed, and end with status 0 (`--keep-going`);
        /// otherwise the first failure ends the session with status 1, as nc does.
        public var keepGoing: Bool
        /// `--payload base64`: JSON data events carry their whole payload (see `PayloadCredit`).
        public var payload: PayloadEncoding
        /// `--script FILE` (`-f`): its lines run after the `-c` commands, stdin is not read, and
        /// the session ends once its last line has run (status 1 if any line failed).
        public var scriptPath: String?

        public init(commands: [String], json: Bool, engineThreads: Int = 1, allowPublic: Bool = false,
                    coalesceMilliseconds: Int = HeadlessSession.defaultCoalesceMilliseconds, keepGoing: Bool = false,
                    payload: PayloadEncoding = .none, scriptPath: String? = nil) {
            self.payload = payload
            self.scriptPath = scriptPath
            self.keepGoing = keepGoing
            self.commands = commands
            self.json = json
            self.engineThreads = engineThreads
            self.allowPublic = allowPublic
            self.coalesceMilliseconds = coalesceMilliseconds
        }
    }

    /// The payload encodings, for the executable (which sees only this module).
    public typealias Payload = PayloadEncoding

    /// A flood prints ~10 lines a second per connection and direction: readable as it
    /// scrolls, and the printing costs the engine's machine little. Short exchanges are
    /// not delayed this long (the pause starts at 10 ms, see `DataPacing`).
    public static let defaultCoalesceMilliseconds = 100

    /// Returns the process exit status.
    public static func run(_ options: Options) -> Int32 {
        var scriptLines: [String] = []
        if let path = options.scriptPath {
            guard let lines = scriptFileLines(path) else {
                writeAll(STDERR_FILENO, Array("sockscope: cannot read the script \(path): \(ErrnoCatalog.entry(for: errno).map { "\($0.name) (\($0.explanation))" } ?? "errno \(errno)")\n".utf8))
                return 1
            }
            scriptLines = lines
        }
        let signals = SignalRoute.install()
        // An expectation sees every byte a socket received: data events then carry whole
        // payloads, not 1 KiB previews. Lines from stdin come too late to ask for that.
        let expects = (options.commands + scriptLines).contains { Self.isExpectLine($0) }
        // Whole payloads reach the output only as fast as it is written (see `PayloadCredit`).
        let credit = options.payload == .base64 || expects ? PayloadCredit() : nil
        let mailbox = Mailbox(keepsWholePayloads: credit != nil)
        let engine = Engine(threads: options.engineThreads, payloadCredit: credit, emit: { mailbox.post($0) })
        var unpaid = 0
        var state = AppState(interactive: false)
        state.allowsPublicListeners = options.allowPublic
        state.script.stopsAtFailure = !options.keepGoing
        state.script.sources = [ScriptSource(name: "-c", lines: options.commands.count)]
            + (options.scriptPath.map { [ScriptSource(name: $0, lines: scriptLines.count)] } ?? [])
            + [ScriptSource(name: "stdin", lines: nil)]
        var output: [UInt8] = []
        // A script file replaces stdin: the session is the script.
        var stdinOpen = options.scriptPath == nil
        var lines = LineReader()
        /// A data event's whole payload (`--payload base64`), printed with the entry it makes.
        var wholePayload: (socket: SocketID, bytes: [UInt8])?
        /// One entry as a line of output (text or JSON), if headless prints it.
        func print(_ entry: LogEntry) {
            if options.json {
                var payload: [UInt8]?
                if let whole = wholePayload, entry.isData, entry.socket == whole.socket, entry.count == whole.bytes.count {
                    payload = whole.bytes
                    wholePayload = nil
                }
                guard let line = EventText.json(entry, payload: payload) else { return }
                output += line.utf8
            } else {
                guard EventText.appendLine(entry, to: &output) else { return }
            }
            output.append(0x0A)
        }
        // What headless prints is the log as it grows: every event, error and notice is
        // printed from the entry the reducer kept, worded by `EventText`, so a saved log
        // (`save --json`) holds the same lines. Commands are the script's own input: not echoed.
        var printedThrough = state.log.nextSequence
        func printNewEntries() {
            let log = state.log
            guard log.count > 0 else { return }
            let first = log[0].sequence
            for index in max(0, printedThrough - first)..<log.count {
                let entry = log[index]
                if case .command = entry.record { continue }
                print(entry)
            }
            printedThrough = log.nextSequence
        }
        var effects = EffectRunner(engine: engine)
        func handle(_ produced: [Effect]) {
            effects.run(produced, state: &state)
            printNewEntries()
        }
        /// An engine event: applied, then printed as the log kept it. The lab's observations
        /// (kernel samples, the system's sockets, the port range), TLS wire totals and replay
        /// records are not kept in the log: printed as they come.
        /// After the engine has stopped, what the reducer asks for is not done (nothing could do it).
        func apply(_ event: EngineEvent, runningEffects: Bool = true) {
            if options.payload == .base64 { wholePayload = event.kind.wholePayload }
            if case .received(_, _, let count) = event.kind { unpaid += count }
            if case .receivedFrom(_, _, _, let count, _) = event.kind { unpaid += count }
            defer { wholePayload = nil }
            let produced = Reducer.reduce(&state, .engine(event))
            // Before what the reducer logged on seeing it (a state change a sample revealed,
            // the replay a record starts): the observation came first.
            if !event.kind.isKeptInLog {
                print(LogEntry(observation: event, transport: event.kind.socket.flatMap { state.transport(of: $0) }))
            }
            if runningEffects { handle(produced) } else { printNewEntries() }
        }
        func script(_ line: String) {
            handle(Reducer.reduce(&state, .commandLine(line, origin: .script, time: Timestamp.now())))
        }

        // After a batch with data, the mailbox collects (and merges) further events
        // until this monotonic time; printing and reducing them per read would cost
        // the main thread more than the engine spends moving the bytes.
        var collectUntil: Int64?
        // The engine reports a flood at most every 100 ms: a pause shorter than that may end
        // empty while the flood goes on, and must not count as its end (the pause would never grow).
        var pacing = DataPacing(longestMilliseconds: options.coalesceMilliseconds,
                                quietMilliseconds: Engine.trafficReportIntervalMilliseconds + 20)
        for command in options.commands + scriptLines { script(command) }
        while !effects.quitting {
            writeAll(STDOUT_FILENO, output)
            output.removeAll(keepingCapacity: true)
            credit?.pay(unpaid)
            unpaid = 0
            if state.script.failure != nil, !options.keepGoing {
                handle(Reducer.reduce(&state, .outcome(.info, "a scripted command failed: leaving with status 1 (--keep-going runs on)",
                                                        time: Timestamp.now())))
                writeAll(STDOUT_FILENO, output)
                output.removeAll(keepingCapacity: true)
                break
            }
            if options.scriptPath != nil, state.script.pending.isEmpty, state.script.waitingFor == nil {
                handle(Reducer.reduce(&state, .outcome(.info, "the script ran to its end: leaving", time: Timestamp.now())))
                writeAll(STDOUT_FILENO, output)
                output.removeAll(keepingCapacity: true)
                break
            }
            // No command can come any more, and no socket can bring news.
            if !stdinOpen && state.isWaitingOnlyForCommands {
                handle(Reducer.reduce(&state, .outcome(.info, "input ended and no socket can bring more: leaving",
                                                        time: Timestamp.now())))
                break
            }
            // While collecting, the mailbox writes the wake fd only for a long backlog.
            var descriptors = [signals.fileDescriptor, mailbox.wakeSignal.fileDescriptor]
            var timeout: Int32 = -1
            if let until = collectUntil {
                timeout = Int32(clamping: max(0, until - WallClock.monotonicMilliseconds()))
            }
            if stdinOpen { descriptors.append(STDIN_FILENO) }
            let ready = PollSet.wait(descriptors, timeoutMilliseconds: timeout)
            if ready.readable.contains(signals.fileDescriptor) {
                signals.reset()
                break
            }
            if ready.readable.contains(STDIN_FILENO) || ready.hungUp.contains(STDIN_FILENO) {
                if let bytes = readAvailable(STDIN_FILENO) {
                    for line in lines.feed(bytes) { script(line) }
                } else {
                    // End of input is not a quit: a server keeps serving until told to stop,
                    // a client until its exchange is over (checked at the top of the loop).
                    stdinOpen = false
                    if let last = lines.finish() { script(last) }
                }
            }
            let collectionOver = collectUntil.map { WallClock.monotonicMilliseconds() >= $0 } ?? false
            if collectionOver || ready.readable.contains(mailbox.wakeSignal.fileDescriptor) {
                let pace = pacing.longest > 0
                let events = mailbox.drain(pausingWakeUps: pace)
                var sawData = false
                for event in events {
                    if event.kind.isStreamData { sawData = true }
                    apply(event)
                }
                if let pause = pacing.pause(afterBatchWithData: sawData, now: WallClock.monotonicMilliseconds()) {
                    collectUntil = WallClock.monotonicMilliseconds() + Int64(pause)
                } else {
                    // Quiet again: block with no timeout (zero wake-ups when idle).
                    if pace { mailbox.resumeWakeUps() }
                    collectUntil = nil
                }
            }
        }
        engine.shutdown()
        for event in mailbox.drain() { apply(event, runningEffects: false) }
        writeAll(STDOUT_FILENO, output)
        // Like nc: a script whose command failed (refused, unknown, unsaved) says so in its status.
        return state.script.failure != nil && !options.keepGoing ? 1 : 0
    }
}

extension HeadlessSession {
    /// A script file's lines, blank and comment lines included (so messages name the file's line numbers).
    static func scriptFileLines(_ path: String) -> [String]? {
        guard let text = LogFile.read(path) else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func isExpectLine(_ line: String) -> Bool {
        line.drop { $0 == " " || $0 == "\t" }.lowercased().hasPrefix("expect")
    }
}

extension EngineEventKind {
    /// A data event's socket and bytes when they are the whole payload (the engine reports
    /// whole payloads under a `PayloadCredit`; an echo listener's echoes are not).
    var wholePayload: (socket: SocketID, bytes: [UInt8])? {
        switch self {
        case .received(let id, let bytes, let count), .sent(let id, let bytes, let count),
             .receivedFrom(let id, _, let bytes, let count, _), .sentTo(let id, _, let bytes, let count):
            bytes.count == count ? (id, bytes) : nil
        default: nil
        }
    }

    /// Stream reads and writes: the events a busy connection produces per system call.
    var isStreamData: Bool {
        switch self {
        case .received, .sent: true
        default: false
        }
    }
}
