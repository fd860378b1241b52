import SockscopeCore
@testable import SockscopeEngine
import Testing

/// A TLS connection's counts say both: the data events count plaintext, `tls-wire` the TLS
/// records that crossed the socket. What one end sent on the wire is what the other read.
@Suite("TLS wire counts", .timeLimit(.minutes(1)))
struct TLSWireTests {
    static func lastWire(_ harness: EngineHarness, on id: SocketID) -> (received: Int, sent: Int)? {
        harness.kinds.reversed().lazy.compactMap { kind -> (Int, Int)? in
            if case .tlsWire(id, let received, let sent) = kind { return (received, sent) }
            return nil
        }.first
    }

    @Test func bothEndsWireCountsAgreeAndExceedThePlaintext() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var listen = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0), mode: .echo)
        listen.tls = TLSServerOptions()
        let answer = try await harness.perform(.listen(listen))
        guard case .listening(_, _, let local, _, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("\(answer)")
            return
        }
        var connect = ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))
        var options = TLSClientOptions()
        options.insecure = true
        connect.tls = options
        _ = try await harness.perform(.connect(connect))
        let client = SocketID(.connection, 1)
        let server = try await harness.first("the accepted side") { kind -> SocketID? in
            if case .accepted(let id, _, _, _) = kind { id } else { nil }
        }
        let payload = [UInt8](repeating: 0x61, count: 10_000)
        _ = try await harness.perform(.send(client, payload))
        try await harness.waitFor("the plaintext echo") { harness.receivedCount(on: client) == payload.count }
        try await harness.waitFor("both ends' wire counts to agree") {
            guard let ours = Self.lastWire(harness, on: client), let theirs = Self.lastWire(harness, on: server) else { return false }
            return ours.sent == theirs.received && ours.received == theirs.sent
        }
        let ours = try #require(Self.lastWire(harness, on: client))
        #expect(harness.sentCount(on: client) == payload.count && harness.receivedCount(on: server) == payload.count,
                "the data events count plaintext")
        #expect(ours.sent > payload.count && ours.received > payload.count,
                "records, the handshake and the ciphertext's overhead come on top: \(ours)")
    }
}
