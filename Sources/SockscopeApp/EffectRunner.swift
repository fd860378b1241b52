import Glibc
import SockscopeCore
import SockscopeEngine

/// Performs the reducer's effects: engine requests, saving the log, quitting.
/// Shared by the TUI and headless sessions; runs on the main thread.
struct EffectRunner {
    let engine: Engine
    /// Notices are in the log already, which the TUI shows and headless prints; a session
    /// that prints no log (netcat mode) hears of them here.
    let onNotice: ((LogKind, String) -> Void)?
    private(set) var quitting = false

    init(engine: Engine, onNotice: ((LogKind, String) -> Void)? = nil) {
        self.engine = engine
        self.onNotice = onNotice
    }

    /// Runs `effects`, feeding outcomes back through the reducer.
    mutating func run(_ effects: [Effect], state: inout AppState) {
        var queue = effects[...]
        while let effect = queue.popFirst() {
            switch effect {
            case .perform(let request):
                engine.submit(request)
            case .quit:
                quitting = true
            case .notice(let kind, let text):
                onNotice?(kind, text)
            case .saveLog(let path, .pcapng):
                let capture = HistoryCapture.render(state.log)
                let event: AppEvent = switch LogFile.write(capture.file, to: LogFile.expandingHome(path)) {
                case .success(let bytes): .outcome(.info, HistoryCapture.savedText(capture, path: path, bytes: bytes), time: Timestamp.now())
                case .failure(let failure): .outcome(.error, "save \(path) failed: \(failure.code ?? "") (\(failure.explanation))", time: Timestamp.now())
                }
                queue += Reducer.reduce(&state, event)
            case .saveLog(let path, let format):
                let outcome = LogFile.write(LogExport.render(state, format: format), to: LogFile.expandingHome(path))
                let event: AppEvent = switch outcome {
                case .success(let bytes): .outcome(.info, "saved the log to \(path) (\(ByteCount.text(bytes)), \(format.rawValue))", time: Timestamp.now())
                case .failure(let failure): .outcome(.error, "save \(path) failed: \(failure.code ?? "") (\(failure.explanation))", time: Timestamp.now())
                }
                queue += Reducer.reduce(&state, event)
            case .loadRules(let path, let owner, let listenRequest):
                let event: AppEvent
                if let text = LogFile.read(LogFile.expandingHome(path)) {
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    event = .ruleFile(owner: owner, path: path, lines: lines, listenRequest: listenRequest, time: Timestamp.now())
                } else {
                    let failure = SocketFailure.file(call: "open", errno: errno, path: path)
                    event = .outcome(.error, "listen --rules \(path): cannot read it: \(failure.code ?? "") (\(failure.explanation))",
                                     time: Timestamp.now())
                }
                queue += Reducer.reduce(&state, event)
            }
        }
    }
}

/// Writing whole files (the saved log, the command history).
enum LogFile {
    /// Writes `text` to `path`, created with `mode`; `private` files (the history: it holds
    /// what was sent) are also made owner-only when they already existed.
    static func write(_ text: String, to path: String, mode: mode_t = 0o644, private: Bool = false)
        -> Result<Int, SocketFailure> {
        write(Array(text.utf8), to: path, mode: mode, private: `private`)
    }

    /// Writes `bytes` to `path` (see `write(_:to:mode:private:)` for text).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, private: Bool = false)
        -> Result<Int, SocketFailure> {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return .failure(.file(call: "open", errno: errno, path: path)) }
        defer { close(fd) }
        if `private` { fchmod(fd, mode) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return .failure(.file(call: "write", errno: errno, path: path))
            }
            offset += written
        }
        return .success(bytes.count)
    }

    /// `~` and `~/...` name the home directory ($HOME), `~user/...` that user's, as in a shell:
    /// `save` is typed at a prompt, and no shell expands it there.
    static func expandingHome(_ path: String) -> String {
        guard path.hasPrefix("~") else { return path }
        let slash = path.firstIndex(of: "/") ?? path.endIndex
        let user = path[path.index(after: path.startIndex)..<slash]
        let home: String?
        if user.isEmpty {
            home = getenv("HOME").map { String(cString: $0) } ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) }
        } else {
            home = getpwnam(String(user)).map { String(cString: $0.pointee.pw_dir) }
        }
        guard let home else { return path }
        return home + path[slash...]
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        while let chunk = readAvailable(fd), !chunk.isEmpty { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The prompt's command history, kept across runs in the user's state directory
/// (`$XDG_STATE_HOME/sockscope/history`, else `~/.local/state/sockscope/history`).
/// It holds what was typed, so what was sent: the file is the owner's alone (mode 600).
enum CommandHistory {
    static var path: String? {
        if let override = getenv("SOCKSCOPE_HISTORY") { return String(cString: override) }
        let base: String
        if let state = getenv("XDG_STATE_HOME"), state.pointee != 0 {
            base = String(cString: state)
        } else if let home = getenv("HOME") {
            base = String(cString: home) + "/.local/state"
        } else {
            return nil
        }
        return base + "/sockscope/history"
    }

    static func load() -> [String] {
        guard let path, let text = LogFile.read(path) else { return [] }
        return text.split(separator: "\n").map(String.init).suffix(ViewState.historyLimit)
    }

    static func save(_ lines: [String]) {
        guard let path else { return }
        save(lines, to: path)
    }

    static func save(_ lines: [String], to path: String) {
        if let slash = path.lastIndex(of: "/") { makeDirectories(String(path[..<slash])) }
        _ = LogFile.write(lines.suffix(ViewState.historyLimit).joined(separator: "\n") + "\n", to: path,
                          mode: 0o600, private: true)
    }

    private static func makeDirectories(_ path: String) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o700)
        }
    }
}
