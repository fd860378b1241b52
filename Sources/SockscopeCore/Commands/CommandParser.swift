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
        // A command that takes /regexes/ is split with them in mind from the start: a quote
        // inside a regex is the regex's.
        let name = line.drop { $0.isWhitespace }.prefix { !$0.isWhitespace }
        let readingRegexes = CommandCatalog.spec(named: String(name))?.takesPatterns ?? false
        let words = try words(line, readingRegexes: readingRegexes)
        guard let first = words.first else { return nil }
        guard let spec = CommandCatalog.spec(named: first.text) else {
            let known = CommandCatalog.specs.map(\.name).joined(separator: ", ")
            throw ParseError("unknown command '\(first.text)'; commands: \(known) (help COMMAND explains one)")
        }
        var arguments = CommandArguments(spec: spec, words: words.dropFirst())
        return try spec.parse(&arguments)
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

    /// Parses `tcp://HOST:PORT`, `udp://HOST:PORT`, `unix:PATH`, `HOST:PORT`, `:PORT` or `PORT`.
    /// A missing host means 127.0.0.1: nothing is exposed unless the user names an address.
    /// An IP address or name written without a port (`127.0.0.1`, `::1`, `[::1]`, `localhost`),
    /// as ICMP takes it; nil for anything with a port, a scheme, or a bare port number.
    public static func bareHost(_ text: String) -> String? {
        guard !text.isEmpty, !text.contains("://"), !text.hasPrefix("@"), !text.lowercased().hasPrefix("unix") else { return nil }
        let host = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        // Names and IP literals only (a zone as in fe80::1%lo); a bare number is a port.
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:%".contains($0)) }),
              !host.allSatisfy({ $0.isNumber }) else { return nil }
        let colons = host.filter { $0 == ":" }.count
        // One colon is HOST:PORT; two or more can only be an IPv6 address.
        return colons == 0 || colons >= 2 ? host : nil
    }

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
            throw ParseError("unknown scheme in '\(text)'; use tcp://, udp://, tls://, unix: or unixgram:")
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
        try words(line).map(\.text)
    }

    /// The words of a line, each marked when any part of it was quoted.
    /// `readingRegexes`: a word that starts with an unquoted `/` runs to the next `/` not
    /// escaped by a backslash, spaces and quotes included, and is a regex (`/GET (.*) HTTP/`);
    /// only for commands that take patterns, so paths elsewhere stay words.
    static func words(_ line: String, readingRegexes: Bool = false) throws(ParseError) -> [CommandWord] {
        // Scalars, not Characters: a combining mark after a quote must not hide the quote.
        var tokens: [CommandWord] = []
        var quoted = false
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
            } else if readingRegexes, !inToken, scalar == "/" {
                var pattern = String.UnicodeScalarView()
                var closed = false
                while let next = iterator.next() {
                    if next == "/" {
                        closed = true
                        break
                    }
                    pattern.append(next)
                    if next == "\\", let escaped = iterator.next() { pattern.append(escaped) }
                }
                guard closed else { throw ParseError("unclosed regex: end it with /, as in /GET (.*)/") }
                guard let after = iterator.next() else {
                    tokens.append(CommandWord(text: String(pattern), quoted: false, isRegex: true))
                    break
                }
                guard after.properties.isWhitespace else {
                    throw ParseError("a /regex/ ends at its closing / followed by a space (write \\/ for a slash in it)")
                }
                tokens.append(CommandWord(text: String(pattern), quoted: false, isRegex: true))
            } else if scalar == "\"" || scalar == "'" {
                quote = scalar
                quoted = true
                inToken = true
            } else if scalar.properties.isWhitespace {
                if inToken { tokens.append(CommandWord(text: String(current), quoted: quoted)) }
                current = String.UnicodeScalarView()
                inToken = false
                quoted = false
            } else {
                current.append(scalar)
                inToken = true
                if scalar == "\\", let next = iterator.next() { current.append(next) }
            }
        }
        if let quote { throw ParseError("unclosed quote: add a closing \(quote)") }
        if inToken { tokens.append(CommandWord(text: String(current), quoted: quoted)) }
        return tokens
    }
}
