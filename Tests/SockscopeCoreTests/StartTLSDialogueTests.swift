import SockscopeCore
import Testing

/// The STARTTLS dialogues as a client speaks them, fed with servers' answers split and
/// joined in the ways TCP delivers them.
@Suite struct StartTLSDialogueTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Feeds `answers` one read at a time; returns what the client sent and the last step.
    static func run(_ dialogue: inout StartTLSDialogue, _ answers: [String]) -> (sent: String, last: StartTLSDialogue.Step) {
        var sent = dialogue.opening().map { String(decoding: $0, as: UTF8.self) } ?? ""
        var last = StartTLSDialogue.Step.wait
        for answer in answers {
            last = dialogue.feed(bytes(answer))
            while case .send(let out) = last {
                sent += String(decoding: out, as: UTF8.self)
                last = dialogue.feed([])
            }
        }
        return (sent, last)
    }

    @Test func smtpWaitsForTheLastLineOfEachReplyAndNeedsSTARTTLSOffered() {
        var dialogue = StartTLSDialogue(.smtp, host: "mail.test")
        // The greeting in two pieces, multi-line, then the EHLO answer and the go-ahead in one read.
        let result = Self.run(&dialogue, ["220-mail.test ESMTP\r\n220 rea", "dy\r\n",
                                          "250-mail.test\r\n250-STARTTLS\r\n250 SIZE 1000\r\n", "220 go ahead\r\n"])
        #expect(result.sent == "EHLO sockscope\r\nSTARTTLS\r\n")
        #expect(result.last == .upgrade)
        #expect(dialogue.leftover == 0)

        var plain = StartTLSDialogue(.smtp, host: "mail.test")
        let refused = Self.run(&plain, ["220 hi\r\n", "250-mail.test\r\n250 SIZE 1000\r\n"])
        #expect(refused.last == .fail("the server does not offer STARTTLS (not among its EHLO answer's lines)"))

        var busy = StartTLSDialogue(.smtp, host: "mail.test")
        #expect(Self.run(&busy, ["554 go away\r\n"]).last == .fail("the server's greeting is not 220: 554 go away"))
    }

    @Test func aGreetingAlreadySeenStartsWithTheRequest() {
        var smtp = StartTLSDialogue(.smtp, host: "h", greetingSeen: true)
        let result = Self.run(&smtp, ["250-h\r\n250 STARTTLS\r\n", "220 ok\r\n"])
        #expect(result.sent == "EHLO sockscope\r\nSTARTTLS\r\n")
        #expect(result.last == .upgrade)
        var pop3 = StartTLSDialogue(.pop3, host: "h", greetingSeen: true)
        #expect(Self.run(&pop3, ["+OK begin\r\n"]) == ("STLS\r\n", .upgrade))
        // A server that waits for the client is not affected.
        #expect(StartTLSDialogue(.postgres, host: "h", greetingSeen: true).opening() == [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
    }

    @Test func imapPop3AndFtpSpeakTheirOwnWords() {
        var imap = StartTLSDialogue(.imap, host: "h")
        #expect(Self.run(&imap, ["* OK ready\r\n", "* CAPABILITY IMAP4rev1\r\na001 OK begin\r\n"]) == ("a001 STARTTLS\r\n", .upgrade))
        var imapNo = StartTLSDialogue(.imap, host: "h")
        #expect(Self.run(&imapNo, ["* OK ready\r\n", "a001 NO never\r\n"]).last == .fail("STARTTLS refused: a001 NO never"))
        var pop3 = StartTLSDialogue(.pop3, host: "h")
        #expect(Self.run(&pop3, ["+OK POP3\r\n", "-ERR no\r\n"]) == ("STLS\r\n", .fail("STLS refused: -ERR no")))
        var ftp = StartTLSDialogue(.ftp, host: "h")
        #expect(Self.run(&ftp, ["220-welcome\r\n  to the server\r\n220 ready\r\n", "234 AUTH TLS ok\r\n"]) == ("AUTH TLS\r\n", .upgrade))
    }

    @Test func xmppOpensTheStreamAndWaitsForProceed() {
        var xmpp = StartTLSDialogue(.xmpp, host: "chat.example")
        let result = Self.run(&xmpp, [
            "<?xml version='1.0'?><stream:stream from='chat.example' id='1' version='1.0'>",
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ])
        #expect(result.sent.hasPrefix("<?xml version='1.0'?><stream:stream to='chat.example'"))
        #expect(result.sent.hasSuffix("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
        #expect(result.last == .upgrade)
        #expect(xmpp.leftover == 0)
        var without = StartTLSDialogue(.xmpp, host: "h")
        #expect(Self.run(&without, ["<stream:features><mechanisms/></stream:features>"]).last
            == .fail("the server does not offer STARTTLS (no <starttls/> among its stream features)"))
    }

    @Test func postgresAndLDAPAnswerInBinary() {
        var postgres = StartTLSDialogue(.postgres, host: "h")
        #expect(postgres.feed([UInt8(ascii: "S")]) == .upgrade)
        var refused = StartTLSDialogue(.postgres, host: "h")
        #expect(refused.feed([UInt8(ascii: "N")]) == .fail("the server does not accept SSL (it answered N to SSLRequest)"))

        let ldap = StartTLSDialogue(.ldap, host: "h")
        // RFC 4511's ExtendedRequest for StartTLS, as ldapsearch -ZZ sends it (message id 1).
        #expect(ldap.opening() == [0x30, 0x1D, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16] + Self.bytes("1.3.6.1.4.1.1466.20037"))
        // ExtendedResponse: resultCode success, empty matchedDN and diagnosticMessage; split across reads.
        let success: [UInt8] = [0x30, 0x0C, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]
        var split = ldap
        #expect(split.feed(Array(success.prefix(5))) == .wait)
        #expect(split.feed(Array(success.dropFirst(5))) == .upgrade)
        var unwilling = ldap
        var refusal = success
        refusal[9] = 53
        #expect(unwilling.feed(refusal) == .fail("StartTLS refused: resultCode 53 (unwillingToPerform)"))
    }

    @Test func bytesAfterTheGoAheadAreCountedAsLeftover() {
        var pop3 = StartTLSDialogue(.pop3, host: "h")
        _ = Self.run(&pop3, ["+OK\r\n"])
        #expect(pop3.feed(Self.bytes("+OK go\r\n+OK injected\r\n")) == .upgrade)
        #expect(pop3.leftover == "+OK injected\r\n".utf8.count)
    }

    @Test func serverTextInAFailureIsEscaped() {
        var smtp = StartTLSDialogue(.smtp, host: "h")
        guard case .fail(let reason) = Self.run(&smtp, ["554 \u{1B}[31mred\r\n"]).last else {
            Issue.record("not a failure")
            return
        }
        #expect(!reason.contains("\u{1B}"), "\(reason)")
    }
}
