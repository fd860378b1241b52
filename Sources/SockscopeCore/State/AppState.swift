/// A listening socket as the panes show it.
public struct ListenerRow: Hashable, Sendable {
    public var id: SocketID
    public var transport: TransportProtocol
    public var local: SocketEndpoint
    public var mode: ListenMode
    public var backlog: Int
    public var activeConnections = 0
    public var acceptedTotal = 0
    public var isOpen = true
    public var refusedTotal = 0
    /// The connection it accepted last: where `send` goes when this listener is the recent socket.
    public var latestClient: SocketID?
    public var policy = ListenerPolicy()
    /// Datagram listeners count their own traffic (they have no connections).
    public var bytesIn = 0
    public var bytesOut = 0
    public var datagramsIn = 0
    public var datagramsOut = 0
    /// A relay (`R1`): where each client's upstream leg connects, as written; nil for a listener.
    public var relayTarget: String?
    /// A relay's toxics, in the order they were added, and how often each fired.
    public var toxics: [Toxic] = []
    public var toxicFirings: [String: Int] = [:]
    /// A relay put down (`relay R1 down`): it refuses every client until `relay R1 up`.
    public var isDown = false
    /// A relay holding its traffic (`hold R1 up`): which way, and how chunks are cut.
    public var holding: ToxicDirection?
    public var holdFraming: HoldFraming = .raw
    /// The relay's held chunks in the order they go out, each with its preview (the first
    /// `heldPreviewLimit`; beyond that only the legs' counts).
    public var heldChunks: [HeldChunkPreview] = []
    public static let heldPreviewLimit = 256

    /// Bound to every interface, so reachable from the network.
    public var isAllInterfaces: Bool { local.isWildcard }
}

public enum ConnectionState: Hashable, Sendable {
    case connecting
    case established
    /// The peer sent FIN: we read EOF but can still send (half-open).
    case peerClosed
    case closed(String)
    /// The connect never succeeded; the errno name or reason.
    case failed(String)
    /// A step-mode socket neither connected nor listening; its phase (created, bound, failed).
    case unconnected(String)

    public var label: String {
        switch self {
        case .connecting: "connecting"
        case .established: "open"
        case .peerClosed: "peer-EOF"
        case .closed: "closed"
        case .failed(let code): code
        case .unconnected(let phase): phase
        }
    }

    public var isOpen: Bool {
        switch self {
        case .closed, .failed: false
        case .connecting, .established, .peerClosed, .unconnected: true
        }
    }
}

/// A connection, accepted by one of our listeners or opened by us.
public struct ConnectionRow: Hashable, Sendable {
    public var id: SocketID
    /// The listener that accepted it; nil for connections we opened.
    public var listener: SocketID?
    public var transport: TransportProtocol = .tcp
    /// Nil until the socket has an address (connecting, or a step socket not yet bound).
    public var local: SocketEndpoint?
    /// Nil until connected (or accepted).
    public var remote: SocketEndpoint?
    /// The place a connect asked for, as the user wrote it: shown as the remote until connected.
    public var requestedRemote: String?
    public var state: ConnectionState
    public var bytesIn = 0
    public var bytesOut = 0
    public var messagesIn = 0
    public var messagesOut = 0
    public var opened: Timestamp
    public var lastActivity: Timestamp
    /// Appended to each line typed in the send line.
    public var lineEnding: LineEnding = .lf
    /// SO_PEERCRED of an accepted UNIX connection.
    public var peerCredentials: String?
    /// The finished TLS handshake of a `tls://` connection (the inspector's fields).
    public var tls: TLSReport?
    public var rate = TrafficRate()
    /// A relay's leg: which relay, which side, and its other leg.
    public var relay: RelayLeg?

    public init(id: SocketID, listener: SocketID?, transport: TransportProtocol = .tcp, local: SocketEndpoint?,
                remote: SocketEndpoint?, requestedRemote: String? = nil, state: ConnectionState, opened: Timestamp,
                lastActivity: Timestamp) {
        self.id = id
        self.listener = listener
        self.transport = transport
        self.local = local
        self.remote = remote
        self.requestedRemote = requestedRemote
        self.state = state
        self.opened = opened
        self.lastActivity = lastActivity
    }

    /// The local address as the panes show it (safe on a terminal): `-` before there is one.
    public var localText: String { local?.description ?? "-" }
    /// The remote address as the panes show it (safe on a terminal): what was asked for until
    /// connected, `-` when nothing is known.
    public var remoteText: String {
        remote?.description ?? requestedRemote.map { DisplayText.escape(string: $0) } ?? "-"
    }
}

