import Testing
import TestSupport
@testable import SockscopeCore
@testable import SockscopeUI

/// Detail's graphs, fed from recorded traffic and kernel samples: a burst, a stall, a
/// retransmission, a connection that closes mid-graph, a listener's accepts and refusals,
/// both ends side by side; at every size and without UTF-8.
private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
private let L1 = SocketID(.listener, 1)
private let C1 = SocketID(.connection, 1)
private let C2 = SocketID(.connection, 2)
private let C3 = SocketID(.connection, 3)

private struct Recording {
    var state: AppState

    init(width: Int, height: Int, glyphs: Glyphs = .unicode) {
        state = AppState(interactive: true, glyphs: glyphs)
        _ = Reducer.reduce(&state, .resize(width: width, height: height))
    }

    mutating func feed(_ kind: EngineEventKind, at milliseconds: Int64) {
        let time = Timestamp(nanoseconds: start.nanoseconds + milliseconds * 1_000_000)
        _ = Reducer.reduce(&state, .engine(EngineEvent(time: time, request: nil, kind: kind)))
    }

    mutating func tick(at milliseconds: Int64) {
        _ = Reducer.reduce(&state, .tick(Timestamp(nanoseconds: start.nanoseconds + milliseconds * 1_000_000)))
    }

    static func sample(rtt: Int, cwnd: Int, sendQueue: Int, unacked: Int, retransmits: Int) -> KernelSample {
        var sample = KernelSample()
        sample.state = .established
        sample.rttMicroseconds = rtt
        sample.congestionWindow = cwnd
        sample.sendQueue = sendQueue
        sample.receiveQueue = 0
        sample.unackedSegments = unacked
        sample.retransmits = retransmits
        return sample
    }

    /// C1, ours, to a peer that is not: 30 s receiving 4 MiB/s and sending 64 KiB/s, a 30 s
    /// stall, 30 s at 1 MiB/s with a retransmission and an RTT spike at second 75, then closed at 100 s.
    static func busyConnection(width: Int, height: Int, glyphs: Glyphs = .unicode) -> Recording {
        var recording = Recording(width: width, height: height, glyphs: glyphs)
        recording.feed(.connecting(C1, remote: "example.net:443"), at: 0)
        recording.feed(.connected(C1, local: "10.0.0.2:51234", remote: "93.184.216.34:443"), at: 10)
        var retransmits = 0
        for tenth in 1...300 {
            let ms = Int64(tenth) * 100
            recording.feed(.received(C1, bytes: [], count: 4 * 1024 * 1024 / 10), at: ms)
            recording.feed(.sent(C1, bytes: [], count: 64 * 1024 / 10), at: ms)
            if tenth % 5 == 0 {
                recording.feed(.lab(.kernel(C1, sample(rtt: 900 + tenth, cwnd: 10 + tenth / 10, sendQueue: 2048, unacked: 4,
                                                       retransmits: retransmits))), at: ms + 1)
            }
        }
        // The stall: the app's ticks bring the rate down, then stop.
        for second in 31...33 { recording.tick(at: Int64(second) * 1000) }
        for tenth in 600...900 {
            let ms = Int64(tenth) * 100
            recording.feed(.received(C1, bytes: [], count: 1024 * 1024 / 10), at: ms)
            if tenth % 5 == 0 {
                if tenth == 750 { retransmits += 3 }
                let rtt = tenth == 750 ? 200_000 : 1200
                recording.feed(.lab(.kernel(C1, sample(rtt: rtt, cwnd: tenth >= 750 ? 5 : 20, sendQueue: 0, unacked: 0,
                                                       retransmits: retransmits))), at: ms + 1)
            }
        }
        recording.feed(.closed(C1, reason: "closed by us"), at: 100_000)
        recording.select(C1)
        return recording
    }

    mutating func select(_ id: SocketID) {
        if id.kind == .listener {
            state.view.focus = .listeners
            _ = Reducer.reduce(&state, .select(.listeners, index: state.listeners.firstIndex { $0.id == id }!))
        } else {
            state.view.focus = .connections
            let index = state.connectionDisplayOrder.firstIndex { state.connections[$0].id == id }!
            _ = Reducer.reduce(&state, .select(.connections, index: index))
        }
        state.view.focus = .detail
        state.view.zoomed = true
    }

    var text: [String] { Screen.render(state).grid.textLines }
}

