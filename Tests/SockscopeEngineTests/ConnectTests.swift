import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("Connecting, sending, closing", .timeLimit(.minutes(2)))
struct ConnectTests {
    private func tcp(_ port: Int, host: String = "127.0.0.1") -> EngineCommand {
        .connect(ConnectRequest(endpoint: .inet(.tcp, host: host, port: port)))
    }

    /// Starts a Python peer that prints `PORT <n>` and returns that port.
    private func port(of peer: SpawnedProcess) async throws -> Int {
        #expect(await peer.waitForOutput(containing: "PORT "), "peer said: \(peer.output)")
        let line = try #require(peer.output.split(separator: "\n").first { $0.hasPrefix("PORT ") })
        return try #require(Int(line.dropFirst(5)))
    }

    @Test(.requires("python3")) func connectsToAGreetingServerThenSeesItsEOF() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try PythonPeer.run(PeerScripts.greetingServer, ["welcome\n"])
        let port = try await port(of: server)
        let answer = try await harness.perform(tcp(port))
        let id = SocketID(.connection, 1)
        #expect(answer.count == 3, "\(answer)")
        #expect(answer.first == .connecting(id, remote: "127.0.0.1:\(port)"))
        guard case .connected(id, let local, let remote)? = answer.dropFirst().first else {
            Issue.record("expected .connected, got \(answer)")
            return
        }
        #expect(remote == "127.0.0.1:\(port)")
        #expect(local.hasPrefix("127.0.0.1:") && EngineHarness.port(of: local) != port, "ephemeral local port: \(local)")
        #expect(answer.last == .requestCompleted)

