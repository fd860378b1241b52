import SockscopeCore
@testable import SockscopeEngine
import Testing

/// `.replayRecord`: what a connection's client side sent, chunk by chunk, for `replay`:
/// an accepted connection's reads, an opened one's writes, every byte in its original
/// chunk, open or closed; within a per-connection bound and a shared one, which says so.
@Suite("replay records", .timeLimit(.minutes(1)))
struct ReplayRecordTests {
    /// Connects a client to a listener of the harness: (client, accepted server side).
    static func pair(_ harness: EngineHarness) async throws -> (client: SocketID, server: SocketID) {
        let listener = try await harness.listen()
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = try #require(answer.lazy.compactMap { if case .connected(let id, _, _) = $0 { id } else { nil } }.first)
        let server = try await harness.first("the accepted side") { kind -> SocketID? in
            if case .accepted(let id, _, _, _) = kind { id } else { nil }
        }
        return (client, server)
    }

    static func record(of id: SocketID, _ harness: EngineHarness) async throws -> ReplayRecord? {
        try await harness.perform(.replayRecord(id)).lazy.compactMap {
            if case .replayRecord(id, let record) = $0 { record } else { nil }
        }.first
    }

    /// Sends each chunk from the client once the server has read everything before it, so
    /// each arrives in a read of its own.
    static func sendApart(_ chunks: [[UInt8]], from client: SocketID, to server: SocketID, _ harness: EngineHarness) async throws {
        var total = 0
        for chunk in chunks {
            _ = try await harness.perform(.send(client, chunk))
            total += chunk.count
            let expected = total
            try await harness.waitFor("\(expected) bytes read") { harness.receivedCount(on: server) == expected }
        }
    }

    @Test func bothSidesKeepTheClientsChunksWholeAndInOrderBeforeAndAfterTheClose() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (client, server) = try await Self.pair(harness)
        // Larger than a preview (1 KiB) and than the first read buffer (256 B): one send, several reads.
        let large = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let chunks = [Array("HELO x\r\n".utf8), Array("a".utf8), large]
        try await Self.sendApart(chunks, from: client, to: server, harness)
        // Not the server's own writes: only what the client side sent.
        _ = try await harness.perform(.send(server, Array("250 ok\r\n".utf8)))

        let written = try #require(try await Self.record(of: client, harness))
        #expect(written.chunks.map(\.bytes) == chunks, "the client's writes, one chunk each")
        #expect(written.total == chunks.joined().count && written.cut == nil)
        #expect(zip(written.chunks, written.chunks.dropFirst()).allSatisfy { $0.time <= $1.time })

        let read = try #require(try await Self.record(of: server, harness))
        // 5000 bytes written at once take several reads (a 256-byte buffer at first, and NIO
        // reads on at the next readiness): still the one chunk the client wrote.
        #expect(read.chunks.map(\.bytes) == chunks, "the client's chunks, as they arrived")
        #expect(read.total == chunks.joined().count && read.cut == nil)

        _ = try await harness.perform(.close(client))
        _ = try await harness.perform(.close(server))
        #expect(try await Self.record(of: client, harness) == written, "kept after the close")
        #expect(try await Self.record(of: server, harness) == read, "kept after the close")
    }

    @Test func aConnectionsRecordStopsAtItsBoundBetweenChunksAndSaysSo() async throws {
        let harness = EngineHarness(replayRecords: ReplayRecordStore(connectionLimit: 1000, totalLimit: 1 << 20))
        defer { harness.shutdown() }
        let (client, server) = try await Self.pair(harness)
        let chunks = [[UInt8](repeating: 0x61, count: 600), [UInt8](repeating: 0x62, count: 600), Array("c".utf8)]
        try await Self.sendApart(chunks, from: client, to: server, harness)
        for id in [client, server] {
            let record = try #require(try await Self.record(of: id, harness))
            #expect(record.chunks.map(\.bytes) == [chunks[0]], "whole chunks only, up to the bound")
            #expect(record.total == 1201, "every byte counted")
            #expect(record.cut == "it keeps the first 1000 B of each connection", "\(String(describing: record.cut))")
        }
    }

    @Test func anUnknownConnectionHasNoRecordAndTheAnswerSaysWhy() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.replayRecord(SocketID(.connection, 9)))
        let failure = try #require(answer.lazy.compactMap { if case .error(_, let failure) = $0 { failure } else { nil } }.first)
        #expect(failure.explanation.contains("keeps no record of what C9's client side sent"), "\(failure.explanation)")
    }

    // MARK: The shared bound

    static func record(_ count: Int, into recorder: ReplayRecorder) {
        [UInt8](repeating: 0x78, count: count).withUnsafeBytes { recorder.recordWrite($0) }
    }

    /// Chunks and records are counted with what they cost beside their bytes.
    static let chunkCost = 100 + ReplayRecordStore.chunkOverhead, recordCost = chunkCost + ReplayRecordStore.recordOverhead

    @Test func closedRecordsAreGivenUpOldestFirstForAnOpenConnectionsChunks() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 2 * Self.recordCost + 60)
        let ids = (1...3).map { SocketID(.connection, $0) }
        for id in ids.prefix(2) {
            let recorder = ReplayRecorder(store: store)
            Self.record(100, into: recorder)
            recorder.finish(id)
        }
        #expect(store.used == 2 * Self.recordCost)
        let open = ReplayRecorder(store: store)
        Self.record(60, into: open)
        #expect(store.record(of: ids[0]) == nil, "the oldest was given up")
        #expect(store.record(of: ids[1])?.keptBytes == 100, "the next is kept")
        #expect(open.cut == nil && open.record.keptBytes == 60)
        #expect(store.used <= store.totalLimit)
        open.finish(ids[2])
        #expect(store.used == Self.recordCost + 60 + ReplayRecordStore.chunkOverhead + ReplayRecordStore.recordOverhead,
                "only what is kept stays taken: \(store.used)")
    }

    @Test func whenOpenConnectionsHoldTheWholeBoundTheNextChunkIsNotKeptAndTheRecordSaysWhy() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 200)
        let first = ReplayRecorder(store: store)
        Self.record(100, into: first)
        let second = ReplayRecorder(store: store)
        Self.record(60, into: second)
        #expect(second.record.chunks.isEmpty && second.total == 60)
        #expect(second.cut == "the records for replay hold 200 B across connections, all of it taken by open connections",
                "\(String(describing: second.cut))")
        #expect(first.cut == nil && first.record.keptBytes == 100)
        #expect(store.used <= 200)
    }

    /// A million tiny records are not a megabyte: each costs its overhead, and the oldest go.
    @Test func manySmallClosedRecordsStayWithinTheBoundByWhatTheyCost() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 64 * 1024)
        for number in 1...5000 {
            let recorder = ReplayRecorder(store: store)
            Self.record(1, into: recorder)
            recorder.finish(SocketID(.connection, number))
        }
        #expect(store.used <= store.totalLimit)
        let kept = (1...5000).filter { store.record(of: SocketID(.connection, $0)) != nil }
        #expect(kept.count == store.used / (1 + ReplayRecordStore.chunkOverhead + ReplayRecordStore.recordOverhead))
        #expect(kept.first.map { $0 > 1 } == true && kept.last == 5000, "the newest are kept")
    }
}
