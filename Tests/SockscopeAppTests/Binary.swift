import Foundation
import TestSupport

/// The built `sockscope` executable and the outside tools the end-to-end tests use.
enum Binary {
    /// `swift test` builds the executable next to the test bundle.
    static var path: String {
        var candidates: [String] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = runner
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("sockscope").path)
            directory = directory.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/sockscope").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }
}

/// Runs a short command to completion and returns its output.
@discardableResult
func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(10)) async throws -> (status: Int32?, output: String) {
    let process = try SpawnedProcess(executable, arguments)
    let status = await process.wait(timeout: timeout)
    if status == nil { process.kill(SIGKILL) }
    return (status, process.output)
}

/// Finds the port of `listening tcp 127.0.0.1:PORT` (headless) or `listening on tcp 127.0.0.1:PORT`
/// (the TUI's log) in the output; other addresses (a client's peer) are skipped.
func listeningPort(in text: String) -> Int? {
    let patterns = [#"listening (on )?tcp 127\.0\.0\.1:(\d+)"#, #""event":"listening".*"local":"127\.0\.0\.1:(\d+)"#]
    guard let range = patterns.lazy.compactMap({ text.range(of: $0, options: .regularExpression) }).first else {
        return nil
    }
    return Int(text[range].split(separator: ":").last!.prefix { $0.isNumber })
}
