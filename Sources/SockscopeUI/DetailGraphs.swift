import SockscopeCore

/// Detail's time graphs of the selected socket, from its `GraphHistory`: one column per
/// second, newest at the right, as many seconds as the pane is wide (up to
/// `GraphHistory.seconds`). A TCP connection: bytes in and out per second, RTT, congestion
/// window, send and receive queues, unacknowledged segments, retransmissions as marks;
/// both ends side by side when both are ours and the pane is wide enough. Another
/// connection: bytes in and out. A listener: accepts per second, the accept queue against
/// the backlog, refusals as marks. Each graph's label says what it is and its top value.
enum DetailGraphs {
    typealias Line = (String, String, StyleRole)

    /// `rtt  12.3 ms`: a name, then the value at the top of the scale.
    static let nameWidth = 7
    /// `1023.9 KiB/s`, the longest scale.
    static let scaleWidth = 12
    static var labelWidth: Int { nameWidth + 1 + scaleWidth + 1 }
    /// Narrower than this, a graph says too little to be worth its rows.
    static let minimumGraphWidth = 10
    /// Side by side only when each end's graph gets at least this many seconds.
    static let minimumSideBySideWidth = 30

    /// Rows per graph for a Detail pane of `height` rows: two (16 steps) when there is room
    /// to read shapes and still see the ledger below, else one (8 steps).
    static func graphHeight(paneHeight: Int) -> Int {
        paneHeight >= 50 ? 2 : 1
    }

    private struct Graph {
        var name: String
        var role: StyleRole
        var kind: Kind
        enum Kind {
            /// Drawn as blocks, scaled to the largest value shown (or to `fixedTop`).
            case series([Int?], unit: (Int) -> String, fixedTop: Int?)
            /// A mark per second where something happened; the label gives the total.
            case marks([Int?], unit: (Int) -> String)
        }

        /// A series with nothing known in the window (no kernel sample of a UNIX socket, say).
        var isUnknown: Bool {
            if case .series(let values, _, _) = kind { return values.allSatisfy { $0 == nil } }
            return false
        }
    }

    /// Screen rows (label, graph, role) for `id`, `width` columns wide; empty without history.
    static func rows(_ state: AppState, _ id: SocketID, width: Int, paneHeight: Int) -> [Line] {
        guard let history = state.graphs[id], let last = history.lastSecond else { return [] }
        let height = graphHeight(paneHeight: paneHeight)
        let glyphs = state.view.glyphs
        if let row = state.connection(id), row.transport == .tcp, let peer = LabDetail.peerConnection(of: row, state),
           let peerHistory = state.graphs[peer.id], let peerLast = peerHistory.lastSecond {
            let half = (width - 3) / 2
            if half - labelWidth >= minimumSideBySideWidth {
                let end = max(last, peerLast)
                let seconds = min(GraphHistory.seconds, half - labelWidth)
                // The same graphs on both sides, row for row: one is left out only when neither end knows it.
                let retransmits = history.countsRetransmits || peerHistory.countsRetransmits
                let pairs = zip(graphs(history, tcp: true, listener: nil, end: end, seconds: seconds, retransmits: retransmits),
                                graphs(peerHistory, tcp: true, listener: nil, end: end, seconds: seconds, retransmits: retransmits))
                    .filter { !($0.0.isUnknown && $0.1.isUnknown) }
                let left = block(pairs.map(\.0), height: height, glyphs: glyphs, skippingUnknown: false)
                let right = block(pairs.map(\.1), height: height, glyphs: glyphs, skippingUnknown: false)
                let heading = pad("us (\(row.id))", half) + " │ " + "peer (\(peer.id), also ours)"
                var rows: [Line] = [("", heading, .header)]
                for (ours, theirs) in zip(left, right) {
                    // The label of the right half is part of the value text: one role per screen row.
                    rows.append((ours.0, pad(ours.1, half - labelWidth) + " │ " + theirs.0 + theirs.1, ours.2))
                }
                return rows + [axis(end: end, seconds: seconds, width: half)]
            }
        }
        let seconds = min(GraphHistory.seconds, width - labelWidth)
        guard seconds >= minimumGraphWidth else { return [] }
        let listener = state.listener(id)
        let tcp = listener == nil && state.connection(id)?.transport == .tcp
        let drawn = block(graphs(history, tcp: tcp, listener: listener, end: last, seconds: seconds), height: height, glyphs: glyphs)
        guard !drawn.isEmpty else { return [] }
        return [("", "graphs, one column a second", .header)] + drawn + [axis(end: last, seconds: seconds, width: width)]
    }

