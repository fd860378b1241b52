import Foundation
import NIOCore
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

@Suite("Accept failures", .timeLimit(.minutes(1)))
struct AcceptFailureTests {
    /// Running out of descriptors cannot be provoked for real here (the limit is per process and
    /// the other tests share it), so the error is fired into the listener's pipeline exactly
    /// where NIO's accept loop fires it.
    /// An echo listener whose pipeline gets `failures` EMFILE errors where NIO's accept loop fires them.
    func listenerFailing(_ failures: Int, _ harness: EngineHarness) async throws -> (id: SocketID, port: Int) {
        let listener = try await harness.listen(.echo)
        let channel = try #require(harness.engine.registry.entry(for: listener.id)?.channel)
        try await channel.eventLoop.submit {
            for _ in 0..<failures { channel.pipeline.fireErrorCaught(IOError(errnoCode: EMFILE, reason: "accept")) }
        }.get()
        return (listener.id, listener.port)
    }

    /// A client served (the pause is over), then the line that closes the episode.
    func servedThenEpisodeEnd(_ listener: (id: SocketID, port: Int), _ harness: EngineHarness) async throws -> SocketFailure {
        let client = try PythonPeer.run(PeerScripts.sendThenRead, [String(listener.port), "still serving"])
        #expect(await client.waitForOutput(containing: "GOT still serving"), "client said: \(client.output)")
        return try await harness.first("the episode's end") { kind -> SocketFailure? in
            if case .error(listener.id, let failure) = kind, failure.explanation.contains("accepting again") { return failure }
            return nil
        }
    }

    @Test(.requires("python3")) func anAcceptErrorIsReportedAndTheListenerKeepsServing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await listenerFailing(1, harness)
        let failure = try await harness.first("the accept error") { kind -> SocketFailure? in
            if case .error(listener.id, let failure) = kind { return failure }
            return nil
        }
        #expect(failure.call == "accept")
        #expect(failure.code == "EMFILE")
        #expect(failure.explanation.contains("ulimit -n"))

        // The listener pauses accepting after such an error (10 ms at first); then it serves again,
        // and the first line's promised count follows, after one failure too.
        let episode = try await servedThenEpisodeEnd(listener, harness)
        #expect(harness.closedReason(of: listener.id) == nil)
        #expect(episode.explanation.hasPrefix("1 accept failed with EMFILE in "), "\(episode.explanation)")
    }

    /// Failures while paused are counted, not each reported: two errors, one first line and one count.
    @Test(.requires("python3")) func failuresDuringAPauseAreCountedInOneLine() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await listenerFailing(2, harness)
        let episode = try await servedThenEpisodeEnd(listener, harness)
        #expect(episode.explanation.hasPrefix("2 accepts failed with EMFILE in "), "\(episode.explanation)")
        let errors = harness.events.filter { if case .error(listener.id, _) = $0.kind { return true }; return false }
        #expect(errors.count == 2, "the first failure and the count, nothing per failure: \(errors)")
    }
}
