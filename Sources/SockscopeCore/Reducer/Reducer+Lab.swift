/// The lifecycle lab in the reducer: step-mode commands, the ledger, kernel samples, the system view.
extension Reducer {
    // MARK: - Commands

    static func executeStep(_ call: StepCall, time: Timestamp, state: inout AppState) -> [Effect] {
        if let id = call.socket, id.kind == .socket, state.lab.steps[id] == nil {
            return fail("\(id): no such step socket; `socket tcp` makes one (S1, S2...)", time: time, socket: id,
                        state: &state)
        }
        return [makeRequest(.lab(.step(call)), state: &state)]
    }

    static func executeAccept(_ target: SocketID?, time: Timestamp, state: inout AppState) -> [Effect] {
        let candidate = target ?? (state.view.focus == .listeners ? state.view.selectedListener : nil)
            ?? state.lab.manualAccept.sorted().last
        guard let id = candidate else {
            return fail("accept: no manual-accept listener yet; listen PORT --manual-accept, or name one: accept S1",
                        time: time, socket: nil, state: &state)
        }
        if id.kind == .socket { return executeStep(.accept(id), time: time, state: &state) }
        guard let listener = state.listener(id) else {
            return fail("accept: \(id) is not a listener", time: time, socket: id, state: &state)
        }
        guard state.lab.manualAccept.contains(id) else {
            return fail("accept: \(id) accepts every client on its own; listen ... --manual-accept makes one that waits for accept",
                        time: time, socket: id, state: &state)
        }
        guard listener.isOpen else { return fail("accept: \(id) is closed", time: time, socket: id, state: &state) }
        return [makeRequest(.lab(.step(.accept(id))), state: &state)]
    }

    static func executeSystemView(_ command: SystemViewCommand, time: Timestamp, state: inout AppState) -> [Effect] {
        var system = state.lab.system
        let wasVisible = system.visible
        switch command {
        case .toggle: system.visible.toggle()
        case .show: system.visible = true
        case .hide: system.visible = false
        case .filter(let text):
            system.visible = true
            system.filter = text
            system.selected = 0
        case .sort(let order):
            system.visible = true
            system.sort = order
            system.selected = 0
        }
        state.lab.system = system
        // One view over the panes at a time: the system view takes the scan view's place.
        if system.visible { state.scan.visible = false }
        state.needsRedraw = true
        guard system.visible != wasVisible else { return [] }
        if !system.visible { state.lab.system.sockets = [] }
        return [makeRequest(.lab(.systemView(visible: system.visible)), state: &state)]
    }

    /// `c` in the system view: connect to the selected listener (loopback for a wildcard address).
    static func connectToSystemSelection(time: Timestamp, state: inout AppState) -> [Effect] {
        let rows = state.lab.system.rows
        guard rows.indices.contains(state.lab.system.selected) else { return [] }
        let row = rows[state.lab.system.selected]
        guard row.isListener, row.proto.hasPrefix("tcp") || row.proto == "unix" else {
            state.view.flash = "select a listening TCP or UNIX socket (state LISTEN) to connect to it"
            return []
        }
        guard let target = row.local.connectTarget(row.proto == "unix" ? .unix : .tcp) else {
            state.view.flash = "this UNIX socket has no path to connect to"
            return []
        }
        // The view closes onto the new connection, which the connect selects.
        var effects = executeSystemView(.hide, time: time, state: &state)
        state.view.focus = .connections
        effects += run(.connect(ConnectRequest(endpoint: target)), time: time, state: &state)
        return effects
    }

    /// Keys while the system view is shown: moving through its rows and leaving it.
    /// Nil lets every other key do what it always does.
    static func systemViewKey(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect]? {
        if let moved = listSelection(after: key, from: state.lab.system.selected, count: state.lab.system.rows.count,
                                     state: state) {
            state.lab.system.selected = moved
            return []
        }
        switch key {
        case .escape: return executeSystemView(.hide, time: time, state: &state)
        case .character("/"):
            // Filters the system's rows as you type (the log's filter waits until the view is hidden).
            state.view.prompt = Prompt(.systemFilter, text: state.lab.system.filter ?? "")
            return []
        default: return nil
        }
    }

    /// Where a full-screen list's selection goes for a moving key (j/k, PgDn/PgUp, g/G and
    /// their arrows), kept within its rows; nil for any other key. Shared by the views that
    /// replace the panes (the system view, the scan view).
    static func listSelection(after key: KeyPress, from selected: Int, count: Int, state: AppState) -> Int? {
        let page = max(1, state.view.height - 6)
        let moved: Int
        switch key {
        case .down, .character("j"): moved = selected + 1
        case .up, .character("k"): moved = selected - 1
        case .pageDown, .control("f"): moved = selected + page
        case .pageUp, .control("b"): moved = selected - page
        case .home, .character("g"): moved = 0
        case .end, .character("G"): moved = count - 1
        default: return nil
        }
        return max(0, min(moved, count - 1))
    }

    // MARK: - Events

    static func applyLab(_ event: LabEvent, request: RequestID?, time: Timestamp, state: inout AppState) -> [Effect] {
        switch event {
        case .call(let id, let record):
            applyCall(id, record, time: time, state: &state)
        case .kernel(let id, let sample):
            // The probe follows closed sockets for up to a minute (TIME-WAIT): a late sample of
            // one whose row was pruned meanwhile would otherwise stay in `lab.kernel` for good.
            guard state.showsKernelSample(of: id) else { return [] }
            state.lab.kernel[id] = sample
            state.graphSample(id, sample, at: time)
        case .system(let sockets):
            state.lab.system.sockets = sockets
            state.lab.system.selected = min(state.lab.system.selected, max(0, state.lab.system.rows.count - 1))
            // Nothing on screen changes while the view is hidden (a late snapshot).
            if !state.lab.system.visible { state.lab.system.sockets = [] }
        case .portRange(let low, let high):
            state.lab.portRange = (low, high)
        case .experiment(let finding):
            // The log keeps every step; the status line shows the newest while the lab runs.
            state.view.flash = "lab \(finding.experiment.rawValue): " + finding.sentence
        }
        return []
    }

