import SockscopeCore
import Synchronization

/// The one door from engine threads to the main thread: a locked queue plus a
/// wake-up fd. The fd is written only when the queue goes from empty to
/// non-empty, so a busy engine costs one wake-up per batch, not per event.
///
/// Under load, data events for the same socket and direction that are still
/// waiting are merged (exact byte counts, bounded preview), so a flood cannot
/// grow the queue with one entry per read.
public final class Mailbox: Sendable {
    private struct Queue {
        var events: [EngineEvent] = []
        /// Where the pending data event of a (socket, direction) sits in `events`.
        var dataSlots: [DataKey: Int] = [:]
    }

    private struct DataKey: Hashable {
        let socket: SocketID
        let received: Bool
    }

    private let queue = Mutex(Queue())
    public let wakeSignal = WakeSignal()

    public init() {}

    /// Called from any thread.
    public func post(_ event: EngineEvent) {
        let wasEmpty = queue.withLock { queue -> Bool in
            let wasEmpty = queue.events.isEmpty
            switch event.kind {
            case .received(let id, let bytes, let count), .sent(let id, let bytes, let count):
                let isReceived = if case .received = event.kind { true } else { false }
                let key = DataKey(socket: id, received: isReceived)
                if event.request == nil, let slot = queue.dataSlots[key] {
                    queue.events[slot] = Self.merge(queue.events[slot], adding: bytes, count: count, time: event.time)
                    return wasEmpty
                }
                if event.request == nil { queue.dataSlots[key] = queue.events.count }
            default:
                // Anything else about a socket ends merging for it, keeping order around closes.
                if let id = event.kind.socket {
                    queue.dataSlots[DataKey(socket: id, received: true)] = nil
                    queue.dataSlots[DataKey(socket: id, received: false)] = nil
                }
            }
            queue.events.append(event)
            return wasEmpty
        }
        if wasEmpty { wakeSignal.wake() }
    }

    /// Takes everything queued. Called on the main thread after a wake-up.
    public func drain() -> [EngineEvent] {
        wakeSignal.reset()
        return queue.withLock { queue in
            queue.dataSlots.removeAll(keepingCapacity: true)
            defer { queue.events.removeAll(keepingCapacity: true) }
            return queue.events
        }
    }

    private static func merge(_ event: EngineEvent, adding more: [UInt8], count moreCount: Int, time: Timestamp) -> EngineEvent {
        var merged = event
        merged.time = time
        switch event.kind {
        case .received(let id, var bytes, let count):
            DataPreview.append(more, to: &bytes)
            merged.kind = .received(id, bytes: bytes, count: count + moreCount)
        case .sent(let id, var bytes, let count):
            DataPreview.append(more, to: &bytes)
            merged.kind = .sent(id, bytes: bytes, count: count + moreCount)
        default:
            break
        }
        return merged
    }
}
