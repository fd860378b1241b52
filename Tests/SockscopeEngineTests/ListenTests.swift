import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("Listening and serving", .timeLimit(.minutes(2)))
struct ListenTests {
    @Test func listeningOnPortZeroReportsTheKernelChosenPort() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0),
                                                                     mode: .echo, backlog: 64)))
        #expect(answer.count == 2)
        guard case .listening(let id, .tcp, let local, .echo, 64)? = answer.first else {
            Issue.record("expected .listening first, got \(answer)")
            return
        }
        #expect(id == SocketID(.listener, 1))
        let port = try #require(EngineHarness.port(of: local))
        #expect(port > 0)
        #expect(local == "127.0.0.1:\(port)")
        #expect(answer.last == .requestCompleted)
    }

    @Test func listenersAndConnectionsAreNumberedInOrder() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let first = try await harness.listen()
        let second = try await harness.listen()
        #expect(first.id == SocketID(.listener, 1))
        #expect(second.id == SocketID(.listener, 2))
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: first.port))))
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: first.id).count == 1 }
        // The outgoing connection takes C1 when requested; the accepted end is C2.
        #expect(harness.acceptedConnections(on: first.id) == [SocketID(.connection, 2)])
    }

    @Test func listensOnIPv6Loopback() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.tcp, host: "::1", port: 0))))
        guard case .listening(_, .tcp, let local, _, _)? = answer.first else {
            Issue.record("expected .listening, got \(answer)")
            return
        }
        #expect(local.hasPrefix("[::1]:"))
        let port = try #require(EngineHarness.port(of: local))
        let answerToConnect = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "::1", port: port))))
        #expect(answerToConnect.contains { if case .connected(_, _, "[::1]:\(port)") = $0 { true } else { false } })
    }

    @Test(.requires("python3")) func echoAnswersAPythonClientAndClosesAfterItsEOF() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let client = try PythonPeer.run(PeerScripts.sendThenRead, [String(listener.port), "hello, echo"])
        #expect(await client.waitForOutput(containing: "GOT hello, echo"), "client said: \(client.output)")
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the connection to close") { harness.closedReason(of: connection) != nil }
        let kinds = harness.events(about: connection)
        guard case .accepted(connection, listener: listener.id, let local, let remote)? = kinds.first else {
            Issue.record("expected .accepted first, got \(kinds)")
            return
        }
        #expect(local == "127.0.0.1:\(listener.port)")
        #expect(remote.hasPrefix("127.0.0.1:"))
        #expect(harness.received(on: connection).bytes == Array("hello, echo".utf8))
        #expect(harness.sentCount(on: connection) == 11)
        #expect(!kinds.contains(.peerClosed(connection)), "echo closes on EOF instead of reporting it")
        #expect(kinds.last == .closed(connection, reason: "peer closed"))
        #expect(harness.closedReason(of: listener.id) == nil, "the listener keeps listening")
    }

    @Test(.requires("python3")) func replyGreetsEveryClient() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let greeting = "220 sockscope ready\r\n"
        let listener = try await harness.listen(.reply(Array(greeting.utf8)))
        for _ in 0..<2 {
            let client = try PythonPeer.run(PeerScripts.readGreeting, [String(listener.port), String(greeting.utf8.count)])
            #expect(await client.waitForOutput(containing: "GOT 220 sockscope ready"), "client said: \(client.output)")
        }
        try await harness.waitFor("two greetings sent") {
            harness.sentCount(on: SocketID(.connection, 1)) == greeting.utf8.count
                && harness.sentCount(on: SocketID(.connection, 2)) == greeting.utf8.count
        }
    }

    @Test(.requires("python3")) func discardCountsAndNeverAnswers() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.discard)
        let client = try PythonPeer.run(PeerScripts.sendThenRead, [String(listener.port), "into the void"])
        #expect(await client.waitForOutput(containing: "GOT "), "client said: \(client.output)")
        #expect(client.output.contains("GOT \n"), "discard must not answer; client said: \(client.output)")
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the connection to close") { harness.closedReason(of: connection) != nil }
        #expect(harness.received(on: connection).count == 13)
        #expect(harness.sentCount(on: connection) == 0)
        #expect(harness.closedReason(of: connection) == "peer closed")
    }

    @Test(.requires("python3")) func manyClientsGetTheirOwnConnectionsAndOneResettingDisturbsNoOther() async throws {
        let harness = EngineHarness(threads: 2)
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let clients = 20
        let peer = try PythonPeer.run(PeerScripts.manyClients, [String(listener.port), String(clients)])
        #expect(await peer.waitForOutput(containing: "SECOND ROUND OK", timeout: .seconds(30)), "peer said: \(peer.output)")
        // Echoes leave at once; the events about them may wait out the engine's traffic window.
        try await harness.waitFor("every client's accept") { harness.acceptedConnections(on: listener.id).count >= clients }
        let accepted = harness.acceptedConnections(on: listener.id)
        #expect(accepted.count == clients)
        #expect(Set(accepted).count == clients)
        try await harness.waitFor("every connection to close") {
            accepted.allSatisfy { harness.closedReason(of: $0) != nil }
        }
        // Exactly one was reset; it got an ECONNRESET error, everyone else ended normally.
        let reset = accepted.filter { harness.closedReason(of: $0) == "reset by peer" }
        #expect(reset.count == 1)
        if let reset = reset.first {
            #expect(harness.failures(on: reset).map(\.code) == ["ECONNRESET"])
        }
        for id in accepted where !reset.contains(id) {
            #expect(harness.closedReason(of: id) == "peer closed")
            #expect(harness.failures(on: id).isEmpty)
            #expect(harness.receivedCount(on: id) == harness.sentCount(on: id))
        }
        #expect(harness.closedReason(of: listener.id) == nil)
        #expect(harness.failures(on: listener.id).isEmpty)
    }

    @Test(.requires("python3")) func interactiveConnectionReportsAResetByThePeer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        let client = try PythonPeer.run(PeerScripts.resetClient, [String(listener.port)])
        #expect(await client.waitForOutput(containing: "RESET"))
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the reset") { harness.closedReason(of: connection) != nil }
        #expect(harness.closedReason(of: connection) == "reset by peer")
        let failures = harness.failures(on: connection)
        #expect(failures.map(\.code) == ["ECONNRESET"])
        #expect(failures.first?.errno == ECONNRESET)
        let kinds = harness.events(about: connection)
        let errorIndex = kinds.firstIndex { if case .error = $0 { true } else { false } }
        let closedIndex = kinds.firstIndex { if case .closed = $0 { true } else { false } }
        #expect(errorIndex != nil && closedIndex != nil && errorIndex! < closedIndex!, "error before closed: \(kinds)")
    }

    @Test(.requires("python3")) func writingToAPeerThatResetFailsAsAWriteNotARead() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.interactive)
        let client = try PythonPeer.run(PeerScripts.sendThenClose, [String(listener.port), "bye"])
        #expect(await client.waitForOutput(containing: "CLOSED"))
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the peer's EOF") { harness.kinds.contains(.peerClosed(connection)) }
        // The peer's socket is gone: its kernel answers our bytes with RST, after which the
        // kernel fails writes with EPIPE. Send until the connection dies.
        let deadline = ContinuousClock.now + .seconds(10)
        while harness.closedReason(of: connection) == nil && ContinuousClock.now < deadline {
            _ = try await harness.perform(.send(connection, Array("anyone?".utf8)))
        }
        let failures = harness.failures(on: connection)
        #expect(failures.contains { $0.errno == EPIPE }, "\(harness.events(about: connection))")
        for failure in failures where failure.errno == EPIPE {
            #expect(["write", "send"].contains(failure.call), "EPIPE is a write's failure: \(failure)")
        }
    }

    @Test(.requires("python3")) func peerHalfCloseIsReportedAndWeCanStillSend() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.interactive)
        let client = try PythonPeer.run(PeerScripts.sendThenRead, [String(listener.port), "question?"])
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the peer's EOF") { harness.kinds.contains(.peerClosed(connection)) }
        #expect(harness.received(on: connection).bytes == Array("question?".utf8))
        let sent = try await harness.perform(.send(connection, Array("answer!".utf8)))
        #expect(sent.first == .sent(connection, bytes: Array("answer!".utf8), count: 7))
        let closed = try await harness.perform(.close(connection))
        #expect(closed == [.closed(connection, reason: "closed by us"), .requestCompleted])
        #expect(await client.waitForOutput(containing: "GOT answer!"), "client said: \(client.output)")
    }

    @Test func closingAListenerKeepsItsConnectionsOpen() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let outgoing = SocketID(.connection, 1)
        let accepted = SocketID(.connection, 2)
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id) == [accepted] }

        let closed = try await harness.perform(.close(listener.id))
        #expect(closed == [.closed(listener.id, reason: "stopped listening"), .requestCompleted])

        _ = try await harness.perform(.send(outgoing, Array("still here".utf8)))
        try await harness.waitFor("data on the accepted connection") { harness.received(on: accepted).count == 10 }
        let refused = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        #expect(refused.contains { if case .error(_, let failure) = $0 { failure.code == "ECONNREFUSED" } else { false } },
                "\(refused)")
        let again = try await harness.perform(.close(listener.id))
        #expect(again.count == 2)
        #expect(again.first.map { if case .error(listener.id, _) = $0 { true } else { false } } == true)
    }

    @Test(.requires("python3")) func echoStopsReadingWhileThePeerDoesNotReadAndLosesNothing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        // More than every buffer on the way can hold while the engine does not read: up to
        // 32 MiB of our receive buffer (tcp_rmem's maximum here), 4 MiB of each send buffer
        // and what the engine took in, so "SENT ALL" can only mean it kept reading.
        let total = 64 << 20
        let go = TemporaryPath.make(prefix: "go")
        defer { unlink(go) }
        let client = try PythonPeer.run(PeerScripts.floodThenRead, [String(listener.port), String(total), go])
        let connection = SocketID(.connection, 1)

        // Wait until the engine has stopped taking data in (the peer reads nothing yet).
        var last = -1
        var stableSince = ContinuousClock.now
        let stalled = await waitUntil(timeout: .seconds(30), poll: .milliseconds(20)) {
            let now = harness.receivedCount(on: connection)
            if now != last {
                last = now
                stableSince = .now
            }
            return now > 0 && ContinuousClock.now - stableSince > .milliseconds(400)
        }
        #expect(stalled, "the engine kept reading: \(last) bytes")
        #expect(last < 12 << 20, "the engine buffered \(last) bytes for a peer that does not read")
        #expect(!client.output.contains("SENT ALL"))

        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(await client.waitForOutput(containing: "GOT \(total)", timeout: .seconds(60)), "client said: \(client.output)")
        try await harness.waitFor("the echo to finish", timeout: .seconds(30)) {
            harness.sentCount(on: connection) == total
        }
        #expect(harness.receivedCount(on: connection) == total)
        Self.expectPreviewsFollowTheStream(harness.events(about: connection))
    }

    @Test(.requires("python3")) func anEchoPeerThatResetsWithEchoesQueuedHasOnlyWhatLeftCounted() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        // Sends without reading until the echoes back up, then resets (SO_LINGER 0).
        let client = try PythonPeer.run("""
            import socket, struct, sys
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", int(sys.argv[1])))
            s.settimeout(0.5)
            block = bytes(range(256)) * 256
            sent = 0
            try:
                while sent < 64 << 20:
                    sent += s.send(block)
            except socket.timeout:
                pass
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            print("RESET AFTER %d" % sent, flush=True)
            """, [String(listener.port)])
        #expect(await client.waitForOutput(containing: "RESET AFTER"), "client said: \(client.output)")
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the connection to close", timeout: .seconds(30)) { harness.closedReason(of: connection) != nil }

        let about = harness.events(about: connection)
        let received = harness.receivedCount(on: connection), sent = harness.sentCount(on: connection)
        #expect(received > 0)
        #expect(sent <= received, "counted \(sent) B of echo for \(received) B received")
        let closedAt = try #require(about.firstIndex { if case .closed = $0 { true } else { false } })
        #expect(!about[closedAt...].contains { if case .sent = $0 { true } else if case .received = $0 { true } else { false } },
                "traffic reported after the close")
        Self.expectPreviewsFollowTheStream(about)
        // The engine goes on serving.
        let next = try PythonPeer.run(PeerScripts.sendThenRead, [String(listener.port), "still here"])
        #expect(await next.waitForOutput(containing: "GOT still here"), "client said: \(next.output)")
    }

    /// Every report's preview is the stream at the report's offset (byte k is k % 256),
    /// however the echoes queued up: a preview may come short, never wrong.
    static func expectPreviewsFollowTheStream(_ about: [EngineEventKind],
                                              sourceLocation: SourceLocation = #_sourceLocation) {
        for isReceived in [true, false] {
            var offset = 0
            for kind in about {
                let report: (bytes: [UInt8], count: Int)
                switch kind {
                case .received(_, let bytes, let count) where isReceived: report = (bytes, count)
                case .sent(_, let bytes, let count) where !isReceived: report = (bytes, count)
                default: continue
                }
                let expected = (offset..<(offset + report.bytes.count)).map { UInt8($0 % 256) }
                #expect(report.bytes == expected, "\(isReceived ? "received" : "sent") preview at offset \(offset)",
                        sourceLocation: sourceLocation)
                offset += report.count
            }
        }
    }
}
