import NIOCore
import SockscopeCore

/// The traffic tap of a stream connection (TCP or UNIX): the one place its bytes are counted,
/// previewed and reported, in both directions, whatever wrote them (a user's send, a file
/// being sent, an echo, a greeting, later a relay or a rule).
///
/// It sits near the head of the pipeline (`ConnectionHandler.install`): only handlers that
/// change the bytes on the wire (TLS) go between it and the socket, so it sees what the
/// application reads and writes. Every method runs on the channel's event loop.
///
/// - Reads are counted (`TrafficCount`) and reported as totals when the loop's batch leaves
///   (`EventBatcher`), so a busy connection costs one `.received` per batch, not one per read.
/// - A write that answers a request (`send(_:request:preview:)`) gets a promise and its own
///   `.sent` event, tagged with the request, once the kernel has taken it.
/// - Any other write that passes (an echo) costs no promise: it is counted as handed to NIO
///   (`OutputCount`), and when a report is due NIO is asked how much still waits in its
///   queue; the difference is what left. A promise per echo cost more than the echo.
/// - Reads are held back while output cannot drain (writability; with the echo's water
///   mark that is 16 KiB of echo waiting) and while a `PayloadCredit` is spent.
final class StreamTap: ChannelDuplexHandler, TrafficTally {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let sink: EventSink
    private let credit: PayloadCredit?
    /// Set by `ConnectionHandler` as the connection becomes active; nothing is reported before.
    var id: SocketID?
    /// The connection's rules, when it has any: their firings are reported between the reads
    /// that caused them and the replies (weak: the pipeline owns it).
    weak var rules: RuleResponder?

    // The state touched per read carries `@exclusivity(unchecked)`: it lives on the
    // channel's loop and is never passed inout across a call that could reach it again,
    // and Swift's run-time checks of it were ~6% of the engine thread's instructions.
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    /// Reads not yet reported.
    @exclusivity(unchecked) private var received: TrafficCount
    /// Output that passed with no promise, and what of it the kernel has taken.
    @exclusivity(unchecked) private var output = OutputCount()
    /// `output.handed` at the last flush that did not fail.
    @exclusivity(unchecked) private var outputFlushed = 0
    @exclusivity(unchecked) private var reportQueued = false
    /// A read was asked for while output could not drain: it is issued once it can.
    @exclusivity(unchecked) private var readHeldBack = false
    /// Follows `channelWritabilityChanged`, so that each read request need not ask the channel.
    @exclusivity(unchecked) private var isWritable = true
    /// Whether reads wait while this connection's own output cannot drain (an echo is caused
    /// by reads). A relay leg's reads go out on its other leg, which holds them back itself.
    var holdsReadsForOwnOutput = true
    /// NIO's queue may hold counted output from before the last flush: a report found some
    /// waiting, or writability dropped. Decides what counts as sent if the channel dies
    /// before NIO can be asked (a write failing inside a flush).
    private var backlogSeen = false
    /// An empty write waits behind the counted output to say when it has all left.
    private var drainWatched = false
    /// Bytes read and reported so far.
    private var receivedReported = 0
    /// How much of each report's bytes its event carries: more for the followed connection.
    var previewLimit = DataPreview.limit
    /// A TLS connection's ciphertext counts (`TLSWireObserver`): reported after its traffic
    /// when they changed, so the counts say both plaintext and bytes on the wire.
    var wire: TLSSession?
    private var wireReported = (received: 0, sent: 0)
    /// Where what the connection's client side sends is recorded, for `replay`: its reads on
    /// a connection we accepted, its writes on one we opened (`ConnectionHandler` chooses).
    /// Nil: not recorded (a relay's upstream leg writes its client leg's reads, recorded there).
    var replayRecords: ReplayRecordStore?
    /// Which side is recorded.
    var recordsOutput = false
    @exclusivity(unchecked) private var replayRecorder = ReplayRecorder()

