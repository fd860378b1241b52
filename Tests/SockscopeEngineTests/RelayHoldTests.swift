import Foundation
import NIOCore
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// `hold`, `forward`, `drop`, `edit`, `release` on real sockets: a client and a server on
/// loopback, the relay between them; what the server receives is checked chunk by chunk.
@Suite(.timeLimit(.minutes(2))) struct RelayHoldTests {
    /// A server (a listener of the engine), a relay to it, and a client connected through it.
    static func setUp(_ harness: EngineHarness) async throws -> (relay: SocketID, client: SocketID, server: () -> SocketID?) {
        let (listener, serverPort) = try await harness.listen()
        let (relay, port) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        guard case .connected(let client, _, _)? = answer.first(where: { if case .connected = $0 { true } else { false } }) else {
            throw EngineHarness.Timeout(what: "connected", events: harness.events)
        }
        try await harness.waitFor("the server accepted") { !harness.acceptedConnections(on: listener).isEmpty }
        return (relay, client, { harness.acceptedConnections(on: listener).first })
    }

    static func heldCount(_ harness: EngineHarness) -> Int {
        harness.kinds.filter { if case .relay(.held) = $0 { true } else { false } }.count
    }

    @Test func heldChunksReachTheServerOnlyWhenForwardedEditedOrReleasedAndDroppedOnesNever() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, client, server) = try await Self.setUp(harness)
        let serverID = try #require(server())
        _ = try await harness.perform(.hold(relay, .hold(.up, .line)))

        // Three lines in one write: three held chunks, the server gets nothing.
        _ = try await harness.perform(.send(client, Array("one\ntwo\r\nthree\n".utf8)))
        try await harness.waitFor("three held lines") { Self.heldCount(harness) == 3 }
        let helds = harness.kinds.compactMap { kind -> [UInt8]? in
            if case .relay(.held(_, .client, relay: relay, _, let bytes, _, _, _)) = kind { return bytes }
            return nil
        }
        #expect(helds == [Array("one\n".utf8), Array("two\r\n".utf8), Array("three\n".utf8)])
        let counts = harness.kinds.compactMap { kind -> Int? in
            if case .relay(.held(_, .client, relay: relay, _, _, _, let heldChunks, _)) = kind { return heldChunks }
            return nil
        }
        #expect(counts == [1, 2, 3], "each chunk's event counts the chunks held up to it")
        #expect(harness.receivedCount(on: serverID) == 0)

        _ = try await harness.perform(.hold(relay, .forward(1)))
        try await harness.waitFor("the first line arrives") { harness.receivedCount(on: serverID) == 4 }
        #expect(harness.received(on: serverID).bytes == Array("one\n".utf8))

        _ = try await harness.perform(.hold(relay, .drop(1)))
        try await harness.waitFor("the drop told") {
            harness.kinds.contains { if case .relay(.heldOut(_, _, _, .dropped, 1, 5, 1, 6)) = $0 { true } else { false } }
        }
        _ = try await harness.perform(.hold(relay, .edit(Array("THREE!\n".utf8))))
        try await harness.waitFor("the edited line arrives") { harness.receivedCount(on: serverID) == 11 }
        #expect(harness.received(on: serverID).bytes == Array("one\nTHREE!\n".utf8))

        // Nothing is held now: a partial line waits, release lets it go and stops holding.
        _ = try await harness.perform(.send(client, Array("tail".utf8)))
        try await harness.waitFor("the client sent") { harness.sentCount(on: client) == 19 }
        _ = try await harness.perform(.hold(relay, .release))
        try await harness.waitFor("the tail arrives") { harness.receivedCount(on: serverID) == 15 }
        _ = try await harness.perform(.send(client, Array("free".utf8)))
        try await harness.waitFor("then it flows") { harness.receivedCount(on: serverID) == 19 }
        #expect(harness.received(on: serverID).bytes == Array("one\nTHREE!\ntailfree".utf8))
        let nothing = try await harness.perform(.hold(relay, .forward(1)))
        #expect(nothing.contains { if case .error(_, let failure) = $0 { failure.explanation.contains("nothing held") } else { false } })
    }

    @Test func aLength32HoldCutsFramesAndAnEditGetsANewPrefix() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, client, server) = try await Self.setUp(harness)
        let serverID = try #require(server())
        _ = try await harness.perform(.hold(relay, .hold(.up, .len32)))
        // A frame of 3 and the first half of a frame of 4: one chunk, 2 bytes pending.
        _ = try await harness.perform(.send(client, [0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 4, 0x77, 0x78]))
        try await harness.waitFor("one frame held") { Self.heldCount(harness) == 1 }
        _ = try await harness.perform(.send(client, [0x79, 0x7a]))
        try await harness.waitFor("the second frame held") { Self.heldCount(harness) == 2 }
        #expect(harness.receivedCount(on: serverID) == 0)
        _ = try await harness.perform(.hold(relay, .edit(Array("hello".utf8))))
        try await harness.waitFor("the edit arrives") { harness.receivedCount(on: serverID) == 9 }
        _ = try await harness.perform(.hold(relay, .forward(1)))
        try await harness.waitFor("the second arrives") { harness.receivedCount(on: serverID) == 17 }
        #expect(harness.received(on: serverID).bytes == [0, 0, 0, 5] + Array("hello".utf8) + [0, 0, 0, 4, 0x77, 0x78, 0x79, 0x7a])
    }

    /// At the bound the client leg stops reading: the relay holds the bound plus what NIO had
    /// already read in that burst (at most `maxMessagesPerRead` (4) reads of at most 1 MiB), and
    /// the rest waits in the kernel and the client's socket until room is made.
    @Test func holdingStopsReadingAtTheBoundAndResumesWhenRoomIsMade() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, client, server) = try await Self.setUp(harness)
        let serverID = try #require(server())
        _ = try await harness.perform(.hold(relay, .hold(.up, .raw)))
        let total = 24 * 1024 * 1024
        let burst = 4 * 1024 * 1024
        _ = harness.submit(.send(client, [UInt8](repeating: 0x41, count: total)))
        let full = try await harness.first("hold-full") { kind -> Int? in
            if case .relay(.holdFull(_, _, _, let held, let bound)) = kind, bound == RelayHoldBook.bound { return held }
            return nil
        }
        #expect(full >= RelayHoldBook.bound)
        let heldBytes = { harness.kinds.reduce(0) { if case .relay(.held(_, _, _, _, _, let count, _, _)) = $1 { $0 + count } else { $0 } } }
        // A negative check needs a window: while the client still has megabytes to send, the
        // relay must not hold more than the bound and one burst (a leg that read on would).
        await #expect(throws: EngineHarness.Timeout.self) {
            try await harness.waitFor("more held than the bound and one burst", timeout: .seconds(2)) {
                heldBytes() > RelayHoldBook.bound + burst
            }
        }
        #expect(harness.receivedCount(on: serverID) == 0)
        #expect(!harness.kinds.contains { if case .relay(.resumed) = $0 { true } else { false } })
        _ = try await harness.perform(.hold(relay, .release))
        try await harness.waitFor("everything arrives", timeout: .seconds(60)) { harness.receivedCount(on: serverID) == total }
        #expect(harness.kinds.contains { if case .relay(.resumed) = $0 { true } else { false } })
    }
}

/// The framer alone: NIOExtras' decoders, with each frame's own bytes kept.
@Suite struct RelayHoldFramerTests {
    @Test func linesKeepTheirDelimitersAcrossReads() {
        let framer = RelayHoldFramer(.line)
        #expect(framer.frames(after: ByteBuffer(string: "ab\r")).isEmpty)
        let frames = framer.frames(after: ByteBuffer(string: "\ncd\nef"))
        #expect(frames.map { String(buffer: $0) } == ["ab\r\n", "cd\n"])
        #expect(framer.pendingBytes == 2)
        #expect(framer.takeRest().map { String(buffer: $0) } == "ef")
    }

    @Test func len16FramesKeepTheirPrefix() {
        let framer = RelayHoldFramer(.len16)
        let frames = framer.frames(after: ByteBuffer(bytes: [0, 2, 0x61, 0x62, 0, 1]))
        #expect(frames.map { Array($0.readableBytesView) } == [[0, 2, 0x61, 0x62]])
        #expect(framer.frames(after: ByteBuffer(bytes: [0x63])).map { Array($0.readableBytesView) } == [[0, 1, 0x63]])
    }
}
