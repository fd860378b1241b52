import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `starttls` against scripted servers that speak each protocol's upgrade dialogue and then
/// TLS with Python's `ssl` (certificates from `openssl req`): the dialogue is in the traffic
/// as sent and received, the handshake is verified against the host the connection was
/// made to, and what follows is encrypted (the server echoes one line inside TLS).
@Suite("starttls", .timeLimit(.minutes(2)))
struct StartTLSTests {
    /// argv: protocol cert key [mode]. Prints `PORT n`, speaks the server's side of the
    /// dialogue, wraps the socket in TLS and echoes one line. Modes: `refuse` answers the
    /// STARTTLS request with a refusal; `inject` sends plaintext right after its go-ahead.
    static let server = #"""
        import socket, ssl, sys
        proto, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
        mode = sys.argv[4] if len(sys.argv) > 4 else "ok"
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        print("PORT %d" % srv.getsockname()[1], flush=True)
        conn, _ = srv.accept()
        conn.settimeout(20)
        reader = conn.makefile("rb")
        def line():
            got = reader.readline()
            print("GOT %r" % got, flush=True)
            return got
        go = None
        if proto == "smtp":
            conn.sendall(b"220 mail.test ESMTP ready\r\n")
            assert line().startswith(b"EHLO ")
            conn.sendall(b"250-mail.test greets you\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            assert line() == b"STARTTLS\r\n"
            go, no = b"220 2.0.0 Ready to start TLS\r\n", b"454 4.7.0 TLS not available\r\n"
        elif proto == "imap":
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
            assert line() == b"a001 STARTTLS\r\n"
            go, no = b"a001 OK Begin TLS negotiation now\r\n", b"a001 NO not today\r\n"
        elif proto == "pop3":
            conn.sendall(b"+OK POP3 ready\r\n")
            assert line() == b"STLS\r\n"
            go, no = b"+OK Begin TLS\r\n", b"-ERR not today\r\n"
        elif proto == "postgres":
            assert reader.read(8) == bytes([0, 0, 0, 8, 4, 0xD2, 0x16, 0x2F])
            go, no = b"S", b"N"
        if mode == "refuse":
            conn.sendall(no)
            print("REFUSED", flush=True)
            line()
            sys.exit(0)
        conn.sendall(go + (b"250 injected\r\n" if mode == "inject" else b""))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        try:
            tls = context.wrap_socket(conn, server_side=True)
            data = tls.recv(100)
            tls.sendall(b"tls:" + data)
            print("ECHOED %r" % data, flush=True)
            tls.unwrap()
        except Exception as error:
            print("TLS FAILED %s" % error, flush=True)
        """#

    static func start(_ dialogue: String, _ fixture: OpenSSLFixture, mode: String = "ok") async throws -> (SpawnedProcess, Int) {
        let server = try PythonPeer.run(Self.server, [dialogue, fixture.path("server.pem"), fixture.path("server.key"), mode])
        #expect(await server.waitForOutput(containing: "PORT "), "\(server.output)")
        let line = try #require(server.output.split(separator: "\n").first { $0.hasPrefix("PORT ") })
        return (server, try #require(Int(line.dropFirst(5))))
    }

    static func fixture() async throws -> OpenSSLFixture {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("server", subject: "/CN=localhost", san: "DNS:localhost")
        return fixture
    }

    static func connect(_ harness: EngineHarness, port: Int) async throws -> SocketID {
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        return try #require(answer.lazy.compactMap { kind -> SocketID? in
            if case .connected(let id, _, _) = kind { return id }
            return nil
        }.first, "\(answer)")
    }

    static func startTLS(_ harness: EngineHarness, _ id: SocketID, _ dialogue: StartTLSProtocol?, _ fixture: OpenSSLFixture,
                         host: String = "localhost") async throws -> [EngineEventKind] {
        var tls = TLSClientOptions()
        tls.caFile = fixture.path("server.pem")
        return try await harness.perform(.startTLS(StartTLSRequest(socket: id, dialogue: dialogue, tls: tls, host: host)))
    }

    /// A capture over a STARTTLS upgrade: the dialogue in the clear, then ciphertext (the
    /// capture tap stays in front of the TLS handlers) that tshark decrypts with the keys in the file.
    @Test(.requires("python3"), .requires("openssl"), .requires("tshark"))
    func aCaptureSeesTheUpgradeAsOnTheWire() async throws {
        let fixture = try await Self.fixture()
        let (server, port) = try await Self.start("smtp", fixture)
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "starttls", suffix: ".pcapng")
        _ = try await harness.perform(.capture(.on(path: path, maxBytes: nil)))
        let id = try await Self.connect(harness, port: port)
        _ = try await Self.startTLS(harness, id, .smtp, fixture)
        _ = try await harness.perform(.send(id, Array("ping-inside-tls\n".utf8)))
        #expect(await server.waitForOutput(containing: "ECHOED"), "\(server.output)")
        try await harness.waitFor("the echo inside TLS") { harness.received(on: id).bytes.suffix(4) == Array("tls\n".utf8) }
        _ = try await harness.perform(.capture(.off))
        let raw = try await CaptureTests.follow(path, stream: 0)
        #expect(raw.fromClient.firstRange(of: Array("STARTTLS\r\n".utf8)) != nil, "the dialogue is in the clear")
        #expect(raw.fromClient.firstRange(of: Array("ping-inside-tls".utf8)) == nil, "what follows is ciphertext")
        // SMTP on a port of its own: tshark is told it is SMTP, which knows where STARTTLS switches to TLS.
        let decrypted = try await CaptureTests.run(["-r", path, "-d", "tcp.port==\(port),smtp", "-q", "-z", "follow,tls,ascii,0"])
        #expect(decrypted.contains("ping-inside-tls"), "\(decrypted)")
    }

    @Test(.requires("python3"), .requires("openssl"), arguments: [StartTLSProtocol.smtp, .imap, .pop3, .postgres])
    func theDialogueIsSpokenAndTheRestIsEncryptedAndVerified(_ dialogue: StartTLSProtocol) async throws {
        let fixture = try await Self.fixture()
        let (server, port) = try await Self.start(dialogue.rawValue, fixture)
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connect(harness, port: port)

        let answer = try await Self.startTLS(harness, id, dialogue, fixture)
        #expect(answer.last == .requestCompleted)
        #expect(!answer.contains { if case .error = $0 { true } else { false } }, "\(answer)")
        // Answered once the handshake is done: its report is already there, verified for the host.
        let report = try #require(harness.events(about: id).lazy.compactMap { kind -> TLSReport? in
            if case .tls(id, let report) = kind { return report }
            return nil
        }.first, "\(harness.events(about: id))")
        #expect(report.verification == .verified)
        #expect(report.serverName == "localhost")
        #expect(report.chain.first?.subject == "CN=localhost")
        #expect(report.handshakeBytesOut > 0 && report.handshakeBytesIn > 0)

        // The dialogue went out and came in as plain traffic; what follows is inside TLS.
        let plainIn = harness.receivedCount(on: id)
        let plainOut = harness.sentCount(on: id)
        let send = try await harness.perform(.send(id, Array("ping\n".utf8)))
        #expect(send.last == .requestCompleted)
        #expect(await server.waitForOutput(containing: "ECHOED b'ping\\n'"), "\(server.output)")
        try await harness.waitFor("the echo inside TLS") { harness.receivedCount(on: id) == plainIn + 9 }
        #expect(harness.sentCount(on: id) == plainOut + 5, "plaintext counted: the dialogue, then ping")
        #expect(Array(harness.received(on: id).bytes.suffix(9)) == Array("tls:ping\n".utf8))
        switch dialogue {
        case .smtp:
            #expect(server.output.contains("GOT b'EHLO sockscope\\r\\n'"), "\(server.output)")
            #expect(plainOut == "EHLO sockscope\r\nSTARTTLS\r\n".utf8.count)
        case .imap: #expect(plainOut == "a001 STARTTLS\r\n".utf8.count)
        case .pop3: #expect(plainOut == "STLS\r\n".utf8.count)
        case .postgres: #expect(plainOut == 8 && plainIn == 1)
        default: break
        }
    }

    @Test(.requires("python3"), .requires("openssl"))
    func aRefusalLeavesTheConnectionPlainAndOpenSayingWhatTheServerSaid() async throws {
        let fixture = try await Self.fixture()
        let (server, port) = try await Self.start("smtp", fixture, mode: "refuse")
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connect(harness, port: port)
        let answer = try await Self.startTLS(harness, id, .smtp, fixture)
        guard case .error(id, let failure)? = answer.first(where: { if case .error = $0 { true } else { false } }) else {
            Issue.record("\(answer)")
            return
        }
        #expect(failure.call == "starttls")
        #expect(failure.explanation == "starttls smtp: STARTTLS refused: 454 4.7.0 TLS not available; the connection stays plain",
                "\(failure.explanation)")
        // Still open and plain: a line typed next reaches the server as it is.
        let send = try await harness.perform(.send(id, Array("QUIT\r\n".utf8)))
        #expect(send.last == .requestCompleted)
        #expect(await server.waitForOutput(containing: "GOT b'QUIT\\r\\n'"), "\(server.output)")
        #expect(harness.closedReason(of: id) == nil)
    }

    @Test(.requires("python3"), .requires("openssl"))
    func plaintextAfterTheGoAheadIsRefusedAndTheConnectionClosed() async throws {
        let fixture = try await Self.fixture()
        let (server, port) = try await Self.start("smtp", fixture, mode: "inject")
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connect(harness, port: port)
        let answer = try await Self.startTLS(harness, id, .smtp, fixture)
        let failure = try #require(answer.lazy.compactMap { kind -> SocketFailure? in
            if case .error(id, let failure) = kind { return failure }
            return nil
        }.first, "\(answer)")
        #expect(failure.explanation.contains("the server sent 14 bytes after its go-ahead"), "\(failure.explanation)")
        try await harness.waitFor("the close") { harness.closedReason(of: id) != nil }
        #expect(!harness.events(about: id).contains { if case .tls = $0 { true } else { false } })
    }

    @Test(.requires("python3"), .requires("openssl"))
    func withoutAProtocolTheHandshakeStartsAtOnceAndAWrongNameFailsAndCloses() async throws {
        let fixture = try await Self.fixture()
        // The dialogue typed by hand: the user sends STLS and reads +OK, then `starttls`.
        let (server, port) = try await Self.start("pop3", fixture)
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connect(harness, port: port)
        try await harness.waitFor("the greeting") { harness.receivedCount(on: id) == "+OK POP3 ready\r\n".utf8.count }
        _ = try await harness.perform(.send(id, Array("STLS\r\n".utf8)))
        try await harness.waitFor("the go-ahead") { harness.receivedCount(on: id) == "+OK POP3 ready\r\n+OK Begin TLS\r\n".utf8.count }
        // Asked for a name the certificate does not carry: the handshake fails, the request says why.
        let answer = try await Self.startTLS(harness, id, nil, fixture, host: "mail.example.org")
        let failure = try #require(answer.lazy.compactMap { kind -> SocketFailure? in
            if case .error(id, let failure) = kind { return failure }
            return nil
        }.first, "\(answer)")
        #expect(failure.call == "tls verify")
        #expect(failure.explanation.hasPrefix("name mismatch: asked mail.example.org, certificate is for localhost"),
                "\(failure.explanation)")
        try await harness.waitFor("the close") { harness.closedReason(of: id) != nil }
        #expect(await server.waitForOutput(containing: "TLS FAILED"), "\(server.output)")
    }

    /// aiosmtpd, a real SMTP server with STARTTLS (`require_starttls`: it refuses mail before
    /// TLS). Prints `PORT n`, then what it saw of each EHLO and QUIT and whether TLS was on.
    static let aiosmtpdServer = #"""
        import asyncio, socket, ssl, sys
        from aiosmtpd.smtp import SMTP
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                print("EHLO %s tls=%s" % (hostname, session.ssl is not None), flush=True)
                return responses
            async def handle_QUIT(self, server, session, envelope):
                print("QUIT tls=%s" % (session.ssl is not None), flush=True)
                return "221 Bye"
        async def main():
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(5)
            loop = asyncio.get_running_loop()
            await loop.create_server(lambda: SMTP(Handler(), hostname="mail.test", tls_context=context,
                                                  require_starttls=True), sock=listener)
            print("PORT %d" % listener.getsockname()[1], flush=True)
            await asyncio.sleep(120)
        asyncio.run(main())
        """#

    /// `starttls smtp` against aiosmtpd: the EHLO/STARTTLS dialogue in the clear, a verified
    /// handshake, then EHLO and QUIT inside TLS, which the server saw as such.
    @Test(.requires("python3", "openssl"), .requiresPython("aiosmtpd"))
    func smtpUpgradeAgainstAiosmtpdThenEHLOAndQUITOverTLS() async throws {
        let fixture = try await Self.fixture()
        let server = try PythonPeer.run(Self.aiosmtpdServer, [fixture.path("server.pem"), fixture.path("server.key")])
        defer { server.kill() }
        #expect(await server.waitForOutput(containing: "PORT "), "\(server.output)")
        let line = try #require(server.output.split(separator: "\n").first { $0.hasPrefix("PORT ") })
        let port = try #require(Int(line.dropFirst(5)))
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connect(harness, port: port)

        let answer = try await Self.startTLS(harness, id, .smtp, fixture)
        #expect(answer.last == .requestCompleted)
        #expect(!answer.contains { if case .error = $0 { true } else { false } }, "\(answer)")
        let report = try #require(harness.events(about: id).lazy.compactMap { kind -> TLSReport? in
            if case .tls(id, let report) = kind { return report }
            return nil
        }.first, "\(harness.events(about: id))")
        #expect(report.verification == .verified)
        #expect(report.serverName == "localhost")
        #expect(server.output.contains("EHLO sockscope tls=False"), "\(server.output)")
        // The dialogue, in the clear: our EHLO and STARTTLS; aiosmtpd's greeting, its EHLO
        // answer offering STARTTLS, and its go-ahead.
        let plainOut = harness.sentCount(on: id)
        let plainIn = harness.received(on: id)
        #expect(plainOut == "EHLO sockscope\r\nSTARTTLS\r\n".utf8.count)
        let dialogue = String(decoding: plainIn.bytes, as: UTF8.self)
        #expect(dialogue.hasPrefix("220 mail.test"), "\(dialogue)")
        #expect(dialogue.contains("250-STARTTLS\r\n") && dialogue.hasSuffix("220 Ready to start TLS\r\n"), "\(dialogue)")

        // Inside TLS: EHLO again (RFC 3207 forgets what came before), no STARTTLS offered now.
        _ = try await harness.perform(.send(id, Array("EHLO sockscope\r\n".utf8)))
        #expect(await server.waitForOutput(containing: "EHLO sockscope tls=True"), "\(server.output)")
        try await harness.waitFor("the EHLO answer inside TLS") {
            String(decoding: harness.received(on: id).bytes.dropFirst(plainIn.count), as: UTF8.self).hasSuffix("250 HELP\r\n")
        }
        let ehlo = String(decoding: harness.received(on: id).bytes.dropFirst(plainIn.count), as: UTF8.self)
        #expect(ehlo.hasPrefix("250-mail.test\r\n") && !ehlo.contains("STARTTLS"), "\(ehlo)")
        let afterEHLO = harness.receivedCount(on: id)
        _ = try await harness.perform(.send(id, Array("QUIT\r\n".utf8)))
        #expect(await server.waitForOutput(containing: "QUIT tls=True"), "\(server.output)")
        try await harness.waitFor("221 inside TLS") { harness.receivedCount(on: id) == afterEHLO + "221 Bye\r\n".utf8.count }
        #expect(Array(harness.received(on: id).bytes.suffix(9)) == Array("221 Bye\r\n".utf8))
        try await harness.waitFor("the server's close after QUIT") {
            harness.closedReason(of: id) != nil || harness.events(about: id).contains(.peerClosed(id))
        }
        #expect(harness.sentCount(on: id) == plainOut + "EHLO sockscope\r\nQUIT\r\n".utf8.count, "plaintext counted, exact")
    }
}
