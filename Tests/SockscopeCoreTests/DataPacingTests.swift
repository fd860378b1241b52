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
