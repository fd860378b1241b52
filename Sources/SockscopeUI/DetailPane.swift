import SockscopeCore

/// The Detail pane: everything known about the selected socket.
enum DetailPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let lines = self.lines(state)
        let area = PaneFrame.draw(in: &grid, rect, title: "Detail", focused: focused)
        guard area.height > 0 else { return }
        let labelWidth = (lines.map { $0.0.count }.max() ?? 0) + 1
        for (row, line) in lines.prefix(area.height).enumerated() {
            let used = grid.put(line.0.padding(labelWidth), x: area.x, y: area.y + row, maxWidth: area.width, role: .dim)
            grid.put(line.1, x: area.x + used, y: area.y + row, maxWidth: area.width - used, role: line.2)
        }
    }

    /// (label, value, role) rows for the selected socket.
    static func lines(_ state: AppState) -> [(String, String, StyleRole)] {
        let id = state.view.focus == .listeners ? state.view.selectedListener : state.view.selectedConnection
        if let id, let row = state.listener(id) {
            var lines: [(String, String, StyleRole)] = [
                ("socket", "\(row.id) \(row.transport.label) listener", .header),
                ("local", row.local.description, .normal),
            ]
            if row.isAllInterfaces { lines.append(("exposure", "ALL interfaces: reachable from the network", .warning)) }
            if let access = AccessText.describe(row.policy) { lines.append(("access", access, .normal)) }
            lines += [
                ("mode", row.mode.description, .normal),
                ("backlog", "\(row.backlog) (accept queue length asked of the kernel)", .normal),
                row.transport.isDatagram
                    ? ("datagrams", "\(row.datagramsIn) in (\(ByteCount.text(row.bytesIn))), \(row.datagramsOut) out (\(ByteCount.text(row.bytesOut)))", .normal)
                    : ("clients", "\(row.activeConnections) open, \(row.acceptedTotal) accepted in all, \(row.refusedTotal) refused", .normal),
                ("state", row.isOpen ? "listening" : "closed", row.isOpen ? .normal : .dim),
            ]
            return LabDetail.merge(lines, for: row.id, state)
        }
        if let id, let row = state.connection(id) {
            return LabDetail.merge([
                ("socket", "\(row.id) \(row.transport.label) " + (row.listener.map { "accepted by \($0)" } ?? "opened by us"),
                 .header),
                ("local", row.localText, .normal),
                ("remote", row.remoteText, .normal),
                ("state", stateText(row.state), row.state.isOpen ? .normal : .dim),
                ("received", "\(ByteCount.text(row.bytesIn)) in \(row.messagesIn) reads", .incoming),
                ("sent", "\(ByteCount.text(row.bytesOut)) in \(row.messagesOut) writes", .outgoing),
                ("opened", TimeText.clock(row.opened), .normal),
                ("last activity", "\(TimeText.clock(row.lastActivity)) (\(TimeText.elapsed(from: row.opened, to: row.lastActivity)) after opening)", .normal),
                ("line ending", "\(row.lineEnding.rawValue) (set \(row.id) eol none|lf|crlf|cr)", .normal),
            ], for: row.id, state)
        }
        return [("", "Select a listener or a connection to see its details.", .dim)]
    }

    static func stateText(_ state: ConnectionState) -> String {
        switch state {
        case .connecting: "connecting (handshake in progress)"
        case .established: "open: data flows both ways"
        case .peerClosed: "peer sent FIN (EOF): it sends no more; we can still send"
        case .closed(let reason): "closed: \(DisplayText.escape(string: reason, backslashes: false))"
        case .failed(let code): "connect failed: \(code)"
        case .unconnected(let phase): "step mode: \(phase) (\(StepPhase(rawValue: phase)?.explanation ?? "not connected"))"
        }
    }
}
