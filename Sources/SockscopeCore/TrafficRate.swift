/// Bytes per second in and out, over whole one-second buckets, from event
/// times alone (no clock of its own). A bucket that ends without traffic
/// brings the rate to zero; the app sends one tick a second only while some
/// rate is not zero yet, so an idle screen costs nothing.
public struct TrafficRate: Hashable, Sendable {
    static let bucketNanoseconds: Int64 = 1_000_000_000

    private var bucketStart: Int64 = 0
    private var bucketIn = 0
    private var bucketOut = 0
    public private(set) var inPerSecond = 0
    public private(set) var outPerSecond = 0

    public init() {}

    /// Whether a later tick could still change what is shown.
    public var isActive: Bool { inPerSecond > 0 || outPerSecond > 0 || bucketIn > 0 || bucketOut > 0 }

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
