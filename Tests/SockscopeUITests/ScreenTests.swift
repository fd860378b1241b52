import Testing
import TestSupport
import SockscopeCore
import SockscopeUI

private let t0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
private let L1 = SocketID(.listener, 1), C1 = SocketID(.connection, 1), C2 = SocketID(.connection, 2)

private func apply(_ kind: EngineEventKind, _ state: inout AppState, ms: Int64) {
    _ = Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: t0.nanoseconds + ms * 1_000_000), kind: kind)))
}

/// A listener, one accepted and one outgoing connection, and a log with hostile bytes.
func sampleState(width: Int, height: Int) -> AppState {
    var state = AppState(interactive: true)
    _ = Reducer.reduce(&state, .resize(width: width, height: height))
    apply(.listening(L1, .tcp, local: "127.0.0.1:9000", mode: .echo, backlog: 4096), &state, ms: 0)
    apply(.connecting(C1, remote: "127.0.0.1:9000"), &state, ms: 100)
    apply(.accepted(C2, listener: L1, local: "127.0.0.1:9000", remote: "127.0.0.1:51234"), &state, ms: 101)
    apply(.connected(C1, local: "127.0.0.1:51234", remote: "127.0.0.1:9000"), &state, ms: 102)
    apply(.sent(C1, bytes: Array("hello\n".utf8), count: 6), &state, ms: 200)
    apply(.received(C2, bytes: Array("hello\n".utf8), count: 6), &state, ms: 201)
    apply(.sent(C2, bytes: Array("hello\n".utf8), count: 6), &state, ms: 202)
    apply(.received(C1, bytes: Array("\u{1B}[2J\u{1B}]0;owned\u{07}".utf8), count: 13), &state, ms: 300)
    state.needsRedraw = false
    return state
}

@Suite struct ScreenTests {
    @Test func overview80x24() {
        assertSnapshot(Screen.render(sampleState(width: 80, height: 24)), named: "overview-80x24")
    }

    @Test func overview120x40() {
        assertSnapshot(Screen.render(sampleState(width: 120, height: 40)), named: "overview-120x40")
    }

    @Test func tiny20x6ShowsTheFocusedPane() {
        let frame = Screen.render(sampleState(width: 20, height: 6))
        assertSnapshot(frame, named: "overview-20x6")
        #expect(frame.grid.textLines.joined().contains("Listening"))
    }

    @Test func emptyScreenTeachesTheNextStep() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 80, height: 24))
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "empty-80x24")
        #expect(frame.grid.textLines.joined().contains("Press : and type listen 9000"))
    }

    @Test func helpOverlayListsEveryKeyAndCommand() {
        var state = sampleState(width: 120, height: 40)
        _ = Reducer.reduce(&state, .key(.character("?"), time: t0))
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "help-120x40")
        // Scroll through the overlay, collecting everything it shows.
        var text = frame.grid.textLines.joined(separator: "\n")
        // Enough to reach the end of the overlay (it grows with each command).
        for _ in 0..<100 {
            _ = Reducer.reduce(&state, .key(.down, time: t0))
            text += Screen.render(state).grid.textLines.joined(separator: "\n")
        }
        for binding in KeyBindings.table { #expect(text.contains(binding.description)) }
        for spec in CommandCatalog.specs { #expect(text.contains(spec.usage)) }
    }

    @Test func promptShowsTextCursorAndInlineError() {
        var state = sampleState(width: 80, height: 24)
        _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
        for c in "listen 99999" { _ = Reducer.reduce(&state, .key(.character(c), time: t0)) }
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "prompt-error-80x24")
        #expect(frame.grid.textLines[23].hasPrefix(":listen 99999"))
        #expect(frame.cursorY == 23 && frame.cursorX == 13)
        // The whole error, on the row under the totals since it does not fit beside them.
        #expect(frame.grid.textLines[1].hasPrefix("port 99999 is out of range: ports go from 0 to 65535"))
    }

    @Test func hostileBytesNeverReachTheGridRaw() {
        let frame = Screen.render(sampleState(width: 120, height: 40))
        for cell in frame.grid.cells {
            #expect(cell.character.unicodeScalars.allSatisfy(DisplayText.isSafe))
        }
        #expect(frame.grid.textLines.joined().contains("\\x1b[2J\\x1b]0;owned\\x07"))
    }

    @Test func everySizeRendersWithoutCrashing() {
        for width in [0, 1, 2, 5, 19, 20, 40, 80, 300] {
            for height in [0, 1, 2, 3, 6, 13, 14, 24, 100] {
                var state = sampleState(width: width, height: height)
                _ = Reducer.reduce(&state, .resize(width: width, height: height))
                let frame = Screen.render(state)
                #expect(frame.grid.textLines.count == max(1, height) || height == 0)
                _ = Reducer.reduce(&state, .key(.character("?"), time: t0))
                _ = Screen.render(state)
            }
        }
    }

    @Test func gridReplacesUnsafeCharactersAndHandlesWideOnes() {
        var grid = CellGrid(width: 6, height: 1)
        grid.put("a\u{1B}漢b", x: 0, y: 0)
        #expect(grid.textLines == ["a?漢b "])
        #expect(grid[3, 0].isContinuation)
    }
}

