import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("Shutdown and reset", .timeLimit(.minutes(1)))
struct ShutdownAndResetTests {
    /// A listener and a connection to it in one engine: `client` (C1) and `server` (C2).
    private func connectedPair(_ harness: EngineHarness) async throws -> (client: SocketID, server: SocketID) {
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let server = SocketID(.connection, 2)
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id) == [server] }
        return (SocketID(.connection, 1), server)
    }

    @Test func shutdownWriteSendsFINAndTheConnectionStillReceives() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (client, server) = try await connectedPair(harness)

        let answer = try await harness.perform(.shutdown(client, .write))
        #expect(answer == [.shutDown(client, .write), .requestCompleted])
        try await harness.waitFor("the server end to read EOF") { harness.kinds.contains(.peerClosed(server)) }

        _ = try await harness.perform(.send(server, Array("still listening?".utf8)))
        try await harness.waitFor("data after our FIN") { harness.received(on: client).bytes == Array("still listening?".utf8) }
        #expect(harness.closedReason(of: client) == nil)
        #expect(!harness.kinds.contains(.peerClosed(client)))

        let late = try await harness.perform(.send(client, [1]))
        let failure = try #require(late.compactMap { if case .error(client, let f) = $0 { f } else { nil } }.first)
        #expect(failure.code == "ESHUTDOWN", "\(failure)")
        let again = try await harness.perform(.shutdown(client, .write))
        #expect(again.count == 2 && again.last == .requestCompleted, "\(again)")

        // The server closes too: the client reads EOF with both directions gone.
        _ = try await harness.perform(.close(server))
        try await harness.waitFor("the client to close") { harness.closedReason(of: client) != nil }
    }

    @Test func anEchoConnectionShutForWritingCountsNoEchoItCannotSend() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let (client, server) = (SocketID(.connection, 1), SocketID(.connection, 2))
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id) == [server] }
        _ = try await harness.perform(.send(client, Array("ping".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: client).bytes == Array("ping".utf8) }

        _ = try await harness.perform(.shutdown(server, .write))
        try await harness.waitFor("the client to read EOF") { harness.kinds.contains(.peerClosed(client)) }
        _ = try await harness.perform(.send(client, Array("more".utf8)))
        try await harness.waitFor("the echo end to read it") { harness.receivedCount(on: server) == 8 }
        _ = try await harness.perform(.close(client))
        try await harness.waitFor("both ends to close") { harness.closedReason(of: server) != nil }
        #expect(harness.sentCount(on: server) == 4, "only the echo sent before the shutdown left")
    }

    @Test(.requires("python3")) func aPythonPeerReadsEOFAndAnswersAfterIt() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try PythonPeer.run("""
        import socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        print("PORT %d" % srv.getsockname()[1], flush=True)
        conn, _ = srv.accept()
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        print("EOF after " + data.decode(), flush=True)
        conn.sendall(b"answer after EOF")
        conn.close()
        """)
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(server.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let id = SocketID(.connection, 1)
        _ = try await harness.perform(.send(id, Array("question".utf8)))
        _ = try await harness.perform(.shutdown(id, .write))
        #expect(await server.waitForOutput(containing: "EOF after question"), "peer said: \(server.output)")
        try await harness.waitFor("the answer") { harness.received(on: id).bytes == Array("answer after EOF".utf8) }
        try await harness.waitFor("the close") { harness.closedReason(of: id) != nil }
        // NIO closes a socket whose both directions are done: the peer's FIN ends it.
        #expect(harness.closedReason(of: id) == "peer closed")
    }

    @Test func shutdownReadThenWriteClosesTheSocket() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (client, server) = try await connectedPair(harness)

        let read = try await harness.perform(.shutdown(client, .read))
        #expect(read == [.shutDown(client, .read), .requestCompleted])
        // Our own SHUT_RD is not the peer's FIN.
        #expect(!harness.kinds.contains(.peerClosed(client)))
        _ = try await harness.perform(.send(client, Array("can still send".utf8)))
        try await harness.waitFor("data after SHUT_RD") { harness.received(on: server).bytes == Array("can still send".utf8) }

        let write = try await harness.perform(.shutdown(client, .write))
        #expect(write == [.shutDown(client, .write), .closed(client, reason: "both directions shut down"), .requestCompleted])
        try await harness.waitFor("the server end to read EOF") { harness.kinds.contains(.peerClosed(server)) }
    }

    @Test func shutdownBothEndsTheConnection() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (client, server) = try await connectedPair(harness)
        let answer = try await harness.perform(.shutdown(client, .both))
        #expect(answer == [.shutDown(client, .both), .closed(client, reason: "both directions shut down"), .requestCompleted])
        try await harness.waitFor("the server end to read EOF") { harness.kinds.contains(.peerClosed(server)) }
    }

    @Test func resetSendsRSTAndTheOtherEndSeesECONNRESET() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (client, server) = try await connectedPair(harness)
        let answer = try await harness.perform(.reset(client))
        #expect(answer == [.closed(client, reason: "reset by us (RST sent)"), .requestCompleted])
        try await harness.waitFor("the reset to arrive") { harness.closedReason(of: server) != nil }
        #expect(harness.closedReason(of: server) == "reset by peer")
        #expect(harness.failures(on: server).map(\.code) == ["ECONNRESET"])
        #expect(!harness.kinds.contains(.peerClosed(server)), "a reset is not an orderly FIN")
    }

    @Test(.requires("python3")) func aPythonPeerGetsConnectionResetError() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        let client = try PythonPeer.run("""
        import socket, sys
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        print("CONNECTED", flush=True)
        try:
            data = s.recv(100)
            print("EOF" if not data else "DATA", flush=True)
        except ConnectionResetError:
            print("ECONNRESET", flush=True)
        """, [String(listener.port)])
        #expect(await client.waitForOutput(containing: "CONNECTED"))
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id) == [connection] }
        _ = try await harness.perform(.reset(connection))
        #expect(await client.waitForOutput(containing: "ECONNRESET"), "client said: \(client.output)")
    }

    @Test func shutdownAndResetApplyOnlyToStreamConnections() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        for command: EngineCommand in [.shutdown(listener.id, .write), .reset(listener.id),
                                       .sendFile(listener.id, path: "/etc/hostname")] {
            let answer = try await harness.perform(command)
            #expect(answer.count == 2, "\(answer)")
            #expect(answer.first.map { if case .error(listener.id, _) = $0 { true } else { false } } == true, "\(answer)")
        }
        let unknown = try await harness.perform(.reset(SocketID(.connection, 9)))
        #expect(unknown == [.error(SocketID(.connection, 9), SocketFailure(call: "reset", explanation: "no open connection C9")),
                            .requestCompleted])
        #expect(harness.closedReason(of: listener.id) == nil)
    }
}
