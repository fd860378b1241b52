/// `expect` and its outcome. A script waits for an expectation as for any request: the
/// expectation's timer is an engine `.wait` request the script waits for
/// (`ScriptQueue.waitingFor`); when the condition holds first, the wait ends early, and
/// when the timer completes first, the expectation fails the script.
extension Reducer {
    static func executeExpect(_ target: SocketID?, _ condition: ExpectCondition, timeoutMilliseconds: Int,
                              time: Timestamp, state: inout AppState) -> [Effect] {
        let fallback = condition == .connected ? state.defaultTarget : state.defaultConnection
        guard let id = target ?? fallback else {
            return fail("expect: no socket yet; connect or listen first, or name one: expect C1 ...", time: time,
                        socket: nil, state: &state)
        }
        guard state.connection(id) != nil || state.listener(id) != nil else {
            return fail("expect: no socket \(id)", time: time, socket: id, state: &state)
        }
        if state.listener(id) != nil, !(state.listener(id)?.transport.isDatagram ?? false), condition != .connected,
           condition != .closed {
            return fail("expect: \(id) is a listener; data and eof arrive on its connections (C...), "
                        + "or wait for one with expect \(id) connected", time: time, socket: id, state: &state)
        }
        var matcher: ByteMatcher?
        if case .data(let pattern) = condition {
            do { matcher = try ByteMatcher(pattern) } catch {
                return fail("expect: \(error.message)", time: time, socket: id, state: &state)
            }
        }
        state.script.watchesReceived = true
        let timer = makeRequest(.wait(milliseconds: timeoutMilliseconds), state: &state)
        guard case .perform(let request) = timer else { return [timer] }
        state.script.expectation = PendingExpectation(
            socket: id, condition: condition, matcher: matcher, timer: request.id, timeoutMilliseconds: timeoutMilliseconds,
            started: time, location: state.script.runningLocation, scripted: state.script.runningLocation != "the prompt")
        // It may hold already (the reply came before the line ran): then nothing waits.
        var effects = settleExpectation(time: time, state: &state, pumping: false)
        if state.script.expectation != nil { effects.insert(timer, at: 0) } else {
            state.requestsInFlight.remove(request.id)
        }
        return effects
    }

    /// Ends the pending expectation if its condition holds now (or can no longer hold), and
    /// lets the script go on.
    static func settleExpectation(time: Timestamp, state: inout AppState, pumping: Bool = true) -> [Effect] {
        guard let expectation = state.script.expectation else { return [] }
        switch outcome(of: expectation, state: &state) {
        case .waiting:
            return []
        case .held(let what):
            state.script.expectation = nil
            let waited = Double(time.nanoseconds - expectation.started.nanoseconds) / 1e6
            note(.info, "expect \(expectation.condition.text) held\(what) after "
                 + "\(waited.formatted(decimals: 1)) ms", expectation.socket, time, &state)
            // The timer is no longer waited for: its completion, when it comes, is ignored.
            state.requestsInFlight.remove(expectation.timer)
            state.script.requests.remove(expectation.timer)
            guard state.script.waitingFor == expectation.timer else { return [] }
            state.script.waitingFor = nil
            return pumping ? pumpScript(time: time, state: &state) : []
        case .impossible(let why):
            return failExpectation(expectation, why, time: time, state: &state, pumping: pumping)
        }
    }

    /// The expectation's timer completed before its condition held.
    static func expectationTimedOut(time: Timestamp, state: inout AppState) {
        guard let expectation = state.script.expectation else { return }
        let seconds = Double(expectation.timeoutMilliseconds) / 1000
        _ = failExpectation(expectation, "nothing matching came within \(seconds.formatted(decimals: 3).trimmingZeros) s",
                            time: time, state: &state, pumping: false)
    }

    private static func failExpectation(_ expectation: PendingExpectation, _ why: String, time: Timestamp,
                                        state: inout AppState, pumping: Bool) -> [Effect] {
        state.script.expectation = nil
        let id = expectation.socket
        var message = "\(expectation.location): expect \(id) \(expectation.condition.text) failed: \(why)"
        if let window = state.script.windows[id], window.total > 0 {
            message += "; last bytes received: \"\(DisplayText.escape(window.recent))\""
            if window.sawPreviewsOnly {
                message += " (only the first 1 KiB of each read was kept: -c or --script lines see every byte)"
            }
        } else if case .data = expectation.condition {
            message += "; nothing was received"
        }
        if expectation.scripted, state.script.failure == nil { state.script.failure = message }
        var effects = fail(message, time: time, socket: id, state: &state)
        state.requestsInFlight.remove(expectation.timer)
        state.script.requests.remove(expectation.timer)
        if state.script.waitingFor == expectation.timer {
            state.script.waitingFor = nil
            if pumping { effects += pumpScript(time: time, state: &state) }
        }
        return effects
    }

    private enum ExpectationOutcome {
        case waiting
        /// Held; the words say what was found (` on C3`, ` ("+PONG")`).
        case held(String)
        case impossible(String)
    }

    private static func outcome(of expectation: PendingExpectation, state: inout AppState) -> ExpectationOutcome {
        let id = expectation.socket
        let row = state.connection(id)
        let listener = state.listener(id)
        // A row gone (pruned) is a closed socket.
        let isOpen = row?.state.isOpen ?? listener?.isOpen ?? false
        switch expectation.condition {
        case .data:
            if let matcher = expectation.matcher, let window = state.script.windows[id],
               let range = matcher.search(window.unread) {
                let found = Array(window.unread[range])
                state.script.windows[id]?.consume(through: range.upperBound)
                return .held(" (\"\(DisplayText.escape(Array(found.prefix(64))))\"\(found.count > 64 ? "…" : ""))")
            }
            if !isOpen { return .impossible("\(id) closed first") }
            if case .peerClosed? = row?.state { return .impossible("the peer finished sending (EOF) first") }
            return .waiting
        case .connected:
            if let listener {
                let taken = state.script.acceptsTaken[id, default: 0]
                if listener.acceptedTotal > taken {
                    state.script.acceptsTaken[id] = taken + 1
                    return .held(listener.latestClient.map { " (\($0))" } ?? "")
                }
                return listener.isOpen ? .waiting : .impossible("\(id) stopped listening first")
            }
            switch row?.state {
            case .established?, .peerClosed?: return .held("")
            case .closed?: return row?.remote != nil ? .held("") : .impossible("\(id) closed first")
            case .failed(let code)?: return .impossible("the connect failed (\(code))")
            case .connecting?, .unconnected?, nil: return isOpen ? .waiting : .impossible("\(id) is gone")
            }
        case .eof:
            switch row?.state {
            case .peerClosed?, .closed?, .failed?, nil: return .held("")
            case .connecting?, .established?, .unconnected?: return .waiting
            }
        case .closed:
            return isOpen ? .waiting : .held("")
        }
    }
}

extension EngineEvent {
    /// Whether the event can change what an expectation on `id` sees: the socket's own
    /// events, and a client accepted by it.
    func concerns(_ id: SocketID) -> Bool {
        if kind.socket == id { return true }
        if case .accepted(_, let listener, _, _) = kind { return listener == id }
        return false
    }
}

extension String {
    /// `10.000` → `10`, `2.500` → `2.5`.
    var trimmingZeros: String {
        guard contains(".") else { return self }
        var text = self
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