@Suite struct ViewFeatureTests {
    @Test func hexView() {
        var state = sampleState(width: 100, height: 30)
        _ = Reducer.reduce(&state, .key(.character("h"), time: t0))
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "hex-100x30")
        let text = frame.grid.textLines.joined(separator: "\n")
        #expect(text.contains("0000  1b 5b 32 4a 1b 5d 30 3b  6f 77 6e 65 64 07"))
        #expect(text.contains(".[2J.]0;owned."))
    }

    @Test func filterBySocketAndText() {
        var state = sampleState(width: 100, height: 30)
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        for c in "C2" { _ = Reducer.reduce(&state, .key(.character(c), time: t0)) }
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        var text = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(text.contains("filter: C2"))
        #expect(!text.contains("C1  →"), "C1's entries are hidden")
        #expect(text.contains("C2  ←"))
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        state.view.logFilter = "owned"
        text = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(text.contains("owned") && !text.contains("C2  ←"))
    }

    @Test func zoomGivesTheFocusedPaneTheScreen() {
        var state = sampleState(width: 80, height: 24)
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        _ = Reducer.reduce(&state, .key(.character("z"), time: t0))
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "zoom-connections-80x24")
        #expect(!frame.grid.textLines.joined().contains("Listening ("))
    }

    @Test func resetAsksFirst() {
        var state = sampleState(width: 80, height: 24)
        _ = Reducer.reduce(&state, .key(.tab, time: t0))
        var effects = Reducer.reduce(&state, .key(.character("R"), time: t0))
        #expect(effects.isEmpty)
        let frame = Screen.render(state)
        #expect(frame.grid.textLines[23].hasPrefix("Reset C1 (abortive close, the peer gets RST)? y/n"))
        effects = Reducer.reduce(&state, .key(.character("n"), time: t0))
        #expect(effects.isEmpty && state.view.confirmation == nil)
    }

    @Test func sendLineShowsItsTarget() {
        var state = sampleState(width: 80, height: 24)
        _ = Reducer.reduce(&state, .key(.character("s"), time: t0))
        for c in "hi" { _ = Reducer.reduce(&state, .key(.character(c), time: t0)) }
        let frame = Screen.render(state)
        #expect(frame.grid.textLines[23].hasPrefix("send C1> hi"))
        #expect(frame.cursorX == 11)
    }

    @Test func relativeTimestamps() {
        var state = sampleState(width: 80, height: 24)
        _ = Reducer.reduce(&state, .key(.character("t"), time: t0))
        #expect(Screen.render(state).grid.textLines.joined().contains("+0.300s C1"))
    }

    @Test func mouseHitsRows() {
        let state = sampleState(width: 80, height: 24)
        // Row 7 is the first connection row (status, listener pane of 4 rows, border, header).
        let hit = HitTest.hit(state, x: 10, y: 7)
        #expect(hit?.pane == .connections)
        #expect(hit?.row == 0)
        #expect(HitTest.hit(state, x: 10, y: 15)?.pane == .log)
    }
}

/// Every pane and overlay at the three sizes the project promises.
@Suite struct SizeMatrixTests {
    enum View: String, CaseIterable {
        case help, hex, detail, log, connections, prompt, confirmation
    }

    static let sizes = [(80, 24), (120, 40), (20, 6)]

