import Foundation

/// Unique paths under the temporary directory: tests run in parallel in one process.
public enum TemporaryPath {
    /// A path that does not exist yet, e.g. `/tmp/sockscope-peer-4242-1f3a9c.py`.
    public static func make(prefix: String, suffix: String = "") -> String {
        let unique = "\(getpid())-\(String(UInt64.random(in: 0 ... .max), radix: 36))"
        return "\(NSTemporaryDirectory())sockscope-\(prefix)-\(unique)\(suffix)"
    }

    /// Writes `contents` to a fresh file and returns its path.
    public static func file(prefix: String, suffix: String = "", contents: String) throws -> String {
        let path = make(prefix: prefix, suffix: suffix)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
