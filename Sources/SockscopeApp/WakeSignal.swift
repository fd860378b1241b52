import CSystemShim
import Glibc

/// An eventfd that another thread (or a signal handler) writes to wake the
/// main thread's poll(). Reading it resets it.
public final class WakeSignal: Sendable {
    public let fileDescriptor: Int32

    public init() {
        let fd = sockscope_make_wake_fd()
        precondition(fd >= 0, "eventfd failed: errno \(errno)")
        fileDescriptor = fd
    }

    deinit { Glibc.close(fileDescriptor) }

    /// Async-signal-safe and thread-safe.
    public func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(fileDescriptor, &one, 8)
    }

    /// Clears pending wake-ups; returns how many there were.
    @discardableResult
    public func reset() -> UInt64 {
        var count: UInt64 = 0
        return Glibc.read(fileDescriptor, &count, 8) == 8 ? count : 0
    }
}
