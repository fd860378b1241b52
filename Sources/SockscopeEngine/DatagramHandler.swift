import Glibc
import NIOCore
import SockscopeCore

/// Drives one UDP socket: a listener (bound; receives from anyone, answers the sender)
/// or a connected socket (talks to one peer).
///
/// A UDP listener's datagrams are reported on the listener's own id, as `.receivedFrom` and
/// `.sentTo` with the peer's address (one event per datagram: boundaries are kept). In `.echo`
/// mode each datagram goes back to its sender; in `.reply` mode every datagram is answered
/// with the reply bytes; `.send` to a listener goes to the most recent sender, `.sendTo` to
/// any address. A connected socket reports plain `.received` and `.sent`.
/// Every method runs on the channel's event loop.
final class DatagramHandler: ChannelInboundHandler, AddressedDatagramControl {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    enum Role {
        case listener(ListenMode)
        /// Connected by a `.connect` request, completed once the socket is connected.
        case connected(SocketID, request: RequestID)
    }

    private let role: Role
    private let sink: EventSink
    private let registry: SocketRegistry

    private var id: SocketID?
    private var context: ChannelHandlerContext?
    private var lastSender: SocketAddress?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    init(role: Role, sink: EventSink, registry: SocketRegistry) {
        self.role = role
        self.sink = sink
        self.registry = registry
    }

    /// Names the socket once it is bound (listener) or connected, and starts reading.
    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        registry.register(id, channel: channel, control: self)
        if case .connected(_, let request) = role {
            sink.emit(.connected(id, local: SocketEndpoint(channel.localAddress),
                                 remote: SocketEndpoint(channel.remoteAddress)), request: request)
            sink.complete(request)
        }
        channel.setOption(.autoRead, value: true).whenFailure { [sink] error in
            sink.emit(.error(id, .from(error, call: "recvmsg")))
        }
    }

    var capability: SocketCapability { .addressedDatagrams(self) }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }
    var isIPv6: Bool { if case .v6? = context?.channel.localAddress { true } else { false } }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let id else { return }
        let envelope = Self.unwrapInboundIn(data)
        let count = envelope.data.readableBytes
        // Whole datagrams for a consumer that needs every byte (see `PayloadCredit`).
        let credit = registry.payloadCredit
        let kept = credit == nil ? min(count, DataPreview.limit) : count
        let preview = envelope.data.getBytes(at: envelope.data.readerIndex, length: kept) ?? []
        guard case .listener(let mode) = role else {
            credit?.charge(count)
            return sink.emit(.received(id, bytes: preview, count: count))
        }
        sink.emit(.receivedFrom(id, from: SocketEndpoint(envelope.remoteAddress), bytes: preview, count: count))
        lastSender = envelope.remoteAddress
        switch mode {
        case .echo:
            write(envelope.data, to: envelope.remoteAddress, preview: preview, request: nil, context: context)
        case .reply(let bytes):
            write(context.channel.allocator.buffer(bytes: bytes), to: envelope.remoteAddress,
                  preview: Array(bytes.prefix(DataPreview.limit)), request: nil, context: context)
        case .interactive, .discard:
            break
        }
    }

    /// UDP errors (ECONNREFUSED from an ICMP "port unreachable") do not end the socket.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sink.emit(.error(id, .from(error, call: "recvmsg", namedByNIO: false)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id { registry.remove(id) }
        sink.reportClosed(id, reason: closeReason ?? (registry.isStopping ? "engine stopped" : "socket failed"),
                          closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }

    // MARK: SocketControl

    func send(_ bytes: [UInt8], request: RequestID) {
        guard let context, context.channel.isActive, closeReason == nil else {
            return sink.complete(request, failure: SocketFailure(call: "send", explanation: "no open socket \(name)"),
                                 socket: id)
        }
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        let preview = Array(bytes.prefix(DataPreview.limit))
        switch role {
        case .connected:
            write(buffer, to: nil, preview: preview, request: request, context: context)
        case .listener:
            guard let lastSender else {
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "\(name) has no peer yet: nothing has sent it a datagram"), socket: id)
            }
            write(buffer, to: lastSender, preview: preview, request: request, context: context)
        }
    }

    /// One datagram to `address` (already resolved) from a listener; a connected socket
    /// may only talk to its peer.
    func send(_ bytes: [UInt8], to address: SocketAddress, request: RequestID) {
        guard let context, context.channel.isActive, closeReason == nil else {
            return sink.complete(request, failure: SocketFailure(call: "sendto", explanation: "no open socket \(name)"),
                                 socket: id)
        }
        if case .connected = role, let peer = context.channel.remoteAddress, peer != address {
            return sink.complete(request, failure: SocketFailure(
                call: "sendto", errno: EISCONN, code: "EISCONN",
                explanation: "\(name) is connected to \(SocketEndpoint(peer)): it can send only there (use send)"), socket: id)
        }
        // A connected socket's writes carry no address (NIO refuses addressed writes there).
        let destination: SocketAddress? = if case .connected = role { nil } else { address }
        write(context.channel.allocator.buffer(bytes: bytes), to: destination,
              preview: Array(bytes.prefix(DataPreview.limit)), request: request, context: context)
    }

    func close(reason: String, request: RequestID?) {
        guard let context, context.channel.isActive else {
            if let request {
                sink.complete(request, failure: SocketFailure(call: "close", explanation: "no open socket \(name)"),
                              socket: id)
            }
            return
        }
        if let request { closeRequests.append(request) }
        if closeReason == nil {
            closeReason = reason
            context.close(promise: nil)
        }
    }

    // MARK: Helpers

    private var name: String { id.map(String.init(describing:)) ?? "(unbound)" }

    /// `to: nil` writes on a connected socket, which accepts plain buffers.
    private func write(_ buffer: ByteBuffer, to peer: SocketAddress?, preview: [UInt8], request: RequestID?,
                       context: ChannelHandlerContext) {
        let count = buffer.readableBytes
        let promise = context.eventLoop.makePromise(of: Void.self)
        let message = peer.map { NIOAny(AddressedEnvelope(remoteAddress: $0, data: buffer)) } ?? NIOAny(buffer)
        context.writeAndFlush(message, promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { result in
            guard let id = self.id else { return }
            switch result {
            case .success:
                if let peer, case .listener = self.role {
                    self.sink.emit(.sentTo(id, to: SocketEndpoint(peer), bytes: preview, count: count), request: request)
                } else {
                    self.sink.emit(.sent(id, bytes: preview, count: count), request: request)
                }
            case .failure(let error):
                self.sink.emit(.error(id, .from(error, call: "sendmsg", namedByNIO: false)), request: request)
            }
            if let request { self.sink.complete(request) }
        }
    }
}
