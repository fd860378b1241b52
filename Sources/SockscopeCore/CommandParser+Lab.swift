/// The lifecycle lab's commands: step-mode calls, `accept` and `sys`.
extension CommandParser {
    /// `listen S1 N` and `connect S1 ADDR`: the step-mode forms of listen and connect; nil for the usual forms.
    static func parseStepForm(name: String, _ arguments: ArraySlice<String>) throws(ParseError) -> Command? {
        guard let first = arguments.first, let id = SocketID(parsing: first), id.kind == .socket else { return nil }
        var rest = arguments.dropFirst()
        switch name {
        case "listen":
            var backlog = 128
            if let text = rest.popFirst() {
                guard let value = Int(text), value >= 0, value <= 65535 else {
                    throw labUsage("listen", "the backlog must be a number from 0 to 65535, as in listen \(id) 5")
                }
                backlog = value
            }
            try expectNothingMore(rest, "listen")
            return .step(.listen(id, backlog: backlog))
        default:
            guard let text = rest.popFirst() else { throw labUsage("connect", "needs an address: connect \(id) 127.0.0.1:9000") }
            let endpoint = try parseEndpoint(text, listening: false)
            try expectNothingMore(rest, "connect")
            return .step(.connect(id, endpoint))
        }
    }

    static func parseLab(name: String, _ arguments: ArraySlice<String>) throws(ParseError) -> Command {
        var arguments = arguments
        switch name {
        case "socket":
            guard let word = arguments.popFirst(), let kind = StepSocketKind(rawValue: word.lowercased()) else {
                throw labUsage("socket", "needs a kind: tcp, tcp6, udp, udp6 or unix")
            }
            try expectNothingMore(arguments, "socket")
            return .step(.socket(kind))
        case "bind":
            let id = try stepID(&arguments, "bind")
            guard let text = arguments.popFirst() else { throw labUsage("bind", "needs an address: bind \(id) 127.0.0.1:9000") }
            let endpoint = try parseEndpoint(text, listening: true)
            try expectNothingMore(arguments, "bind")
            return .step(.bind(id, endpoint))
        case "recv":
            let id = try stepID(&arguments, "recv")
            // The default is also the most: `recv S1` prints back as `recv S1 4096`, which must parse.
            var limit = StepCall.recvDefaultBytes
            if let text = arguments.popFirst() {
                guard let value = Int(text), value > 0, value <= StepCall.recvDefaultBytes else {
                    throw labUsage("recv", "N must be a byte count from 1 to \(StepCall.recvDefaultBytes)")
                }
                limit = value
            }
            try expectNothingMore(arguments, "recv")
            return .step(.recv(id, maxBytes: limit))
        case "accept":
            var target: SocketID?
            if let text = arguments.popFirst() {
                guard let id = SocketID(parsing: text) else { throw labUsage("accept", "'\(text)' is not a socket id") }
                target = id
            }
            try expectNothingMore(arguments, "accept")
            return .accept(target: target)
        default:  // sys, system
            guard let word = arguments.popFirst() else { return .system(.toggle) }
            switch word.lowercased() {
            case "on", "show": try expectNothingMore(arguments, "sys"); return .system(.show)
            case "off", "hide": try expectNothingMore(arguments, "sys"); return .system(.hide)
            case "sort":
                guard let text = arguments.popFirst(), let order = SystemSort(rawValue: text.lowercased()) else {
                    throw labUsage("sys", "sort takes " + SystemSort.allCases.map(\.rawValue).joined(separator: ", "))
                }
                try expectNothingMore(arguments, "sys")
                return .system(.sort(order))
            case "filter":
                let text = arguments.joined(separator: " ")
                return .system(.filter(text.isEmpty ? nil : text))
            default:
                throw labUsage("sys", "unknown word '\(word)'; try sys, sys off, sys filter TEXT, sys sort state")
            }
        }
    }

    private static func stepID(_ arguments: inout ArraySlice<String>, _ command: String) throws(ParseError) -> SocketID {
        guard let text = arguments.popFirst(), let id = SocketID(parsing: text) else {
            throw labUsage(command, "needs a socket id first (socket tcp makes S1)")
        }
        return id
    }

    private static func expectNothingMore(_ arguments: ArraySlice<String>, _ command: String) throws(ParseError) {
        if let extra = arguments.first { throw labUsage(command, "unexpected '\(extra)'") }
    }

    private static func labUsage(_ command: String, _ problem: String) -> ParseError {
        let usage = CommandCatalog.spec(named: command)?.usage ?? command
        return ParseError("\(command): \(problem); usage: \(usage)")
    }
}
