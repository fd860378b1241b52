import Testing
import SockscopeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The README's command and key tables must match the catalogues. To refresh
/// them, paste the "expected" text from the failure between the markers.
@Suite struct DocumentationTests {
    static var readme: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/README.md"
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

    @Test func readmeCommandTableIsCurrent() {
        #expect(Self.section("commands") == ReferenceTables.commands)
    }

    @Test func readmeKeyTableIsCurrent() {
        #expect(Self.section("keys") == ReferenceTables.keys)
    }
}
