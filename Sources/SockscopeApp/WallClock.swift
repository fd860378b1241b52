import Glibc
import SockscopeCore

/// Clocks for the main loop. Wall-clock stamps come from `Timestamp.now()`
/// (the engine's), so user actions and socket events share one clock.
public enum WallClock {
    /// A monotonic reading in milliseconds, for pacing redraws.
    public static func monotonicMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
