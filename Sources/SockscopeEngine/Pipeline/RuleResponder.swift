import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// A rule as the engine runs it: its matcher compiled and its reply parsed once, when the
/// rule is made; `{{count}}` counts its firings on every connection it answers.
final class LiveRule: Sendable {
    let number: Int
    let owner: RuleOwner
    let rule: Rule
    let matcher: ByteMatcher
    /// What a firing must look up for the reply (the clock, the count...), nothing more.
    let usesTime: Bool, usesCount: Bool, usesPeer: Bool, usesRandom: Bool
    /// The reply takes a regex's captures (`\1`...): only then are they built per match.
    let usesCaptures: Bool
    private let firings = NIOLockedValueBox(0)

    init(number: Int, owner: RuleOwner, rule: Rule) throws(ByteMatcher.PatternError) {
        self.number = number
        self.owner = owner
        self.rule = rule
        matcher = try ByteMatcher(rule.pattern)
        (usesTime, usesCount, usesPeer, usesRandom) = rule.reply.uses
        usesCaptures = rule.reply.highestCapture > 0
    }

    /// This firing's number, counting every connection's.
    func nextCount() -> Int {
        firings.withLockedValue { count in
            count += 1
            return count
        }
    }
}

/// Every rule of the engine, by owner. Thread-safe: rules are changed by requests and read
/// by connections (when they open, and when told their rules changed), never per read.
final class RuleBook: Sendable {
    private let rules = NIOLockedValueBox<[RuleOwner: [LiveRule]]>([:])

    /// False when the owner already has `Rule.limitPerOwner` rules.
    func add(_ rule: LiveRule) -> Bool {
        rules.withLockedValue { rules in
            guard rules[rule.owner, default: []].count < Rule.limitPerOwner else { return false }
            rules[rule.owner, default: []].append(rule)
            return true
        }
    }

    func remove(_ number: Int, from owner: RuleOwner) -> Bool {
        rules.withLockedValue { rules in
            guard let index = rules[owner]?.firstIndex(where: { $0.number == number }) else { return false }
            rules[owner]?.remove(at: index)
            if rules[owner]?.isEmpty == true { rules[owner] = nil }
            return true
        }
    }

    /// A connection's own rules end with it.
    func forget(_ owner: RuleOwner) {
        _ = rules.withLockedValue { $0.removeValue(forKey: owner) }
    }

    /// One owner's rules, in order.
    func rules(of owner: RuleOwner) -> [LiveRule] {
        rules.withLockedValue { $0[owner] ?? [] }
    }

    /// The rules a connection answers by, in the order they are tried: its own, its listener's, everyone's.
    func rules(for connection: SocketID, listener: SocketID?) -> [LiveRule] {
        rules.withLockedValue { rules in
            guard !rules.isEmpty else { return [] }
            return (rules[.socket(connection)] ?? []) + (listener.flatMap { rules[.socket($0)] } ?? []) + (rules[.all] ?? [])
        }
    }
}

