import SockscopeCore

/// The Detail pane: everything known about the selected socket.
enum DetailPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ rect: Rect, focused: Bool) {
        let area = PaneFrame.draw(in: &grid, rect, title: "Detail", focused: focused)
        guard area.height > 0, area.width > 0 else { return }
        let body = self.lines(state, width: area.width)
        // The graphs, then the ledger: the history is the longest part and goes last. Both text
        // parts keep one label column, so values line up above and below the graphs.
        let history = state.view.detailSocket.map { LabDetail.historyLines(for: $0, state) } ?? []
        let labelWidth = labelColumnWidth(body + history)
        var rows = screenLines(body, width: area.width, labelWidth: labelWidth)
        if let id = state.view.detailSocket {
            rows += DetailGraphs.rows(state, id, width: area.width, paneHeight: area.height)
        }
        rows += screenLines(history, width: area.width, labelWidth: labelWidth)
        if rows.count > area.height {
            // Cut below, never silently: the last row says how much more there is.
            let hidden = rows.count - area.height + 1
            rows = Array(rows.prefix(area.height - 1))
            let marker = "… \(hidden) more line\(hidden == 1 ? "" : "s") below" + (state.view.zoomed ? "" : ": z zooms")
            rows.append(("", TextWidth.columns(of: marker) <= area.width ? marker : "… \(hidden) more", .dim))
        }
        for (row, line) in rows.enumerated() {
            let used = grid.put(line.0, x: area.x, y: area.y + row, maxWidth: area.width, role: .dim)
            grid.put(line.1, x: area.x + used, y: area.y + row, maxWidth: area.width - used, role: line.2)
        }
    }

    /// The narrowest a value column gets beside its label; narrower, values go under their labels.
    static let minimumValueWidth = 16

    /// Label and value lines as screen rows of `width` columns: each value wrapped at
    /// word boundaries under itself, so nothing is cut.
    static func screenLines(_ lines: [(String, String, StyleRole)], width: Int,
                            labelWidth: Int? = nil) -> [(String, String, StyleRole)] {
        let labelWidth = labelWidth ?? labelColumnWidth(lines)
        var rows: [(String, String, StyleRole)] = []
        if width - labelWidth >= minimumValueWidth {
            let blank = String(repeating: " ", count: labelWidth)
            for (label, value, role) in lines {
                let padded = label + String(repeating: " ", count: labelWidth - TextWidth.columns(of: label))
                for (index, piece) in TextFit.wrap(value, width: width - labelWidth).enumerated() {
                    rows.append((index == 0 ? padded : blank, piece, role))
                }
            }
        } else {
            for (label, value, role) in lines {
                // On one line when both fit, else the label above its value.
                if !label.isEmpty, TextWidth.columns(of: label) + 1 + TextWidth.columns(of: value) <= width {
                    rows.append((label + " ", value, role))
                    continue
                }
                if !label.isEmpty { rows.append(("", TextFit.elide(label, to: width), .dim)) }
                let indent = label.isEmpty || width < 8 ? "" : "  "
                for piece in TextFit.wrap(value, width: width - indent.count) { rows.append((indent, piece, role)) }
            }
        }
        return rows
    }

    /// The widest label and a space.
    static func labelColumnWidth(_ lines: [(String, String, StyleRole)]) -> Int {
        (lines.map { TextWidth.columns(of: $0.0) }.max() ?? 0) + 1
    }

    /// (label, value, role) rows for the selected socket.
    /// `width` is the pane's: the kernel's view of both ends goes side by side when it fits.
    static func lines(_ state: AppState, width: Int) -> [(String, String, StyleRole)] {
        let id = state.view.detailSocket
        if let id, let row = state.listener(id) {
            var lines: [(String, String, StyleRole)] = [
                ("socket", "\(row.id) \(row.transport.label) listener", .header),
                ("local", row.local.description, .normal),
            ]
            if row.isAllInterfaces { lines.append(("exposure", "ALL interfaces: reachable from the network", .warning)) }
            if let access = AccessText.describe(row.policy) { lines.append(("access", access, .normal)) }
            if let target = row.relayTarget {
                lines.append(("relays to", DisplayText.escape(string: target) + " (each client gets an upstream leg)", .normal))
                if let direction = row.holding {
                    let held = state.connections.reduce(0) { $0 + ($1.relay?.relay == row.id ? $1.relay?.heldChunks ?? 0 : 0) }
                    lines.append(("holding", "\(direction.meaning), cut as \(row.holdFraming.rawValue): \(held) chunk(s) held "
                                  + "(forward, drop, edit, release)", .warning))
                }
                for (index, toxic) in row.toxics.enumerated() {
                    lines.append((index == 0 ? "toxics" : "", DisplayText.escape(string: toxic.summary)
                                  + ", fired \(row.toxicFirings[toxic.name] ?? 0) times", .warning))
                }
            } else {
                lines += [
                    ("mode", row.mode.description, .normal),
                    ("backlog", "\(row.backlog) (accept queue length asked of the kernel)", .normal),
                ]
            }
            lines += [
                row.transport.isDatagram
                    ? ("datagrams", "\(row.datagramsIn) in (\(ByteCount.text(row.bytesIn))), \(row.datagramsOut) out (\(ByteCount.text(row.bytesOut)))", .normal)
                    : ("clients", "\(row.activeConnections) open, \(row.acceptedTotal) accepted in all, \(row.refusedTotal) refused", .normal),
                !row.isOpen ? ("state", "closed", .dim)
                    : row.isDown ? ("state", "down: every client refused until relay \(row.id) up", .warning)
                    : ("state", "listening", .normal),
            ] + ruleLines(state, row.id)
            return LabDetail.merge(lines, for: row.id, state, width: width, withHistory: false)
        }
        if let id, let row = state.connection(id) {
            let origin = row.relay.map { "\($0.role.rawValue) leg of \($0.relay)" }
                ?? row.listener.map { "accepted by \($0)" } ?? "opened by us"
            return LabDetail.merge([
                ("socket", "\(row.id) \(row.transport.label) " + origin, .header),
                ("local", row.localText, .normal),
                ("remote", row.remoteText, .normal),
                ("state", stateText(row.state), row.state.isOpen ? .normal : .dim),
                ("received", "\(ByteCount.text(row.bytesIn)) in \(row.messagesIn) reads", .incoming),
                ("sent", "\(ByteCount.text(row.bytesOut)) in \(row.messagesOut) writes", .outgoing),
                ("opened", TimeText.clock(row.opened), .normal),
                ("last activity", "\(TimeText.clock(row.lastActivity)) (\(TimeText.elapsed(from: row.opened, to: row.lastActivity)) after opening)", .normal),
                ("line ending", "\(row.lineEnding.rawValue) (set \(row.id) eol none|lf|crlf|cr)", .normal),
            ] + transferLines(row, state) + relayLines(row) + heldLines(row, state) + tlsLines(row, state) + ruleLines(state, row.id)
                + repeaterLines(state, row.id), for: row.id, state,
               width: width, beforeHistory: otherLegLines(row, state, width: width), withHistory: false)
        }
        return [("", "Select a listener or a connection to see its details.", .dim)]
    }

    /// A `sendfile` under way: a bar, bytes of the whole, rate and time left.
    static func transferLines(_ row: ConnectionRow, _ state: AppState) -> [(String, String, StyleRole)] {
        guard let progress = state.transferProgress(of: row.id) else { return [] }
        return [("sendfile", ProgressBar.text(progress.fraction, width: progressBarWidth, glyphs: state.view.glyphs), .outgoing),
                ("", progress.text, .outgoing)]
    }

    static let progressBarWidth = 20

    /// A relay leg: its pair, and why it is not reading when its other leg holds it back.
    static func relayLines(_ row: ConnectionRow) -> [(String, String, StyleRole)] {
        guard let leg = row.relay else { return [] }
        return [("relay", RelayEventText.detailLine(leg), leg.held == nil ? .normal : .warning)]
    }

    /// A leg holding chunks (`hold`): a bar of its held bytes against the relay's bound.
    static func heldLines(_ row: ConnectionRow, _ state: AppState) -> [(String, String, StyleRole)] {
        guard let leg = row.relay, leg.heldChunks > 0 || leg.holdFull else { return [] }
        let bound = HoldCommand.heldBytesBound
        return [("held", ProgressBar.text(Double(leg.heldBytes) / Double(bound), width: progressBarWidth, glyphs: state.view.glyphs),
                 leg.holdFull ? .warning : .outgoing),
                ("", "\(leg.heldChunks) chunk(s), \(ByteCount.text(leg.heldBytes)) of \(ByteCount.text(bound)) (the relay's bound), "
                 + "going \(leg.role.direction)" + (leg.holdFull ? "; not reading" : ""), leg.holdFull ? .warning : .outgoing)]
    }

    /// Below a relay leg's own lines, its other leg's, kernel view included: the pair in one place.
    static func otherLegLines(_ row: ConnectionRow, _ state: AppState, width: Int) -> [(String, String, StyleRole)] {
        guard let partner = row.relay?.partner, let other = state.connection(partner), let leg = other.relay else { return [] }
        return LabDetail.merge([
            ("other leg", "\(other.id) \(other.transport.label) \(leg.role.rawValue) leg", .header),
            ("local", other.localText, .normal),
            ("remote", other.remoteText, .normal),
            ("state", stateText(other.state), other.state.isOpen ? .normal : .dim),
            ("received", "\(ByteCount.text(other.bytesIn)) in \(other.messagesIn) reads", .incoming),
            ("sent", "\(ByteCount.text(other.bytesOut)) in \(other.messagesOut) writes", .outgoing),
        ] + relayLines(other) + heldLines(other, state), for: other.id, state, width: width, withHistory: false)
    }

    /// The TLS inspector for a `tls://` connection: one labelled line per fact (worded in `TLSEventText`).
    static func tlsLines(_ row: ConnectionRow, _ state: AppState) -> [(String, String, StyleRole)] {
        guard let report = row.tls else { return [] }
        let warning = switch report.verification {
        case .ignored, .unchecked: true
        case .verified, .notRequested: false
        }
        var lines: [(String, String, StyleRole)] = TLSEventText.detailLines(report).enumerated().map { index, text in
            (index == 0 ? "tls" : "", text, index == 3 && warning ? .warning : .normal)
        }
        // The received and sent lines above count plaintext; this is what crossed the socket.
        if let wire = state.wireTotals[row.id] {
            lines.append(("on the wire", "\(ByteCount.text(wire.received)) in, \(ByteCount.text(wire.sent)) out "
                          + "(TLS records: handshake, ciphertext, alerts)", .normal))
        }
        return lines
    }

    /// Every rule that answers on the socket, in the order they are tried, with its firings
    /// (on all the connections it applies to) and whose it is when not the socket's own.
    static func ruleLines(_ state: AppState, _ id: SocketID) -> [(String, String, StyleRole)] {
        state.rulesApplying(to: id).enumerated().map { index, rule in
            let owner = rule.owner == .socket(id) ? "" : " [\(rule.owner)'s]"
            return (index == 0 ? "rules" : "", DisplayText.escape(string: rule.row.text, backslashes: false) + owner, .normal)
        }
    }

    /// The sends repeating on the connection (`every`), with how far each has got.
    static func repeaterLines(_ state: AppState, _ id: SocketID) -> [(String, String, StyleRole)] {
        state.repeaters.filter { $0.target == id }.enumerated().map { index, repeater in
            (index == 0 ? "repeating" : "", repeater.text + " (stop \(repeater.number))", .normal)
        }
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
