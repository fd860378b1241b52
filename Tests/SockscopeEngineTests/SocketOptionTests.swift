import Glibc
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
            let channel = try #require(harness.engine.registry.entry(for: id)?.channel)
            return try await channel.getOption(option).get()
        }
        for (id, end) in [(SocketID(.connection, 1), "outgoing"), (SocketID(.connection, 2), "accepted")] {
            #expect(try await option(id, .tcpOption(.tcp_nodelay)) != 0, "\(end): TCP_NODELAY")
            // NIO's `.socketOption(.tcp_nodelay)` is SOL_SOCKET level, where 1 is SO_DEBUG: root may
            // set it, anyone else gets EACCES and loses the connection. Nothing of ours sets SO_DEBUG.
            #expect(try await option(id, .init(level: .socket, name: .init(rawValue: SO_DEBUG))) == 0, "\(end): SO_DEBUG")
        }
        #expect(try await option(listener.id, .socketOption(.so_reuseaddr)) != 0)
    }

    /// Sets then gets `option` on `id`; returns the `.optionValue` of each answer.
    private func setAndGet(_ harness: EngineHarness, _ id: SocketID, _ option: SockscopeCore.SocketOptionName,
                           _ value: Int) async throws -> (set: Int?, get: Int?) {
        func reported(in answer: [EngineEventKind]) -> Int? {
            answer.compactMap { if case .optionValue(id, option, let value) = $0 { value } else { nil } }.first
        }
        let set = try await harness.perform(.setOption(id, option, value))
        let get = try await harness.perform(.getOption(id, option))
        return (reported(in: set), reported(in: get))
    }

    @Test func setAndGetAnswerWithWhatTheKernelHolds() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let id = SocketID(.connection, 1)

        #expect(try await setAndGet(harness, id, .nodelay, 0) == (0, 0))
        #expect(try await setAndGet(harness, id, .keepalive, 1) == (1, 1))
        // The kernel doubles buffer sizes for its bookkeeping.
        #expect(try await setAndGet(harness, id, .rcvbuf, 65536) == (131072, 131072))
        #expect(try await setAndGet(harness, id, .sndbuf, 65536) == (131072, 131072))
        #expect(try await setAndGet(harness, id, .linger, 5) == (5, 5))
        #expect(try await setAndGet(harness, id, .linger, 0) == (0, 0))
        #expect(try await setAndGet(harness, id, .linger, -1) == (-1, -1))
        #expect(try await setAndGet(harness, id, .ttl, 12) == (12, 12))
        #expect(try await setAndGet(harness, listener.id, .reuseport, 1) == (1, 1))
        #expect(try await setAndGet(harness, listener.id, .reuseaddr, 0) == (0, 0))
    }

    @Test func ttlOnIPv6IsTheUnicastHopLimit() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.tcp, host: "::1", port: 0))))
        let id = try #require(answer.first?.socket)
        #expect(try await setAndGet(harness, id, .ttl, 7) == (7, 7))
    }

    @Test func optionFailuresAreExplainedErrors() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let udp = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0))))
        let udpID = try #require(udp.first?.socket)
        let path = TemporaryPath.make(prefix: "options", suffix: ".sock")
        let unix = try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path))))
        let unixID = try #require(unix.first?.socket)

        func failure(_ command: EngineCommand, on id: SocketID) async throws -> SocketFailure {
            let answer = try await harness.perform(command)
            #expect(answer.count == 2 && answer.last == .requestCompleted, "\(answer)")
            return try #require(answer.compactMap { if case .error(id, let f) = $0 { f } else { nil } }.first, "\(answer)")
        }
        let tcpOnUDP = try await failure(.setOption(udpID, .nodelay, 1), on: udpID)
        #expect(tcpOnUDP.call == "setsockopt")
        #expect(tcpOnUDP.code == "ENOPROTOOPT" || tcpOnUDP.code == "EOPNOTSUPP", "\(tcpOnUDP)")
        #expect(tcpOnUDP.target == "TCP_NODELAY")

        let tcpOnUnix = try await failure(.getOption(unixID, .nodelay), on: unixID)
        #expect(tcpOnUnix.call == "getsockopt")
        #expect(tcpOnUnix.code == "ENOPROTOOPT")
        #expect(tcpOnUnix.explanation.contains("UNIX"))

        let zeroTTL = try await failure(.setOption(udpID, .ttl, 0), on: udpID)
        #expect(zeroTTL.code == "EINVAL")
        #expect(zeroTTL.call == "setsockopt")

        let negative = try await failure(.setOption(udpID, .rcvbuf, -5), on: udpID)
        #expect(negative.code == "EINVAL")

        // UDP sockets take the options that apply to them.
        #expect(try await setAndGet(harness, udpID, .ttl, 3) == (3, 3))
        let unknown = try await harness.perform(.getOption(SocketID(.connection, 77), .ttl))
        #expect(unknown == [.error(SocketID(.connection, 77), SocketFailure(call: "getsockopt", explanation: "no open connection C77")),
                            .requestCompleted])
    }
}
