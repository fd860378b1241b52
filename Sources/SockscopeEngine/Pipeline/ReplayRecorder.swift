import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// Records what one stream connection's client side sends, chunk by chunk, for `replay`
/// (`ReplayRecord`): kept by its `StreamTap`, on the connection's event loop, made at its
/// first byte (an idle connection pays one reference for it).
///
/// Every byte of each chunk is copied into one growing array (the chunk ends and times
/// beside it), not kept as NIO's buffers: a 64-byte read arrives in a buffer of 256 bytes
/// or more, and keeping those would hold several times the bytes recorded. Only the first
/// `ReplayRecord.connectionLimit` bytes are kept; after that a read costs one addition.
final class ReplayRecorder {
    /// Budget is taken from the store this much at a time: one lock per 16 KiB recorded.
    static let reservation = 16 * 1024

    private let store: ReplayRecordStore
    private var bytes: [UInt8] = []
    private var chunkEnds: [Int] = []
    private var chunkTimes: [Timestamp] = []
    /// Budget taken from the store and not yet used.
    private var reserved = 0
    private(set) var total = 0
    private(set) var cut: String?
    /// Whether the last read filled its buffer (more may have been waiting), and when it came.
    private var lastReadFilledItsBuffer = false
    private var lastReadTime = Timestamp(nanoseconds: 0)

    init(store: ReplayRecordStore) { self.store = store }

    /// A write: one chunk.
    func recordWrite(_ chunk: UnsafeRawBufferPointer) {
        record(chunk, continuing: false, at: .now())
    }

    /// A read: a chunk of its own, or the rest of the last one when that read filled its
    /// buffer and this one follows at once. A client's write that arrives in one go is read
    /// in pieces the size of the read buffer (256 bytes at first, then growing; NIO also
    /// stops after a few reads and reads on at the next readiness): those pieces are the
    /// receiver's doing, not the client's, and are put back together. A read that filled
    /// its buffer exactly and drained the socket is told apart by time: what follows more
    /// than `continuationWindow` later is a chunk of its own.
    func recordRead(_ chunk: UnsafeRawBufferPointer, filledItsBuffer: Bool) {
        // Past a bound a read is only counted: not even timed.
        guard cut == nil else { return total += chunk.count }
        let now = Timestamp.now()
        let continuing = lastReadFilledItsBuffer && now.nanoseconds - lastReadTime.nanoseconds < Self.continuationWindow
        record(chunk, continuing: continuing, at: now)
        lastReadFilledItsBuffer = filledItsBuffer
        lastReadTime = now
    }

    /// How soon a read must follow a full one to be its continuation: 2 ms.
    static let continuationWindow: Int64 = 2_000_000

    private func record(_ chunk: UnsafeRawBufferPointer, continuing: Bool, at time: Timestamp) {
        total += chunk.count
        guard cut == nil, !chunk.isEmpty else { return }
        // Whole chunks only: a chunk that would pass the bound is not kept, nor is the part
        // of it already read (`stop`).
        if bytes.count + chunk.count > store.connectionLimit {
            return stop("it keeps the first \(ByteCount.text(store.connectionLimit)) of each connection", dropsLast: continuing)
        }
        let extends = continuing && !chunkEnds.isEmpty
        // The budget counts what a chunk costs in memory, not only its bytes: a million
        // one-byte records must not pass for a megabyte.
        let cost = chunk.count + (extends ? 0 : ReplayRecordStore.chunkOverhead)
        if cost > reserved {
            reserved += store.reserve(atLeast: cost - reserved, upTo: max(Self.reservation, cost - reserved))
            guard cost <= reserved else {
                return stop("the records for replay hold \(ByteCount.text(store.totalLimit)) across connections, "
                            + "all of it taken by open connections", dropsLast: continuing)
            }
        }
        reserved -= cost
        bytes.append(contentsOf: chunk)
        if extends {
            chunkEnds[chunkEnds.count - 1] = bytes.count
        } else {
            chunkEnds.append(bytes.count)
            chunkTimes.append(time)
        }
    }

    /// Counts bytes that are not in memory to record (a file sent by sendfile): the record
    /// stops before them.
    func skip(_ count: Int, because why: String) {
        total += count
        if cut == nil, count > 0 { stop(why) }
    }

    /// Stops keeping chunks; `dropsLast`: the last chunk was cut short (its rest did not
    /// fit), and is taken back, so a record that stops, stops between two whole chunks.
    private func stop(_ why: String, dropsLast: Bool = false) {
        cut = why
        if dropsLast, !chunkEnds.isEmpty {
            let start = chunkEnds.count > 1 ? chunkEnds[chunkEnds.count - 2] : 0
            reserved += bytes.count - start + ReplayRecordStore.chunkOverhead
            bytes.removeSubrange(start...)
            chunkEnds.removeLast()
            chunkTimes.removeLast()
        }
        store.release(reserved)
        reserved = 0
    }

    /// The record so far.
    var record: ReplayRecord {
        var start = 0
        var chunks: [ReplayRecord.Chunk] = []
        chunks.reserveCapacity(chunkEnds.count)
        for (end, time) in zip(chunkEnds, chunkTimes) {
            chunks.append(ReplayRecord.Chunk(bytes: Array(bytes[start..<end]), time: time))
            start = end
        }
        return ReplayRecord(chunks: chunks, total: total, cut: cut)
    }

    /// The connection closed: its record goes to the store, which keeps it for later replays.
    func finish(_ id: SocketID) {
        store.release(reserved)
        reserved = 0
        store.keep(record, of: id)
    }
}

/// The records `replay` reads: the byte budget every connection's recorder draws from
/// (`ReplayRecord.totalLimit`), and the records of connections that closed, given up oldest
/// first when an open connection needs the room. Thread-safe (recorders run on every loop).
final class ReplayRecordStore: Sendable {
    /// What a chunk costs beside its bytes (its array, its time, its place in the record),
    /// and a record beside its chunks (the store's entry, the record's arrays), rounded up.
    static let chunkOverhead = 64
    static let recordOverhead = 256

    /// What a kept record takes from the budget.
    static func cost(of record: ReplayRecord) -> Int {
        record.keptBytes + record.chunks.count * chunkOverhead + recordOverhead
    }

    private struct State {
        /// Budget taken: reserved by recorders of open connections, or held by closed records.
        var used = 0
        var closed: [SocketID: ReplayRecord] = [:]
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
    func keep(_ record: ReplayRecord, of id: SocketID) {
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
        state.withLockedValue { $0.closed[id] }
    }

    /// Budget taken (for tests).
    var used: Int { state.withLockedValue { $0.used } }
}
