import SockscopeCore

/// The bytes an echo connection handed to NIO, and which of them the kernel has taken.
///
/// Why not learn it per echo: a promise per write, or a one-byte watermark whose
/// writability flips twice per echo, cost more than the echo itself (at 16 busy
/// connections the flips alone were ~10% of the engine thread). The connection only
/// counts what it hands over; when a report is due it asks NIO how much still waits in
/// its queue, and the difference is what the kernel took. Counts stay exact: bytes are
/// reported as sent only once they have left NIO's queue.
///
/// The report's preview is the first bytes of what was sent since the last report. They
/// are kept as they are handed over, up to `DataPreview.limit`, but only while they follow
/// on from what is kept: after a report that found bytes still waiting beyond the kept
/// ones, the next preview is shorter (even empty), never wrong.
struct EchoLedger {
    /// Bytes handed to NIO so far.
    private(set) var handed = 0
    /// Bytes reported as sent so far.
    private(set) var reported = 0
    /// The echo stream from offset `reported` on, as far as it was kept.
    private var preview: [UInt8] = []

    /// Bytes handed to NIO and not reported as sent.
    var unreported: Int { handed - reported }

    /// Records bytes handed to NIO.
    mutating func hand(_ bytes: UnsafeRawBufferPointer) {
        let room = DataPreview.limit - preview.count
        if room > 0, handed == reported + preview.count {
            preview.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
        }
        handed += bytes.count
    }

    /// The bytes the kernel took since the last report, given how many of the handed ones
    /// still wait (anything NIO holds beyond them is not ours: a requested send).
    mutating func takeSent(waiting: Int) -> (count: Int, preview: [UInt8])? {
        let sent = handed - min(max(waiting, 0), unreported)
        let count = sent - reported
        guard count > 0 else { return nil }
        let shown = Array(preview.prefix(count))
        preview.removeFirst(shown.count)
        reported = sent
        return (count, shown)
    }

    /// Forgets the bytes still waiting: the connection closed before they left.
    mutating func dropUnsent() {
        handed = reported
        preview = []
    }
}
