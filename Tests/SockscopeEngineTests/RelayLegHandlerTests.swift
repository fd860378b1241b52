import Glibc
import NIOCore
import NIOEmbedded
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// A relayed pair's legs (`RelayLegHandler` behind each leg's tap, in front of its connection
/// handler) in two `EmbeddedChannel`s on one loop, one event at a time: forwarding,
/// backpressure, FIN and RST. `RelayTests` checks the same against real peers.
@Suite("Relay legs (EmbeddedChannel)")
struct RelayLegHandlerTests {
    typealias Recorder = PipelineHandlerTests.Recorder
    typealias ReadCounter = PipelineHandlerTests.ReadCounter

    static let relay = SocketID(.relay, 1)

    /// Records the closes that reach the socket; a half-close (`.output`) stops here, as the
    /// channel stays open for reading after a real shutdown(SHUT_WR).
    final class CloseRecorder: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var modes: [CloseMode] = []
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            modes.append(mode)
            guard mode != .output else {
                promise?.succeed(())
                return
            }
            context.close(mode: mode, promise: promise)
        }
    }

    /// A client leg (accepted by R1, so named C1) and an upstream leg (C2), each channel with a
    /// read counter and a close recorder at its head, paired and both active.
    struct Pair {
        let recorder = Recorder()
        let loop = EmbeddedEventLoop()
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let clientLeg: RelayLegHandler
        let upstreamLeg: RelayLegHandler
        let clientReads = ReadCounter()
        let upstreamReads = ReadCounter()
        let clientCloses = CloseRecorder()
        let upstreamCloses = CloseRecorder()
        let c1: SocketID
        let c2: SocketID

        init() throws {
            let registry = SocketRegistry()
            let sink = self.recorder.sink
            let loop = self.loop
            let client = EmbeddedChannel(loop: loop)
            let upstream = EmbeddedChannel(loop: loop)
            try client.pipeline.syncOperations.addHandlers([clientReads, clientCloses])
            try upstream.pipeline.syncOperations.addHandlers([upstreamReads, upstreamCloses])
            let clientLeg = RelayLegHandler(role: .client, relay: RelayLegHandlerTests.relay, sink: sink)
            let upstreamLeg = RelayLegHandler(role: .upstream, relay: RelayLegHandlerTests.relay, sink: sink)
            try ConnectionHandler(origin: .accepted(listener: RelayLegHandlerTests.relay), mode: .interactive,
                                  sink: sink, registry: registry)
                .install(on: client, noDelay: false, relayLeg: clientLeg)
            // Accepted, the client leg is named as it becomes active (C1); then its upstream leg is made (C2).
            try client.connect(to: PipelineHandlerTests.peer).wait()
            let c2 = registry.nextConnectionID()
            try ConnectionHandler(origin: .relayUpstream(c2), mode: .interactive, sink: sink, registry: registry)
                .install(on: upstream, noDelay: false, relayLeg: upstreamLeg)
            upstreamLeg.pair(with: clientLeg)
            try upstream.connect(to: PipelineHandlerTests.peer).wait()
            self.client = client
            self.upstream = upstream
            self.clientLeg = clientLeg
            self.upstreamLeg = upstreamLeg
            self.c1 = SocketID(.connection, 1)
            self.c2 = c2
        }

        func finish() {
            _ = try? client.finish()
            _ = try? upstream.finish()
        }
    }

    @Test func aReadIsWrittenOnTheOtherLegAsTheSameBufferAndCountedByBothTaps() throws {
        let pair = try Pair()
        defer { pair.finish() }
        let data = PipelineHandlerTests.bytes(3000)
        let buffer = pair.client.allocator.buffer(bytes: data)
        let address = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        try pair.client.writeInbound(buffer)
        pair.client.pipeline.fireChannelReadComplete()
        let forwarded = try #require(try pair.upstream.readOutbound(as: ByteBuffer.self))
        #expect(Array(forwarded.readableBytesView) == data)
        #expect(forwarded.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == address, "no copy")
        #expect(try pair.client.readInbound(as: ByteBuffer.self) == nil, "taken out of the client leg's pipeline")
        let traffic = pair.recorder.kinds.filter { if case .received = $0 { true } else if case .sent = $0 { true } else { false } }
        #expect(traffic.contains(.received(pair.c1, bytes: Array(data.prefix(DataPreview.limit)), count: 3000)))
        #expect(traffic.contains(.sent(pair.c2, bytes: Array(data.prefix(DataPreview.limit)), count: 3000)))
    }

    @Test func aLegReadsOnlyWhileTheOtherLegCanTakeMore() throws {
        let pair = try Pair()
        defer { pair.finish() }
        let reads = pair.clientReads.reads
        pair.client.read()
        #expect(pair.clientReads.reads == reads + 1)
        pair.upstream.isWritable = false
        pair.upstream.pipeline.fireChannelWritabilityChanged()
        pair.client.read()
        #expect(pair.clientReads.reads == reads + 1, "held while the upstream leg holds its high water mark")
        // The client leg's own output backing up does not stop it reading: it reads for the upstream leg.
        pair.client.isWritable = false
        pair.client.pipeline.fireChannelWritabilityChanged()
        pair.upstream.isWritable = true
        pair.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientReads.reads == reads + 2, "the held read is issued once the upstream leg drains")
        let upstreamReads = pair.upstreamReads.reads
        pair.upstream.read()
        #expect(pair.upstreamReads.reads == upstreamReads, "and the upstream leg waits for the client leg")
        pair.client.isWritable = true
        pair.client.pipeline.fireChannelWritabilityChanged()
        #expect(pair.upstreamReads.reads == upstreamReads + 1)
    }

    @Test func aFINIsPassedOnAsShutdownWriteAfterWhatWasForwarded() throws {
        let pair = try Pair()
        defer { pair.finish() }
        try pair.client.writeInbound(pair.client.allocator.buffer(bytes: [1, 2, 3]))
        pair.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        pair.loop.run()
        #expect(try pair.upstream.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == [1, 2, 3],
                "what came before the FIN leaves first")
        #expect(pair.upstreamCloses.modes == [.output], "shutdown(SHUT_WR), not a close")
        #expect(pair.clientCloses.modes.isEmpty, "the client leg still reads the answer")
        let kinds = pair.recorder.kinds
        let peerClosed = try #require(kinds.firstIndex(of: .peerClosed(pair.c1)))
        let passedOn = try #require(kinds.firstIndex(of: .relay(.passedOn(pair.c2, .upstream, relay: Self.relay,
                                                                            from: pair.c1, .fin))))
        #expect(peerClosed < passedOn)
        // The answer still goes through the other way.
        try pair.upstream.writeInbound(pair.upstream.allocator.buffer(bytes: [9]))
        pair.upstream.pipeline.fireChannelReadComplete()
        #expect(try pair.client.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == [9])
    }

    /// `hold R1 up`: reads are held, not written on the other leg; a FIN waits behind them,
    /// and `forward` sends exactly the next chunk, then lets the FIN go.
    @Test func aHeldReadWaitsForForwardAndAFINWaitsBehindIt() throws {
        let pair = try Pair()
        defer { pair.finish() }
        let book = RelayHoldBook(sink: pair.recorder.sink)
        pair.clientLeg.holdBook = book
        pair.upstreamLeg.holdBook = book
        book.perform(.hold(.up, .raw), relay: Self.relay, pairs: [NIOLoopBound(pair.clientLeg, eventLoop: pair.loop)],
                     request: RequestID(1))
        pair.loop.run()
        try pair.client.writeInbound(pair.client.allocator.buffer(bytes: [1, 2]))
        pair.client.pipeline.fireChannelReadComplete()
        try pair.client.writeInbound(pair.client.allocator.buffer(bytes: [3]))
        pair.client.pipeline.fireChannelReadComplete()
        pair.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        pair.loop.run()
        #expect(try pair.upstream.readOutbound(as: ByteBuffer.self).map(\.readableBytes) ?? 0 == 0, "held: nothing written upstream")
        #expect(pair.upstreamCloses.modes.isEmpty, "the FIN waits behind what is held")
        // The server-to-client direction is not held.
        try pair.upstream.writeInbound(pair.upstream.allocator.buffer(bytes: [9]))
        pair.upstream.pipeline.fireChannelReadComplete()
        #expect(try pair.client.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == [9])

        // What was written on the leg, write by write (the tap's empty drain-watch writes left out).
        func written() throws -> [[UInt8]] {
            var writes: [[UInt8]] = []
            while let buffer = try pair.upstream.readOutbound(as: ByteBuffer.self) {
                if buffer.readableBytes > 0 { writes.append(Array(buffer.readableBytesView)) }
            }
            return writes
        }
        book.perform(.forward(1), relay: Self.relay, pairs: [], request: RequestID(2))
        pair.loop.run()
        #expect(try written() == [[1, 2]], "exactly the next chunk")
        #expect(pair.upstreamCloses.modes.isEmpty)
        book.perform(.forward(1), relay: Self.relay, pairs: [], request: RequestID(3))
        pair.loop.run()
        #expect(try written() == [[3]])
        #expect(pair.upstreamCloses.modes == [.output], "then the FIN is passed on")
        #expect(book.heldBytes == 0)
    }

    @Test func aResetLegResetsTheOtherLeg() throws {
        let pair = try Pair()
        defer { pair.finish() }
        pair.upstream.pipeline.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "read"))
        pair.loop.run()
        #expect(pair.upstreamCloses.modes == [.all])
        #expect(pair.clientCloses.modes == [.all], "the client leg is closed too")
        let kinds = pair.recorder.kinds
        #expect(kinds.contains(.closed(pair.c2, reason: "reset by peer")))
        // An EmbeddedChannel has no SO_LINGER to set: the reset is tried, and the close says why.
        #expect(kinds.contains(.closed(pair.c1, reason: "reset: \(pair.c2) was reset (RST passed on)")), "\(kinds)")
        let closedC2 = try #require(kinds.firstIndex(of: .closed(pair.c2, reason: "reset by peer")))
        let closedC1 = try #require(kinds.firstIndex { if case .closed(pair.c1, _) = $0 { true } else { false } })
        #expect(closedC2 < closedC1, "the cause is logged before what it caused")
    }

    @Test func readsBeforeTheUpstreamLegIsUpWaitAndGoOutOnceItIs() throws {
        let recorder = Recorder()
        let loop = EmbeddedEventLoop()
        let registry = SocketRegistry()
        let client = EmbeddedChannel(loop: loop)
        let upstream = EmbeddedChannel(loop: loop)
        let reads = ReadCounter()
        try client.pipeline.syncOperations.addHandler(reads)
        // A shutdown(SHUT_WR) leaves a real channel open; an EmbeddedChannel would close.
        try upstream.pipeline.syncOperations.addHandler(CloseRecorder())
        let clientLeg = RelayLegHandler(role: .client, relay: Self.relay, sink: recorder.sink)
        let upstreamLeg = RelayLegHandler(role: .upstream, relay: Self.relay, sink: recorder.sink)
        try ConnectionHandler(origin: .accepted(listener: Self.relay), mode: .interactive, sink: recorder.sink,
                              registry: registry).install(on: client, noDelay: false, relayLeg: clientLeg)
        try ConnectionHandler(origin: .relayUpstream(SocketID(.connection, 99)), mode: .interactive, sink: recorder.sink,
                              registry: registry).install(on: upstream, noDelay: false, relayLeg: upstreamLeg)
        try client.connect(to: PipelineHandlerTests.peer).wait()
        client.read()
        #expect(reads.reads == 0, "nothing is read before there is an upstream leg")
        upstreamLeg.pair(with: clientLeg)
        // NIO reads to EOF even without a read asked for: that data waits for the upstream leg.
        try client.writeInbound(client.allocator.buffer(bytes: [4, 5]))
        client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try upstream.readOutbound(as: ByteBuffer.self) == nil)
        try upstream.connect(to: PipelineHandlerTests.peer).wait()
        loop.run()
        #expect(try upstream.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == [4, 5])
        #expect(reads.reads == 1, "the held read is issued once the upstream leg is up")
        #expect(recorder.kinds.contains { if case .relay(.passedOn(_, .upstream, _, _, .fin)) = $0 { true } else { false } },
                "the early FIN is passed on too")
        _ = try? client.finish()
        _ = try? upstream.finish()
    }

    /// `--toxicity`: a toxic that does not act on this pair (toxicity 0) leaves its reads on
    /// the plain path (written at once, the same buffer); one that acts (1) holds them.
    @Test func aToxicActsOnAPairOnlyWhenItsToxicityRollSaysSo() throws {
        for (toxicity, passesAtOnce) in [(0.0, true), (1.0, false)] {
            let pair = try Pair()
            defer { pair.finish() }
            /// Every byte written out on the upstream leg so far.
            func written() throws -> [UInt8] {
                var bytes: [UInt8] = []
                while let buffer = try pair.upstream.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
                return bytes
            }
            let toxic = Toxic(effect: .latency(milliseconds: 60_000, jitter: 0), direction: .up, toxicity: toxicity)
            pair.clientLeg.toxicsChanged([toxic])
            try pair.client.writeInbound(pair.client.allocator.buffer(bytes: [7, 8]))
            pair.client.pipeline.fireChannelReadComplete()
            #expect(try written() == (passesAtOnce ? [7, 8] : []), "toxicity \(toxicity)")
            // The roll is kept while the toxic stays: the same list again changes nothing.
            pair.clientLeg.toxicsChanged([toxic])
            try pair.client.writeInbound(pair.client.allocator.buffer(bytes: [9]))
            pair.client.pipeline.fireChannelReadComplete()
            #expect(try written() == (passesAtOnce ? [9] : []), "toxicity \(toxicity)")
        }
    }

    /// A UDP relay (`UDPRelay`) that is down, or whose access policy refuses an address, opens
    /// no pair for it and says so once per address, not once per datagram.
    @Test func aDownOrRefusingUDPRelayOpensNoPairAndSaysSoOncePerAddress() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        var policy = ListenerPolicy()
        policy.deny.append(try #require(AddressRange("10.0.0.0/8")))
        let relay = UDPRelay(target: "udp://127.0.0.1:53", targetAddress: PipelineHandlerTests.peer, idle: .seconds(60),
                             policy: policy, sink: recorder.sink, registry: SocketRegistry())
        try channel.pipeline.syncOperations.addHandler(relay)
        relay.activate(as: Self.relay, channel: channel)
        let denied = try SocketAddress(ipAddress: "10.1.2.3", port: 5000)
        for _ in 0..<3 {
            try channel.writeInbound(AddressedEnvelope(remoteAddress: denied, data: channel.allocator.buffer(bytes: [1])))
        }
        relay.switchTo(.down, of: Self.relay, request: RequestID(1))
        for _ in 0..<3 {
            try channel.writeInbound(AddressedEnvelope(remoteAddress: PipelineHandlerTests.peer, data: channel.allocator.buffer(bytes: [2])))
        }
        let refusals = recorder.kinds.compactMap { kind -> String? in
            if case .refused(Self.relay, let remote, let reason) = kind { return "\(remote) \(reason)" }
            return nil
        }
        #expect(refusals == ["10.1.2.3:5000 denied by --deny 10.0.0.0/8", "127.0.0.1:4242 relay R1 is down"], "\(recorder.kinds)")
        #expect(recorder.kinds.contains(.relay(.down(Self.relay, closedPairs: 0))))
        #expect(!recorder.kinds.contains { if case .accepted = $0 { true } else { false } }, "no pair for a refused client")
        _ = try? channel.finish()
    }
}
