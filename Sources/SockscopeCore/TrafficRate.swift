/// Bytes per second in and out, over whole one-second buckets, from event
/// times alone (no clock of its own). A rate appears once traffic has lasted a
/// whole bucket; after it stops, the app's once-a-second tick (sent only while
/// some rate is shown) brings it to zero within two seconds, then nothing ticks.
public struct TrafficRate: Hashable, Sendable {
    static let bucketNanoseconds: Int64 = 1_000_000_000

    private var bucketStart: Int64 = 0
    private var bucketIn = 0
    private var bucketOut = 0
    public private(set) var inPerSecond = 0
    public private(set) var outPerSecond = 0

    public init() {}

    /// Whether a rate is shown, so a later tick must bring it down. A short
    /// exchange that never spans a whole bucket shows no rate and needs no tick.
    public var isActive: Bool { inPerSecond > 0 || outPerSecond > 0 }

    public mutating func add(received: Int = 0, sent: Int = 0, at time: Timestamp) {
        roll(to: time)
        bucketIn += received
        bucketOut += sent
    }

    /// Closes the current bucket if a second has passed.
    public mutating func roll(to time: Timestamp) {
        let now = time.nanoseconds
        if bucketStart == 0 { bucketStart = now }
        let elapsed = now - bucketStart
        guard elapsed >= Self.bucketNanoseconds else { return }
        inPerSecond = Int(Int64(bucketIn) * Self.bucketNanoseconds / elapsed)
        outPerSecond = Int(Int64(bucketOut) * Self.bucketNanoseconds / elapsed)
        bucketStart = now
        bucketIn = 0
        bucketOut = 0
    }
}

extension ByteCount {
    /// `1.2 MiB/s`, or `-` when nothing moves.
    public static func rate(_ bytesPerSecond: Int) -> String {
        bytesPerSecond == 0 ? "-" : text(bytesPerSecond) + "/s"
    }
}