    func state(_ view: View, width: Int, height: Int) -> AppState {
        var state = sampleState(width: width, height: height)
        switch view {
        case .help: _ = Reducer.reduce(&state, .key(.character("?"), time: t0))
        case .hex: _ = Reducer.reduce(&state, .key(.character("h"), time: t0)); state.view.focus = .log
        case .detail: state.view.focus = .detail; state.view.zoomed = true
        case .log: state.view.focus = .log; state.view.zoomed = true
        case .connections: state.view.focus = .connections
        case .prompt:
            _ = Reducer.reduce(&state, .key(.character(":"), time: t0))
            for c in "conn" { _ = Reducer.reduce(&state, .key(.character(c), time: t0)) }
            _ = Reducer.reduce(&state, .key(.tab, time: t0))
        case .confirmation:
            state.view.focus = .connections
            _ = Reducer.reduce(&state, .key(.character("R"), time: t0))
        }
        return state
    }

    @Test(arguments: View.allCases)
    func everyViewAtEverySize(_ view: View) {
        for (width, height) in Self.sizes {
            let frame = Screen.render(state(view, width: width, height: height))
            assertSnapshot(frame, named: "matrix-\(view.rawValue)-\(width)x\(height)")
            #expect(frame.grid.textLines.count == height)
            #expect(frame.grid.textLines.allSatisfy { TextWidth.columns(of: $0) == width })
        }
    }
}

/// Wide characters (an emoji, CJK) take two cells and a combining mark none, so a row
/// holding them keeps its columns and borders where they belong.
@Suite struct TextWidthScreenTests {
    static let path = "/tmp/\u{1F680}漢字-cafe\u{301}.sock"

    func state() -> AppState {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 80, height: 24))
        apply(.listening(L1, .unix, local: .unix(Self.path), mode: .echo, backlog: 16), &state, ms: 0)
        apply(.accepted(C1, listener: L1, local: .unix(Self.path), remote: .unnamed), &state, ms: 1)
        apply(.received(C1, bytes: Array("\u{1F680}漢字 cafe\u{301}\n".utf8), count: 18), &state, ms: 2)
        state.needsRedraw = false
        return state
    }

    @Test func aRowWithAnEmojiCJKAndACombiningMark80x24() throws {
        let frame = Screen.render(state())
        assertSnapshot(frame, named: "unicode-width-80x24")
        let lines = frame.grid.textLines
        let rows = lines.indices.filter { lines[$0].contains("\u{1F680}") }
        #expect(rows.count >= 3, "the listener, the connection and the data, at least")
        func column(of character: Character, in row: Int) -> Int? {
            (0..<frame.grid.width).first { frame.grid[$0, row].character == character }
        }
        for row in rows {
            let rocket = try #require(column(of: "\u{1F680}", in: row))
            #expect(frame.grid[rocket + 1, row].isContinuation, "the rocket takes two cells")
            #expect(column(of: "漢", in: row) == rocket + 2, "漢 right after the rocket's two cells")
            if let han = column(of: "漢", in: row), let e = column(of: "e\u{301}", in: row) {
                #expect(frame.grid[han + 1, row].isContinuation && frame.grid[han + 3, row].isContinuation)
                #expect(!frame.grid[e + 1, row].isContinuation, "the combining mark takes no cell of its own")
            }
            #expect(frame.grid[79, row].character == "│", "the right border stays in the last column")
            #expect(TextWidth.columns(of: lines[row]) == 80)
        }
    }

    @Test func gridGivesAClusterAllItsColumnsAndAMarkAloneAQuestionMark() {
        var grid = CellGrid(width: 8, height: 1)
        // A lone combining mark, e with an acute, a thumbs-up with a skin tone (4 columns, as ncurses counts), x.
        let used = grid.put("\u{301}e\u{301}\u{1F44D}\u{1F3FD}x", x: 0, y: 0)
        #expect(used == 7)
        #expect(grid.textLines == ["?e\u{301}\u{1F44D}\u{1F3FD}x "])
        #expect((3...5).allSatisfy { grid[$0, 0].isContinuation } && grid[6, 0].character == "x")
    }
}

