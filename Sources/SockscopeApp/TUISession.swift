import Glibc
import SockscopeCore
import SockscopeEngine
import SockscopeTerminal
import SockscopeUI

/// The full-screen program: ncurses on the main thread, the engine on its own
/// threads, events crossing over through the `Mailbox`.
public enum TUISession {
    public struct Options: Sendable {
        public var commands: [String]
        public var theme: Theme.Name
        public var engineThreads: Int
        /// Read and write the prompt's history file (`--no-history` turns it off).
        public var keepsHistory: Bool

        public init(commands: [String], theme: Theme.Name, engineThreads: Int = 1, keepsHistory: Bool = true) {
            self.commands = commands
            self.theme = theme
            self.engineThreads = engineThreads
            self.keepsHistory = keepsHistory
        }
    }

    /// Redraws are paced to at most one per this many milliseconds while
    /// events stream in; an idle screen is never redrawn.
    static let frameIntervalMilliseconds: Int64 = 33

    /// Returns the process exit status.
    public static func run(_ options: Options) -> Int32 {
        let signals = SignalRoute.install()
        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal(theme: options.theme)
        } catch {
            writeAll(STDERR_FILENO, Array("sockscope: \(error)\n".utf8))
            return 1
        }
        // After ncurses set up the terminal: its SIGWINCH handler is chained, not replaced.
        let resizes = SignalRoute.routeResizes()
        let mailbox = Mailbox()
        let engine = Engine(threads: options.engineThreads, emit: { mailbox.post($0) })
        var state = AppState(interactive: true, glyphs: terminal.localeIsUTF8 ? .unicode : .ascii)
        (state.view.width, state.view.height) = terminal.size
        if options.keepsHistory { state.view.history = CommandHistory.load() }
        var lastFrame: Int64 = 0
        var lastTick = WallClock.monotonicMilliseconds()
        // Notices are already in the log and the status line.
        var effects = EffectRunner(engine: engine)
        func handle(_ produced: [Effect]) { effects.run(produced, state: &state) }

        for command in options.commands {
            handle(Reducer.reduce(&state, .commandLine(command, origin: .script, time: Timestamp.now())))
        }
        while !effects.quitting {
            var timeout: Int32 = -1
            // Rates fall to zero a second after traffic stops and flash messages expire:
            // tick only while that is pending, never when all is quiet.
            if state.wantsTicks {
                let now = WallClock.monotonicMilliseconds()
                if now - lastTick >= 1000 {
                    handle(Reducer.reduce(&state, .tick(Timestamp.now())))
                    lastTick = now
                }
                timeout = Int32(max(1, lastTick + 1000 - now))
            }
            if state.needsRedraw {
                let now = WallClock.monotonicMilliseconds()
                let due = lastFrame + frameIntervalMilliseconds
                if now >= due {
                    terminal.present(Screen.render(state))
                    state.needsRedraw = false
                    lastFrame = now
                } else {
                    timeout = timeout < 0 ? Int32(due - now) : min(timeout, Int32(due - now))
                }
            }
            var descriptors = [STDIN_FILENO, mailbox.wakeSignal.fileDescriptor, signals.fileDescriptor]
            if let resizes { descriptors.append(resizes.fileDescriptor) }
            let ready = PollSet.wait(descriptors, timeoutMilliseconds: timeout)
            if ready.readable.contains(signals.fileDescriptor) { break }
            if ready.hungUp.contains(STDIN_FILENO) { break }  // the terminal went away
            let resized = resizes.map { ready.readable.contains($0.fileDescriptor) } ?? false
            if resized { resizes?.reset() }
            if resized || ready.interrupted || ready.readable.contains(STDIN_FILENO) {
                for input in terminal.readInput() {
                    switch input {
                    case .key(let key):
                        handle(Reducer.reduce(&state, .key(key, time: Timestamp.now())))
                    case .resize(let width, let height):
                        terminal.invalidate()
                        handle(Reducer.reduce(&state, .resize(width: width, height: height)))
                        lastFrame = 0  // show the new layout at once
                    case .click(let x, let y):
                        if let hit = HitTest.hit(state, x: x, y: y) {
                            handle(Reducer.reduce(&state, .select(hit.pane, index: hit.row ?? -1)))
                        }
                    case .wheel(let x, let y, let lines):
                        if let hit = HitTest.hit(state, x: x, y: y) {
                            handle(Reducer.reduce(&state, .scroll(hit.pane, lines: lines)))
                        }
                    }
                }
            }
            if ready.readable.contains(mailbox.wakeSignal.fileDescriptor) {
                for event in mailbox.drain() { handle(Reducer.reduce(&state, .engine(event))) }
            }
        }
        terminal.close()
        if options.keepsHistory { CommandHistory.save(state.view.history) }
        engine.shutdown()
        return 0
    }
}
