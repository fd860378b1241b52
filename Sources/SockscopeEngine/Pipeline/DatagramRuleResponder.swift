import NIOCore
import SockscopeCore

/// Answers a UDP socket's datagrams by its rules (`rule L1 when ... reply ...`), each reply a
/// datagram to the sender of the datagram that matched. Behind the `DatagramTap` (which
/// reports each reply as it reports an echo) and in front of the socket's responder: every
/// datagram is passed on, so a listener's `--echo` still echoes.
///
/// A datagram is a message: a `--raw` rule matches it whole; a line rule matches each of its
/// lines (split at `\n`; the last one need not end in `\n`; a `\r` before `\n` is not part of
/// the line and comes back on the reply). First match wins per line, in order. `--once` is
/// per socket; `--close` does not apply (the reducer refuses it). Firings are counted in the
/// socket's `DatagramLog`, so they come after the datagram that caused them and before the
/// replies. Every method runs on the channel's event loop.
final class DatagramRuleResponder: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let log: DatagramLog
    private var rules: [LiveRule] = []
    private var firedOnce: Set<Int> = []
    private var reply: [UInt8] = []
    /// Reused for every match: where the firing rule's groups lie in the unit it matched.
    private var groups: ByteMatcher.Groups = []
    private var context: ChannelHandlerContext?

    init(log: DatagramLog) {
        self.log = log
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func update(_ rules: [LiveRule]) {
        self.rules = rules
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !rules.isEmpty {
            let envelope = Self.unwrapInboundIn(data)
            envelope.data.withUnsafeReadableBytes { answer($0, from: envelope.remoteAddress, context: context) }
        }
        context.fireChannelRead(data)
    }

    private func answer(_ bytes: UnsafeRawBufferPointer, from peer: SocketAddress, context: ChannelHandlerContext) {
        var text: MatchText?
        for rule in rules where rule.rule.framing == .reads && mayFire(rule) {
            if rule.matcher.matchUnit(bytes, text: &text, groups: &groups, capturing: rule.usesCaptures) {
                // A datagram a --raw rule answered is not also looked at line by line.
                return fire(rule, matching: bytes, ending: [], to: peer, context: context)
            }
        }
        guard rules.contains(where: { $0.rule.framing == .lines }) else { return }
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A)
            var line = UnsafeRawBufferPointer(rebasing: bytes[start..<(end ?? bytes.count)])
            var ending: [UInt8] = end == nil ? [] : [0x0A]
            if end != nil, line.last == 0x0D {
                line = UnsafeRawBufferPointer(rebasing: line.dropLast())
                ending = [0x0D, 0x0A]
            }
            var text: MatchText?
            for rule in rules where rule.rule.framing == .lines && mayFire(rule) {
                if rule.matcher.matchUnit(line, text: &text, groups: &groups, capturing: rule.usesCaptures) {
                    fire(rule, matching: line, ending: ending, to: peer, context: context)
                    break
                }
            }
            start = (end ?? bytes.count) + 1
        }
    }

    private func mayFire(_ rule: LiveRule) -> Bool {
        !rule.rule.once || !firedOnce.contains(rule.number)
    }

    /// `rule` matched `unit`, its groups in `groups`: the reply is rendered now, while the unit's bytes are at hand.
    private func fire(_ rule: LiveRule, matching unit: UnsafeRawBufferPointer, ending: [UInt8], to peer: SocketAddress,
                      context: ChannelHandlerContext) {
        if rule.rule.once { firedOnce.insert(rule.number) }
        log.ruleFired(rule.number)
        let replyContext = ReplyTemplate.Context(
            time: rule.usesTime ? .now() : Timestamp(nanoseconds: 0), count: rule.usesCount ? rule.nextCount() : 0,
            peer: rule.usesPeer ? SocketEndpoint(peer).description : "",
            random: rule.usesRandom ? UInt32.random(in: .min ... .max) : 0)
        reply.removeAll(keepingCapacity: true)
        rule.rule.reply.render(groups: groups, of: unit, context: replyContext, into: &reply)
        if rule.rule.addsLineEnding, !ending.isEmpty, reply.last != 0x0A { reply += ending }
        let answer = AddressedEnvelope(remoteAddress: peer, data: context.channel.allocator.buffer(bytes: reply))
        guard rule.rule.delayMilliseconds > 0 else {
            return context.writeAndFlush(Self.wrapOutboundOut(answer), promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(rule.rule.delayMilliseconds))) {
            guard let context = self.context, context.channel.isActive else { return }
            context.writeAndFlush(Self.wrapOutboundOut(answer), promise: nil)
        }
    }
}
