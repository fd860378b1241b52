import NIOCore
import SockscopeCore

/// The toxics acting on one direction of a relayed pair, kept by the leg that reads that
/// direction (`RelayLegHandler`): each read passes them before the other leg writes it.
/// A leg without toxics has none of this: its reads go straight through.
///
/// Reads become pieces with a time to leave (latency delays them, slicer cuts them and
/// spaces the pieces, bandwidth spaces them by size; limit_data cuts at its limit), queued in
/// order and released by one scheduled task at a time. At most `queueLimit` bytes wait: the
/// leg reads no more until the queue is below it (backpressure, as for a slow peer).
/// timeout drops what is read (and closes the pair when it is due); reset_peer resets the
/// pair when due; slow_close delays passing a FIN or a close on. Every method runs on the
/// pair's loop.
final class ToxicStream {
    static let queueLimit = 256 * 1024

    /// One toxic in place, and how often it fired since the last report.
    struct Active {
        let toxic: Toxic
        var firings = 0
    }

    /// Strong: a scheduled release must find its leg; the leg drops this stream when its pair ends.
    private let leg: RelayLegHandler
    private let loop: any EventLoop
    private(set) var active: [Active] = []
    private var queue = CircularBuffer<(piece: ByteBuffer, due: NIODeadline)>()
    private(set) var queuedBytes = 0
    private var scheduled: Scheduled<Void>?
    /// The queue is in time order: nothing leaves before what came earlier.
    private var lastDue = NIODeadline.uptimeNanoseconds(0)
    /// When bandwidth lets the next piece go.
    private var bandwidthFree = NIODeadline.uptimeNanoseconds(0)
    /// When the slicer's next piece may go: its delay holds between chunks too.
    private var slicerNext = NIODeadline.uptimeNanoseconds(0)
    /// The slicer cuts the stream, not each read: a piece a read leaves short waits for the
    /// next read of the same burst (`endOfBurst` lets it go as it is), with its size.
    private var slicerCarry: (piece: ByteBuffer, size: Int, index: Int)?
    /// Bytes let through so far (limit_data).
    private var passed = 0
    /// What waits for the queue to drain (a FIN or close to pass on, the end limit_data asks for).
    private var afterDrain: [() -> Void] = []
    /// timeout and reset_peer, by toxic name.
    private var timers: [String: Scheduled<Void>] = [:]
    /// Endings a timeout holds back (nothing gets through it, a FIN neither) until it is removed.
    private var heldByTimeout: [() -> Void] = []

    init(leg: RelayLegHandler, loop: any EventLoop) {
        self.leg = leg
        self.loop = loop
    }

    var isIdle: Bool { active.isEmpty && queue.isEmpty && afterDrain.isEmpty && heldByTimeout.isEmpty }
    private var hasTimeout: Bool { active.contains { if case .timeout = $0.toxic.effect { true } else { false } } }
    var isFull: Bool { queuedBytes >= Self.queueLimit }
    var hasFirings: Bool { active.contains { $0.firings > 0 } }

    /// Puts `toxics` (this direction's) in place, keeping the counts of those already there.
    func update(_ toxics: [Toxic]) {
        let before = Dictionary(active.map { ($0.toxic.name, $0) }, uniquingKeysWith: { first, _ in first })
        active = toxics.map { before[$0.name] ?? Active(toxic: $0) }
        for (name, timer) in timers where !toxics.contains(where: { $0.name == name }) {
            timer.cancel()
            timers[name] = nil
        }
        for toxic in toxics where timers[toxic.name] == nil {
            switch toxic.effect {
            case .timeout(let milliseconds) where milliseconds > 0:
                timers[toxic.name] = schedule(in: milliseconds) {
                    self.fired(toxic.name)
                    self.leg.endPair(.close, reason: "toxic \(toxic.name): timeout after \(milliseconds) ms")
                }
            case .resetPeer(let milliseconds):
                timers[toxic.name] = schedule(in: milliseconds) {
                    self.fired(toxic.name)
                    self.leg.endPair(.reset, reason: "toxic \(toxic.name): reset_peer after \(milliseconds) ms")
                }
            default:
                break
            }
        }
        if !hasTimeout, !heldByTimeout.isEmpty {
            let held = heldByTimeout
            heldByTimeout = []
            for body in held { whenDrained(slowClose: false, body) }
        }
        leg.toxicsMayTakeMore()
    }

