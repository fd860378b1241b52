import Testing
import TestSupport
@testable import SockscopeCore

/// `rule` and `every` in the reducer: the list changes once the engine has made the
/// change; firings count on the rule; repeaters send in the background.
@Suite struct RuleReducerTests {
    func listening() -> AppState {
        var state = AppState(interactive: false)
        let listen = requests(Reducer.reduce(&state, .commandLine("listen 9000", origin: .prompt, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 5), listen.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, listen.id))
        return state
    }

    func notes(_ state: AppState) -> [String] {
        (0..<state.log.count).map { state.log[$0] }.compactMap { if case .note(let text) = $0.record { text } else { nil } }
    }

    @Test func aRuleIsListedOnceTheEngineHasItAndCountsItsFirings() throws {
        var state = listening()
        let add = try #require(requests(Reducer.reduce(&state, .commandLine(#"rule when "PING" reply "+PONG""#, origin: .prompt,
                                                                             time: t0))).first)
        guard case .addRule(.socket(L1), number: 1, let rule) = add.command else {
            Issue.record("\(add.command)")
            return
        }
        #expect(rule.pattern == .exact(Array("PING".utf8)))
        #expect(state.rules.isEmpty, "not before the engine answered")
        _ = Reducer.reduce(&state, event(.requestCompleted, add.id))
        #expect(state.rules[.socket(L1)]?.map(\.number) == [1])
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000")))
        _ = Reducer.reduce(&state, event(.ruleFired(C1, rule: 1, times: 3)))
        _ = Reducer.reduce(&state, .commandLine("rule L1 list", origin: .prompt, time: t0))
        #expect(notes(state).suffix(2) == ["L1 rules, tried in order:", #"  #1 when "PING" reply "+PONG" (fired 3 times)"#])
        #expect(state.rulesApplying(to: C1).map(\.row.number) == [1], "a listener's rule applies to its connections")
        // A refused change changes nothing; a removal does, once made.
        let refused = try #require(requests(Reducer.reduce(&state, .commandLine(#"rule L1 when "x" reply "y""#, origin: .prompt,
                                                                                 time: t0))).first)
        _ = Reducer.reduce(&state, event(.error(L1, SocketFailure(call: "rule", explanation: "no")), refused.id))
        _ = Reducer.reduce(&state, event(.requestCompleted, refused.id))
        #expect(state.rules[.socket(L1)]?.count == 1)
        let remove = try #require(requests(Reducer.reduce(&state, .commandLine("rule L1 remove #1", origin: .prompt, time: t0))).first)
        #expect(remove.command == .removeRule(.socket(L1), number: 1))
        _ = Reducer.reduce(&state, event(.requestCompleted, remove.id))
        #expect(state.rules.isEmpty)
        let missing = Reducer.reduce(&state, .commandLine("rule L1 remove 9", origin: .prompt, time: t0))
        #expect(missing == [.notice(.error, "rule: L1 has no rule #9; it has none")])
    }

    @Test func udpSocketsTakeRulesWithoutCloseAndUnixDatagramSocketsNone() {
        var state = AppState(interactive: false)
        let listen = requests(Reducer.reduce(&state, .commandLine("listen udp://127.0.0.1:5300", origin: .prompt, time: t0)))[0]
        _ = Reducer.reduce(&state, event(.listening(L1, .udp, local: "127.0.0.1:5300", mode: .interactive, backlog: 0), listen.id))
        let added = Reducer.reduce(&state, .commandLine(#"rule L1 when "x" reply "y""#, origin: .prompt, time: t0))
        #expect(requests(added).count == 1, "\(added)")
        let closing = Reducer.reduce(&state, .commandLine(#"rule L1 when "x" reply "y" --close"#, origin: .prompt, time: t0))
        #expect(closing == [.notice(.error, "rule: --close is for stream connections; L1 is a UDP socket, which answers each datagram")])
        let unix = requests(Reducer.reduce(&state, .commandLine("listen unixgram:/tmp/x.sock", origin: .prompt, time: t0)))[0]
        let L2 = SocketID(.listener, 2)
        _ = Reducer.reduce(&state, event(.listening(L2, .unixgram, local: .unix("/tmp/x.sock"), mode: .interactive, backlog: 0), unix.id))
        let refused = Reducer.reduce(&state, .commandLine(#"rule L2 when "x" reply "y""#, origin: .prompt, time: t0))
        #expect(refused == [.notice(.error, "rule: rules answer TCP, UNIX stream and UDP sockets; L2 is a UNIX datagram socket")])
    }

    @Test func aRulesFileAddsEachRuleAndNamesABadLine() throws {
        var state = AppState(interactive: false)
        let listen = requests(Reducer.reduce(&state, .commandLine("listen 9000 --rules /tmp/r.rules", origin: .script, time: t0)))[0]
        let effects = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 5),
                                                   listen.id))
        #expect(effects.contains(.loadRules(path: "/tmp/r.rules", owner: L1, listenRequest: listen.id)))
        let loaded = Reducer.reduce(&state, .ruleFile(owner: L1, path: "/tmp/r.rules",
                                                      lines: ["# fake redis", #"when "PING" reply "+PONG""#, "", "when /(/ reply x",
                                                              #"when prefix "QUIT" reply "+OK" --close"#],
                                                      listenRequest: listen.id, time: t0))
        let adds = requests(loaded)
        #expect(adds.count == 2)
        #expect(state.script.failure?.hasPrefix("listen --rules /tmp/r.rules:4: rule: bad regex /(/") == true,
                "\(state.script.failure ?? "")")
        #expect(state.script.waitingFor == adds.last?.id, "the script waits for the rules, not only the listen")
    }

    @Test func everySendsInTheBackgroundUntilItsCountOrStop() throws {
        var state = AppState(interactive: false)
        let connect = requests(Reducer.reduce(&state, .commandLine("connect 9000", origin: .script, time: t0)))[0]
        _ = Reducer.reduce(&state, .commandLine("every 100 --count 2 send tick", origin: .script, time: t0))
        _ = Reducer.reduce(&state, .commandLine("send after", origin: .script, time: t0))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), connect.id))
        var effects = Reducer.reduce(&state, event(.requestCompleted, connect.id))
        let commands = requests(effects).map(\.command)
        #expect(commands == [.send(C1, Array("tick".utf8)), .send(C1, Array("after".utf8))], "the script did not wait: \(commands)")
        let firstSend = requests(effects)[0]
        #expect(state.repeaters.first?.text == #"E1 every 100 ms send "tick" (1 sent, 1 to go)"#)
        effects = Reducer.reduce(&state, event(.requestCompleted, firstSend.id))
        let wait = try #require(requests(effects).first)
        #expect(wait.command == .wait(milliseconds: 100))
        effects = Reducer.reduce(&state, event(.requestCompleted, wait.id))
        let second = try #require(requests(effects).first)
        #expect(second.command == .send(C1, Array("tick".utf8)))
        effects = Reducer.reduce(&state, event(.requestCompleted, second.id))
        #expect(requests(effects).isEmpty && state.repeaters.isEmpty, "two sends, then it finished")
        // Until stop: `stop` ends it, and its request in flight leads nowhere.
        effects = Reducer.reduce(&state, .commandLine("every 50 send C1 x", origin: .prompt, time: t0))
        let pending = try #require(requests(effects).first)
        _ = Reducer.reduce(&state, .commandLine("stop", origin: .prompt, time: t0))
        #expect(state.repeaters.isEmpty)
        #expect(requests(Reducer.reduce(&state, event(.requestCompleted, pending.id))).isEmpty)
        #expect(Reducer.reduce(&state, .commandLine("stop 7", origin: .prompt, time: t0)) == [.notice(.error, "stop: no repeater E7")])
    }
}