@Suite struct GraphTests {
    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func aBusyConnectionsGraphsShowTheBurstTheStallTheRetransmitAndTheClose(_ size: (Int, Int)) throws {
        let recording = Recording.busyConnection(width: size.0, height: size.1)
        let frame = Screen.render(recording.state)
        assertSnapshot(frame, named: "graphs-connection-\(size.0)x\(size.1)")
        let lines = frame.grid.textLines
        let inAt = try #require(lines.firstIndex { $0.hasPrefix("│in ") }, "\(lines.joined(separator: "\n"))")
        // A graph of two rows (from 50 rows) has its zero under it.
        let inRow = lines[inAt] + (lines[inAt + 1].hasPrefix("│                   0 ") ? lines[inAt + 1] : "")
        // 80 columns show the last 57 s: the 1 MiB/s burst; wider, the 4 MiB/s one too.
        #expect(inRow.contains(size.0 >= 120 ? "4.0 MiB/s" : "1.0 MiB/s"), "the scale is the largest rate shown: \(inRow)")
        #expect(inRow.contains("█"), "the burst reaches the top")
        let graphs = try #require(lines.firstIndex { $0.contains("graphs, one column a second") })
        let rttRow = try #require(lines[graphs...].first { $0.hasPrefix("│rtt ") })
        #expect(rttRow.contains("200.000 ms"), "the spike sets the scale: \(rttRow)")
        // The stall: zero seconds on the floor, not a gap.
        #expect(inRow.contains("·"), "\(inRow)")
        // From 40 rows the whole set fits a zoomed pane: the retransmission and the time axis.
        guard size.1 >= 40 else { return }
        let retransRow = try #require(lines.first { $0.contains("│retrans ") })
        #expect(retransRow.contains(" 3 ") && retransRow.filter { $0 == "!" }.count == 1, "one second with 3: \(retransRow)")
        // The axis ends at the close (100 s after the start: 17:51:43) and says how far back it goes.
        let axis = try #require(lines.first { $0.contains("ago") && $0.contains("→") })
        #expect(axis.contains("17:51:43"), "\(axis)")
    }

