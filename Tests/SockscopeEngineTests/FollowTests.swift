import SockscopeCore
@testable import SockscopeEngine
import Testing

/// `.follow`: the connection the conversation view reads keeps up to
/// `DataPreview.followedLimit` of each read and write in its events; the others keep
/// `DataPreview.limit`; following another gives the first back its usual preview.
@Suite("follow", .timeLimit(.minutes(1)))
struct FollowTests {
    /// 40 000 bytes that show a misplaced chunk.
    static let payload = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }

    @Test func theFollowedConnectionsEventsCarryItsWholeBytesAndOthersAPreview() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = SocketID(.connection, 1)
        let server = try await harness.first("the accepted side") { kind -> SocketID? in
            if case .accepted(let id, _, _, _) = kind { id } else { nil }
        }
        // Not followed: each event previews at most 1 KiB.
        _ = try await harness.perform(.send(client, Self.payload))
        try await harness.waitFor("40 000 bytes") { harness.receivedCount(on: server) == Self.payload.count }
        let unfollowed = harness.received(on: server).bytes.count
        #expect(unfollowed < Self.payload.count, "previews only: \(unfollowed) bytes kept")

        _ = try await harness.perform(.follow(server))
        _ = try await harness.perform(.send(client, Self.payload))
        try await harness.waitFor("80 000 bytes") { harness.receivedCount(on: server) == 2 * Self.payload.count }
        let followed = Array(harness.received(on: server).bytes.dropFirst(unfollowed))
        #expect(followed.count == Self.payload.count && followed.elementsEqual(Self.payload), "every byte, in order: \(followed.count) kept")
        // The follower's own writes are kept whole too.
        _ = try await harness.perform(.send(server, Self.payload))
        let sent = harness.kinds.compactMap { if case .sent(server, let bytes, _) = $0 { bytes } else { nil } }.joined()
        #expect(Array(sent).elementsEqual(Self.payload), "\(sent.count) of the sent bytes kept")

        // Following the client instead: the server is back to previews.
        _ = try await harness.perform(.follow(client))
        let before = harness.received(on: server).bytes.count
        _ = try await harness.perform(.send(client, Self.payload))
        try await harness.waitFor("120 000 bytes") { harness.receivedCount(on: server) == 3 * Self.payload.count }
        #expect(harness.received(on: server).bytes.count - before < Self.payload.count)
    }
}
