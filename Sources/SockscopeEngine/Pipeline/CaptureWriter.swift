import Foundation
import Glibc
import NIOConcurrencyHelpers
import SockscopeCore

/// A record's payload: where its bytes lie in the batch's arena (`CaptureWriter.submit`
/// copies them there, so a read costs no allocation of its own), or bytes of its own once a
/// record outlives its batch (`CaptureWriter.take` holding a TLS read).
enum CapturedBytes: Sendable {
    case arena(Range<Int>)
    case owned([UInt8])

    var count: Int {
        switch self {
        case .arena(let range): range.count
        case .owned(let bytes): bytes.count
        }
    }
}

/// What a capture tap saw, handed to the writer thread (times in microseconds since the epoch).
/// Taps submit a record with its payload apart (`submit(_:payload:)`); `.arena(0..<0)` stands
/// in for it until the writer places it.
enum CaptureRecord: Sendable {
    case tcpOpen(PacketSynthesis.FlowKey, local: SocketEndpoint, remote: SocketEndpoint, initiatedLocally: Bool,
                 name: String, midStream: Bool, time: Int64)
    case tcpData(PacketSynthesis.FlowKey, fromLocal: Bool, CapturedBytes, time: Int64)
    /// Bytes read or written that were dropped (the queue was full): their count only.
    case tcpGap(PacketSynthesis.FlowKey, fromLocal: Bool, count: Int)
    case tcpFin(PacketSynthesis.FlowKey, fromLocal: Bool, time: Int64)
    case tcpReset(PacketSynthesis.FlowKey, fromLocal: Bool, time: Int64)
    case tcpClosed(PacketSynthesis.FlowKey)
    case udpOpen(PacketSynthesis.FlowKey, name: String)
    case datagram(PacketSynthesis.FlowKey, local: SocketEndpoint, remote: SocketEndpoint, fromLocal: Bool, CapturedBytes,
                  time: Int64)
    /// NSS key log lines from a TLS handshake: a Decryption Secrets Block.
    case tlsKeyLog([UInt8])
    /// A read on a TLS connection, submitted before swift-nio-ssl handles it; `readDone` follows
    /// once it has. The secrets it yields (a server's hello gives a client its handshake keys)
    /// must precede it in the file, where Wireshark looks them up, so its packets and anything
    /// else of its connection wait until then.
    case tlsRead(PacketSynthesis.FlowKey, CapturedBytes, time: Int64)
    case readDone(PacketSynthesis.FlowKey)

    /// The connection or socket the record is about; nil for key lines.
    var flow: PacketSynthesis.FlowKey? {
        switch self {
        case .tcpOpen(let key, _, _, _, _, _, _), .tcpData(let key, _, _, _), .tcpGap(let key, _, _), .tcpFin(let key, _, _),
             .tcpReset(let key, _, _), .tcpClosed(let key), .udpOpen(let key, _), .datagram(let key, _, _, _, _, _),
             .tlsRead(let key, _, _), .readDone(let key):
            key
        case .tlsKeyLog:
            nil
        }
    }

    /// Payload bytes held.
    var payloadCount: Int {
        switch self {
        case .tcpData(_, _, let bytes, _), .datagram(_, _, _, _, let bytes, _), .tlsRead(_, let bytes, _): bytes.count
        case .tlsKeyLog(let bytes): bytes.count
        default: 0
        }
    }

    /// The same record with its payload at `bytes`.
    func with(_ bytes: CapturedBytes) -> CaptureRecord {
        switch self {
        case .tcpData(let key, let fromLocal, _, let time): .tcpData(key, fromLocal: fromLocal, bytes, time: time)
        case .datagram(let key, let local, let remote, let fromLocal, _, let time):
            .datagram(key, local: local, remote: remote, fromLocal: fromLocal, bytes, time: time)
        case .tlsRead(let key, _, let time): .tlsRead(key, bytes, time: time)
        default: self
        }
    }

    /// The stand-in payload of a record being submitted.
    static let unplaced = CapturedBytes.arena(0..<0)

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}

/// Payload bytes of one batch of records, one after another, in memory of a fixed size taken
/// once per capture: the tap copies into it (no allocation per read or write), the writer
/// reads it, and two of them take turns, so a capture never holds more than two arenas of
/// payload, however fast the sockets go (peak RSS measured in BENCHMARKS.md).
final class CaptureArena: @unchecked Sendable {
    let capacity: Int
    private let base: UnsafeMutableRawPointer
    /// Bytes in use. Read and written under the writer's `queue` lock while the arena is the
    /// one records go to, and by the writer thread alone while it writes the batch.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Where `bytes` went; nil when they do not fit.
    func append(_ bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard bytes.count <= capacity - count else { return nil }
        if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        defer { count += bytes.count }
        return count ..< count + bytes.count
    }

    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    func empty() { count = 0 }
}

