/// Parses one line of the command language into a `Command`, or says plainly
/// what is wrong and what would be right.
public enum CommandParser {
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public let message: String
        /// Messages quote what was typed: its control characters are shown escaped, so an
        /// error is always one safe line (a pasted newline or ESC cannot break it).
        public init(_ message: String) { self.message = DisplayText.escape(string: message, backslashes: false) }
        public var description: String { message }
    }

    public static func parse(_ line: String) throws(ParseError) -> Command? {
        let tokens = try tokenize(line)
        guard let first = tokens.first else { return nil }
        let name = first.lowercased()
        var arguments = Array(tokens.dropFirst())[...]
        switch name {
        case "listen", "l":
            if let step = try parseStepForm(name: "listen", arguments) { return step }
            return try parseListen(&arguments)
        case "socket", "bind", "accept", "recv", "sys", "system":
            return try parseLab(name: name, arguments)
        case "connect", "c":
            if let step = try parseStepForm(name: "connect", arguments) { return step }
            guard let target = arguments.popFirst() else { throw usage("connect", "needs an endpoint") }
            var request = ConnectRequest(endpoint: try parseEndpoint(target, listening: false))
            while let option = arguments.popFirst() {
                switch option.lowercased() {
                case "--bind":
                    guard let text = arguments.popFirst() else { throw usage("connect", "--bind needs HOST:PORT") }
                    guard case .inet(_, let host, let port) = try parseEndpoint(text, listening: true) else {
                        throw usage("connect", "--bind takes HOST:PORT")
                    }
                    request.bind = LocalAddress(host: host, port: port)
                case "--timeout":
                    guard let text = arguments.popFirst(), let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                        throw usage("connect", "--timeout needs seconds from 0.001 to 3600")
                    }
                    request.timeoutMilliseconds = max(1, Int(seconds * 1000))
                default:
                    throw usage("connect", "unknown option '\(option)'")
                }
            }
            return .connect(request)
        case "send", "s":
            var target: SocketID?
            if arguments.count > 1, let id = SocketID(parsing: arguments.first!) {
                target = id
                arguments = arguments.dropFirst()
            }
            guard !arguments.isEmpty else { throw usage("send", "needs text to send") }
            let text = arguments.joined(separator: " ")
            do {
                return .send(target: target, bytes: try EscapedText.decode(text))
            } catch {
                throw ParseError("send: \(error.message)")
            }
        case "shutdown":
            let target = optionalID(&arguments)
            guard let word = arguments.popFirst(), let direction = ShutdownDirection(rawValue: word.lowercased()) else {
                throw usage("shutdown", "needs a direction: read, write or both")
            }
            try expectEnd(arguments, "shutdown")
            return .shutdown(target: target, direction)
        case "reset":
            let target = optionalID(&arguments)
            try expectEnd(arguments, "reset")
            return .reset(target: target)
        case "sendto":
            let target = optionalID(&arguments)
            guard let address = arguments.popFirst() else { throw usage("sendto", "needs HOST:PORT or unix:PATH") }
            let destination: Endpoint
            switch try parseEndpoint(address.hasPrefix("@") ? "unix:" + address : address, listening: false) {
            case .inet(_, let host, let port): destination = .inet(.udp, host: host, port: port)
            // Only datagram sockets send to an address: unix: and unixgram: both name one.
            case .unix(let path), .unixDatagram(let path): destination = .unixDatagram(path: path)
            }
            guard !arguments.isEmpty else { throw usage("sendto", "needs text to send") }
            do {
                return .sendTo(target: target, destination: destination,
                               bytes: try EscapedText.decode(arguments.joined(separator: " ")))
            } catch {
                throw ParseError("sendto: \(error.message)")
            }
        case "sendhex":
            var target: SocketID?
            if arguments.count > 1, let id = SocketID(parsing: arguments.first!) {
                target = id
                arguments = arguments.dropFirst()
            }
            guard !arguments.isEmpty else { throw usage("sendhex", "needs hex bytes, as in sendhex \"de ad be ef\"") }
            return .send(target: target, bytes: try HexText.decode(arguments.joined(separator: " ")))
        case "sendfile":
            var target: SocketID?
            if arguments.count > 1, let id = SocketID(parsing: arguments.first!) {
                target = id
                arguments = arguments.dropFirst()
            }
            guard let path = arguments.popFirst() else { throw usage("sendfile", "needs a file path") }
            try expectEnd(arguments, "sendfile")
            return .sendFile(target: target, path: path)
        case "get":
            let target = optionalID(&arguments)
            guard let name = arguments.popFirst() else { throw usage("get", "needs an option") }
            guard let option = SocketOptionName(rawValue: name.lowercased()) else {
                throw usage("get", "unknown option '\(name)'; options: \(SocketOptionName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try expectEnd(arguments, "get")
            return .getOption(target: target, option)
        case "resolve":
            guard let host = arguments.popFirst() else { throw usage("resolve", "needs a host name") }
            try expectEnd(arguments, "resolve")
            return .resolve(host: host)
        case "explain":
            guard let topic = arguments.popFirst() else { throw usage("explain", "needs an errno name or a TCP state") }
            try expectEnd(arguments, "explain")
            return .explain(topic)
        case "close", "x":
            var target: SocketID?
            if let token = arguments.popFirst() {
                guard let id = SocketID(parsing: token) else {
                    throw usage("close", "'\(token)' is not a socket id (ids look like L1 or C3)")
                }
                target = id
            }
            try expectEnd(arguments, "close")
            return .close(target: target)
        case "set":
            var target: SocketID?
            if let first = arguments.first, let id = SocketID(parsing: first) {
                target = id
                arguments = arguments.dropFirst()
            }
            guard let option = arguments.popFirst()?.lowercased() else { throw usage("set", "needs an option") }
            if option == "eol" {
                guard let value = arguments.popFirst(), let ending = LineEnding(rawValue: value.lowercased()) else {
                    throw usage("set", "eol takes none, lf, crlf or cr")
                }
                try expectEnd(arguments, "set")
                return .setLineEnding(target: target, ending)
            }
            guard let name = SocketOptionName(rawValue: option) else {
                throw usage("set", "unknown option '\(option)'; options: eol, \(SocketOptionName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let text = arguments.popFirst(), let value = Self.optionValue(text) else {
                throw usage("set", "\(option) needs a whole number (on/off work for flags)")
            }
            try expectEnd(arguments, "set")
            return .setOption(target: target, name, value)
        case "save":
            guard let path = arguments.popFirst() else { throw usage("save", "needs a file path") }
            var format: LogFormat = path.hasSuffix(".jsonl") || path.hasSuffix(".json") ? .json : .text
            while let option = arguments.popFirst() {
                switch option.lowercased() {
                case "--json": format = .json
                case "--text": format = .text
                default: throw usage("save", "unknown option '\(option)'")
                }
            }
            return .save(path: path, format: format)
        case "help", "?", "h":
            return .help(topic: arguments.first)
        case "quit", "q", "exit":
            return .quit
        default:
            let known = CommandCatalog.specs.map(\.name).joined(separator: ", ")
            throw ParseError("unknown command '\(first)'; commands: \(known) (help COMMAND explains one)")
        }
    }

    private static func parseListen(_ arguments: inout ArraySlice<String>) throws(ParseError) -> Command {
        guard let target = arguments.popFirst() else { throw usage("listen", "needs an endpoint, e.g. listen 9000") }
        var request = ListenRequest(endpoint: try parseEndpoint(target, listening: true))
        var modeSet = false
        func setMode(_ mode: ListenMode) throws(ParseError) {
            if modeSet { throw usage("listen", "takes only one of --echo, --reply, --discard") }
            modeSet = true
            request.mode = mode
        }
        while let option = arguments.popFirst() {
            switch option.lowercased() {
            case "--echo", "echo": try setMode(.echo)
            case "--discard", "discard": try setMode(.discard)
            case "--reply", "reply":
                guard let text = arguments.popFirst() else { throw usage("listen", "--reply needs TEXT") }
                let bytes: [UInt8]
                do { bytes = try EscapedText.decode(text) } catch { throw ParseError("listen --reply: \(error.message)") }
                try setMode(.reply(bytes))
            case "--replace":
                request.replaceStale = true
            case "--manual-accept":
                request.manualAccept = true
            case "--reuseaddr":
                request.reuseAddress = true
            case "--reuseport":
                request.reusePort = true
            case "--public":
                request.isPublic = true
            case "--allow", "--deny":
                guard let text = arguments.popFirst(), let range = AddressRange(text) else {
                    throw usage("listen", "\(option) needs an address or CIDR range, as in 10.0.0.0/8 or ::1")
                }
                if option.lowercased() == "--allow" { request.policy.allow.append(range) } else { request.policy.deny.append(range) }
            case "--max-conns":
                guard let text = arguments.popFirst(), let value = Int(text), value > 0, value <= 1_000_000 else {
                    throw usage("listen", "--max-conns needs a number from 1 to 1000000")
                }
                request.policy.maxConnections = value
            case "--idle-timeout":
                guard let text = arguments.popFirst(), let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
                    throw usage("listen", "--idle-timeout needs seconds from 0.001 to 86400")
                }
                request.policy.idleTimeoutMilliseconds = max(1, Int(seconds * 1000))
            case "--backlog":
                guard let text = arguments.popFirst(), let value = Int(text), value >= 0, value <= 65535 else {
                    throw usage("listen", "--backlog needs a number from 0 to 65535")
                }
                request.backlog = value
            default:
                throw usage("listen", "unknown option '\(option)'")
            }
        }
        if request.reuseAddress || request.reusePort {
            guard case .inet = request.endpoint, !request.manualAccept else {
                throw usage("listen", "--reuseaddr and --reuseport apply to TCP and UDP listeners (not UNIX, not --manual-accept)")
            }
        }
        return .listen(request)
    }

    /// Takes a leading socket id if there is one.
    private static func optionalID(_ arguments: inout ArraySlice<String>) -> SocketID? {
        guard let first = arguments.first, let id = SocketID(parsing: first) else { return nil }
        arguments = arguments.dropFirst()
        return id
    }

    /// `1`, `0`, `on`, `off`, `true`, `false`, or any whole number within Int32.
    static func optionValue(_ text: String) -> Int? {
        switch text.lowercased() {
        case "on", "true", "yes": return 1
        case "off", "false", "no": return 0
        default:
            guard let value = Int(text), value >= Int(Int32.min), value <= Int(Int32.max) else { return nil }
            return value
        }
    }

    private static func expectEnd(_ arguments: ArraySlice<String>, _ command: String) throws(ParseError) {
        if let extra = arguments.first { throw usage(command, "unexpected '\(extra)'") }
    }

    private static func usage(_ command: String, _ problem: String) -> ParseError {
        let usage = CommandCatalog.spec(named: command)?.usage ?? command
        return ParseError("\(command): \(problem); usage: \(usage)")
    }

    /// Parses `tcp://HOST:PORT`, `udp://HOST:PORT`, `unix:PATH`, `HOST:PORT`, `:PORT` or `PORT`.
    /// A missing host means 127.0.0.1: nothing is exposed unless the user names an address.
    public static func parseEndpoint(_ text: String, listening: Bool) throws(ParseError) -> Endpoint {
        let lowered = text.lowercased()
        if lowered.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw ParseError("unix: needs a path, as in unix:/tmp/demo.sock or unix:@name") }
            return .unix(path: path)
        }
        if lowered.hasPrefix("unixgram:") {
            let path = String(text.dropFirst(9))
            guard !path.isEmpty else { throw ParseError("unixgram: needs a path, as in unixgram:/tmp/demo.sock") }
            return .unixDatagram(path: path)
        }
        var transport = TransportProtocol.tcp
        var rest = Substring(text)
        for candidate in [TransportProtocol.tcp, .udp] where lowered.hasPrefix("\(candidate.label)://") {
            transport = candidate
            rest = rest.dropFirst(candidate.label.count + 3)
        }
        if lowered.contains("://"), rest == Substring(text) {
            throw ParseError("unknown scheme in '\(text)'; use tcp://, udp://, unix: or unixgram:")
        }
        let host: String
        let portText: Substring
        if rest.allSatisfy({ $0.isASCII && $0.isNumber }), !rest.isEmpty {
            host = ""
            portText = rest
        } else if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ParseError("missing ']' in '\(text)'") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw ParseError("'\(text)' needs a port after the address, as in [::1]:9000") }
            portText = after.dropFirst()
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            if host.contains(":") {
                throw ParseError("put IPv6 addresses in brackets, as in tcp://[::1]:9000")
            }
            portText = rest[rest.index(after: colon)...]
        } else {
            throw ParseError("'\(text)' has no port; write HOST:PORT, tcp://HOST:PORT or just a port")
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText) else {
            throw ParseError("'\(portText)' is not a port number (0 to 65535)")
        }
        guard port <= 65535 else { throw ParseError("port \(port) is out of range: ports go from 0 to 65535") }
        if !listening && port == 0 { throw ParseError("connect needs a port from 1 to 65535 (0 only makes sense for listen)") }
        return .inet(transport, host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    /// Splits a line on spaces; "..." and '...' group words. Backslash escapes are
    /// kept as written (data text decodes them later), so `\"` does not end a quote.
    public static func tokenize(_ line: String) throws(ParseError) -> [String] {
        // Scalars, not Characters: a combining mark after a quote must not hide the quote.
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        var inToken = false
        var quote: Unicode.Scalar?
        var iterator = line.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if let open = quote {
                if scalar == "\\" {
                    current.append(scalar)
                    if let next = iterator.next() { current.append(next) }
                } else if scalar == open {
                    quote = nil
                } else {
                    current.append(scalar)
                }
            } else if scalar == "\"" || scalar == "'" {
                quote = scalar
                inToken = true
            } else if scalar.properties.isWhitespace {
                if inToken { tokens.append(String(current)) }
                current = String.UnicodeScalarView()
                inToken = false
            } else {
                current.append(scalar)
                inToken = true
                if scalar == "\\", let next = iterator.next() { current.append(next) }
            }
        }
        if let quote { throw ParseError("unclosed quote: add a closing \(quote)") }
        if inToken { tokens.append(String(current)) }
        return tokens
    }
}
