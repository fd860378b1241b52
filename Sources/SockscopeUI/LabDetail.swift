import SockscopeCore

/// The lab's part of the Detail pane: the kernel's view of the socket (both ends
/// side by side when both are ours), the accept queue, the ephemeral port, and the ledger.
enum LabDetail {
    typealias Line = (String, String, StyleRole)

    /// History entries shown, newest first (the pane shows as many as fit).
    static let historyShown = 40

    /// The pane's own lines with the lab's woven in: the kernel's view right after the
    /// address lines (the pane is often short), the history at the end.
    /// `beforeHistory` goes between the socket's lines and its history (a relay leg's other
    /// leg); `withHistory` false leaves the history out.
    static func merge(_ base: [Line], for id: SocketID, _ state: AppState, width: Int, beforeHistory: [Line] = [],
                      withHistory: Bool = true) -> [Line] {
        let top = lines(for: id, state, width: width)
        let anchor = state.listener(id) != nil ? ["local", "exposure"] : ["state"]
        let index = (base.lastIndex { anchor.contains($0.0) } ?? base.count - 1) + 1
        var merged = base
        merged.insert(contentsOf: top, at: min(index, merged.count))
        return merged + beforeHistory + (withHistory ? historyLines(for: id, state) : [])
    }

    /// The lab's lines about the socket: its step-mode fd and next calls, the kernel's view.
    static func lines(for id: SocketID, _ state: AppState, width: Int) -> [Line] {
        var lines: [Line] = []
        if let step = state.lab.steps[id] {
            lines.append(("fd", "\(step.fd) (\(step.kind.callArguments.joined(separator: ", "))), step mode", .normal))
            lines.append(("next", StepGuide.nextCalls(id, phase: step.phase, transport: step.kind.transport)
                .joined(separator: "  "), .command))
        }
        if let listener = state.listener(id) {
            lines += listenerLines(listener, state)
        } else if let row = state.connection(id) {
            lines += connectionLines(row, state, width: width)
        }
        return lines
    }

    /// The socket's ledger, newest first: its calls, states, data and errors.
    static func historyLines(for id: SocketID, _ state: AppState) -> [Line] {
        let history = state.lab.ledger.history(of: id)
        guard !history.isEmpty else { return [] }
        var historyLines: [Line] = [("history", "\(history.count) entries, newest first", .header)]
        for entry in history.reversed().prefix(historyShown) {
            let role: StyleRole = switch entry.kind {
            case .call: .normal
            case .state: .info
            case .data: .dim
            case .error: .error
            }
            historyLines.append((TimeText.clock(entry.time), entry.text, role))
        }
        return historyLines
    }

    private static func listenerLines(_ listener: ListenerRow, _ state: AppState) -> [Line] {
        var lines: [Line] = []
        let manual = state.lab.manualAccept.contains(listener.id)
        if manual {
            lines.append(("accept", "manual: press a or :accept \(listener.id) to take one client", .command))
        }
        guard let sample = state.lab.kernel[listener.id] else { return lines }
        if let state = sample.state { lines.append(("kernel", "\(state.name): \(state.explanation)", .normal)) }
        if let queued = sample.acceptQueue {
            let capacity = sample.backlog.map { " / \($0)" } ?? ""
            // The kernel lets the queue hold backlog + 1 before it turns SYNs away.
            let full = sample.backlog.map { queued > $0 } ?? false
            lines.append(("accept queue", "\(queued)\(capacity) waiting (ss -ltn: Recv-Q / Send-Q)"
                          + (full ? "  FULL: new clients stay in SYN-SENT until accept makes room" : ""),
                          full ? .warning : .normal))
        }
        if let overflows = sample.listenOverflows, let drops = sample.listenDrops {
            // Counters of the whole machine since boot; their change since this listener opened
            // is the part that can be this listener's.
            if let newOverflows = sample.listenOverflowsSinceOpen, let newDrops = sample.listenDropsSinceOpen {
                lines.append(("overflows", "+\(newOverflows) since \(listener.id) opened (drops +\(newDrops))",
                              newOverflows > 0 ? .warning : .dim))
            }
            // /proc/net/netstat's TcpExt ListenOverflows and ListenDrops.
            lines.append(("system-wide", "\(overflows) overflows, \(drops) drops since boot", .dim))
        }
        return lines
    }

