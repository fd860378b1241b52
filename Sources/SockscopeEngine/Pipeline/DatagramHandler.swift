import Glibc
import NIOCore
import SockscopeCore

/// Drives one UDP socket: a listener (bound; receives from anyone, answers the sender)
/// or a connected socket (talks to one peer): its life and the user's requests.
///
/// Datagrams are reported by the `DatagramTap` at the head of the pipeline, as `.receivedFrom`
/// and `.sentTo` with the peer's address, one event per datagram (boundaries are kept;
/// `DatagramLog` bounds a flood), a listener's on the listener's own id. A listener's
/// `--echo` or `--reply` is a `DatagramResponder` between the tap and this handler. `.send`
/// to a listener goes to the most recent sender, `.sendTo` to any address. Every method
/// runs on the channel's event loop.
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
    /// Counts and reports the datagrams; requested ones go out through it.
    private let tap: DatagramTap
    private let responder: DatagramResponder?
    /// Answers by the socket's rules; added behind the tap once it has any (`refreshRules`).
    private var rules: DatagramRuleResponder?
    private var log: DatagramLog { tap.log }
    private var context: ChannelHandlerContext?
    private var lastSender: SocketAddress?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    init(role: Role, sink: EventSink, registry: SocketRegistry) {
        self.role = role
        self.sink = sink
        self.registry = registry
        let isConnected = if case .connected = role { true } else { false }
        tap = DatagramTap(sink: sink, credit: registry.payloadCredit, isConnected: isConnected)
        responder = if case .listener(let mode) = role {
            Responder(mode: mode, framing: .datagrams).map(DatagramResponder.init)
        } else {
            nil
        }
    }

    /// Builds a UDP socket's pipeline, the one place it is built: `DatagramTap` (counts and
    /// reports), then `DatagramResponder` (a listener's echo or reply), then this handler.
    /// Call from the channel's initializer.
    func install(on channel: any Channel) throws {
        let pipeline = channel.pipeline.syncOperations
        if let writer = registry.capture.writer { try pipeline.addHandler(makeCaptureTap(writer)) }
        try pipeline.addHandler(tap)
        if let responder { try pipeline.addHandler(responder) }
        try pipeline.addHandler(self)
    }

    private func makeCaptureTap(_ writer: CaptureWriter) -> DatagramCaptureTap {
        DatagramCaptureTap(writer: writer) { [unowned self] in id?.description ?? "a UDP socket" }
    }

    /// The socket's rules, read again from the engine's book (its own only: `rule all` is for
    /// stream connections): the first time it has any, a `DatagramRuleResponder` joins the
    /// pipeline right behind the tap.
    func refreshRules() {
        guard let id, let context else { return }
        let live = registry.rules.rules(of: .socket(id))
        if rules == nil {
            guard !live.isEmpty else { return }
            let added = DatagramRuleResponder(log: tap.log)
            do {
                try context.pipeline.syncOperations.addHandler(added, position: .after(tap))
            } catch {
                return sink.emit(.error(id, .from(error, call: "rule")))
            }
            rules = added
        }
        rules?.update(live)
    }

    /// `capture on` while the socket is open: the capture tap joins at the head of the pipeline.
    func startCapture(_ writer: CaptureWriter) {
        guard let context, (try? context.pipeline.syncOperations.handler(type: DatagramCaptureTap.self)) == nil else { return }
        try? context.pipeline.syncOperations.addHandler(makeCaptureTap(writer), position: .first)
    }

    /// `capture off`: the tap leaves.
    func stopCapture() {
        guard let context, let capture = try? context.pipeline.syncOperations.handler(type: DatagramCaptureTap.self) else { return }
        context.pipeline.syncOperations.removeHandler(capture, promise: nil)
    }

    /// Every UDP channel's `.recvAllocator` (listeners and connected sockets).
    static var receiveAllocator: FixedSizeRecvByteBufferAllocator { .init(capacity: DatagramTap.receiveBufferSize) }

    /// Names the socket once it is bound (listener) or connected, and starts reading.
    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        tap.id = id
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

    /// The tap reported the datagram; a listener answers the latest sender on `send`.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .listener = role else { return }
        lastSender = Self.unwrapInboundIn(data).remoteAddress
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
        switch role {
        case .connected:
            guard let peer = context.channel.remoteAddress else {
                return sink.complete(request, failure: SocketFailure(call: "send", explanation: "no open socket \(name)"),
                                     socket: id)
            }
            write(buffer, to: peer, request: request)
        case .listener:
            guard let lastSender else {
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "\(name) has no peer yet: nothing has sent it a datagram"), socket: id)
            }
            write(buffer, to: lastSender, request: request)
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
        write(context.channel.allocator.buffer(bytes: bytes), to: address, request: request)
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

    /// One datagram through the tap, which reports it (or its error) answering `request`.
    private func write(_ buffer: ByteBuffer, to peer: SocketAddress, request: RequestID) {
        guard let written = tap.send(AddressedEnvelope(remoteAddress: peer, data: buffer), request: request) else {
            return sink.complete(request, failure: SocketFailure(call: "sendto", explanation: "no open socket \(name)"),
                                 socket: id)
        }
        written.assumeIsolated().whenComplete { _ in self.sink.complete(request) }
    }
}
