/// SHA-256 of a file, from coreutils' `sha256sum` (the tests' way to check that every byte
/// arrived, in order, without a crypto dependency).
public enum SHA256Sum {
    public struct Failure: Error, CustomStringConvertible {
        public let output: String
        public var description: String { "sha256sum failed: \(output)" }
    }

    /// The lowercase hex digest of the file at `path`.
    public static func of(path: String) async throws -> String {
        let process = try SpawnedProcess("sha256sum", [path])
        guard await process.wait(timeout: .seconds(60)) == 0,
              let digest = process.output.split(separator: " ").first, digest.count == 64 else {
            throw Failure(output: process.output)
        }
        return String(digest)
    }
}
