import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `ping` against loopback, IPv4 and IPv6, with the raw ICMP socket root may open (the
/// unprivileged way and its refusal are checked from the binary, run as nobody).
@Suite(.timeLimit(.minutes(1))) struct PingTests {
    struct Results {
        var start: PingStart?
        var replies: [PingReply] = []
        var lost: [Int] = []
        var summary: PingSummary?
        var errors: [SocketFailure] = []

        init(_ kinds: [EngineEventKind]) {
            for kind in kinds {
                switch kind {
                case .ping(.started(let start)): self.start = start
                case .ping(.reply(let reply)): replies.append(reply)
                case .ping(.lost(let sequence, _)): lost.append(sequence)
                case .ping(.finished(let summary)): self.summary = summary
                case .error(_, let failure): errors.append(failure)
                default: break
                }
            }
        }
    }

    static func ping(_ harness: EngineHarness, _ host: String, count: Int) async throws -> Results {
        var request = PingRequest(host: host)
        request.count = count
        request.intervalMilliseconds = 50
        return Results(try await harness.perform(.ping(request)))
    }

    @Test(.enabled(if: getuid() == 0, "a raw ICMP socket needs root")) func ipv4LoopbackAnswersEveryEcho() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let results = try await Self.ping(harness, "127.0.0.1", count: 3)
        #expect(results.start?.method == .raw && results.start?.address == .ipv4(.loopback, port: 0))
        #expect(results.replies.map(\.sequence) == [1, 2, 3], "\(results.replies)")
        #expect(results.replies.allSatisfy { $0.from == .ipv4(.loopback, port: 0) && $0.bytes == 64 && $0.ttl == 64 })
        #expect(results.replies.allSatisfy { $0.rttMicroseconds >= 0 && $0.rttMicroseconds < 1_000_000 })
        let summary = try #require(results.summary)
        #expect(summary.sent == 3 && summary.received == 3 && summary.lossPercent == 0 && !summary.stopped)
        let times = results.replies.map(\.rttMicroseconds)
        #expect(summary.minimumMicroseconds == times.min() && summary.maximumMicroseconds == times.max())
        #expect(results.lost.isEmpty && results.errors.isEmpty)
    }

    @Test(.enabled(if: getuid() == 0, "a raw ICMP socket needs root")) func ipv6LoopbackAnswersEveryEcho() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let results = try await Self.ping(harness, "::1", count: 2)
        #expect(results.start?.method == .raw && results.start?.address == .ipv6(.loopback, port: 0))
        #expect(results.replies.map(\.sequence) == [1, 2], "\(results.replies)")
        #expect(results.replies.allSatisfy { $0.from == .ipv6(.loopback, port: 0) && $0.bytes == 64 })
        #expect(results.summary?.received == 2 && results.summary?.lossPercent == 0)
    }

    @Test(.enabled(if: getuid() == 0, "a raw ICMP socket needs root")) func stopEndsARunningPing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        var request = PingRequest(host: "127.0.0.1")
        request.count = 10_000
        request.intervalMilliseconds = 20
        let ping = harness.submit(.ping(request))
        try await harness.waitFor("a reply") {
            harness.events(for: ping).contains { if case .ping(.reply) = $0 { true } else { false } }
        }
        #expect(try await harness.perform(.stopPing) == [.requestCompleted])
        let summary = try #require(Results(harness.events(for: ping)).summary)
        #expect(summary.stopped && summary.sent < 10_000 && summary.received >= 1)
        let again = try await harness.perform(.stopPing)
        #expect(again.contains { if case .error(nil, let failure) = $0 { failure.explanation == "no ping is running" } else { false } })
    }

    @Test func aNameThatDoesNotResolveFailsThePing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let results = try await Self.ping(harness, "no-such-host.invalid", count: 1)
        #expect(results.errors.first?.call == "getaddrinfo" && results.start == nil)
    }
}
