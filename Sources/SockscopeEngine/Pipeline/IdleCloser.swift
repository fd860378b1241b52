import NIOCore
import SockscopeCore

/// Closes a connection that has been silent (nothing read or written) for the
/// listener's `--idle-timeout`, saying why. NIO's `IdleStateHandler` in front of
/// it arms one timer per connection, only while the connection is open.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let connection: any SocketControl
    private let timeoutMilliseconds: Int

    init(connection: any SocketControl, timeoutMilliseconds: Int) {
        self.connection = connection
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            let seconds = Double(timeoutMilliseconds) / 1000
            connection.close(reason: "idle for \(seconds) s (--idle-timeout)", request: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
