import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("UNIX sockets: stale files, abstract names, datagrams, peer credentials", .timeLimit(.minutes(1)))
struct UnixSocketTests {
    /// Leaves a socket file nobody listens on, as a crashed server would.
    private func makeStaleSocketFile() async throws -> String {
        let path = TemporaryPath.make(prefix: "stale", suffix: ".sock")
        let peer = try PythonPeer.run("""
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sys.argv[1])
        s.listen(1)
        print("BOUND", flush=True)
        """, [path])
        _ = await peer.wait()
        #expect(peer.output.contains("BOUND"), "peer said: \(peer.output)")
        return path
    }

    private func listenFailure(_ answer: [EngineEventKind]) -> SocketFailure? {
        guard answer.count == 2, case .error(nil, let failure)? = answer.first else {
            Issue.record("expected .error(nil, ...) then .requestCompleted, got \(answer)")
            return nil
        }
        return failure
    }

    @Test(.requires("python3")) func aStaleSocketFileIsExplainedAndReplacedOnlyWhenAsked() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = try await makeStaleSocketFile()
        defer { unlink(path) }

        let refused = listenFailure(try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path)))))
        #expect(refused?.code == "EADDRINUSE")
        #expect(refused?.explanation.contains("stale socket file") == true, "\(String(describing: refused))")
        #expect(refused?.explanation.contains("--replace") == true)

        var replacing = ListenRequest(endpoint: .unix(path: path), mode: .echo)
        replacing.replaceStale = true
        let answer = try await harness.perform(.listen(replacing))
        guard case .listening(let id, .unix, path, .echo, _)? = answer.first else {
            Issue.record("expected .listening, got \(answer)")
            return
        }
        let client = try PythonPeer.run(PeerScripts.unixSendThenRead, [path, "replaced"])
        #expect(await client.waitForOutput(containing: "GOT replaced"), "client said: \(client.output)")

        // Somebody listens now: that is EADDRINUSE even with --replace, and the file stays.
        let live = listenFailure(try await harness.perform(.listen(replacing)))
        #expect(live?.code == "EADDRINUSE")
        #expect(live?.explanation.contains("already listening") == true, "\(String(describing: live))")
        _ = try await harness.perform(.close(id))
        #expect(access(path, F_OK) != 0)
    }

    @Test func replaceNeverRemovesARegularFile() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = try TemporaryPath.file(prefix: "precious", contents: "keep me")
        defer { unlink(path) }
        var request = ListenRequest(endpoint: .unix(path: path))
        request.replaceStale = true
        let failure = listenFailure(try await harness.perform(.listen(request)))
        #expect(failure?.code == "EADDRINUSE")
        #expect(failure?.explanation.contains("not a socket") == true)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test(.requires("python3")) func abstractNamesInteroperateWithPython() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let name = "@sockscope-test-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: name), mode: .echo)))
        guard case .listening(let id, .unix, let local, _, _)? = answer.first else {
            Issue.record("expected .listening, got \(answer)")
            return
        }
        #expect(local == name)
        let client = try PythonPeer.run("""
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect("\\0" + sys.argv[1][1:])
        s.sendall(b"abstract")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        print("GOT " + data.decode(), flush=True)
        """, [name])
        #expect(await client.waitForOutput(containing: "GOT abstract"), "client said: \(client.output)")

        let connect = try await harness.perform(.connect(ConnectRequest(endpoint: .unix(path: name))))
        #expect(connect.contains { if case .connected(_, _, name) = $0 { true } else { false } }, "\(connect)")
        let connection = try #require(connect.first?.socket)
        _ = try await harness.perform(.send(connection, Array("ours".utf8)))
        try await harness.waitFor("our echo") { harness.received(on: connection).bytes == Array("ours".utf8) }

        _ = try await harness.perform(.close(id))
        let gone = try await harness.perform(.connect(ConnectRequest(endpoint: .unix(path: name))))
        #expect(gone.contains { if case .error(_, let f) = $0 { f.code == "ECONNREFUSED" } else { false } }, "\(gone)")
    }

    @Test(.requires("python3")) func acceptedUnixConnectionsReportThePeersCredentials() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "cred", suffix: ".sock")
        _ = try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path))))
        let client = try PythonPeer.run("""
        import os, socket, sys, time
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        print("PID %d" % os.getpid(), flush=True)
        s.recv(1)
        """, [path])
        #expect(await client.waitForOutput(containing: "PID "))
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the credentials") {
            harness.events(about: connection).contains { if case .peerCredentials = $0 { true } else { false } }
        }
        let events = harness.events(about: connection)
        #expect(events.first.map { if case .accepted = $0 { true } else { false } } == true)
        #expect(events.dropFirst().first == .peerCredentials(connection, pid: client.pid, uid: getuid(), gid: getgid()),
                "\(events)")
    }

    @Test(.requires("python3")) func unixDatagramListenerEchoesNamedSendersAndSurvivesUnnamedOnes() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "dgram", suffix: ".sock")
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unixDatagram(path: path), mode: .echo)))
        guard case .listening(let id, .unixgram, path, .echo, _)? = answer.first else {
            Issue.record("expected .listening, got \(answer)")
            return
        }
        let clientPath = TemporaryPath.make(prefix: "dgram-client", suffix: ".sock")
        defer { unlink(clientPath) }
        let client = try PythonPeer.run("""
        import socket, sys
        anon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        anon.sendto(b"from nobody", sys.argv[1])
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.settimeout(10)
        s.bind(sys.argv[2])
        for word in (b"first", b"second"):
            s.sendto(word, sys.argv[1])
        got = [s.recv(100).decode() for _ in range(2)]
        print("GOT " + ",".join(got), flush=True)
        """, [path, clientPath])
        #expect(await client.waitForOutput(containing: "GOT first,second"), "client said: \(client.output)")
        func received() -> [String] {
            harness.kinds.compactMap { kind -> String? in
                if case .receivedFrom(id, let from, let bytes, _, _) = kind { return "\(from) \(String(decoding: bytes, as: UTF8.self))" }
                return nil
            }
        }
        // Echoes leave at once; the events about them may wait out the engine's traffic window.
        try await harness.waitFor("three datagrams reported") {
            received().count >= 3 && harness.kinds.contains(.sentTo(id, to: SocketEndpoint(clientPath), bytes: Array("second".utf8), count: 6))
        }
        let received = received()
        #expect(received == ["(unnamed) from nobody", "\(clientPath) first", "\(clientPath) second"])
        #expect(harness.kinds.contains(.sentTo(id, to: SocketEndpoint(clientPath), bytes: Array("first".utf8), count: 5)))
        #expect(harness.failures(on: id).count == 1, "the unnamed sender cannot be answered: \(harness.failures(on: id))")
        #expect(harness.closedReason(of: id) == nil)

        // The engine's own client: autobound, so the echo finds its way back.
        let connect = try await harness.perform(.connect(ConnectRequest(endpoint: .unixDatagram(path: path))))
        let connection = try #require(connect.first?.socket)
        guard case .connected(connection, let local, path)? = connect.dropFirst().first else {
            Issue.record("expected .connected, got \(connect)")
            return
        }
        #expect(local.hasPrefix("@"))
        _ = try await harness.perform(.send(connection, Array("engine".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: connection).bytes == Array("engine".utf8) }

        _ = try await harness.perform(.close(id))
        #expect(harness.closedReason(of: id) == "stopped listening")
        #expect(access(path, F_OK) != 0, "the socket file is removed with its listener")
        // Nobody is bound there any more.
        let refused = try await harness.perform(.send(connection, [1]))
        #expect(refused.first.map { if case .error(connection, let f) = $0 { ["ECONNREFUSED", "ENOENT"].contains(f.code) } else { false } } == true,
                "\(refused)")
        _ = try await harness.perform(.close(connection))
        #expect(harness.closedReason(of: connection) == "closed by us")
    }

    @Test(.requires("python3")) func unixDatagramAbstractNamesAndOptions() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let name = "@sockscope-dgram-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unixDatagram(path: name))))
        let id = try #require(answer.first?.socket)
        let client = try PythonPeer.run("""
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"abstract datagram", "\\0" + sys.argv[1][1:])
        print("SENT", flush=True)
        """, [name])
        #expect(await client.waitForOutput(containing: "SENT"))
        try await harness.waitFor("the datagram") {
            harness.kinds.contains(.receivedFrom(id, from: "(unnamed)", bytes: Array("abstract datagram".utf8), count: 17, truncated: false))
        }
        let rcvbuf = try await harness.perform(.setOption(id, .rcvbuf, 65536))
        #expect(rcvbuf.first == .optionValue(id, .rcvbuf, value: 131072))
        let ttl = try await harness.perform(.getOption(id, .ttl))
        #expect(ttl.first.map { if case .error(id, let f) = $0 { f.code == "ENOPROTOOPT" } else { false } } == true, "\(ttl)")
        let shutdown = try await harness.perform(.shutdown(id, .write))
        // A listener has no stream to half-close: refused with the reason, not ignored.
        #expect(shutdown == [.error(id, SocketFailure(call: "shutdown",
                                                      explanation: "shutdown applies to stream connections (TCP, UNIX); \(id) is a listener")),
                             .requestCompleted])
    }

    @Test func sendingToAMissingDatagramPathIsENOENT() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .unixDatagram(path: "/nonexistent/sockscope.dgram"))))
        let failure = try #require(harness.failures(on: SocketID(.connection, 1)).first, "\(answer)")
        #expect(failure.code == "ENOENT")
        #expect(failure.call == "connect")
        #expect(answer.suffix(2) == [.closed(SocketID(.connection, 1), reason: "connect failed"), .requestCompleted])
    }
}
