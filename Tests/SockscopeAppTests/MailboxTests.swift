import Testing
import TestSupport
import SockscopeCore
@testable import SockscopeApp

/// The engine-to-main-thread queue: one wake-up per batch, merged data, a bounded backlog while paused.
@Suite struct MailboxTests {
    let time = Timestamp(nanoseconds: 0)

    func accepted(_ n: Int) -> EngineEvent {
        EngineEvent(time: time, kind: .accepted(SocketID(.connection, n), listener: SocketID(.listener, 1),
                                                local: "127.0.0.1:9000", remote: "127.0.0.1:\(40000 + n)"))
    }

    func received(_ n: Int, _ bytes: [UInt8]) -> EngineEvent {
        EngineEvent(time: time, kind: .received(SocketID(.connection, n), bytes: bytes, count: bytes.count))
    }

    /// Datagrams keep their boundaries: waiting datagram events never merge, while the
    /// stream data around them still does (the engine bounds datagram floods itself).
    @Test func datagramEventsNeverMerge() {
        let mailbox = Mailbox()
        let id = SocketID(.connection, 1)
        let datagrams = [1400, 1400, 1400, 857].map { size in
            EngineEvent(time: time, kind: .receivedFrom(id, from: "127.0.0.1:11211", bytes: [0x61], count: size,
                                                        truncated: false))
        }
        mailbox.post(datagrams + [received(2, [1])])
        mailbox.post([received(2, [2])])
        let drained = mailbox.drain()
        #expect(drained.map(\.kind) == datagrams.map(\.kind) + [.received(SocketID(.connection, 2), bytes: [1, 2], count: 2)])
    }

    /// A kernel sample between two reads is state for Detail, not a log line: the reads
    /// still merge (samples ride on traffic, and split a paced flood into a line per sample:
    /// `--coalesce-ms 500` printed a line every 100-300 ms).
    @Test func aKernelSampleDoesNotSplitMergingData() {
        let mailbox = Mailbox()
        var sample = KernelSample()
        sample.state = .established
        let probe = EngineEvent(time: time, kind: .lab(.kernel(SocketID(.connection, 1), sample)))
        mailbox.post([received(1, [1]), probe, received(1, [2])])
        #expect(mailbox.drain().map(\.kind) == [.received(SocketID(.connection, 1), bytes: [1, 2], count: 2), probe.kind])
    }

    @Test func wakesOncePerEmptyToNonEmpty() {
        let mailbox = Mailbox()
        mailbox.post([accepted(1)])
        mailbox.post([accepted(2)])
        #expect(mailbox.wakeSignal.reset() == 1)
        #expect(mailbox.drain().count == 2)
        #expect(mailbox.wakeSignal.reset() == 0)
    }