/// Answers a stream connection by its rules (`Rule`): it sits behind the `StreamTap` (which
/// counts its replies as it counts an echo) and passes every read on unchanged, so a
/// listener's mode still works and the `ConnectionHandler` still sees the reads.
///
/// Lines are found in the read buffers themselves: a line wholly inside one read is
/// matched where it lies, and only a line cut across reads is copied (into `partialLine`).
/// Firings are counted here and reported by the tap, between the reads and the replies
/// they caused (`reportFirings`). Every method runs on the channel's event loop.
final class RuleResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A line longer than this is matched as far as it got, then the rest of it starts anew.
    static let longestLine = 64 * 1024

    @exclusivity(unchecked) private var rules: [LiveRule] = []
    @exclusivity(unchecked) private var hasLineRules = false
    @exclusivity(unchecked) private var hasRawRules = false
    /// The start of a line whose end has not arrived yet.
    @exclusivity(unchecked) private var partialLine: [UInt8] = []
    /// `--once` rules that fired on this connection.
    private var firedOnce: Set<Int> = []
    /// Firings since the last report: (rule number, times).
    @exclusivity(unchecked) private var firings: [(rule: Int, times: Int)] = []
    /// Reused for every reply: rendered here, then copied once into the buffer that goes out.
    @exclusivity(unchecked) private var reply: [UInt8] = []
    /// Reused for every match: where the firing rule's groups lie in the unit it matched.
    @exclusivity(unchecked) private var groups: ByteMatcher.Groups = []
    @exclusivity(unchecked) private var unflushed = false
    /// Off once the connection takes no new output (closing, shut down for writing).
    @exclusivity(unchecked) private var isAnswering = true
    private var context: ChannelHandlerContext?
    private var peer: String?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// The connection's rules changed (or were first read).
    func update(_ rules: [LiveRule]) {
        self.rules = rules
        hasLineRules = rules.contains { $0.rule.framing == .lines }
        hasRawRules = rules.contains { $0.rule.framing == .reads }
        if !hasLineRules { partialLine = [] }
    }

    func stopAnswering() {
        isAnswering = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isAnswering, !rules.isEmpty {
            Self.unwrapInboundIn(data).withUnsafeReadableBytes { answer($0, context: context) }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A last line the peer did not end before its FIN is still a line.
        if case ChannelEvent.inputClosed = event, isAnswering, hasLineRules, !partialLine.isEmpty {
            let line = partialLine
            partialLine = []
            line.withUnsafeBytes { answerLine($0, ending: [], context: context) }
            if unflushed {
                unflushed = false
                context.flush()
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Emits what fired since the last report (the tap calls it between reads and replies).
    func reportFirings(_ id: SocketID, sink: EventSink) {
        guard !firings.isEmpty else { return }
        for firing in firings { sink.emit(.ruleFired(id, rule: firing.rule, times: firing.times)) }
        firings.removeAll(keepingCapacity: true)
    }

    // MARK: Matching

    private func answer(_ bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        if hasRawRules {
            var text: MatchText?
            for rule in rules where rule.rule.framing == .reads && mayFire(rule) {
                if rule.matcher.matchUnit(bytes, text: &text, groups: &groups, capturing: rule.usesCaptures) {
                    // A read a --raw rule answered is not also looked at line by line.
                    return fire(rule, matching: bytes, ending: [], context: context)
                }
            }
        }
        guard hasLineRules else { return }
        var start = 0
        while start < bytes.count {
            guard let newline = Self.newline(in: bytes, from: start) else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
                if partialLine.count >= Self.longestLine {
                    let line = partialLine
                    partialLine = []
                    line.withUnsafeBytes { answerLine($0, ending: [], context: context) }
                }
                return
            }
            if partialLine.isEmpty {
                answerLine(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), ending: [0x0A], context: context)
            } else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<newline]))
                let line = partialLine
                partialLine.removeAll(keepingCapacity: true)
                line.withUnsafeBytes { answerLine($0, ending: [0x0A], context: context) }
            }
            start = newline + 1
        }
    }

    private static func newline(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        guard let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// One line without its `\n`; a `\r` before it is not part of the line either, and comes back on the reply.
    private func answerLine(_ line: UnsafeRawBufferPointer, ending: [UInt8], context: ChannelHandlerContext) {
        var content = line
        var ending = ending
        if content.last == 0x0D, !ending.isEmpty {
            content = UnsafeRawBufferPointer(rebasing: content.dropLast())
            ending = [0x0D, 0x0A]
        }
        var text: MatchText?
        for rule in rules where rule.rule.framing == .lines && mayFire(rule) {
            if rule.matcher.matchUnit(content, text: &text, groups: &groups, capturing: rule.usesCaptures) {
                return fire(rule, matching: content, ending: ending, context: context)
            }
        }
    }

    private func mayFire(_ rule: LiveRule) -> Bool {
        !rule.rule.once || !firedOnce.contains(rule.number)
    }

    // MARK: Replies

    /// `rule` matched `unit`, its groups in `groups`: the reply is rendered now, while the unit's bytes are at hand.
    private func fire(_ rule: LiveRule, matching unit: UnsafeRawBufferPointer, ending: [UInt8], context: ChannelHandlerContext) {
        if rule.rule.once { firedOnce.insert(rule.number) }
        if let index = firings.firstIndex(where: { $0.rule == rule.number }) {
            firings[index].times += 1
        } else {
            firings.append((rule: rule.number, times: 1))
        }
        let replyContext = ReplyTemplate.Context(
            time: rule.usesTime ? .now() : Timestamp(nanoseconds: 0), count: rule.usesCount ? rule.nextCount() : 0,
            peer: rule.usesPeer ? peerText(context) : "", random: rule.usesRandom ? UInt32.random(in: .min ... .max) : 0)
        reply.removeAll(keepingCapacity: true)
        rule.rule.reply.render(groups: groups, of: unit, context: replyContext, into: &reply)
        if rule.rule.addsLineEnding, !ending.isEmpty, reply.last != 0x0A { reply += ending }
        let buffer = context.channel.allocator.buffer(bytes: reply)
        let closes = rule.rule.closes
        let reason = closes ? "closed by rule R\(rule.number) (--close)" : nil
        if closes { isAnswering = false }
        guard rule.rule.delayMilliseconds > 0 else { return send(buffer, closing: reason, context: context) }
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(rule.rule.delayMilliseconds))) {
            guard let context = self.context, context.channel.isActive, self.isAnswering || closes else { return }
            self.send(buffer, closing: reason, context: context)
            if self.unflushed {
                self.unflushed = false
                context.flush()
            }
        }
    }

    private func send(_ buffer: ByteBuffer, closing reason: String?, context: ChannelHandlerContext) {
        // No promise: the tap counts it as it counts an echo.
        context.write(Self.wrapOutboundOut(buffer), promise: nil)
        unflushed = true
        if let reason {
            unflushed = false
            context.flush()
            // Found when needed (a --close is rare), not kept: a weak reference to the
            // connection's handler would give it a side table, and every retain of it (NIO
            // retains each handler as it passes it each read) would take the slow path.
            (try? context.pipeline.syncOperations.handler(type: ConnectionHandler.self))?.closeAfterOutput(reason: reason)
        }
    }

    private func peerText(_ context: ChannelHandlerContext) -> String {
        if let peer { return peer }
        let text = SocketEndpoint(context.channel.remoteAddress).description
        peer = text
        return text
    }
}