/// What ends a typed line on a connection.
public enum LineEnding: String, Hashable, Sendable, CaseIterable {
    case none, lf, crlf, cr

    public var bytes: [UInt8] {
        switch self {
        case .none: []
        case .lf: [0x0A]
        case .crlf: [0x0D, 0x0A]
        case .cr: [0x0D]
        }
    }
}

/// Scripted commands (from `-c` and headless stdin) run one at a time: the
/// next waits until the engine has answered the previous one.
public struct ScriptQueue: Hashable, Sendable {
    public var pending: [String] = []
    public var waitingFor: RequestID?
    /// Requests the script made that the engine has not answered yet.
    var requests: Set<RequestID> = []
    /// The first scripted command that failed: refused by the parser or the reducer, or
    /// answered by the engine with an error (a refused connect, a busy port). Step-mode
    /// calls that return an errno are the kernel's answer to a lesson, not failures.
    /// Headless ends with status 1 once this is set, unless `--keep-going`.
    public internal(set) var failure: String?
    /// No further line runs once a command has failed (headless without `--keep-going`).
    public var stopsAtFailure = false
    /// Script lines taken so far, comments and blank lines included: the number of the line running.
    public internal(set) var linesTaken = 0
    /// Where the script's lines come from, in order (`-c`, a file, stdin): names lines in messages.
    public var sources: [ScriptSource] = []
    /// Where the command running now was written (`line 4 of check.txt`; `the prompt` when typed).
    var runningLocation = "the prompt"
    /// The `expect` waiting for its condition, if any.
    var expectation: PendingExpectation?
    /// Received bytes are kept for expectations (`windows`) once a script has an `expect`.
    public internal(set) var watchesReceived = false
    /// What each socket received that no expectation consumed (see `ReceivedWindow`).
    public internal(set) var windows: [SocketID: ReceivedWindow] = [:]
    /// Per listener, the accepted clients an `expect L1 connected` has taken.
    var acceptsTaken: [SocketID: Int] = [:]

    /// At most this many sockets keep a `ReceivedWindow`: past it, closed connections' windows go.
    public static let windowsKept = 256

    /// Keeps the windows within `windowsKept`, dropping closed sockets' first (oldest ids
    /// first), never the one an expectation looks at.
    mutating func forgetClosedWindows(isOpen: (SocketID) -> Bool) {
        guard windows.count > Self.windowsKept else { return }
        let closed = windows.keys.filter { !isOpen($0) && $0 != expectation?.socket }.sorted()
        for id in closed.prefix(windows.count - Self.windowsKept) { windows[id] = nil }
    }

    /// `line 4 of check.txt`, for the script's `number`th line.
    func location(ofLine number: Int) -> String {
        var first = 1
        for source in sources {
            if let count = source.lines, number >= first + count {
                first += count
                continue
            }
            return "line \(number - first + 1) of \(source.name)"
        }
        return "line \(number)"
    }
}

/// A run of script lines from one place: `-c` options, a `--script` file, stdin.
public struct ScriptSource: Hashable, Sendable {
    public var name: String
    /// How many lines it gave; nil for the last source, still giving (stdin).
    public var lines: Int?

    public init(name: String, lines: Int?) {
        self.name = name
        self.lines = lines
    }
}

