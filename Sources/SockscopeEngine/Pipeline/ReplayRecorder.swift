import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// Records what one stream connection's client side sends, chunk by chunk, for `replay`
/// (`ReplayRecord`): kept inside its `StreamTap`, on the connection's event loop.
///
/// Lean, because every connection that carries data has one (10 000 held connections have
/// 10 000): the chunks are one array, each a 12-byte header (its time, its length) followed
/// by its bytes, so a connection that sent one request costs one small allocation. Bytes are
/// copied, not kept as NIO's buffers: a 64-byte read arrives in a buffer of 256 bytes or
/// more. Only the first `ReplayRecord.connectionLimit` bytes are kept; past that a read
/// costs one addition.
struct ReplayRecorder {
    /// Budget is taken from the store this much at a time: one lock per 16 KiB recorded.
    static let reservation = 16 * 1024
    /// How soon a read must follow a full one to be its continuation (`recordRead`): 2 ms.
    static let continuationWindow: Int64 = 2_000_000

    /// The chunks: per chunk its header (`ReplayChunks.headerSize`), then its bytes.
    private var chunks = ReplayChunks()
    private(set) var total = 0
    /// Budget taken from the store and not yet used.
    private var reserved = 0
    private(set) var stop: ReplayRecordStop?
    /// Whether the last read filled its buffer (more may have been waiting), and when it came.
    private var lastReadFilledItsBuffer = false
    private var lastReadTime: Int64 = 0

    /// A write: one chunk.
    mutating func recordWrite(_ chunk: UnsafeRawBufferPointer, store: ReplayRecordStore) {
        record(chunk, continuing: false, at: Timestamp.now().nanoseconds, store: store)
    }

    /// A read: a chunk of its own, or the rest of the last one when that read filled its
    /// buffer and this one follows at once. A client's write that arrives in one go is read
    /// in pieces the size of the read buffer (256 bytes at first, then growing; NIO also
    /// stops after a few reads and reads on at the next readiness): those pieces are the
    /// receiver's doing, not the client's, and are put back together. A read that filled
    /// its buffer exactly and drained the socket is told apart by time: what follows more
    /// than `continuationWindow` later is a chunk of its own.
    mutating func recordRead(_ chunk: UnsafeRawBufferPointer, filledItsBuffer: Bool, store: ReplayRecordStore) {
        // Past a bound a read is only counted: not even timed.
        guard stop == nil else { return total += chunk.count }
        let now = Timestamp.now().nanoseconds
        let continuing = lastReadFilledItsBuffer && now - lastReadTime < Self.continuationWindow
        record(chunk, continuing: continuing, at: now, store: store)
        lastReadFilledItsBuffer = filledItsBuffer
        lastReadTime = now
    }

    private mutating func record(_ chunk: UnsafeRawBufferPointer, continuing: Bool, at time: Int64, store: ReplayRecordStore) {
        total += chunk.count
        guard stop == nil, !chunk.isEmpty else { return }
        let extends = continuing && !chunks.isEmpty
        // Whole chunks only: a chunk that would pass the bound is not kept, nor is the part
        // of it already read (`end`).
        if chunks.byteCount + chunk.count > store.connectionLimit {
            return end(.connectionLimit, droppingLast: continuing, store: store)
        }
        let cost = chunk.count + (extends ? 0 : ReplayChunks.headerSize)
        if cost > reserved {
            reserved += store.reserve(atLeast: cost - reserved, upTo: max(Self.reservation, cost - reserved))
            guard cost <= reserved else { return end(.sharedLimit, droppingLast: continuing, store: store) }
        }
        reserved -= cost
        if extends { chunks.extendLast(with: chunk) } else { chunks.append(chunk, at: time) }
    }

    /// Counts bytes that are not in memory to record (a file sent by sendfile): the record
    /// stops before them.
    mutating func skipFile(_ count: Int, store: ReplayRecordStore) {
        total += count
        if stop == nil, count > 0 { end(.file, store: store) }
    }