/// Writes a capture to disk on a thread of its own, so the event loops never wait for the
/// disk: taps hand it records (`submit`: a lock, an append and a copy of the payload into the
/// batch's `CaptureArena`), it turns them into packets (`PacketSynthesis`) and writes them out.
///
/// Bounded: at most `arenaCapacity` payload bytes wait while as many are written. A record
/// that does not fit is dropped and counted (the summary says how many); a dropped read or
/// write still moves its connection's sequence numbers on, so Wireshark shows the hole
/// ("previous segment not captured").
///
/// The ring (`maxBytes`): two files of at most half each. When the current one would grow
/// past its half it becomes `NAME.1.pcapng` (replacing the older one) and a new `NAME.pcapng`
/// starts, with the header, every TLS key seen so far and every open connection's handshake
/// again, so each file opens on its own.
final class CaptureWriter: @unchecked Sendable {
    static let arenaCapacity = 16 << 20
    /// While records come, the writer takes what waits this often, or sooner once `wakeBytes`
    /// wait; a look that finds nothing puts it to sleep until the next record wakes it, so an
    /// idle capture costs no wake-ups.
    static let pollInterval = 0.01
    static let wakeBytes = 1 << 20

    let path: String
    let maxBytes: Int?
    private let olderPath: String

    private struct Queue {
        var records: [CaptureRecord] = []
        /// The payloads of `records`, one after another.
        var arena = CaptureArena(capacity: CaptureWriter.arenaCapacity)
        /// Key log bytes waiting (they are not in the arena).
        var keyLogBytes = 0
        var nextFlow = 0
        var stopping = false
        var droppedRecords = 0
        var droppedBytes = 0
        /// The writer found nothing last time and sleeps until woken.
        var writerAsleep = false
        /// `wake` was raised since the writer last took the queue (raise it once, not per record).
        var wakeAsked = false
        /// How many times the writer has taken the queue: its wake-ups.
        var looks = 0
    }

    /// Guards `pending`. A plain lock: `ConditionLock.unlock(withValue:)` broadcasts on every
    /// unlock, which woke the writer thread on every read and write (a futex call and a
    /// context switch each, twice the CPU of the echo itself).
    private let queue = NIOLock()
    private var pending = Queue()  // guarded by `queue`
    private var whenStopped: (@Sendable (CaptureSummary) -> Void)?  // guarded by `queue`
    /// Value 1: the writer is asked to look now (it slept, a megabyte waits, or a stop).
    private let wake = ConditionLock(value: 0)

    // Writer thread only.
    private var descriptor: Int32
    private var synthesis = PacketSynthesis()
    private var fileBytes = 0
    private var writtenBytes = 0
    private var rotations = 0
    private var keyLog: [UInt8] = []
    private var writeError: Int32 = 0
    /// TLS connections whose latest read swift-nio-ssl has not finished with: their records wait.
    private var held: [PacketSynthesis.FlowKey: [CaptureRecord]] = [:]
    /// The batch being written: its records' payloads. Emptied and handed back as the next
    /// batch's arena.
    private var arena = CaptureArena(capacity: CaptureWriter.arenaCapacity)
    private var spareRecords: [CaptureRecord] = []
    /// A records array larger than this is not kept between batches (a burst should not pin memory).
    private static let keptRecordsCapacity = 64 << 10

