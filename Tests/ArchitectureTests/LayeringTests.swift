import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The layering written in ARCHITECTURE.md, checked on every test run: each
/// module may import only what is listed for it (plus the standard library).
@Suite struct LayeringTests {
    static let allowed: [String: Set<String>] = [
        "SockscopeCore": ["Synchronization"],
        "SockscopeEngine": ["SockscopeCore", "CSystemShim", "NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "Glibc",
                            "Synchronization", "Atomics", "NIOSSL", "NIOTLS", "X509", "Crypto", "SwiftASN1", "Foundation",
                            "NIOExtras", "NIOEmbedded"],
        "SockscopeUI": ["SockscopeCore"],
        "SockscopeTerminal": ["SockscopeCore", "SockscopeUI", "CNcursesShim", "Glibc"],
        "SockscopeApp": ["SockscopeCore", "SockscopeEngine", "SockscopeUI", "SockscopeTerminal", "CSystemShim", "Glibc",
                         "NIOConcurrencyHelpers"],
        "sockscope": ["SockscopeApp", "SockscopeTerminal", "ArgumentParser"],
    ]

    static var sourcesDirectory: String {
        let file = #filePath
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/ArchitectureTests/LayeringTests.swift
        return parts.joined(separator: "/") + "/Sources"
    }

    @Test func modulesImportOnlyWhatTheLayeringAllows() throws {
        var checked = 0
        for (module, allowed) in Self.allowed {
            for file in swiftFiles(in: "\(Self.sourcesDirectory)/\(module)") {
                for imported in imports(in: file) {
                    checked += 1
                    #expect(allowed.contains(imported), "\(file) imports \(imported), which \(module) may not use")
                }
            }
        }
        #expect(checked > 10, "found too few imports: is the source tree where this test expects it?")
    }

    @Test func onlyTheTerminalModuleCallsNcurses() {
        for module in Self.allowed.keys where module != "SockscopeTerminal" {
            for file in swiftFiles(in: "\(Self.sourcesDirectory)/\(module)") {
                #expect(!imports(in: file).contains("CNcursesShim"), "\(file) must not call ncurses")
            }
        }
    }

    @Test func everyModuleIsDeclared() {
        let present = Set(directoryEntries(Self.sourcesDirectory).filter { !$0.hasPrefix("C") || $0 == "CSystemShim" })
        let declared = Set(Self.allowed.keys).union(["CSystemShim"])
        #expect(present == declared, "a new module needs a line in LayeringTests and ARCHITECTURE.md")
    }

    /// `import X`, `@testable import X`, `import struct X.Y` → X.
    func imports(in path: String) -> [String] {
        guard let text = read(path) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            var words = line.split(separator: " ").map(String.init)
            while let first = words.first, first.hasPrefix("@") || first == "public" || first == "internal"
                || first == "private" || first == "package" { words.removeFirst() }
            guard words.first == "import", words.count >= 2 else { return nil }
            let name = words.count >= 3 && ["struct", "class", "enum", "func", "protocol", "typealias", "var"].contains(words[1])
                ? words[2] : words[1]
            return String(name.split(separator: ".").first!)
        }
    }

    func swiftFiles(in directory: String) -> [String] {
        var result: [String] = []
        for entry in directoryEntries(directory) {
            let path = "\(directory)/\(entry)"
            if entry.hasSuffix(".swift") { result.append(path) } else { result += swiftFiles(in: path) }
        }
        return result
    }

    func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer[0..<count] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
