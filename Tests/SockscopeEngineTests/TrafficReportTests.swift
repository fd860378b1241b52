import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Connections report their traffic as totals per engine batch, not an event per read:
/// exact counts, far fewer events, and never after the connection's other news.
@Suite struct TrafficReportTests {
    @Test(.requires("python3")) func thousandsOfReadsAreReportedAsExactTotalsInFewEvents() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let writes = 3000, size = 10
        let peer = try PythonPeer.run(PeerScripts.pingPong, [String(listener.port), String(writes), String(size)])
        #expect(await peer.waitForOutput(containing: "ECHOED \(writes * size)", timeout: .seconds(30)), "peer said: \(peer.output)")
        let connection = SocketID(.connection, 1)
        try await harness.waitFor("the connection to close") { harness.closedReason(of: connection) != nil }

        #expect(harness.receivedCount(on: connection) == writes * size)
        #expect(harness.sentCount(on: connection) == writes * size)
        let about = harness.events(about: connection)
        let receivedEvents = about.filter { if case .received = $0 { true } else { false } }.count
        let sentEvents = about.filter { if case .sent = $0 { true } else { false } }.count
        // One event per read would be one per message: the peer waits for each echo.
        #expect(receivedEvents < writes, "\(receivedEvents) received events for \(writes) reads")
        #expect(sentEvents < writes, "\(sentEvents) sent events for \(writes) echoes")
        // However slow the machine, reports of a stream are a traffic window apart (the
        // last may come early: it is flushed ahead of the close). Timing-independent,
        // unlike a bound on their number.
        for isReceived in [true, false] {
            let times = harness.events.filter { event in
                switch event.kind {
                case .received(connection, _, _): isReceived
                case .sent(connection, _, _): !isReceived
                default: false
                }
            }.map(\.time.nanoseconds)
            let gaps = zip(times.dropFirst(), times).map { ($0 - $1) / 1_000_000 }.dropLast()
            #expect(gaps.allSatisfy { $0 >= 9 }, "\(isReceived ? "received" : "sent") reports closer than the 10 ms window: \(gaps.filter { $0 < 9 }.prefix(10))")
        }
        // A report's preview is the first bytes of the stream it covers: the first one starts the stream.
        let expected = (0..<writes).flatMap { Array(repeating: UInt8(65 + $0 % 26), count: size) }
        let firstReceived = about.lazy.compactMap { kind -> [UInt8]? in
            if case .received(_, let bytes, _) = kind { return bytes } else { return nil }
        }.first ?? []
        let firstSent = about.lazy.compactMap { kind -> [UInt8]? in
            if case .sent(_, let bytes, _) = kind { return bytes } else { return nil }
        }.first ?? []
        #expect(!firstReceived.isEmpty && firstReceived == Array(expected.prefix(firstReceived.count)))
        #expect(!firstSent.isEmpty && firstSent == Array(expected.prefix(firstSent.count)))
        #expect(about.last.map { if case .closed = $0 { true } else { false } } == true, "closed is the last news: \(about.suffix(3))")
    }
}
