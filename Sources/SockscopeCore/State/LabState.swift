/// A step-mode socket as sockscope tracks it between calls.
public struct StepSocketRow: Hashable, Sendable {
    public var id: SocketID
    public var kind: StepSocketKind
    /// The file descriptor the kernel gave (shown in every call, as strace would).
    public var fd: Int
    public var phase: StepPhase
    public var lastCall: String
}

/// How the system view sorts its rows.
public enum SystemSort: String, Hashable, Sendable, CaseIterable {
    case proto, state, local, remote, queue, process

    public var next: SystemSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// The machine-wide socket table and how it is shown.
public struct SystemViewState: Hashable, Sendable {
    public var visible = false
    public var sockets: [SystemSocket] = []
    /// Text that rows must contain (in any column), case-insensitive.
    public var filter: String?
    public var sort: SystemSort = .proto
    /// The selected row, as an index into `rows`.
    public var selected = 0

    public init() {}

    /// The rows as shown: filtered, then sorted.
    public var rows: [SystemSocket] {
        var rows = sockets
        if let filter, !filter.isEmpty {
            let needle = filter.lowercased()
            rows = rows.filter { row in
                [row.proto, row.state, row.local.description, row.remoteText, row.process ?? ""].contains { $0.lowercased().contains(needle) }
            }
        }
        func key(_ row: SystemSocket) -> String {
            switch sort {
            case .proto: row.proto
            case .state: row.state
            case .local: row.local.description
            case .remote: row.remoteText
            case .queue: String(repeating: "0", count: max(0, 12 - String(row.receiveQueue + row.sendQueue).count))
                + String(row.receiveQueue + row.sendQueue)
            case .process: row.process ?? "~"
            }
        }
        // Stable: ties keep the kernel's order; bigger queues first reads better.
        // Each row's key made once, not once per comparison.
        let sorted = rows.enumerated().map { (key: key($0.element), offset: $0.offset, row: $0.element) }.sorted { a, b in
            if a.key != b.key { return sort == .queue ? a.key > b.key : a.key < b.key }
            return a.offset < b.offset
        }
        return sorted.map(\.row)
    }
}

/// Everything the lifecycle lab adds to the application state.
public struct LabState: Sendable {
    public var steps: [SocketID: StepSocketRow] = [:]
    public var ledger = Ledger()
    /// The newest kernel sample of each of our sockets.
    public var kernel: [SocketID: KernelSample] = [:]
    /// Listeners that accept only on `accept`.
    public var manualAccept: Set<SocketID> = []
    /// `listen --manual-accept` requests not yet answered: their listener is marked manual when it appears.
    public var pendingManualListens: Set<RequestID> = []
    public var portRange: (low: Int, high: Int)?
    public var system = SystemViewState()

    public init() {}
}