    /// Stops keeping chunks; `droppingLast`: the last chunk was cut short (its rest did not
    /// fit), and is taken back, so a record that stops, stops between two whole chunks.
    private mutating func end(_ why: ReplayRecordStop, droppingLast: Bool = false, store: ReplayRecordStore) {
        stop = why
        if droppingLast { reserved += chunks.removeLast() }
        store.release(reserved)
        reserved = 0
    }

    /// The record so far.
    func record(store: ReplayRecordStore) -> ReplayRecord {
        ReplayRecord(chunks: chunks.decoded, total: total, cut: stop.map { store.text(of: $0) })
    }

    /// The connection closed: its record goes to the store, which keeps it for later replays.
    mutating func finish(_ id: SocketID, store: ReplayRecordStore) {
        store.release(reserved)
        reserved = 0
        store.keep(StoredReplayRecord(chunks: chunks, total: total, stop: stop), of: id)
    }
}

/// Why a record stops before the end of what was sent.
enum ReplayRecordStop: UInt8 {
    case connectionLimit, sharedLimit, file
}

/// Chunks in one array: each a header (its time in nanoseconds, 8 bytes; its length,
/// 4 bytes; both little-endian) followed by its bytes.
struct ReplayChunks {
    static let headerSize = 12

    private var storage: [UInt8] = []
    /// Where the last chunk's header starts.
    private var lastHeader = -1
    /// Bytes of chunks (headers not counted).
    private(set) var byteCount = 0

    var isEmpty: Bool { lastHeader < 0 }
    /// What the chunks take (headers counted).
    var storageCount: Int { storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer, at time: Int64) {
        lastHeader = storage.count
        withUnsafeBytes(of: time.littleEndian) { storage.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { storage.append(contentsOf: $0) }
        storage.append(contentsOf: bytes)
        byteCount += bytes.count
    }

    mutating func extendLast(with bytes: UnsafeRawBufferPointer) {
        let length = Int(storage.loadLittleEndianUInt32(at: lastHeader + 8)) + bytes.count
        storage.storeLittleEndianUInt32(UInt32(length), at: lastHeader + 8)
        storage.append(contentsOf: bytes)
        byteCount += bytes.count
    }

    /// Takes the last chunk back; answers what it took (headers counted).
    mutating func removeLast() -> Int {
        guard !isEmpty else { return 0 }
        let removed = storage.count - lastHeader
        byteCount -= removed - Self.headerSize
        storage.removeSubrange(lastHeader...)
        // The chunk before it, found from the start (this happens once per connection).
        var offset = 0, previous = -1
        while offset < storage.count {
            previous = offset
            offset += Self.headerSize + Int(storage.loadLittleEndianUInt32(at: offset + 8))
        }
        lastHeader = previous
        return removed
    }

    var decoded: [ReplayRecord.Chunk] {
        var chunks: [ReplayRecord.Chunk] = []
        var offset = 0
        while offset < storage.count {
            let time = storage.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
            let length = Int(storage.loadLittleEndianUInt32(at: offset + 8))
            let start = offset + Self.headerSize
            chunks.append(ReplayRecord.Chunk(bytes: Array(storage[start..<start + length]), time: Timestamp(nanoseconds: time)))
            offset = start + length
        }
        return chunks
    }
}

private extension [UInt8] {
    func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
        withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    mutating func storeLittleEndianUInt32(_ value: UInt32, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    }
}

/// A closed connection's record as the store keeps it: in the recorder's lean form,
/// decoded only when asked for.
struct StoredReplayRecord: Sendable {
    var chunks: ReplayChunks
    var total: Int
    var stop: ReplayRecordStop?
}

extension ReplayChunks: Sendable {}

/// The records `replay` reads: the byte budget every connection's recorder draws from
/// (`ReplayRecord.totalLimit`), and the records of connections that closed, given up oldest
/// first when an open connection needs the room. Thread-safe (recorders run on every loop).
final class ReplayRecordStore: Sendable {
    /// What a closed record costs beside its chunks (the store's entry, the array's own
    /// header), rounded up. A chunk's header is counted as it is recorded.
    static let recordOverhead = 128

