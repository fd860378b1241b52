import SockscopeCore

/// What the engine can ask of an open socket's handler. Call only on that socket's event loop.
protocol SocketControl: AnyObject {
    /// Writes `bytes`; answers `request` with `.sent` or `.error`, then `.requestCompleted`.
    func send(_ bytes: [UInt8], request: RequestID)
    /// Closes the socket; `.closed` carries `reason` and `request`, which is completed afterwards.
    func close(reason: String, request: RequestID?)
}
