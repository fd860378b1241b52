import Testing
@testable import SockscopeCore

/// `replay C3 [to ENDPOINT] [--timing]`: the chunks come from the log, a cut chunk is
/// refused, each chunk is its own send, and --timing waits the original gaps between them.
@Suite struct ReplayTests {
    static let ms: Int64 = 1_000_000

    /// C1, a connection we opened to 127.0.0.1:7000, sent "one" at 0 ms, "two!" at 250 ms
    /// and "3" at 1000 ms, and received "reply" between them (not the client side's).
    static func recorded(_ lastChunk: (bytes: [UInt8], count: Int)? = nil) -> AppState {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("one".utf8), count: 3), at: 0))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("reply".utf8), count: 5), at: 100 * ms))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("two!".utf8), count: 4), at: 250 * ms))
        let last = lastChunk ?? (Array("3".utf8), 1)
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: last.bytes, count: last.count), at: 1000 * ms))
        return state
    }

    /// Runs the replay: the engine's answers to each request, in order; the commands it was asked.
    static func run(_ line: String, state: inout AppState) -> [EngineCommand] {
        var pending = requests(Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: t0)))
        var asked: [EngineCommand] = []
        while let request = pending.first {
            pending.removeFirst()
            asked.append(request.command)
            if case .connect = request.command {
                _ = Reducer.reduce(&state, event(.connecting(C2, remote: "127.0.0.1:7000"), request.id, at: 2000 * ms))
                _ = Reducer.reduce(&state, event(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:7000"),
                                                 request.id, at: 2000 * ms))
            }
            pending += requests(Reducer.reduce(&state, event(.requestCompleted, request.id, at: 2000 * ms)))
        }
        return asked
    }

    @Test func theChunksAreWhatTheClientSideSentEachItsOwnSendToTheOriginalEnd() {
        var state = Self.recorded()
        let asked = Self.run("replay C1", state: &state)
        #expect(asked == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 7000))),
                          .send(C2, Array("one".utf8)), .send(C2, Array("two!".utf8)), .send(C2, Array("3".utf8))])
        #expect(state.replays.isEmpty)
        let notes = (0..<state.log.count).compactMap { index -> String? in
            if case .note(let text) = state.log[index].record { text } else { nil }
        }
        #expect(notes.contains("C2 replayed 3 chunk(s), 8 bytes from C1"), "\(notes)")
    }

    @Test func timingWaitsTheOriginalGapsBetweenTheChunks() {
        var state = Self.recorded()
        let asked = Self.run("replay C1 to tcp://127.0.0.1:7001 --timing", state: &state)
        #expect(asked == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 7001))),
                          .send(C2, Array("one".utf8)), .wait(milliseconds: 250), .send(C2, Array("two!".utf8)),
                          .wait(milliseconds: 750), .send(C2, Array("3".utf8))])
    }

    @Test func aChunkTheLogCutIsRefusedNamingItsSizeAndHowToKeepItWhole() {
        var state = Self.recorded((Array(repeating: 0x41, count: DataPreview.limit), 5000))
        let effects = Reducer.reduce(&state, .commandLine("replay C1", origin: .prompt, time: t0))
        #expect(requests(effects).isEmpty, "never replays less")
        #expect(state.log.last?.kind == .error)
        let text = state.log.last.flatMap { if case .note(let text) = $0.record { text } else { nil } } ?? ""
        #expect(text.contains("C1's chunk 3 was 5000 bytes and the log kept 1024: follow C1"), "\(text)")
    }

    @Test func anAcceptedClientReplaysWhatThePeerSentAndNeedsSomewhereToGo() {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 1)))
        _ = Reducer.reduce(&state, event(.accepted(C1, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:50000")))
        _ = Reducer.reduce(&state, event(.received(C1, bytes: Array("GET".utf8), count: 3)))
        _ = Reducer.reduce(&state, event(.sent(C1, bytes: Array("answer".utf8), count: 6), at: 100 * Self.ms))
        #expect(requests(Reducer.reduce(&state, .commandLine("replay C1", origin: .prompt, time: t0))).isEmpty)
        #expect(state.log.last?.kind == .error)
        let asked = Self.run("replay C1 to 127.0.0.1:9000", state: &state)
        #expect(asked == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 9000))),
                          .send(C2, Array("GET".utf8))])
    }

    @Test(arguments: ["replay C9", "replay C1"])
    func unknownOrSilentConnectionsAreRefused(_ line: String) {
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, event(.connecting(C1, remote: "127.0.0.1:7000")))
        _ = Reducer.reduce(&state, event(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:7000")))
        #expect(requests(Reducer.reduce(&state, .commandLine(line, origin: .prompt, time: t0))).isEmpty)
        #expect(state.log.last?.kind == .error)
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
