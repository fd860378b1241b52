import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import SockscopeCore

/// Work of the engine's own that runs on a thread of its own, one at a time per kind: a port
/// scan (`ScanLoop`), a ping (`PingLoop`). Not on an event loop: they are loops of system calls
/// that would hold up every connection on it. The job is claimed by its request (`reserve`)
/// before anything slow (name resolution), stopped through an eventfd its loop watches, and
/// its request is answered, after its last events, when its thread ends.
final class BackgroundJob: Sendable {
    private struct State {
        /// The request that holds the job, from `reserve` until its thread has ended.
        var request: RequestID?
        /// Written to stop the job; made by `reserve`, so a stop before the thread runs still counts.
        var stopFD: CInt = -1
        var stopRequests: [RequestID] = []
        var shutDown = false
        /// Threads alive (a finished job's thread may still be ending as the next begins).
        var threads = 0
    }

    /// `scan`, `ping`: for messages.
    let name: String
    private let state = NIOLockedValueBox(State())
    /// True while no thread of the job is alive: `shutdown` waits for it. Set only under `state`'s lock.
    private let threadsIdle = ConditionLock(value: true)
    /// Hands a batch of events on at once (the job's thread is not an event loop).
    let deliver: @Sendable ([EngineEvent]) -> Void

    init(name: String, deliver: @escaping @Sendable ([EngineEvent]) -> Void) {
        self.name = name
        self.deliver = deliver
    }

    /// Claims the job for `request`; false when another request holds it.
    func reserve(_ request: RequestID) -> Bool {
        state.withLockedValue { state in
            guard state.request == nil, !state.shutDown else { return false }
            let stopFD = sockscope_make_wake_fd()
            guard stopFD >= 0 else { return false }
            state.request = request
            state.stopFD = stopFD
            return true
        }
    }

    /// Runs `body` for the job reserved by `request` on a thread of its own; `body` watches the
    /// stop eventfd it is given and returns its last events, which end with the request's answer.
    func run(_ request: RequestID, _ body: @escaping @Sendable (_ stopFD: CInt) -> [EngineEvent]) {
        let stopFD: CInt? = state.withLockedValue { state in
            guard state.request == request, !state.shutDown else { return nil }
            return state.stopFD
        }
        guard let stopFD else {
            return finish(request, events: [EngineEvent(time: .now(), request: request, kind: .error(nil, SocketFailure(
                call: name, explanation: "the engine stopped before the \(name) began")))])
        }
        countThread(+1)
        do {
            try WatcherThread.start { [self] in
                finish(request, events: body(stopFD))
                countThread(-1)
            }
        } catch {
            countThread(-1)
            finish(request, events: [EngineEvent(time: .now(), request: request, kind: .error(nil, SocketFailure(
                call: "pthread_create", explanation: "could not start the \(name)'s thread")))])
        }
    }

    /// Frees the job and answers its request (and every stop asked meanwhile) after `events`, in one batch.
    func finish(_ request: RequestID, events: [EngineEvent]) {
        let (stops, stopFD) = state.withLockedValue { state -> ([RequestID], CInt) in
            guard state.request == request else { return ([], -1) }
            defer {
                state.request = nil
                state.stopFD = -1
                state.stopRequests = []
            }
            return (state.stopRequests, state.stopFD)
        }
        if stopFD >= 0 { close(stopFD) }
        var batch = events
        batch.append(EngineEvent(time: .now(), request: request, kind: .requestCompleted))
        for stop in stops { batch.append(EngineEvent(time: .now(), request: stop, kind: .requestCompleted)) }
        deliver(batch)
    }

    /// Asks the running job to stop; `request` is answered when it has. False when none runs.
    func stop(_ request: RequestID) -> Bool {
        state.withLockedValue { state in
            guard state.request != nil, state.stopFD >= 0 else { return false }
            state.stopRequests.append(request)
            Self.wake(state.stopFD)
            return true
        }
    }

    /// Stops a running job and waits for its thread to end. Idempotent.
    func shutdown() {
        state.withLockedValue { state in
            state.shutDown = true
            if state.stopFD >= 0 { Self.wake(state.stopFD) }
        }
        threadsIdle.lock(whenValue: true)
        threadsIdle.unlock()
    }

    private static func wake(_ fd: CInt) {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    private func countThread(_ change: Int) {
        state.withLockedValue { state in
            state.threads += change
            threadsIdle.lock()
            threadsIdle.unlock(withValue: state.threads == 0)
        }
    }
}
