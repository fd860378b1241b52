/// `capture on [PATH.pcapng] [--max SIZE]` / `capture off`: what the engine is asked.
public enum CaptureRequest: Hashable, Sendable {
    /// Start writing every TCP and UDP socket's traffic to `path` (nil: a name with the time,
    /// in the working directory); `maxBytes`: the ring's size on disk (nil: no bound).
    case on(path: String?, maxBytes: Int?)
    case off

    /// The smallest `--max`: each of the ring's two files (`maxBytes / 2`) must hold the
    /// largest single read (1 MiB, the read buffer's bound) with its headers.
    public static let minimumRingBytes = 4 << 20
}

/// What a capture wrote, when it stops.
public struct CaptureSummary: Hashable, Sendable {
    public var path: String
    /// Packets written (synthesised handshakes, ACKs and FINs included), over every file of the ring.
    public var packets: Int
    /// Bytes written to disk, over every file of the ring (deleted ones included).
    public var fileBytes: Int
    /// Reads, writes and datagrams the writer could not keep up with (its queue was full): not written, counted.
    public var droppedRecords: Int
    public var droppedBytes: Int
    /// Times the ring started a new file (the older one kept as `PATH` with `.1` before the extension).
    public var rotations: Int
    /// Why writing stopped early (the disk is full...): what came after is not in the file.
    public var writeFailure: String?

    public init(path: String, packets: Int, fileBytes: Int, droppedRecords: Int, droppedBytes: Int, rotations: Int,
                writeFailure: String? = nil) {
        self.writeFailure = writeFailure
        self.path = path
        self.packets = packets
        self.fileBytes = fileBytes
        self.droppedRecords = droppedRecords
        self.droppedBytes = droppedBytes
        self.rotations = rotations
    }
}

public enum CaptureEvent: Hashable, Sendable {
    /// Writing to `path`; `maxBytes` bounds the ring on disk (nil: unbounded).
    case started(path: String, maxBytes: Int?)
    case stopped(CaptureSummary)
}