    /// A read of the leg: on its way, or dropped (timeout).
    func accept(_ buffer: ByteBuffer) {
        let now = NIODeadline.now()
        var pieces: [(piece: ByteBuffer, due: NIODeadline)] = [(buffer, now)]
        for index in active.indices {
            switch active[index].toxic.effect {
            case .timeout:
                active[index].firings += 1
                return leg.noteToxicFired()
            case .latency(let milliseconds, let jitter):
                let delay = milliseconds + (jitter > 0 ? Int.random(in: -jitter...jitter) : 0)
                pieces = pieces.map { ($0.piece, $0.due + .milliseconds(Int64(max(0, delay)))) }
                active[index].firings += 1
            case .slicer(let size, let variation, let delay):
                var sliced: [(piece: ByteBuffer, due: NIODeadline)] = []
                for (piece, due) in pieces {
                    var rest = piece
                    var wanted = max(1, size + (variation > 0 ? Int.random(in: -variation...variation) : 0))
                    if let carry = slicerCarry {
                        // Joined with what the last read left (a copy, only on this path).
                        var joined = carry.piece
                        joined.writeImmutableBuffer(rest)
                        rest = joined
                        wanted = carry.size
                        slicerCarry = nil
                    }
                    while rest.readableBytes > 0 {
                        guard rest.readableBytes >= wanted else {
                            slicerCarry = (rest, wanted, index)
                            break
                        }
                        let leaves = max(due, slicerNext)
                        sliced.append((rest.readSlice(length: wanted)!, leaves))
                        slicerNext = leaves + .microseconds(Int64(delay))
                        active[index].firings += 1
                        wanted = max(1, size + (variation > 0 ? Int.random(in: -variation...variation) : 0))
                    }
                }
                pieces = sliced
            case .bandwidth(let kilobytes):
                let rate = Int64(kilobytes) * 1000
                // Pieces of 10 ms each, so the rate holds over short spans too.
                let quantum = Int(max(1, rate / 100))
                var shaped: [(piece: ByteBuffer, due: NIODeadline)] = []
                for var (rest, due) in pieces {
                    while rest.readableBytes > 0 {
                        let length = min(rest.readableBytes, quantum)
                        let start = max(due, bandwidthFree)
                        if start > due { active[index].firings += 1 }
                        shaped.append((rest.readSlice(length: length)!, start))
                        bandwidthFree = start + .nanoseconds(Int64(length) * 1_000_000_000 / rate)
                    }
                }
                pieces = shaped
            case .limitData(let limit):
                var limited: [(piece: ByteBuffer, due: NIODeadline)] = []
                for (piece, due) in pieces where passed < limit {
                    let length = min(piece.readableBytes, limit - passed)
                    limited.append((piece.getSlice(at: piece.readerIndex, length: length)!, due))
                    passed += length
                }
                pieces = limited
                if passed >= limit, afterDrain.isEmpty {
                    let name = active[index].toxic.name
                    afterDrain.append {
                        self.fired(name)
                        self.leg.endPair(.close, reason: "toxic \(name): limit_data \(limit) B reached")
                    }
                }
            case .resetPeer, .slowClose, .loss:
                // loss is a UDP relay's (`UDPRelay`); the reducer keeps it off stream relays.
                break
            }
        }
        for (piece, due) in pieces {
            let leaves = max(due, lastDue)
            lastDue = leaves
            queue.append((piece, leaves))
            queuedBytes += piece.readableBytes
        }
        if hasFirings { leg.noteToxicFired() }
        releaseDue()
    }

    /// The leg's read burst ended: a slicer's short piece goes as it is, in its turn.
    func endOfBurst() {
        guard let carry = slicerCarry else { return }
        slicerCarry = nil
        let leaves = max(NIODeadline.now(), slicerNext, lastDue)
        if case .slicer(_, _, let delay) = active.indices.contains(carry.index) ? active[carry.index].toxic.effect : nil {
            slicerNext = leaves + .microseconds(Int64(delay))
            active[carry.index].firings += 1
        }
        lastDue = leaves
        queue.append((carry.piece, leaves))
        queuedBytes += carry.piece.readableBytes
        releaseDue()
    }

    /// Runs `body` once everything queued has left (at once when nothing is), plus slow_close's delay.
    func whenDrained(slowClose: Bool, _ body: @escaping () -> Void) {
        if hasTimeout { return heldByTimeout.append(body) }
        let delay = slowClose ? active.compactMap { toxic -> (String, Int)? in
            if case .slowClose(let milliseconds) = toxic.toxic.effect { return (toxic.toxic.name, milliseconds) }
            return nil
        }.max { $0.1 < $1.1 } : nil
        let run = {
            guard let delay else { return body() }
            self.fired(delay.0)
            _ = self.schedule(in: delay.1, body)
        }
        if queue.isEmpty { return run() }
        afterDrain.append(run)
    }

    /// Stops everything: the pair is gone.
    func cancel() {
        scheduled?.cancel()
        scheduled = nil
        for timer in timers.values { timer.cancel() }
        timers = [:]
        queue.removeAll()
        queuedBytes = 0
        afterDrain = []
        heldByTimeout = []
    }

    /// The firings since the last report, by toxic name; counts start again.
    func takeFirings() -> [(name: String, count: Int)] {
        var taken: [(name: String, count: Int)] = []
        for index in active.indices where active[index].firings > 0 {
            taken.append((active[index].toxic.name, active[index].firings))
            active[index].firings = 0
        }
        return taken
    }

    // MARK: Releasing

    private func releaseDue() {
        let now = NIODeadline.now()
        var released = false
        while let head = queue.first, head.due <= now {
            queue.removeFirst()
            queuedBytes -= head.piece.readableBytes
            // Each piece its own write and flush: a slicer's pieces leave as separate segments.
            leg.release(head.piece)
            released = true
        }
        if let head = queue.first {
            if scheduled == nil {
                scheduled = loop.assumeIsolated().scheduleTask(deadline: head.due) {
                    self.scheduled = nil
                    self.releaseDue()
                }
            }
        } else if !afterDrain.isEmpty {
            let waiting = afterDrain
            afterDrain = []
            for body in waiting { body() }
        }
        if released, !isFull { leg.toxicsMayTakeMore() }
    }

    private func fired(_ name: String) {
        guard let index = active.firstIndex(where: { $0.toxic.name == name }) else { return }
        active[index].firings += 1
        leg.noteToxicFired()
    }

    private func schedule(in milliseconds: Int, _ body: @escaping () -> Void) -> Scheduled<Void> {
        loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds)), body)
    }
}
