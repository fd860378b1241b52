import Glibc

/// poll() over a few descriptors. The main thread sleeps here when nothing
/// happens: no timers, no wake-ups.
struct PollSet {
    struct Result {
        var readable: Set<Int32> = []
        var hungUp: Set<Int32> = []
        /// A signal interrupted the wait (SIGWINCH for a resize): look around.
        var interrupted = false
    }

    /// Waits until one of `descriptors` is readable, a signal arrives, or
    /// `timeoutMilliseconds` pass (-1 waits forever).
    static func wait(_ descriptors: [Int32], timeoutMilliseconds: Int32) -> Result {
        var fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let rc = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        var result = Result()
        if rc < 0 {
            result.interrupted = errno == EINTR
            return result
        }
        for entry in fds {
            if entry.revents & Int16(POLLIN) != 0 { result.readable.insert(entry.fd) }
            if entry.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { result.hungUp.insert(entry.fd) }
        }
        return result
    }
}

/// Splits bytes read from a descriptor into lines.
struct LineReader {
    private var pending: [UInt8] = []
    /// Longest line kept; a longer one is cut so a runaway input cannot grow memory.
    static let maximumLine = 1 << 20

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else if pending.count < Self.maximumLine, byte != 0x0D {
                pending.append(byte)
            }
        }
        return lines
    }

    /// What remains after end of input.
    mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

/// Reads whatever is available on a descriptor; nil at end of input.
func readAvailable(_ fd: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    if count > 0 { return Array(buffer[0..<count]) }
    if count < 0, errno == EAGAIN || errno == EINTR { return [] }
    return nil
}

/// Writes all bytes to a descriptor, retrying on short writes.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            return
        }
        offset += written
    }
}