/// The whole application state. Changed only by `Reducer.reduce`.
public struct AppState {
    public var listeners: [ListenerRow] = []
    public var connections: [ConnectionRow] = []
    public var log = LogBook()
    public var view = ViewState()
    /// The entries matching `view.logFilter`, kept current by the reducer.
    public var logFilterIndex = LogFilterIndex()
    public var script = ScriptQueue()
    /// Every byte the session's sockets received and sent: connections, datagram listeners,
    /// and rows since pruned or cleared (the status line's totals).
    /// Files being sent (`sendfile`), by request: what the line logged when one ends says.
    var fileTransfers: [RequestID: FileTransfer] = [:]
    public internal(set) var totalBytesIn = 0
    public internal(set) var totalBytesOut = 0
    /// The socket the commands themselves last made or named (a connect's or listen's new
    /// socket, a step socket, an id written in a command), never one that merely appeared
    /// (an accepted client): what a command without an id acts on when nothing is selected,
    /// so a script means the same socket however its events are timed.
    public internal(set) var recentSocket: SocketID?
    /// Connects and listens whose new socket becomes `recentSocket` (and, in the TUI, the selection).
    var requestsOpeningSockets: Set<RequestID> = []
    /// The lifecycle lab: step sockets, ledgers, kernel samples, the system view.
    public var lab = LabState()
    /// TLS connections' bytes on the wire so far (`.tlsWire`): received, sent.
    public internal(set) var wireTotals: [SocketID: TLSWireTotals] = [:]
    /// What Detail's graphs draw: the last minutes of the recently active sockets (TUI only).
    public internal(set) var graphs = GraphStore()
    /// The guided tour, while one runs.
    public var tour: TourState?
    /// The latest port scan and its view.
    public var scan = ScanState()
    public var nextRequest: UInt64 = 1
    /// The transport of connects not yet answered, to label their rows.
    var pendingTransports: [RequestID: TransportProtocol] = [:]
    /// The access policy of listens not yet answered, to show on their rows.
    var pendingPolicies: [RequestID: ListenerPolicy] = [:]
    /// Requests given to the engine and not yet answered (every one ends with `.requestCompleted`).
    public internal(set) var requestsInFlight: Set<RequestID> = []
    /// True in the TUI: rows get selected as they appear. Headless has no selection,
    /// so commands without an id go to the most recent socket.
    public let interactive: Bool
    /// Whether the app should send a `.tick` about once a second: a rate is still
    /// moving or a flash message is waiting to expire. False when all is quiet.
    public var wantsTicks: Bool {
        !activeRates.isEmpty || view.flash != nil
            || (forgetClosedAfterMilliseconds != nil && connections.contains { !$0.state.isOpen })
    }

    /// `clear closed --after`: a closed row is forgotten this long after it closed (ticks run
    /// while such rows wait, so an idle screen still loses them; none waiting, no ticks).
    public internal(set) var forgetClosedAfterMilliseconds: Int?

    /// Connections whose rate may still change: the app ticks once a second while any exist.
    public internal(set) var activeRates: Set<SocketID> = []
    /// Sends repeated at an interval (`every`), in the order they were started.
    public internal(set) var repeaters: [Repeater] = []
    var nextRepeaterNumber = 1
    /// Requests the commands made that nothing waits for (a repeater's timers and sends):
    /// a script goes on without them.
    var backgroundRequests: Set<RequestID> = []
    /// The background requests that are a repeater's sends (the others are its waits).
    var repeaterSends: Set<RequestID> = []
    /// Replays under way (`replay C3`).
    public internal(set) var replays: [ReplayRun] = []
    /// The rules that answer, per owner, in order, with their firings (`rule`).
    public internal(set) var rules: [RuleOwner: [RuleRow]] = [:]
    /// Rules are numbered R1, R2... for the session; numbers are never reused.
    var nextRuleNumber = 1
    /// Rule changes asked of the engine, applied here once it has made them.
    var pendingRuleChanges: [RequestID: RuleChange] = [:]
    /// Listens with `--rules FILE`, by request: the file is read once the listener exists.
    var pendingRuleFiles: [RequestID: String] = [:]
    /// Headless `--public`: listeners may bind every interface without asking.
    public var allowsPublicListeners = false
    /// Set by every change the screen must show; the runtime clears it after drawing.
    public var needsRedraw = true

    /// True when only a new command could make anything happen: no command is queued
    /// or unanswered, the system view (a scan a second) is off, every listener is closed,
    /// and every connection is closed, failed, or finished by its peer (EOF: nothing more
    /// can arrive, and only a command could send). A step-mode socket that is not connected
    /// (created, bound, or after a failed connect) waits for commands too: nothing reads it
    /// but a `recv`. A headless session whose stdin has ended stops here, as netcat does
    /// when both directions are done, instead of holding a finished connection forever.
    public var isWaitingOnlyForCommands: Bool {
        guard script.pending.isEmpty, script.waitingFor == nil, requestsInFlight.isEmpty else { return false }
        guard !lab.system.visible, !listeners.contains(where: \.isOpen) else { return false }
        return connections.allSatisfy { row in
            switch row.state {
            case .closed, .failed, .peerClosed, .unconnected: true
            case .connecting, .established: false
            }
        }
    }

