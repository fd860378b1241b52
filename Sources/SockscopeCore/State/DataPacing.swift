/// How long to gather data after passing a batch on before passing on the next, so
/// that a flood costs few hand-overs and few lines (with exact byte counts) while a
/// person poking at a server by hand still sees each reply at once.
///
/// The first pause after a quiet spell is short; each further batch with data doubles
/// it, up to `longest`. A batch without data ends the flood and the next pause is short
/// again, unless data came less than `quiet` ago: a producer that itself reports at most
/// every `quiet` ms (the engine, every 100 ms in a flood) leaves pauses shorter than that
/// empty while its flow goes on. So a request and its multi-chunk reply pass within
/// ~10 ms, and a connection that streams for longer settles at one report per `longest`.
///
/// Used twice: the engine's traffic reports (`EventBatcher`) and headless output.
public struct DataPacing: Sendable, Equatable {
    /// The first pause: short enough that nobody notices it.
    public static let firstPauseMilliseconds = 10

    /// The longest pause, reached after a few consecutive batches with data; 0 never pauses.
    public let longest: Int
    /// How long without data before a flow counts as over (0: at the first empty batch).
    public let quiet: Int
    private var next: Int
    /// When the last batch with data was passed on (the caller's clock, in milliseconds).
    private var lastData: Int64?

    public init(longestMilliseconds: Int, quietMilliseconds: Int = 0) {
        longest = max(0, longestMilliseconds)
        quiet = max(0, quietMilliseconds)
        next = min(Self.firstPauseMilliseconds, longest)
    }

    /// The pause to take after a batch, or nil when there is nothing to wait for
    /// (the flow is over, or pacing is off). `now`: the caller's monotonic milliseconds,
    /// needed only with a `quiet` time.
    public mutating func pause(afterBatchWithData sawData: Bool, now: Int64 = 0) -> Int? {
        guard longest > 0 else { return nil }
        guard sawData else {
            // Still within the producer's reporting interval: wait on, without growing.
            if let last = lastData, now - last < Int64(quiet) { return next }
            lastData = nil
            next = min(Self.firstPauseMilliseconds, longest)
            return nil
        }
        lastData = now
        let pause = next
        next = min(next * 2, longest)
        return pause
    }
}
