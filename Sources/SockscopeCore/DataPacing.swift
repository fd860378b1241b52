/// How long to gather data after passing a batch on before passing on the next, so
/// that a flood costs few hand-overs and few lines (with exact byte counts) while a
/// person poking at a server by hand still sees each reply at once.
///
/// The first pause after a quiet spell is short; each further batch with data doubles
/// it, up to `longest`. A batch without data ends the flood and the next pause is short
/// again. So a request and its multi-chunk reply pass within ~10 ms, and a connection
/// that streams for longer settles at one report per `longest`.
///
/// Used twice: the engine's traffic reports (`EventBatcher`) and headless output.
public struct DataPacing: Sendable, Equatable {
    /// The first pause: short enough that nobody notices it.
    public static let firstPauseMilliseconds = 10

    /// The longest pause, reached after a few consecutive batches with data; 0 never pauses.
    public let longest: Int
    private var next: Int

    public init(longestMilliseconds: Int) {
        longest = max(0, longestMilliseconds)
        next = min(Self.firstPauseMilliseconds, longest)
    }

    /// The pause to take after a batch, or nil when there is nothing to wait for
    /// (the batch had no data, or pacing is off).
    public mutating func pause(afterBatchWithData sawData: Bool) -> Int? {
        guard sawData, longest > 0 else {
            next = min(Self.firstPauseMilliseconds, longest)
            return nil
        }
        let pause = next
        next = min(next * 2, longest)
        return pause
    }
}
