import Foundation
import SockscopeCore
import Testing
import TestSupport

/// `listen tls://` and `connect tls://` in the built binary, headless, with curl as the client
/// and the binary talking TLS to itself.
@Suite(.timeLimit(.minutes(1))) struct HeadlessTLSTests {
    @Test(.requires("curl", "openssl"))
    func curlTrustsTheSavedSelfSignedCertificateAndTheJSONShowsTheHandshake() async throws {
        let fixture = try OpenSSLFixture()
        let saved = fixture.path("listener.pem")
        let response = #"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n"#
        let server = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c",
                                                      "listen tls://127.0.0.1:0 --save-cert \(saved) --reply \"\(response)\""])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: #""event":"tls-certificate""#), "\(server.output)")
        let port = try #require(listeningPort(in: server.output))
        let curl = try SpawnedProcess("curl", ["-sS", "--cacert", saved, "https://localhost:\(port)/"])
        #expect(await curl.wait() == 0, "curl: \(curl.output)")
        #expect(curl.output == "hi\n")

        #expect(await server.waitForOutput(containing: #""event":"tls","#), "\(server.output)")
        let lines = server.output.split(separator: "\n").map(String.init)
        let certificateLine = try #require(lines.first { $0.contains(#""event":"tls-certificate""#) })
        let fingerprint = try await fixture.x509("listener.pem", ["-fingerprint", "-sha256"])
        #expect(certificateLine.contains(#""sha256":""# + (OpenSSLFixture.value("sha256 Fingerprint", in: fingerprint) ?? "?")),
                "\(certificateLine)")
        let tls = try #require(lines.first { $0.contains(#""event":"tls","#) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(tls.utf8)) as? [String: Any])
        #expect(object["role"] as? String == "server")
        #expect(object["sni"] as? String == "localhost")
        #expect(object["verification"] as? String == "not-requested")
        #expect((object["alpn_offered"] as? [String])?.contains("http/1.1") == true, "\(tls)")
        #expect(object["alpn"] == nil, "the listener accepts no ALPN protocol unless told: \(tls)")
        // The counts are the plaintext: curl's request, and our reply of exactly its length.
        let sent = try #require(lines.first { $0.contains(#""event":"sent""#) })
        #expect(sent.contains(#""bytes":\#(response.replacingOccurrences(of: "\\r", with: "\r").replacingOccurrences(of: "\\n", with: "\n").utf8.count)"#), "\(sent)")
    }

    @Test(.requires("openssl"))
    func theBinaryTalksTLSToItselfAndWritesSSLKEYLOGFILE() async throws {
        let fixture = try OpenSSLFixture()
        let saved = fixture.path("self.pem")
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen tls://127.0.0.1:0 --echo --save-cert \(saved)"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "tls-certificate"), "\(server.output)")
        let port = try #require(listeningPort(in: server.output))
        let keys = fixture.path("keys.log")
        let client = try SpawnedProcess("/usr/bin/env", ["SSLKEYLOGFILE=\(keys)", Binary.path, "--headless",
                                                         "-c", "connect tls://localhost:\(port) --ca \(saved)", "-c", "send ping"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: #"C1 received 4 B "ping""#), "\(client.output)")
        #expect(client.output.contains("C1 tls role=client version=TLSv1.3"), "\(client.output)")
        #expect(client.output.contains(#"verify="certificate verified""#), "\(client.output)")
        let log = (try? String(contentsOfFile: keys, encoding: .utf8)) ?? ""
        #expect(log.contains("CLIENT_TRAFFIC_SECRET_0 "), "SSLKEYLOGFILE: \(log)")
    }
}
