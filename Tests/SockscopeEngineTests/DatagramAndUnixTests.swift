import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("UDP and UNIX sockets", .timeLimit(.minutes(1)))
struct DatagramAndUnixTests {
    @Test(.requires("python3")) func udpEchoAnswersEachDatagramOnTheListenersId() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0),
                                                                     mode: .echo)))
        guard case .listening(let id, .udp, let local, .echo, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("expected a UDP listener, got \(answer)")
            return
        }
        let client = try PythonPeer.run(PeerScripts.udpClient, [String(port), "datagram"])
        #expect(await client.waitForOutput(containing: "GOT datagram"), "client said: \(client.output)")
        let sender = try await harness.first("the datagram") { kind -> SocketEndpoint? in
            if case .receivedFrom(id, let from, Array("datagram".utf8), 8, false) = kind { return from }
            return nil
        }
        #expect(sender.hasPrefix("127.0.0.1:"))
        try await harness.waitFor("the echo") {
            harness.kinds.contains(.sentTo(id, to: sender, bytes: Array("datagram".utf8), count: 8))
        }

        // .send on a UDP listener answers its latest sender; none is left, but the write works.
        let reply = try await harness.perform(.send(id, Array("late".utf8)))
        #expect(reply.first == .sentTo(id, to: sender, bytes: Array("late".utf8), count: 4))
        let closed = try await harness.perform(.close(id))
        #expect(closed == [.closed(id, reason: "stopped listening"), .requestCompleted])
    }

    @Test(.requires("python3")) func sendToReachesAnyAddressAndDatagramBoundariesAreKept() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0))))
        guard case .listening(let id, .udp, let local, _, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            Issue.record("expected a UDP listener, got \(answer)")
            return
        }
        // A Python socket that sends three datagrams to us, then echoes the one we send it.
        let peer = try PythonPeer.run("""
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(10)
        s.bind(("127.0.0.1", 0))
        print("PORT %d" % s.getsockname()[1], flush=True)
        for word in (b"one", b"two", b"three"):
            s.sendto(word, ("127.0.0.1", int(sys.argv[1])))
        data, sender = s.recvfrom(65536)
        s.sendto(b"echo:" + data, sender)
        print("GOT " + data.decode(), flush=True)
        """, [String(port)])
        #expect(await peer.waitForOutput(containing: "PORT "))
        let peerPort = try #require(peer.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        let from = "127.0.0.1:\(peerPort)"
        try await harness.waitFor("three datagrams") {
            harness.kinds.filter { if case .receivedFrom(id, from, _, _, _) = $0 { true } else { false } }.count == 3
        }
        let words = harness.kinds.compactMap { if case .receivedFrom(id, _, let bytes, _, _) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
        #expect(words == ["one", "two", "three"])

        let sent = try await harness.perform(.sendTo(id, to: .inet(.udp, host: "127.0.0.1", port: peerPort), Array("hello".utf8)))
        #expect(sent == [.sentTo(id, to: SocketEndpoint(from), bytes: Array("hello".utf8), count: 5), .requestCompleted])
        #expect(await peer.waitForOutput(containing: "GOT hello"), "peer said: \(peer.output)")
        try await harness.waitFor("the answer") {
            harness.kinds.contains(.receivedFrom(id, from: SocketEndpoint(from), bytes: Array("echo:hello".utf8), count: 10, truncated: false))
        }

        let unknown = try await harness.perform(.sendTo(id, to: .inet(.udp, host: "no-such-host.invalid", port: 9), [1]))
        #expect(unknown.first.map { if case .error(id, let f) = $0 { f.call == "getaddrinfo" } else { false } } == true,
                "\(unknown)")
        let listener = try await harness.listen()
        let onTCP = try await harness.perform(.sendTo(listener.id, to: .inet(.udp, host: "127.0.0.1", port: peerPort), [1]))
        #expect(onTCP.first.map { if case .error(listener.id, let f) = $0 { f.call == "sendto" } else { false } } == true,
                "\(onTCP)")
    }

    @Test(.requires("python3")) func udpConnectTalksToOnePeer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try PythonPeer.run(PeerScripts.udpEchoServer)
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(server.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: port))))
        let id = SocketID(.connection, 1)
        #expect(answer.count == 3, "\(answer)")
        #expect(answer.dropFirst().first.map { if case .connected(id, _, "127.0.0.1:\(port)") = $0 { true } else { false } } == true)
        _ = try await harness.perform(.send(id, Array("ping".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: id).bytes == Array("ping".utf8) }
        #expect(await server.waitForOutput(containing: "ECHOED"))
        _ = try await harness.perform(.close(id))
        #expect(harness.closedReason(of: id) == "closed by us")
    }

    @Test func aConnectedUDPSocketReportsRefusalAndStaysOpen() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // A UDP port no socket takes our datagrams on: the kernel answers with ICMP port unreachable.
        let unreachable = try ReservedPort.unreachableUDP()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: unreachable.port))))
        let id = SocketID(.connection, 1)
        let sent = try await harness.perform(.send(id, Array("anyone?".utf8)))
        // A datagram, even on a connected socket: one event naming its peer.
        #expect(sent.first == .sentTo(id, to: SocketEndpoint("127.0.0.1:\(unreachable.port)"), bytes: Array("anyone?".utf8), count: 7))
        let failure = try await harness.first("the refusal") { kind -> SocketFailure? in
            if case .error(id, let failure) = kind { return failure }
            return nil
        }
        #expect(failure.code == "ECONNREFUSED")
        // UDP has no RST: the refusal is the ICMP port unreachable the kernel got back.
        #expect(failure.explanation.contains("ICMP port unreachable"), "\(failure.explanation)")
        #expect(!failure.explanation.contains("RST"), "\(failure.explanation)")
        #expect(harness.closedReason(of: id) == nil)
        let again = try await harness.perform(.send(id, [1]))
        #expect(again.count == 2 && again.last == .requestCompleted)
    }

    @Test(.requires("python3")) func unixEchoListenerServesAPythonClientAndRemovesItsPath() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "echo", suffix: ".sock")
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path), mode: .echo)))
        #expect(answer.first.map { if case .listening(_, .unix, path, .echo, _) = $0 { true } else { false } } == true,
                "\(answer)")
        let client = try PythonPeer.run(PeerScripts.unixSendThenRead, [path, "over unix"])
        #expect(await client.waitForOutput(containing: "GOT over unix"), "client said: \(client.output)")
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the close") { harness.closedReason(of: connection) == "peer closed" }
        #expect(harness.events(about: connection).first == .accepted(connection, listener: SocketID(.listener, 1),
                                                                       local: SocketEndpoint(path), remote: "(unnamed)"))

        let connect = try await harness.perform(.connect(ConnectRequest(endpoint: .unix(path: path))))
        #expect(connect.first == .connecting(SocketID(.connection, 2), remote: path))
        #expect(connect.contains { if case .connected(_, _, path) = $0 { true } else { false } }, "\(connect)")

        _ = try await harness.perform(.close(SocketID(.listener, 1)))
        #expect(access(path, F_OK) != 0, "the socket file is removed with its listener")
    }

    @Test func connectingToAMissingUnixPathIsENOENT() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .unix(path: "/nonexistent/sockscope.sock"))))
        let failure = try #require(harness.failures(on: SocketID(.connection, 1)).first, "\(answer)")
        #expect(failure.code == "ENOENT")
        #expect(failure.call == "connect")
    }
}
