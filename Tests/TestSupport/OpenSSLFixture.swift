import Foundation

/// Certificates made by `openssl` for a test, in a directory of its own, and what
/// `openssl x509` says about them (the reference the inspector is checked against).
public final class OpenSSLFixture: @unchecked Sendable {
    public let directory: String

    public init() throws {
        directory = TemporaryPath.make(prefix: "tls")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    public func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// Runs openssl to completion; throws with its output when it fails.
    @discardableResult
    public func openssl(_ arguments: [String]) async throws -> String {
        let process = try SpawnedProcess("openssl", arguments)
        let status = await process.wait(timeout: .seconds(30))
        guard status == 0 else { throw Failure(text: "openssl \(arguments.joined(separator: " ")) -> \(String(describing: status)): \(process.output)") }
        return process.output
    }

    public struct Failure: Error, CustomStringConvertible {
        public let text: String
        public var description: String { text }
    }

    /// A self-signed certificate (`NAME.pem`, `NAME.key`), as a CA or as a server's own.
    /// `days` -1 makes one that expired yesterday.
    public func selfSigned(_ name: String, subject: String, san: String? = nil, days: Int = 30, key: String = "ec") async throws {
        var arguments = ["req", "-x509", "-newkey", key == "ec" ? "ec" : "rsa:2048"]
        if key == "ec" { arguments += ["-pkeyopt", "ec_paramgen_curve:P-256"] }
        arguments += ["-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", String(days), "-subj", subject]
        if let san { arguments += ["-addext", "subjectAltName=\(san)"] }
        try await openssl(arguments)
    }

    /// A certificate for `subject` signed by the CA `ca` (`ca.pem`, `ca.key`), with an RSA key.
    public func signed(_ name: String, by ca: String, subject: String, san: String, days: Int = 30) async throws {
        try await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
                           "-subj", subject])
        try "subjectAltName=\(san)\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try await openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                           "-CAcreateserial", "-out", path("\(name).pem"), "-days", String(days), "-sha256",
                           "-extfile", path("\(name).ext")])
    }

    /// `openssl x509 -noout ARGS -in FILE`'s output.
    public func x509(_ file: String, _ arguments: [String]) async throws -> String {
        try await openssl(["x509", "-noout", "-in", path(file)] + arguments)
    }

    /// `openssl s_server` on a loopback port the kernel picks, reversing each line it reads (`-rev`, which
    /// also keeps it from reading its stdin); returns it and its port.
    public func server(_ arguments: [String]) async throws -> (SpawnedProcess, Int) {
        let process = try SpawnedProcess("openssl", ["s_server", "-accept", "127.0.0.1:0", "-rev"] + arguments)
        guard await process.waitForOutput(containing: "ACCEPT 127.0.0.1:"),
              let range = process.output.range(of: "ACCEPT 127.0.0.1:"),
              let port = Int(process.output[range.upperBound...].prefix { $0.isNumber }) else {
            throw Failure(text: "s_server did not start: \(process.output)")
        }
        return (process, port)
    }

    /// `Jan  1 00:00:00 2020 GMT` (openssl's dates) as seconds since the epoch.
    public static func seconds(fromOpenSSLDate text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let squeezed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return formatter.date(from: squeezed).map { Int64($0.timeIntervalSince1970) }
    }

    /// The value after `key=` on its line of `text` (`notAfter=...`, `sha256 Fingerprint=...`).
    public static func value(_ key: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}
