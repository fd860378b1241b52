/// The port scanner in the reducer: starting and stopping a scan, its results, its view's keys.
extension Reducer {
    static func executeScan(_ request: ScanRequest, time: Timestamp, state: inout AppState) -> [Effect] {
        if state.scan.isRunning {
            return fail("scan: the scan of \(state.scan.host ?? "a host") is still running; scan stop ends it",
                        time: time, socket: nil, state: &state)
        }
        var effects: [Effect] = []
        if state.interactive {
            // The results have their own view; it replaces the system view's place.
            effects += executeSystemView(.hide, time: time, state: &state)
            state.scan.visible = true
        }
        let effect = makeRequest(.scan(request), state: &state)
        if case .perform(let made) = effect { state.scan.begin(request, id: made.id) }
        return effects + [effect]
    }

    static func applyScan(_ event: ScanEvent, state: inout AppState) {
        state.scan.apply(event)
        state.scan.selected = min(state.scan.selected, max(0, state.scan.shownRows.count - 1))
    }

    /// `P`: shows or hides the scan view (over the system view's place, which it hides).
    static func toggleScanView(time: Timestamp, state: inout AppState) -> [Effect] {
        guard state.scan.host != nil else {
            state.view.flash = "no scan yet: :scan 127.0.0.1 1-1024 scans a host's ports"
            return []
        }
        state.scan.visible.toggle()
        return state.scan.visible ? executeSystemView(.hide, time: time, state: &state) : []
    }

    /// Enter or `c` in the scan view: connect to the selected open port.
    static func connectToScanSelection(time: Timestamp, state: inout AppState) -> [Effect] {
        let rows = state.scan.shownRows
        guard rows.indices.contains(state.scan.selected), let start = state.scan.start else { return [] }
        let row = rows[state.scan.selected]
        guard row.state == .open else {
            state.view.flash = "select an open port to connect to it (/ open shows only those)"
            return []
        }
        state.scan.visible = false
        state.view.focus = .connections
        let target = Endpoint.inet(.tcp, host: start.addressText, port: row.ports.lowerBound)
        return run(.connect(ConnectRequest(endpoint: target)), time: time, state: &state)
    }

    /// Keys while the scan view is shown: moving through its rows, filtering, connecting, leaving.
    /// Nil lets every other key do what it always does.
    static func scanViewKey(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect]? {
        if let moved = listSelection(after: key, from: state.scan.selected, count: state.scan.shownRows.count, state: state) {
            state.scan.selected = moved
            return []
        }
        switch key {
        case .escape:
            state.scan.visible = false
            return []
        case .enter, .character("c"): return connectToScanSelection(time: time, state: &state)
        case .character("/"):
            state.view.prompt = Prompt(.scanFilter, text: state.scan.filter ?? "")
            return []
        default: return nil
        }
    }

    /// The scan view's filter, as typed (`/`).
    static func applyScanFilter(_ text: String, state: inout AppState) {
        state.scan.filter = text.isEmpty ? nil : text
        state.scan.selected = 0
    }
}
