import Glibc
import NIOCore
import SockscopeCore

/// Drives one UDP socket: a listener (bound; receives from anyone, answers the sender)
/// or a connected socket (talks to one peer).
///
/// Datagrams are reported as `.receivedFrom` and `.sentTo` with the peer's address, one
/// event per datagram (boundaries are kept; `DatagramLog` bounds a flood), a listener's on
/// the listener's own id. In `.echo` mode each datagram goes back to its sender; in `.reply`
/// mode every datagram is answered with the reply bytes; `.send` to a listener goes to the
/// most recent sender, `.sendTo` to any address. Every method runs on the channel's event loop.
final class DatagramHandler: ChannelDuplexHandler, AddressedDatagramControl {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    // Writes pass through untouched (addressed envelopes, or plain buffers when connected);
    // the outbound side is here only to hold reads back (`read(context:)`).
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Every datagram is read into a buffer this size (`FixedSizeRecvByteBufferAllocator`;
    /// NIO's default for datagram channels is 2048 bytes, which cut longer datagrams).
    /// 64 KiB holds the largest UDP payload, 65 507 bytes over IPv4 and 65 527 over IPv6,
    /// so nothing is ever cut. The cost is one 64 KiB buffer per UDP socket, kept by NIO
    /// while idle: acceptable because UDP sockets are few (a listener serves every peer).
    /// NIO does not pass recvmsg's MSG_TRUNC on; a read that fills the whole buffer is
    /// therefore reported as truncated (no whole UDP datagram can be that long).
    static let receiveBufferSize = 65_536

    enum Role {
        case listener(ListenMode)
        /// Connected by a `.connect` request, completed once the socket is connected.
        case connected(SocketID, request: RequestID)
    }

    private let role: Role
    private let sink: EventSink
    private let registry: SocketRegistry

    private var id: SocketID?
    private let log: DatagramLog
    /// A connected socket's peer, as its datagrams name it.
    private var peer = SocketEndpoint.unknown
    private var context: ChannelHandlerContext?
    private var lastSender: SocketAddress?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    init(role: Role, sink: EventSink, registry: SocketRegistry) {
        self.role = role
        self.sink = sink
        self.registry = registry
        // A consumer of whole payloads must get every datagram, not a count of the rest:
        // the credit bounds what waits for it instead (`read(context:)`).
        log = DatagramLog(sink: sink, logsEveryDatagram: registry.payloadCredit != nil)
    }

    /// Every UDP channel's `.recvAllocator` (listeners and connected sockets).
    static var receiveAllocator: FixedSizeRecvByteBufferAllocator { .init(capacity: receiveBufferSize) }

    /// Names the socket once it is bound (listener) or connected, and starts reading.
    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        log.id = id
        peer = SocketEndpoint(channel.remoteAddress)
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
        guard id != nil else { return }
        let envelope = Self.unwrapInboundIn(data)
        let count = envelope.data.readableBytes
        // Whole datagrams for a consumer that needs every byte (see `PayloadCredit`), charged
        // to it (the consumer pays back every received byte it prints).
        let credit = registry.payloadCredit
        let kept = credit == nil ? min(count, DataPreview.limit) : count
        let preview = envelope.data.getBytes(at: envelope.data.readerIndex, length: kept) ?? []
        credit?.charge(count)
        log.received(from: SocketEndpoint(envelope.remoteAddress), bytes: preview, count: count,
                     truncated: count >= Self.receiveBufferSize)
        guard case .listener(let mode) = role else { return }
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
        log.emitUnlogged()
        sink.emit(.error(id, SocketFailure.from(error, call: "recvmsg", namedByNIO: false).explained(on: .udp)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.emitUnlogged()
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

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // Whole payloads: no read while the consumer has not caught up (see `PayloadCredit`).
        if let credit = registry.payloadCredit {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            guard credit.mayRead(orWhenAllowed: { loop.execute { handler.value.readOnceAllowed() } }) else { return }
        }
        context.read()
    }

    /// The payload credit allows reading again.
    private func readOnceAllowed() {
        guard let context else { return }
        read(context: context)
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
                self.log.sent(to: peer.map(SocketEndpoint.init) ?? self.peer, bytes: preview, count: count, request: request)
            case .failure(let error):
                self.log.emitUnlogged()
                self.sink.emit(.error(id, SocketFailure.from(error, call: "sendmsg", namedByNIO: false).explained(on: .udp)),
                               request: request)
            }
            if let request { self.sink.complete(request) }
        }
    }
}
