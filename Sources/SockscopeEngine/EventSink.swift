import SockscopeCore

/// Stamps engine events with the wall clock and hands them to the engine's owner.
///
/// Called on event-loop threads; the wrapped closure must be cheap and thread-safe.
struct EventSink: Sendable {
    private let deliver: @Sendable (EngineEvent) -> Void

    init(_ deliver: @escaping @Sendable (EngineEvent) -> Void) {
        self.deliver = deliver
    }

    func emit(_ kind: EngineEventKind, request: RequestID? = nil) {
        deliver(EngineEvent(time: .now(), request: request, kind: kind))
    }

    /// Emits the failure (if any) and then the one `.requestCompleted` every request ends with.
    func complete(_ request: RequestID, failure: SocketFailure? = nil, socket: SocketID? = nil) {
        if let failure { emit(.error(socket, failure), request: request) }
        emit(.requestCompleted, request: request)
    }

    /// Reports a socket's one `.closed`, answering the first close request if any,
    /// then completes every close request. With no id (a socket that never got one)
    /// only the requests complete.
    func reportClosed(_ id: SocketID?, reason: String, closeRequests: [RequestID]) {
        if let id { emit(.closed(id, reason: reason), request: closeRequests.first) }
        for request in closeRequests { complete(request) }
    }
}
