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
    /// The rates of the last buckets, for the Connections pane's sparklines.
    public private(set) var history = RateHistory()

    public init() {}

    /// Whether a rate is shown, so a later tick must bring it down. A short
    /// exchange that never spans a whole bucket shows no rate and needs no tick.
    public var isActive: Bool { inPerSecond > 0 || outPerSecond > 0 }

    /// A bucket that closed: the span it measured and its rates.
    public struct ClosedBucket: Hashable, Sendable {
        public var inPerSecond: Int
        public var outPerSecond: Int
        public var start: Timestamp
        public var end: Timestamp
    }

    /// Counts bytes; returns the bucket this closed first, if a second had passed.
    @discardableResult
    public mutating func add(received: Int = 0, sent: Int = 0, at time: Timestamp) -> ClosedBucket? {
        let closed = roll(to: time)
        bucketIn += received
        bucketOut += sent
        return closed
    }

    /// The connection closed: its last whole second counts, and then nothing moves (the
    /// rate shows `-`, the sparkline keeps what it had).
    @discardableResult
    public mutating func stop(at time: Timestamp) -> ClosedBucket? {
        let closed = roll(to: time)
        inPerSecond = 0
        outPerSecond = 0
        bucketIn = 0
        bucketOut = 0
        return closed
    }

    /// Closes the current bucket if a second has passed, and returns it.
    @discardableResult
    public mutating func roll(to time: Timestamp) -> ClosedBucket? {
        let now = time.nanoseconds
        if bucketStart == 0 { bucketStart = now }
        let elapsed = now - bucketStart
        guard elapsed >= Self.bucketNanoseconds else { return nil }
        inPerSecond = Int(Int64(bucketIn) * Self.bucketNanoseconds / elapsed)
        outPerSecond = Int(Int64(bucketOut) * Self.bucketNanoseconds / elapsed)
        // A bucket that lasted several seconds (no tick ran: nothing was moving) is that
        // many seconds of its average rate, as the RATE column says.
        let seconds = Int(elapsed / Self.bucketNanoseconds)
        history.append(received: inPerSecond, sent: outPerSecond, seconds: seconds)
        bucketStart = now
        bucketIn = 0
        bucketOut = 0
        return ClosedBucket(inPerSecond: inPerSecond, outPerSecond: outPerSecond, start: Timestamp(nanoseconds: now - elapsed),
                            end: time)
    }
}

/// The last `capacity` one-second rates of a connection, oldest first, per direction.
/// Filled only when `TrafficRate` closes a bucket (on traffic, or on the tick that runs
/// while a rate is shown), so an idle connection costs nothing and keeps its last picture:
/// a stall shows as zeros at the end.
public struct RateHistory: Hashable, Sendable {
    /// Seconds kept per connection: 8 rates each way, 128 bytes.
    public static let capacity = 8
    public private(set) var received: [Int] = []
    public private(set) var sent: [Int] = []

    public init() {}

    mutating func append(received rateIn: Int, sent rateOut: Int, seconds: Int) {
        let count = min(Self.capacity, max(1, seconds))
        received.append(contentsOf: repeatElement(rateIn, count: count))
        sent.append(contentsOf: repeatElement(rateOut, count: count))
        if received.count > Self.capacity {
            received.removeFirst(received.count - Self.capacity)
            sent.removeFirst(sent.count - Self.capacity)
        }
    }
}

extension ByteCount {
    /// `1.2 MiB/s`, or `-` when nothing moves.
    public static func rate(_ bytesPerSecond: Int) -> String {
        bytesPerSecond == 0 ? "-" : text(bytesPerSecond) + "/s"
    }
}
