import Glibc

/// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
/// Tests wait for conditions with deadlines, never for a fixed time.
public func waitUntil(timeout: Duration = .seconds(10), poll: Duration = .milliseconds(5),
                      _ condition: () throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: poll)
    }
}

/// The blocking twin of `waitUntil`, for code that cannot be async.
public func waitUntilBlocking(timeout: Duration = .seconds(10), poll: Duration = .milliseconds(5),
                              _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        let (seconds, attoseconds) = poll.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        nanosleep(&request, nil)
    }
}
