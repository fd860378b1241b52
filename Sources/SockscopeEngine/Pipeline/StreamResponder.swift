import NIOCore
import SockscopeCore

/// Answers a stream connection of a `--echo`, `--reply` or `--discard` listener, as its
/// `Responder` decides: it sits behind the `StreamTap` (which counts everything it writes)
/// and in front of the `ConnectionHandler`, and takes the reads it answers out of the pipeline.
///
/// What it does not do: count (the tap does), hold reads back while the echo cannot leave
/// (the tap does, from writability; `echoWaterMark` makes that 16 KiB), or close after the
/// peer's FIN (the `ConnectionHandler` does, because a close waits for the output).
/// Every method runs on the channel's event loop.
final class StreamResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Reading pauses once this much echo waits in NIO's queue (the peer is not taking
    /// it), and resumes when all of it has left: the low mark of one byte makes
    /// "writable again" mean "queue empty". Normal request/response traffic never
    /// crosses it, so writability does not flip per echo.
    static let echoWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 1, high: 16 * 1024)

    let responder: Responder
    private let tap: StreamTap
    /// Off once the connection takes no new output (closing, or shut down for writing:
    /// NIO would refuse the echo, so it is neither attempted nor counted).
    @exclusivity(unchecked) private var isAnswering = true
    @exclusivity(unchecked) private var unflushed = false

    init(_ responder: Responder, tap: StreamTap) {
        self.responder = responder
        self.tap = tap
    }

    /// The connection takes no new output from now on.
    func stopAnswering() {
        isAnswering = false
    }

    func channelActive(context: ChannelHandlerContext) {
        // The connection handler names the connection (and reports it open) first.
        context.fireChannelActive()
        guard let greeting = responder.greeting else { return }
        // A greeting is reported by itself; a failure only when the kernel said why (as for
        // an echo), and then the connection handler reports it once and closes.
        tap.send(.byteBuffer(context.channel.allocator.buffer(bytes: greeting)), request: nil)?
            .assumeIsolated()
            .whenFailure { error in
                guard SocketFailure.errnoCode(of: error) != nil else { return }
                context.fireErrorCaught(error)
            }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .echo = responder.answer, isAnswering else { return }
        // No promise per echo: the tap counts it and asks NIO what left when it reports.
        context.write(data, promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Everything answered before the peer's FIN goes out before the close that follows it.
        if case ChannelEvent.inputClosed = event { flushAnswers(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }
}
