import Testing
@testable import SockscopeCore

/// `replay C3 [to ENDPOINT] [--timing]`: the chunks come from the engine's record of what
/// the client side sent (not from the log), a record that stopped early is refused, each
/// chunk is its own send, and --timing waits the original gaps between them.
@Suite struct ReplayTests {
    static let ms: Int64 = 1_000_000

    /// C1, a connection we opened to 127.0.0.1:7000; it sent "one" at 0 ms, "two!" at 250 ms
    /// and "3" at 1000 ms, and received "reply" between them.
    static func opened() -> AppState {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("one".utf8), count: 3), at: 0))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("reply".utf8), count: 5), at: 100 * ms))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("two!3".utf8), count: 5), at: 1000 * ms))
        return state
    }

    /// The engine's record of C1's writes: three chunks, though the log merged the last two.
    static let record = ReplayRecord(chunks: [
        ReplayRecord.Chunk(bytes: Array("one".utf8), time: Timestamp(nanoseconds: 0)),
        ReplayRecord.Chunk(bytes: Array("two!".utf8), time: Timestamp(nanoseconds: 250 * ms)),
        ReplayRecord.Chunk(bytes: Array("3".utf8), time: Timestamp(nanoseconds: 1000 * ms)),
    ], total: 8)

    /// Runs the replay: the engine's answers to each request, in order (`record` answers the
    /// record request); the commands it was asked.
    static func run(_ line: String, record: ReplayRecord = Self.record, state: inout AppState) -> [EngineCommand] {
        var pending = requests(Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: t0)))
        var asked: [EngineCommand] = []
        while let request = pending.first {
            pending.removeFirst()
            asked.append(request.command)
            if case .replayRecord(let id) = request.command {
                pending += requests(Reducer.reduce(&state, event(.replayRecord(id, record), request.id, at: 2000 * ms)))
            }
            if case .connect = request.command {
                _ = Reducer.reduce(&state, event(.connecting(C2, remote: "127.0.0.1:7000"), request.id, at: 2000 * ms))
                _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:7000"),
                                                 request.id, at: 2000 * ms))
            }
            pending += requests(Reducer.reduce(&state, event(.requestCompleted, request.id, at: 2000 * ms)))
        }
        return asked
    }

    static func notes(_ state: AppState) -> [String] {
        (0..<state.log.count).compactMap { index -> String? in
            if case .note(let text) = state.log[index].record { text } else { nil }
        }
    }

    @Test func theChunksAreTheRecordsEachItsOwnSendToTheOriginalEnd() {
        var state = Self.opened()
        let asked = Self.run("replay C1", state: &state)
        #expect(asked == [.replayRecord(C1), .connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 7000))),
                          .send(C2, Array("one".utf8)), .send(C2, Array("two!".utf8)), .send(C2, Array("3".utf8))])
        #expect(state.replays.isEmpty)
        #expect(Self.notes(state).contains("C2 replayed 3 chunk(s), 8 bytes from C1"), "\(Self.notes(state))")
    }

    @Test func timingWaitsTheOriginalGapsBetweenTheChunks() {
        var state = Self.opened()
        let asked = Self.run("replay C1 to tcp://127.0.0.1:7001 --timing", state: &state)
        #expect(asked == [.replayRecord(C1), .connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 7001))),
                          .send(C2, Array("one".utf8)), .wait(milliseconds: 250), .send(C2, Array("two!".utf8)),
                          .wait(milliseconds: 750), .send(C2, Array("3".utf8))])
    }

    @Test func aRecordThatStoppedEarlyIsRefusedSayingWhyAndNothingIsSent() {
        var state = Self.opened()
        let cut = ReplayRecord(chunks: Self.record.chunks, total: 300_000,
                               cut: "it keeps the first 256 KiB of each connection")
        let asked = Self.run("replay C1", record: cut, state: &state)
        #expect(asked == [.replayRecord(C1)], "never replays less than was sent")
        #expect(state.replays.isEmpty)
        #expect(state.log.last?.kind == .error)
        let text = Self.notes(state).last ?? ""
        #expect(text.contains("C1's client side sent 293.0 KiB and the record for replay holds the first 8 B "
                              + "(it keeps the first 256 KiB of each connection)"), "\(text)")
    }

    @Test func aRecordRequestTheEngineRefusesEndsTheReplay() {
        var state = Self.opened()
        let ask = requests(Reducer.reduce(&state, .commandLine("replay C1", origin: .prompt, time: t0)))
        guard let request = ask.first else { Issue.record("no request"); return }
        #expect(request.command == .replayRecord(C1))
        _ = Reducer.reduce(&state, event(.error(C1, SocketFailure(call: "replay", explanation: "no record")), request.id))
        #expect(requests(Reducer.reduce(&state, event(.requestCompleted, request.id))).isEmpty)
        #expect(state.replays.isEmpty)
    }

    @Test func anAcceptedClientReplaysWhatThePeerSentAndNeedsSomewhereToGo() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:50000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("GET".utf8), count: 3)))
        #expect(requests(Reducer.reduce(&state, .commandLine("replay C1", origin: .prompt, time: t0))).isEmpty)
        #expect(state.log.last?.kind == .error)
        let get = ReplayRecord(chunks: [ReplayRecord.Chunk(bytes: Array("GET".utf8), time: t0)], total: 3)
        let asked = Self.run("replay C1 to 127.0.0.1:9000", record: get, state: &state)
        #expect(asked == [.replayRecord(C1), .connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000))),
                          .send(C2, Array("GET".utf8))])
    }

    @Test func aClientOfAnEchoListenerIsRefusedSayingItsClientsAreNotRecorded() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:50000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("GET".utf8), count: 3)))
        #expect(requests(Reducer.reduce(&state, .commandLine("replay C1 to 127.0.0.1:9001", origin: .prompt, time: t0))).isEmpty)
        #expect(Self.notes(state).last?.contains("C1 is a client of L1 (--echo), whose clients are not recorded for replay") == true,
                "\(Self.notes(state))")
    }

    /// Either leg of a relayed pair replays what the client sent (the client leg's record),
    /// to the relay's target by default.
    @Test(arguments: [C1, C2]) func eitherLegOfARelayedPairReplaysTheClientsBytesToTheTarget(_ leg: SocketID) {
        var state = AppState(interactive: false)
        let relay = SocketID(.relay, 1)
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: relay, local: "127.0.0.1:8080", remote: "127.0.0.1:50000")))
        _ = Reducer.reduce(&state, event(.relay(.upstream(C2, relay: relay, client: C1, .tcp, target: "tcp://127.0.0.1:80"))))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40000", remote: "127.0.0.1:80")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("GET".utf8), count: 3)))
        #expect(state.connection(C1)?.relay?.partner == C2)
        let ask = requests(Reducer.reduce(&state, .commandLine("replay \(leg)", origin: .prompt, time: t0)))
        #expect(ask.map(\.command) == [.replayRecord(C1)])
        #expect(state.replays.first?.destination == .inet(.tcp, host: "127.0.0.1", port: 80))
    }

    @Test(arguments: ["replay C9", "replay C2"])
    func unknownOrSilentConnectionsAreRefusedWithoutAskingTheEngine(_ line: String) {
        var state = Self.opened()
        _ = Reducer.reduce(&state, event(.connecting(C2, remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.received(C2, bytes: Array("hello".utf8), count: 5)))
        #expect(requests(Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: t0))).isEmpty)
        #expect(state.log.last?.kind == .error)
    }

    @Test func aConnectionThatSentNothingIsRefused() {
        var state = Self.opened()
        let asked = Self.run("replay C1", record: ReplayRecord(), state: &state)
        #expect(asked == [.replayRecord(C1)])
        #expect(Self.notes(state).last?.contains("C1's client side sent nothing; nothing to replay") == true)
    }

    @Test func datagramSocketsAreRefused() throws {
        var state = AppState(interactive: false)
        let connect = try #require(requests(Reducer.reduce(&state, .commandLine("connect udp://127.0.0.1:7000", origin: .prompt,
                                                                                time: t0))).first)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:7000"), connect.id))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:7000"), connect.id))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: [1, 2], count: 2)))
        #expect(state.connection(C1)?.transport == .udp)
        #expect(requests(Reducer.reduce(&state, .commandLine("replay C1", origin: .prompt, time: t0))).isEmpty)
        #expect(state.log.last?.kind == .error)
    }
}
