/// Tab completion for the command prompt: command names, then what the command's
/// entry in `CommandCatalog` declares (socket ids, endpoints seen before, words, options).
public enum Completion {
    public struct Result: Hashable, Sendable {
        public var text: String
        public var cursor: Int
        /// Every candidate when more than one fits (shown to the user).
        public var candidates: [String]
        /// Where the completed word starts (characters): a further Tab puts each candidate there in turn.
        public var wordStart: Int = 0
    }

    public static func complete(_ text: String, cursor: Int, state: AppState) -> Result {
        let characters = Array(text)
        let before = String(characters[..<min(cursor, characters.count)])
        let after = String(characters[min(cursor, characters.count)...])
        let wordStart = before.lastIndex(of: " ").map { before.index(after: $0) } ?? before.startIndex
        let word = String(before[wordStart...])
        let head = String(before[..<wordStart])
        let isFirstWord = head.trimmingWhitespace.isEmpty
        let spec = head.split(separator: " ").first.flatMap { CommandCatalog.spec(named: String($0)) }

        var pool: [String]
        if isFirstWord {
            pool = CommandCatalog.specs.map(\.name)
        } else if word.hasPrefix("-") {
            pool = spec?.options.map(\.name) ?? []
        } else {
            let typed = head.split(separator: " ").dropFirst().map(String.init)
            pool = spec.map { expected(after: typed, in: $0) }?.flatMap { candidates(for: $0.kind, state: state) } ?? []
        }
        let matches = pool.filter { $0.lowercased().hasPrefix(word.lowercased()) }.uniqued()
        guard !matches.isEmpty else { return Result(text: text, cursor: cursor, candidates: []) }
        var completed = commonPrefix(matches)
        if completed.count < word.count { completed = word }
        if matches.count == 1 { completed += " " }
        let newBefore = head + completed
        return Result(text: newBefore + after, cursor: newBefore.count, candidates: matches.count > 1 ? matches : [],
                      wordStart: head.count)
    }

    /// The arguments that may come after the words `typed` so far: the next one, and the one
    /// after it when the next is an optional socket id. Options and their values are skipped.
    static func expected(after typed: [String], in spec: CommandSpec) -> [CommandSpec.Argument] {
        var remaining = spec.arguments[...]
        var words = typed[...]
        while let word = words.popFirst() {
            if let option = spec.option(matching: word), word.hasPrefix("-") {
                if option.value != nil { words = words.dropFirst() }
                continue
            }
            if case .socket = remaining.first?.kind, SocketID(parsing: word) == nil { remaining = remaining.dropFirst() }
            guard let argument = remaining.popFirst() else { return [] }
            if argument.kind == .value { return [] }
        }
        guard let next = remaining.first else { return [] }
        if case .socket = next.kind { return Array(remaining.prefix(2)) }
        return [next]
    }

    /// What may stand where an argument of `kind` goes.
    private static func candidates(for kind: CommandSpec.Argument.Kind, state: AppState) -> [String] {
        switch kind {
        case .socket(_, let offering): socketIDs(offering, state: state)
        case .endpoint: endpoints(state)
        case .choice(let words): words
        case .command: CommandCatalog.specs.map(\.name)
        case .value: []
        }
    }

    private static func socketIDs(_ offering: CommandSpec.SocketOffer, state: AppState) -> [String] {
        let connections = state.connections.filter(\.state.isOpen).map(\.id.description)
        let listeners = state.listeners.filter(\.isOpen).map(\.id.description)
        switch offering {
        case .openConnections: return connections
        case .openSockets: return connections + listeners
        case .listeners: return listeners
        case .stepSockets: return state.lab.steps.keys.sorted().map(\.description)
        }
    }

    /// Addresses this session has seen: listeners and the peers of connections.
    private static func endpoints(_ state: AppState) -> [String] {
        let locals = state.listeners.map(\.local.description)
        let remotes = state.connections.filter { $0.listener == nil }.map(\.remoteText)
        // The endpoint typed after connect or listen (or their aliases) in earlier lines.
        let history = state.view.history.compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count >= 2, let name = CommandCatalog.spec(named: String(words[0]))?.name,
                  name == "connect" || name == "listen" else { return nil }
            return String(words[1])
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
