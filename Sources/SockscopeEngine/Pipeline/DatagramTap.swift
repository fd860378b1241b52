import NIOCore
import SockscopeCore

/// The traffic tap of a UDP socket: the one place its datagrams are counted, previewed and
/// reported (`DatagramLog`: one event each, bounded per batch), both directions, whatever
/// wrote them (a user's send, an echo, a reply). The UNIX datagram socket, which NIO does
/// not drive, reports through the same `DatagramLog`.
///
/// First in the pipeline (`DatagramHandler.install`). Writes reach it as addressed
/// envelopes, also on a connected socket, where it passes the bare buffer on (NIO refuses
/// an addressed write there): so every writer names the peer, and every event does too.
/// Each datagram's write has a promise: its `.sentTo` (or the error) is reported when the
/// kernel has taken (or refused) it. Every method runs on the channel's event loop.
final class DatagramTap: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = NIOAny

    /// Every datagram is read into a buffer this size (`FixedSizeRecvByteBufferAllocator`;
    /// NIO's default for datagram channels is 2048 bytes, which cut longer datagrams).
    /// 64 KiB holds the largest UDP payload, 65 507 bytes over IPv4 and 65 527 over IPv6,
    /// so nothing is ever cut. The cost is one 64 KiB buffer per UDP socket, kept by NIO
    /// while idle: acceptable because UDP sockets are few (a listener serves every peer).
    /// NIO does not pass recvmsg's MSG_TRUNC on; a read that fills the whole buffer is
    /// therefore reported as truncated (no whole UDP datagram can be that long).
    static let receiveBufferSize = 65_536

    private let sink: EventSink
    private let credit: PayloadCredit?
    /// Writes carry no address below the tap: the socket is connected to its one peer.
    private let isConnected: Bool
    let log: DatagramLog
    private var context: ChannelHandlerContext?

    init(sink: EventSink, credit: PayloadCredit?, isConnected: Bool) {
        self.sink = sink
        self.credit = credit
        self.isConnected = isConnected
        // A consumer of whole payloads must get every datagram, not a count of the rest:
        // the credit bounds what waits for it instead (`read(context:)`).
        log = DatagramLog(sink: sink, logsEveryDatagram: credit != nil)
    }

    /// Set once the socket is bound or connected; nothing is reported before.
    var id: SocketID? {
        get { log.id }
        set { log.id = newValue }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard id != nil else { return }
        let envelope = Self.unwrapInboundIn(data)
        let count = envelope.data.readableBytes
        // Whole datagrams for a consumer that needs every byte (see `PayloadCredit`), charged
        // to it (the consumer pays back every received byte it prints).
        let kept = credit == nil ? min(count, DataPreview.limit) : count
        let preview = envelope.data.getBytes(at: envelope.data.readerIndex, length: kept) ?? []
        credit?.charge(count)
        log.received(from: SocketEndpoint(envelope.remoteAddress), bytes: preview, count: count,
                     truncated: count >= Self.receiveBufferSize)
        context.fireChannelRead(data)
    }

    /// A datagram from a handler behind the tap (an echo, a reply): reported when it has left.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        forward(Self.unwrapOutboundIn(data), request: nil, promise: promise, context: context)
    }

    func read(context: ChannelHandlerContext) {
        // Whole payloads: no read while the consumer has not caught up (see `PayloadCredit`).
        if let credit, !credit.mayRead(context: context, again: { self.read(context: context) }) { return }
        context.read()
    }

    /// One datagram the user asked for: its `.sentTo`, or its error, answers `request`.
    /// The future completes after that report.
    func send(_ envelope: AddressedEnvelope<ByteBuffer>, request: RequestID) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        forward(envelope, request: request, promise: promise, context: context)
        return promise.futureResult
    }

    private func forward(_ envelope: AddressedEnvelope<ByteBuffer>, request: RequestID?,
                         promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let count = envelope.data.readableBytes
        let preview = envelope.data.getBytes(at: envelope.data.readerIndex, length: min(count, DataPreview.limit)) ?? []
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(isConnected ? NIOAny(envelope.data) : NIOAny(envelope), promise: written)
        written.futureResult.assumeIsolated().whenComplete { result in
            if let id = self.id {
                switch result {
                case .success:
                    self.log.sent(to: SocketEndpoint(envelope.remoteAddress), bytes: preview, count: count,
                                  request: request)
                case .failure(let error):
                    self.log.emitUnlogged()
                    self.sink.emit(.error(id, SocketFailure.from(error, call: "sendmsg", namedByNIO: false)
                                                .explained(on: .udp)), request: request)
                }
            }
            promise?.completeWith(result)
        }
    }
}

/// Answers each datagram to a UDP listener in `--echo` or `--reply` mode, to its sender, as
/// its `Responder` decides; behind the `DatagramTap`, which reports what it writes. It passes
/// every datagram on (the `DatagramHandler` remembers the latest sender).
final class DatagramResponder: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let responder: Responder

    init(_ responder: Responder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        switch responder.answer {
        case .echo:
            context.writeAndFlush(Self.wrapOutboundOut(envelope), promise: nil)
        case .bytes(let bytes):
            let answer = AddressedEnvelope(remoteAddress: envelope.remoteAddress,
                                           data: context.channel.allocator.buffer(bytes: bytes))
            context.writeAndFlush(Self.wrapOutboundOut(answer), promise: nil)
        case .nothing:
            break
        }
        context.fireChannelRead(data)
    }
}
