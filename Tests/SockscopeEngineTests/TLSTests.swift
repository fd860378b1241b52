import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `tls://` against openssl itself: certificates made with `openssl req`/`x509` in the test,
/// `openssl s_server` and `s_client` as the peers, and every field of the inspector
/// checked against what `openssl x509` says about the same certificate.
@Suite("TLS against openssl", .timeLimit(.minutes(2)))
struct TLSTests {
    static func connectTLS(_ harness: EngineHarness, host: String = "localhost", port: Int,
                           _ configure: (inout TLSClientOptions) -> Void = { _ in }) async throws -> SocketID {
        var request = ConnectRequest(endpoint: .inet(.tcp, host: host, port: port))
        var options = TLSClientOptions()
        configure(&options)
        request.tls = options
        let answer = try await harness.perform(.connect(request))
        return try #require(answer.first?.socket, "\(answer)")
    }

    static func report(_ harness: EngineHarness, on id: SocketID) async throws -> TLSReport {
        try await harness.first("the tls event of \(id)") { kind in
            if case .tls(id, let report) = kind { return report }
            return nil
        }
    }

    static func verifyFailure(_ harness: EngineHarness, on id: SocketID) async throws -> SocketFailure {
        try await harness.first("the verification failure of \(id)") { kind in
            if case .error(id, let failure) = kind, failure.call == "tls verify" { return failure }
            return nil
        }
    }

    /// Every field of one certificate against `openssl x509` on the same file.
    static func expectMatches(_ summary: CertificateSummary, file: String, in fixture: OpenSSLFixture) async throws {
        let subject = try await fixture.x509(file, ["-subject", "-nameopt", "RFC2253"])
        #expect("subject=" + summary.subject == subject.trimmingCharacters(in: .newlines))
        let issuer = try await fixture.x509(file, ["-issuer", "-nameopt", "RFC2253"])
        #expect("issuer=" + summary.issuer == issuer.trimmingCharacters(in: .newlines))
        let fingerprint = try await fixture.x509(file, ["-fingerprint", "-sha256"])
        #expect(OpenSSLFixture.value("sha256 Fingerprint", in: fingerprint) == summary.sha256Fingerprint)
        let dates = try await fixture.x509(file, ["-dates"])
        let notBefore = try #require(OpenSSLFixture.value("notBefore", in: dates).flatMap(OpenSSLFixture.seconds(fromOpenSSLDate:)))
        let notAfter = try #require(OpenSSLFixture.value("notAfter", in: dates).flatMap(OpenSSLFixture.seconds(fromOpenSSLDate:)))
        #expect(summary.notBefore.nanoseconds / 1_000_000_000 == notBefore)
        #expect(summary.notAfter.nanoseconds / 1_000_000_000 == notAfter)
        let daysLeft = Int((Double(notAfter) - Date().timeIntervalSince1970) / 86_400)
        #expect(abs(summary.daysLeft - daysLeft) <= 1, "days left: \(summary.daysLeft), openssl's dates say \(daysLeft)")
        let text = try await fixture.x509(file, ["-text"])
        let sans = text.components(separatedBy: "X509v3 Subject Alternative Name:").dropFirst().first?
            .split(separator: "\n").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(summary.subjectAlternativeNames.joined(separator: ", ") == (sans ?? ""), "openssl: \(sans ?? "no SAN")")
        #expect(text.contains("Public-Key: (\(summary.keyBits) bit)"), "\(summary.keyBits) bits; openssl: \(text)")
        let algorithm = summary.keyType == "RSA" ? "rsaEncryption" : summary.keyType.hasPrefix("EC") ? "id-ecPublicKey" : "ED25519"
        #expect(text.contains("Public Key Algorithm: \(algorithm)"), "\(summary.keyType)")
        if summary.keyType.hasPrefix("EC ") { #expect(text.contains("NIST CURVE: \(summary.keyType.dropFirst(3))")) }
        #expect(text.contains("Signature Algorithm: \(summary.signatureAlgorithm)"), "\(summary.signatureAlgorithm)")
    }

    @Test(.requires("openssl"))
    func aVerifiedHandshakeWithAChainOfTwoShowsWhatOpenSSLSees() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("ca", subject: "/CN=Test CA/O=sockscope tests")
        try await fixture.signed("leaf", by: "ca", subject: "/CN=localhost", san: "DNS:localhost,DNS:alt.localhost,IP:127.0.0.1")
        let (server, port) = try await fixture.server(["-cert", fixture.path("leaf.pem"), "-key", fixture.path("leaf.key"),
                                                       "-cert_chain", fixture.path("ca.pem"), "-alpn", "h2"])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connectTLS(harness, port: port) {
            $0.caFile = fixture.path("ca.pem")
            $0.alpn = ["h2", "http/1.1"]
        }
        let report = try await Self.report(harness, on: id)
        #expect(report.role == .client)
        #expect(report.verification == .verified)
        #expect(report.alpnChosen == "h2")
        #expect(report.alpnOffered == ["h2", "http/1.1"])
        #expect(report.serverName == "localhost")
        #expect(report.resumed == false)
        #expect(report.handshakeMicroseconds > 0)
        #expect(report.handshakeBytesIn > 0 && report.handshakeBytesOut > 0)
        // What s_server says it negotiated.
        #expect(await server.waitForOutput(containing: "Ciphersuite: "), "\(server.output)")
        #expect(server.output.contains("Protocol version: \(report.version)"), "\(report.version): \(server.output)")
        #expect(server.output.contains("Ciphersuite: \(report.cipherSuite ?? "?")\n"), "\(String(describing: report.cipherSuite))")
        #expect(report.chain.count == 2)
        try await Self.expectMatches(report.chain[0], file: "leaf.pem", in: fixture)
        try await Self.expectMatches(report.chain[1], file: "ca.pem", in: fixture)

        // The log and the counts are plaintext: s_server -rev answers the line reversed.
        _ = try await harness.perform(.send(id, Array("hello tls\n".utf8)))
        try await harness.waitFor("the reversed line") { harness.received(on: id).bytes == Array("slt olleh\n".utf8) }
        #expect(harness.sentCount(on: id) == 10)
        #expect(harness.receivedCount(on: id) == 10)
    }