    /// `width` is the pane's: both ends side by side when their columns fit, else one after the other.
    private static func connectionLines(_ row: ConnectionRow, _ state: AppState, width: Int) -> [Line] {
        var lines: [Line] = []
        if row.listener == nil, let range = state.lab.portRange, let port = row.local?.port.map(Int.init) {
            let inRange = port >= range.low && port <= range.high
            lines.append(("local port", "\(port)" + (inRange
                ? " (ephemeral: the kernel picked it from \(range.low)–\(range.high))"
                : " (outside the ephemeral range \(range.low)–\(range.high): chosen by bind)"), .normal))
        }
        let ours = state.lab.kernel[row.id]
        let peer = peerConnection(of: row, state)
        let theirs = peer.flatMap { state.lab.kernel[$0.id] }
        guard ours != nil || theirs != nil else { return lines }
        var pairs: [(label: String, ours: String, theirs: String)] = []
        func pair(_ label: String, _ value: (KernelSample) -> String?) {
            let left = ours.flatMap(value) ?? "-"
            guard peer != nil else {
                if ours.flatMap(value) != nil { lines.append((label, left, .normal)) }
                return
            }
            let right = theirs.flatMap(value) ?? "-"
            if left == "-" && right == "-" { return }
            pairs.append((label, left, right))
        }
        pair("kernel state") { sample in
            if sample.gone { return "gone (the kernel forgot it)" }
            guard let state = sample.state else { return nil }
            if let seconds = sample.timerSeconds, state == .timeWait { return "\(state.name) \(Int(seconds.rounded())) s left" }
            return state.name
        }
        pair("rtt") { $0.rttMicroseconds.map(KernelText.milliseconds) }
        pair("cwnd") { $0.congestionWindow.map { "\($0) segments" } }
        pair("retransmits") { $0.retransmits.map(String.init) }
        pair("unacked") { $0.unackedSegments.map { "\($0) segments" } }
        pair("send-q/recv-q") { sample in
            guard sample.sendQueue != nil || sample.receiveQueue != nil else { return nil }
            return "\(sample.sendQueue ?? 0) / \(sample.receiveQueue ?? 0) B"
        }
        pair("acked/recvd") { sample in
            guard let acked = sample.bytesAcked, let received = sample.bytesReceived else { return nil }
            return "\(ByteCount.text(acked)) / \(ByteCount.text(received))"
        }
        if let peer { lines += sideBySide(pairs, us: "us (\(row.id))", peer: "peer (\(peer.id), also ours)", width: width) }
        return lines
    }

    /// Both ends' kernel values in two columns when they fit beside the labels, else
    /// our end's block, then the peer's: never a column cut at the pane's edge.
    private static func sideBySide(_ pairs: [(label: String, ours: String, theirs: String)], us: String, peer: String,
                                   width: Int) -> [Line] {
        guard !pairs.isEmpty else { return [] }
        // Detail's label column is as wide as its widest label ("last activity") and a space.
        let labelWidth = max(13, pairs.map { TextWidth.columns(of: $0.label) }.max()!) + 1
        let left = max(TextWidth.columns(of: us), pairs.map { TextWidth.columns(of: $0.ours) }.max()!) + 2
        let right = max(TextWidth.columns(of: peer), pairs.map { TextWidth.columns(of: $0.theirs) }.max()!)
        func pad(_ text: String) -> String { text + String(repeating: " ", count: max(0, left - TextWidth.columns(of: text))) }
        if labelWidth + left + 3 + right <= width {
            return [("", pad(us) + "│  " + peer, .header)] + pairs.map { ($0.label, pad($0.ours) + "│  " + $0.theirs, .normal) }
        }
        return [("", us, .header)] + pairs.map { ($0.label, $0.ours, .normal) }
            + [("", peer, .header)] + pairs.map { ($0.label, $0.theirs, .normal) }
    }

    /// The connection at the other end, when it is ours too (local and remote swapped).
    static func peerConnection(of row: ConnectionRow, _ state: AppState) -> ConnectionRow? {
        guard let local = row.local, local.isIP, let remote = row.remote else { return nil }
        return state.connections.last { $0.id != row.id && $0.local == remote && $0.remote == local }
    }

    /// The state shown in table rows: the kernel's name when known (TIME-WAIT with
    /// its countdown after we closed), else sockscope's own label.
    static func stateLabel(_ row: ConnectionRow, _ state: AppState) -> String {
        // A step socket's own phase says more than the kernel's CLOSE (bound sockets look alike to it).
        if case .unconnected = row.state { return row.state.label }
        guard let sample = state.lab.kernel[row.id], !sample.gone, let kernel = sample.state else { return row.state.label }
        if sample.lingering {
            if let seconds = sample.timerSeconds, kernel == .timeWait { return "\(kernel.name) \(Int(seconds.rounded()))s" }
            return kernel.name
        }
        return row.state.isOpen ? kernel.name : row.state.label
    }

    /// A listener's STATE cell: manual-accept listeners show their queue.
    static func listenerStateLabel(_ row: ListenerRow, _ state: AppState) -> String {
        guard row.isOpen else { return "closed" }
        if row.isDown { return "down" }
        guard state.lab.manualAccept.contains(row.id) else { return "listening" }
        let sample = state.lab.kernel[row.id]
        if let queued = sample?.acceptQueue {
            return "manual q \(queued)" + (sample?.backlog.map { "/\($0)" } ?? "")
        }
        return "manual"
    }
}
