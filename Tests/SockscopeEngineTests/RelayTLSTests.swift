import Foundation
import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `relay` with `tls://` on either side or both, against real peers: curl (`--cacert` the
/// relay's saved certificate) to python's http.server through a terminating relay, a plain
/// client to `openssl s_server` through an originating one (verified with `--ca`, refused
/// without it), and `openssl s_client` through a relay that is TLS on both sides. The legs'
/// counts are the plaintext, exact; each TLS leg has its `tls` report and its wire counts.
@Suite(.timeLimit(.minutes(2))) struct RelayTLSTests {
    static func relay(_ harness: EngineHarness, listenTLS: TLSServerOptions? = nil, target: Endpoint,
                      targetTLS: TLSClientOptions? = nil) async throws -> (id: SocketID, port: Int, answer: [EngineEventKind]) {
        var listen = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0))
        listen.tls = listenTLS
        let answer = try await harness.perform(.relay(RelayRequest(listen: listen, target: target, targetTLS: targetTLS)))
        guard case .relay(.listening(let id, _, let local, _))? = answer.first, let port = local.port else {
            throw EngineHarness.Timeout(what: "a relaying event", events: harness.events)
        }
        return (id, Int(port), answer)
    }

    static func report(_ harness: EngineHarness, on id: SocketID) async throws -> TLSReport {
        try await harness.first("the tls event of \(id)") { kind in
            if case .tls(id, let report) = kind { return report }
            return nil
        }
    }

    static func lastWire(_ harness: EngineHarness, on id: SocketID) -> (received: Int, sent: Int)? {
        TLSWireTests.lastWire(harness, on: id)
    }

    /// Nothing about a socket is reported after its `closed`.
    static func expectNothingAfterClose(_ ids: [SocketID], _ harness: EngineHarness,
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        for id in ids {
            let events = harness.events(about: id)
            guard let closed = events.firstIndex(where: { if case .closed = $0 { true } else { false } }) else { continue }
            #expect(closed == events.count - 1, "\(id) after its close: \(events[(closed + 1)...])", sourceLocation: sourceLocation)
        }
    }

    static func fixtureWithServer() async throws -> OpenSSLFixture {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("server", subject: "/CN=localhost", san: "DNS:localhost")
        return fixture
    }

    static func connectPlain(_ harness: EngineHarness, port: Int) async throws -> SocketID {
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        return try #require(answer.lazy.compactMap { kind -> SocketID? in
            if case .connected(let id, _, _) = kind { return id }
            return nil
        }.first, "\(answer)")
    }

    // MARK: Terminating TLS from the client

    @Test(.requires("curl", "python3", "openssl"))
    func curlWithTheSavedCertificateGetsTheBodyThroughATerminatingRelay() async throws {
        let fixture = try OpenSSLFixture()
        let directory = fixture.path("www")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let body = try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: 300_000))
        try body.write(to: URL(fileURLWithPath: directory + "/body.bin"))
        let (server, serverPort) = try await PythonHTTPServer.start(serving: directory)
        defer { server.kill(SIGKILL) }

        let harness = EngineHarness()
        defer { harness.shutdown() }
        var options = TLSServerOptions()
        options.saveCertificateFile = fixture.path("relay.pem")
        options.alpn = ["http/1.1"]
        let (relay, port, answer) = try await Self.relay(harness, listenTLS: options,
                                                         target: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        // The relay shows the certificate it made, as `listen tls://` does: the one curl is given.
        let certificate = try #require(answer.lazy.compactMap { kind -> CertificateSummary? in
            if case .tlsCertificate(relay, let summary, true, fixture.path("relay.pem")) = kind { return summary }
            return nil
        }.first, "\(answer)")
        let fingerprint = try await fixture.x509("relay.pem", ["-fingerprint", "-sha256"])
        #expect(OpenSSLFixture.value("sha256 Fingerprint", in: fingerprint) == certificate.sha256Fingerprint)

        let saved = fixture.path("download")
        let curl = try SpawnedProcess("curl", ["-sS", "--max-time", "20", "--cacert", fixture.path("relay.pem"), "-o", saved,
                                               "-w", "%{size_header} %{size_download}", "https://localhost:\(port)/body.bin"])
        let sizes = await RelayTests.finished(curl).split(separator: " ").compactMap { Int($0) }
        #expect(try await SHA256Sum.of(path: saved) == SHA256Sum.of(path: directory + "/body.bin"))
        #expect(sizes.last == body.count)

        let pair = try #require(RelayTests.pairs(harness).first)
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        let report = try await Self.report(harness, on: pair.client)
        #expect(report.role == .server)
        #expect(report.serverName == "localhost")
        #expect(report.alpnChosen == "http/1.1")
        #expect(!harness.events(about: pair.upstream).contains { if case .tls = $0 { true } else { false } },
                "the upstream leg is plain")
        // The counts are the plaintext, exact on both legs; the wire counts the TLS on top.
        RelayTests.expectExactForwarding(pair, harness)
        #expect(harness.sentCount(on: pair.client) == sizes.reduce(0, +), "the client leg sent curl the headers and body")
        let wire = try #require(Self.lastWire(harness, on: pair.client))
        #expect(wire.sent > harness.sentCount(on: pair.client) && wire.received > harness.receivedCount(on: pair.client), "\(wire)")
        #expect(Self.lastWire(harness, on: pair.upstream) == nil)
        Self.expectNothingAfterClose([pair.client, pair.upstream], harness)
    }

    // MARK: Originating TLS to the server

    @Test(.requires("openssl"))
    func aPlainClientReachesOpenSSLThroughAnOriginatingRelayVerifiedWithCA() async throws {
        let fixture = try await Self.fixtureWithServer()
        let (server, serverPort) = try await fixture.server(["-cert", fixture.path("server.pem"), "-key", fixture.path("server.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var options = TLSClientOptions()
        options.caFile = fixture.path("server.pem")
        let (_, port, _) = try await Self.relay(harness, target: .inet(.tcp, host: "localhost", port: serverPort), targetTLS: options)
        let client = try await Self.connectPlain(harness, port: port)
        _ = try await harness.perform(.send(client, Array("hello relay\n".utf8)))
        // s_server -rev answers each line reversed: it read our plaintext inside TLS.
        try await harness.waitFor("the reversed line") { harness.received(on: client).bytes == Array("yaler olleh\n".utf8) }

        let pair = try #require(RelayTests.pairs(harness).first)
        let report = try await Self.report(harness, on: pair.upstream)
        #expect(report.role == .client)
        #expect(report.verification == .verified)
        #expect(report.serverName == "localhost")
        #expect(report.chain.first?.subject == "CN=localhost")
        #expect(!harness.events(about: pair.client).contains { if case .tls = $0 { true } else { false } })
        _ = try await harness.perform(.close(client))
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.receivedCount(on: pair.client) == 12 && harness.sentCount(on: pair.client) == 12)
        RelayTests.expectExactForwarding(pair, harness)
        let wire = try #require(Self.lastWire(harness, on: pair.upstream))
        #expect(wire.sent > 12 && wire.received > 12, "the records and the handshake come on top: \(wire)")
        Self.expectNothingAfterClose([pair.client, pair.upstream], harness)
    }

    /// Without `--ca` the self-signed server is refused, with the reason on the upstream leg;
    /// the client leg closes, and what the client sent meanwhile was never counted as sent
    /// upstream (it waited for the handshake, which failed).
    @Test(.requires("openssl"))
    func withoutCAVerificationFailsWithTheReasonAndNothingCountsAsSent() async throws {
        let fixture = try await Self.fixtureWithServer()
        let (server, serverPort) = try await fixture.server(["-cert", fixture.path("server.pem"), "-key", fixture.path("server.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port, _) = try await Self.relay(harness, target: .inet(.tcp, host: "localhost", port: serverPort),
                                                targetTLS: TLSClientOptions())
        let client = try await Self.connectPlain(harness, port: port)
        _ = harness.submit(.send(client, Array("too early\n".utf8)))
        let pair = try await harness.first("a pair") { kind -> (client: SocketID, upstream: SocketID)? in
            if case .relay(.upstream(let upstream, _, let client, _, _)) = kind { return (client, upstream) }
            return nil
        }
        let failure = try await harness.first("the verification failure") { kind -> SocketFailure? in
            if case .error(pair.upstream, let failure) = kind, failure.call == "tls verify" { return failure }
            return nil
        }
        #expect(failure.code == "CERTIFICATE_VERIFY_FAILED")
        #expect(failure.explanation.hasPrefix("self-signed certificate (CN=localhost), not among the trusted roots"),
                "\(failure.explanation)")
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.sentCount(on: pair.upstream) == 0, "nothing went out inside TLS: \(harness.events(about: pair.upstream))")
        #expect(harness.receivedCount(on: pair.upstream) == 0)
        Self.expectNothingAfterClose([pair.client, pair.upstream], harness)
    }

    // MARK: Both sides

    @Test(.requires("openssl"))
    func openSSLClientToOpenSSLServerThroughARelayThatIsTLSOnBothSides() async throws {
        let fixture = try await Self.fixtureWithServer()
        let (server, serverPort) = try await fixture.server(["-cert", fixture.path("server.pem"), "-key", fixture.path("server.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var listenTLS = TLSServerOptions()
        listenTLS.saveCertificateFile = fixture.path("relay.pem")
        var targetTLS = TLSClientOptions()
        targetTLS.caFile = fixture.path("server.pem")
        let (_, port, _) = try await Self.relay(harness, listenTLS: listenTLS, target: .inet(.tcp, host: "localhost", port: serverPort),
                                                targetTLS: targetTLS)
        // stdin stays open (s_client leaves at its end): two debug-build handshakes on a loaded
        // machine took longer than the 5 s an earlier version gave them.
        let client = try SpawnedProcess("/bin/sh", ["-c", "(printf 'ping\\n'; sleep 60) | openssl s_client -connect 127.0.0.1:\(port)"
            + " -servername localhost -CAfile \(fixture.path("relay.pem")) -verify_return_error -verify_hostname localhost"])
        defer { client.kill() }
        #expect(await client.waitForOutput(containing: "gnip\n", timeout: .seconds(60)), "\(client.output)")
        #expect(client.output.contains("Verify return code: 0 (ok)"), "\(client.output)")

        let pair = try #require(RelayTests.pairs(harness).first)
        let clientSide = try await Self.report(harness, on: pair.client)
        let upstreamSide = try await Self.report(harness, on: pair.upstream)
        #expect(clientSide.role == .server && clientSide.serverName == "localhost")
        #expect(upstreamSide.role == .client && upstreamSide.verification == .verified)
        try await harness.waitFor("the reversed line counted") {
            harness.receivedCount(on: pair.client) == 5 && harness.sentCount(on: pair.client) == 5
        }
        RelayTests.expectExactForwarding(pair, harness)
    }

    /// The wire counts are exact: each TLS leg's bytes on the wire are what the peer's own
    /// wire counts say (sockscope's `connect tls://` and `listen tls://` at the two ends).
    @Test func wireCountsOfBothLegsMatchTheirPeersExactly() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let fixture = try OpenSSLFixture()
        var echo = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0), mode: .echo)
        var echoTLS = TLSServerOptions()
        echoTLS.saveCertificateFile = fixture.path("echo.pem")
        echo.tls = echoTLS
        let listening = try await harness.perform(.listen(echo))
        guard case .listening(let echoListener, _, let echoLocal, _, _)? = listening.first,
              let echoPort = EngineHarness.port(of: echoLocal) else {
            Issue.record("\(listening)")
            return
        }
        var listenTLS = TLSServerOptions()
        listenTLS.saveCertificateFile = fixture.path("relay.pem")
        var targetTLS = TLSClientOptions()
        targetTLS.caFile = fixture.path("echo.pem")
        let (_, port, _) = try await Self.relay(harness, listenTLS: listenTLS, target: .inet(.tcp, host: "localhost", port: echoPort),
                                                targetTLS: targetTLS)
        var connect = ConnectRequest(endpoint: .inet(.tcp, host: "localhost", port: port))
        var clientTLS = TLSClientOptions()
        clientTLS.caFile = fixture.path("relay.pem")
        connect.tls = clientTLS
        let client = try #require(try await harness.perform(.connect(connect)).first?.socket)
        let payload = [UInt8](repeating: 0x5a, count: 100_000)
        _ = try await harness.perform(.send(client, payload))
        try await harness.waitFor("the echo through both legs") { harness.receivedCount(on: client) == payload.count }
        let pair = try #require(RelayTests.pairs(harness).first)
        let accepted = try #require(harness.acceptedConnections(on: echoListener).first)
        RelayTests.expectExactForwarding(pair, harness)
        #expect(harness.receivedCount(on: pair.client) == payload.count && harness.receivedCount(on: accepted) == payload.count)
        try await harness.waitFor("each leg's wire counts to equal its peer's") {
            guard let c = Self.lastWire(harness, on: client), let l = Self.lastWire(harness, on: pair.client),
                  let u = Self.lastWire(harness, on: pair.upstream), let a = Self.lastWire(harness, on: accepted) else { return false }
            return c.sent == l.received && c.received == l.sent && u.sent == a.received && u.received == a.sent
                && l.received > payload.count && u.sent > payload.count
        }
        _ = try await harness.perform(.close(client))
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream, accepted], harness)
        Self.expectNothingAfterClose([client, pair.client, pair.upstream, accepted], harness)
    }
}
