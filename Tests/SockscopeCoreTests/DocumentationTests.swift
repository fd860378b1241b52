import Testing
import SockscopeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The README's command and key tables must match the catalogues. To refresh
/// them, paste the "expected" text from the failure between the markers.
@Suite struct DocumentationTests {
    static var readmePath: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/README.md"
    }

    static var readme: String {
        let path = readmePath
        guard let file = fopen(path, "rb") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer[0..<count] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func section(_ name: String) -> String? {
        let text = readme
        guard let start = text.range(of: "<!-- \(name):begin -->\n"), let end = text.range(of: "\n<!-- \(name):end -->")
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// With SOCKSCOPE_RECORD=1 the README's tables are rewritten (and the test fails once).
    static func check(_ name: String, _ expected: String) {
        let actual = section(name)
        guard actual != expected else { return }
        if ProcessInfo.processInfo.environment["SOCKSCOPE_RECORD"] == "1", let actual {
            let updated = readme.replacingOccurrences(of: actual, with: expected)
            try? updated.write(toFile: readmePath, atomically: false, encoding: .utf8)
            Issue.record("rewrote the README's \(name) table; run again without SOCKSCOPE_RECORD")
        } else {
            Issue.record("README's \(name) table is stale (SOCKSCOPE_RECORD=1 swift test rewrites it); expected:\n\(expected)")
        }
    }

    @Test func readmeCommandTableIsCurrent() { Self.check("commands", ReferenceTables.commands) }

    @Test func readmeKeyTableIsCurrent() { Self.check("keys", ReferenceTables.keys) }
}
