/// `replay C3 [to ENDPOINT] [--timing]`.
public struct ReplayRequest: Hashable, Sendable {
    /// The connection whose client side is replayed.
    public var source: SocketID
    /// Where the new connection goes; nil: C3's remote end (a relay client's: the relay's target).
    public var destination: Endpoint?
    /// Keep the gaps between the original chunks (else they leave one after another).
    public var keepsTiming = false

    public init(source: SocketID, destination: Endpoint? = nil, keepsTiming: Bool = false) {
        self.source = source
        self.destination = destination
        self.keepsTiming = keepsTiming
    }
}

/// One chunk of a replay: the bytes of one recorded read or write, and how long after
/// the previous chunk it leaves.
public struct ReplayChunk: Hashable, Sendable {
    public var bytes: [UInt8]
    public var delayMilliseconds: Int
}

/// A replay under way, driven like a repeater: first the engine's record of what C3's
/// client side sent (`.replayRecord`), then the new connection's `.connect` request, then
/// each chunk as a normal `.send` (its own write, so chunk boundaries stay), with an engine
/// `.wait` between two chunks when `--timing` kept a gap. Each wait starts once the previous
/// send completed, so no gap is ever shorter than the original.
public struct ReplayRun: Hashable, Sendable {
    /// The connection named in the command.
    public var source: SocketID
    /// The connection whose record is replayed: the source, or for a relay's upstream leg its
    /// client leg (the upstream leg's bytes are the client's, forwarded).
    var recorded: SocketID
    var destination: Endpoint
    var keepsTiming: Bool
    /// Empty until the record arrives.
    public var chunks: [ReplayChunk] = []
    var hasRecord = false
    /// The new connection, once its `.connecting` event named it.
    public var target: SocketID?
    /// Chunks handed to the engine so far.
    public var nextChunk = 0
    /// The record request, connect, wait or send in flight.
    var pending: RequestID?
    var pendingIsSend = false

    public var totalBytes: Int { chunks.reduce(0) { $0 + $1.bytes.count } }
}

extension Reducer {
    /// Checks what can be checked here, then asks the engine for the record; the connection
    /// is made once it arrives (`replayRecordArrived`).
    static func executeReplay(_ request: ReplayRequest, time: Timestamp, state: inout AppState) -> [Effect] {
        let source = request.source
        let plan: (recorded: SocketID, destination: Endpoint)
        switch replayPlan(request, state: state) {
        case .success(let made): plan = made
        case .failure(let problem): return fail("replay: \(problem.text)", time: time, socket: source, state: &state)
        }
        let effect = makeRequest(.replayRecord(plan.recorded), state: &state)
        guard case .perform(let made) = effect else { return [effect] }
        var run = ReplayRun(source: source, recorded: plan.recorded, destination: plan.destination,
                            keepsTiming: request.keepsTiming)
        run.pending = made.id
        state.replays.append(run)
        return [effect]
    }

    struct ReplayProblem: Error { let text: String }

    /// Whose record is replayed and where it goes; or why not.
    static func replayPlan(_ request: ReplayRequest, state: AppState)
        -> Result<(recorded: SocketID, destination: Endpoint), ReplayProblem> {
        let source = request.source
        guard let row = state.connection(source) else {
            return .failure(ReplayProblem(text: "no connection \(source) (replay takes a connection, as in replay C3)"))
        }
        guard !row.transport.isDatagram else {
            return .failure(ReplayProblem(text: "\(source) is a datagram socket; replay replays stream connections"))
        }
        var recorded = source
        var remote = row.remote
        let isAccepted = row.relay == nil && row.listener != nil
        if isAccepted, let listener = row.listener.flatMap(state.listener), !ReplayRecord.isKept(forClientsOf: listener.mode) {
            return .failure(ReplayProblem(
                text: "\(source) is a client of \(listener.id) (--\(listener.mode)), whose clients are not recorded for replay "
                    + "(echo and discard listeners soak up load); listen without --\(listener.mode), or relay, to replay a client"))
        }
        if let leg = row.relay {
            // Either leg of a relayed pair replays what the client sent, to the relay's target.
            let upstream = leg.role == .client ? leg.partner : source
            if leg.role == .upstream, let client = leg.partner { recorded = client }
            remote = upstream.flatMap { state.connection($0)?.remote }
        }
        // The counts say it before the engine is asked (a closed connection that sent nothing
        // leaves no record to ask for).
        // The client side's bytes are what a relay's client leg or an accepted connection read,
        // and what a connection we opened wrote.
        let sent = row.relay != nil || isAccepted ? state.connection(recorded)?.bytesIn ?? 0 : row.bytesOut
        if sent == 0 {
            return .failure(ReplayProblem(text: "\(source)'s client side sent nothing; nothing to replay"))
        }
        if let destination = request.destination { return .success((recorded, destination)) }
        if isAccepted {
            return .failure(ReplayProblem(
                text: "\(source) was accepted from a client; say where to replay it: replay \(source) to ENDPOINT"))
        }
        guard let endpoint = remote?.connectTarget(row.transport) else {
            return .failure(ReplayProblem(text: "\(source) has no remote end to connect to; say where: replay \(source) to ENDPOINT"))
        }
        return .success((recorded, endpoint))
    }

