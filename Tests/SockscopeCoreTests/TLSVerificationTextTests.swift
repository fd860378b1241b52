import SockscopeCore
import Testing

/// How a TLS handshake's verification is worded in the log, the JSON and Detail, and how the
/// listener's client-certificate options read.
@Suite struct TLSVerificationTextTests {
    static func report(_ verification: TLSVerification) -> TLSReport {
        TLSReport(role: .server, version: "TLSv1.3", cipherSuite: nil, alpnOffered: [], alpnChosen: nil, serverName: nil,
                  resumed: nil, handshakeMicroseconds: 1000, verification: verification, chain: [],
                  handshakeBytesIn: 10, handshakeBytesOut: 20)
    }

    static func entry(_ verification: TLSVerification) -> LogEntry {
        EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: .tls(SocketID(.connection, 1), report(verification))))
    }

    @Test func anUncheckedClientCertificateSaysSoInEveryForm() throws {
        let unchecked = TLSVerification.unchecked(reason: "no --ca to check it against")
        let json = try #require(EventText.json(Self.entry(unchecked)))
        #expect(json.contains(#""verification":"unchecked""#), "\(json)")
        #expect(json.contains(#""verify_reason":"no --ca to check it against""#), "\(json)")
        let line = try #require(EventText.line(Self.entry(unchecked)))
        #expect(line.contains("NOT checked"), "\(line)")
        #expect(TLSEventText.detailLines(Self.report(unchecked)).joined(separator: "\n")
            .contains("client certificate shown, NOT checked (no --ca to check it against)"))
        // A verified client certificate is not worded as unchecked.
        let verified = try #require(EventText.json(Self.entry(.verified)))
        #expect(verified.contains(#""verification":"verified""#) && !verified.contains("verify_reason"), "\(verified)")
    }

    @Test func caWithoutRequireClientCertIsRefusedWithTheReason() throws {
        do {
            _ = try CommandParser.parse("listen tls://:8443 --ca ca.pem")
            Issue.record("--ca alone was accepted")
        } catch {
            #expect("\(error)".contains("use it with --require-client-cert"), "\(error)")
        }
        let command = try CommandParser.parse("listen tls://:8443 --require-client-cert --ca ca.pem")
        guard case .listen(let request)? = command, let tls = request.tls else {
            Issue.record("\(String(describing: command))")
            return
        }
        #expect(tls.requireClientCertificate)
        #expect(tls.clientCAFile == "ca.pem")
    }
}
