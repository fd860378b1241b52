import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// A requested `close` or `shutdown write` is graceful: what is still queued to go out (a
/// file being sent, a large send) leaves first, as with close(2) on data the kernel holds;
/// `reset` drops it. Checked against a Python peer that reads only once told to, so the
/// data is still queued when the close arrives.
@Suite("Graceful close", .timeLimit(.minutes(2)))
struct GracefulCloseTests {
    /// A sink peer waiting for its go flag, and our connection to it.
    struct Setup {
        let harness: EngineHarness
        let peer: SpawnedProcess
        let go: String
        let id = SocketID(.connection, 1)

        /// Lets the peer read.
        func letPeerRead() {
            FileManager.default.createFile(atPath: go, contents: nil)
        }
    }

    func connectToSink() async throws -> Setup {
        let go = TemporaryPath.make(prefix: "go", suffix: ".flag")
        let peer = try PythonPeer.run(PeerScripts.sinkWaitingForGo, [go])
        #expect(await peer.waitForOutput(containing: "PORT "), "peer: \(peer.output)")
        let port = try #require(peer.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        let harness = EngineHarness()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        return Setup(harness: harness, peer: peer, go: go)
    }

    func makeFile(size: Int) async throws -> (path: String, sha256: String) {
        let path = TemporaryPath.make(prefix: "graceful", suffix: ".bin")
        let random = try SpawnedProcess("head", ["-c", "\(size)", "/dev/urandom"], outputPath: path)
        #expect(await random.wait(timeout: .seconds(60)) == 0)
        return (path, try await SHA256Sum.of(path: path))
    }

    @Test func closeRightAfterSendfileSendsTheWholeFileFirst() async throws {
        let setup = try await connectToSink()
        let harness = setup.harness
        defer { harness.shutdown(); setup.peer.kill(SIGKILL) }
        let size = 9 * FileSenderSizes.chunk + 4321
        let file = try await makeFile(size: size)
        defer { unlink(file.path) }
        // Not waiting for the file: the close arrives while all of it is still to send.
        let send = harness.submit(.sendFile(setup.id, path: file.path))
        let close = harness.submit(.close(setup.id))
        setup.letPeerRead()
        #expect(await setup.peer.waitForOutput(containing: "GOT \(size) \(file.sha256)"), "peer: \(setup.peer.output)")
        try await harness.waitFor("the close") { harness.events(for: close).contains(.requestCompleted) }
        #expect(harness.closedReason(of: setup.id) == "closed by us")
        #expect(harness.failures(on: setup.id).isEmpty, "\(harness.failures(on: setup.id))")
        #expect(harness.events(for: send).last == .requestCompleted)
        #expect(harness.sentCount(on: setup.id) == size)
        // Every chunk is reported before the close.
        let about = harness.events(about: setup.id)
        let closedAt = try #require(about.firstIndex { if case .closed = $0 { true } else { false } })
        #expect(about[closedAt...].allSatisfy { if case .sent = $0 { false } else { true } })
    }

    @Test func closeRightAfterALargeSendSendsItAll() async throws {
        let setup = try await connectToSink()
        let harness = setup.harness
        defer { harness.shutdown(); setup.peer.kill(SIGKILL) }
        let file = try await makeFile(size: 16 << 20)
        defer { unlink(file.path) }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path)))
        harness.submit(.send(setup.id, bytes))
        let close = harness.submit(.close(setup.id))
        setup.letPeerRead()
        #expect(await setup.peer.waitForOutput(containing: "GOT \(bytes.count) \(file.sha256)"), "peer: \(setup.peer.output)")
        try await harness.waitFor("the close") { harness.events(for: close).contains(.requestCompleted) }
        #expect(harness.closedReason(of: setup.id) == "closed by us")
        #expect(harness.sentCount(on: setup.id) == bytes.count)
    }

    /// FIN follows the file, and the connection still receives: the peer's answer arrives.
    @Test func shutdownWriteRightAfterSendfileSendsFINAfterTheFile() async throws {
        let setup = try await connectToSink()
        let harness = setup.harness
        defer { harness.shutdown(); setup.peer.kill(SIGKILL) }
        let size = 6 * FileSenderSizes.chunk + 7
        let file = try await makeFile(size: size)
        defer { unlink(file.path) }
        harness.submit(.sendFile(setup.id, path: file.path))
        let shutdown = harness.submit(.shutdown(setup.id, .write))
        // Anything else asked for the output meanwhile is refused at once: FIN is promised.
        let late = try await harness.perform(.send(setup.id, Array("late".utf8)))
        #expect(late.contains { if case .error(_, let failure) = $0 { failure.code == "ESHUTDOWN" } else { false } })
        setup.letPeerRead()
        #expect(await setup.peer.waitForOutput(containing: "GOT \(size) \(file.sha256)"), "peer: \(setup.peer.output)")
        try await harness.waitFor("the peer's answer after our FIN") {
            harness.received(on: setup.id).bytes == Array("DONE \(size)\n".utf8)
        }
        #expect(harness.events(for: shutdown) == [.shutDown(setup.id, .write), .requestCompleted])
        let about = harness.events(about: setup.id)
        let shutAt = try #require(about.firstIndex(of: .shutDown(setup.id, .write)))
        #expect(about[shutAt...].allSatisfy { if case .sent = $0 { false } else { true } }, "FIN comes after every byte")
    }

    /// A peer that never reads holds a graceful close forever; `reset` is the way out, and
    /// the file transfer it cuts short says how far it got.
    @Test func resetDropsWhatAGracefulCloseWaitsFor() async throws {
        let setup = try await connectToSink()
        let harness = setup.harness
        defer { harness.shutdown(); setup.peer.kill(SIGKILL) }
        let size = 48 * FileSenderSizes.chunk
        let file = try await makeFile(size: size)
        defer { unlink(file.path) }
        let send = harness.submit(.sendFile(setup.id, path: file.path))
        let close = harness.submit(.close(setup.id))
        // The kernel's buffers fill and the transfer stalls, the close still waiting.
        try await harness.waitFor("some of the file to leave") { harness.sentCount(on: setup.id) > 0 }
        #expect(harness.closedReason(of: setup.id) == nil)
        let reset = harness.submit(.reset(setup.id))
        try await harness.waitFor("the reset") { harness.events(for: reset).contains(.requestCompleted) }
        #expect(harness.closedReason(of: setup.id) == "reset by us (RST sent)")
        try await harness.waitFor("the close and the file to be answered") {
            harness.events(for: close).contains(.requestCompleted) && harness.events(for: send).contains(.requestCompleted)
        }
        let failure = try #require(harness.events(for: send).compactMap { kind -> SocketFailure? in
            if case .error(_, let failure) = kind { return failure } else { return nil }
        }.first)
        let sent = harness.sentCount(on: setup.id)
        #expect(sent < size)
        #expect(failure.explanation == "C1 closed (reset by us (RST sent)) with \(sent) of \(size) bytes sent")
    }
}
