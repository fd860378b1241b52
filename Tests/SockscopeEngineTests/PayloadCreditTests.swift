import Testing
import TestSupport
@testable import SockscopeEngine

/// Whole payloads are bounded by backpressure: past the limit, reads wait until paid for.
@Suite struct PayloadCreditTests {
    @Test func readsWaitWhileTheConsumerLagsAndResumeOncePaid() {
        let credit = PayloadCredit(limit: 100)
        let resumed = Locked(0)
        let resume: @Sendable () -> Void = { resumed.withLock { $0 += 1 } }
        let allowedAtFirst = credit.mayRead(orWhenAllowed: resume)
        #expect(allowedAtFirst)
        credit.charge(150)
        let allowedWhenSpent = credit.mayRead(orWhenAllowed: resume)
        #expect(!allowedWhenSpent, "150 unpaid bytes > limit 100")
        credit.pay(20)
        #expect(resumed.current == 0, "130 unpaid: still over the limit")
        credit.pay(40)
        #expect(resumed.current == 1, "90 unpaid: the held read resumes, once")
        credit.pay(90)
        #expect(resumed.current == 1 && credit.unpaid == 0)
    }
}
