import Testing
import SockscopeUI

/// Compares a frame with a text snapshot kept beside the tests. Set
/// SOCKSCOPE_RECORD=1 to write snapshots anew; a recording run always fails,
/// so nobody records by accident.
func assertSnapshot(_ frame: Frame, named name: String, filePath: String = #filePath,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let directory = String(filePath[..<filePath.lastIndex(of: "/")!]) + "/Snapshots"
    let path = "\(directory)/\(name).txt"
    let actual = snapshotText(frame)
    let record = getenvString("SOCKSCOPE_RECORD") == "1"
    let expected = readFile(path)
    if record || expected == nil {
        writeFile(path, actual, directory: directory)
        Issue.record("recorded snapshot \(name); run again without SOCKSCOPE_RECORD", sourceLocation: sourceLocation)
        return
    }
    if expected != actual {
        Issue.record("snapshot \(name) differs.\n--- expected\n\(expected!)\n--- actual\n\(actual)", sourceLocation: sourceLocation)
    }
}

/// The frame's text framed by `|`, then its style codes.
func snapshotText(_ frame: Frame) -> String {
    let text = frame.grid.textLines.map { "|\($0)|" }.joined(separator: "\n")
    let roles = frame.grid.roleLines.map { "|\($0)|" }.joined(separator: "\n")
    return "\(text)\n\nstyles:\n\(roles)\n"
}

#if canImport(Glibc)
import Glibc
#endif

private func getenvString(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

private func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String, directory: String) {
    mkdir(directory, 0o755)
    guard let file = fopen(path, "wb") else { return }
    let bytes = Array(text.utf8)
    fwrite(bytes, 1, bytes.count, file)
    fclose(file)
}
