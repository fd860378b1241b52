/// Writes a `Command` back as a line of the command language: what the parser
/// reads, it can print, and `parse(print(c)) == c` (checked by property tests).
public enum CommandText {
    public static func line(for command: Command) -> String {
        switch command {
        case .listen(let request):
            var words = ["listen", argument(TLSCommandText.endpoint(request.endpoint, tls: request.tls != nil))]
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
            if request.reuseAddress { words.append("--reuseaddr") }
            if request.reusePort { words.append("--reuseport") }
            if let tls = request.tls { words += TLSCommandText.options(tls) }
            words += policyWords(request.policy)
            if let rules = request.rulesFile { words += ["--rules", argument(rules)] }
            return words.joined(separator: " ")
        case .relay(let request):
            var words = ["relay", argument(TLSCommandText.endpoint(request.listen.endpoint, tls: request.listen.tls != nil)),
                         argument(request.targetText)]
            if request.listen.backlog != ListenRequest.defaultBacklog { words += ["--backlog", String(request.listen.backlog)] }
            if request.listen.replaceStale { words.append("--replace") }
            if request.listen.isPublic { words.append("--public") }
            words += policyWords(request.listen.policy)
            words += TLSCommandText.relayOptions(listen: request.listen.tls, target: request.targetTLS)
            return words.joined(separator: " ")
        case .toxic(let target, let command):
            switch command {
            case .list: return withTarget("toxic", target, ["list"])
            case .remove(let name): return withTarget("toxic", target, ["remove", argument(name)])
            case .add(let toxic):
                var words = ["add", toxic.effect.kind] + toxic.effect.parameters.map(String.init)
                if toxic.direction != .down { words += ["--dir", toxic.direction.rawValue] }
                if toxic.name != Toxic(effect: toxic.effect, direction: toxic.direction).name { words += ["--name", argument(toxic.name)] }
                if toxic.toxicity < 1 { words += ["--toxicity", Toxic.text(toxicity: toxic.toxicity)] }
                return withTarget("toxic", target, words)
            }
        case .relaySwitch(let target, let change):
            return withTarget("relay", target, [change.rawValue])
        case .hold(let target, let command):
            switch command {
            case .hold(let direction, let framing):
                return withTarget("hold", target, [direction.rawValue] + (framing == .raw ? [] : ["--frame", framing.rawValue]))
            case .forward(let count), .drop(let count):
                return withTarget(command.verb, target, count == 1 ? [] : [String(count)])
            case .edit(let bytes):
                return withTarget("edit", target, [quoted(bytes)])
            case .release:
                return withTarget("release", target, [])
            }
        case .connect(let request):
            var words = ["connect", argument(TLSCommandText.endpoint(request.endpoint, tls: request.tls != nil))]
            if let bind = request.bind { words += ["--bind", bind.description] }
            if let tls = request.tls { words += TLSCommandText.options(tls) }
            if let timeout = request.timeoutMilliseconds { words += ["--timeout", "\(Double(timeout) / 1000)"] }
            return words.joined(separator: " ")
        case .shutdown(let target, let direction):
            return withTarget("shutdown", target, [direction.rawValue])
        case .reset(let target):
            return withTarget("reset", target, [])
        case .startTLS(let target, let dialogue, let tls):
            return withTarget("starttls", target, (dialogue.map { [$0.rawValue] } ?? []) + TLSCommandText.options(tls))
        case .sendTo(let target, let destination, let bytes):
            let address = switch destination {
            case .inet(.icmp, let host, _): argument(host)
            case .inet(_, let host, let port): argument(AddressText.hostPort(host, port))
            case .unix(let path), .unixDatagram(let path): argument("unix:" + path)
            }
            return withTarget("sendto", target, [address, quoted(bytes)])
        case .sendFile(let target, let path):
            return withTarget("sendfile", target, [argument(path)])
        case .setOption(let target, let option, let value):
            return withTarget("set", target, [option.rawValue, String(value)])
        case .getOption(let target, let option):
            return withTarget("get", target, [option.rawValue])
        case .resolve(let host):
            return "resolve \(argument(host))"
        case .explain(let topic):
            return "explain \(argument(topic))"
        case .send(let target, let bytes):
            return (["send"] + (target.map { [$0.description] } ?? []) + [quoted(bytes)]).joined(separator: " ")
        case .close(let target):
            return (["close"] + (target.map { [$0.description] } ?? [])).joined(separator: " ")
        case .setLineEnding(let target, let ending):
            return (["set"] + (target.map { [$0.description] } ?? []) + ["eol", ending.rawValue]).joined(separator: " ")
        case .save(let path, let format):
            // The flag only when the path's extension would choose otherwise: a path ending
            // in a backslash must come last (the backslash would take the next space).
            let implied = LogFormat.implied(by: path)
            return "save \(argument(path))" + (format == implied ? "" : " --\(format.rawValue)")
        case .help(let topic):
            return topic.map { "help \(argument($0))" } ?? "help"
        case .quit:
            return "quit"
        case .step(let call):
            return StepCallText.line(for: call)
        case .accept(let target):
            return withTarget("accept", target, [])
        case .system(let command):
            return StepCallText.line(for: command)
        case .clearClosed:
            return "clear closed"
        case .forgetClosed(let milliseconds):
            return "clear closed --after " + (milliseconds.map { "\(Double($0) / 1000)" } ?? "off")
        case .expect(let target, let condition, let timeout):
            var words = ["expect"] + (target.map { [$0.description] } ?? []) + [condition.text]
            if timeout != ExpectCondition.defaultTimeoutMilliseconds { words += ["--timeout", "\(Double(timeout) / 1000)"] }
            return words.joined(separator: " ")
        case .sleep(let milliseconds):
            return "sleep \(milliseconds)"
        case .every(let milliseconds, let count, let target, let bytes):
            var words = ["every", String(milliseconds)]
            if let count { words += ["--count", String(count)] }
            return (words + ["send"] + (target.map { [$0.description] } ?? []) + [quoted(bytes)]).joined(separator: " ")
        case .stop(let number):
            return number.map { "stop \($0)" } ?? "stop"
        case .rule(let owner, let command):
            let words = ["rule"] + (owner.map { [$0.description] } ?? [])
            switch command {
            case .add(let rule): return (words + [rule.text]).joined(separator: " ")
            case .list: return (words + ["list"]).joined(separator: " ")
            case .remove(let number): return (words + ["remove", String(number)]).joined(separator: " ")
            }
        case .scan(let request):
            var words = ["scan", argument(request.host), request.ports.description]
            if request.timeoutMilliseconds != ScanRequest.defaultTimeoutMilliseconds {
                words += ["--timeout", String(request.timeoutMilliseconds)]
            }
            if let concurrency = request.concurrency { words += ["--concurrency", String(concurrency)] }
            if let wait = request.bannerWaitMilliseconds {
                words += wait == ScanRequest.defaultBannerWaitMilliseconds ? ["--banner"] : ["--banner-wait", String(wait)]
            }
            return words.joined(separator: " ")
        case .scanStop:
            return "scan stop"
        case .ping(let request):
            var words = ["ping", argument(request.host)]
            if request.count != PingRequest.defaultCount { words += ["--count", String(request.count)] }
            if request.intervalMilliseconds != PingRequest.defaultIntervalMilliseconds {
                words += ["--interval", String(request.intervalMilliseconds)]
            }
            if request.timeoutMilliseconds != PingRequest.defaultTimeoutMilliseconds {
                words += ["--timeout", String(request.timeoutMilliseconds)]
            }
            return words.joined(separator: " ")
        case .pingStop:
            return "ping stop"
        case .lab(let name):
            return "lab " + (name?.rawValue ?? "list")
        case .tour(let command):
            switch command {
            case .start(nil): return "tour"
            case .start(let index?): return "tour \(index + 1)"
            case .list: return "tour list"
            case .next: return "tour next"
            case .back: return "tour back"
            case .quit: return "tour quit"
            }
        case .capture(.off):
            return "capture off"
        case .capture(.on(let path, let maxBytes)):
            return (["capture", "on"] + (path.map { [argument($0)] } ?? []) + (maxBytes.map { ["--max", ByteCount.sizeWord($0)] } ?? []))
                .joined(separator: " ")
        case .replay(let request):
            return (["replay", request.source.description] + (request.destination.map { ["to", argument($0.description)] } ?? [])
                + (request.keepsTiming ? ["--timing"] : [])).joined(separator: " ")
        }
    }