    @Test func withoutUTF8TheGraphsAreASCII() throws {
        let recording = Recording.busyConnection(width: 120, height: 40, glyphs: .ascii)
        let frame = Screen.render(recording.state)
        assertSnapshot(frame, named: "graphs-connection-ascii-120x40")
        let lines = frame.grid.textLines
        let graphs = try #require(lines.firstIndex { $0.contains("graphs, one column a second") })
        let graphRows = lines[graphs...].filter { $0.hasPrefix("│in ") || $0.hasPrefix("│out ") || $0.hasPrefix("│rtt ") }
        #expect(graphRows.count == 3)
        for row in graphRows {
            let graph = row.dropFirst(1 + DetailGraphs.labelWidth).dropLast()
            #expect(graph.allSatisfy { $0.isASCII }, "\(row)")
        }
        #expect(graphRows[0].contains("#") && graphRows[0].contains("."), "full columns and the stall's floor")
    }

    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func aListenerGraphsAcceptsItsQueueAgainstTheBacklogAndRefusals(_ size: (Int, Int)) throws {
        var recording = Recording(width: size.0, height: size.1)
        recording.feed(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 8), at: 0)
        var client = 1
        for second in 0..<20 {
            for _ in 0..<(second < 10 ? 3 : 0) {
                recording.feed(.accepted(SocketID(.connection, client), listener: L1, local: "127.0.0.1:9000",
                                         remote: .loopback(ipv6: false, port: UInt16(40000 + client))),
                               at: Int64(second) * 1000 + 10)
                client += 1
            }
            var sample = KernelSample()
            sample.state = .listen
            sample.acceptQueue = second < 10 ? second % 9 : 0
            sample.backlog = 8
            recording.feed(.lab(.kernel(L1, sample)), at: Int64(second) * 1000 + 500)
        }
        recording.feed(.refused(L1, remote: "127.0.0.1:50000", reason: "not allowed"), at: 15_000)
        recording.select(L1)
        let frame = Screen.render(recording.state)
        assertSnapshot(frame, named: "graphs-listener-\(size.0)x\(size.1)")
        let lines = frame.grid.textLines
        let accepts = try #require(lines.first { $0.contains("│accepts ") })
        #expect(accepts.contains("3/s"))
        let queue = try #require(lines.first { $0.contains("│queue ") })
        #expect(queue.contains("of 8"), "the scale is the backlog: \(queue)")
        let refused = try #require(lines.first { $0.contains("│refused ") })
        #expect(refused.contains(" 1 ") && refused.contains("!"))
    }

    @Test func bothEndsOursSideBySide() throws {
        var recording = Recording(width: 200, height: 60)
        recording.feed(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .discard, backlog: 8), at: 0)
        recording.feed(.connecting(C1, remote: "127.0.0.1:9000"), at: 0)
        recording.feed(.connected(C1, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), at: 1)
        recording.feed(.accepted(C2, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:40000"), at: 1)
        for tenth in 1...100 {
            let ms = Int64(tenth) * 100
            recording.feed(.sent(C1, bytes: [], count: 100_000), at: ms)
            recording.feed(.received(C2, bytes: [], count: 100_000), at: ms)
            if tenth % 10 == 0 {
                recording.feed(.lab(.kernel(C1, Recording.sample(rtt: 50, cwnd: 10 + tenth, sendQueue: 0, unacked: 1,
                                                                 retransmits: 0))), at: ms + 1)
                recording.feed(.lab(.kernel(C2, Recording.sample(rtt: 40, cwnd: 10, sendQueue: 0, unacked: 0,
                                                                 retransmits: 0))), at: ms + 1)
            }
        }
        recording.select(C1)
        let frame = Screen.render(recording.state)
        assertSnapshot(frame, named: "graphs-both-ends-200x60")
        let lines = frame.grid.textLines
        #expect(lines.contains { $0.contains("us (C1)") && $0.contains("│ peer (C2, also ours)") })
        let out = try #require(lines.first { $0.contains("│out ") })
        #expect(out.contains("976.6 KiB/s") && out.contains("│ out "), "C1 sends on the left: \(out)")
        let inRow = try #require(lines.first { $0.contains("│in ") })
        #expect(inRow.contains("│ in ") && inRow.contains("976.6 KiB/s"), "C2 receives on the right: \(inRow)")
        // Row for row, the same graph on both sides.
        let heading = try #require(lines.firstIndex { $0.contains("│ peer (C2, also ours)") && !$0.contains("kernel") })
        let axis = try #require(lines.firstIndex { $0.contains("ago") })
        for row in lines[(heading + 1)..<axis] {
            let halves = row.dropFirst().split(separator: "│", omittingEmptySubsequences: false)
            let left = halves[0].split(separator: " ").first.map(String.init) ?? ""
            let right = halves[1].split(separator: " ").first.map(String.init) ?? ""
            if Double(left) == nil { #expect(left == right, "\(row)") }
        }
    }

    @Test func aSendfileShowsItsProgressInTheRowAndInDetail() throws {
        var recording = Recording(width: 200, height: 60)
        recording.feed(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .discard, backlog: 8), at: 0)
        recording.feed(.connected(C3, local: "127.0.0.1:40000", remote: "127.0.0.1:9000"), at: 0)
        let effects = Reducer.reduce(&recording.state, .commandLine("sendfile C3 /tmp/big", origin: .prompt, time: start))
        let request = try #require(effects.compactMap { if case .perform(let request) = $0 { request } else { nil } }.first)
        func feed(_ kind: EngineEventKind, at ms: Int64) {
            let time = Timestamp(nanoseconds: start.nanoseconds + ms * 1_000_000)
            _ = Reducer.reduce(&recording.state, .engine(EngineEvent(time: time, request: request.id, kind: kind)))
        }
        feed(.fileSending(C3, path: "/tmp/big", size: 100 * 1024 * 1024), at: 1)
        for second in 1...4 { feed(.sent(C3, bytes: [], count: 10 * 1024 * 1024), at: Int64(second) * 1000) }
        recording.state.view.focus = .connections
        let table = recording.text.joined(separator: "\n")
        #expect(table.contains("open sendfile 40%"), "\(table)")
        #expect(table.contains("██████▊░░░░░░░░░░"), "40% of 17 columns is 6.8: \(table)")
        recording.select(C3)
        let detail = recording.text.joined(separator: "\n")
        #expect(detail.contains("sendfile      ████████░░░░░░░░░░░░"), "\(detail)")
        #expect(detail.contains("40.0 MiB of 100.0 MiB (40%), 10.0 MiB/s, 6 s left"), "\(detail)")
        // Done: the bar goes, the log says how it went.
        feed(.sent(C3, bytes: [], count: 60 * 1024 * 1024), at: 10_000)
        feed(.requestCompleted, at: 10_001)
        #expect(recording.state.transferProgress(of: C3) == nil)
        let lastLine = try #require(recording.state.log.last.map(EventText.sentence))
        #expect(lastLine.contains("sent 100.0 MiB in 10.00 s (10.0 MiB/s)"), "\(lastLine)")
    }
}
