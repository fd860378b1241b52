/// A send repeated at an interval (`every MS [--count N] send [ID] TEXT`), numbered E1, E2...
/// Its clock is an engine `.wait` request; each completion sends once more and waits again.
public struct Repeater: Hashable, Sendable {
    public var number: Int
    public var target: SocketID
    public var bytes: [UInt8]
    public var intervalMilliseconds: Int
    /// Sends still to go; nil: until stopped.
    public var remaining: Int?
    public var sent = 0
    /// The wait or send in flight.
    var pending: RequestID?

    /// `E1 every 1000 ms send "ping\n" (3 sent, 7 to go)`.
    public var text: String {
        let togo = remaining.map { ", \($0) to go" } ?? ", until stop"
        return "E\(number) every \(intervalMilliseconds) ms send \(CommandText.quoted(bytes)) (\(sent) sent\(togo))"
    }
}

extension Reducer {
    static func startRepeater(every milliseconds: Int, count: Int?, target: SocketID?, bytes: [UInt8], time: Timestamp,
                              state: inout AppState) -> [Effect] {
        guard let id = target ?? state.defaultSendTarget else {
            return fail("every: no connection yet; connect first, or name one: every 1000 send C1 TEXT", time: time,
                        socket: nil, state: &state)
        }
        if let problem = sendProblem(id, state: state) { return fail("every: \(problem)", time: time, socket: id, state: &state) }
        var repeater = Repeater(number: state.nextRepeaterNumber, target: id, bytes: bytes,
                                intervalMilliseconds: milliseconds, remaining: count)
        state.nextRepeaterNumber += 1
        let text = "\(id) started \(repeater.text)"
        note(.info, text, id, time, &state)
        let send = sendOnce(&repeater, state: &state)
        state.repeaters.append(repeater)
        return [.notice(.info, text), send]
    }

    static func stopRepeaters(_ number: Int?, time: Timestamp, state: inout AppState) -> [Effect] {
        let stopping = state.repeaters.filter { number == nil || $0.number == number }
        guard !stopping.isEmpty else {
            return fail(number.map { "stop: no repeater E\($0)" } ?? "stop: nothing is repeating", time: time, socket: nil,
                        state: &state)
        }
        state.repeaters.removeAll { number == nil || $0.number == number }
        for repeater in stopping {
            // Its request in flight still completes; nothing follows it.
            if let pending = repeater.pending {
                state.backgroundRequests.remove(pending)
                state.repeaterSends.remove(pending)
            }
            note(.info, "stopped \(repeater.text)", repeater.target, time, &state)
        }
        return stopping.map { .notice(.info, "stopped \($0.text)") }
    }

    /// A repeater's wait or send completed: after a send it waits, after a wait it sends.
    static func repeaterRequestCompleted(_ request: RequestID, time: Timestamp, state: inout AppState) -> [Effect] {
        let wasSend = state.repeaterSends.remove(request) != nil
        guard let index = state.repeaters.firstIndex(where: { $0.pending == request }) else { return [] }
        var repeater = state.repeaters[index]
        let effect: Effect
        if wasSend {
            if let remaining = repeater.remaining, remaining <= 0 {
                state.repeaters.remove(at: index)
                note(.info, "finished \(repeater.text)", repeater.target, time, &state)
                return []
            }
            effect = makeRequest(.wait(milliseconds: repeater.intervalMilliseconds), state: &state)
            if case .perform(let made) = effect { repeater.pending = made.id }
        } else {
            if let problem = sendProblem(repeater.target, state: state) {
                state.repeaters.remove(at: index)
                note(.info, "stopped \(repeater.text): \(problem)", repeater.target, time, &state)
                return []
            }
            effect = sendOnce(&repeater, state: &state)
        }
        if case .perform(let made) = effect { state.backgroundRequests.insert(made.id) }
        state.repeaters[index] = repeater
        return [effect]
    }

    private static func sendOnce(_ repeater: inout Repeater, state: inout AppState) -> Effect {
        let effect = makeRequest(.send(repeater.target, repeater.bytes), state: &state)
        if case .perform(let made) = effect {
            repeater.pending = made.id
            state.backgroundRequests.insert(made.id)
            state.repeaterSends.insert(made.id)
        }
        repeater.sent += 1
        if let remaining = repeater.remaining { repeater.remaining = remaining - 1 }
        return effect
    }
}
