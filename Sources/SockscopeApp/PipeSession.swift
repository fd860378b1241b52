import Glibc
import SockscopeCore
import SockscopeEngine

/// `sockscope HOST PORT` and `sockscope -l [HOST] PORT`: netcat's contract for scripts.
/// Stdin is sent raw, received bytes go raw to stdout, diagnostics to stderr, and the
/// JSON event stream, if asked for, to a file or stderr. Exit status 1 when the connect
/// or listen fails.
///
/// Every received byte must reach stdout, so the engine runs with a `PayloadCredit`: data
/// events carry whole payloads, and connections stop reading while more than the credit's
/// limit is waiting for stdout.
///
/// End of stdin shuts our side down for writing (a FIN, as `nc -N`); the session ends when
/// both directions are over (our input sent and the peer's EOF read), or the connection
/// closes. OpenBSD nc without -N would keep the connection open after its input ends.
/// The listening form takes one client, as nc does, and stops listening then.
public enum PipeSession {
    public enum EventsTarget: Sendable, Equatable {
        case standardError
        case file(String)
    }

    public struct Options: Sendable {
        /// The command that opens the socket: `connect ENDPOINT` or `listen ENDPOINT`.
        public var opening: String
        public var events: EventsTarget?
        public var payload: PayloadEncoding
        public var engineThreads: Int

        public init(opening: String, events: EventsTarget?, payload: PayloadEncoding = .none, engineThreads: Int = 1) {
            self.opening = opening
            self.events = events
            self.payload = payload
            self.engineThreads = engineThreads
        }
    }

    /// The command that opens the socket for `sockscope [-l] [-u|-U] HOST PORT` (or PATH).
    public static func opening(listen: Bool, udp: Bool, unixPath: String?, host: String?, port: Int?) -> String {
        let endpoint: String
        if let unixPath {
            endpoint = "unix:\(unixPath)"
        } else {
            let name = host ?? "127.0.0.1"
            let address = name.contains(":") ? "[\(name)]" : name
            endpoint = "\(udp ? "udp" : "tcp")://\(address):\(port ?? 0)"
        }
        // A host named on the command line is meant, as with nc: no --public question.
        return listen ? "listen \(endpoint)\(host == nil ? "" : " --public")" : "connect \(endpoint)"
    }

