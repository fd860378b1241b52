import Glibc
import SockscopeCore

extension Timestamp {
    /// The wall clock (`CLOCK_REALTIME`), so times line up with other tools' logs.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}