    /// What a kept record takes from the budget.
    static func cost(of record: StoredReplayRecord) -> Int {
        record.chunks.storageCount + recordOverhead
    }

    private struct State {
        /// Budget taken: reserved by recorders of open connections, or held by closed records.
        var used = 0
        var closed: [SocketID: StoredReplayRecord] = [:]
        /// Closed records, oldest first (ids of records given up already are skipped).
        var closedOrder: [SocketID] = []
        var closedOrderStart = 0

        /// Gives up closed records, oldest first, until `needed` more fits or none is left.
        mutating func makeRoom(for needed: Int, within limit: Int) {
            while used + needed > limit, closedOrderStart < closedOrder.count {
                let oldest = closedOrder[closedOrderStart]
                closedOrderStart += 1
                if let record = closed.removeValue(forKey: oldest) { used -= ReplayRecordStore.cost(of: record) }
            }
            // The order's given-up head is cut off now and then, not per record.
            if closedOrderStart > 1024, closedOrderStart * 2 > closedOrder.count {
                closedOrder.removeFirst(closedOrderStart)
                closedOrderStart = 0
            }
        }
    }

    let connectionLimit: Int
    let totalLimit: Int
    private let state = NIOLockedValueBox(State())

    init(connectionLimit: Int = ReplayRecord.connectionLimit, totalLimit: Int = ReplayRecord.totalLimit) {
        self.connectionLimit = connectionLimit
        self.totalLimit = totalLimit
    }

    /// Takes at least `least` of the budget and up to `most`, giving up closed records
    /// oldest first for the least; answers how much it took: 0 when open connections hold
    /// so much that even `least` cannot be had.
    func reserve(atLeast least: Int, upTo most: Int) -> Int {
        state.withLockedValue { state in
            state.makeRoom(for: least, within: totalLimit)
            guard state.used + least <= totalLimit else { return 0 }
            let taken = min(max(least, most), totalLimit - state.used)
            state.used += taken
            return taken
        }
    }

    func release(_ amount: Int) {
        guard amount > 0 else { return }
        state.withLockedValue { $0.used -= amount }
    }

    /// Keeps a closed connection's record, whose chunks its recorder has paid for; the
    /// record's own overhead is taken now. One that sent nothing is not kept (there is
    /// nothing to replay), nor one there is no room for (open connections hold it all).
    func keep(_ record: StoredReplayRecord, of id: SocketID) {
        let chunksCost = Self.cost(of: record) - Self.recordOverhead
        guard record.total > 0 else { return release(chunksCost) }
        state.withLockedValue { state in
            state.makeRoom(for: Self.recordOverhead, within: totalLimit)
            guard state.used + Self.recordOverhead <= totalLimit else {
                state.used -= chunksCost
                return
            }
            state.used += Self.recordOverhead
            state.closed[id] = record
            state.closedOrder.append(id)
        }
    }

    /// A closed connection's record, if it is still kept.
    func record(of id: SocketID) -> ReplayRecord? {
        state.withLockedValue { $0.closed[id] }.map {
            ReplayRecord(chunks: $0.chunks.decoded, total: $0.total, cut: $0.stop.map(text(of:)))
        }
    }

    /// Why a record stopped, in words.
    func text(of stop: ReplayRecordStop) -> String {
        switch stop {
        case .connectionLimit: "it keeps the first \(ByteCount.text(connectionLimit)) of each connection"
        case .sharedLimit:
            "the records for replay hold \(ByteCount.text(totalLimit)) across connections, all of it taken by open connections"
        case .file: "a file sent by sendfile is not kept"
        }
    }

    /// Budget taken (for tests).
    var used: Int { state.withLockedValue { $0.used } }
}
