/// One word of a command line, and whether it was written in quotes
/// (before data, a quoted word is data, never a socket id).
struct CommandWord: Hashable, Sendable {
    var text: String
    var quoted: Bool
    /// Written `/like this/` where a command takes patterns (`rule`, `expect`): the text
    /// between the slashes, a regex.
    var isRegex = false
}

/// Where a command takes a socket id, which decides when a word is read as one.
public enum IDPosition: Hashable, Sendable {
    /// `get [ID] OPTION`: a leading word that reads as an id (`C1`, `c1`) is one.
    case leading
    /// `send [ID] TEXT`, `sendhex [ID] HEX`, `sendfile [ID] PATH`: data follows, and `c1` is
    /// also hex or text, so only an id written as shown (upper case, unquoted) with more
    /// words after it names a socket: `sendhex c1 c2` sends the bytes 0xC1 0xC2.
    case beforeData
    /// `close [ID]`, `accept [ID]`: the id is the only argument; any other word is an error.
    case sole
    /// `bind ID ADDR`, `recv ID [N]`: an id must come first.
    case required
    /// `listen S1 N`, `connect S1 ADDR`: a step socket's id selects the step-mode form.
    case stepSocket
}

/// The words after a command's name, read left to right by the command's entry in
/// `CommandCatalog`. Every error names the command and shows its usage.
public struct CommandArguments {
    let spec: CommandSpec
    var words: ArraySlice<CommandWord>

    init(spec: CommandSpec, words: ArraySlice<CommandWord>) {
        self.spec = spec
        self.words = words
    }

    var isEmpty: Bool { words.isEmpty }

    /// Takes the next word.
    mutating func next() -> String? { words.popFirst()?.text }

    /// The next word, left in place.
    func peek() -> String? { words.first?.text }

    /// Takes the next word with how it was written (quoted, a `/regex/`).
    mutating func nextWord() -> CommandWord? { words.popFirst() }

    /// The next word with how it was written, left in place.
    func peekWord() -> CommandWord? { words.first }

    /// Takes every word left, joined by single spaces; nil when none is left.
    mutating func rest() -> String? {
        guard !words.isEmpty else { return nil }
        defer { words = words[words.endIndex...] }
        return words.map(\.text).joined(separator: " ")
    }

    /// An error that names the command and shows its usage.
    func problem(_ text: String) -> CommandParser.ParseError {
        CommandParser.ParseError("\(spec.name): \(text); usage: \(spec.usage)")
    }

    /// Fails when words are left over.
    func end() throws(CommandParser.ParseError) {
        if let extra = words.first { throw problem("unexpected '\(extra.text)'") }
    }

    /// The one place a command's socket id is read; `position` says when a word is one.
    mutating func socketID(_ position: IDPosition) throws(CommandParser.ParseError) -> SocketID? {
        guard let first = words.first else {
            if position == .required { throw problem("needs a socket id first (socket tcp makes S1)") }
            return nil
        }
        let id = SocketID(parsing: first.text)
        switch position {
        case .leading:
            guard id != nil, !first.isRegex else { return nil }
        case .beforeData:
            guard let id, words.count > 1, !first.quoted, first.text == id.description else { return nil }
        case .sole:
            guard id != nil else { throw problem("'\(first.text)' is not a socket id (ids look like L1 or C3)") }
        case .required:
            guard id != nil else { throw problem("needs a socket id first (socket tcp makes S1)") }
        case .stepSocket:
            guard let id, id.kind == .socket else { return nil }
        }
        words = words.dropFirst()
        return id
    }

    /// The id that must come first (`bind ID ADDR`).
    mutating func requiredSocketID() throws(CommandParser.ParseError) -> SocketID {
        guard let id = try socketID(.required) else { throw problem("needs a socket id first (socket tcp makes S1)") }
        return id
    }

    /// Reads the remaining words as the command's declared options; `handle` gets each
    /// option's canonical name and reads its value. An undeclared option is an error.
    mutating func options(_ handle: (String, inout CommandArguments) throws(CommandParser.ParseError) -> Void)
        throws(CommandParser.ParseError) {
        while let word = next() {
            guard let option = spec.option(matching: word) else { throw problem("unknown option '\(word)'") }
            try handle(option.name, &self)
        }
    }

    /// The value after `option`, or an error saying what it needs.
    mutating func value(of option: String) throws(CommandParser.ParseError) -> String {
        guard let text = next() else {
            throw problem("\(option) needs \(spec.option(matching: option)?.value ?? "a value")")
        }
        return text
    }
}
