import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOExtras
import SockscopeCore

/// A relay's hold (`hold R1 up`), relay-wide: which way it holds and how chunks are cut, the
/// order of every held chunk across its pairs (`forward 3` sends the next three, whichever
/// pair read them), and the bound on what it holds.
///
/// Each leg keeps its own held chunks (`HeldTraffic`, on its loop); this book only keeps a
/// ticket per chunk, in order, naming its leg. Taken per held chunk and per command, never
/// while nothing is held (a leg that does not hold forwards as before).
final class RelayHoldBook: Sendable {
    /// The most a relay holds, all pairs and both ways: at this its legs stop reading.
    static let bound = HoldCommand.heldBytesBound

    private struct Ticket {
        let leg: NIOLoopBound<RelayLegHandler>
        let key: ObjectIdentifier
        let bytes: Int
    }

    private struct State {
        var direction: ToxicDirection?
        var framing = HoldFraming.raw
        var tickets = CircularBuffer<Ticket>()
        var heldBytes = 0
        var nextSequence = 1
        /// Legs that stopped reading at the bound, woken when there is room again.
        var stalled: [ObjectIdentifier: NIOLoopBound<RelayLegHandler>] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let sink: EventSink

    init(sink: EventSink) {
        self.sink = sink
    }

    /// What a pair starting now holds.
    var setting: (direction: ToxicDirection?, framing: HoldFraming) {
        state.withLockedValue { ($0.direction, $0.framing) }
    }

    /// What the relay holds now, all pairs, both ways.
    var heldBytes: Int { state.withLockedValue { $0.heldBytes } }

    /// A leg holds a new chunk: its place in the relay's order and the relay's held bytes now.
    func enqueue(_ leg: RelayLegHandler, bytes: Int, on loop: any EventLoop) -> (sequence: Int, relayHeld: Int) {
        let bound = NIOLoopBound(leg, eventLoop: loop)
        return state.withLockedValue { state in
            state.tickets.append(Ticket(leg: bound, key: ObjectIdentifier(leg), bytes: bytes))
            state.heldBytes += bytes
            state.nextSequence += 1
            return (state.nextSequence - 1, state.heldBytes)
        }
    }

    /// The leg stopped reading at the bound: woken (`holdHasRoom`) once the relay holds less.
    func stall(_ leg: RelayLegHandler, on loop: any EventLoop) {
        let bound = NIOLoopBound(leg, eventLoop: loop)
        let wake = state.withLockedValue { state -> Bool in
            // Room was made between the leg's count and now: it reads on at once.
            guard state.heldBytes >= Self.bound else { return true }
            state.stalled[ObjectIdentifier(leg)] = bound
            return false
        }
        if wake { loop.execute { bound.value.holdHasRoom() } }
    }

    /// The leg gave up its chunks itself (released, its pair ended): their tickets go.
    func removeTickets(of leg: RelayLegHandler) {
        let key = ObjectIdentifier(leg)
        let woken = state.withLockedValue { state -> [NIOLoopBound<RelayLegHandler>] in
            var kept = CircularBuffer<Ticket>()
            for ticket in state.tickets {
                if ticket.key == key { state.heldBytes -= ticket.bytes } else { kept.append(ticket) }
            }
            state.tickets = kept
            state.stalled[key] = nil
            return Self.roomMade(&state)
        }
        Self.wake(woken)
    }

