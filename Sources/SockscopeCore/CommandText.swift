/// Writes a `Command` back as a line of the command language: what the parser
/// reads, it can print, and `parse(print(c)) == c` (checked by property tests).
public enum CommandText {
    public static func line(for command: Command) -> String {
        switch command {
        case .listen(let request):
            var words = ["listen", word(request.endpoint.description)]
            switch request.mode {
            case .interactive: break
            case .echo: words.append("--echo")
            case .discard: words.append("--discard")
            case .reply(let bytes): words += ["--reply", quoted(bytes)]
            }
            if request.backlog != ListenRequest.defaultBacklog { words += ["--backlog", String(request.backlog)] }
            if request.replaceStale { words.append("--replace") }
            if request.isPublic { words.append("--public") }
            if request.manualAccept { words.append("--manual-accept") }
            for range in request.policy.allow { words += ["--allow", range.description] }
            for range in request.policy.deny { words += ["--deny", range.description] }
            if let max = request.policy.maxConnections { words += ["--max-conns", String(max)] }
            if let idle = request.policy.idleTimeoutMilliseconds { words += ["--idle-timeout", "\(Double(idle) / 1000)"] }
            return words.joined(separator: " ")
        case .connect(let request):
            var words = ["connect", word(request.endpoint.description)]
            if let bind = request.bind { words += ["--bind", bind.description] }
            if let timeout = request.timeoutMilliseconds { words += ["--timeout", "\(Double(timeout) / 1000)"] }
            return words.joined(separator: " ")
        case .shutdown(let target, let direction):
            return withTarget("shutdown", target, [direction.rawValue])
        case .reset(let target):
            return withTarget("reset", target, [])
        case .sendTo(let target, let host, let port, let bytes):
            return withTarget("sendto", target, [AddressText.hostPort(host, port), quoted(bytes)])
        case .sendFile(let target, let path):
            return withTarget("sendfile", target, [word(path)])
        case .setOption(let target, let option, let value):
            return withTarget("set", target, [option.rawValue, String(value)])
        case .getOption(let target, let option):
            return withTarget("get", target, [option.rawValue])
        case .resolve(let host):
            return "resolve \(word(host))"
        case .explain(let topic):
            return "explain \(word(topic))"
        case .send(let target, let bytes):
            return (["send"] + (target.map { [$0.description] } ?? []) + [quoted(bytes)]).joined(separator: " ")
        case .close(let target):
            return (["close"] + (target.map { [$0.description] } ?? [])).joined(separator: " ")
        case .setLineEnding(let target, let ending):
            return (["set"] + (target.map { [$0.description] } ?? []) + ["eol", ending.rawValue]).joined(separator: " ")
        case .save(let path, let format):
            return "save \(word(path)) --\(format.rawValue)"
        case .help(let topic):
            return topic.map { "help \(word($0))" } ?? "help"
        case .quit:
            return "quit"
        case .step(let call):
            return StepCallText.line(for: call)
        case .accept(let target):
            return withTarget("accept", target, [])
        case .system(let command):
            return StepCallText.line(for: command)
        }
    }

    private static func withTarget(_ verb: String, _ target: SocketID?, _ rest: [String]) -> String {
        ([verb] + (target.map { [$0.description] } ?? []) + rest).joined(separator: " ")
    }

    /// A path, name or endpoint as one word the parser reads back unchanged: quoted when it
    /// holds spaces or quotes. (A word holding both kinds of quote cannot be typed at all.)
    public static func word(_ text: String) -> String {
        let plain = !text.isEmpty && !text.unicodeScalars.contains {
            $0.properties.isWhitespace || $0 == "\"" || $0 == "'"
        }
        if plain { return text }
        return text.contains("\"") ? "'\(text)'" : "\"\(text)\""
    }

    /// Bytes as a quoted, escaped text argument.
    public static func quoted(_ bytes: [UInt8]) -> String {
        // Inside quotes a bare `"` would end the argument (scalars: a quote may carry a combining mark).
        var text = String.UnicodeScalarView()
        for scalar in DisplayText.escape(bytes).unicodeScalars {
            if scalar == "\"" { text.append("\\") }
            text.append(scalar)
        }
        return "\"\(String(text))\""
    }
}
