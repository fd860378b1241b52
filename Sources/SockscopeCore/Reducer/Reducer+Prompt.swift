extension Reducer {
    static func editPrompt(_ key: KeyPress, time: Timestamp, state: inout AppState) -> [Effect] {
        guard var prompt = state.view.prompt else { return [] }
        var characters = Array(prompt.text)
        switch key {
        case .escape, .control("c"), .control("g"):
            state.view.prompt = nil
            return []
        case .enter:
            return submit(prompt, time: time, state: &state)
        case .tab:
            guard prompt.purpose == .command else { return [] }
            if let cycle = prompt.cycle, !prompt.candidates.isEmpty {
                // Tab again: the next candidate in the word's place (sen -> send, sendhex, sendfile, sendto, send...).
                let index = cycle.index.map { ($0 + 1) % prompt.candidates.count } ?? 0
                let word = Array(prompt.candidates[index])
                characters.replaceSubrange(min(cycle.wordStart, characters.count)..<prompt.cursor, with: word)
                prompt.text = String(characters)
                prompt.cursor = cycle.wordStart + word.count
                prompt.cycle = CompletionCycle(wordStart: cycle.wordStart, index: index)
                state.view.prompt = prompt
                return []
            }
            let completion = Completion.complete(prompt.text, cursor: prompt.cursor, state: state)
            prompt.text = completion.text
            prompt.cursor = completion.cursor
            prompt.candidates = completion.candidates
            prompt.cycle = completion.candidates.isEmpty ? nil : CompletionCycle(wordStart: completion.wordStart, index: nil)
            prompt.error = nil
            state.view.prompt = prompt
            return []
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
        case .control("w"):
            var start = prompt.cursor
            while start > 0, characters[start - 1] == " " { start -= 1 }
            while start > 0, characters[start - 1] != " " { start -= 1 }
            characters.removeSubrange(start..<prompt.cursor)
            prompt.cursor = start
        case .up, .down:
            guard prompt.purpose == .command else { return [] }
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
        prompt.candidates = []
        prompt.cycle = nil
        // Filters apply as you type.
        switch prompt.purpose {
        case .filter:
            state.view.logFilter = prompt.text.isEmpty ? nil : prompt.text
            state.view.logScroll = 0
        case .connectionFilter:
            // A word still being typed (`port:44`) keeps the last filter that read; the error shows inline.
            prompt.error = applyConnectionFilter(prompt.text, state: &state)
        case .systemFilter:
            state.lab.system.filter = prompt.text.isEmpty ? nil : prompt.text
            state.lab.system.selected = 0
        case .scanFilter:
            applyScanFilter(prompt.text, state: &state)
        case .command, .send:
            break
        }
        state.view.prompt = prompt
        return []
    }

    /// Reads and applies the Connections filter; the problem when the text does not read.
    private static func applyConnectionFilter(_ text: String, state: inout AppState) -> String? {
        do {
            state.view.connectionFilter = try ConnectionFilter(parsing: text)
        } catch {
            return error.message
        }
        keepSelectionShown(state: &state)
        return nil
    }

    /// Enter: run the command, send the line, or keep the filter.
    private static func submit(_ prompt: Prompt, time: Timestamp, state: inout AppState) -> [Effect] {
        state.view.prompt = nil
        switch prompt.purpose {
        case .filter:
            state.view.logFilter = prompt.text.isEmpty ? nil : prompt.text
            return []
        case .systemFilter:
            state.lab.system.filter = prompt.text.isEmpty ? nil : prompt.text
            return []
        case .scanFilter:
            applyScanFilter(prompt.text, state: &state)
            return []
        case .connectionFilter:
            if let problem = applyConnectionFilter(prompt.text, state: &state) {
                var kept = prompt
                kept.error = problem
                state.view.prompt = kept
            }
            return []
        case .send(let id):
            // Typed or pasted text goes out byte for byte, plus the connection's line ending.
            let bytes = Array(prompt.text.utf8) + (state.connection(id)?.lineEnding.bytes ?? [])
            if let problem = sendProblem(id, state: state) {
                return fail("send: \(problem)", time: time, socket: id, state: &state)
            }
            state.view.prompt = Prompt(.send(id))  // stay in the send line for the next one
            return [makeRequest(.send(id, bytes), state: &state)]
        case .command:
            let line = prompt.text
            if !line.trimmingWhitespace.isEmpty {
                state.view.history.removeAll { $0 == line }
                state.view.history.append(line)
                if state.view.history.count > ViewState.historyLimit { state.view.history.removeFirst() }
            }
            state.view.historyIndex = nil
            let effects = run(line, time: time, state: &state)
            if effects.contains(where: { if case .notice(.error, _) = $0 { true } else { false } }) {
                // Keep what was typed so the user can fix it; the error shows inline.
                var kept = Prompt(.command, text: line)
                kept.error = state.view.flash
                state.view.flash = nil
                state.view.prompt = kept
            }
            return effects
        }
    }
}
