import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("Requests and shutdown", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test func everyRequestEndsWithExactlyOneCompletion() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let busy = try await harness.listen()
        var requests: [RequestID] = []
        let commands: [EngineCommand] = [
            .connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))),
            .listen(ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: busy.port))),
            .connect(ConnectRequest(endpoint: .inet(.tcp, host: "no-such-host.invalid", port: 1))),
            .send(SocketID(.connection, 42), [1]),
            .close(SocketID(.listener, 42)),
        ]
        for command in commands { requests.append(harness.submit(command)) }
        try await harness.waitFor("all requests to complete") {
            requests.allSatisfy { harness.events(for: $0).contains(.requestCompleted) }
        }
        requests.append(contentsOf: [
            harness.submit(.send(SocketID(.connection, 1), Array("hi".utf8))),
            harness.submit(.close(SocketID(.connection, 1))),
            harness.submit(.close(busy.id)),
        ])
        try await harness.waitFor("all requests to complete") {
            requests.allSatisfy { harness.events(for: $0).contains(.requestCompleted) }
        }
        // Let anything late arrive before counting: a second echo connection round trip.
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        for request in requests {
            let answer = harness.events(for: request)
            #expect(answer.filter { $0 == .requestCompleted }.count == 1, "\(request): \(answer)")
            #expect(answer.last == .requestCompleted, "\(request): \(answer)")
            #expect(answer.count >= 2, "\(request) got an answer before completing: \(answer)")
        }
    }

    @Test func everySocketIsClosedExactlyOnceEvenAtShutdown() async throws {
        let harness = EngineHarness(threads: 2)
        let listener = try await harness.listen(.echo)
        let udp = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0))))
        for _ in 0..<3 {
            _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        }
        try await harness.waitFor("three accepts") { harness.acceptedConnections(on: listener.id).count == 3 }
        _ = try await harness.perform(.close(SocketID(.connection, 1)))
        harness.shutdown()
        harness.shutdown()

        var sockets: Set<SocketID> = [listener.id]
        if case .listening(let id, .udp, _, _, _)? = udp.first { sockets.insert(id) }
        for kind in harness.kinds {
            if case .accepted(let id, _, _, _) = kind { sockets.insert(id) }
            if case .connecting(let id, _) = kind { sockets.insert(id) }
        }
        #expect(sockets.count == 8)
        for id in sockets {
            let closes = harness.events(about: id).filter { if case .closed = $0 { true } else { false } }
            #expect(closes.count == 1, "\(id): \(harness.events(about: id))")
        }
        #expect(harness.closedReason(of: listener.id) == "engine stopped")
        #expect(harness.closedReason(of: SocketID(.connection, 1)) == "closed by us")

        let before = harness.events.count
        let late = harness.submit(.send(SocketID(.connection, 2), [1]))
        #expect(harness.events(for: late).last == .requestCompleted)
        #expect(harness.events.count == before + 2)
    }
}