    @Test(.requires("openssl"))
    func anExpiredCertificateIsRefusedWithItsDateAndInsecureGoesOnSayingWhy() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("ca", subject: "/CN=Test CA")
        try await fixture.signed("old", by: "ca", subject: "/CN=localhost", san: "DNS:localhost", days: -1)
        let (server, port) = try await fixture.server(["-cert", fixture.path("old.pem"), "-key", fixture.path("old.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let dates = try await fixture.x509("old.pem", ["-enddate"])
        let notAfter = try #require(OpenSSLFixture.value("notAfter", in: dates).flatMap(OpenSSLFixture.seconds(fromOpenSSLDate:)))
        let expected = "certificate expired on " + TimeText.seconds(Timestamp(nanoseconds: notAfter * 1_000_000_000))

        let refused = try await Self.connectTLS(harness, port: port) { $0.caFile = fixture.path("ca.pem") }
        let failure = try await Self.verifyFailure(harness, on: refused)
        #expect(failure.explanation.hasPrefix(expected), "\(failure.explanation)")
        try await harness.waitFor("the close") { harness.closedReason(of: refused) != nil }
        #expect(!harness.events(about: refused).contains { if case .tls = $0 { true } else { false } })

        let (server2, port2) = try await fixture.server(["-cert", fixture.path("old.pem"), "-key", fixture.path("old.key")])
        defer { server2.kill() }
        let insecure = try await Self.connectTLS(harness, port: port2) {
            $0.caFile = fixture.path("ca.pem")
            $0.insecure = true
        }
        let report = try await Self.report(harness, on: insecure)
        guard case .ignored(let reason) = report.verification else {
            Issue.record("verification: \(report.verification)")
            return
        }
        #expect(reason == expected)
        #expect(report.chain.first?.daysLeft == -1 || report.chain.first?.daysLeft == -2)
    }

    /// A `connect tls://` is answered once its handshake is done: with the `tls` report in
    /// the answer, or with the failure, so a script's next line never races the handshake.
    @Test(.requires("openssl"))
    func connectIsAnsweredAfterTheHandshakeWithItsReportOrItsFailure() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("own", subject: "/CN=localhost", san: "DNS:localhost")
        let (good, goodPort) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
        defer { good.kill() }
        let (bad, badPort) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
        defer { bad.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var trusted = ConnectRequest(endpoint: .inet(.tcp, host: "localhost", port: goodPort))
        trusted.tls = TLSClientOptions()
        trusted.tls?.caFile = fixture.path("own.pem")
        let answer = try await harness.perform(.connect(trusted))
        #expect(answer.last == .requestCompleted)
        let id = try #require(answer.first?.socket, "\(answer)")
        // Already reported when the answer came: the handshake finished before it.
        #expect(harness.events(about: id).contains { if case .tls(_, let report) = $0 { report.verification == .verified } else { false } },
                "\(harness.events(about: id))")

        var untrusted = ConnectRequest(endpoint: .inet(.tcp, host: "localhost", port: badPort))
        untrusted.tls = TLSClientOptions()
        let refused = try await harness.perform(.connect(untrusted))
        #expect(refused.last == .requestCompleted)
        let failure = try #require(refused.lazy.compactMap { kind -> SocketFailure? in
            if case .error(_, let failure) = kind { return failure }
            return nil
        }.first, "\(refused)")
        #expect(failure.call == "tls verify")
        #expect(failure.explanation.hasPrefix("self-signed certificate (CN=localhost)"), "\(failure.explanation)")
    }

    /// `close` sends close_notify and closes: it does not sit for swift-nio-ssl's 5 s waiting
    /// for a close_notify that openssl s_server never sends (it answers with a bare FIN).
    @Test(.requires("openssl"))
    func closeDoesNotWaitSecondsForThePeersCloseNotify() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("own", subject: "/CN=localhost", san: "DNS:localhost")
        let (server, port) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connectTLS(harness, port: port) { $0.caFile = fixture.path("own.pem") }
        let closed = try await harness.perform(.close(id), timeout: .seconds(3))
        #expect(closed.contains(.closed(id, reason: "closed by us")), "\(closed)")
    }

    @Test(.requires("openssl"))
    func aNameMismatchSaysWhatWasAskedAndWhatTheCertificateNames() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("ca", subject: "/CN=Test CA")
        try await fixture.signed("other", by: "ca", subject: "/CN=other.example", san: "DNS:other.example,DNS:www.other.example,IP:10.9.8.7")
        let (server, port) = try await fixture.server(["-cert", fixture.path("other.pem"), "-key", fixture.path("other.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connectTLS(harness, port: port) { $0.caFile = fixture.path("ca.pem") }
        let failure = try await Self.verifyFailure(harness, on: id)
        #expect(failure.explanation.hasPrefix(
            "name mismatch: asked localhost, certificate is for other.example, www.other.example, 10.9.8.7"), "\(failure.explanation)")
    }

    @Test(.requires("openssl"))
    func aSelfSignedCertificateAndAnUnknownIssuerAreNamedAsSuch() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("own", subject: "/CN=localhost", san: "DNS:localhost")
        try await fixture.selfSigned("ca", subject: "/CN=Private CA")
        try await fixture.signed("leaf", by: "ca", subject: "/CN=localhost", san: "DNS:localhost")
        let (own, ownPort) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
        defer { own.kill() }
        let (signed, signedPort) = try await fixture.server(["-cert", fixture.path("leaf.pem"), "-key", fixture.path("leaf.key")])
        defer { signed.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // The system's roots (no --ca): neither is trusted.
        let first = try await Self.connectTLS(harness, port: ownPort)
        #expect(try await Self.verifyFailure(harness, on: first).explanation
            .hasPrefix("self-signed certificate (CN=localhost), not among the trusted roots"))
        let second = try await Self.connectTLS(harness, port: signedPort)
        #expect(try await Self.verifyFailure(harness, on: second).explanation
            .hasPrefix("unknown issuer: CN=Private CA is not among the trusted roots"))
        // With its certificate as the root, the self-signed one verifies.
        let (own2, ownPort2) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
        defer { own2.kill() }
        let third = try await Self.connectTLS(harness, port: ownPort2) { $0.caFile = fixture.path("own.pem") }
        #expect(try await Self.report(harness, on: third).verification == .verified)
    }

    @Test(.requires("openssl"))
    func sniFollowsTheOptionsAndAnIPIsNeverSent() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("own", subject: "/CN=localhost", san: "DNS:localhost,IP:127.0.0.1")
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var seen: [String?] = []
        for configure: (inout TLSClientOptions) -> Void in [{ _ in }, { $0.serverName = .name("sni.example") }, { $0.serverName = .none }] {
            let (server, port) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key")])
            defer { server.kill() }
            let id = try await Self.connectTLS(harness, host: "127.0.0.1", port: port) {
                $0.caFile = fixture.path("own.pem")
                configure(&$0)
            }
            let report = try await Self.report(harness, on: id)
            // The name is checked against the host asked for (an IP SAN here), whatever the SNI.
            #expect(report.verification == .verified)
            seen.append(report.serverName)
        }
        #expect(seen == [nil, "sni.example", nil])
    }

    @Test(.requires("openssl"))
    func theListenerMakesASelfSignedCertificateThatSClientSeesAndShowsTheClientsSNIAndALPN() async throws {
        let fixture = try OpenSSLFixture()
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var request = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0), mode: .echo)
        var options = TLSServerOptions()
        options.alpn = ["h2", "http/1.1"]
        options.saveCertificateFile = fixture.path("saved.pem")
        request.tls = options
        let answer = try await harness.perform(.listen(request))
        guard case .listening(let listener, _, let local, _, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("\(answer)")
            return
        }
        let certificate = try #require(answer.lazy.compactMap { kind -> CertificateSummary? in
            if case .tlsCertificate(listener, let summary, true, fixture.path("saved.pem")) = kind { return summary }
            return nil
        }.first, "\(answer)")
        try await Self.expectMatches(certificate, file: "saved.pem", in: fixture)
        #expect(certificate.subjectAlternativeNames == ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"])

        // s_client verifies against the saved certificate and echoes through the listener.
        let client = try SpawnedProcess("/bin/sh", ["-c", "(printf 'ping\\n'; sleep 5) | openssl s_client -connect 127.0.0.1:\(port)"
            + " -servername localhost -alpn http/1.1,h2 -CAfile \(fixture.path("saved.pem")) -verify_return_error -verify_hostname localhost"])
        defer { client.kill() }
        #expect(await client.waitForOutput(containing: "ping\n"), "\(client.output)")
        #expect(client.output.contains("Verify return code: 0 (ok)"), "\(client.output)")
        #expect(client.output.contains("ALPN protocol: h2"), "\(client.output)")
        let accepted = try await harness.first("an accepted connection") { kind in
            if case .accepted(let id, listener, _, _) = kind { return id }
            return nil
        }
        let report = try await Self.report(harness, on: accepted)
        #expect(report.role == .server)
        #expect(report.serverName == "localhost")
        #expect(report.alpnOffered == ["http/1.1", "h2"])
        #expect(report.alpnChosen == "h2")
        #expect(report.verification == .notRequested)
        #expect(report.chain.isEmpty)
        try await harness.waitFor("the plaintext echo") { harness.receivedCount(on: accepted) == 5 && harness.sentCount(on: accepted) == 5 }
    }

    @Test(.requires("openssl"))
    func keylogWritesTheSecretsOpenSSLAgreesOn() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("own", subject: "/CN=localhost", san: "DNS:localhost")
        let (server, port) = try await fixture.server(["-cert", fixture.path("own.pem"), "-key", fixture.path("own.key"),
                                                       "-keylogfile", fixture.path("server.keys")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connectTLS(harness, port: port) {
            $0.caFile = fixture.path("own.pem")
            $0.keyLogFile = fixture.path("client.keys")
        }
        _ = try await Self.report(harness, on: id)
        let lines = { (name: String) in
            Set(((try? String(contentsOfFile: fixture.path(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        }
        try await harness.waitFor("both key logs") {
            // s_server logs the client's traffic secret once it has our Finished.
            lines("client.keys").contains { $0.hasPrefix("CLIENT_TRAFFIC_SECRET_0 ") }
                && lines("server.keys").contains { $0.hasPrefix("CLIENT_TRAFFIC_SECRET_0 ") }
        }
        let ours = lines("client.keys")
        #expect(ours.isSubset(of: lines("server.keys")), "ours: \(ours)\nopenssl's: \(lines("server.keys"))")
        #expect(ours.filter { !$0.hasPrefix("#") }.allSatisfy { $0.split(separator: " ").count == 3 })
        var status = stat()
        stat(fixture.path("client.keys"), &status)
        #expect(status.st_mode & 0o777 == 0o600)
    }

    @Test(.requires("openssl"))
    func tlsMaxOneTwoNegotiatesTLS12AndNamesItsCipherAsOpenSSLDoes() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("ca", subject: "/CN=Test CA")
        try await fixture.signed("leaf", by: "ca", subject: "/CN=localhost", san: "DNS:localhost")
        let (server, port) = try await fixture.server(["-cert", fixture.path("leaf.pem"), "-key", fixture.path("leaf.key")])
        defer { server.kill() }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let id = try await Self.connectTLS(harness, port: port) {
            $0.caFile = fixture.path("ca.pem")
            $0.maximumVersion = .tls12
        }
        let report = try await Self.report(harness, on: id)
        #expect(report.version == "TLSv1.2")
        #expect(report.verification == .verified)
        #expect(report.alpnChosen == nil && report.alpnOffered.isEmpty)
        #expect(report.resumed == false)
        #expect(await server.waitForOutput(containing: "Ciphersuite: "), "\(server.output)")
        #expect(server.output.contains("Protocol version: TLSv1.2"), "\(server.output)")
        // s_server names the suite the OpenSSL way; `openssl ciphers -stdname` gives its IANA name.
        let range = try #require(server.output.range(of: "Ciphersuite: "))
        let openSSLName = String(server.output[range.upperBound...].prefix { $0 != "\n" })
        let names = try await fixture.openssl(["ciphers", "-stdname", openSSLName])
        // Each line: `IANA_NAME - OPENSSL-NAME TLSv1.2 ...` (the TLS 1.3 suites are always listed too).
        let line = names.split(separator: "\n").first { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == Substring(openSSLName) }
        #expect(line?.split(separator: " ").first.map(String.init) == report.cipherSuite, "\(openSSLName): \(names)")
        #expect(report.cipherSuite?.hasPrefix("TLS_ECDHE_RSA_WITH_") == true)
    }
}
