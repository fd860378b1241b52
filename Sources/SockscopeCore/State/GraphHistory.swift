/// One second of a socket's life as Detail's graphs draw it. Every field is what was
/// known in that second; nil where nothing said (no kernel sample that second, no traffic).
public struct GraphPoint: Hashable, Sendable {
    /// Seconds since the Unix epoch (the engine's clock).
    public var second: Int64
    /// Bytes per second in and out, from the connection's own counts (`TrafficRate`).
    public var bytesInPerSecond: Int?
    public var bytesOutPerSecond: Int?
    /// The highest of the second's kernel samples (TCP_INFO and sock_diag): a spike
    /// between two quieter samples of one second is what a graph must not lose.
    public var rttMicroseconds: Int?
    /// Congestion window, in segments.
    public var congestionWindow: Int?
    public var sendQueue: Int?
    public var receiveQueue: Int?
    public var unackedSegments: Int?
    /// Segments the kernel retransmitted during this second (a mark on the graph).
    public var retransmits = 0
    /// A listener's clients accepted during this second.
    public var accepts = 0
    /// Clients our access policy turned away during this second. (The kernel's ListenOverflows
    /// is machine-wide: another program's overflow would show on our listener, so Detail
    /// gives it as a number with that caveat, not as a mark here.)
    public var refusals = 0
    /// A listener's accept queue (the second's highest) and its capacity.
    public var acceptQueue: Int?
    public var backlog: Int?

    public init(second: Int64) { self.second = second }
}

/// The last `seconds` seconds of one socket, one point per second that saw anything,
/// oldest first: at most `seconds` points (~150 bytes each).
public struct GraphHistory: Hashable, Sendable {
    /// Three minutes: what Detail's widest graph (200 columns) shows, one column a second.
    public static let seconds = 180

    public private(set) var points: [GraphPoint] = []
    /// The last kernel sample's retransmission total, to turn the counter into per-second marks.
    var lastRetransmitTotal: Int?

    public init() {}

    /// Whether a kernel sample has counted retransmissions (TCP): a retransmission line means something.
    public var countsRetransmits: Bool { lastRetransmitTotal != nil }

    /// The newest second with a point.
    public var lastSecond: Int64? { points.last?.second }

    /// The point of `second`, made if it is new. A second older than the newest is changed in
    /// place when kept, and otherwise ignored (a late event about a second already gone).
    mutating func update(_ second: Int64, _ change: (inout GraphPoint) -> Void) {
        if let last = points.last?.second, second <= last {
            guard let index = points.lastIndex(where: { $0.second <= second }), points[index].second == second else {
                // Between two kept points, or older than all: insert in order when still in the window.
                guard second > last - Int64(Self.seconds) else { return }
                var point = GraphPoint(second: second)
                change(&point)
                let at = points.firstIndex { $0.second > second } ?? points.count
                points.insert(point, at: at)
                return
            }
            change(&points[index])
            return
        }
        var point = GraphPoint(second: second)
        change(&point)
        points.append(point)
        let oldest = second - Int64(Self.seconds) + 1
        if let first = points.first, first.second < oldest {
            points.removeFirst(points.firstIndex { $0.second >= oldest } ?? points.count)
        }
    }

    /// One value per second from `last - count + 1` to `last`: nil where nothing was known.
    /// `carry`: a gauge (kernel samples are reported only when they change) keeps its last
    /// value until the next one, from before the window too.
    public func series(endingAt last: Int64, count: Int, carry: Bool, _ value: (GraphPoint) -> Int?) -> [Int?] {
        var result = [Int?](repeating: nil, count: max(0, count))
        let first = last - Int64(count) + 1
        var carried: Int?
        var column = 0
        for point in points where point.second <= last {
            let index = Int(point.second - first)
            if carry, column < index, index > 0 {
                for filled in column..<min(index, result.count) { result[filled] = carried }
            }
            if let known = value(point) {
                carried = known
                if index >= 0 { result[index] = known }
            } else if carry, index >= 0 {
                result[index] = carried
            }
            column = max(column, index + 1)
        }
        if carry { for filled in max(0, column)..<result.count { result[filled] = carried } }
        return result
    }

