/// The one place application state changes: `(state, event) -> effects`.
/// Pure: no I/O, no clocks; times come in with the events.
public enum Reducer {
    public static func reduce(_ state: inout AppState, _ event: AppEvent) -> [Effect] {
        // After every change: one filter test per new log entry, instead of a scan per frame.
        defer { state.logFilterIndex.update(for: state.view.logFilter, log: state.log) }
        let effects = reduceOne(&state, event)
        return effects + followConversation(state: &state)
    }

    /// The engine keeps more of each read and write of the connection whose log the user
    /// is reading (`Enter` on it, or a filter naming it): the conversation view shows
    /// `DataPreview.followedLimit` bytes of each entry, not `DataPreview.limit`.
    private static func followConversation(state: inout AppState) -> [Effect] {
        // Runs after every event: the common case (no filter, nothing followed) costs one comparison.
        guard state.interactive, state.view.logFilter != nil || state.log.followed != nil else { return [] }
        let wanted = state.view.logFilter.flatMap { SocketID(parsing: $0.trimmingWhitespace) }
            .flatMap { state.connection($0)?.transport.isDatagram == false ? $0 : nil }
        guard wanted != state.log.followed else { return [] }
        state.log.followed = wanted
        return [makeRequest(.follow(wanted), state: &state)]
    }

    private static func reduceOne(_ state: inout AppState, _ event: AppEvent) -> [Effect] {
        switch event {
        case .engine(let engineEvent):
            let effects = apply(engineEvent, to: &state)
            observeTour(engineEvent, state: &state)
            return effects
        case .key(let key, let time):
            state.needsRedraw = true
            return handleKey(key, time: time, state: &state)
        case .resize(let width, let height):
            state.view.width = max(1, width)
            state.view.height = max(1, height)
            state.needsRedraw = true
            return []
        case .commandLine(let line, .prompt, let time):
            return run(line, time: time, state: &state)
        case .command(let command, let time):
            if let id = command.namedSocket, state.isClosed(id) {
                return fail("\(command.verb): \(id) is closed", time: time, socket: id, state: &state)
            }
            return execute(command, time: time, state: &state)
        case .commandLine(let line, .script, let time):
            state.script.pending.append(line)
            // From the first expect on, what sockets receive is kept for it (`ReceivedWindow`):
            // lines are queued before the engine's first events are applied, so a script's
            // expectations see everything.
            if line.trimmingWhitespace.lowercased().hasPrefix("expect") { state.script.watchesReceived = true }
            return pumpScript(time: time, state: &state)
        case .tick(let time):
            if state.view.flash != nil {
                if let since = state.view.flashSince {
                    if time.nanoseconds - since.nanoseconds >= ViewState.flashSeconds * 1_000_000_000 { state.view.flash = nil }
                } else {
                    state.view.flashSince = time
                }
            }
            for id in state.activeRates {
                var closed: TrafficRate.ClosedBucket?
                state.updateConnection(id) { closed = $0.rate.roll(to: time) }
                state.graphRates(id, closed, at: time)
                if state.connection(id)?.rate.isActive != true { state.activeRates.remove(id) }
            }
            followBusiest(state: &state)
            forgetExpiredClosedRows(at: time, state: &state)
            state.needsRedraw = true
            return []
        case .outcome(let kind, let text, let time):
            note(kind, text, nil, time, &state)
            // A failed save; only headless, where every command is scripted, acts on it.
            if kind == .error, state.script.failure == nil { state.script.failure = text }
            state.view.flash = text
            state.needsRedraw = true
            return [.notice(kind, text)]
        case .ruleFile(let owner, let path, let lines, let listenRequest, let time):
            return loadRuleFile(owner: owner, path: path, lines: lines, listenRequest: listenRequest, time: time, state: &state)
        case .select(let pane, let index):
            select(pane, index: index, state: &state)
            state.needsRedraw = true
            return []
        case .scroll(let pane, let lines):
            let focus = state.view.focus
            state.view.focus = pane
            moveSelection(by: lines, state: &state)
            state.view.focus = focus
            state.needsRedraw = true
            return []
        }
    }

