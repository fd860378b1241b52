import Foundation
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// The probe follows a state change with a few quick samples, and then stops: an idle
/// engine has nothing scheduled.
@Suite("Kernel probe goes idle", .timeLimit(.minutes(1)))
struct KernelProbeIdleTests {
    @Test func followUpsAfterAStateChangeEndAndNothingStaysScheduled() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = SocketID(.connection, 1)
        _ = try await harness.perform(.shutdown(client, .write))
        let probe = harness.engine.lab.probe
        // Open sockets, no events: once the follow-ups ran, nothing is scheduled (no timer per socket).
        try await harness.waitFor("the follow-ups to end (they last under a second)", timeout: .seconds(5)) { probe.isIdle }
        let states = harness.events.compactMap { event -> TCPState? in
            if case .lab(.kernel(client, let sample)) = event.kind { return sample.state }
            return nil
        }
        #expect(states.last == .finWait2, "the follow-ups saw FIN-WAIT-2 after our shutdown: \(states)")
    }
}