/// A relay with one pair, the upstream leg paused: the pair stands together in Connections,
/// and the client leg's Detail shows both legs.
@Suite struct RelayScreenTests {
    @Test func aRelayedPairAt160x40() {
        let r1 = SocketID(.relay, 1)
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 160, height: 40))
        apply(.relay(.listening(r1, .tcp, local: "127.0.0.1:8080", target: "tcp://127.0.0.1:80")), &state, ms: 0)
        apply(.accepted(C1, listener: r1, local: "127.0.0.1:8080", remote: "127.0.0.1:50001"), &state, ms: 10)
        apply(.relay(.upstream(C2, relay: r1, client: C1, .tcp, target: "tcp://127.0.0.1:80")), &state, ms: 11)
        apply(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:80"), &state, ms: 12)
        apply(.received(C1, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8), count: 18), &state, ms: 20)
        apply(.sent(C2, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8), count: 18), &state, ms: 21)
        apply(.received(C2, bytes: [], count: 300_000), &state, ms: 30)
        apply(.relay(.paused(C2, .upstream, relay: r1, waitingOn: C1, held: 65_536)), &state, ms: 90)
        state.view.selectedConnection = C1
        state.view.focus = .connections
        state.needsRedraw = false
        assertSnapshot(Screen.render(state), named: "relay-160x40")
    }

    /// A relay holding: the pair's row counts what each leg holds, Detail draws the held bytes
    /// against the relay's bound as a bar, and the relay's Detail says what it holds.
    @Test func aHoldingPairShowsItsHeldChunksAndABar() {
        let r1 = SocketID(.relay, 1)
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 160, height: 40))
        apply(.relay(.listening(r1, .tcp, local: "127.0.0.1:8080", target: "tcp://127.0.0.1:80")), &state, ms: 0)
        apply(.accepted(C1, listener: r1, local: "127.0.0.1:8080", remote: "127.0.0.1:50001"), &state, ms: 10)
        apply(.relay(.upstream(C2, relay: r1, client: C1, .tcp, target: "tcp://127.0.0.1:80")), &state, ms: 11)
        apply(.connected(C2, local: "127.0.0.1:40001", remote: "127.0.0.1:80"), &state, ms: 12)
        apply(.relay(.holding(r1, .up, .raw)), &state, ms: 13)
        apply(.received(C1, bytes: [], count: 2 * 1024 * 1024), &state, ms: 20)
        apply(.relay(.held(C1, .client, relay: r1, sequence: 1, bytes: [0x41], count: 2 * 1024 * 1024, heldChunks: 1,
                           heldBytes: 2 * 1024 * 1024)), &state, ms: 21)
        state.view.selectedConnection = C1
        state.view.focus = .connections
        let text = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(text.contains("holds 1/2.0 MiB"), "\(text)")
        #expect(text.contains("██████████░░░░░░░░░░"), "half the 4 MiB bound: half the bar\n\(text)")
        #expect(text.contains("1 chunk(s), 2.0 MiB of 4.0 MiB"), "\(text)")
        state.view.selectedListener = r1
        state.view.focus = .listeners
        let relayText = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(relayText.contains("client to server, cut as raw: 1 chunk(s) held"), "\(relayText)")
    }

    /// A UDP relay put down: Listening says `down` and counts its pairs (not datagrams), and
    /// its Detail says clients are refused until up.
    @Test func aDownUDPRelayReadsDownInListeningAndDetail() {
        let r1 = SocketID(.relay, 1)
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 160, height: 40))
        apply(.relay(.listening(r1, .udp, local: "127.0.0.1:5353", target: "udp://127.0.0.1:53")), &state, ms: 0)
        apply(.accepted(C1, listener: r1, local: "127.0.0.1:5353", remote: "127.0.0.1:50001"), &state, ms: 10)
        apply(.relay(.upstream(C2, relay: r1, client: C1, .udp, target: "udp://127.0.0.1:53")), &state, ms: 11)
        apply(.relay(.down(r1, closedPairs: 0)), &state, ms: 20)
        state.view.selectedListener = r1
        state.view.focus = .listeners
        let text = snapshotText(Screen.render(state))
        let row = text.split(separator: "\n").first { $0.contains("R1") && $0.contains("relay to") } ?? ""
        #expect(row.contains("1/1") && row.contains("down"), "\(row)")
        #expect(text.contains("down: every client refused until relay R1 up"), "\(text)")
    }
}