    /// The engine's record arrived: the chunks to send, then the new connection; or why not.
    static func replayRecordArrived(_ record: ReplayRecord, request: RequestID?, time: Timestamp,
                                    state: inout AppState) -> [Effect] {
        guard let request, let index = state.replays.firstIndex(where: { $0.pending == request && !$0.hasRecord }) else {
            return []
        }
        var run = state.replays[index]
        let whose = run.recorded == run.source ? "\(run.source)'s client side" : "\(run.source)'s client (\(run.recorded))"
        let refuse = { (why: String, state: inout AppState) -> [Effect] in
            state.replays.remove(at: index)
            let message = "replay: \(why)"
            if state.script.requests.contains(request), state.script.failure == nil { state.script.failure = message }
            return fail(message, time: time, socket: run.source, state: &state)
        }
        if let cut = record.cut {
            return refuse("\(whose) sent \(ByteCount.text(record.total)) and the record for replay holds the first "
                          + "\(ByteCount.text(record.keptBytes)) (\(cut)); nothing was replayed", &state)
        }
        guard !record.chunks.isEmpty else { return refuse("\(whose) sent nothing; nothing to replay", &state) }
        var previous: Timestamp?
        run.chunks = record.chunks.map { chunk in
            let gap = previous.map { Int((chunk.time.nanoseconds - $0.nanoseconds + 999_999) / 1_000_000) } ?? 0
            previous = chunk.time
            return ReplayChunk(bytes: chunk.bytes, delayMilliseconds: run.keepsTiming ? max(0, gap) : 0)
        }
        run.hasRecord = true
        let effects = execute(.connect(ConnectRequest(endpoint: run.destination)), time: time, state: &state)
        guard case .perform(let made)? = effects.first else {
            state.replays.remove(at: index)
            return effects
        }
        run.pending = made.id
        state.replays[index] = run
        // A script waits for the connection, as it would for `connect`: its next line may name it.
        if state.script.waitingFor == request {
            state.script.waitingFor = made.id
            state.script.requests.insert(made.id)
        }
        note(.info, "replaying \(run.chunks.count) chunk(s), \(run.totalBytes) bytes from \(run.source) to \(run.destination)"
             + (run.keepsTiming ? " with the original gaps" : ""), run.source, time, &state)
        return effects
    }

    /// The new connection's id, from its `.connecting` event.
    static func replayConnecting(_ id: SocketID, request: RequestID?, state: inout AppState) {
        guard let request, let index = state.replays.firstIndex(where: { $0.pending == request && $0.target == nil }) else {
            return
        }
        state.replays[index].target = id
    }

    /// A replay's connect, send or wait completed: send the next chunk (after its gap), or end.
    static func replayRequestCompleted(_ request: RequestID, time: Timestamp, state: inout AppState) -> [Effect] {
        guard let index = state.replays.firstIndex(where: { $0.pending == request }) else { return [] }
        var run = state.replays[index]
        // The record request ended without a record: the engine's error said why.
        guard run.hasRecord else {
            state.replays.remove(at: index)
            return []
        }
        let sentSoFar = run.chunks[..<run.nextChunk].reduce(0) { $0 + $1.bytes.count }
        let stop = { (why: String, state: inout AppState) -> [Effect] in
            state.replays.remove(at: index)
            let text = "replay from \(run.source) stopped after \(run.nextChunk) of \(run.chunks.count) chunk(s), "
                + "\(sentSoFar) bytes: \(why)"
            note(.error, text, run.target ?? run.source, time, &state)
            return [.notice(.error, text)]
        }
        guard let target = run.target else { return stop("the connection was never made", &state) }
        if let problem = sendProblem(target, state: state) { return stop(problem, &state) }
        guard run.nextChunk < run.chunks.count else {
            state.replays.remove(at: index)
            let text = "\(target) replayed \(run.chunks.count) chunk(s), \(run.totalBytes) bytes from \(run.source)"
            note(.info, text, target, time, &state)
            return [.notice(.info, text)]
        }
        let chunk = run.chunks[run.nextChunk]
        let effect: Effect
        if !run.pendingIsSend || chunk.delayMilliseconds == 0 {
            // After the connect, after a gap's wait, or with no gap to keep: the chunk goes now.
            effect = makeRequest(.send(target, chunk.bytes), state: &state)
            run.nextChunk += 1
            run.pendingIsSend = true
        } else {
            effect = makeRequest(.wait(milliseconds: chunk.delayMilliseconds), state: &state)
            run.pendingIsSend = false
        }
        if case .perform(let made) = effect {
            run.pending = made.id
            state.backgroundRequests.insert(made.id)
        }
        state.replays[index] = run
        return [effect]
    }
}
