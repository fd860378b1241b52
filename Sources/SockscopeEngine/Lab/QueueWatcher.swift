import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOPosix
import SockscopeCore

/// Learns that a client arrived in a manual-accept listener's queue without
/// polling: one thread blocks in an edge-triggered epoll on the listening
/// sockets (a listener with autoRead off is not watched by NIO at all), and
/// each arrival prompts a kernel sample. No listeners, no thread; idle, no wake-ups.
final class QueueWatcher: Sendable {
    private struct State {
        var watchFD: CInt = -1
        var wakeFD: CInt = -1
        var pool: NIOThreadPool?
        var listeners: [UInt64: SocketID] = [:]
        var nextToken: UInt64 = 1
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())
    private let onArrival: @Sendable (SocketID) -> Void

    init(onArrival: @escaping @Sendable (SocketID) -> Void) {
        self.onArrival = onArrival
    }

    /// Watches the listening socket `fd`. Call while `fd` is open (on the listener's loop).
    /// When the listener closes, the kernel drops it from the epoll set by itself.
    func watch(fd: CInt, as id: SocketID) {
        let start: (CInt, CInt)? = state.withLockedValue { state in
            guard !state.stopped else { return nil }
            if state.watchFD < 0 {
                state.watchFD = sockscope_watch_create()
                state.wakeFD = sockscope_make_wake_fd()
                guard state.watchFD >= 0, state.wakeFD >= 0 else { return nil }
                _ = sockscope_watch_add(state.watchFD, state.wakeFD, 0)
                let pool = NIOThreadPool(numberOfThreads: 1)
                pool.start()
                state.pool = pool
                let token = state.nextToken
                state.nextToken += 1
                state.listeners[token] = id
                _ = sockscope_watch_add(state.watchFD, fd, token)
                return (state.watchFD, state.wakeFD)
            }
            let token = state.nextToken
            state.nextToken += 1
            state.listeners[token] = id
            _ = sockscope_watch_add(state.watchFD, fd, token)
            return nil
        }
        guard let (watchFD, _) = start, let pool = state.withLockedValue({ $0.pool }) else { return }
        pool.submit { [state, onArrival] _ in
            var tokens = [UInt64](repeating: 0, count: 16)
            while true {
                let count = tokens.withUnsafeMutableBufferPointer { sockscope_watch_wait(watchFD, $0.baseAddress, 16) }
                if count < 0 { return }
                for token in tokens.prefix(Int(count)) {
                    if token == 0 { return }  // stop() woke us
                    if let id = state.withLockedValue({ $0.listeners[token] }) { onArrival(id) }
                }
            }
        }
    }

    /// Stops reporting arrivals for `id` (it closed).
    func forget(_ id: SocketID) {
        state.withLockedValue { state in state.listeners = state.listeners.filter { $0.value != id } }
    }

    /// Ends the thread; blocks until it is gone. Idempotent.
    func stop() {
        let (pool, watchFD, wakeFD) = state.withLockedValue { state in
            state.stopped = true
            defer { state.pool = nil; state.watchFD = -1; state.wakeFD = -1 }
            return (state.pool, state.watchFD, state.wakeFD)
        }
        guard let pool else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, MemoryLayout<UInt64>.size)
        try? pool.syncShutdownGracefully()
        close(watchFD)
        close(wakeFD)
    }
}
