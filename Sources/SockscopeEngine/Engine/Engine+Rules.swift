import NIOCore
import SockscopeCore

/// `rule`: the engine keeps every rule in its `RuleBook` and tells the connections a change
/// concerns; each reads its own again (`StreamControl.refreshRules`). A request completes
/// once every such connection has its new rules, so a script's next line meets them.
extension Engine {
    func addRule(_ rule: Rule, number: Int, to owner: RuleOwner, request: RequestID) {
        let sink = sink
        let registry = registry
        withRuleOwner(owner, request: request) {
            let live: LiveRule
            do throws(ByteMatcher.PatternError) {
                live = try LiveRule(number: number, owner: owner, rule: rule)
            } catch {
                return sink.complete(request, failure: SocketFailure(call: "rule", explanation: error.message), socket: owner.socketID)
            }
            guard registry.rules.add(live) else {
                return sink.complete(request, failure: SocketFailure(
                    call: "rule", explanation: "\(owner) has \(Rule.limitPerOwner) rules, the most one socket may have"),
                    socket: owner.socketID)
            }
            self.refreshRules(of: owner) { sink.complete(request) }
        }
    }

    func removeRule(_ number: Int, from owner: RuleOwner, request: RequestID) {
        let sink = sink
        let registry = registry
        let loop = group.next()
        loop.execute {
            guard registry.rules.remove(number, from: owner) else {
                return sink.complete(request, failure: SocketFailure(call: "rule", explanation: "\(owner) has no rule R\(number)"),
                                     socket: owner.socketID)
            }
            self.refreshRules(of: owner) { sink.complete(request) }
        }
    }

    /// Runs `body` on a loop once the owner is known to take rules: an open stream
    /// connection or stream listener, or `all`.
    private func withRuleOwner(_ owner: RuleOwner, request: RequestID, _ body: @escaping @Sendable () -> Void) {
        guard case .socket(let id) = owner else { return group.next().execute(body) }
        let sink = sink
        withOpenSocket(id, request: request, call: "rule") { control in
            switch control.capability {
            case .stream, .listener, .addressedDatagrams:
                body()
            case .namedDatagrams:
                sink.complete(request, failure: SocketFailure(
                    call: "rule", explanation: "rules answer TCP, UNIX stream and UDP sockets; \(id) is a UNIX datagram socket"),
                    socket: id)
            case .relay:
                sink.complete(request, failure: SocketFailure(
                    call: "rule", explanation: "\(id) is a relay: it forwards what its clients and its target say, rules do not answer for it"),
                    socket: id)
            }
        }
    }

    /// Tells every open stream connection and UDP socket its rules may have changed, then runs `done`.
    private func refreshRules(of owner: RuleOwner, then done: @escaping @Sendable () -> Void) {
        // A connection's own rule concerns it alone; a listener's or everyone's, any connection.
        let entries: [SocketRegistry.Entry]
        if case .socket(let id) = owner, id.kind == .connection {
            entries = registry.entry(for: id).map { [$0] } ?? []
        } else {
            entries = registry.openEntries()
        }
        let refreshed = entries.map { entry in
            entry.eventLoop.submit {
                let control = entry.control.value
                if case .stream(let stream) = control.capability {
                    stream.refreshRules()
                } else if let datagrams = control as? DatagramHandler {
                    datagrams.refreshRules()
                }
            }
        }
        EventLoopFuture.andAllComplete(refreshed, on: group.next()).whenComplete { _ in done() }
    }
}
