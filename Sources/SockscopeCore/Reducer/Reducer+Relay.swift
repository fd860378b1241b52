/// Relays (`relay LISTEN TARGET`): the command, and what their events change. A relay is a
/// listener row (`R1`) whose clients each come with an upstream leg; both legs are
/// connection rows that know their pair (`RelayLeg`).
extension Reducer {
    static func executeRelay(_ request: RelayRequest, time: Timestamp, state: inout AppState) -> [Effect] {
        if request.listen.endpoint.isAllInterfaces, !request.listen.isPublic, !state.allowsPublicListeners {
            if state.interactive {
                var confirmed = request
                confirmed.listen.isPublic = true
                state.view.confirmation = Confirmation(
                    question: "Relay from ALL interfaces, reachable from the network? y/n", command: .relay(confirmed))
                return []
            }
            return fail("relay: \(request.listen.endpoint) binds every interface (reachable from the network); "
                        + "add --public to the command or start with --public if you mean it",
                        time: time, socket: nil, state: &state)
        }
        let effect = makeRequest(.relay(request), state: &state)
        guard case .perform(let made) = effect else { return [effect] }
        state.pendingTransports[made.id] = request.listen.endpoint.transport
        if !request.listen.policy.isUnrestricted || request.listen.policy.idleTimeoutMilliseconds != nil {
            state.pendingPolicies[made.id] = request.listen.policy
        }
        state.requestsOpeningSockets.insert(made.id)
        return [effect]
    }

    /// The relay a command names, or the selected or most recent one; else the failure's effects.
    static func chosenRelay(_ target: SocketID?, verb: String, time: Timestamp, state: inout AppState)
        -> (row: ListenerRow?, failure: [Effect]) {
        let chosen = target ?? state.view.selectedListener.flatMap { $0.kind == .relay ? $0 : nil }
            ?? state.recentSocket.flatMap { $0.kind == .relay ? $0 : nil }
        guard let id = chosen, let row = state.listener(id), row.relayTarget != nil else {
            return (nil, fail("\(verb): \((target ?? chosen).map { "\($0) is not a relay" } ?? "no relay yet; relay LISTEN TARGET makes R1")",
                              time: time, socket: target, state: &state))
        }
        return (row, [])
    }

    /// `relay [R1] down|up`: refused when the relay is closed or already so.
    static func executeRelaySwitch(_ target: SocketID?, _ change: RelaySwitch, time: Timestamp, state: inout AppState) -> [Effect] {
        let choice = chosenRelay(target, verb: "relay \(change.rawValue)", time: time, state: &state)
        guard let row = choice.row else { return choice.failure }
        guard row.isOpen else { return fail("relay \(change.rawValue): \(row.id) is closed", time: time, socket: row.id, state: &state) }
        guard row.isDown != (change == .down) else {
            return fail("relay \(change.rawValue): \(row.id) is already \(change.rawValue)", time: time, socket: row.id, state: &state)
        }
        return [makeRequest(.relaySwitch(row.id, change), state: &state)]
    }

    /// `toxic [R1] ...`: add and remove go to the engine; list is read from the relay's row.
    static func executeToxic(_ target: SocketID?, _ command: ToxicCommand, time: Timestamp, state: inout AppState) -> [Effect] {
        let choice = chosenRelay(target, verb: "toxic", time: time, state: &state)
        guard let row = choice.row else { return choice.failure }
        let id = row.id
        switch command {
        case .list:
            let lines = row.toxics.isEmpty ? ["\(id) has no toxics (toxic \(id) add latency 200)"]
                : row.toxics.map { "\(id) toxic \($0.summary), fired \(row.toxicFirings[$0.name] ?? 0) times" }
            for line in lines { note(.info, line, id, time, &state) }
            return lines.map { .notice(.info, $0) }
        case .add(let toxic):
            if toxic.effect.isForDatagrams != row.transport.isDatagram {
                let why = row.transport.isDatagram ? "a UDP relay takes loss only (datagrams are not a stream to delay or cut)"
                    : "loss drops datagrams: it is for UDP relays"
                return fail("toxic: \(toxic.effect.kind) on \(id): \(why)", time: time, socket: id, state: &state)
            }
            if row.toxics.contains(where: { $0.name == toxic.name }) {
                return fail("toxic: \(id) already has a toxic named \(toxic.name) (--name gives another)", time: time, socket: id,
                            state: &state)
            }
        case .remove(let name):
            if !row.toxics.contains(where: { $0.name == name }) {
                return fail("toxic: \(id) has no toxic named \(name) (toxic \(id) list)", time: time, socket: id, state: &state)
            }
        }
        return [makeRequest(.toxic(id, command), state: &state)]
    }

    static func applyRelay(_ event: RelayEvent, request: RequestID?, time: Timestamp, state: inout AppState) {
        switch event {
        case .listening(let id, let transport, let local, let target):
            var row = ListenerRow(id: id, transport: transport, local: local, mode: .interactive, backlog: 0)
            row.relayTarget = target
            if let request, let policy = state.pendingPolicies.removeValue(forKey: request) { row.policy = policy }
            state.upsertListener(row)
            let asked = request.map { state.requestsOpeningSockets.remove($0) != nil } ?? false
            if asked { state.recentSocket = id }
            if state.interactive, asked || state.view.selectedListener == nil { state.view.selectedListener = id }
        case .upstream(let id, let relay, let client, let transport, let target):
            var row = ConnectionRow(id: id, listener: relay, transport: transport, local: nil, remote: nil,
                                    requestedRemote: target, state: .connecting, opened: time, lastActivity: time)
            row.relay = RelayLeg(relay: relay, role: .upstream, partner: client)
            state.upsertConnection(row)
            state.updateConnection(client) { $0.relay?.partner = id }
        case .paused(let id, _, _, _, let held):
            state.updateConnection(id) { $0.relay?.held = held }
        case .resumed(let id, _, _, _):
            state.updateConnection(id) {
                $0.relay?.held = nil
                $0.relay?.holdFull = false
            }
        case .passedOn:
            break
        case .toxicAdded(let id, let toxic):
            state.updateListener(id) { $0.toxics.append(toxic) }
        case .toxicRemoved(let id, let name):
            state.updateListener(id) { $0.toxics.removeAll { $0.name == name } }
        case .toxicFired(_, _, let relay, let name, let count):
            state.updateListener(relay) { $0.toxicFirings[name, default: 0] += count }
        case .dropped:
            break
        case .down(let id, _):
            state.updateListener(id) { $0.isDown = true }
        case .up(let id):
            state.updateListener(id) { $0.isDown = false }
        case .holding, .holdReleased, .held, .heldOut, .holdFull:
            applyHold(event, state: &state)
        }
    }
}
