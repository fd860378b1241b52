import Testing
@testable import SockscopeCore

/// Headless output pacing: quick for a short exchange, long pauses only for a flood.
@Suite struct DataPacingTests {
    @Test func aFloodBacksOffToTheLongestPause() {
        var pacing = DataPacing(longestMilliseconds: 100)
        let pauses = (0..<7).map { _ in pacing.pause(afterBatchWithData: true) }
        #expect(pauses == [10, 20, 40, 80, 100, 100, 100])
    }

    @Test func aQuietBatchEndsTheFloodAndTheNextPauseIsShortAgain() {
        var pacing = DataPacing(longestMilliseconds: 100)
        for _ in 0..<5 { _ = pacing.pause(afterBatchWithData: true) }
        #expect(pacing.pause(afterBatchWithData: false) == nil)
        #expect(pacing.pause(afterBatchWithData: true) == 10)
    }

    /// A producer that reports every 100 ms leaves the 10-80 ms pauses empty while its flood
    /// goes on: within `quiet` of the last data an empty batch waits on without growing, and
    /// the pause still grows to the longest (headless `--coalesce-ms 1000` kept restarting at 10 ms).
    @Test func anEmptyBatchWithinTheQuietTimeDoesNotEndTheFlood() {
        var pacing = DataPacing(longestMilliseconds: 1000, quietMilliseconds: 120)
        #expect(pacing.pause(afterBatchWithData: true, now: 0) == 10)
        #expect(pacing.pause(afterBatchWithData: false, now: 10) == 20)
        #expect(pacing.pause(afterBatchWithData: false, now: 30) == 20)
        #expect(pacing.pause(afterBatchWithData: true, now: 100) == 20)
        #expect(pacing.pause(afterBatchWithData: true, now: 200) == 40)
        var grown: [Int?] = []
        for tick in 3...8 { grown.append(pacing.pause(afterBatchWithData: true, now: Int64(tick) * 100)) }
        #expect(grown == [80, 160, 320, 640, 1000, 1000])
        // Quiet for longer than `quiet`: the flood is over.
        #expect(pacing.pause(afterBatchWithData: false, now: 950) == nil)
        #expect(pacing.pause(afterBatchWithData: true, now: 2000) == 10)
    }

    @Test func theLongestPauseBoundsTheFirst() {
        var short = DataPacing(longestMilliseconds: 4)
        #expect(short.pause(afterBatchWithData: true) == 4)
        #expect(short.pause(afterBatchWithData: true) == 4)
    }

    @Test func zeroNeverPauses() {
        var off = DataPacing(longestMilliseconds: 0)
        #expect(off.pause(afterBatchWithData: true) == nil)
        #expect(off.pause(afterBatchWithData: true) == nil)
    }
}
