/// Holding a relay's traffic (`hold`, `forward`, `drop`, `edit`, `release`): the commands,
/// checked against what the state knows, and what the hold events change on the relay's row
/// and its legs' rows.
extension Reducer {
    static func executeHold(_ target: SocketID?, _ command: HoldCommand, time: Timestamp, state: inout AppState) -> [Effect] {
        let verb = command.verb
        let choice = chosenRelay(target ?? onlyRelay(state), verb: verb, time: time, state: &state)
        guard let row = choice.row else { return choice.failure }
        let id = row.id
        guard row.isOpen else { return fail("\(verb): \(id) is closed", time: time, socket: id, state: &state) }
        if row.transport.isDatagram {
            return fail("\(verb): \(id) is a UDP relay; hold works on stream relays (TCP, UNIX)", time: time, socket: id, state: &state)
        }
        let held = state.connections.reduce(0) { $0 + ($1.relay?.relay == id ? $1.relay?.heldChunks ?? 0 : 0) }
        let nothingHeld = "\(verb): nothing held on \(id)" + (row.holding == nil ? " (hold \(id) up|down|both holds its traffic)" : "")
        switch command {
        case .hold(_, let framing):
            if row.holding != nil, framing != row.holdFraming, held > 0 {
                return fail("hold: \(id) holds \(held) chunk(s) cut as \(row.holdFraming.rawValue); forward, drop or release them "
                            + "before changing --frame", time: time, socket: id, state: &state)
            }
        case .forward, .drop:
            if held == 0 { return fail(nothingHeld, time: time, socket: id, state: &state) }
        case .edit(let bytes):
            if held == 0 { return fail(nothingHeld, time: time, socket: id, state: &state) }
            if bytes.isEmpty { return openEditor(on: row, time: time, state: &state) }
        case .release:
            if row.holding == nil, held == 0 { return fail("release: \(id) is not holding", time: time, socket: id, state: &state) }
        }
        return [makeRequest(.hold(id, command), state: &state)]
    }

    /// Without an id, when the selected or most recent socket is not a relay (a script's
    /// `connect` through it came since): the one open stream relay, if there is just one.
    private static func onlyRelay(_ state: AppState) -> SocketID? {
        let preferred = state.view.selectedListener.flatMap { $0.kind == .relay ? $0 : nil }
            ?? state.recentSocket.flatMap { $0.kind == .relay ? $0 : nil }
        guard preferred == nil else { return nil }
        let open = state.listeners.filter { $0.relayTarget != nil && $0.isOpen && !$0.transport.isDatagram }
        return open.count == 1 ? open[0].id : nil
    }

    /// `edit` alone: the TUI's command line gets `edit R1 "the next chunk"`, to change and
    /// run; without a TUI the bytes must be given.
    private static func openEditor(on row: ListenerRow, time: Timestamp, state: inout AppState) -> [Effect] {
        let id = row.id
        guard state.interactive else {
            return fail("edit: needs the bytes that go instead of the next held chunk: edit \(id) TEXT or edit \(id) --hex HEX "
                        + "(to send nothing, drop \(id))", time: time, socket: id, state: &state)
        }
        guard let next = row.heldChunks.first, next.bytes.count == next.count else {
            let why = row.heldChunks.first.map { "is \(ByteCount.text($0.count)), more than the \(DataPreview.limit) bytes kept to edit" }
                ?? "is not known here (more than \(ListenerRow.heldPreviewLimit) chunks were held)"
            return fail("edit: the next held chunk \(why); edit \(id) TEXT or --hex HEX replaces it", time: time, socket: id,
                        state: &state)
        }
        let text = CommandText.line(for: .hold(target: id, .edit(next.bytes)))
        state.view.prompt = Prompt(.command, text: text)
        state.needsRedraw = true
        return []
    }

    static func applyHold(_ event: RelayEvent, state: inout AppState) {
        switch event {
        case .holding(let id, let direction, let framing):
            state.updateListener(id) {
                $0.holding = direction
                $0.holdFraming = framing
            }
        case .holdReleased(let id):
            state.updateListener(id) { $0.holding = nil }
        case .held(let leg, _, let relay, let sequence, let bytes, let count, let heldChunks, let heldBytes):
            state.updateConnection(leg) {
                $0.relay?.heldChunks = heldChunks
                $0.relay?.heldBytes = heldBytes
            }
            state.updateListener(relay) { row in
                guard row.heldChunks.count < ListenerRow.heldPreviewLimit else { return }
                let chunk = HeldChunkPreview(sequence: sequence, leg: leg, count: count, bytes: bytes)
                // Legs on different loops report in nearly, not exactly, the engine's order.
                let place = row.heldChunks.lastIndex { $0.sequence < sequence }.map { $0 + 1 } ?? 0
                row.heldChunks.insert(chunk, at: place)
            }
        case .heldOut(let leg, _, let relay, _, let chunks, _, let heldChunks, let heldBytes):
            state.updateConnection(leg) {
                $0.relay?.heldChunks = heldChunks
                $0.relay?.heldBytes = heldBytes
            }
            state.updateListener(relay) { row in
                var left = chunks
                row.heldChunks.removeAll { chunk in
                    guard left > 0, chunk.leg == leg else { return false }
                    left -= 1
                    return true
                }
            }
        case .holdFull(let leg, _, _, _, _):
            state.updateConnection(leg) { $0.relay?.holdFull = true }
        default:
            break
        }
    }
}
