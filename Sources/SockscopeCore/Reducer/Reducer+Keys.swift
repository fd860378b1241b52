extension Reducer {
    static func handleKey(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect] {
        if state.view.prompt != nil { return editPrompt(key, time: time, state: &state) }
        state.view.flash = nil
        if let confirmation = state.view.confirmation {
            state.view.confirmation = nil
            if key == .character("y") || key == .character("Y") { return run(confirmation.command, time: time, state: &state) }
            state.view.flash = "cancelled"
            return []
        }
        if state.view.showHelp {
            switch key {
            case .escape, .character("?"), .character("q"), .function(1), .enter: state.view.showHelp = false
            case .down, .character("j"): state.view.helpScroll += 1
            case .up, .character("k"): state.view.helpScroll = max(0, state.view.helpScroll - 1)
            case .pageDown, .character(" "): state.view.helpScroll += helpPage(state)
            case .pageUp: state.view.helpScroll = max(0, state.view.helpScroll - helpPage(state))
            case .control("c"): return [.quit]
            default: break
            }
            return []
        }
        if state.lab.system.visible, let effects = systemViewKey(key, time: time, state: &state) { return effects }
        if state.scan.visible, let effects = scanViewKey(key, time: time, state: &state) { return effects }
        guard let action = KeyBindings.action(for: key) else { return [] }
        return perform(action, time: time, state: &state)
    }

    static func perform(_ action: UserAction, time: Timestamp, state: inout AppState) -> [Effect] {
        switch action {
        case .openPrompt:
            state.view.prompt = Prompt(.command)
            state.view.historyIndex = nil
        case .sendLine:
            guard let id = state.view.selectedConnection, state.connection(id)?.state.isOpen == true else {
                state.view.flash = "no open connection selected: select one in Connections (Tab, j/k), or :connect first"
                return []
            }
            state.view.prompt = Prompt(.send(id))
        case .closeSelected:
            guard let id = selectedSocket(state) else {
                state.view.flash = "nothing selected to close"
                return []
            }
            if let listener = state.listener(id), listener.isOpen, listener.activeConnections > 0 {
                state.view.confirmation = Confirmation(
                    question: "Stop listener \(id)? Its \(listener.activeConnections) connection(s) stay open. y/n",
                    command: .close(target: id))
                return []
            }
            return run(.close(target: id), time: time, state: &state)
        case .resetSelected:
            guard let id = state.view.selectedConnection, state.connection(id)?.state.isOpen == true else {
                state.view.flash = "no open connection selected to reset"
                return []
            }
            state.view.confirmation = Confirmation(question: "Reset \(id) (abortive close, the peer gets RST)? y/n",
                                                   command: .reset(target: id))
        case .connectAgain:
            guard let target = reconnectTarget(state) else {
                state.view.flash = "select a listener or an outgoing connection to connect to it again"
                return []
            }
            return run(.connect(ConnectRequest(endpoint: target)), time: time, state: &state)
        case .showConnectionLog:
            guard let id = selectedSocket(state) else {
                state.view.flash = "nothing selected"
                return []
            }
            state.view.logFilter = id.description
            state.view.logScroll = 0
        case .filter:
            state.view.prompt = state.view.focus == .connections
                ? Prompt(.connectionFilter, text: state.view.connectionFilter?.text ?? "")
                : Prompt(.filter, text: state.view.logFilter ?? "")
        case .toggleHex:
            state.view.dataView = state.view.dataView == .text ? .hex : .text
        case .toggleTimestamps:
            state.view.timestamps = state.view.timestamps == .absolute ? .relative : .absolute
        case .zoom:
            state.view.zoomed.toggle()
        case .focusNext:
            state.view.focus = Pane(rawValue: (state.view.focus.rawValue + 1) % Pane.allCases.count)!
        case .focusPrevious:
            state.view.focus = Pane(rawValue: (state.view.focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!
        case .selectNext: moveSelection(by: 1, state: &state)
        case .selectPrevious: moveSelection(by: -1, state: &state)
        case .pageDown: moveSelection(by: pageSize(state), state: &state)
        case .pageUp: moveSelection(by: -pageSize(state), state: &state)
        case .jumpFirst: moveSelection(by: Int.min / 2, state: &state)
        case .jumpLast: moveSelection(by: Int.max / 2, state: &state)
        case .toggleHelp:
            state.view.showHelp.toggle()
            state.view.helpScroll = 0
        case .backOut:
            if state.view.showHelp {
                state.view.showHelp = false
            } else if state.view.focus == .connections, state.view.connectionFilter != nil {
                state.view.connectionFilter = nil
            } else if state.view.logFilter != nil {
                state.view.logFilter = nil
                state.view.logScroll = 0
            } else if state.view.zoomed {
                state.view.zoomed = false
            }
        case .quit:
            return [.quit]
        case .clearClosed:
            return run(.clearClosed, time: time, state: &state)
        case .toggleLogExpanded:
            state.view.logExpanded.toggle()
        case .quitAsking:
            // Ctrl-C is pressed by habit (to cancel something): with sockets open, ask first.
            let connections = state.connections.count { $0.state.isOpen }
            let listeners = state.listeners.count { $0.isOpen }
            guard connections + listeners > 0 else { return [.quit] }
            state.view.confirmation = Confirmation(
                question: "Quit and close \(connections) connection(s) and \(listeners) listener(s)? y/n", command: .quit)
            return []
        case .acceptOne:
            let manual = state.view.selectedListener.flatMap { state.lab.manualAccept.contains($0) ? $0 : nil }
            return run(.accept(target: manual), time: time, state: &state)
        case .toggleSystemView:
            return executeSystemView(.toggle, time: time, state: &state)
        case .toggleScanView:
            return toggleScanView(time: time, state: &state)
        case .connectToSystemListener:
            guard state.lab.system.visible else {
                state.view.flash = "c connects to the listener selected in the system view (S shows it)"
                return []
            }
            return connectToSystemSelection(time: time, state: &state)
        case .cycleSort:
            if state.lab.system.visible {
                state.lab.system.sort = state.lab.system.sort.next
                state.lab.system.selected = 0
                state.view.flash = "system view sorted by \(state.lab.system.sort.rawValue)"
            } else if state.view.focus == .connections {
                state.view.connectionSort = state.view.connectionSort.next
            } else {
                state.view.flash = "o sorts Connections (Tab to it) or the system view (S)"
            }
        case .togglePin:
            guard state.view.focus == .connections || state.view.focus == .detail,
                  let id = state.view.selectedConnection else {
                state.view.flash = "select a connection in Connections to pin it"
                return []
            }
            if state.view.pinnedConnections.contains(id) {
                state.view.pinnedConnections.removeAll { $0 == id }
            } else {
                state.view.pinnedConnections.append(id)
            }
        case .toggleFollow:
            state.view.followsBusiest.toggle()
            if state.view.followsBusiest {
                state.view.flash = "following the busiest connection (f or j/k to stop)"
                followBusiest(state: &state)
            } else {
                state.view.flash = "stopped following"
            }
        }
        return []
    }

    /// Selecting a row with the mouse (or a test): focus the pane and select row `index`.
    static func select(_ pane: Pane, index: Int, state: inout AppState) {
        state.view.focus = pane
        switch pane {
        case .listeners:
            if state.listeners.indices.contains(index) { state.view.selectedListener = state.listeners[index].id }
        case .connections:
            let order = state.connectionDisplayOrder
            if order.indices.contains(index) { state.view.selectedConnection = state.connections[order[index]].id }
        case .detail, .log:
            break
        }
    }

    /// The socket selected in the focused table, or the one Detail shows when another pane has focus.
    static func selectedSocket(_ state: AppState) -> SocketID? {
        switch state.view.focus {
        case .listeners: state.view.selectedListener
        case .connections: state.view.selectedConnection
        case .detail, .log: state.view.detailSocket
        }
    }

    /// Where `d` connects: the selected listener, or the peer of the selected outgoing connection,
    /// or (for an accepted connection) its listener. A listener on every interface is reached
    /// through loopback (`SocketEndpoint.connectable`).
    static func reconnectTarget(_ state: AppState) -> Endpoint? {
        guard let id = selectedSocket(state) else { return nil }
        if let listener = state.listener(id), listener.isOpen { return listener.local.connectTarget(listener.transport) }
        guard let row = state.connection(id) else { return nil }
        if let listenerID = row.listener, let listener = state.listener(listenerID) {
            return listener.local.connectTarget(listener.transport)
        }
        if let remote = row.remote { return remote.connectTarget(row.transport) }
        // Still connecting: what the user asked for, read as they wrote it.
        return row.requestedRemote.flatMap {
            try? CommandParser.parseEndpoint(Endpoint.scheme(of: row.transport) + $0, listening: false)
        }
    }

    /// A page of the `?` overlay: the rows inside its frame (the screen less the status
    /// line, the footer and two borders), less one kept for context.
    private static func helpPage(_ state: AppState) -> Int { max(1, state.view.height - 5) }

    private static func pageSize(_ state: AppState) -> Int { max(1, state.view.height / 3) }

    static func moveSelection(by delta: Int, state: inout AppState) {
        // In Detail, j/k move through the table whose socket it shows.
        let table = state.view.focus == .detail ? state.view.detailTable : state.view.focus
        switch table {
        case .listeners:
            state.view.selectedListener = step(state.listeners.map(\.id), from: state.view.selectedListener, by: delta)
        case .connections, .detail:
            // Choosing a row by hand ends `f`.
            state.view.followsBusiest = false
            // Positions in display order, not copies of 10,000 rows per key press.
            let order = state.connectionDisplayOrder
            guard !order.isEmpty else {
                state.view.selectedConnection = nil
                return
            }
            let current = state.displayPosition(of: state.view.selectedConnection, in: order) ?? (delta > 0 ? -1 : order.count)
            let target = min(max(0, current.addingReportingOverflow(delta).partialValue), order.count - 1)
            state.view.selectedConnection = state.connections[order[target]].id
        case .log:
            // Scrolling up pauses follow; coming back to the bottom resumes it.
            let next = state.view.logScroll.subtractingReportingOverflow(delta)
            let target = next.overflow ? (delta > 0 ? 0 : Int.max) : next.partialValue
            let furthest = state.view.scrollsByLine(followed: state.log.followed)
                ? conversationLineBound(state) : max(0, state.log.count - 1)
            state.view.logScroll = min(max(0, target), furthest)
        }
    }

    /// About how many screen lines the followed conversation takes at this width (a little
    /// more, never less: word wrapping can take up to a third more lines than the columns
    /// need), so scrolling by line stops near its first line. The Log pane's renderer shows
    /// the first page when the offset goes past it.
    static func conversationLineBound(_ state: AppState) -> Int {
        guard let followed = state.log.followed else { return 0 }
        // The Log spans the screen inside its border; time, id and direction marker come first.
        let wrapWidth = max(6, (state.view.width - 2 - 19) * 3 / 4)
        func lines(_ text: String) -> Int { max(1, (TextWidth.columns(of: text) + wrapWidth - 1) / wrapWidth) }
        var total = 0
        for index in 0..<state.log.count where state.log[index].socket == followed {
            let entry = state.log[index]
            if case .data = entry.record {
                total += 1 + LogText.payloadLines(entry).reduce(0) { $0 + lines($1) }
            } else {
                total += min(12, lines(LogText.body(entry)))
            }
        }
        return total
    }

    /// `f`: selects the connection moving the most bytes per second (in and out) among those
    /// the filter shows. Only connections with a rate are looked at (`activeRates`), so a tick
    /// with 10,000 idle rows costs nothing; with none moving, the selection stays.
    static func followBusiest(state: inout AppState) {
        guard state.view.followsBusiest else { return }
        var busiest: (id: SocketID, rate: Int)?
        for id in state.activeRates {
            guard let row = state.connection(id), state.view.connectionFilter?.matches(row) ?? true else { continue }
            let rate = row.rate.inPerSecond + row.rate.outPerSecond
            if rate > 0, rate > busiest?.rate ?? 0 || (rate == busiest?.rate && id < busiest!.id) {
                busiest = (id, rate)
            }
        }
        if let busiest { state.view.selectedConnection = busiest.id }
    }

    /// After the filter changes: a selection the filter hides moves to the first row shown,
    /// so `s`, `x` and Detail act on a row the user can see.
    static func keepSelectionShown(state: inout AppState) {
        let order = state.connectionDisplayOrder
        if state.displayPosition(of: state.view.selectedConnection, in: order) == nil {
            state.view.selectedConnection = order.first.map { state.connections[$0].id }
        }
    }

    private static func step(_ ids: [SocketID], from current: SocketID?, by delta: Int) -> SocketID? {
        guard !ids.isEmpty else { return nil }
        let index = current.flatMap { ids.firstIndex(of: $0) } ?? (delta > 0 ? -1 : ids.count)
        let target = min(max(0, index.addingReportingOverflow(delta).partialValue), ids.count - 1)
        return ids[target]
    }
}
