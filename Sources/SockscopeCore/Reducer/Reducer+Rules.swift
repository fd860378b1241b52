/// `rule`: the session's list of rules lives here (numbers, words, firings); the engine
/// runs them. A change is shown once the engine has made it.
extension Reducer {
    static func executeRule(_ owner: RuleOwner?, _ command: RuleCommand, time: Timestamp,
                            state: inout AppState) -> [Effect] {
        guard let owner = owner ?? state.defaultTarget.map(RuleOwner.socket) else {
            return fail("rule: no socket yet; listen or connect first, or name one: rule L1 when ...", time: time,
                        socket: nil, state: &state)
        }
        var socket: SocketID?
        if case .socket(let id) = owner {
            socket = id
            if case .list = command {} else if let problem = ruleProblem(id, state: state) {
                return fail("rule: \(problem)", time: time, socket: id, state: &state)
            }
            if case .add(let rule) = command, rule.closes, isDatagramSocket(id, state: state) {
                return fail("rule: --close is for stream connections; \(id) is a UDP socket, which answers each datagram",
                            time: time, socket: id, state: &state)
            }
        }
        let rows = state.rules[owner] ?? []
        switch command {
        case .list:
            let lines = rows.isEmpty ? ["\(owner) has no rules (rule \(owner) when MATCH reply TEXT adds one)"]
                : ["\(owner) rules, tried in order:"] + rows.map { "  " + $0.text }
            for line in lines { note(.info, line, socket, time, &state) }
            return lines.map { .notice(.info, $0) }
        case .add(let rule):
            guard rows.count < Rule.limitPerOwner else {
                return fail("rule: \(owner) has \(Rule.limitPerOwner) rules, the most one socket may have "
                            + "(each read is tried against them in turn); remove one first", time: time, socket: socket,
                            state: &state)
            }
            let number = state.nextRuleNumber
            state.nextRuleNumber += 1
            let effect = makeRequest(.addRule(owner, number: number, rule), state: &state)
            if case .perform(let request) = effect {
                state.pendingRuleChanges[request.id] = .add(owner, RuleRow(number: number, rule: rule))
            }
            return [effect]
        case .remove(let number):
            guard rows.contains(where: { $0.number == number }) else {
                let known = rows.isEmpty ? "it has none" : "its rules: " + rows.map { "#\($0.number)" }.joined(separator: " ")
                return fail("rule: \(owner) has no rule #\(number); \(known)", time: time, socket: socket, state: &state)
            }
            let effect = makeRequest(.removeRule(owner, number: number), state: &state)
            if case .perform(let request) = effect { state.pendingRuleChanges[request.id] = .remove(owner, number: number) }
            return [effect]
        }
    }

    /// Why a socket cannot have rules, or nil.
    private static func ruleProblem(_ id: SocketID, state: AppState) -> String? {
        let unixDatagrams = "rules answer TCP, UNIX stream and UDP sockets; \(id) is a UNIX datagram socket"
        if let listener = state.listener(id) {
            if !listener.isOpen { return "\(id) is closed" }
            return listener.transport == .unixgram ? unixDatagrams : nil
        }
        guard let row = state.connection(id) else { return "no socket \(id)" }
        if row.transport == .unixgram { return unixDatagrams }
        return row.state.isOpen ? nil : "\(id) is closed"
    }

    private static func isDatagramSocket(_ id: SocketID, state: AppState) -> Bool {
        (state.listener(id)?.transport ?? state.connection(id)?.transport)?.isDatagram == true
    }

    /// The engine answered a rule change: applied unless it refused.
    static func finishRuleChange(_ request: RequestID, time: Timestamp, state: inout AppState) {
        guard let change = state.pendingRuleChanges.removeValue(forKey: request) else { return }
        switch change {
        case .add(let owner, let row):
            state.rules[owner, default: []].append(row)
            note(.info, "rule #\(row.number) on \(owner): \(row.rule.text)", owner.socketID, time, &state)
        case .remove(let owner, let number):
            state.rules[owner]?.removeAll { $0.number == number }
            if state.rules[owner]?.isEmpty == true { state.rules[owner] = nil }
            note(.info, "rule #\(number) removed from \(owner)", owner.socketID, time, &state)
        case .refused:
            break
        }
    }

    /// Firings reported by a connection: counted on the rule, wherever it belongs.
    static func countFirings(rule number: Int, times: Int, state: inout AppState) {
        for (owner, rows) in state.rules {
            guard let index = rows.firstIndex(where: { $0.number == number }) else { continue }
            state.rules[owner]?[index].firings += times
            return
        }
    }
}

extension RuleOwner {
    /// The socket, for a socket's rules; nil for `all`.
    public var socketID: SocketID? {
        if case .socket(let id) = self { id } else { nil }
    }
}

extension AppState {
    /// The rules that apply to a socket, in the order they are tried, with whose they are:
    /// a connection's own, its listener's, then the session's (`all`).
    public func rulesApplying(to id: SocketID) -> [(owner: RuleOwner, row: RuleRow)] {
        var owners: [RuleOwner] = [.socket(id)]
        if let listener = connection(id)?.listener { owners.append(.socket(listener)) }
        owners.append(.all)
        return owners.flatMap { owner in (rules[owner] ?? []).map { (owner, $0) } }
    }
}

extension Reducer {
    /// A listener's `--rules FILE`: each line is what follows `rule ID`. A bad line is an
    /// error naming the file and line (a script fails on it); the good ones are added. A
    /// script waiting for the listen waits for the rules too, so its next line meets them.
    static func loadRuleFile(owner: SocketID, path: String, lines: [String], listenRequest: RequestID?, time: Timestamp,
                             state: inout AppState) -> [Effect] {
        var effects: [Effect] = []
        for (index, raw) in lines.enumerated() {
            var line = raw.trimmingWhitespace
            if line.hasSuffix("\r") { line.removeLast() }
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let command: Command?
            do {
                command = try CommandParser.parse("rule \(owner) \(line)")
            } catch {
                let message = "listen --rules \(path):\(index + 1): \(error.message)"
                if state.script.failure == nil, listenRequest.map(state.script.requests.contains) == true {
                    state.script.failure = message
                }
                effects += fail(message, time: time, socket: owner, state: &state)
                continue
            }
            guard case .rule(let ruleOwner, .add(let rule))? = command else {
                effects += fail("listen --rules \(path):\(index + 1): a rules file holds rules (when MATCH reply TEXT ...)",
                                time: time, socket: owner, state: &state)
                continue
            }
            effects += executeRule(ruleOwner, .add(rule), time: time, state: &state)
        }
        // The script waiting for this listen now waits for its last rule as well.
        if let listenRequest, state.script.waitingFor == listenRequest,
           case .perform(let last)? = effects.last(where: { if case .perform = $0 { true } else { false } }) {
            state.script.waitingFor = last.id
            state.script.requests.insert(last.id)
        }
        return effects
    }
}