    /// Closed connections kept as rows for reference; older ones are pruned.
    public static let closedRowsKept = 200
    /// Pruning waits until this many more rows have closed, then drops them in one pass:
    /// pruning one row per close would copy every row and rebuild the index each time,
    /// quadratic when 10 000 connections close at once.
    public static let closedRowsPrunedAtOnce = 200
    /// Closed rows at most (closes counted since the last exact count): whether a prune is due.
    private var closedRowsAtMost = 0

    private var listenerIndex: [SocketID: Int] = [:]
    private var connectionIndex: [SocketID: Int] = [:]

    /// `glyphs`: what the terminal can show (`.ascii` when its locale is not UTF-8).
    public init(interactive: Bool, glyphs: Glyphs = .unicode) {
        self.interactive = interactive
        view.glyphs = glyphs
        // Headless paces its own output: one log entry per line it prints.
        log.mergesNearbyData = interactive
    }

    /// The protocol of one of our sockets, while it has a row.
    public func transport(of id: SocketID) -> TransportProtocol? {
        if let index = connectionIndex[id] { return connections[index].transport }
        if let index = listenerIndex[id] { return listeners[index].transport }
        return nil
    }

    public func listener(_ id: SocketID) -> ListenerRow? { listenerIndex[id].map { listeners[$0] } }
    public func connection(_ id: SocketID) -> ConnectionRow? { connectionIndex[id].map { connections[$0] } }
    /// Where a connection's row is in `connections`.
    func connectionIndex(of id: SocketID) -> Int? { connectionIndex[id] }

    mutating func upsertListener(_ row: ListenerRow) {
        if let index = listenerIndex[row.id] { listeners[index] = row } else {
            listenerIndex[row.id] = listeners.count
            listeners.append(row)
        }
    }

    mutating func updateListener(_ id: SocketID, _ change: (inout ListenerRow) -> Void) {
        if let index = listenerIndex[id] { change(&listeners[index]) }
    }

    mutating func upsertConnection(_ row: ConnectionRow) {
        if let index = connectionIndex[row.id] { connections[index] = row } else {
            connectionIndex[row.id] = connections.count
            connections.append(row)
        }
    }

    mutating func updateConnection(_ id: SocketID, _ change: (inout ConnectionRow) -> Void) {
        if let index = connectionIndex[id] { change(&connections[index]) }
    }

    /// Forgets a connection row (a step-mode socket that became a listener).
    mutating func removeConnection(_ id: SocketID) {
        guard connectionIndex[id] != nil else { return }
        connections.removeAll { $0.id == id }
        connectionIndex = Dictionary(uniqueKeysWithValues: connections.enumerated().map { ($1.id, $0) })
        if view.selectedConnection == id { view.selectedConnection = nil }
        graphs.forget(id)
        wireTotals[id] = nil
    }

    /// How far the `sendfile` on `id` has come, at its latest event; nil when none runs
    /// (or its file is not open yet).
    public func transferProgress(of id: SocketID) -> TransferProgress? {
        guard !fileTransfers.isEmpty, let row = connection(id) else { return nil }
        return fileTransfers.values.first { $0.socket == id && $0.size != nil }?.progress(at: row.lastActivity)
    }

    // Graph history is kept in the TUI only (headless draws no graphs); the socket Detail
    // shows keeps its history when others make room.

    mutating func graphPoint(_ id: SocketID, at time: Timestamp, _ change: (inout GraphPoint) -> Void) {
        guard interactive else { return }
        graphs.update(id, at: time, keep: view.detailSocket, change)
    }

    mutating func graphRates(_ id: SocketID, _ bucket: TrafficRate.ClosedBucket?, at time: Timestamp) {
        guard interactive, let bucket else { return }
        graphs.recordRates(id, bucket, keep: view.detailSocket)
    }

    mutating func graphSample(_ id: SocketID, _ sample: KernelSample, at time: Timestamp) {
        guard interactive else { return }
        graphs.recordSample(id, sample, at: time, keep: view.detailSocket)
    }

    /// Forgets every connection row `shouldForget` picks, in one pass (the index is rebuilt
    /// once, not once per row), with what only those rows used: kernel samples, pins, the
    /// selection. Returns how many went.
    @discardableResult
    mutating func forgetConnections(where shouldForget: (ConnectionRow) -> Bool) -> Int {
        var gone: Set<SocketID> = []
        connections.removeAll { row in
            guard shouldForget(row) else { return false }
            gone.insert(row.id)
            return true
        }
        guard !gone.isEmpty else { return 0 }
        connectionIndex = Dictionary(uniqueKeysWithValues: connections.enumerated().map { ($1.id, $0) })
        for id in gone {
            lab.kernel[id] = nil
            graphs.forget(id)
            wireTotals[id] = nil
        }
        view.pinnedConnections.removeAll { gone.contains($0) }
        if let selected = view.selectedConnection, gone.contains(selected) { view.selectedConnection = nil }
        return gone.count
    }

