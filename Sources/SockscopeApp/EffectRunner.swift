import Glibc
import SockscopeCore
import SockscopeEngine

/// Performs the reducer's effects: engine requests, saving the log, quitting.
/// Shared by the TUI and headless sessions; runs on the main thread.
struct EffectRunner {
    let engine: Engine
    private(set) var quitting = false

    init(engine: Engine) {
        self.engine = engine
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
            case .notice:
                break  // already in the log, which the TUI shows and headless prints
            case .saveLog(let path, let format):
                let outcome = LogFile.write(LogExport.render(state, format: format), to: path)
                let event: AppEvent = switch outcome {
                case .success(let bytes): .outcome(.info, "saved the log to \(path) (\(ByteCount.text(bytes)), \(format.rawValue))", time: Timestamp.now())
                case .failure(let failure): .outcome(.error, "save \(path) failed: \(failure.code ?? "") (\(failure.explanation))", time: Timestamp.now())
                }
                queue += Reducer.reduce(&state, event)
            }
        }
    }
}

/// Writing whole files (the saved log, the command history).
enum LogFile {
    static func write(_ text: String, to path: String) -> Result<Int, SocketFailure> {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .failure(.system(call: "open", errno: errno, target: path)) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return .failure(.system(call: "write", errno: errno, target: path))
            }
            offset += written
        }
        return .success(bytes.count)
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
        let directory = String(path[..<path.lastIndex(of: "/")!])
        makeDirectories(directory)
        _ = LogFile.write(lines.suffix(ViewState.historyLimit).joined(separator: "\n") + "\n", to: path)
    }

    private static func makeDirectories(_ path: String) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o700)
        }
    }
}
