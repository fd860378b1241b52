import SockscopeCore
import NIOConcurrencyHelpers

/// The one door from engine threads to the main thread: a locked queue plus a
/// wake-up fd. The fd is written only when the queue goes from empty to
/// non-empty, so a busy engine costs one wake-up per batch, not per event.
///
/// Under load, a data event merges into the one still waiting before it when that is
/// the latest event about the same socket, in the same direction (exact byte counts,
/// bounded preview), so a flood cannot grow the queue with one entry per read. Nothing
/// merges across another event about the socket, a `sent` line included: a later read
/// folded into an earlier slot would show a reply before the request it answers, with
/// its time going backwards.
public final class Mailbox: Sendable {
    private struct Queue {
        var events: [EngineEvent] = []
        /// Where each socket's latest waiting event sits in `events`, while that event
        /// is data a later read or write in the same direction may merge into.
        var mergeableData: [SocketID: Int] = [:]
        /// The consumer will drain on its own at a set time (it is pacing a busy
        /// stream), so posting need not write the wake fd, unless news arrives or the
        /// backlog reaches `pausedBacklogLimit`.
        var wakeUpsPaused = false
        /// Something waiting is news (`EngineEventKind.isNews`): the consumer was woken for it.
        var holdsNews = false
    }

    /// While wake-ups are paused, a backlog this long wakes the consumer anyway. Data
    /// merges per socket and direction, but 10 000 busy connections are 20 000 entries:
    /// they are then handled in bounded batches instead of piling up for the whole pause.
    static let pausedBacklogLimit = 1024

    // A pthread mutex (NIOLockedValueBox), not Synchronization.Mutex: the latter's
    // futex is invisible to ThreadSanitizer, which then reports false races.
    private let queue = NIOLockedValueBox(Queue())
    public let wakeSignal = WakeSignal()

    /// Merged data events keep every byte (the engine reports whole payloads under a
    /// `PayloadCredit`, which bounds them), not a 1 KiB preview.
    private let keepsWholePayloads: Bool

    public init(keepsWholePayloads: Bool = false) { self.keepsWholePayloads = keepsWholePayloads }

    /// Queues a batch of events (one engine loop turn's), taking the lock once. Called from any thread.
    public func post(_ events: [EngineEvent]) {
        guard !events.isEmpty else { return }
        let shouldWake = queue.withLockedValue { queue -> Bool in
            let before = queue.events.count
            let heldNews = queue.holdsNews
            for event in events {
                enqueue(event, into: &queue)
                if event.kind.isNews { queue.holdsNews = true }
            }
            guard queue.wakeUpsPaused else { return before == 0 }
            // Paced: news ends the pause at once (an accept or a close shows while data
            // flows), and so does a long backlog; data alone waits for the consumer.
            let backlogReached = before < Self.pausedBacklogLimit && queue.events.count >= Self.pausedBacklogLimit
            return backlogReached || (!heldNews && queue.holdsNews)
        }
        if shouldWake { wakeSignal.wake() }
    }

    private func enqueue(_ event: EngineEvent, into queue: inout Queue) {
        switch event.kind {
        case .received(let id, let bytes, let count), .sent(let id, let bytes, let count):
            // Chunks of one request (a sendfile's) merge like unrequested data.
            if let slot = queue.mergeableData[id], queue.events[slot].request == event.request,
               event.kind.isReceived == queue.events[slot].kind.isReceived {
                merge(into: &queue.events[slot], adding: bytes, count: count, time: event.time)
                return
            }
            queue.mergeableData[id] = queue.events.count
        default:
            // Anything else the log keeps about a socket ends merging for it: what comes after it
            // stays after it. A kernel sample is state shown in Detail, not a log line: data on
            // either side of it still merges (samples ride on traffic, so they would otherwise
            // split a paced flood into a line per sample).
            if let id = event.kind.socket, event.kind.isKeptInLog { queue.mergeableData.removeValue(forKey: id) }
        }
        queue.events.append(event)
    }

    /// Takes everything queued. Called on the main thread after a wake-up.
    ///
    /// - Parameter pausingWakeUps: the caller promises to drain again by itself
    ///   soon (it is pacing a busy stream); until then posting writes no wake fd,
    ///   which saves the engine thread a system call per batch.
    public func drain(pausingWakeUps: Bool = false) -> [EngineEvent] {
        wakeSignal.reset()
        return queue.withLockedValue { queue in
            queue.mergeableData.removeAll(keepingCapacity: true)
            queue.wakeUpsPaused = pausingWakeUps
            queue.holdsNews = false
            // Handed over whole: emptying it in place would copy nothing but allocate
            // a second buffer of the same capacity while the caller holds the first.
            defer { queue.events = [] }
            return queue.events
        }
    }

    /// Ends a pause begun by `drain(pausingWakeUps: true)`: posting wakes the
    /// consumer again, and so does anything that arrived during the pause.
    public func resumeWakeUps() {
        let pending = queue.withLockedValue { queue -> Bool in
            queue.wakeUpsPaused = false
            return !queue.events.isEmpty
        }
        if pending { wakeSignal.wake() }
    }

    /// Adds a later read or write to a waiting data event, in place: the event's
    /// payload is detached first so the preview grows without being copied.
    private func merge(into event: inout EngineEvent, adding more: [UInt8], count moreCount: Int, time: Timestamp) {
        event.time = time
        switch event.kind {
        case .received(let id, var bytes, let count):
            event.kind = .requestCompleted
            if keepsWholePayloads { bytes += more } else { DataPreview.append(more, to: &bytes) }
            event.kind = .received(id, bytes: bytes, count: count + moreCount)
        case .sent(let id, var bytes, let count):
            event.kind = .requestCompleted
            if keepsWholePayloads { bytes += more } else { DataPreview.append(more, to: &bytes) }
            event.kind = .sent(id, bytes: bytes, count: count + moreCount)
        default:
            break
        }
    }
}

extension EngineEventKind {
    /// A stream read (as opposed to a write); only asked of `.received` and `.sent`.
    fileprivate var isReceived: Bool {
        if case .received = self { true } else { false }
    }
}
