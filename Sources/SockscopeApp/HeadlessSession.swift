import Glibc
import SockscopeCore
import SockscopeEngine

/// Runs the command language with no UI: one line per event on stdout, text or
/// JSON Lines. Commands come from `-c` and then from stdin, line by line.
/// Runs until `quit`, SIGINT, SIGTERM or SIGHUP.
public enum HeadlessSession {
    public struct Options: Sendable {
        public var commands: [String]
        public var json: Bool
        public var engineThreads: Int
        /// Listeners may bind every interface without `--public` on each command.
        public var allowPublic: Bool

        public init(commands: [String], json: Bool, engineThreads: Int = 1, allowPublic: Bool = false) {
            self.commands = commands
            self.json = json
            self.engineThreads = engineThreads
            self.allowPublic = allowPublic
        }
    }

    /// Returns the process exit status.
    public static func run(_ options: Options) -> Int32 {
        let signals = SignalRoute.install()
        let mailbox = Mailbox()
        let engine = Engine(threads: options.engineThreads, emit: { mailbox.post($0) })
        var state = AppState(interactive: false)
        state.allowsPublicListeners = options.allowPublic
        var output: [UInt8] = []
        var stdinOpen = true
        var lines = LineReader()
        var effects = EffectRunner(engine: engine, printNotice: { kind, text in
            output += Array(EventFormatter.notice(kind, text, time: Timestamp.now(), json: options.json).utf8)
            output.append(0x0A)
        })
        func handle(_ produced: [Effect]) { effects.run(produced, state: &state) }
        func script(_ line: String) {
            handle(Reducer.reduce(&state, .commandLine(line, origin: .script, time: Timestamp.now())))
        }

        for command in options.commands { script(command) }
        while !effects.quitting {
            writeAll(STDOUT_FILENO, output)
            output.removeAll(keepingCapacity: true)
            var descriptors = [mailbox.wakeSignal.fileDescriptor, signals.fileDescriptor]
            if stdinOpen { descriptors.append(STDIN_FILENO) }
            let ready = PollSet.wait(descriptors, timeoutMilliseconds: -1)
            if ready.readable.contains(signals.fileDescriptor) {
                signals.reset()
                break
            }
            if ready.readable.contains(STDIN_FILENO) || ready.hungUp.contains(STDIN_FILENO) {
                if let bytes = readAvailable(STDIN_FILENO) {
                    for line in lines.feed(bytes) { script(line) }
                } else {
                    // End of input is not a quit: a server keeps serving until told to stop.
                    stdinOpen = false
                    if let last = lines.finish() { script(last) }
                }
            }
            if ready.readable.contains(mailbox.wakeSignal.fileDescriptor) {
                for event in mailbox.drain() {
                    let line = options.json ? EventFormatter.json(event) : EventFormatter.text(event)
                    if let line {
                        output += Array(line.utf8)
                        output.append(0x0A)
                    }
                    handle(Reducer.reduce(&state, .engine(event)))
                }
            }
        }
        engine.shutdown()
        for event in mailbox.drain() {
            let line = options.json ? EventFormatter.json(event) : EventFormatter.text(event)
            if let line { output += Array(line.utf8) + [0x0A] }
        }
        writeAll(STDOUT_FILENO, output)
        return 0
    }
}
