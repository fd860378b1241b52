import NIOCore
import NIOSSL
import NIOTLS
import SockscopeCore

/// `starttls`: upgrades an open plain connection to TLS in place.
///
/// Sits behind the `StreamTap` while it works (so the dialogue's lines are counted and logged
/// like any traffic) and takes the server's answers out of the pipeline. Once the server
/// agrees (or at once, without a dialogue) it puts the TLS handlers in front of the tap,
/// exactly where `connect tls://` has them, and stays to answer the request when the
/// handshake is done, then leaves. Every method runs on the channel's event loop.
final class StartTLSNegotiator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var dialogue: StartTLSDialogue?
    private let setup: TLSClientSetup
    private let id: SocketID
    private let request: RequestID
    private let sink: EventSink
    private unowned let connection: ConnectionHandler
    private let target: String
    /// The TLS handlers are in place; what is left is the handshake's outcome.
    private var upgraded = false
    private var answered = false

    init(dialogue: StartTLSDialogue?, setup: TLSClientSetup, id: SocketID, request: RequestID, sink: EventSink,
         connection: ConnectionHandler, target: String) {
        self.dialogue = dialogue
        self.setup = setup
        self.id = id
        self.request = request
        self.sink = sink
        self.connection = connection
        self.target = target
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let dialogue else { return upgrade(context: context) }
        if let opening = dialogue.opening() { write(opening, context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !upgraded, var dialogue else { return context.fireChannelRead(data) }
        var buffer = Self.unwrapInboundIn(data)
        var step = dialogue.feed(buffer.readBytes(length: buffer.readableBytes) ?? [])
        // Several lines may have come at once: each `.send` is followed by another look.
        while case .send(let bytes) = step {
            write(bytes, context: context)
            step = dialogue.feed([])
        }
        self.dialogue = dialogue
        switch step {
        case .wait, .send: break
        case .upgrade:
            guard dialogue.leftover == 0 else {
                return refuse("the server sent \(dialogue.leftover) bytes after its go-ahead, before the TLS handshake"
                              + " (refused: they would pass as protected; CVE-2011-0411)", context: context, close: true)
            }
            upgrade(context: context)
        case .fail(let reason):
            refuse("starttls \(dialogue.dialogue.rawValue): \(reason); the connection stays plain", context: context, close: false)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if upgraded, case TLSUserEvent.handshakeCompleted = event {
            answer(failure: nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed handshake: the request fails with the reason (already worded by the
        // `TLSHandshakeReporter` in front), and the connection closes as it would anyway.
        guard !answered else { return context.fireErrorCaught(error) }
        answered = true
        connection.fail(request: request, with: error, call: "tls handshake")
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !answered {
            answer(failure: SocketFailure(call: "starttls", explanation: "the connection closed before TLS was up",
                                          target: target))
        }
        context.fireChannelInactive()
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// Puts the TLS handlers in front of the tap. The handshake starts as `NIOSSLClientHandler`
    /// is added (the channel is active), so the wire observer goes in first, to see its hello.
    private func upgrade(context: ChannelHandlerContext) {
        upgraded = true
        do {
            let handlers = try setup.handlers(for: id, sink: sink, target: target)
            guard handlers.count == 3 else { throw ChannelError.operationUnsupported }
            let operations = context.pipeline.syncOperations
            // A capture tap stays nearest the socket: it must see the ciphertext from now on.
            let capture = try? operations.handler(type: StreamCaptureTap.self)
            capture?.tlsBehind = true
            let front: ChannelPipeline.SynchronousOperations.Position = capture.map { .after($0) } ?? .first
            try operations.addHandler(handlers[2], position: front)
            try operations.addHandler(handlers[0], position: front)
            try operations.addHandler(handlers[1], position: .after(handlers[0]))
            connection.tap.wire = (handlers[0] as? TLSWireObserver)?.session
        } catch {
            answered = true
            connection.fail(request: request, with: error, call: "starttls")
        }
    }

    private func refuse(_ reason: String, context: ChannelHandlerContext, close: Bool) {
        let failure = SocketFailure(call: "starttls", explanation: reason, target: target)
        if close {
            answered = true
            connection.fail(request: request, with: failure, call: "starttls")
        } else {
            answer(failure: failure)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func answer(failure: SocketFailure?) {
        guard !answered else { return }
        answered = true
        connection.tap.reportNow()
        sink.complete(request, failure: failure, socket: id)
    }
}