    /// A listener's access control as options (listen and relay).
    private static func policyWords(_ policy: ListenerPolicy) -> [String] {
        var words: [String] = []
        for range in policy.allow { words += ["--allow", range.description] }
        for range in policy.deny { words += ["--deny", range.description] }
        if let max = policy.maxConnections { words += ["--max-conns", String(max)] }
        if let idle = policy.idleTimeoutMilliseconds { words += ["--idle-timeout", "\(Double(idle) / 1000)"] }
        return words
    }

    private static func withTarget(_ verb: String, _ target: SocketID?, _ rest: [String]) -> String {
        ([verb] + (target.map { [$0.description] } ?? []) + rest).joined(separator: " ")
    }

    /// A word taken as written (a path, a name), spelled so the tokenizer gives it back:
    /// it keeps a backslash and the scalar after it as written, so `\X` stays itself; a
    /// space or a quote is wrapped in the other kind of quote (quoted pieces join the word).
    /// A backslash ending the word takes the next space, so such a word must end the line.
    static func argument(_ text: String) -> String {
        if text.isEmpty { return "\"\"" }
        // A path with spaces reads best quoted whole; inside quotes a backslash still keeps
        // the scalar after it, so only a closing quote or a final backslash would change it.
        if text.unicodeScalars.contains(where: \.properties.isWhitespace), !text.contains("\""), !text.hasSuffix("\\") {
            return "\"" + text + "\""
        }
        var out = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar {
            case "\\":
                out.append(scalar)
                if let next = scalars.next() { out.append(next) }
            case "\"":
                out.append(contentsOf: "'\"'".unicodeScalars)
            case "'":
                out.append(contentsOf: "\"'\"".unicodeScalars)
            case _ where scalar.properties.isWhitespace:
                out.append("\"")
                out.append(scalar)
                out.append("\"")
            default:
                out.append(scalar)
            }
        }
        return String(out)
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
