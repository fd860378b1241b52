import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `listen tls:// --require-client-cert [--ca FILE]` against Python's `ssl` as the client:
/// a client certificate chaining to `--ca` is verified and shown, one that does not is refused
/// with the reason in words, a client without one is refused, and without `--ca` the
/// certificate is shown but said to be unchecked.
@Suite("TLS client certificates", .timeLimit(.minutes(2)))
struct TLSClientCertificateTests {
    /// Connects with Python's ssl (trusting the listener's saved certificate), sends `ping\n`
    /// and prints what came back, or the exception: `echo=b'ping\n'` / `error=...`.
    static let client = """
        import socket, ssl, sys
        port, cafile = int(sys.argv[1]), sys.argv[2]
        context = ssl.create_default_context(cafile=cafile)
        if len(sys.argv) > 3:
            context.load_cert_chain(sys.argv[3], sys.argv[4])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"ping\\n")
                    print("echo=%r" % tls.recv(100), flush=True)
        except Exception as error:
            print("error=%s" % error, flush=True)
        """

    /// An echo listener with `configure`d TLS options and its saved self-signed certificate.
    static func listen(_ harness: EngineHarness, _ fixture: OpenSSLFixture,
                       _ configure: (inout TLSServerOptions) -> Void) async throws -> (SocketID, Int) {
        var request = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0), mode: .echo)
        var options = TLSServerOptions()
        options.saveCertificateFile = fixture.path("listener.pem")
        configure(&options)
        request.tls = options
        let answer = try await harness.perform(.listen(request))
        guard case .listening(let listener, _, let local, _, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("not listening: \(answer)")
            throw CancellationError()
        }
        return (listener, port)
    }

    static func runClient(_ port: Int, _ fixture: OpenSSLFixture, certificate: String? = nil) async throws -> String {
        let script = try TemporaryPath.file(prefix: "tls-client", contents: client)
        var arguments = ["-u", script, String(port), fixture.path("listener.pem")]
        if let certificate { arguments += [fixture.path("\(certificate).pem"), fixture.path("\(certificate).key")] }
        let process = try SpawnedProcess("python3", arguments)
        _ = await process.wait(timeout: .seconds(30))
        return process.output
    }

    static func accepted(_ harness: EngineHarness, by listener: SocketID) async throws -> SocketID {
        try await harness.first("a connection accepted by \(listener)") { kind in
            if case .accepted(let id, listener, _, _) = kind { return id }
            return nil
        }
    }

    static func handshakeFailure(_ harness: EngineHarness, on id: SocketID) async throws -> SocketFailure {
        try await harness.first("the handshake failure of \(id)") { kind in
            if case .error(id, let failure) = kind, failure.call.hasPrefix("tls") { return failure }
            return nil
        }
    }

    @Test(.requires("openssl"), .requires("python3"))
    func aClientCertificateFromTheCAIsVerifiedAndShownAndOthersAreRefusedSayingWhy() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("clients-ca", subject: "/CN=Clients CA")
        try await fixture.signed("alice", by: "clients-ca", subject: "/CN=alice", san: "email:alice@example.org")
        try await fixture.selfSigned("mallory", subject: "/CN=mallory")
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (listener, port) = try await Self.listen(harness, fixture) { options in
            options.requireClientCertificate = true
            options.clientCAFile = fixture.path("clients-ca.pem")
        }

        let output = try await Self.runClient(port, fixture, certificate: "alice")
        #expect(output.contains("echo=b'ping\\n'"), "\(output)")
        let alice = try await Self.accepted(harness, by: listener)
        let report = try await TLSTests.report(harness, on: alice)
        #expect(report.role == .server)
        #expect(report.verification == .verified)
        let leaf = try #require(report.chain.first)
        try await TLSTests.expectMatches(leaf, file: "alice.pem", in: fixture)
        #expect(leaf.issuer == "CN=Clients CA")

        // A certificate of its own making: refused, and the log says whose and why.
        let refused = try await Self.runClient(port, fixture, certificate: "mallory")
        #expect(!refused.contains("echo="), "\(refused)")
        let mallory = try await harness.first("a second accepted connection") { kind in
            if case .accepted(let id, listener, _, _) = kind, id != alice { return id }
            return nil
        }
        let failure = try await Self.handshakeFailure(harness, on: mallory)
        #expect(failure.call == "tls verify")
        #expect(failure.code == "CERTIFICATE_VERIFY_FAILED")
        #expect(failure.explanation.hasPrefix("self-signed certificate (CN=mallory), not among the trusted roots"),
                "\(failure.explanation)")
        #expect(failure.explanation.contains("the client's certificate"), "\(failure.explanation)")
        #expect(!harness.events(about: mallory).contains { if case .tls = $0 { true } else { false } })
    }

    @Test(.requires("openssl"), .requires("python3"))
    func aClientWithoutACertificateIsRefusedAndWithoutCAOneIsShownUnchecked() async throws {
        let fixture = try OpenSSLFixture()
        try await fixture.selfSigned("bob", subject: "/CN=bob")
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (listener, port) = try await Self.listen(harness, fixture) { $0.requireClientCertificate = true }

        let none = try await Self.runClient(port, fixture)
        #expect(!none.contains("echo="), "\(none)")
        let anonymous = try await Self.accepted(harness, by: listener)
        let failure = try await Self.handshakeFailure(harness, on: anonymous)
        #expect(failure.code == "PEER_DID_NOT_RETURN_A_CERTIFICATE", "\(failure)")
        #expect(failure.explanation == "the client sent no certificate although one is required")

        // No --ca: bob's certificate is taken, shown whole, and said to be unchecked.
        let output = try await Self.runClient(port, fixture, certificate: "bob")
        #expect(output.contains("echo=b'ping\\n'"), "\(output)")
        let bob = try await harness.first("a second accepted connection") { kind in
            if case .accepted(let id, listener, _, _) = kind, id != anonymous { return id }
            return nil
        }
        let report = try await TLSTests.report(harness, on: bob)
        #expect(report.verification == .unchecked(reason: "no --ca to check it against"))
        try await TLSTests.expectMatches(try #require(report.chain.first), file: "bob.pem", in: fixture)
    }
}
