import CSystemShim

/// SIGINT, SIGTERM and SIGHUP become readable bytes on a wake fd, so the main
/// loop handles them like any input and can restore the terminal properly.
enum SignalRoute {
    /// Call once, on the main thread, before any other thread exists.
    static func install() -> WakeSignal {
        sockscope_clear_signal_mask()
        let signal = WakeSignal()
        _ = sockscope_route_signals(signal.fileDescriptor)
        return signal
    }
}
