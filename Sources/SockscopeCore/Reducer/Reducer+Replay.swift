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

/// One chunk of a replay: the bytes of one log entry, and how long after the previous
/// chunk it leaves.
public struct ReplayChunk: Hashable, Sendable {
    public var bytes: [UInt8]
    public var delayMilliseconds: Int
}

/// A replay under way, driven like a repeater: the new connection's `.connect` request,
/// then each chunk as a normal `.send` (its own write, so chunk boundaries stay), with an
/// engine `.wait` between two chunks when `--timing` kept a gap. Each wait starts once the
/// previous send completed, so no gap is ever shorter than the original.
public struct ReplayRun: Hashable, Sendable {
    public var source: SocketID
    public var chunks: [ReplayChunk]
    /// The new connection, once its `.connecting` event named it.
    public var target: SocketID?
    /// Chunks handed to the engine so far.
    public var nextChunk = 0
    /// The connect, wait or send in flight.
    var pending: RequestID?
    var pendingIsSend = false

    public var totalBytes: Int { chunks.reduce(0) { $0 + $1.bytes.count } }
}

extension Reducer {
    static func executeReplay(_ request: ReplayRequest, time: Timestamp, state: inout AppState) -> [Effect] {
        let source = request.source
        let chunks: [ReplayChunk]
        let destination: Endpoint
        switch replayPlan(request, state: state) {
        case .success(let plan): (chunks, destination) = plan
        case .failure(let problem): return fail("replay: \(problem.text)", time: time, socket: source, state: &state)
        }
        let effects = execute(.connect(ConnectRequest(endpoint: destination)), time: time, state: &state)
        guard case .perform(let made)? = effects.first else { return effects }
        var run = ReplayRun(source: source, chunks: chunks)
        run.pending = made.id
        state.replays.append(run)
        note(.info, "replaying \(chunks.count) chunk(s), \(run.totalBytes) bytes from \(source) to \(destination)"
             + (request.keepsTiming ? " with the original gaps" : ""), source, time, &state)
        return effects
    }

    struct ReplayProblem: Error { let text: String }

    /// The chunks C3's client side sent, as the log kept them, and where they go; or why not.
    static func replayPlan(_ request: ReplayRequest, state: AppState)
        -> Result<([ReplayChunk], Endpoint), ReplayProblem> {
        let source = request.source
        guard let row = state.connection(source) else {
            return .failure(ReplayProblem(text: "no connection \(source) (replay takes a connection, as in replay C3)"))
        }
        guard !row.transport.isDatagram else {
            return .failure(ReplayProblem(text: "\(source) is a datagram socket; replay replays stream connections"))
        }
        // What the client side sent: our own writes on a connection we opened (and on a
        // relay's upstream leg, which carries the client's bytes); the peer's on one we accepted.
        let isAccepted = row.relay?.role == .client || (row.relay == nil && row.listener != nil)
        let direction: LogKind = isAccepted ? .received : .sent
        if state.log.droppedEntries > 0, state.log.count > 0, state.log[0].time > row.opened {
            return .failure(ReplayProblem(
                text: "the log has dropped \(source)'s oldest entries (it keeps \(LogBook.defaultCapacity) entries)"))
        }
        var chunks: [ReplayChunk] = []
        var previous: Timestamp?
        for index in 0..<state.log.count {
            let entry = state.log[index]
            guard entry.socket == source, entry.kind == direction, case .data = entry.record else { continue }
            let number = chunks.count + 1
            guard entry.bytes.count == entry.count else {
                return .failure(ReplayProblem(
                    text: "\(source)'s chunk \(number) was \(entry.count) bytes and the log kept \(entry.bytes.count): "
                        + "follow \(source) (Enter on it, or filter \(source)) before its traffic to keep up to "
                        + "\(DataPreview.followedLimit / 1024) KiB a chunk"))
            }
            let gap = previous.map { Int((entry.time.nanoseconds - $0.nanoseconds + 999_999) / 1_000_000) } ?? 0
            chunks.append(ReplayChunk(bytes: entry.bytes, delayMilliseconds: request.keepsTiming ? max(0, gap) : 0))
            previous = entry.time
        }
        guard !chunks.isEmpty else {
            return .failure(ReplayProblem(text: "\(source)'s client side sent nothing the log holds; nothing to replay"))
        }
        if let destination = request.destination { return .success((chunks, destination)) }
        var remote = row.remote
        if let leg = row.relay, leg.role == .client {
            remote = leg.partner.flatMap { state.connection($0)?.remote }
        } else if isAccepted {
            return .failure(ReplayProblem(
                text: "\(source) was accepted from a client; say where to replay it: replay \(source) to ENDPOINT"))
        }
        guard let endpoint = remote?.connectTarget(row.transport) else {
            return .failure(ReplayProblem(text: "\(source) has no remote end to connect to; say where: replay \(source) to ENDPOINT"))
        }
        return .success((chunks, endpoint))
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
