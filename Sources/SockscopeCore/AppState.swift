/// A listening socket as the panes show it.
public struct ListenerRow: Hashable, Sendable {
    public var id: SocketID
    public var transport: TransportProtocol
    public var local: String
    public var mode: ListenMode
    public var backlog: Int
    public var activeConnections = 0
    public var acceptedTotal = 0
    public var isOpen = true

    /// Bound to every interface, so reachable from the network.
    public var isAllInterfaces: Bool {
        AddressText.isAllInterfaces(address: local)
    }
}

public enum ConnectionState: Hashable, Sendable {
    case connecting
    case established
    /// The peer sent FIN: we read EOF but can still send (half-open).
    case peerClosed
    case closed(String)

    public var label: String {
        switch self {
        case .connecting: "connecting"
        case .established: "open"
        case .peerClosed: "peer-EOF"
        case .closed: "closed"
        }
    }

    public var isOpen: Bool {
        if case .closed = self { return false }
        return true
    }
}

/// A connection, accepted by one of our listeners or opened by us.
public struct ConnectionRow: Hashable, Sendable {
    public var id: SocketID
    /// The listener that accepted it; nil for connections we opened.
    public var listener: SocketID?
    public var local: String
    public var remote: String
    public var state: ConnectionState
    public var bytesIn = 0
    public var bytesOut = 0
    public var messagesIn = 0
    public var messagesOut = 0
    public var opened: Timestamp
    public var lastActivity: Timestamp
}

public enum Pane: Int, Hashable, Sendable, CaseIterable {
    case listeners, connections, log

    public var title: String {
        switch self {
        case .listeners: "Listening"
        case .connections: "Connections"
        case .log: "Log"
        }
    }
}

/// The `:` prompt while it is open.
public struct Prompt: Hashable, Sendable {
    public var text: String
    /// Cursor position in characters.
    public var cursor: Int
    /// The last error, shown beside the prompt without losing what was typed.
    public var error: String?

    public init(text: String = "") {
        self.text = text
        self.cursor = text.count
    }
}

/// Everything about the view that is not socket data.
public struct ViewState: Hashable, Sendable {
    public var width = 80
    public var height = 24
    public var focus: Pane = .listeners
    public var selectedListener: SocketID?
    public var selectedConnection: SocketID?
    /// Lines scrolled up from the newest log entry; 0 follows new entries.
    public var logScroll = 0
    public var prompt: Prompt?
    public var history: [String] = []
    public var historyIndex: Int?
    public var showHelp = false
    public var helpScroll = 0
    /// A short message for the status line; cleared by the next key.
    public var flash: String?

    public var isFollowingLog: Bool { logScroll == 0 }
}

/// Scripted commands (from `-c` and headless stdin) run one at a time: the
/// next waits until the engine has answered the previous one.
public struct ScriptQueue: Hashable, Sendable {
    public var pending: [String] = []
    public var waitingFor: RequestID?
}

/// The whole application state. Changed only by `Reducer.reduce`.
public struct AppState {
    public var listeners: [ListenerRow] = []
    public var connections: [ConnectionRow] = []
    public var log = LogBook()
    public var view = ViewState()
    public var script = ScriptQueue()
    public var mostRecentConnection: SocketID?
    public var mostRecentListener: SocketID?
    public var nextRequest: UInt64 = 1
    /// True in the TUI: rows get selected as they appear. Headless has no selection,
    /// so commands without an id go to the most recent socket.
    public let interactive: Bool
    /// Set by every change the screen must show; the runtime clears it after drawing.
    public var needsRedraw = true

    /// Closed connections kept as rows for reference; older ones are pruned.
    public static let closedRowsKept = 200

    private var listenerIndex: [SocketID: Int] = [:]
    private var connectionIndex: [SocketID: Int] = [:]

    public init(interactive: Bool) { self.interactive = interactive }

    public func listener(_ id: SocketID) -> ListenerRow? { listenerIndex[id].map { listeners[$0] } }
    public func connection(_ id: SocketID) -> ConnectionRow? { connectionIndex[id].map { connections[$0] } }

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

    /// Drops the oldest closed connection rows beyond `closedRowsKept`.
    mutating func pruneClosedConnections() {
        let closed = connections.lazy.filter { !$0.state.isOpen }.count
        guard closed > Self.closedRowsKept else { return }
        var excess = closed - Self.closedRowsKept
        connections.removeAll { row in
            guard excess > 0, !row.state.isOpen, row.id != view.selectedConnection else { return false }
            excess -= 1
            return true
        }
        connectionIndex = Dictionary(uniqueKeysWithValues: connections.enumerated().map { ($1.id, $0) })
    }

    /// The socket a command without an id acts on: the selection in the TUI,
    /// else the most recent connection, else the most recent listener.
    public var defaultTarget: SocketID? {
        switch view.focus {
        case .listeners: view.selectedListener ?? mostRecentConnection ?? mostRecentListener
        case .connections, .log: view.selectedConnection ?? mostRecentConnection ?? mostRecentListener
        }
    }

    /// The connection `send` without an id goes to.
    public var defaultConnection: SocketID? { view.selectedConnection ?? mostRecentConnection }
}
