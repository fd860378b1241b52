/// `starttls`: upgrading a plain connection to TLS in place, and the upgrade dialogues of the
/// protocols that have one. The dialogue is pure (bytes in, what to do out); the engine's
/// `StartTLSNegotiator` carries it out on the connection, so every line of it is counted and
/// logged like any other traffic.

/// A protocol whose own words ask for TLS on a connection already open.
public enum StartTLSProtocol: String, Hashable, Sendable, CaseIterable {
    case smtp, imap, pop3, ftp, xmpp, postgres, ldap

    /// What sockscope says and waits for, in one line (for `help starttls`).
    public var dialogue: String {
        switch self {
        case .smtp: "smtp: greeting 220, EHLO, STARTTLS among the 250 lines, STARTTLS, 220"
        case .imap: "imap: greeting * OK, a001 STARTTLS, a001 OK"
        case .pop3: "pop3: greeting +OK, STLS, +OK"
        case .ftp: "ftp: greeting 220, AUTH TLS, 234"
        case .xmpp: "xmpp: stream header, <starttls/> among the stream features, <starttls/>, <proceed/>"
        case .postgres: "postgres: SSLRequest (8 bytes), S"
        case .ldap: "ldap: the StartTLS extended request (OID 1.3.6.1.4.1.1466.20037), resultCode 0"
        }
    }
}

/// `starttls [ID] [PROTOCOL] [TLS options]`.
public struct StartTLSRequest: Hashable, Sendable {
    public var socket: SocketID
    /// Nil: the handshake starts at once (the user spoke the dialogue by hand).
    public var dialogue: StartTLSProtocol?
    public var tls: TLSClientOptions
    /// The name the server's certificate must carry (and SNI): the host the connection was
    /// made to, as written.
    public var host: String

    public init(socket: SocketID, dialogue: StartTLSProtocol?, tls: TLSClientOptions, host: String) {
        self.socket = socket
        self.dialogue = dialogue
        self.tls = tls
        self.host = host
    }
}

/// One protocol's upgrade dialogue, as a client: what to send first, then, for what the
/// server says, what to send next, when to start the handshake, or why the upgrade failed.
public struct StartTLSDialogue: Sendable {
    public enum Step: Hashable, Sendable {
        /// Nothing to do until more arrives.
        case wait
        case send([UInt8])
        /// The server agreed: start the TLS handshake now.
        case upgrade
        /// The server refused or said something else; the reason quotes it (escaped).
        case fail(String)
    }

    public let dialogue: StartTLSProtocol
    private let host: String
    /// What arrived and is not consumed yet.
    private var pending: [UInt8] = []
    private var phase = 0
    /// SMTP: whether the EHLO answer listed STARTTLS.
    private var offered = false

    /// `greetingSeen`: the server has already said something on this connection (its greeting
    /// came in before `starttls`, or the user talked to it): the dialogue starts with the
    /// request rather than waiting for a greeting that will not come again.
    public init(_ dialogue: StartTLSProtocol, host: String, greetingSeen: Bool = false) {
        self.dialogue = dialogue
        self.host = host
        if greetingSeen, Self.greetsFirst(dialogue) { phase = 1 }
    }

    /// SMTP, IMAP, POP3 and FTP servers speak first; the others wait for the client.
    static func greetsFirst(_ dialogue: StartTLSProtocol) -> Bool {
        switch dialogue {
        case .smtp, .imap, .pop3, .ftp: true
        case .xmpp, .postgres, .ldap: false
        }
    }

    /// Bytes that arrived after the server's go-ahead: a server must wait for our
    /// ClientHello, and plaintext passed on as if it were protected is the STARTTLS command
    /// injection flaw (CVE-2011-0411), so the upgrade refuses them.
    public var leftover: Int { pending.count }