    /// Runs queued script lines until one of them waits for the engine.
    static func pumpScript(time: Timestamp, state: inout AppState) -> [Effect] {
        var effects: [Effect] = []
        while state.script.waitingFor == nil, !state.script.pending.isEmpty,
              !(state.script.stopsAtFailure && state.script.failure != nil) {
            let line = state.script.pending.removeFirst()
            state.script.linesTaken += 1
            state.script.runningLocation = state.script.location(ofLine: state.script.linesTaken)
            let produced = run(line, time: time, state: &state)
            state.script.runningLocation = "the prompt"
            // Each command waits for the previous one to finish, a file transfer included
            // (`sendfile F` then `close` closes after the file, as `nc < F` does).
            for case .perform(let request) in produced where !state.backgroundRequests.contains(request.id) {
                state.script.requests.insert(request.id)
                state.script.waitingFor = request.id
            }
            for case .notice(.error, let text) in produced where state.script.failure == nil {
                state.script.failure = text
            }
            effects += produced
            if produced.contains(.quit) { break }
        }
        return effects
    }

    // MARK: - Commands

    /// Parses and runs one command line, logging it and any error.
    static func run(_ line: String, time: Timestamp, state: inout AppState) -> [Effect] {
        let trimmed = line.trimmingWhitespace
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return [] }
        state.needsRedraw = true
        let command: Command
        do {
            guard let parsed = try CommandParser.parse(trimmed) else { return [] }
            command = parsed
        } catch {
            return fail(error.message, time: time, socket: nil, state: &state)
        }
        state.log.append(LogEntry(time: time, socket: nil, kind: .command, record: .command(trimmed)))
        if let id = command.namedSocket {
            // A closed socket's descriptor may be another socket's by now: no call may reach it.
            if state.isClosed(id), !command.readsHistory {
                return fail("\(command.verb): \(id) is closed", time: time, socket: id, state: &state)
            }
            if state.connection(id) != nil || state.listener(id) != nil || state.lab.steps[id] != nil {
                state.recentSocket = id
            }
        }
        return execute(command, time: time, state: &state)
    }

    /// Runs a command a key or a confirmation built, logged as the line that would type it.
    static func run(_ command: Command, time: Timestamp, state: inout AppState) -> [Effect] {
        state.needsRedraw = true
        state.log.append(LogEntry(time: time, socket: nil, kind: .command, record: .command(CommandText.line(for: command))))
        return execute(command, time: time, state: &state)
    }

    static func execute(_ command: Command, time: Timestamp, state: inout AppState) -> [Effect] {
        switch command {
        case .listen(let request):
            if request.endpoint.isAllInterfaces, !request.isPublic, !state.allowsPublicListeners {
                if state.interactive {
                    var confirmed = request
                    confirmed.isPublic = true
                    state.view.confirmation = Confirmation(
                        question: "Listen on ALL interfaces, reachable from the network? y/n", command: .listen(confirmed))
                    return []
                }
                return fail("listen: \(request.endpoint) binds every interface (reachable from the network); "
                            + "add --public to the command or start with --public if you mean it",
                            time: time, socket: nil, state: &state)
            }
            if request.manualAccept {
                let effect = makeRequest(.lab(.manualListen(request)), state: &state)
                if case .perform(let made) = effect {
                    state.lab.pendingManualListens.insert(made.id)
                    state.requestsOpeningSockets.insert(made.id)
                }
                return [effect]
            }
            let effect = makeRequest(.listen(request), state: &state)
            guard case .perform(let made) = effect else { return [effect] }
            // Until it listens (or fails), the request is how its events are known to be TCP, UDP...
            state.pendingTransports[made.id] = request.endpoint.transport
            if let path = request.rulesFile { state.pendingRuleFiles[made.id] = path }
            if !request.policy.isUnrestricted || request.policy.idleTimeoutMilliseconds != nil {
                state.pendingPolicies[made.id] = request.policy
            }
            state.requestsOpeningSockets.insert(made.id)
            return [effect]
        case .connect(let request):
            let effect = makeRequest(.connect(request), state: &state)
            if case .perform(let made) = effect {
                state.pendingTransports[made.id] = request.endpoint.transport
                state.requestsOpeningSockets.insert(made.id)
            }
            return [effect]
        case .send(let target, let bytes):
            guard let id = target ?? state.defaultSendTarget else {
                return fail("send: no connection yet; connect first, or name one: send C1 TEXT", time: time,
                            socket: nil, state: &state)
            }
            // Step sockets get the kernel's own answer, even out of order.
            if id.kind == .socket { return executeStep(.send(id, bytes), time: time, state: &state) }
            if let problem = sendProblem(id, state: state) {
                return fail("send: \(problem)", time: time, socket: id, state: &state)
            }
            return [makeRequest(.send(id, bytes), state: &state)]
        case .close(let target):
            guard let id = target ?? state.defaultTarget else {
                return fail("close: nothing to close yet", time: time, socket: nil, state: &state)
            }
            if id.kind == .socket { return executeStep(.close(id), time: time, state: &state) }
            let isOpen = state.connection(id)?.state.isOpen ?? state.listener(id)?.isOpen
            guard let isOpen else { return fail("close: no socket \(id)", time: time, socket: id, state: &state) }
            guard isOpen else { return fail("close: \(id) is already closed", time: time, socket: id, state: &state) }
            return [makeRequest(.close(id), state: &state)]
        case .shutdown(let target, let direction):
            if let id = target, id.kind == .socket { return executeStep(.shutdown(id, direction), time: time, state: &state) }
            return onOpenConnection(target, "shutdown", time: time, state: &state) { .shutdown($0, direction) }
        case .reset(let target):
            return onOpenConnection(target, "reset", time: time, state: &state) { .reset($0) }
        case .startTLS(let target, let dialogue, let tls):
            var host = ""
            if let id = target ?? state.defaultConnection, let row = state.connection(id) {
                if row.tls != nil { return fail("starttls: \(id) already speaks TLS", time: time, socket: id, state: &state) }
                if row.transport != .tcp {
                    return fail("starttls: \(id) is not a TCP connection", time: time, socket: id, state: &state)
                }
                host = Self.certificateHost(row)
            }
            return onOpenConnection(target, "starttls", time: time, state: &state) { id in
                .startTLS(StartTLSRequest(socket: id, dialogue: dialogue, tls: tls, host: host))
            }
        case .sendFile(let target, let path):
            let effects = onOpenConnection(target, "sendfile", time: time, state: &state) { .sendFile($0, path: path) }
            for case .perform(let request) in effects {
                if case .sendFile(let id, _) = request.command {
                    state.fileTransfers[request.id] = FileTransfer(socket: id, path: path, started: time)
                }
            }
            return effects
        case .sendTo(let target, let destination, let bytes):
            guard let id = target ?? state.defaultTarget else {
                return fail("sendto: no socket yet; listen udp://... or connect udp://... first", time: time, socket: nil,
                            state: &state)
            }
            // An ICMP address has no port, and only an ICMP step socket takes one.
            let icmpSocket = state.lab.steps[id]?.kind.transport == .icmp
            if destination.transport == .icmp, !icmpSocket {
                return fail("sendto: '\(destination)' has no port; write HOST:PORT (a host alone is for ICMP step sockets: socket raw icmp)",
                            time: time, socket: id, state: &state)
            }
            if icmpSocket, destination.transport != .icmp {
                return fail("sendto: \(id) is an ICMP socket, whose addresses have no port: sendto \(id) HOST TEXT",
                            time: time, socket: id, state: &state)
            }
            // A step socket makes the call itself: sendto(2) and the kernel's answer.
            if id.kind == .socket { return executeStep(.sendTo(id, destination, bytes), time: time, state: &state) }
            return [makeRequest(.sendTo(id, to: destination, bytes), state: &state)]
        case .setOption(let target, let option, let value):
            guard let id = target ?? state.defaultTarget else {
                return fail("set: no socket yet; name one: set C1 nodelay 1", time: time, socket: nil, state: &state)
            }
            return [makeRequest(.setOption(id, option, value), state: &state)]
        case .getOption(let target, let option):
            guard let id = target ?? state.defaultTarget else {
                return fail("get: no socket yet; name one: get C1 rcvbuf", time: time, socket: nil, state: &state)
            }
            return [makeRequest(.getOption(id, option), state: &state)]
        case .resolve(let host):
            return [makeRequest(.resolve(host: host), state: &state)]
        case .explain(let topic):
            let lines = Explanation.lines(for: topic)
            for line in lines { note(.info, line, nil, time, &state) }
            return lines.map { .notice(.info, $0) }
        case .setLineEnding(let target, let ending):
            guard let id = target ?? state.defaultConnection, state.connection(id) != nil else {
                return fail("set: no connection to set eol on; name one: set C1 eol crlf", time: time, socket: nil,
                            state: &state)
            }
            state.updateConnection(id) { $0.lineEnding = ending }
            let text = "\(id) line ending: \(ending.rawValue)"
            note(.info, text, id, time, &state)
            return [.notice(.info, text)]
        case .save(let path, let format):
            return [.saveLog(path: path, format: format)]
        case .help(let topic):
            let lines = CommandCatalog.helpLines(topic: topic)
            for line in lines { note(.info, line, nil, time, &state) }
            if topic == nil, state.interactive { state.view.showHelp = true }
            return lines.map { .notice(.info, $0) }
        case .quit:
            return [.quit]
        case .step(let call):
            return executeStep(call, time: time, state: &state)
        case .accept(let target):
            return executeAccept(target, time: time, state: &state)
        case .system(let command):
            return executeSystemView(command, time: time, state: &state)
        case .forgetClosed(let milliseconds):
            state.forgetClosedAfterMilliseconds = milliseconds
            let text = milliseconds.map { "closed connections are forgotten \(Double($0) / 1000) s after they close" }
                ?? "closed connections are kept"
            note(.info, text, nil, time, &state)
            forgetExpiredClosedRows(at: time, state: &state)
            return [.notice(.info, text)]
        case .expect(let target, let condition, let timeout):
            return executeExpect(target, condition, timeoutMilliseconds: timeout, time: time, state: &state)
        case .sleep(let milliseconds):
            return [makeRequest(.wait(milliseconds: milliseconds), state: &state)]
        case .rule(let owner, let command):
            return executeRule(owner, command, time: time, state: &state)
        case .every(let milliseconds, let count, let target, let bytes):
            return startRepeater(every: milliseconds, count: count, target: target, bytes: bytes, time: time, state: &state)
        case .stop(let number):
            return stopRepeaters(number, time: time, state: &state)
        case .relay(let request):
            return executeRelay(request, time: time, state: &state)
        case .toxic(let target, let command):
            return executeToxic(target, command, time: time, state: &state)
        case .relaySwitch(let target, let change):
            return executeRelaySwitch(target, change, time: time, state: &state)
        case .hold(let target, let command):
            return executeHold(target, command, time: time, state: &state)
        case .clearClosed:
            let forgotten = state.forgetConnections { !$0.state.isOpen }
            let text = "forgot \(forgotten) closed connection(s); their log entries stay"
            note(.info, text, nil, time, &state)
            return [.notice(.info, text)]
        case .scan(let request):
            return executeScan(request, time: time, state: &state)
        case .scanStop:
            guard state.scan.isRunning else { return fail("scan stop: no scan is running", time: time, socket: nil, state: &state) }
            return [makeRequest(.stopScan, state: &state)]
        case .ping(let request):
            return [makeRequest(.ping(request), state: &state)]
        case .pingStop:
            return [makeRequest(.stopPing, state: &state)]
        case .lab(let name):
            return executeLab(name, time: time, state: &state)
        case .tour(let command):
            return executeTour(command, time: time, state: &state)
        case .capture(let request):
            return [makeRequest(.capture(request), state: &state)]
        case .replay(let request):
            return executeReplay(request, time: time, state: &state)
        }
    }

    /// Runs `make` for an open connection (named, selected or newest), or explains why not.
    private static func onOpenConnection(_ target: SocketID?, _ verb: String, time: Timestamp, state: inout AppState,
                                         _ make: (SocketID) -> EngineCommand) -> [Effect] {
        guard let id = target ?? state.defaultConnection else {
            return fail("\(verb): no connection yet; name one: \(verb) C1 ...", time: time, socket: nil, state: &state)
        }
        if let problem = sendProblem(id, state: state) {
            return fail("\(verb): \(problem)", time: time, socket: id, state: &state)
        }
        return [makeRequest(make(id), state: &state)]
    }

    /// The name a certificate must carry for a connection: the host as the user wrote it in
    /// `connect`, else the address it reached.
    static func certificateHost(_ row: ConnectionRow) -> String {
        if let written = row.requestedRemote, let host = AddressText.host(ofHostPort: written) { return host }
        switch row.remote {
        case .ipv4(let address, _)?: return address.description
        case .ipv6(let address, _)?: return address.description
        default: return ""
        }
    }

    static func sendProblem(_ id: SocketID, state: AppState) -> String? {
        if let listener = state.listener(id) {
            // A datagram listener answers whoever sent to it last.
            if listener.transport.isDatagram, listener.isOpen { return nil }
            return "\(id) is a listener; send goes to one of its connections (C...)"
        }
        guard let row = state.connection(id) else { return "no connection \(id)" }
        switch row.state {
        case .connecting: return "\(id) is still connecting"
        case .closed, .failed: return "\(id) is closed"
        case .unconnected(let phase): return "\(id) is not connected (step mode, \(phase))"
        case .established, .peerClosed: return nil
        }
    }

    static func makeRequest(_ command: EngineCommand, state: inout AppState) -> Effect {
        let id = RequestID(state.nextRequest)
        state.nextRequest += 1
        state.requestsInFlight.insert(id)
        return .perform(EngineRequest(id: id, command: command))
    }

    static func fail(_ message: String, time: Timestamp, socket: SocketID?, state: inout AppState) -> [Effect] {
        note(.error, message, socket, time, &state)
        if state.view.prompt != nil { state.view.prompt?.error = message } else { state.view.flash = message }
        state.needsRedraw = true
        return [.notice(.error, message)]
    }

    // MARK: - Engine events

    static func apply(_ event: EngineEvent, to state: inout AppState) -> [Effect] {
        let time = event.time
        // Bookkeeping alone changes nothing on screen.
        if event.kind != .requestCompleted { state.needsRedraw = true }
        recordLab(event, state: &state)
        // Asked before the event is applied: a close may prune the row.
        let knownTransport = event.kind.socket.flatMap { state.transport(of: $0) }
        var effects: [Effect] = []
        switch event.kind {
        case .listening(let id, let transport, let local, let mode, let backlog):
            var row = ListenerRow(id: id, transport: transport, local: local, mode: mode, backlog: backlog)
            if let request = event.request, let policy = state.pendingPolicies.removeValue(forKey: request) {
                row.policy = policy
            }
            state.upsertListener(row)
            if let request = event.request, let path = state.pendingRuleFiles.removeValue(forKey: request) {
                effects.append(.loadRules(path: path, owner: id, listenRequest: request))
            }
            let asked = event.request.map { state.requestsOpeningSockets.remove($0) != nil } ?? false
            if asked { state.recentSocket = id }
            if state.interactive, asked || state.view.selectedListener == nil { state.view.selectedListener = id }
        case .accepted(let id, let listener, let local, let remote):
            var row = ConnectionRow(id: id, listener: listener, transport: state.listener(listener)?.transport ?? .tcp,
                                    local: local, remote: remote, state: .established, opened: time, lastActivity: time)
            if listener.kind == .relay { row.relay = RelayLeg(relay: listener, role: .client) }
            state.upsertConnection(row)
            state.updateListener(listener) {
                $0.activeConnections += 1
                $0.acceptedTotal += 1
                $0.latestClient = id
            }
            state.graphPoint(listener, at: time) { $0.accepts += 1 }
            // A client arriving is not something the commands made: it is selected only when
            // nothing else is, and never becomes the recent socket.
            if state.interactive, state.view.selectedConnection == nil { state.view.selectedConnection = id }
        case .connecting(let id, let remote):
            var row = ConnectionRow(id: id, listener: nil, local: nil, remote: nil, requestedRemote: remote,
                                    state: .connecting, opened: time, lastActivity: time)
            if let request = event.request, let transport = state.pendingTransports.removeValue(forKey: request) {
                row.transport = transport
            }
            state.upsertConnection(row)
            noteOpened(id, request: event.request, state: &state)
            replayConnecting(id, request: event.request, state: &state)
        case .connected(let id, let local, let remote):
            if state.connection(id) == nil {
                state.upsertConnection(ConnectionRow(id: id, listener: nil, local: local, remote: remote,
                                                     state: .established, opened: time, lastActivity: time))
                noteOpened(id, request: event.request, state: &state)
            }
            state.updateConnection(id) {
                $0.local = local
                $0.remote = remote
                $0.state = .established
                $0.lastActivity = time
            }
        case .received(let id, let bytes, let count):
            countTraffic(id, received: count, time: time, state: &state)
            if state.script.watchesReceived { state.script.windows[id, default: ReceivedWindow()].append(bytes, count: count) }
        case .sent(let id, _, let count):
            countTraffic(id, sent: count, time: time, state: &state)
            if let request = event.request { state.fileTransfers[request]?.bytes += count }
        case .fileSending(_, _, let size):
            if let request = event.request { state.fileTransfers[request]?.size = size }
        case .receivedFrom(let id, _, let bytes, let count, _):
            // One datagram, even an empty one.
            countTraffic(id, received: count, time: time, receivedMessages: 1, state: &state)
            if state.script.watchesReceived { state.script.windows[id, default: ReceivedWindow()].append(bytes, count: count) }
        case .sentTo(let id, _, _, let count):
            countTraffic(id, sent: count, time: time, sentMessages: 1, state: &state)
        case .moreDatagrams(let id, let totals):
            countTraffic(id, received: totals.receivedBytes, sent: totals.sentBytes, time: time,
                         receivedMessages: totals.received, sentMessages: totals.sent, state: &state)
        case .shutDown, .attempt, .optionValue, .resolved:
            break
        case .replayRecord(_, let record):
            effects += replayRecordArrived(record, request: event.request, time: time, state: &state)
        case .ruleFired(_, let rule, let times):
            countFirings(rule: rule, times: times, state: &state)
        case .tls(let id, let report):
            state.updateConnection(id) { $0.tls = report }
        case .tlsWire(let id, let received, let sent):
            if state.connection(id) != nil { state.wireTotals[id] = TLSWireTotals(received: received, sent: sent) }
        case .tlsCertificate:
            break
        case .peerCredentials(let id, let pid, let uid, let gid):
            state.updateConnection(id) { $0.peerCredentials = PeerCredentialsText.text(pid: pid, uid: uid, gid: gid) }
        case .refused(let id, _, _):
            state.updateListener(id) { $0.refusedTotal += 1 }
            state.graphPoint(id, at: time) { $0.refusals += 1 }
        case .peerClosed(let id):
            state.updateConnection(id) {
                $0.state = .peerClosed
                $0.lastActivity = time
            }
        case .closed(let id, let reason):
            state.activeRates.remove(id)
            // A connection's own rules end with it; a listener's stay in force for the
            // connections it accepted (they go on answering by them).
            if id.kind == .connection { state.rules[.socket(id)] = nil }
            if state.script.windows.count > ScriptQueue.windowsKept {
                let rows = state
                state.script.forgetClosedWindows { rows.connection($0)?.state.isOpen ?? false }
            }
            if state.repeaters.contains(where: { $0.target == id }) {
                state.repeaters.removeAll { $0.target == id }
                note(.info, "repeated sends on \(id) stopped: it closed", id, time, &state)
            }
            if let row = state.connection(id), case .failed = row.state {
                // A connect that failed made no connection: the log says why, no row stays.
                state.forgetConnections { $0.id == id }
            }
            if let row = state.connection(id), row.state.isOpen {
                var closed: TrafficRate.ClosedBucket?
                state.updateConnection(id) {
                    $0.state = .closed(reason)
                    $0.lastActivity = time
                    $0.relay?.held = nil
                    // Nothing moves any more: the rate reads "-", not its last value; the sparkline keeps its seconds.
                    closed = $0.rate.stop(at: time)
                }
                state.graphRates(id, closed, at: time)
                // A relay counts its clients; their upstream legs are not clients.
                if let listener = row.listener, row.relay?.role != .upstream {
                    state.updateListener(listener) { $0.activeConnections -= 1 }
                }
                state.pruneClosedConnections()
            }
            state.updateListener(id) { $0.isOpen = false }
        case .error(let id, let failure):
            if let request = event.request { state.fileTransfers[request]?.failed = true }
            if let request = event.request, state.pendingRuleChanges[request] != nil { state.pendingRuleChanges[request] = .refused }
            if let request = event.request, state.script.requests.contains(request), state.script.failure == nil {
                let line = failure.call + (failure.target.map { " \($0)" } ?? "") + " failed"
                    + (failure.code.map { ": \($0)" } ?? "") + " (\(failure.explanation))"
                state.script.failure = (id.map { "\($0) " } ?? "") + line
            }
            if let id, case .connecting = state.connection(id)?.state {
                state.updateConnection(id) { $0.state = .failed(failure.code ?? "failed") }
            }
        case .lab(let labEvent):
            effects = applyLab(labEvent, request: event.request, time: time, state: &state)
        case .scan(let scanEvent):
            applyScan(scanEvent, state: &state)
        case .ping, .capture:
            break
        case .relay(let relayEvent):
            applyRelay(relayEvent, request: event.request, time: time, state: &state)
        case .requestCompleted:
            // The error says why a transfer failed; this says how far it got (nothing more when nothing left).
            if let request = event.request, let transfer = state.fileTransfers.removeValue(forKey: request),
               !transfer.failed || transfer.bytes > 0 {
                note(.info, transfer.summary(at: time), transfer.socket, time, &state)
            }
            if let request = event.request { finishRuleChange(request, time: time, state: &state) }
            if let request = event.request, state.backgroundRequests.remove(request) != nil {
                effects += repeaterRequestCompleted(request, time: time, state: &state)
            }
            if let request = event.request { effects += replayRequestCompleted(request, time: time, state: &state) }
            if let request = event.request, state.script.expectation?.timer == request {
                expectationTimedOut(time: time, state: &state)
            }
            if let request = event.request, state.scan.running == request { state.scan.end() }
            if let request = event.request {
                state.requestsInFlight.remove(request)
                state.requestsOpeningSockets.remove(request)
                state.script.requests.remove(request)
                state.pendingTransports[request] = nil
                state.pendingPolicies[request] = nil
            }
            if let request = event.request, state.script.waitingFor == request {
                state.script.waitingFor = nil
                effects += pumpScript(time: time, state: &state)
            }
        }
        log(event, transport: knownTransport, state: &state)
        // After the event is logged: the log shows what arrived, then that the expectation held.
        if let expectation = state.script.expectation, event.concerns(expectation.socket) {
            effects += settleExpectation(time: time, state: &state)
        }
        return effects
    }

    /// Keeps the event's record in the log (data merging as `LogBook.appendData` says).
    private static func log(_ event: EngineEvent, transport known: TransportProtocol?, state: inout AppState) {
        let transport = known ?? event.kind.socket.flatMap { state.transport(of: $0) }
            ?? event.request.flatMap { state.pendingTransports[$0] }
        guard let entry = LogEntry(event, transport: transport) else { return }
        switch entry.record {
        case .data:
            guard let id = entry.socket else { return }
            // A --discard listener's clients: the count is the news, not what they sent (a bulk
            // upload would fill the log with previews of it).
            let discarded = entry.kind == .received
                && state.connection(id)?.listener.flatMap { state.listener($0) }?.mode == .discard
            state.log.appendData(time: entry.time, socket: id, kind: entry.kind, transport: transport,
                                 bytes: discarded ? [] : entry.bytes, count: entry.count)
        case .event(.error(let id, _)):
            state.log.append(entry)
            state.view.flash = (id.map { "\($0) " } ?? "") + EventText.sentence(entry)
        default:
            state.log.append(entry)
        }
    }

    /// Counts data on a connection (or a datagram listener, which has no connections).
    /// `receivedMessages`/`sentMessages`: datagrams counted together (`.moreDatagrams`);
    /// otherwise one message per direction that moved bytes.
    private static func countTraffic(_ id: SocketID, received: Int = 0, sent: Int = 0, time: Timestamp,
                                     receivedMessages: Int? = nil, sentMessages: Int? = nil,
                                     state: inout AppState) {
        state.totalBytesIn += received
        state.totalBytesOut += sent
        let messagesIn = receivedMessages ?? (received > 0 ? 1 : 0)
        let messagesOut = sentMessages ?? (sent > 0 ? 1 : 0)
        if state.connection(id) != nil {
            var closed: TrafficRate.ClosedBucket?
            state.updateConnection(id) {
                $0.bytesIn += received
                $0.bytesOut += sent
                $0.messagesIn += messagesIn
                $0.messagesOut += messagesOut
                $0.lastActivity = time
                closed = $0.rate.add(received: received, sent: sent, at: time)
            }
            state.graphRates(id, closed, at: time)
            if state.connection(id)?.rate.isActive == true { state.activeRates.insert(id) }
        } else {
            state.updateListener(id) {
                $0.bytesIn += received
                $0.bytesOut += sent
                $0.datagramsIn += messagesIn
                $0.datagramsOut += messagesOut
            }
        }
    }

    /// A connection a command opened becomes the recent socket and, in the TUI, the selection:
    /// `:connect` then `:send` talks on the new connection, whatever was selected before.
    private static func noteOpened(_ id: SocketID, request: RequestID?, state: inout AppState) {
        guard let request, state.requestsOpeningSockets.remove(request) != nil else {
            if state.interactive, state.view.selectedConnection == nil { state.view.selectedConnection = id }
            return
        }
        state.recentSocket = id
        selectNewConnection(id, state: &state)
    }

    /// Selects a connection the user just made: `send` and the send line act on it.
    static func selectNewConnection(_ id: SocketID, state: inout AppState) {
        guard state.interactive else { return }
        state.view.selectedConnection = id
    }

    /// `clear closed --after`: forgets the closed rows whose time has come.
    static func forgetExpiredClosedRows(at time: Timestamp, state: inout AppState) {
        guard let limit = state.forgetClosedAfterMilliseconds else { return }
        state.forgetConnections {
            !$0.state.isOpen && (time.nanoseconds - $0.lastActivity.nanoseconds) / 1_000_000 >= Int64(limit)
        }
    }

    /// A note in the app's own words (help, an answer, an outcome), for the log.
    static func note(_ kind: LogKind, _ text: String, _ id: SocketID?, _ time: Timestamp, _ state: inout AppState) {
        state.log.append(LogEntry(time: time, socket: id, kind: kind, transport: id.flatMap { state.transport(of: $0) },
                                  record: .note(text)))
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