    /// Called when a connection row closes. Once more than `closedRowsKept` +
    /// `closedRowsPrunedAtOnce` rows are closed, drops the oldest beyond `closedRowsKept`,
    /// with their kernel samples.
    mutating func pruneClosedConnections() {
        closedRowsAtMost += 1
        guard closedRowsAtMost > Self.closedRowsKept + Self.closedRowsPrunedAtOnce else { return }
        let closed = connections.lazy.filter { !$0.state.isOpen }.count
        closedRowsAtMost = closed
        guard closed > Self.closedRowsKept + Self.closedRowsPrunedAtOnce else { return }
        var excess = closed - Self.closedRowsKept
        closedRowsAtMost = Self.closedRowsKept
        var pruned: [SocketID] = []
        connections.removeAll { row in
            guard excess > 0, !row.state.isOpen, row.id != view.selectedConnection else { return false }
            excess -= 1
            pruned.append(row.id)
            return true
        }
        closedRowsAtMost += excess  // the selected row, when it is an old closed one, stays
        connectionIndex = Dictionary(uniqueKeysWithValues: connections.enumerated().map { ($1.id, $0) })
        // Nothing shows a pruned row's kernel view again; kept, the samples of every connection
        // ever sampled (~250 bytes each) would pile up while connections come and go.
        for id in pruned {
            lab.kernel[id] = nil
            graphs.forget(id)
            wireTotals[id] = nil
        }
        if !view.pinnedConnections.isEmpty {
            let gone = Set(pruned)
            view.pinnedConnections.removeAll { gone.contains($0) }
        }
    }

    /// Whether a socket still has a row (listener, connection or step socket) that can show its kernel sample.
    func showsKernelSample(of id: SocketID) -> Bool {
        connectionIndex[id] != nil || listenerIndex[id] != nil || lab.steps[id] != nil
    }

    /// The socket a command without an id acts on: the selection in the TUI,
    /// else the recent socket (the one the commands last made or named).
    public var defaultTarget: SocketID? {
        switch view.focus {
        case .listeners: view.selectedListener ?? recentSocket
        case .connections, .detail, .log: view.selectedConnection ?? recentSocket
        }
    }

    /// Connections as the pane lists them: accepted ones grouped under their
    /// listener (in listener order), then the ones we opened.
    public var connectionsInDisplayOrder: [ConnectionRow] {
        connectionDisplayOrder.map { connections[$0] }
    }

    /// The tree order (`ConnectionSort.tree`, before filter and pins) as indexes into
    /// `connections`: one pass, no row copies, so the pane and the selection keys stay
    /// cheap with 10,000 rows.
    /// A relay's pairs stand together: each upstream leg right after its client leg.
    public var connectionTreeOrder: [Int] {
        var groups = [[Int]](repeating: [], count: listeners.count)
        var unknownListeners: [SocketID: [Int]] = [:]
        var outgoing: [Int] = []
        /// A client leg's index: its upstream leg's index.
        var upstreamAfter: [Int: Int] = [:]
        for (index, row) in connections.enumerated() {
            if let leg = row.relay, leg.role == .upstream, let partner = leg.partner,
               let client = connectionIndex[partner] {
                upstreamAfter[client] = index
                continue
            }
            guard let listener = row.listener else {
                outgoing.append(index)
                continue
            }
            if let group = listenerIndex[listener] { groups[group].append(index) } else {
                unknownListeners[listener, default: []].append(index)
            }
        }
        var ordered = groups.flatMap { $0 }
        ordered.reserveCapacity(connections.count)
        for (_, indexes) in unknownListeners.sorted(by: { $0.key < $1.key }) { ordered += indexes }
        ordered += outgoing
        guard !upstreamAfter.isEmpty else { return ordered }
        var paired: [Int] = []
        paired.reserveCapacity(connections.count)
        for index in ordered {
            paired.append(index)
            if let upstream = upstreamAfter[index] { paired.append(upstream) }
        }
        return paired
    }