    /// `retransmits`: draw the retransmission marks (known from a TCP kernel sample).
    private static func graphs(_ history: GraphHistory, tcp: Bool, listener: ListenerRow?, end: Int64, seconds: Int,
                               retransmits: Bool? = nil) -> [Graph] {
        func gauge(_ value: (GraphPoint) -> Int?) -> [Int?] { history.series(endingAt: end, count: seconds, carry: true, value) }
        if let listener {
            var list = [Graph(name: "accepts", role: .incoming,
                              kind: .series(history.counts(endingAt: end, count: seconds) { $0.accepts },
                                            unit: { "\($0)/s" }, fixedTop: nil))]
            if listener.transport == .tcp {
                // Full height is the backlog: a full accept queue looks full.
                let backlog = history.points.last { $0.backlog != nil }?.backlog ?? listener.backlog
                list.append(Graph(name: "queue", role: .warning,
                                  kind: .series(gauge { $0.acceptQueue }, unit: { "of \($0)" }, fixedTop: max(1, backlog))))
            }
            list.append(Graph(name: "refused", role: .error,
                              kind: .marks(history.counts(endingAt: end, count: seconds) { $0.refusals }, unit: { "\($0)" })))
            return list
        }
        // A second at zero is `0 B/s` on the scale, not the rate column's `-`.
        let rate: (Int) -> String = { $0 == 0 ? "0 B/s" : ByteCount.rate($0) }
        var list = [
            Graph(name: "in", role: .incoming,
                  kind: .series(history.series(endingAt: end, count: seconds, carry: false) { $0.bytesInPerSecond },
                                unit: rate, fixedTop: nil)),
            Graph(name: "out", role: .outgoing,
                  kind: .series(history.series(endingAt: end, count: seconds, carry: false) { $0.bytesOutPerSecond },
                                unit: rate, fixedTop: nil)),
        ]
        guard tcp else { return list }
        list += [
            Graph(name: "rtt", role: .info, kind: .series(gauge { $0.rttMicroseconds }, unit: KernelText.milliseconds, fixedTop: nil)),
            Graph(name: "cwnd", role: .info, kind: .series(gauge { $0.congestionWindow }, unit: { "\($0) seg" }, fixedTop: nil)),
            Graph(name: "send-q", role: .outgoing, kind: .series(gauge { $0.sendQueue }, unit: ByteCount.text, fixedTop: nil)),
            Graph(name: "unacked", role: .outgoing,
                  kind: .series(gauge { $0.unackedSegments }, unit: { "\($0) seg" }, fixedTop: nil)),
            Graph(name: "recv-q", role: .incoming, kind: .series(gauge { $0.receiveQueue }, unit: ByteCount.text, fixedTop: nil)),
        ]
        if retransmits ?? history.countsRetransmits {
            list.append(Graph(name: "retrans", role: .error,
                              kind: .marks(history.counts(endingAt: end, count: seconds) { $0.retransmits }, unit: { "\($0)" })))
        }
        return list
    }

    /// Each graph's rows: the first labelled with its name and top value (a mark line with
    /// its total), the bottom one of a taller graph with its zero.
    private static func block(_ graphs: [Graph], height: Int, glyphs: Glyphs, skippingUnknown: Bool = true) -> [Line] {
        var lines: [Line] = []
        for graph in graphs where !(skippingUnknown && graph.isUnknown) {
            switch graph.kind {
            case .series(let values, let unit, let fixedTop):
                let largest = values.compactMap { $0 }.max()
                let top = fixedTop ?? max(1, largest ?? 0)
                let scale = largest.map { unit(fixedTop ?? $0) } ?? "-"
                for (index, text) in TimeGraph.rows(values, top: top, height: height, glyphs: glyphs).enumerated() {
                    let label = index == 0 ? label(graph.name, scale) : index == height - 1 ? label("", "0") : label("", "")
                    lines.append((label, text, graph.role))
                }
            case .marks(let counts, let unit):
                let total = counts.reduce(0) { $0 + ($1 ?? 0) }
                // Red only when something happened: a quiet line is not an alarm.
                lines.append((label(graph.name, unit(total)), TimeGraph.marks(counts.map { $0 ?? 0 }), total > 0 ? graph.role : .dim))
            }
        }
        return lines
    }

    /// `rtt      12.3 ms ` padded to `labelWidth`: the name left, the scale right.
    private static func label(_ name: String, _ scale: String) -> String {
        let scale = TextFit.elide(scale, to: scaleWidth)
        let gap = max(1, labelWidth - TextWidth.columns(of: name) - TextWidth.columns(of: scale) - 1)
        return name + String(repeating: " ", count: gap) + scale + " "
    }

    /// The time axis under the graphs: how far back the left edge is, and the clock at the right.
    private static func axis(end: Int64, seconds: Int, width: Int) -> Line {
        let left = "← \(TimeText.duration(Double(seconds))) ago"
        // The newest column is the second that ends at this clock time.
        let right = TimeText.clock(Timestamp(nanoseconds: (end + 1) * 1_000_000_000)).prefix(8) + " →"
        let graphWidth = width - labelWidth
        let gap = max(1, graphWidth - TextWidth.columns(of: left) - right.count)
        return (String(repeating: " ", count: labelWidth), left + String(repeating: " ", count: gap) + right, .dim)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - TextWidth.columns(of: text)))
    }
}
