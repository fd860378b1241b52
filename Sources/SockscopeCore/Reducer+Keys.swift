extension Reducer {
    static func handleKey(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect] {
        if state.view.prompt != nil { return editPrompt(key, time: time, state: &state) }
        state.view.flash = nil
        if state.view.showHelp {
            switch key {
            case .escape, .character("?"), .character("q"), .function(1), .enter: state.view.showHelp = false
            case .down, .character("j"): state.view.helpScroll += 1
            case .up, .character("k"): state.view.helpScroll = max(0, state.view.helpScroll - 1)
            case .pageDown: state.view.helpScroll += 10
            case .pageUp: state.view.helpScroll = max(0, state.view.helpScroll - 10)
            case .control("c"): return [.quit]
            default: break
            }
            return []
        }
        guard let action = KeyBindings.action(for: key) else { return [] }
        return perform(action, time: time, state: &state)
    }

    static func perform(_ action: UserAction, time: Timestamp, state: inout AppState) -> [Effect] {
        switch action {
        case .openPrompt:
            state.view.prompt = Prompt()
            state.view.historyIndex = nil
        case .sendToSelected:
            guard let id = state.view.selectedConnection, state.connection(id)?.state.isOpen == true else {
                state.view.flash = "no open connection selected: select one in Connections, or connect first"
                return []
            }
            state.view.prompt = Prompt(text: "send \(id) ")
        case .closeSelected:
            guard let id = selectedSocket(state) else {
                state.view.flash = "nothing selected to close"
                return []
            }
            return run("close \(id)", time: time, state: &state)
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
            state.view.showHelp = false
        case .quit:
            return [.quit]
        }
        return []
    }

    /// The socket selected in the focused pane (the connection when the log has focus).
    static func selectedSocket(_ state: AppState) -> SocketID? {
        state.view.focus == .listeners ? state.view.selectedListener : state.view.selectedConnection
    }

    private static func pageSize(_ state: AppState) -> Int { max(1, state.view.height / 3) }

    private static func moveSelection(by delta: Int, state: inout AppState) {
        switch state.view.focus {
        case .listeners:
            state.view.selectedListener = step(state.listeners.map(\.id), from: state.view.selectedListener, by: delta)
        case .connections:
            state.view.selectedConnection = step(state.connections.map(\.id), from: state.view.selectedConnection, by: delta)
        case .log:
            // Scrolling up pauses follow; coming back to the bottom resumes it.
            state.view.logScroll = min(max(0, state.view.logScroll - delta), max(0, state.log.count - 1))
        }
    }

    private static func step(_ ids: [SocketID], from current: SocketID?, by delta: Int) -> SocketID? {
        guard !ids.isEmpty else { return nil }
        let index = current.flatMap { ids.firstIndex(of: $0) } ?? (delta > 0 ? -1 : ids.count)
        let target = min(max(0, index.addingReportingOverflow(delta).partialValue), ids.count - 1)
        return ids[target]
    }

    // MARK: - Prompt editing

    static func editPrompt(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect] {
        guard var prompt = state.view.prompt else { return [] }
        var characters = Array(prompt.text)
        switch key {
        case .escape, .control("c"), .control("g"):
            state.view.prompt = nil
            return []
        case .enter:
            let line = prompt.text
            state.view.prompt = nil
            if !line.trimmingWhitespace.isEmpty, state.view.history.last != line {
                state.view.history.append(line)
                if state.view.history.count > 500 { state.view.history.removeFirst() }
            }
            state.view.historyIndex = nil
            let effects = run(line, time: time, state: &state)
            if effects.contains(where: { if case .notice(.error, _) = $0 { true } else { false } }) {
                // Keep what was typed so the user can fix it; the error shows inline.
                var kept = Prompt(text: line)
                kept.error = state.view.flash
                state.view.flash = nil
                state.view.prompt = kept
            }
            return effects
        case .character(let c):
            characters.insert(c, at: prompt.cursor)
            prompt.cursor += 1
        case .backspace, .control("h"):
            if prompt.cursor > 0 {
                characters.remove(at: prompt.cursor - 1)
                prompt.cursor -= 1
            } else if characters.isEmpty {
                state.view.prompt = nil
                return []
            }
        case .delete, .control("d"):
            if prompt.cursor < characters.count { characters.remove(at: prompt.cursor) }
        case .left, .control("b"): prompt.cursor = max(0, prompt.cursor - 1)
        case .right, .control("f"): prompt.cursor = min(characters.count, prompt.cursor + 1)
        case .home, .control("a"): prompt.cursor = 0
        case .end, .control("e"): prompt.cursor = characters.count
        case .control("u"):
            characters.removeSubrange(0..<prompt.cursor)
            prompt.cursor = 0
        case .control("k"):
            characters.removeSubrange(prompt.cursor...)
        case .up, .down:
            let history = state.view.history
            guard !history.isEmpty else { return [] }
            var index = state.view.historyIndex ?? history.count
            index += key == .up ? -1 : 1
            index = min(max(0, index), history.count)
            state.view.historyIndex = index
            characters = index == history.count ? [] : Array(history[index])
            prompt.cursor = characters.count
        default:
            return []
        }
        prompt.text = String(characters)
        prompt.error = nil
        state.view.prompt = prompt
        return []
    }
}