    /// Where the selected connection is in `connectionDisplayOrder`, if anywhere.
    public func displayPosition(of id: SocketID?, in order: [Int]) -> Int? {
        guard let id, let index = connectionIndex[id] else { return nil }
        return order.firstIndex(of: index)
    }

    /// The connection `send` without an id goes to: the selected one, else the recent
    /// socket; when that is a stream listener, the client it accepted last.
    public var defaultConnection: SocketID? {
        if let selected = view.selectedConnection { return selected }
        guard let recent = recentSocket, let listener = listener(recent), !listener.transport.isDatagram else {
            return recentSocket
        }
        return listener.latestClient ?? recent
    }

    /// True for a socket that was ours and is closed: nothing may be asked of it any more
    /// (its descriptor may already belong to another socket).
    public func isClosed(_ id: SocketID) -> Bool {
        if let row = connection(id) { return !row.state.isOpen }
        if let row = listener(id) { return !row.isOpen }
        return lab.steps[id]?.phase == .closed
    }

    /// Where `send` without an id goes: a datagram listener selected in the Listeners pane
    /// (it answers its latest sender), else the default connection (which may itself be a
    /// datagram listener the commands last made).
    public var defaultSendTarget: SocketID? {
        if view.focus == .listeners, let id = view.selectedListener, let row = listener(id), row.transport.isDatagram, row.isOpen {
            return id
        }
        return defaultConnection
    }
}

/// A TLS connection's bytes on the wire (TLS records), beside its plaintext counts.
public struct TLSWireTotals: Hashable, Sendable {
    public var received: Int
    public var sent: Int
}

/// How far a transfer has come (a `sendfile`, for its progress bar).
public struct TransferProgress: Hashable, Sendable {
    public var done: Int
    public var whole: Int
    public var bytesPerSecond: Int
    /// At the rate so far; nil before anything moved.
    public var secondsLeft: Double?

    /// 0...1; a file of no bytes is done at once.
    public var fraction: Double { whole > 0 ? min(1, Double(done) / Double(whole)) : 1 }

    /// `620 MiB of 1.0 GiB (61%), 80.0 MiB/s, 5 s left`
    public var text: String {
        var text = "\(ByteCount.text(done)) of \(ByteCount.text(whole)) (\(Int(fraction * 100))%)"
        if bytesPerSecond > 0 { text += ", " + ByteCount.rate(bytesPerSecond) }
        if let secondsLeft { text += ", " + TimeText.duration(secondsLeft) + " left" }
        return text
    }
}

/// A `sendfile` under way: its bytes are the sent events of its request.
struct FileTransfer: Hashable, Sendable {
    var socket: SocketID
    var path: String
    var started: Timestamp
    var bytes = 0
    /// The file's size, once the engine has opened it.
    var size: Int?
    var failed = false

    /// How far it is: bytes sent of the whole, the rate so far, and the seconds left at that rate.
    func progress(at time: Timestamp) -> TransferProgress? {
        guard let size else { return nil }
        let seconds = Double(max(0, time.nanoseconds - started.nanoseconds)) / 1e9
        let rate = seconds > 0 ? Int(Double(bytes) / seconds) : 0
        let left = rate > 0 ? Double(size - bytes) / Double(rate) : nil
        return TransferProgress(done: bytes, whole: size, bytesPerSecond: rate, secondsLeft: left)
    }

    /// `sendfile /tmp/big: 10.0 MiB in 1.24 s (8.1 MiB/s)`, or how far it got.
    func summary(at time: Timestamp) -> String {
        let seconds = Double(max(0, time.nanoseconds - started.nanoseconds)) / 1e9
        let rate = seconds > 0 ? " (\(ByteCount.rate(Int(Double(bytes) / seconds))))" : ""
        let took = "\(ByteCount.text(bytes)) in \(seconds.formatted(decimals: 2)) s\(rate)"
        return failed ? "sendfile \(path) stopped after \(took)" : "sendfile \(path): sent \(took)"
    }
}

extension AppState {
    /// Our id for a row of the system view (`L1`, `C3`): a listener by its local address, a
    /// connection by both ends; nil for another program's socket, or ours once its row is gone.
    public func ourID(for row: SystemSocket) -> SocketID? {
        guard row.isOurs else { return nil }
        if row.isListener || row.remote == nil {
            if let listener = listeners.last(where: { $0.isOpen && $0.local == row.local }) { return listener.id }
        }
        return connections.last { $0.state.isOpen && $0.local == row.local && $0.remote == row.remote }?.id
    }
}