    /// A per-second count over the same window: 0 in a second without a point since the
    /// history began, nil before it.
    public func counts(endingAt last: Int64, count: Int, _ value: (GraphPoint) -> Int) -> [Int?] {
        let first = last - Int64(count) + 1
        let begins = points.first?.second ?? last + 1
        return series(endingAt: last, count: count, carry: false) { value($0) }.enumerated().map { column, known in
            known ?? (first + Int64(column) >= begins ? 0 : nil)
        }
    }
}

/// The graph histories of the sockets most recently active: at most `socketLimit` sockets
/// (64 x 180 points, ~1.7 MiB at worst), the one Detail shows never evicted. With 10,000
/// busy connections only the busiest recent ones have graphs; a connection selected later
/// starts its graph from then.
public struct GraphStore: Hashable, Sendable {
    public static let socketLimit = 64

    public private(set) var histories: [SocketID: GraphHistory] = [:]

    public init() {}

    public subscript(id: SocketID) -> GraphHistory? { histories[id] }

    /// Changes the point of `time`'s second of `id`'s history, making room by dropping the
    /// history that was updated longest ago (never `keep`'s).
    mutating func update(_ id: SocketID, at time: Timestamp, keep: SocketID?, _ change: (inout GraphPoint) -> Void) {
        let second = time.nanoseconds / 1_000_000_000
        if histories[id] == nil, histories.count >= Self.socketLimit {
            var evicted: (id: SocketID, second: Int64)?
            for (candidate, history) in histories where candidate != keep {
                let second = history.lastSecond ?? 0
                if evicted == nil || second < evicted!.second { evicted = (candidate, second) }
            }
            if let evicted { histories[evicted.id] = nil }
        }
        histories[id, default: GraphHistory()].update(second, change)
    }

    /// A closed `TrafficRate` bucket: its rates for every second it overlapped (a later
    /// bucket sharing a second has the last word), the last `GraphHistory.seconds` at most.
    mutating func recordRates(_ id: SocketID, _ bucket: TrafficRate.ClosedBucket, keep: SocketID?) {
        let last = (bucket.end.nanoseconds - 1) / 1_000_000_000
        let first = max(bucket.start.nanoseconds / 1_000_000_000, last - Int64(GraphHistory.seconds) + 1)
        for second in first...max(first, last) {
            update(id, at: Timestamp(nanoseconds: second * 1_000_000_000), keep: keep) {
                $0.bytesInPerSecond = bucket.inPerSecond
                $0.bytesOutPerSecond = bucket.outPerSecond
            }
        }
    }

    /// A kernel sample: its gauges go into the second's point, its counters' growth into marks.
    mutating func recordSample(_ id: SocketID, _ sample: KernelSample, at time: Timestamp, keep: SocketID?) {
        let previous = histories[id]
        let retransmitted = max(0, (sample.retransmits ?? 0) - (previous?.lastRetransmitTotal ?? sample.retransmits ?? 0))
        update(id, at: time, keep: keep) {
            func peak(_ field: inout Int?, _ value: Int?) {
                if let value { field = max(field ?? value, value) }
            }
            peak(&$0.rttMicroseconds, sample.rttMicroseconds)
            peak(&$0.congestionWindow, sample.congestionWindow)
            peak(&$0.sendQueue, sample.sendQueue)
            peak(&$0.receiveQueue, sample.receiveQueue)
            peak(&$0.unackedSegments, sample.unackedSegments)
            peak(&$0.acceptQueue, sample.acceptQueue)
            if let value = sample.backlog { $0.backlog = value }
            $0.retransmits += retransmitted
        }
        if let total = sample.retransmits { histories[id]?.lastRetransmitTotal = total }
    }

    mutating func forget(_ id: SocketID) { histories[id] = nil }
}
