import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("connect --bind and --timeout, attempts, resolve", .timeLimit(.minutes(1)))
struct ConnectOptionsTests {
    @Test func bindChoosesTheClientsLocalAddressAndPort() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        // 127.0.0.2 is loopback too, but never the address the kernel would pick for 127.0.0.1:
        // seeing it proves the bind happened. Port 0 keeps the port ours (the kernel picks it);
        // that the port given is the one bound is shown by the EADDRINUSE test below.
        let answer = try await harness.perform(.connect(ConnectRequest(
            endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port), bind: LocalAddress(host: "127.0.0.2", port: 0))))
        let local = try #require(answer.lazy.compactMap { kind -> SocketEndpoint? in
            if case .connected(SocketID(.connection, 1), let local, "127.0.0.1:\(listener.port)") = kind { local } else { nil }
        }.first, "\(answer)")
        #expect(local.description.hasPrefix("127.0.0.2:") && EngineHarness.port(of: local).map { $0 > 0 } == true, "\(local)")
        try await harness.waitFor("the accept") { harness.acceptedConnections(on: listener.id).count == 1 }
        #expect(harness.kinds.contains { if case .accepted(_, _, _, local) = $0 { true } else { false } })
    }

    @Test func bindingABusyPortIsEADDRINUSEFromBind() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        let answer = try await harness.perform(.connect(ConnectRequest(
            endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port),
            bind: LocalAddress(host: "127.0.0.1", port: listener.port))))
        let id = SocketID(.connection, 1)
        let failure = try #require(harness.failures(on: id).first, "\(answer)")
        #expect(failure.call == "bind")
        #expect(failure.code == "EADDRINUSE")
        #expect(answer.suffix(2) == [.closed(id, reason: "connect failed"), .requestCompleted])
    }

    @Test func bindWorksForUDPToo() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0),
                                                                     mode: .echo)))
        guard case .listening(let listener, _, let serverLocal, _, _)? = server.first, let port = EngineHarness.port(of: serverLocal) else {
            Issue.record("\(server)")
            return
        }
        let answer = try await harness.perform(.connect(ConnectRequest(
            endpoint: .inet(.udp, host: "127.0.0.1", port: port), bind: LocalAddress(host: "127.0.0.2", port: 0))))
        let id = SocketID(.connection, 1)
        let local = try #require(answer.lazy.compactMap { kind -> SocketEndpoint? in
            if case .connected(id, let local, "127.0.0.1:\(port)") = kind { local } else { nil }
        }.first, "\(answer)")
        #expect(local.description.hasPrefix("127.0.0.2:") && EngineHarness.port(of: local).map { $0 > 0 } == true, "\(local)")
        _ = try await harness.perform(.send(id, Array("bound".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: id).bytes == Array("bound".utf8) }
        #expect(harness.kinds.contains(.receivedFrom(listener, from: local, bytes: Array("bound".utf8),
                                                     count: 5, truncated: false)))
    }

    @Test func theTimeoutIsPerRequest() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // Linux drops SYNs while a listener's accept queue is full (backlog 0, nobody accepting).
        let silent = try ReservedPort(listenBacklog: 0)
        var failures: [SocketFailure] = []
        for _ in 0..<3 {
            let answer = try await harness.perform(.connect(ConnectRequest(
                endpoint: .inet(.tcp, host: "127.0.0.1", port: silent.port), timeoutMilliseconds: 250)))
            failures += answer.compactMap { if case .error(_, let failure) = $0 { failure } else { nil } }
            if !failures.isEmpty { break }
        }
        let failure = try #require(failures.first)
        #expect(failure.code == "ETIMEDOUT")
        #expect(failure.explanation == "the peer did not answer within 250 ms")
    }

    @Test func everyAddressOfANameIsAnnouncedBeforeItIsTried() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(host: "127.0.0.1")
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "localhost", port: listener.port))))
        let id = SocketID(.connection, 1)
        let attempts = answer.compactMap { if case .attempt(id, let address) = $0 { address } else { nil } }
        #expect(attempts.last == "127.0.0.1:\(listener.port)", "\(answer)")
        #expect(Set(attempts).count == attempts.count)
        #expect(answer.contains { if case .connected = $0 { true } else { false } })
        // An IP literal is tried as written: nothing to announce.
        let literal = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        #expect(!literal.contains { if case .attempt = $0 { true } else { false } })
    }

    @Test func resolveListsEveryFamilyAndType() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let answer = try await harness.perform(.resolve(host: "localhost"))
        guard case .resolved("localhost", let addresses)? = answer.first else {
            Issue.record("expected .resolved, got \(answer)")
            return
        }
        #expect(addresses.contains(ResolvedAddress(family: "IPv4", type: "stream", address: "127.0.0.1")), "\(addresses)")
        #expect(addresses.contains(ResolvedAddress(family: "IPv4", type: "datagram", address: "127.0.0.1")), "\(addresses)")
        #expect(addresses.allSatisfy { ["IPv4", "IPv6"].contains($0.family) && ["stream", "datagram"].contains($0.type) })

        let v6 = try await harness.perform(.resolve(host: "::1"))
        #expect(v6.first == .resolved(host: "::1", addresses: [ResolvedAddress(family: "IPv6", type: "stream", address: "::1"),
                                                                ResolvedAddress(family: "IPv6", type: "datagram", address: "::1")]))

        let unknown = try await harness.perform(.resolve(host: "no-such-host.invalid"))
        guard case .error(nil, let failure)? = unknown.first else {
            Issue.record("expected an error, got \(unknown)")
            return
        }
        #expect(failure.call == "getaddrinfo")
        #expect(failure.code?.hasPrefix("EAI_") == true)
        #expect(failure.explanation.contains("no-such-host.invalid"))
    }
}