        try await harness.waitFor("the greeting and the EOF") { harness.kinds.contains(.peerClosed(id)) }
        #expect(harness.received(on: id).bytes == Array("welcome\n".utf8))
        let closed = try await harness.perform(.close(id))
        #expect(closed == [.closed(id, reason: "closed by us"), .requestCompleted])
        #expect(harness.events(about: id).filter { if case .closed = $0 { true } else { false } }.count == 1)
    }

    @Test func connectingToAClosedPortIsRefused() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let reserved = try ReservedPort()
        let answer = try await harness.perform(tcp(reserved.port))
        let id = SocketID(.connection, 1)
        #expect(answer.count == 4, "\(answer)")
        #expect(answer.first == .connecting(id, remote: "127.0.0.1:\(reserved.port)"))
        guard case .error(id, let failure)? = answer.dropFirst().first else {
            Issue.record("expected .error, got \(answer)")
            return
        }
        #expect(failure.call == "connect")
        #expect(failure.errno == ECONNREFUSED)
        #expect(failure.code == "ECONNREFUSED")
        #expect(failure.target == "tcp://127.0.0.1:\(reserved.port)")
        #expect(answer.dropFirst(2).first == .closed(id, reason: "connect failed"))
        #expect(answer.last == .requestCompleted)
    }

    @Test func localhostFallsBackToTheAddressThatListens() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(host: "127.0.0.1")
        let answer = try await harness.perform(tcp(listener.port, host: "localhost"))
        #expect(answer.contains { if case .connected = $0 { true } else { false } }, "\(answer)")
    }

    @Test func anUnknownHostIsANameResolutionFailure() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(tcp(80, host: "no-such-host.invalid"))
        let id = SocketID(.connection, 1)
        guard case .error(id, let failure)? = answer.dropFirst().first else {
            Issue.record("expected .error, got \(answer)")
            return
        }
        #expect(failure.call == "getaddrinfo")
        #expect(failure.code?.hasPrefix("EAI_") == true, "\(failure)")
        #expect(failure.explanation.contains("no-such-host.invalid"))
        #expect(failure.target == "tcp://no-such-host.invalid:80")
        #expect(answer.suffix(2) == [.closed(id, reason: "connect failed"), .requestCompleted])
    }

    @Test func aConnectThatIsNeverAnsweredTimesOut() async throws {
        let harness = EngineHarness(connectTimeout: .milliseconds(200))
        defer { harness.shutdown() }
        // Linux drops SYNs while a listener's accept queue is full: with backlog 0 and nobody
        // accepting, the first connection fills the queue and later ones go unanswered.
        let silent = try ReservedPort(listenBacklog: 0)
        var failures: [SocketFailure] = []
        for _ in 0..<3 {
            let answer = try await harness.perform(tcp(silent.port))
            failures += answer.compactMap { if case .error(_, let failure) = $0 { failure } else { nil } }
            if !failures.isEmpty { break }
        }
        let failure = try #require(failures.first)
        #expect(failure.code == "ETIMEDOUT")
        #expect(failure.errno == ETIMEDOUT)
        #expect(failure.call == "connect")
        #expect(failure.explanation == "the peer did not answer within 200 ms", "\(failure)")
    }

    @Test func sendAndCloseAddressSocketsById() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(tcp(listener.port))
        let client = SocketID(.connection, 1)
        let server = SocketID(.connection, 2)
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id) == [server] }

        let ping = try await harness.perform(.send(client, Array("ping".utf8)))
        #expect(ping == [.sent(client, bytes: Array("ping".utf8), count: 4), .requestCompleted])
        try await harness.waitFor("ping to arrive") { harness.received(on: server).bytes == Array("ping".utf8) }

        let pong = try await harness.perform(.send(server, Array("pong".utf8)))
        #expect(pong.first == .sent(server, bytes: Array("pong".utf8), count: 4))
        try await harness.waitFor("pong to arrive") { harness.received(on: client).bytes == Array("pong".utf8) }

        let big = [UInt8](repeating: 0x41, count: DataPreview.limit + 100)
        let bigAnswer = try await harness.perform(.send(client, big))
        #expect(bigAnswer.first == .sent(client, bytes: Array(big.prefix(DataPreview.limit)), count: big.count))
        try await harness.waitFor("all of it to arrive") { harness.receivedCount(on: server) == 4 + big.count }

        let closed = try await harness.perform(.close(client))
        #expect(closed == [.closed(client, reason: "closed by us"), .requestCompleted])
        try await harness.waitFor("the server end to see EOF") { harness.kinds.contains(.peerClosed(server)) }

        let late = try await harness.perform(.send(client, [1]))
        #expect(late == [.error(client, SocketFailure(call: "send", explanation: "no open connection C1")), .requestCompleted])
        let unknown = try await harness.perform(.send(SocketID(.connection, 99), [1]))
        #expect(unknown == [.error(SocketID(.connection, 99), SocketFailure(call: "send", explanation: "no open connection C99")),
                            .requestCompleted])
        let closeUnknown = try await harness.perform(.close(SocketID(.connection, 99)))
        #expect(closeUnknown == [.error(SocketID(.connection, 99), SocketFailure(call: "close", explanation: "no open connection C99")),
                                 .requestCompleted])
        let sendToListener = try await harness.perform(.send(listener.id, [1]))
        #expect(sendToListener.first.map { if case .error(listener.id, _) = $0 { true } else { false } } == true)

        _ = try await harness.perform(.close(server))
        #expect(harness.closedReason(of: server) == "closed by us")
    }

    @Test(.requires("python3")) func sendingToAPeerThatHasGoneGetsResetAndIsReported() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try PythonPeer.run(PeerScripts.greetingServer, ["bye\n"])
        let port = try await port(of: server)
        _ = try await harness.perform(tcp(port))
        let id = SocketID(.connection, 1)
        try await harness.waitFor("the EOF") { harness.kinds.contains(.peerClosed(id)) }
        #expect(await server.wait() == 0)
        // The peer's socket is gone: our bytes leave (sent), its kernel answers with RST.
        let answer = try await harness.perform(.send(id, Array("anyone?".utf8)))
        #expect(answer.count == 2, "\(answer)")
        #expect(answer.last == .requestCompleted)
        try await harness.waitFor("the reset") { harness.closedReason(of: id) != nil }
        #expect(harness.closedReason(of: id) == "reset by peer")
        // A reset in CLOSE_WAIT is reported by Linux as EPIPE, elsewhere as ECONNRESET.
        let codes = harness.failures(on: id).map(\.code)
        #expect(codes == ["EPIPE"] || codes == ["ECONNRESET"], "\(codes)")
    }
}