    /// `hold`, `forward`, `drop`, `edit`, `release` on the relay `relay`, whose client legs are `pairs`.
    func perform(_ command: HoldCommand, relay: SocketID, pairs: [NIOLoopBound<RelayLegHandler>], request: RequestID) {
        switch command {
        case .hold(let direction, let framing):
            state.withLockedValue {
                $0.direction = direction
                $0.framing = framing
            }
            sink.emit(.relay(.holding(relay, direction, framing)), request: request)
            for pair in pairs { pair.eventLoop.execute { pair.value.holdChanged(direction, framing) } }
        case .forward(let count), .drop(let count):
            let outcome: HeldOutcome = if case .forward = command { .forwarded } else { .dropped }
            let taken = take(count)
            guard !taken.isEmpty else { return nothingHeld(command, relay: relay, request: request) }
            for (leg, chunks) in taken {
                leg.eventLoop.execute { leg.value.takeHeld(outcome, count: chunks) }
            }
        case .edit(let bytes):
            let framing = setting.framing
            if framing == .len16, bytes.count > Int(UInt16.max) {
                return sink.complete(request, failure: SocketFailure(
                    call: "edit", explanation: "\(bytes.count) bytes do not fit a 16-bit length (at most 65535)"), socket: relay)
            }
            guard let (leg, _) = take(1).first else { return nothingHeld(command, relay: relay, request: request) }
            leg.eventLoop.execute { leg.value.takeHeld(.edited, count: 1, replacement: bytes) }
        case .release:
            let holders = state.withLockedValue { state -> [NIOLoopBound<RelayLegHandler>] in
                state.direction = nil
                // Legs whose client leg has gone (a pair ending) are reached through their tickets.
                var seen = Set<ObjectIdentifier>()
                return state.tickets.compactMap { seen.insert($0.key).inserted ? $0.leg : nil }
            }
            sink.emit(.relay(.holdReleased(relay)), request: request)
            for pair in pairs { pair.eventLoop.execute { pair.value.holdChanged(nil, .raw) } }
            for leg in holders { leg.eventLoop.execute { leg.value.stopHolding() } }
        }
        sink.complete(request)
    }

    private func nothingHeld(_ command: HoldCommand, relay: SocketID, request: RequestID) {
        sink.complete(request, failure: SocketFailure(call: command.verb, explanation: "nothing held on \(relay)"), socket: relay)
    }

    /// The next `count` tickets, as runs of one leg (one event per run), in order.
    private func take(_ count: Int) -> [(NIOLoopBound<RelayLegHandler>, Int)] {
        let (runs, woken) = state.withLockedValue { state -> ([(NIOLoopBound<RelayLegHandler>, Int)], [NIOLoopBound<RelayLegHandler>]) in
            var runs: [(NIOLoopBound<RelayLegHandler>, Int)] = []
            var lastKey: ObjectIdentifier?
            for _ in 0..<count {
                guard let ticket = state.tickets.popFirst() else { break }
                state.heldBytes -= ticket.bytes
                if ticket.key == lastKey { runs[runs.count - 1].1 += 1 } else { runs.append((ticket.leg, 1)) }
                lastKey = ticket.key
            }
            return (runs, Self.roomMade(&state))
        }
        Self.wake(woken)
        return runs
    }

    /// Below the bound: every stalled leg may read again.
    private static func roomMade(_ state: inout State) -> [NIOLoopBound<RelayLegHandler>] {
        guard state.heldBytes < bound, !state.stalled.isEmpty else { return [] }
        defer { state.stalled = [:] }
        return Array(state.stalled.values)
    }

    private static func wake(_ legs: [NIOLoopBound<RelayLegHandler>]) {
        for leg in legs { leg.eventLoop.execute { leg.value.holdHasRoom() } }
    }
}

/// What one leg holds, in the order it read it: whole chunks, and with a framing the bytes of
/// a frame not complete yet. Lives on the leg's loop.
final class HeldTraffic {
    let framing: HoldFraming
    private(set) var chunks = CircularBuffer<ByteBuffer>()
    /// The bytes of `chunks`.
    private(set) var bytes = 0
    private var framer: RelayHoldFramer?
    /// What waits for the held chunks to be gone (a FIN to pass on, the leg's end).
    var whenEmpty: [() -> Void] = []

    init(framing: HoldFraming) {
        self.framing = framing
        framer = framing == .raw ? nil : RelayHoldFramer(framing)
    }