    /// Returns the process exit status.
    public static func run(_ options: Options) -> Int32 {
        let signals = SignalRoute.install()
        let credit = PayloadCredit()
        let mailbox = Mailbox(keepsWholePayloads: true)
        let engine = Engine(threads: options.engineThreads, payloadCredit: credit, emit: { mailbox.post($0) })
        var state = AppState(interactive: false)
        state.script.stopsAtFailure = true
        var eventsFD: Int32 = -1
        switch options.events {
        case nil: break
        case .standardError: eventsFD = STDERR_FILENO
        case .file(let path):
            eventsFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if eventsFD < 0 {
                let failure = SocketFailure.file(call: "open", errno: errno, path: path)
                writeAll(STDERR_FILENO, Array("sockscope: --events \(path): \(failure.code ?? "") (\(failure.explanation))\n".utf8))
                return 1
            }
        }
        // With the JSON stream on stderr, the errors are in it already.
        let diagnosticsToStderr = eventsFD != STDERR_FILENO
        var output: [UInt8] = []
        var events: [UInt8] = []
        var diagnostics: [UInt8] = []
        var unpaid = 0
        var effects = EffectRunner(engine: engine, onNotice: { kind, text in
            guard kind == .error, diagnosticsToStderr else { return }
            diagnostics += Array("sockscope: \(text)\n".utf8)
        })
        func handle(_ produced: [Effect]) { effects.run(produced, state: &state) }
        /// The event as a JSON line for `--events`, with its whole payload under `--payload base64`.
        func appendEventLine(_ event: EngineEvent) {
            let transport = event.kind.socket.flatMap { state.transport(of: $0) }
            var entry = LogEntry(event, transport: transport) ?? LogEntry(observation: event, transport: transport)
            let whole = options.payload == .base64 && entry.isData && entry.bytes.count == entry.count ? entry.bytes : nil
            entry.bytes = Array(entry.bytes.prefix(LogBook.previewLimit))
            guard let line = EventText.json(entry, payload: whole) else { return }
            events += line.utf8
            events.append(0x0A)
        }
        /// The connection stdin goes to (for a datagram listener: itself, once a sender is known).
        var peer: SocketID?
        var sendInFlight: RequestID?
        var stdinOpen = true

        handle(Reducer.reduce(&state, .commandLine(options.opening, origin: .script, time: Timestamp.now())))
        while !effects.quitting {
            writeAll(STDOUT_FILENO, output)
            credit.pay(unpaid)
            unpaid = 0
            output.removeAll(keepingCapacity: true)
            if eventsFD >= 0 { writeAll(eventsFD, events) }
            events.removeAll(keepingCapacity: true)
            writeAll(STDERR_FILENO, diagnostics)
            diagnostics.removeAll(keepingCapacity: true)
            if state.script.failure != nil { break }
            if let peer, isFinished(peer, inputSent: !stdinOpen && sendInFlight == nil, state: state) { break }

            var descriptors = [signals.fileDescriptor, mailbox.wakeSignal.fileDescriptor]
            let readsStdin = stdinOpen && sendInFlight == nil && peer.map { isReady($0, state: state) } == true
            if readsStdin { descriptors.append(STDIN_FILENO) }
            let ready = PollSet.wait(descriptors, timeoutMilliseconds: -1)
            if ready.readable.contains(signals.fileDescriptor) { break }
            if readsStdin, let peer, ready.readable.contains(STDIN_FILENO) || ready.hungUp.contains(STDIN_FILENO) {
                let bytes = readAvailable(STDIN_FILENO)
                if let bytes, !bytes.isEmpty {
                    let produced = Reducer.reduce(&state, .command(.send(target: peer, bytes: bytes), time: Timestamp.now()))
                    for case .perform(let request) in produced { sendInFlight = request.id }
                    handle(produced)
                } else if bytes == nil {
                    stdinOpen = false
                    // Half-close, as `nc -N`: the peer reads EOF and may still answer. A datagram
                    // socket has no FIN to send: its session ends with its input.
                    guard let row = state.connection(peer), !row.transport.isDatagram else { break }
                    handle(Reducer.reduce(&state, .command(.shutdown(target: peer, .write), time: Timestamp.now())))
                }
            }
            guard ready.readable.contains(mailbox.wakeSignal.fileDescriptor) else { continue }
            for event in mailbox.drain() {
                if eventsFD >= 0 { appendEventLine(event) }
                switch event.kind {
                case .received(let id, let bytes, let count):
                    if id == peer { output += bytes }
                    unpaid += count
                case .receivedFrom(let id, _, let bytes, let count, _):
                    if peer == nil, state.listener(id) != nil { peer = id }
                    if id == peer { output += bytes }
                    unpaid += count
                case .connected(let id, _, _) where peer == nil:
                    peer = id
                case .accepted(let id, let listener, _, _) where peer == nil:
                    peer = id
                    // One client, as nc -l: the listener closes once it has one.
                    handle(Reducer.reduce(&state, .command(.close(target: listener), time: event.time)))
                case .error where diagnosticsToStderr:
                    diagnostics += Array("sockscope: ".utf8)
                    if EventText.appendLine(EventText.entry(event), to: &diagnostics) { diagnostics.append(0x0A) }
                case .requestCompleted where event.request == sendInFlight && sendInFlight != nil:
                    sendInFlight = nil
                default:
                    break
                }
                handle(Reducer.reduce(&state, .engine(event)))
            }
        }
        engine.shutdown()
        for event in mailbox.drain() {
            if eventsFD >= 0 { appendEventLine(event) }
            if case .received(let id, let bytes, _) = event.kind, id == peer { output += bytes }
            if case .receivedFrom(let id, _, let bytes, _, _) = event.kind, id == peer { output += bytes }
        }
        writeAll(STDOUT_FILENO, output)
        if eventsFD >= 0 { writeAll(eventsFD, events) }
        writeAll(STDERR_FILENO, diagnostics)
        if eventsFD > STDERR_FILENO { close(eventsFD) }
        return state.script.failure == nil ? 0 : 1
    }

    /// Stdin may be sent: the connection is up (a datagram listener has a sender to answer).
    private static func isReady(_ id: SocketID, state: AppState) -> Bool {
        if let row = state.connection(id) { return row.state == .established || row.state == .peerClosed }
        return state.listener(id)?.isOpen == true
    }

    /// Both directions are over: the connection is closed, or the peer finished sending (EOF)
    /// and so did we (stdin ended and all of it was sent). A datagram socket, which has no
    /// EOF, is over when its input is.
    private static func isFinished(_ id: SocketID, inputSent: Bool, state: AppState) -> Bool {
        guard let row = state.connection(id) else { return state.listener(id)?.isOpen == false || inputSent }
        switch row.state {
        case .closed, .failed: return true
        case .peerClosed: return inputSent
        case .established: return inputSent && row.transport.isDatagram
        case .connecting, .unconnected: return false
        }
    }
}
