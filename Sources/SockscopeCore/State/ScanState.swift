/// One row of the scan view: an open port, or a run of consecutive ports that answered alike.
public struct ScanRow: Hashable, Sendable {
    public var ports: ClosedRange<Int>
    public var state: PortState
    /// `ECONNREFUSED`, `timeout`, or for an open port how long its handshake took.
    public var reason: String
    /// What an open port said first (escaped words), when banners were asked for.
    public var banner: String?

    public var portsText: String { PortList.text([ports]) }

    /// The cells as the view shows them (and the `/` filter searches).
    public var cells: [String] {
        [portsText, ports.count == 1 ? "1" : String(ports.count), state.rawValue, reason, banner ?? ""]
    }
}

/// The latest scan, as the scan view shows it, and the view's own state.
public struct ScanState: Sendable {
    public var visible = false
    /// The running scan's request; nil when no scan runs.
    public internal(set) var running: RequestID?
    /// The newest scan's host as written, its start (once the engine resolved it) and end.
    public internal(set) var host: String?
    public internal(set) var start: ScanStart?
    public internal(set) var summary: ScanSummary?
    public internal(set) var portCount = 0
    /// Ports answered so far and how many of them are open.
    public internal(set) var answered = 0
    public internal(set) var openCount = 0
    /// Sorted by port; runs of the same state and reason that touch are merged, open ports
    /// never are. A scan of 65,535 closed ports is a handful of rows, not 65,535.
    public internal(set) var rows: [ScanRow] = []
    /// Text the shown rows contain (in any column), case-insensitive.
    public var filter: String?
    /// The selected row, as an index into `shownRows`.
    public var selected = 0

    public init() {}

    public var isRunning: Bool { running != nil }

    /// The rows as shown: those the filter matches.
    public var shownRows: [ScanRow] {
        guard let filter, !filter.isEmpty else { return rows }
        let needle = filter.lowercased()
        return rows.filter { row in row.cells.contains { $0.lowercased().contains(needle) } }
    }

    mutating func begin(_ request: ScanRequest, id: RequestID) {
        let visible = visible
        self = ScanState()
        self.visible = visible
        running = id
        host = request.host
        portCount = request.ports.count
    }

    mutating func apply(_ event: ScanEvent) {
        switch event {
        case .started(let start):
            self.start = start
        case .open(let port, let microseconds):
            answered += 1
            openCount += 1
            insert(ScanRow(ports: port...port, state: .open, reason: KernelText.milliseconds(microseconds)))
        case .notOpen(let outcome, let ranges):
            for range in ranges {
                answered += range.count
                insert(ScanRow(ports: range, state: outcome.state, reason: outcome.reason))
            }
        case .banner(let port, let banner):
            if let index = index(of: port), rows[index].state == .open {
                rows[index].banner = ScanEventText.bannerText(banner)
            }
        case .finished(let summary):
            self.summary = summary
        }
    }

    /// The end of the scan's request (after its summary, or after it failed to start).
    mutating func end() { running = nil }

    /// The row holding `port`, by binary search.
    func index(of port: Int) -> Int? {
        let position = insertionIndex(for: port)
        if position < rows.count, rows[position].ports.contains(port) { return position }
        if position > 0, rows[position - 1].ports.contains(port) { return position - 1 }
        return nil
    }

    /// The first row starting after `port`.
    private func insertionIndex(for port: Int) -> Int {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if rows[middle].ports.lowerBound <= port { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func insert(_ row: ScanRow) {
        var row = row
        var position = insertionIndex(for: row.ports.lowerBound)
        func joins(_ a: ScanRow, _ b: ScanRow) -> Bool {
            a.state != .open && a.state == b.state && a.reason == b.reason && a.ports.upperBound + 1 == b.ports.lowerBound
        }
        if position < rows.count, joins(row, rows[position]) {
            row.ports = row.ports.lowerBound...rows[position].ports.upperBound
            rows.remove(at: position)
        }
        if position > 0, joins(rows[position - 1], row) {
            rows[position - 1].ports = rows[position - 1].ports.lowerBound...row.ports.upperBound
            position -= 1
            return
        }
        rows.insert(row, at: position)
    }
}