    /// Opens (truncates) `path`; throws the open's failure.
    init(path: String, maxBytes: Int?) throws {
        self.path = path
        self.maxBytes = maxBytes
        olderPath = Self.olderName(of: path)
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SocketFailure.file(call: "open", errno: errno, path: path) }
        synthesis.writer.fileHeader()
        let thread = Thread { [self] in run() }
        thread.name = "sockscope capture"
        thread.start()
    }

    /// `dir/name.pcapng` -> `dir/name.1.pcapng`: the ring's older file.
    static func olderName(of path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        if let dot = path[slash...].lastIndex(of: "."), dot != slash {
            return String(path[..<dot]) + ".1" + String(path[dot...])
        }
        return path + ".1"
    }

    /// How many times the writer thread has woken to take what waits (for tests: it must be
    /// per batch while records come, and stop when they do).
    var looks: Int { queue.withLock { pending.looks } }

    /// A new flow's key (one per connection or UDP socket).
    func nextFlow() -> PacketSynthesis.FlowKey {
        queue.withLock {
            pending.nextFlow += 1
            return PacketSynthesis.FlowKey(pending.nextFlow)
        }
    }

    /// Queues a record without payload (or a key log) for the writer thread; any thread.
    func submit(_ record: CaptureRecord) {
        submit(record, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Queues `record` with `payload` (copied into the arena) for the writer thread; any
    /// thread. Dropped (and counted) when the queue is full or the capture has stopped.
    func submit(_ record: CaptureRecord, payload: UnsafeRawBufferPointer) {
        // A large write goes in pieces (the packets are cut at 64,000 bytes anyway), so it
        // fits in the arena beside others instead of being dropped whole.
        if case .tcpData = record, payload.count > Self.wakeBytes {
            var offset = 0
            while offset < payload.count {
                let end = min(payload.count, offset + Self.wakeBytes)
                submit(record, payload: UnsafeRawBufferPointer(rebasing: payload[offset..<end]))
                offset = end
            }
            return
        }
        queue.lock()
        guard !pending.stopping else { return queue.unlock() }
        let placed = payload.isEmpty ? CaptureRecord.unplaced : pending.arena.append(payload).map(CapturedBytes.arena)
        guard let placed else {
            pending.droppedRecords += 1
            pending.droppedBytes += payload.count
            // The connection's numbers still move on: the bytes are kept as a count.
            if case .tcpData(let key, let fromLocal, _, _) = record {
                pending.records.append(.tcpGap(key, fromLocal: fromLocal, count: payload.count))
            } else if case .tlsRead(let key, _, _) = record {
                pending.records.append(.tcpGap(key, fromLocal: false, count: payload.count))
            }
            return unlockWaking(true)
        }
        pending.records.append(payload.isEmpty ? record : record.with(placed))
        pending.keyLogBytes += record.payloadCount
        // No wake-up per record (a futex call per read and write cost more than the echo): the
        // writer looks every `pollInterval` while records come, and is woken only from its
        // sleep or once a megabyte waits.
        unlockWaking(pending.writerAsleep || pending.arena.count + pending.keyLogBytes >= Self.wakeBytes)
    }

    /// Unlocks `queue`, raising `wake` if `needed` and not raised already for this batch.
    private func unlockWaking(_ needed: Bool) {
        let raise = needed && !pending.wakeAsked
        if raise {
            pending.wakeAsked = true
            pending.writerAsleep = false
        }
        queue.unlock()
        if raise {
            wake.lock()
            wake.unlock(withValue: 1)
        }
    }

    /// Stops taking records; once those queued are written the file is closed and `done` is
    /// called (on the writer thread) with what was written.
    func stop(_ done: @escaping @Sendable (CaptureSummary) -> Void) {
        queue.lock()
        pending.stopping = true
        whenStopped = done
        pending.wakeAsked = false
        unlockWaking(true)
    }

    // MARK: Writer thread

    private func run() {
        var asleep = false
        while true {
            if asleep {
                wake.lock(whenValue: 1)
            } else if !wake.lock(whenValue: 1, timeoutSeconds: Self.pollInterval) {
                wake.lock()
            }
            wake.unlock(withValue: 0)
            queue.lock()
            // The batch's records and arena change places with the emptied ones of the last batch.
            var records = spareRecords
            swap(&records, &pending.records)
            swap(&arena, &pending.arena)
            let stopping = pending.stopping
            pending.keyLogBytes = 0
            pending.wakeAsked = false
            pending.looks += 1
            // Nothing came since the last look: sleep until a record wakes us.
            asleep = records.isEmpty && !stopping
            pending.writerAsleep = asleep
            let done = stopping ? whenStopped : nil
            let dropped = (pending.droppedRecords, pending.droppedBytes)
            queue.unlock()
            for record in records { take(record) }
            records.removeAll(keepingCapacity: records.capacity <= Self.keptRecordsCapacity)
            spareRecords = records
            arena.empty()
            if stopping {
                for key in held.keys.sorted(by: { $0.value < $1.value }) { held.removeValue(forKey: key)?.forEach(write) }
            }
            // ACKs a reply did not carry are written with the batch they belong to.
            synthesis.settleAcks()
            flush()
            if stopping {
                close(descriptor)
                done?(CaptureSummary(path: path, packets: synthesis.packets, fileBytes: writtenBytes,
                                     droppedRecords: dropped.0, droppedBytes: dropped.1, rotations: rotations,
                                     writeFailure: writeError == 0 ? nil : SocketFailure.file(call: "write", errno: writeError, path: path).explanation))
                return
            }
        }
    }

    /// Writes `record`, unless its connection's records wait for a TLS read to be done.
    private func take(_ record: CaptureRecord) {
        switch record {
        case .tlsRead(let key, _, _) where held[key] == nil:
            held[key] = [owned(record)]
        case .readDone(let key):
            held.removeValue(forKey: key)?.forEach(write)
        default:
            if let key = record.flow, held[key] != nil { held[key]?.append(owned(record)) } else { write(record) }
        }
    }

    /// A record that waits beyond its batch takes its bytes out of the arena, which the next batch reuses.
    private func owned(_ record: CaptureRecord) -> CaptureRecord {
        switch record {
        case .tcpData(_, _, .arena(let range), _), .datagram(_, _, _, _, .arena(let range), _), .tlsRead(_, .arena(let range), _):
            record.with(.owned(Array(arena.bytes(range))))
        default:
            record
        }
    }

    /// Calls `body` with a record's payload bytes.
    private func withBytes<T>(_ bytes: CapturedBytes, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        switch bytes {
        case .arena(let range): body(arena.bytes(range))
        case .owned(let bytes): bytes.withUnsafeBytes(body)
        }
    }

    private func write(_ record: CaptureRecord) {
        // A record's packets: its bytes, and per 64 000-byte segment and ACK well under 512 bytes of headers.
        let recordBytes = record.payloadCount + record.payloadCount / 64 + 512
        if let maxBytes, fileBytes + synthesis.writer.bytes.count + recordBytes > maxBytes / 2 {
            rotate()
        }
        switch record {
        case .tcpOpen(let key, let local, let remote, let initiatedLocally, let name, let midStream, let time):
            let comment = midStream ? "sockscope \(name) (capture began while it was open: earlier bytes are not here)" : "sockscope \(name)"
            synthesis.openTCP(key, local: local, remote: remote, initiatedLocally: initiatedLocally, name: name,
                              comment: comment, at: time)
        case .tcpData(let key, let fromLocal, let bytes, let time):
            withBytes(bytes) { synthesis.tcpData(key, fromLocal: fromLocal, $0, at: time) }
        case .tcpGap(let key, let fromLocal, let count):
            synthesis.tcpGap(key, fromLocal: fromLocal, count: count)
        case .tcpFin(let key, let fromLocal, let time):
            synthesis.tcpFin(key, fromLocal: fromLocal, at: time)
        case .tcpReset(let key, let fromLocal, let time):
            synthesis.tcpReset(key, fromLocal: fromLocal, at: time)
        case .tcpClosed(let key):
            synthesis.forget(key)
        case .udpOpen(let key, let name):
            synthesis.openUDP(key, comment: "sockscope \(name)")
        case .datagram(let key, let local, let remote, let fromLocal, let bytes, let time):
            withBytes(bytes) { synthesis.datagram(key, local: local, remote: remote, fromLocal: fromLocal, $0, at: time) }
        case .tlsKeyLog(let lines):
            keyLog += lines
            synthesis.writer.tlsKeyLog(lines)
        case .tlsRead(let key, let bytes, let time):
            withBytes(bytes) { synthesis.tcpData(key, fromLocal: false, $0, at: time) }
        case .readDone:
            break
        }
        if synthesis.writer.bytes.count >= 1 << 20 { flush() }
    }

    private func rotate() {
        synthesis.settleAcks()
        flush()
        guard fileBytes > 0 else { return }
        close(descriptor)
        rename(path, olderPath)
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        fileBytes = 0
        rotations += 1
        synthesis.writer.fileHeader()
        if !keyLog.isEmpty { synthesis.writer.tlsKeyLog(keyLog) }
        let older = olderPath
        synthesis.restartFlows(comment: { "sockscope \($0) (continued from \(older))" }, at: CaptureRecord.now())
    }

    private func flush() {
        let bytes = synthesis.writer.take()
        guard descriptor >= 0, writeError == 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                writeError = errno
                return
            }
            offset += written
        }
        fileBytes += bytes.count
        writtenBytes += bytes.count
    }
}
