import NIOCore
import NIOEmbedded
import NIOPosix
import Glibc
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// The pipeline's handlers (the traffic taps and the responders) one event at a time in an
/// `EmbeddedChannel`: no sockets, no timing. The real-socket tests (ConnectTests,
/// ResponderListenerTests, DatagramExactnessTests...) check the same behaviour end to end.
///
/// Off the engine's loops the batcher hands every event on at once and asks a tally for its
/// report at once, so each read is reported as it arrives here.
@Suite("Pipeline handlers (EmbeddedChannel)")
struct PipelineHandlerTests {
    /// An event sink whose events land in `events`, in order.
    final class Recorder: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        private let recorded = Locked<[EngineEvent]>([])
        let sink: EventSink

        init() {
            let recorded = recorded
            sink = EventSink(EventBatcher(group: group) { events in recorded.withLock { $0.append(contentsOf: events) } })
        }

        var events: [EngineEvent] { recorded.current }
        var kinds: [EngineEventKind] { events.map(\.kind) }

        deinit { try? group.syncShutdownGracefully() }
    }

    /// Counts the reads that reach the head of the pipeline (the socket).
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    static let id = SocketID(.connection, 7)
    static let peer = try! SocketAddress(ipAddress: "127.0.0.1", port: 4242)

    static func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 251) } }

    /// The bytes written out so far, write by write, without the empty writes the tap puts
    /// behind counted output to learn when it has left.
    static func written(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var writes: [[UInt8]] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            if buffer.readableBytes > 0 { writes.append(Array(buffer.readableBytesView)) }
        }
        return writes
    }

    // MARK: StreamTap

    @Test func theTapPassesReadsOnAndReportsTheirExactCountWithAPreview() throws {
        let recorder = Recorder()
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        tap.id = Self.id
        let channel = EmbeddedChannel(handler: tap)
        let data = Self.bytes(3000)
        try channel.writeInbound(channel.allocator.buffer(bytes: data))
        #expect(try channel.readInbound(as: ByteBuffer.self) == channel.allocator.buffer(bytes: data), "passed on unchanged")
        #expect(recorder.kinds == [.received(Self.id, bytes: Array(data.prefix(DataPreview.limit)), count: 3000)])
        _ = try channel.finish()
    }

    @Test func aWriteFromBehindTheTapIsReportedSentOnceItHasLeftNIOsQueue() throws {
        let recorder = Recorder()
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        tap.id = Self.id
        let channel = EmbeddedChannel(handler: tap)
        try channel.connect(to: Self.peer).wait()
        // Written with no promise (as an echo is), not yet flushed: nothing has left.
        channel.write(channel.allocator.buffer(bytes: [1, 2, 3]), promise: nil)
        // The report found it waiting and put an empty write behind it, whose flush lets it
        // go; only then is it sent.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == channel.allocator.buffer(bytes: [1, 2, 3]))
        #expect(recorder.kinds == [.sent(Self.id, bytes: [1, 2, 3], count: 3)])
        _ = try channel.finish()
    }

    @Test func aRequestedSendIsOneSentEventAnsweringItsRequest() throws {
        let recorder = Recorder()
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        tap.id = Self.id
        let channel = EmbeddedChannel(handler: tap)
        try channel.connect(to: Self.peer).wait()
        let request = RequestID(9)
        let written = try #require(tap.send(.byteBuffer(channel.allocator.buffer(bytes: [7, 8])), request: request))
        try written.wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == channel.allocator.buffer(bytes: [7, 8]))
        #expect(recorder.events.map(\.request) == [request])
        #expect(recorder.kinds == [.sent(Self.id, bytes: [7, 8], count: 2)])
        // A file's chunk is counted by its region and previewed by what the sender passes.
        _ = try channel.finish()
    }

    /// Fails every write as the kernel would refuse it.
    final class RefusingWrites: ChannelOutboundHandler {
        typealias OutboundIn = Any
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            promise?.fail(IOError(errnoCode: EPIPE, reason: "writev"))
        }
    }

    @Test func aFailedRequestedSendIsNotReportedSent() throws {
        let recorder = Recorder()
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        tap.id = Self.id
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([RefusingWrites(), tap])
        try channel.connect(to: Self.peer).wait()
        let written = tap.send(.byteBuffer(channel.allocator.buffer(bytes: [1])), request: RequestID(1))
        #expect(throws: (any Error).self) { try written?.wait() }
        #expect(recorder.kinds.isEmpty)
    }

    @Test func readsWaitWhileOutputCannotDrain() throws {
        let recorder = Recorder()
        let counter = ReadCounter()
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([counter, tap])
        channel.read()
        #expect(counter.reads == 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        #expect(counter.reads == 1, "held back while not writable")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == 2, "the held read is issued once output can drain")
        _ = try channel.finish()
    }

    @Test func readsWaitWhileThePayloadCreditIsSpent() throws {
        let recorder = Recorder()
        let counter = ReadCounter()
        let credit = PayloadCredit(limit: 4)
        let tap = StreamTap(sink: recorder.sink, credit: credit)
        tap.id = Self.id
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([counter, tap])
        try channel.connect(to: Self.peer).wait()
        try channel.writeInbound(channel.allocator.buffer(bytes: Self.bytes(3000)))
        #expect(recorder.kinds == [.received(Self.id, bytes: Self.bytes(3000), count: 3000)], "every byte kept")
        channel.read()
        #expect(counter.reads == 0, "3000 bytes unpaid against a limit of 4")
        credit.pay(3000)
        channel.embeddedEventLoop.run()
        #expect(counter.reads == 1, "reading resumes once paid")
        _ = try channel.finish()
    }

    // MARK: StreamResponder

    /// tap -> responder -> a catcher of whatever reaches the tail.
    static func streamResponder(_ mode: ListenMode, _ recorder: Recorder) throws -> (EmbeddedChannel, StreamResponder) {
        let tap = StreamTap(sink: recorder.sink, credit: nil)
        tap.id = id
        let responder = StreamResponder(try #require(Responder(mode: mode, framing: .stream)), tap: tap)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([tap, responder])
        return (channel, responder)
    }

    @Test func theEchoResponderWritesBackWhatItReadsAndTheTapCountsIt() throws {
        let recorder = Recorder()
        let (channel, responder) = try Self.streamResponder(.echo, recorder)
        try channel.connect(to: Self.peer).wait()
        try channel.writeInbound(channel.allocator.buffer(bytes: Array("hello".utf8)))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "the echo answers the read; nothing behind sees it")
        #expect(try Self.written(channel) == [Array("hello".utf8)])
        #expect(recorder.kinds == [.received(Self.id, bytes: Array("hello".utf8), count: 5),
                                   .sent(Self.id, bytes: Array("hello".utf8), count: 5)])
        // Closing or shut down for writing: nothing more is echoed (NIO would refuse it).
        responder.stopAnswering()
        try channel.writeInbound(channel.allocator.buffer(bytes: [1]))
        #expect(try Self.written(channel).isEmpty)
        #expect(recorder.kinds.last == .received(Self.id, bytes: [1], count: 1))
        _ = try channel.finish()
    }

    @Test func theReplyResponderGreetsOnceAndThenOnlyCounts() throws {
        let recorder = Recorder()
        let (channel, _) = try Self.streamResponder(.reply(Array("220 hi\r\n".utf8)), recorder)
        try channel.connect(to: Self.peer).wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == channel.allocator.buffer(bytes: Array("220 hi\r\n".utf8)))
        try channel.writeInbound(channel.allocator.buffer(bytes: [1, 2]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(recorder.kinds == [.sent(Self.id, bytes: Array("220 hi\r\n".utf8), count: 8),
                                   .received(Self.id, bytes: [1, 2], count: 2)])
        _ = try channel.finish()
    }

    @Test func theDiscardResponderOnlyCounts() throws {
        let recorder = Recorder()
        let (channel, _) = try Self.streamResponder(.discard, recorder)
        try channel.connect(to: Self.peer).wait()
        try channel.writeInbound(channel.allocator.buffer(bytes: [9, 9, 9]))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(recorder.kinds == [.received(Self.id, bytes: [9, 9, 9], count: 3)])
        _ = try channel.finish()
    }

    // MARK: Datagrams

    static func datagramPipeline(_ mode: ListenMode?, connected: Bool = false,
                                 _ recorder: Recorder) throws -> (EmbeddedChannel, DatagramTap) {
        let tap = DatagramTap(sink: recorder.sink, credit: nil, isConnected: connected)
        tap.id = id
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(tap)
        if let responder = mode.flatMap({ Responder(mode: $0, framing: .datagrams) }) {
            try channel.pipeline.syncOperations.addHandler(DatagramResponder(responder))
        }
        return (channel, tap)
    }

    @Test func theDatagramEchoAnswersEachSenderWithItsWholeDatagram() throws {
        let recorder = Recorder()
        let (channel, _) = try Self.datagramPipeline(.echo, recorder)
        let data = Self.bytes(2000)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: Self.peer, data: channel.allocator.buffer(bytes: data)))
        let answer = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(answer.remoteAddress == Self.peer)
        #expect(answer.data == channel.allocator.buffer(bytes: data))
        #expect(try channel.readInbound(as: AddressedEnvelope<ByteBuffer>.self) != nil, "passed on: the handler keeps the sender")
        let endpoint = SocketEndpoint(Self.peer)
        #expect(recorder.kinds == [
            .receivedFrom(Self.id, from: endpoint, bytes: Array(data.prefix(DataPreview.limit)), count: 2000, truncated: false),
            .sentTo(Self.id, to: endpoint, bytes: Array(data.prefix(DataPreview.limit)), count: 2000),
        ])
        _ = try channel.finish()
    }

    @Test func theDatagramReplyAnswersEveryDatagram() throws {
        let recorder = Recorder()
        let (channel, _) = try Self.datagramPipeline(.reply([0x4f, 0x4b]), recorder)
        for _ in 0..<2 {
            try channel.writeInbound(AddressedEnvelope(remoteAddress: Self.peer, data: channel.allocator.buffer(bytes: [1])))
            let answer = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
            #expect(answer.data == channel.allocator.buffer(bytes: [0x4f, 0x4b]))
        }
        #expect(recorder.kinds.filter { if case .sentTo = $0 { true } else { false } }.count == 2)
        _ = try channel.finish()
    }

    @Test func aConnectedDatagramTapWritesTheBareBufferAndNamesThePeer() throws {
        let recorder = Recorder()
        let (channel, tap) = try Self.datagramPipeline(nil, connected: true, recorder)
        let request = RequestID(3)
        let written = try #require(tap.send(AddressedEnvelope(remoteAddress: Self.peer,
                                                              data: channel.allocator.buffer(bytes: [5])), request: request))
        try written.wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == channel.allocator.buffer(bytes: [5]))
        #expect(recorder.events.map(\.request) == [request])
        #expect(recorder.kinds == [.sentTo(Self.id, to: SocketEndpoint(Self.peer), bytes: [5], count: 1)])
        _ = try channel.finish()
    }

    @Test func anInteractiveDatagramSocketHasNoResponder() throws {
        #expect(Responder(mode: .interactive, framing: .datagrams) == nil)
        let recorder = Recorder()
        let (channel, _) = try Self.datagramPipeline(.interactive, recorder)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: Self.peer, data: channel.allocator.buffer(bytes: [1])))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        _ = try channel.finish()
    }
}
