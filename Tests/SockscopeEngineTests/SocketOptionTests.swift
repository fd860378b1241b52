import NIOCore
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

@Suite("Socket options", .timeLimit(.minutes(1)))
struct SocketOptionTests {
    @Test func tcpConnectionsDisableNagleAndListenersReuseTheAddress() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id).count == 1 }

        func option(_ id: SocketID, _ option: ChannelOptions.Types.SocketOption) async throws -> Int {
            let entry = try #require(harness.engine.registry.entry(for: id))
            return try await entry.channel.getOption(option).get()
        }
        #expect(try await option(SocketID(.connection, 1), .socketOption(.tcp_nodelay)) != 0, "outgoing")
        #expect(try await option(SocketID(.connection, 2), .socketOption(.tcp_nodelay)) != 0, "accepted")
        #expect(try await option(listener.id, .socketOption(.so_reuseaddr)) != 0)
    }
}
