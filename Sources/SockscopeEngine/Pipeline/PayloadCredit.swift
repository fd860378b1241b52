import NIOConcurrencyHelpers
import NIOCore

/// Whole payloads for a consumer that needs every byte (`sockscope HOST PORT` writing what
/// arrives to stdout, `--payload base64`), bounded by backpressure instead of a queue.
///
/// With a credit, stream connections report every byte they read, not a 1 KiB preview.
/// Each report charges the credit; the consumer pays it back once the bytes are written
/// out. While more than `limit` bytes are unpaid, connections stop asking the kernel for
/// more (the peer's window fills and it slows down), and resume when the consumer has
/// caught up. So at most `limit` bytes, plus one read per connection, wait between the
/// socket and the consumer, however fast the peer sends and however slow stdout is.
public final class PayloadCredit: Sendable {
    public let limit: Int

    private struct State {
        var unpaid = 0
        /// Connections that held back a read while the credit was spent.
        var waiting: [@Sendable () -> Void] = []
    }
    private let state = NIOLockedValueBox(State())

    public init(limit: Int = 4 << 20) { self.limit = limit }

    /// Bytes reported and not yet paid back.
    public var unpaid: Int { state.withLockedValue { $0.unpaid } }

    /// A connection reported `count` bytes.
    func charge(_ count: Int) {
        state.withLockedValue { $0.unpaid += count }
    }

    /// Whether a connection may read now; if not, `resume` runs once it may.
    func mayRead(orWhenAllowed resume: @escaping @Sendable () -> Void) -> Bool {
        state.withLockedValue { state in
            guard state.unpaid >= limit else { return true }
            state.waiting.append(resume)
            return false
        }
    }

    /// For a tap's `read(context:)`: whether the read may go on now; if not, `again` runs
    /// on the channel's loop, while the channel is still active, once it may.
    func mayRead(context: ChannelHandlerContext, again: @escaping () -> Void) -> Bool {
        let loop = context.eventLoop
        let channel = context.channel
        let again = NIOLoopBound(again, eventLoop: loop)
        return mayRead(orWhenAllowed: { loop.execute { if channel.isActive { again.value() } } })
    }

    /// The consumer has written `count` reported bytes out.
    public func pay(_ count: Int) {
        let resumed = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.unpaid = max(0, state.unpaid - count)
            guard state.unpaid < limit else { return [] }
            defer { state.waiting = [] }
            return state.waiting
        }
        for resume in resumed { resume() }
    }
}