    init(sink: EventSink, credit: PayloadCredit?) {
        self.sink = sink
        self.credit = credit
        // Under a credit every byte is kept, not a preview: the consumer wants whole payloads.
        received = TrafficCount(keepsAll: credit != nil)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        if !recordsOutput, let replayRecords {
            // A read that filled its buffer may have left more waiting (`recordRead`); NIO's own
            // read loop tells the two apart by this same test.
            let filled = buffer.writableBytes == 0
            buffer.withUnsafeReadableBytes { replayRecorder.recordRead($0, filledItsBuffer: filled, store: replayRecords) }
        }
        received.add(buffer, limit: previewLimit)
        queueReport()
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        // With the echo's water mark (low: one byte), writable again means NIO's queue is empty.
        backlogSeen = !isWritable
        if isWritable && output.unreported > 0 { queueReport() }
        if isWritable && readHeldBack {
            readHeldBack = false
            read(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    /// A write with no report of its own (an echo): counted, reported with the batch.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let before = output.handed
        if recordsOutput { record(Self.unwrapOutboundIn(data)) }
        switch Self.unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): buffer.withUnsafeReadableBytes { output.hand($0, limit: previewLimit) }
        case .fileRegion(let region): output.hand(count: region.readableBytes)
        }
        context.write(data, promise: promise)
        // An echo's report is queued by its read already; output not caused by a read here
        // (a relay's other leg) needs its own.
        if output.handed > before { queueReport() }
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        // A refused write makes NIO close the channel inside the flush, before it could
        // be asked what left: `reportOutput` then counts from `outputFlushed`.
        if context.channel.isActive { outputFlushed = output.handed }
    }

    func read(context: ChannelHandlerContext) {
        guard isWritable || !holdsReadsForOwnOutput else {
            readHeldBack = true
            return
        }
        // Whole payloads: no read while the consumer has not caught up (see `PayloadCredit`).
        if let credit, !credit.mayRead(context: context, again: { self.read(context: context) }) { return }
        context.read()
    }

    /// Writes `data` from the tap's place in the pipeline (towards the socket) and reports it
    /// as one `.sent` event answering `request`, once the kernel has taken all of it, after the
    /// traffic counted before. `preview` stands for the bytes when they are not in memory (a
    /// file); by default they are the buffer's first bytes. The future fails as the write does.
    func send(_ data: IOData, request: RequestID?, preview: [UInt8]? = nil) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let count = data.readableBytes
        let shown: [UInt8]
        if let preview {
            shown = preview
        } else if case .byteBuffer(let buffer) = data {
            let kept = credit == nil ? min(count, previewLimit) : count
            shown = buffer.getBytes(at: buffer.readerIndex, length: kept) ?? []
        } else {
            shown = []
        }
        if recordsOutput { record(data) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenSuccess {
            self.reportNow()
            if let id = self.id { self.sink.emit(.sent(id, bytes: shown, count: count), request: request) }
        }
        context.writeAndFlush(Self.wrapOutboundOut(data), promise: promise)
        return promise.futureResult
    }

    // MARK: Replay record

    /// A write of the client side (a connection we opened): one chunk.
    private func record(_ data: IOData) {
        guard let replayRecords else { return }
        switch data {
        case .byteBuffer(let buffer): buffer.withUnsafeReadableBytes { replayRecorder.recordWrite($0, store: replayRecords) }
        case .fileRegion(let region): replayRecorder.skipFile(region.readableBytes, store: replayRecords)
        }
    }

    /// What the client side sent so far; nil when the connection is not recorded.
    var replayRecord: ReplayRecord? {
        replayRecords.map { replayRecorder.record(store: $0) }
    }

    /// The connection closed: its record goes to the store.
    func keepReplayRecord(of id: SocketID) {
        if let replayRecords { replayRecorder.finish(id, store: replayRecords) }
    }

    // MARK: Reports

    /// Reports the traffic counted so far without waiting for the batch: before any other
    /// event about the connection, and before a close (NIO can still say which output left;
    /// after it, what is still queued never will).
    func reportNow() {
        if received.count > 0 || output.unreported > 0 || wireChanged { reportTraffic() }
    }

    /// The TLS wire counts moved since their last report (a close_notify written as the
    /// connection closes moves them with no plaintext).
    private var wireChanged: Bool {
        guard let wire else { return false }
        return wire.wireIn != wireReported.received || wire.wireOut != wireReported.sent
    }

    /// Every byte read so far, reported or not (counted per report, not per read).
    var receivedTotal: Int { receivedReported + received.count }

    func reportTraffic() {
        reportQueued = false
        guard let id else { return }
        if received.count > 0 {
            receivedReported += received.count
            sink.emit(.received(id, bytes: received.preview, count: received.count))
            credit?.charge(received.count)
            received = TrafficCount(keepsAll: received.keepsAll)
        }
        rules?.reportFirings(id, sink: sink)
        reportOutput(id)
        if let wire, wireChanged {
            wireReported = (wire.wireIn, wire.wireOut)
            sink.emit(.tlsWire(id, received: wire.wireIn, sent: wire.wireOut))
        }
    }