    @Test func waitingDataMergesWithExactCounts() {
        let mailbox = Mailbox()
        mailbox.post([received(1, Array("ab".utf8)), received(2, [1])])
        mailbox.post([received(1, Array("cd".utf8))])
        let events = mailbox.drain()
        #expect(events.count == 2)
        guard case .received(_, let bytes, let count) = events[0].kind else { return #expect(Bool(false)) }
        #expect(bytes == Array("abcd".utf8) && count == 4)
    }

    @Test func onlyConsecutiveDataOfOneSocketAndDirectionMerges() {
        let mailbox = Mailbox()
        let c1 = SocketID(.connection, 1)
        let sent = { (bytes: [UInt8]) in EngineEvent(time: self.time, kind: .sent(c1, bytes: bytes, count: bytes.count)) }
        // Another socket's events do not end a run; the other direction and any other event do.
        mailbox.post([received(1, [1]), received(1, [2]), received(2, [9]), received(1, [3]), sent([4]), sent([5]),
                      received(1, [6]), EngineEvent(time: time, kind: .peerClosed(c1)), received(1, [7]), received(2, [8])])
        let kinds = mailbox.drain().map(\.kind)
        #expect(kinds == [.received(c1, bytes: [1, 2, 3], count: 3), .received(SocketID(.connection, 2), bytes: [9, 8], count: 2),
                          .sent(c1, bytes: [4, 5], count: 2), .received(c1, bytes: [6], count: 1), .peerClosed(c1),
                          .received(c1, bytes: [7], count: 1)])
    }

    /// Redis's answers to PING and QUIT, each posted in its own engine batch while the
    /// consumer has not drained: the answer to QUIT must not join the answer to PING, which
    /// sits before QUIT's `sent` (it did: the log showed +OK before QUIT, its time going back).
    @Test func aLaterReadNeverJoinsOneBeforeASend() {
        let mailbox = Mailbox()
        let c1 = SocketID(.connection, 1)
        let quit = RequestID(3)
        mailbox.post([EngineEvent(time: Timestamp(nanoseconds: 1), kind: .received(c1, bytes: Array("+PONG\r\n".utf8), count: 7))])
        mailbox.post([EngineEvent(time: Timestamp(nanoseconds: 2), request: quit, kind: .sent(c1, bytes: Array("QUIT\r\n".utf8), count: 6)),
                      EngineEvent(time: Timestamp(nanoseconds: 2), request: quit, kind: .requestCompleted)])
        mailbox.post([EngineEvent(time: Timestamp(nanoseconds: 3), kind: .received(c1, bytes: Array("+OK\r\n".utf8), count: 5))])
        let events = mailbox.drain()
        #expect(events.map(\.kind) == [.received(c1, bytes: Array("+PONG\r\n".utf8), count: 7),
                                       .sent(c1, bytes: Array("QUIT\r\n".utf8), count: 6), .requestCompleted,
                                       .received(c1, bytes: Array("+OK\r\n".utf8), count: 5)])
        #expect(events.map(\.time.nanoseconds) == [1, 2, 2, 3])
    }

    @Test func aPausedMailboxWakesForALongBacklogOfData() {
        let mailbox = Mailbox()
        _ = mailbox.drain(pausingWakeUps: true)
        mailbox.wakeSignal.reset()
        // A flood on one connection merges and never reaches the limit.
        for _ in 0..<5000 { mailbox.post([received(1, [0x41])]) }
        #expect(mailbox.wakeSignal.reset() == 0)
        // Data of many connections does not merge across them: the backlog wakes the
        // consumer once, at the limit.
        mailbox.post((2...Mailbox.pausedBacklogLimit).map { received($0, [0x42]) })
        #expect(mailbox.wakeSignal.reset() == 1)
        mailbox.post((1...100).map { received(Mailbox.pausedBacklogLimit + $0, [0x43]) })
        #expect(mailbox.wakeSignal.reset() == 0, "one wake-up per crossing")
        let events = mailbox.drain(pausingWakeUps: true)
        #expect(events.count == Mailbox.pausedBacklogLimit + 100)
        guard case .received(_, _, let count) = events[0].kind else { return #expect(Bool(false)) }
        #expect(count == 5000)
        mailbox.post([received(1, [0x41])])
        #expect(mailbox.wakeSignal.reset() == 0, "paused again by the drain")
        mailbox.resumeWakeUps()
        #expect(mailbox.wakeSignal.reset() == 1, "what arrived during the pause wakes the consumer")
    }

    @Test func newsEndsAPauseAtOnceButOnlyOnce() {
        let mailbox = Mailbox()
        _ = mailbox.drain(pausingWakeUps: true)
        mailbox.wakeSignal.reset()
        mailbox.post([received(1, [0x41])])
        #expect(mailbox.wakeSignal.reset() == 0, "data waits for the consumer's own time")
        mailbox.post([received(1, [0x41]), accepted(2)])
        #expect(mailbox.wakeSignal.reset() == 1, "an accept is shown while data is paced")
        mailbox.post([accepted(3)])
        #expect(mailbox.wakeSignal.reset() == 0, "the consumer is already coming")
        #expect(mailbox.drain(pausingWakeUps: true).count == 3)
        mailbox.post([EngineEvent(time: time, kind: .closed(SocketID(.connection, 2), reason: "peer closed"))])
        #expect(mailbox.wakeSignal.reset() == 1, "a new pause, new news")
    }
}