    private static func applyCall(_ id: SocketID, _ record: SyscallRecord, time: Timestamp, state: inout AppState) {
        if record.call == "socket" {
            guard record.errno == nil else { return showStep(id, record, time: time, state: &state) }
            let kind = StepSocketKind(callArguments: record.arguments) ?? .tcp
            state.lab.steps[id] = StepSocketRow(id: id, kind: kind, fd: record.result, phase: .created, lastCall: "socket")
            state.upsertConnection(ConnectionRow(id: id, listener: nil, transport: record.transport, local: nil, remote: nil,
                                                 state: .unconnected(StepPhase.created.rawValue), opened: time,
                                                 lastActivity: time))
            state.recentSocket = id
            selectNewConnection(id, state: &state)
            // A step socket is walked through its calls from its row: focus goes there.
            if state.interactive, state.view.focus == .listeners { state.view.focus = .connections }
            return showStep(id, record, time: time, state: &state)
        }
        if id.kind == .socket {
            let previous = state.lab.steps[id]?.phase
            state.lab.steps[id]?.phase = record.phase
            state.lab.steps[id]?.lastCall = record.call
            switch record.phase {
            case .created, .bound, .failed:
                state.updateConnection(id) { $0.state = .unconnected(record.phase.rawValue) }
            case .connecting:
                state.updateConnection(id) { $0.state = .connecting }
            case .connected:
                // Datagram sockets stay ours (no engine handover): the call itself connects them.
                if record.transport.isDatagram { state.updateConnection(id) { $0.state = .established } }
            case .listening:
                if previous != .listening {
                    state.removeConnection(id)
                    state.lab.manualAccept.insert(id)
                }
            case .closed:
                state.updateConnection(id) { row in
                    if row.state.isOpen { row.state = .closed("closed by us") }
                }
            }
            state.updateConnection(id) { row in
                if let local = record.local { row.local = local }
                if let remote = record.remote { row.remote = remote }
                row.lastActivity = time
            }
        }
        showStep(id, record, time: time, state: &state)
    }

    /// The call is logged as its event (`Reducer.apply`); the status line shows it meanwhile.
    private static func showStep(_ id: SocketID, _ record: SyscallRecord, time: Timestamp, state: inout AppState) {
        state.view.flash = "\(id) " + StepGuide.line(id, record)
    }

    // MARK: - The ledger

    /// Writes every socket event into its socket's history (step mode or not), before the event is applied.
    /// `EventText.ledgerEntries` words it; what depends on the state (data counted into the last
    /// entry, kernel state changes) is added here.
    static func recordLab(_ event: EngineEvent, state: inout AppState) {
        let time = event.time
        switch event.kind {
        case .listening(let id, _, _, _, _):
            if let request = event.request, state.lab.pendingManualListens.remove(request) != nil {
                state.lab.manualAccept.insert(id)
            }
        case .received(let id, _, let count), .receivedFrom(let id, _, _, let count, _):
            state.lab.ledger.appendData("recv", count: count, time: time, to: id)
        case .sent(let id, _, let count), .sentTo(let id, _, _, let count):
            state.lab.ledger.appendData("send", count: count, time: time, to: id)
        case .moreDatagrams(let id, let totals):
            if totals.received > 0 {
                state.lab.ledger.appendData("recv", count: totals.receivedBytes, calls: totals.received, time: time, to: id)
            }
            if totals.sent > 0 {
                state.lab.ledger.appendData("send", count: totals.sentBytes, calls: totals.sent, time: time, to: id)
            }
        case .requestCompleted:
            if let request = event.request { state.lab.pendingManualListens.remove(request) }
        case .lab(.kernel(let id, let sample)):
            let before = state.lab.kernel[id]
            let change: String? = if sample.gone, before?.gone != true {
                "kernel: forgotten (no longer in /proc/net/tcp)"
            } else if let now = sample.state, now != before?.state {
                "kernel: " + (before?.state.map { "\($0.name) → " } ?? "") + now.name
            } else {
                nil
            }
            if let change { state.lab.ledger.append(LedgerEntry(time: time, kind: .state, text: change), to: id) }
        default:
            break
        }
        let stepListener = event.kind.socket.map { state.lab.steps[$0] != nil } ?? false
        for (id, kind, text) in EventText.ledgerEntries(event.kind, byStepCalls: stepListener) {
            state.lab.ledger.append(LedgerEntry(time: time, kind: kind, text: text), to: id)
        }
    }
}

/// `sys`: the system view's commands.
public enum SystemViewCommand: Hashable, Sendable {
    case toggle, show, hide
    case filter(String?)
    case sort(SystemSort)
}

/// `lab NAME` and `lab list`.
extension Reducer {
    static func executeLab(_ name: ExperimentName?, time: Timestamp, state: inout AppState) -> [Effect] {
        guard let name else {
            let lines = ExperimentCatalog.entries.map { "lab \($0.name.rawValue): \($0.summary)" }
            for line in lines { note(.info, line, nil, time, &state) }
            return lines.map { .notice(.info, $0) }
        }
        return [makeRequest(.lab(.experiment(name)), state: &state)]
    }
}
