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

    /// SIGWINCH becomes readable bytes too; call after ncurses installed its own handler
    /// (which still runs first). Returns nil if the handler could not be installed.
    static func routeResizes() -> WakeSignal? {
        let resizes = WakeSignal()
        return sockscope_route_resizes(resizes.fileDescriptor) == 0 ? resizes : nil
    }
}