    /// What the client says before the server has said anything (nil: it waits for a greeting).
    public func opening() -> [UInt8]? {
        switch dialogue {
        case .smtp, .imap, .pop3, .ftp:
            // After a greeting already seen, the first request (phase 1 waits for its answer).
            guard phase == 1 else { return nil }
            return Array((Self.firstRequest[dialogue]! + "\r\n").utf8)
        case .xmpp:
            return Array(("<?xml version='1.0'?><stream:stream to='\(Self.xmlEscaped(host))' xmlns='jabber:client'"
                          + " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>").utf8)
        case .postgres: return [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        case .ldap: return Self.ldapStartTLS
        }
    }

    /// Takes what the server sent; returns what to do. Call again with `[]` after `.send`
    /// while lines may still be waiting (a server that sent several at once).
    public mutating func feed(_ bytes: [UInt8]) -> Step {
        pending += bytes
        switch dialogue {
        case .smtp: return smtp()
        case .ftp: return ftp()
        case .imap: return imap()
        case .pop3: return pop3()
        case .xmpp: return xmpp()
        case .postgres: return postgres()
        case .ldap: return ldap()
        }
    }

    // MARK: Line protocols

    /// The next whole line (CRLF or LF), without its ending; nil until one is whole.
    private mutating func nextLine() -> String? {
        guard let newline = pending.firstIndex(of: 0x0A) else { return nil }
        var line = Array(pending[..<newline])
        if line.last == 0x0D { line.removeLast() }
        pending.removeFirst(newline + 1)
        return String(decoding: line, as: UTF8.self)
    }

    /// A reply line of SMTP/FTP: its code, and whether it is the last of its reply (`250 `, not `250-`).
    private static func reply(_ line: String) -> (code: Int, isFinal: Bool)? {
        let characters = Array(line.utf8)
        guard characters.count >= 3, let code = Int(String(decoding: characters[0..<3], as: UTF8.self)) else { return nil }
        return (code, characters.count == 3 || characters[3] != UInt8(ascii: "-"))
    }

    private static func refused(_ what: String, _ line: String) -> Step {
        .fail("\(what): \(DisplayText.escape(string: String(line.prefix(200))))")
    }

    private static func crlf(_ text: String) -> Step { .send(Array((text + "\r\n").utf8)) }

    /// What a greeting-first protocol sends once greeted.
    private static let firstRequest: [StartTLSProtocol: String] = [
        .smtp: "EHLO sockscope", .imap: "a001 STARTTLS", .pop3: "STLS", .ftp: "AUTH TLS",
    ]

    private mutating func smtp() -> Step {
        while let line = nextLine() {
            guard let reply = Self.reply(line) else { return Self.refused("not an SMTP reply", line) }
            switch phase {
            case 0:
                guard reply.code == 220 else { return Self.refused("the server's greeting is not 220", line) }
                guard reply.isFinal else { continue }
                phase = 1
                return Self.crlf(Self.firstRequest[.smtp]!)
            case 1:
                guard reply.code == 250 else { return Self.refused("EHLO refused", line) }
                if line.dropFirst(4).uppercased().hasPrefix("STARTTLS") { offered = true }
                guard reply.isFinal else { continue }
                guard offered else { return .fail("the server does not offer STARTTLS (not among its EHLO answer's lines)") }
                phase = 2
                return Self.crlf("STARTTLS")
            default:
                guard reply.isFinal else { continue }
                return reply.code == 220 ? .upgrade : Self.refused("STARTTLS refused", line)
            }
        }
        return .wait
    }

    private mutating func ftp() -> Step {
        while let line = nextLine() {
            guard let reply = Self.reply(line) else { continue }  // the inner lines of a multi-line reply
            guard reply.isFinal else { continue }
            if phase == 0 {
                guard reply.code == 220 else { return Self.refused("the server's greeting is not 220", line) }
                phase = 1
                return Self.crlf(Self.firstRequest[.ftp]!)
            }
            return reply.code == 234 ? .upgrade : Self.refused("AUTH TLS refused", line)
        }
        return .wait
    }

    private mutating func imap() -> Step {
        while let line = nextLine() {
            if phase == 0 {
                guard line.uppercased().hasPrefix("* OK") else { return Self.refused("the server's greeting is not * OK", line) }
                phase = 1
                return Self.crlf(Self.firstRequest[.imap]!)
            }
            guard line.hasPrefix("a001 ") else { continue }  // untagged lines (* CAPABILITY ...)
            return line.uppercased().hasPrefix("A001 OK") ? .upgrade : Self.refused("STARTTLS refused", line)
        }
        return .wait
    }

    private mutating func pop3() -> Step {
        while let line = nextLine() {
            guard line.hasPrefix("+OK") else {
                return Self.refused(phase == 0 ? "the server's greeting is not +OK" : "STLS refused", line)
            }
            if phase == 1 { return .upgrade }
            phase = 1
            return Self.crlf(Self.firstRequest[.pop3]!)
        }
        return .wait
    }

    // MARK: XMPP, PostgreSQL, LDAP

    private mutating func xmpp() -> Step {
        func find(_ text: String, from start: Int = 0) -> Range<Int>? {
            pending[start...].firstRange(of: Array(text.utf8))
        }
        if find("<stream:error") != nil || find("<failure") != nil {
            return Self.refused("the server refused", String(decoding: pending, as: UTF8.self))
        }
        if phase == 0 {
            guard let end = find("</stream:features>") ?? find("<stream:features/>") else { return .wait }
            guard pending[..<end.upperBound].firstRange(of: Array("<starttls".utf8)) != nil else {
                return .fail("the server does not offer STARTTLS (no <starttls/> among its stream features)")
            }
            pending.removeFirst(end.upperBound)
            phase = 1
            return .send(Array("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".utf8))
        }
        guard let start = find("<proceed"),
              let close = find("/>", from: start.upperBound) ?? find("</proceed>", from: start.upperBound) else { return .wait }
        pending.removeFirst(close.upperBound)
        return .upgrade
    }

    private mutating func postgres() -> Step {
        guard let answer = pending.first else { return .wait }
        pending.removeFirst()
        switch answer {
        case UInt8(ascii: "S"): return .upgrade
        case UInt8(ascii: "N"): return .fail("the server does not accept SSL (it answered N to SSLRequest)")
        default: return .fail("not a PostgreSQL answer to SSLRequest (first byte 0x\(String(answer, radix: 16)))")
        }
    }

    /// `ExtendedRequest` for StartTLS, message id 1 (RFC 4511 4.14.1): a SEQUENCE of the id
    /// and `[APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" }`.
    static let ldapStartTLS: [UInt8] = {
        let oid = Array("1.3.6.1.4.1.1466.20037".utf8)
        let request: [UInt8] = [0x77, UInt8(oid.count + 2), 0x80, UInt8(oid.count)] + oid
        let body: [UInt8] = [0x02, 0x01, 0x01] + request
        return [0x30, UInt8(body.count)] + body
    }()

    private static let ldapResults: [Int: String] = [
        1: "operationsError", 2: "protocolError", 52: "unavailable", 53: "unwillingToPerform",
    ]

    private mutating func ldap() -> Step {
        // One LDAPMessage: SEQUENCE, BER length (short or long form).
        guard pending.count >= 2 else { return .wait }
        guard pending[0] == 0x30 else { return .fail("not an LDAP message (first byte 0x\(String(pending[0], radix: 16)))") }
        var offset = 2
        var length = Int(pending[1])
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count <= 4 else { return .fail("an LDAP message with a length of \(count) bytes") }
            guard pending.count >= 2 + count else { return .wait }
            length = pending[2..<(2 + count)].reduce(0) { $0 << 8 | Int($1) }
            offset += count
        }
        guard pending.count >= offset + length else { return .wait }
        let message = Array(pending[offset..<(offset + length)])
        pending.removeFirst(offset + length)
        // The ExtendedResponse ([APPLICATION 24]) starts with its resultCode, an ENUMERATED.
        guard let tag = message.firstIndex(of: 0x78), let code = message[tag...].firstIndex(of: 0x0A),
              code + 2 < message.count, message[code + 1] == 1 else {
            return .fail("the LDAP server's answer is not an ExtendedResponse")
        }
        let result = Int(message[code + 2])
        return result == 0 ? .upgrade
            : .fail("StartTLS refused: resultCode \(result)" + (Self.ldapResults[result].map { " (\($0))" } ?? ""))
    }

    private static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "'": out += "&apos;"
            case "<": out += "&lt;"
            default: out.append(character)
            }
        }
        return out
    }
}