    var isEmpty: Bool { chunks.isEmpty && pendingBytes == 0 }
    /// Bytes of a frame not complete yet.
    var pendingBytes: Int { framer?.pendingBytes ?? 0 }

    /// A read, cut into the chunks it completes (a raw hold: the read itself), each to `append`.
    func cut(_ read: ByteBuffer) -> [ByteBuffer] {
        framer.map { $0.frames(after: read) } ?? [read]
    }

    /// The end of the stream (or of holding): a partial frame becomes a chunk as it is.
    func flushPartial() -> ByteBuffer? {
        guard let rest = framer?.takeRest() else { return nil }
        append(rest)
        return rest
    }

    func next() -> ByteBuffer? {
        guard let chunk = chunks.popFirst() else { return nil }
        bytes -= chunk.readableBytes
        return chunk
    }

    /// `edit`'s bytes, framed as the chunk they replace is: a length prefix is made again.
    func framed(_ replacement: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: replacement.count + 4)
        switch framing {
        case .len16: buffer.writeInteger(UInt16(truncatingIfNeeded: replacement.count), endianness: .big)
        case .len32: buffer.writeInteger(UInt32(truncatingIfNeeded: replacement.count), endianness: .big)
        case .raw, .line: break
        }
        buffer.writeBytes(replacement)
        return buffer
    }

    func append(_ chunk: ByteBuffer) {
        chunks.append(chunk)
        bytes += chunk.readableBytes
    }
}

/// Cuts held bytes into frames with swift-nio-extras' decoders (LineBasedFrameDecoder,
/// LengthFieldBasedFrameDecoder), run in an EmbeddedChannel of their own, and gives each frame
/// back with the bytes it came with: the decoders strip the `\n` or `\r\n` and the length
/// prefix, so the frame's length says how much of the bytes read it took (a line: plus 2 when
/// a `\r` follows it, else 1; a length prefix: plus 2 or 4).
final class RelayHoldFramer {
    private let framing: HoldFraming
    private let channel: EmbeddedChannel
    /// The bytes read that no frame has taken yet.
    private var unframed = ByteBuffer()
    /// The decoder failed (a length it cannot take): the rest is held as it comes.
    private var failed = false

    init(_ framing: HoldFraming) {
        self.framing = framing
        let decoder: any ChannelInboundHandler = switch framing {
        case .len16: ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .twoBytes))
        case .len32: ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes))
        case .line, .raw: ByteToMessageHandler(LineBasedFrameDecoder())
        }
        channel = EmbeddedChannel(handler: decoder)
    }

    var pendingBytes: Int { unframed.readableBytes }

    func frames(after read: ByteBuffer) -> [ByteBuffer] {
        if failed { return [read] }
        if unframed.readableBytes == 0 { unframed = read } else { unframed.writeImmutableBuffer(read) }
        do {
            try channel.writeInbound(read)
        } catch {
            // Past the bad length nothing can be cut: all of it goes as one chunk, then reads as they come.
            failed = true
            return takeRest().map { [$0] } ?? []
        }
        var made: [ByteBuffer] = []
        while let frame = try? channel.readInbound(as: ByteBuffer.self) {
            let length = frame.readableBytes + overhead(after: frame.readableBytes)
            guard let whole = unframed.readSlice(length: length) else { break }
            made.append(whole)
        }
        return made
    }

    func takeRest() -> ByteBuffer? {
        _ = try? channel.finish(acceptAlreadyClosed: true)
        guard unframed.readableBytes > 0 else { return nil }
        defer { unframed = ByteBuffer() }
        return unframed
    }

    private func overhead(after payload: Int) -> Int {
        switch framing {
        case .len16: 2
        case .len32: 4
        case .line, .raw: unframed.getInteger(at: unframed.readerIndex + payload, as: UInt8.self) == UInt8(ascii: "\r") ? 2 : 1
        }
    }
}
