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

    /// An `--echo` listener's clients are load, not conversations: not recorded.
    @Test func anEchoListenersClientsAreNotRecorded() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = try #require(answer.lazy.compactMap { if case .connected(let id, _, _) = $0 { id } else { nil } }.first)
        let server = try await harness.first("the accepted side") { kind -> SocketID? in
            if case .accepted(let id, _, _, _) = kind { id } else { nil }
        }
        _ = try await harness.perform(.send(client, Array("ping".utf8)))
        try await harness.waitFor("the echo") { harness.receivedCount(on: client) == 4 }
        #expect(try await Self.record(of: server, harness) == nil)
        #expect(try await Self.record(of: client, harness)?.chunks.map(\.bytes) == [Array("ping".utf8)], "our own side still is")
    }

    @Test func anUnknownConnectionHasNoRecordAndTheAnswerSaysWhy() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.replayRecord(SocketID(.connection, 9)))
        let failure = try #require(answer.lazy.compactMap { if case .error(_, let failure) = $0 { failure } else { nil } }.first)
        #expect(failure.explanation.contains("keeps no record of what C9's client side sent"), "\(failure.explanation)")
    }

    // MARK: The shared bound

    static func record(_ count: Int, into recorder: inout ReplayRecorder, _ store: ReplayRecordStore) {
        [UInt8](repeating: 0x78, count: count).withUnsafeBytes { recorder.recordWrite($0, store: store) }
    }

    /// Chunks and records are counted with what they cost beside their bytes.
    static let header = ReplayChunks.headerSize, recordCost = 100 + header + ReplayRecordStore.recordOverhead

    @Test func closedRecordsAreGivenUpOldestFirstForAnOpenConnectionsChunks() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 2 * Self.recordCost + 60)
        let ids = (1...3).map { SocketID(.connection, $0) }
        for id in ids.prefix(2) {
            var recorder = ReplayRecorder()
            Self.record(100, into: &recorder, store)
            recorder.finish(id, store: store)
        }
        #expect(store.used == 2 * Self.recordCost)
        var open = ReplayRecorder()
        Self.record(60, into: &open, store)
        #expect(store.record(of: ids[0]) == nil, "the oldest was given up")
        #expect(store.record(of: ids[1])?.keptBytes == 100, "the next is kept")
        #expect(open.stop == nil && open.record(store: store).keptBytes == 60)
        #expect(store.used <= store.totalLimit)
        open.finish(ids[2], store: store)
        #expect(store.used == Self.recordCost + 60 + Self.header + ReplayRecordStore.recordOverhead,
                "only what is kept stays taken: \(store.used)")
    }

    @Test func whenOpenConnectionsHoldTheWholeBoundTheNextChunkIsNotKeptAndTheRecordSaysWhy() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 200)
        var first = ReplayRecorder()
        Self.record(100, into: &first, store)
        var second = ReplayRecorder()
        Self.record(60, into: &second, store)
        let record = second.record(store: store)
        #expect(record.chunks.isEmpty && record.total == 60)
        #expect(record.cut == "the records for replay hold 200 B across connections, all of it taken by open connections",
                "\(String(describing: record.cut))")
        #expect(first.stop == nil && first.record(store: store).keptBytes == 100)
        #expect(store.used <= 200)
    }

    /// Many tiny records are not as many bytes: each costs its overhead, and the oldest go.
    @Test func manySmallClosedRecordsStayWithinTheBoundByWhatTheyCost() {
        let store = ReplayRecordStore(connectionLimit: 100, totalLimit: 64 * 1024)
        for number in 1...5000 {
            var recorder = ReplayRecorder()
            Self.record(1, into: &recorder, store)
            recorder.finish(SocketID(.connection, number), store: store)
        }
        #expect(store.used <= store.totalLimit)
        let kept = (1...5000).filter { store.record(of: SocketID(.connection, $0)) != nil }
        #expect(kept.count == store.used / (1 + Self.header + ReplayRecordStore.recordOverhead))
        #expect(kept.first.map { $0 > 1 } == true && kept.last == 5000, "the newest are kept")
    }

    /// The lean form decodes to the chunks it was given, a read's continuation and a chunk
    /// taken back included.
    @Test func chunksDecodeAsTheyWereRecorded() {
        var chunks = ReplayChunks()
        let parts: [[UInt8]] = [Array("one".utf8), [], Array("two".utf8), [0, 255, 10]]
        parts[0].withUnsafeBytes { chunks.append($0, at: 5) }
        parts[1].withUnsafeBytes { chunks.append($0, at: 6) }
        parts[2].withUnsafeBytes { chunks.append($0, at: 7) }
        parts[3].withUnsafeBytes { chunks.extendLast(with: $0) }
        #expect(chunks.decoded == [ReplayRecord.Chunk(bytes: parts[0], time: Timestamp(nanoseconds: 5)),
                                   ReplayRecord.Chunk(bytes: [], time: Timestamp(nanoseconds: 6)),
                                   ReplayRecord.Chunk(bytes: parts[2] + parts[3], time: Timestamp(nanoseconds: 7))])
        #expect(chunks.byteCount == 9 && chunks.storageCount == 9 + 3 * ReplayChunks.headerSize)
        #expect(chunks.removeLast() == 6 + ReplayChunks.headerSize)
        #expect(chunks.decoded.map(\.bytes) == [parts[0], []])
        #expect(chunks.removeLast() == ReplayChunks.headerSize)
        parts[2].withUnsafeBytes { chunks.extendLast(with: $0) }
        #expect(chunks.decoded.map(\.bytes) == [parts[0] + parts[2]], "the one left is the last again")
    }
}
