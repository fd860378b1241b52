import SockscopeCore
@testable import SockscopeEngine
import Testing

/// The tap's count of output written without a promise (an echo): its counts and previews, for every way NIO's queue can stand when a
/// report asks: empty, holding part of what was handed, or holding someone else's bytes.
@Suite struct OutputCountTests {
    /// Byte `k` of the test stream is `k % 251`: a wrong offset shows as wrong bytes.
    static func stream(_ range: Range<Int>) -> [UInt8] { range.map { UInt8($0 % 251) } }

    static func hand(_ ledger: inout OutputCount, _ range: Range<Int>) {
        stream(range).withUnsafeBytes { ledger.hand($0, limit: DataPreview.limit) }
    }

    static func sent(_ ledger: inout OutputCount, waiting: Int) -> (count: Int, preview: [UInt8])? {
        ledger.takeSent(waiting: waiting)
    }

    @Test func whatLeftIsReportedOnceWithTheFirstBytesAsPreview() throws {
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<64)
        Self.hand(&ledger, 64..<128)
        let sent = try #require(Self.sent(&ledger, waiting: 0))
        #expect(sent.count == 128)
        #expect(sent.preview == Self.stream(0..<128))
        #expect(ledger.unreported == 0)
        #expect(ledger.takeSent(waiting: 0) == nil, "nothing new was sent")
    }

    /// Memory per idle connection: once everything handed was reported, nothing of it stays allocated.
    @Test func aFullyReportedLedgerKeepsNoPreviewStorage() throws {
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<64)
        _ = try #require(Self.sent(&ledger, waiting: 0))
        #expect(ledger.preview.capacity == 0, "an idle connection keeps its last echo's storage")
        // Part still waiting: what it kept is still there for the next report.
        Self.hand(&ledger, 64..<128)
        _ = try #require(Self.sent(&ledger, waiting: 10))
        #expect(ledger.preview == Self.stream(118..<128))
    }

    @Test func bytesStillWaitingAreReportedWhenTheyLeave() throws {
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<100)
        let first = try #require(Self.sent(&ledger, waiting: 30))
        #expect(first.count == 70)
        #expect(first.preview == Self.stream(0..<70))
        #expect(ledger.unreported == 30)
        // The kept bytes after the report start where it ended.
        Self.hand(&ledger, 100..<150)
        let second = try #require(Self.sent(&ledger, waiting: 0))
        #expect(second.count == 80)
        #expect(second.preview == Self.stream(70..<150))
    }

    @Test func aPreviewHoldsAtMostTheLimitAndIsShortAfterAGapButNeverWrong() throws {
        let limit = DataPreview.limit
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<(limit + 500))
        // 300 bytes still wait beyond the kept ones: nobody kept them.
        let first = try #require(Self.sent(&ledger, waiting: 300))
        #expect(first.count == limit + 200)
        #expect(first.preview == Self.stream(0..<limit))
        // Bytes handed after a gap are not kept either: they would follow the wrong offset.
        Self.hand(&ledger, (limit + 500)..<(limit + 600))
        let second = try #require(Self.sent(&ledger, waiting: 0))
        #expect(second.count == 400)
        #expect(second.preview.isEmpty)
        // Once everything has left, previews start again.
        Self.hand(&ledger, (limit + 600)..<(limit + 610))
        let third = try #require(Self.sent(&ledger, waiting: 0))
        #expect(third.preview == Self.stream((limit + 600)..<(limit + 610)))
    }

    @Test func waitingBytesThatAreNotEchoesNeverMakeTheCountGoBackOrOverreach() throws {
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<50)
        // NIO also holds a requested send of 1000 bytes: at most our 50 can be waiting.
        #expect(ledger.takeSent(waiting: 1050) == nil)
        #expect(ledger.unreported == 50)
        let sent = try #require(Self.sent(&ledger, waiting: 0))
        #expect(sent.count == 50)
        #expect(ledger.takeSent(waiting: -1) == nil, "a nonsense answer reports nothing")
    }

    @Test func bytesThatNeverLeftAreDroppedAtClose() {
        var ledger = OutputCount()
        Self.hand(&ledger, 0..<100)
        #expect(ledger.takeSent(waiting: 40)?.count == 60)
        ledger.dropUnsent()
        #expect(ledger.unreported == 0)
        #expect(ledger.handed == 60)
        #expect(ledger.takeSent(waiting: 0) == nil)
    }
}
