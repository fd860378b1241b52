/// Tab completion for the command prompt: command names, socket ids,
/// endpoints seen before and option names.
public enum Completion {
    public struct Result: Hashable, Sendable {
        public var text: String
        public var cursor: Int
        /// Every candidate when more than one fits (shown to the user).
        public var candidates: [String]
    }

    static let options: [String: [String]] = [
        "listen": ["--echo", "--reply", "--discard", "--backlog", "--replace", "--reuseaddr", "--reuseport"],
        "connect": ["--bind", "--timeout"],
        "save": ["--text", "--json"],
    ]

    public static func complete(_ text: String, cursor: Int, state: AppState) -> Result {
        let characters = Array(text)
        let before = String(characters[..<min(cursor, characters.count)])
        let after = String(characters[min(cursor, characters.count)...])
        let wordStart = before.lastIndex(of: " ").map { before.index(after: $0) } ?? before.startIndex
        let word = String(before[wordStart...])
        let head = String(before[..<wordStart])
        let isFirstWord = head.trimmingWhitespace.isEmpty
        let command = head.split(separator: " ").first.map { String($0).lowercased() }

        var pool: [String]
        if isFirstWord {
            pool = CommandCatalog.specs.map(\.name)
        } else if word.hasPrefix("-") {
            pool = options[command ?? ""] ?? []
        } else {
            pool = socketIDs(for: command, state: state) + endpoints(for: command, state: state)
        }
        let matches = pool.filter { $0.lowercased().hasPrefix(word.lowercased()) }.uniqued()
        guard !matches.isEmpty else { return Result(text: text, cursor: cursor, candidates: []) }
        var completed = commonPrefix(matches)
        if completed.count < word.count { completed = word }
        if matches.count == 1 { completed += " " }
        let newBefore = head + completed
        return Result(text: newBefore + after, cursor: newBefore.count, candidates: matches.count > 1 ? matches : [])
    }

    private static func socketIDs(for command: String?, state: AppState) -> [String] {
        let open = state.connections.filter(\.state.isOpen).map(\.id.description)
        switch command {
        case "send", "s", "sendhex", "sendfile", "shutdown", "reset": return open
        case "close", "x", "set", "get", "sendto": return open + state.listeners.filter(\.isOpen).map(\.id.description)
        default: return []
        }
    }

    /// Addresses this session has seen: listeners and the peers of connections.
    private static func endpoints(for command: String?, state: AppState) -> [String] {
        guard command == "connect" || command == "c" || command == "listen" || command == "l" else { return [] }
        let locals = state.listeners.map(\.local.description)
        let remotes = state.connections.filter { $0.listener == nil }.map(\.remoteText)
        let history = state.view.history.compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.count >= 2 && (words[0] == "connect" || words[0] == "listen") ? String(words[1]) : nil
        }
        return (locals + remotes + history).filter { $0 != "-" }
    }

    private static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map(Array.init) else { return "" }
        for word in words.dropFirst() {
            let other = Array(word)
            var length = 0
            while length < prefix.count, length < other.count,
                  prefix[length].lowercased() == other[length].lowercased() { length += 1 }
            prefix = Array(prefix[..<length])
        }
        return String(prefix)
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
