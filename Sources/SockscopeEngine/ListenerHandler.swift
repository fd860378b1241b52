import Glibc
import NIOCore
import SockscopeCore

/// Sits in a listening (server) channel's pipeline: reports accept failures without
/// stopping, and reports the listener's one `.closed`.
///
/// Every method runs on the server channel's event loop.
final class ListenerHandler: ChannelInboundHandler, SocketControl {
    typealias InboundIn = any Channel

    private let sink: EventSink
    private let registry: SocketRegistry
    /// A UNIX socket's path, removed when the listener closes so the path can be reused.
    private let socketPath: String?
    /// Who may connect and how many at once.
    private let policy: ListenerPolicy
    /// Connections accepted through this listener and still open (for `--max-conns`).
    private var openConnections = 0

    private var id: SocketID?
    private var context: ChannelHandlerContext?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []

    init(sink: EventSink, registry: SocketRegistry, socketPath: String?, policy: ListenerPolicy = ListenerPolicy()) {
        self.sink = sink
        self.registry = registry
        self.socketPath = socketPath
        self.policy = policy
    }

    /// Each accepted connection passes here before it is set up: a refused peer is
    /// reported with its address and closed at once, never silently dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        guard !policy.isUnrestricted else { return context.fireChannelRead(data) }
        let remote = SocketEndpoint(child.remoteAddress)
        if let reason = policy.refusal(for: remote, openConnections: openConnections) {
            if let id { sink.emit(.refused(id, remote: remote, reason: reason)) }
            // Never registered with a loop, so closing releases the descriptor at once.
            child.close(promise: nil)
            return
        }
        openConnections += 1
        // The child may live on another loop; the count belongs to this one.
        let listener = NIOLoopBound(self, eventLoop: context.eventLoop)
        child.closeFuture.whenComplete { _ in
            listener.eventLoop.execute { listener.value.openConnections -= 1 }
        }
        context.fireChannelRead(data)
    }

    /// Names the listener once it is bound, before it accepts anything.
    func activate(as id: SocketID, channel: any Channel) {
        self.id = id
        registry.register(id, channel: channel, control: self)
    }

    var capability: SocketCapability { .listener }
    var optionAccess: (any SocketOptionAccess)? { context.map { ChannelOptionAccess(channel: $0.channel) } }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Accept failures (EMFILE, ENFILE, ECONNABORTED...) leave the listener open; NIO's
    /// `AcceptBackoffHandler` in front of us delays the next accept so this does not spin.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sink.emit(.error(id, SocketFailure.from(error, call: "accept", namedByNIO: false)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id {
            if let socketPath { unlink(socketPath) }
            registry.remove(id)
        }
        sink.reportClosed(id, reason: closeReason ?? (registry.isStopping ? "engine stopped" : "listener failed"),
                          closeRequests: closeRequests)
        closeRequests.removeAll()
        context.fireChannelInactive()
    }

    // MARK: SocketControl

    func send(_ bytes: [UInt8], request: RequestID) {
        let name = id.map(String.init(describing:)) ?? "a listener"
        sink.complete(request, failure: SocketFailure(
            call: "send", explanation: "\(name) is a listener: send to one of its connections instead"), socket: id)
    }

    func close(reason: String, request: RequestID?) {
        guard let context, context.channel.isActive else {
            if let request {
                sink.complete(request, failure: SocketFailure(
                    call: "close", explanation: "no open listener \(id.map(String.init(describing:)) ?? "")"), socket: id)
            }
            return
        }
        if let request { closeRequests.append(request) }
        if closeReason == nil {
            closeReason = reason
            context.close(promise: nil)
        }
    }
}