    private func queueReport() {
        guard !reportQueued else { return }
        reportQueued = true
        sink.tally(self)
    }

    /// Reports the counted output the kernel took since the last report. While any still
    /// waits, an empty write behind it asks for another report once it has left.
    private func reportOutput(_ id: SocketID) {
        guard output.unreported > 0 else { return }
        let waiting: Int
        if let context, context.channel.isActive,
           let queued = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) {
            waiting = queued
            backlogSeen = queued > 0
        } else {
            // Closed before NIO could be asked: what was flushed left unless a backlog was
            // seen; the rest never will.
            waiting = backlogSeen ? output.unreported : output.handed - outputFlushed
        }
        if let sent = output.takeSent(waiting: waiting) {
            sink.emit(.sent(id, bytes: sent.preview, count: sent.count))
        }
        guard output.unreported > 0 else { return }
        guard let context, context.channel.isActive else { return output.dropUnsent() }
        guard !drainWatched else { return }
        drainWatched = true
        // An empty write completes after every write before it.
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.drainWatched = false
            if case .success = result { self.queueReport() }
        }
    }
}

/// Bytes counted for one report: the exact total, and a preview of the first ones.
struct TrafficCount {
    private(set) var count = 0
    private(set) var preview: [UInt8] = []
    /// Keeps every byte, not a preview (under a `PayloadCredit`, which bounds them).
    var keepsAll = false

    mutating func add(_ buffer: ByteBuffer, limit: Int) {
        count += buffer.readableBytes
        if keepsAll { return buffer.withUnsafeReadableBytes { preview.append(contentsOf: $0) } }
        let room = limit - preview.count
        guard room > 0 else { return }
        // Rebased to a plain buffer pointer: a `Slice` would be appended byte by byte.
        buffer.withUnsafeReadableBytes { preview.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0.prefix(room))) }
    }
}

/// The bytes a tap let through to NIO without a promise, and which of them the kernel has taken.
///
/// Why not learn it per write: a promise per write, or a one-byte water mark whose
/// writability flips twice per echo, cost more than the echo itself (at 16 busy
/// connections the flips alone were ~10% of the engine thread). The tap only counts what
/// it hands over; when a report is due it asks NIO how much still waits in its queue, and
/// the difference is what the kernel took. Counts stay exact: bytes are reported as sent
/// only once they have left NIO's queue.
///
/// The report's preview is the first bytes of what was sent since the last report. They
/// are kept as they are handed over, up to the tap's preview limit, but only while they follow
/// on from what is kept: after a report that found bytes still waiting beyond the kept
/// ones, the next preview is shorter (even empty), never wrong.
struct OutputCount {
    /// Bytes handed to NIO so far.
    private(set) var handed = 0
    /// Bytes reported as sent so far.
    private(set) var reported = 0
    /// The output from offset `reported` on, as far as it was kept.
    private(set) var preview: [UInt8] = []

    /// Bytes handed to NIO and not reported as sent.
    var unreported: Int { handed - reported }

    /// Records bytes handed to NIO.
    mutating func hand(_ bytes: UnsafeRawBufferPointer, limit: Int) {
        let room = limit - preview.count
        if room > 0, handed == reported + preview.count {
            preview.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
        }
        handed += bytes.count
    }

    /// Records bytes handed to NIO that are not in memory (a file region): counted, not previewed.
    mutating func hand(count: Int) {
        handed += count
    }

    /// The bytes the kernel took since the last report, given how many of the handed ones
    /// still wait (anything NIO holds beyond them is not ours: a requested send).
    mutating func takeSent(waiting: Int) -> (count: Int, preview: [UInt8])? {
        let sent = handed - min(max(waiting, 0), unreported)
        let count = sent - reported
        guard count > 0 else { return nil }
        let shown = Array(preview.prefix(count))
        preview.removeFirst(shown.count)
        // An idle connection keeps no storage for its next preview: 10 000 idle echo
        // connections each held their last echo's ~100 bytes this way (many-connections).
        if preview.isEmpty { preview = [] }
        reported = sent
        return (count, shown)
    }

    /// Forgets the bytes still waiting: the connection closed before they left.
    mutating func dropUnsent() {
        handed = reported
        preview = []
    }
}
