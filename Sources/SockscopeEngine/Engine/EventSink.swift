import SockscopeCore

/// Stamps engine events with the wall clock and hands them to the engine's batcher,
/// which passes them on to the engine's owner at the end of the event-loop turn.
///
/// Thread-safe; cheap on event-loop threads.
struct EventSink: Sendable {
    private let batcher: EventBatcher

    init(_ batcher: EventBatcher) {
        self.batcher = batcher
    }

    func emit(_ kind: EngineEventKind, request: RequestID? = nil) {
        batcher.emit(EngineEvent(time: .now(), request: request, kind: kind))
    }

    /// `source` has traffic to report: it is asked for its events when the batch leaves.
    /// Call on the source's event loop.
    func tally(_ source: some TrafficTally) {
        batcher.noteTally(source)
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
