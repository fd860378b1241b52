import Testing
import TestSupport
import SockscopeCore
import SockscopeUI

private let t0 = Timestamp(nanoseconds: 1_795_283_403_000_000_000)
private let longPath = "/tmp/sockscope-layout/a/rather/long/directory/for/the/application/socket.sock"

private func feed(_ kind: EngineEventKind, _ state: inout AppState, ms: Int64) {
    _ = Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: t0.nanoseconds + ms * 1_000_000), kind: kind)))
}

/// Listeners on every interface (IPv4 and IPv6) and on a long UNIX path; connections
/// over IPv4, IPv6 and that path; counts in GiB and a live rate.
func crowdedState(width: Int, height: Int) -> AppState {
    var state = AppState(interactive: true)
    _ = Reducer.reduce(&state, .resize(width: width, height: height))
    let L1 = SocketID(.listener, 1), L2 = SocketID(.listener, 2), L3 = SocketID(.listener, 3)
    feed(.listening(L1, .tcp, local: "0.0.0.0:9000", mode: .echo, backlog: 4096), &state, ms: 0)
    feed(.listening(L2, .tcp, local: "[::]:8443", mode: .discard, backlog: 128), &state, ms: 1)
    feed(.listening(L3, .unix, local: .unix(longPath), mode: .echo, backlog: 16), &state, ms: 2)
    let ipv6Peer: SocketEndpoint = "[2001:db8:1234:5678:9abc:def0:1234:5678]:51234"
    feed(.accepted(SocketID(.connection, 1), listener: L1, local: "192.168.100.200:9000", remote: "192.168.100.201:51234"),
         &state, ms: 10)
    feed(.accepted(SocketID(.connection, 2), listener: L2, local: "[2001:db8:1234:5678:9abc:def0:1234:5679]:8443",
                   remote: ipv6Peer), &state, ms: 11)
    feed(.accepted(SocketID(.connection, 3), listener: L3, local: .unix(longPath), remote: .unnamed), &state, ms: 12)
    feed(.connecting(SocketID(.connection, 4), remote: "127.0.0.1:9000"), &state, ms: 13)
    feed(.connected(SocketID(.connection, 4), local: "127.0.0.1:60999", remote: "127.0.0.1:9000"), &state, ms: 14)
    // A steady flow on C2 for three seconds: a rate, and counts in GiB.
    for step in 0..<30 {
        feed(.received(SocketID(.connection, 2), bytes: Array("x".utf8), count: 450_000_000), &state, ms: 100 + Int64(step) * 100)
        feed(.sent(SocketID(.connection, 2), bytes: Array("y".utf8), count: 3_000_000), &state, ms: 150 + Int64(step) * 100)
    }
    feed(.received(SocketID(.connection, 3), bytes: Array("hi".utf8), count: 99_999), &state, ms: 3200)
    state.needsRedraw = false
    return state
}

/// A table's header line and, for each header present on it, where it starts.
private func headerColumns(_ lines: [String], headers: [String]) -> (line: Int, columns: [String: Int])? {
    for (index, line) in lines.enumerated() {
        let characters = Array(line)
        var found: [String: Int] = [:]
        for header in headers {
            let h = Array(header)
            for x in 0...max(0, characters.count - h.count) where Array(characters[x..<min(characters.count, x + h.count)]) == h {
                let before = x == 0 || characters[x - 1] == " " || characters[x - 1] == "│"
                let afterIndex = x + h.count
                let after = afterIndex >= characters.count || characters[afterIndex] == " " || characters[afterIndex] == "│"
                if before && after { found[header] = x; break }
            }
        }
        if found.count >= 3, found["ID"] != nil { return (index, found) }
    }
    return nil
}

/// Every column whose header is on screen shows each row's value whole at the header's
/// place; an elidable cell (an address, a path) is whole or visibly elided with `…`.
func expectWholeColumns(_ lines: [String], headers: [String], elidable: Set<String>, rows: [[String: String]],
                                mustShow: [String], onlyRowsShown: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) {
    let size = "\(lines.first?.count ?? 0) columns"
    guard let (headerLine, columns) = headerColumns(lines, headers: headers) else {
        Issue.record("no table header among \(headers)", sourceLocation: sourceLocation)
        return
    }
    for header in mustShow where columns[header] == nil {
        Issue.record("column \(header) missing at \(size)", sourceLocation: sourceLocation)
    }
    for row in rows {
        guard let id = row["ID"],
              let line = lines[(headerLine + 1)...].first(where: { line in
                  columns["ID"].map { Array(line).dropFirst($0).starts(with: Array(id + " ")) } ?? false }) else {
            if !onlyRowsShown { Issue.record("row \(row["ID"] ?? "?") not shown", sourceLocation: sourceLocation) }
            continue
        }
        let characters = Array(line)
        for (header, x) in columns {
            guard let value = row[header] else { continue }
            let shown = String(characters[x..<min(characters.count, x + value.count)])
            let next = x + value.count < characters.count ? characters[x + value.count] : " "
            if shown == value && (next == " " || next == "│") { continue }
            if elidable.contains(header), String(characters[x...]).split(separator: " ").first?.contains("…") == true { continue }
            let rest = String(characters[x...])
            Issue.record("\(header) of \(id) is cut at \(size): \"\(rest)\" should begin \"\(value)\"", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct LayoutTests {
    static let sizes = [(80, 24), (120, 40), (200, 60)]

    static let connectionRows: [[String: String]] = [
        ["ID": "C1", "PROTO": "tcp", "LOCAL": "192.168.100.200:9000", "REMOTE": "192.168.100.201:51234", "STATE": "open",
         "IN": "0 B", "OUT": "0 B", "EOL": "lf"],
        ["ID": "C2", "PROTO": "tcp", "LOCAL": "[2001:db8:1234:5678:9abc:def0:1234:5679]:8443",
         "REMOTE": "[2001:db8:1234:5678:9abc:def0:1234:5678]:51234", "STATE": "open",
         "IN": "12.6 GiB", "OUT": "85.8 MiB", "EOL": "lf"],
        ["ID": "C3", "PROTO": "unix", "LOCAL": longPath, "STATE": "open", "IN": "97.7 KiB", "OUT": "0 B", "EOL": "lf"],
        ["ID": "C4", "PROTO": "tcp", "LOCAL": "127.0.0.1:60999", "REMOTE": "127.0.0.1:9000", "STATE": "open",
         "IN": "0 B", "OUT": "0 B", "EOL": "lf"],
    ]

    static let listenerRows: [[String: String]] = [
        ["ID": "L1", "PROTO": "tcp", "LOCAL": "0.0.0.0:9000 (ALL interfaces)", "MODE": "echo", "CONNS/ALL": "1/1",
         "BACKLOG": "4096", "STATE": "listening"],
        ["ID": "L2", "PROTO": "tcp", "LOCAL": "[::]:8443 (ALL interfaces)", "MODE": "discard", "CONNS/ALL": "1/1",
         "BACKLOG": "128", "STATE": "listening"],
        ["ID": "L3", "PROTO": "unix", "LOCAL": longPath, "MODE": "echo", "CONNS/ALL": "1/1", "BACKLOG": "16",
         "STATE": "listening"],
    ]

    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func connectionsShowEveryColumnWhole(_ size: (Int, Int)) {
        var state = crowdedState(width: size.0, height: size.1)
        state.view.focus = .connections
        state.view.zoomed = true
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "layout-connections-\(size.0)x\(size.1)")
        let headers = ["VIA", "ID", "PROTO", "LOCAL", "REMOTE", "STATE", "IN", "OUT", "RATE ↓/↑", "EOL"]
        let mustShow = size.0 >= 120 ? headers : ["ID", "LOCAL", "REMOTE", "STATE", "IN", "OUT"]
        var rows = Self.connectionRows
        rows[1]["RATE ↓/↑"] = ConnectionsPaneRate.text(state, SocketID(.connection, 2))
        expectWholeColumns(frame.grid.textLines, headers: headers, elidable: ["LOCAL", "REMOTE"], rows: rows, mustShow: mustShow)
    }

    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func everyPaneUnzoomedKeepsItsColumnsWhole(_ size: (Int, Int)) {
        var state = crowdedState(width: size.0, height: size.1)
        state.view.focus = .connections
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "layout-overview-\(size.0)x\(size.1)")
        expectWholeColumns(frame.grid.textLines, headers: ["ID", "PROTO", "LOCAL", "MODE", "CONNS/ALL", "BACKLOG", "STATE"],
                           elidable: ["LOCAL", "MODE"], rows: Self.listenerRows,
                           mustShow: ["ID", "LOCAL", "CONNS/ALL", "STATE"], onlyRowsShown: true)
        let connectionHeaders = ["VIA", "ID", "PROTO", "LOCAL", "REMOTE", "STATE", "IN", "OUT", "RATE ↓/↑", "EOL"]
        let lines = frame.grid.textLines
        let start = lines.firstIndex { $0.contains("Connections (") }!
        // The Connections table: the lines from its title down.
        expectWholeColumns(Array(lines[start...]), headers: connectionHeaders,
                           elidable: ["LOCAL", "REMOTE"], rows: Self.connectionRows.map { $0.filter { $0.key != "RATE ↓/↑" } },
                           mustShow: size.0 >= 120 ? connectionHeaders : ["ID", "STATE", "IN", "OUT"])
    }

    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func listenerDetailZoomedIsWhole(_ size: (Int, Int)) {
        var state = crowdedState(width: size.0, height: size.1)
        state.view.focus = .listeners
        _ = Reducer.reduce(&state, .select(.listeners, index: 2))
        state.view.focus = .detail
        state.view.zoomed = true
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "layout-listener-detail-\(size.0)x\(size.1)")
        let text = frame.grid.textLines.map { $0.trimmingSuffixSpacesAndBorder() }.joined(separator: " ")
        #expect(text.contains("L3 unix listener"))
        #expect(text.replacingOccurrences(" ", "").contains(longPath))
        #expect(!text.contains("…"))
    }

    @Test func tinyScreenShowsSomethingSensible() {
        for view in [Pane.listeners, .connections, .detail, .log] {
            var state = crowdedState(width: 20, height: 6)
            state.view.focus = view
            let frame = Screen.render(state)
            assertSnapshot(frame, named: "layout-\(view.title.lowercased())-20x6")
            #expect(frame.grid.textLines.count == 6)
            #expect(frame.grid.textLines.joined().contains(view.title))
        }
    }
}

/// The rate text the Connections pane shows for one connection, from the same formatter.
enum ConnectionsPaneRate {
    static func text(_ state: AppState, _ id: SocketID) -> String {
        let rate = state.connection(id)!.rate
        return "\(ByteCount.rate(rate.inPerSecond)) / \(ByteCount.rate(rate.outPerSecond))"
    }
}

extension String {
    fileprivate func trimmingSuffixSpacesAndBorder() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "│" { s = s.dropLast() }
        while let first = s.first, first == " " || first == "│" { s = s.dropFirst() }
        return String(s)
    }

    fileprivate func replacingOccurrences(_ target: Character, _ with: String) -> String {
        String(self.filter { $0 != target })
    }
}

@Suite struct LayoutBehaviourTests {
    @Test func helpPageDownMovesOnePageAndTheOverlayCoversTheBody() {
        var state = sampleState(width: 120, height: 40)
        _ = Reducer.reduce(&state, .key(.character("?"), time: t0))
        var lines = Screen.render(state).grid.textLines
        // Nothing of the panes beside it: the overlay's frame is the screen's edge.
        #expect(lines[1].hasPrefix("┌ Help") && lines[1].hasSuffix("┐"))
        #expect(lines[38].hasPrefix("└") && lines[38].hasSuffix("┘"))
        #expect(lines[1].contains("lines 1-36 of"))
        _ = Reducer.reduce(&state, .key(.pageDown, time: t0))
        lines = Screen.render(state).grid.textLines
        // 36 rows inside the frame: a page moves 35, keeping one line for context.
        #expect(lines[1].contains("lines 36-"))
    }

    @Test func logLinesWrapAtWordBoundaries() {
        let state = sampleState(width: 60, height: 24)
        let lines = Screen.render(state).grid.textLines.map { line in
            String(line.drop { $0 == "│" }.reversed().drop { $0 == "│" }.reversed())
        }
        let message = "connected to 127.0.0.1:9000 from 127.0.0.1:51234 (ephemeral port chosen by the kernel)"
        let start = lines.firstIndex { $0.contains("connected to 127.0.0.1:9000") }!
        // Every word of the message is whole on one line.
        let words = lines[start...].prefix(3).flatMap { $0.split(separator: " ").map(String.init) }
        for word in message.split(separator: " ") { #expect(words.contains(String(word)), "\(word) is cut") }
    }

    @Test func aLongStatusMessageIsShownWhole() {
        var state = sampleState(width: 80, height: 24)
        let message = "connect 127.0.0.1:9 failed: ECONNREFUSED (connection refused): nothing is listening on that port; "
            + "the peer's kernel answered the SYN with RST. Start a server there, or check the port."
        state.view.flash = message
        let lines = Screen.render(state).grid.textLines
        let shown = lines[1...3].map { $0.trimmingCharacters() }.joined(separator: " ")
        #expect(shown.contains(message))
        #expect(lines[0].hasPrefix("sockscope  1 listening  2 open"))
    }

    @Test func bothEndsStackWhenTheyDoNotFitSideBySide() {
        var state = sampleState(width: 40, height: 30)
        var sample = KernelSample()
        sample.state = .established
        sample.congestionWindow = 10
        feed(.lab(.kernel(SocketID(.connection, 1), sample)), &state, ms: 400)
        feed(.lab(.kernel(SocketID(.connection, 2), sample)), &state, ms: 401)
        _ = Reducer.reduce(&state, .select(.connections, index: 1))
        state.view.focus = .detail
        state.view.zoomed = true
        let lines = Screen.render(state).grid.textLines
        let text = lines.joined(separator: "\n")
        #expect(text.contains("peer (C2, also ours)"))
        #expect(text.components(separatedBy: "10 segments").count == 3, "both ends' cwnd shown whole")
        // Nothing elided: only the line saying that more lines follow below the pane's edge has a `…`.
        #expect(lines.filter { $0.contains("…") && !$0.contains("more lines") }.isEmpty)
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

@Suite struct EscapeWrapTests {
    @Test func anEscapeIsNeverSplitAcrossLines() {
        var state = sampleState(width: 50, height: 24)
        feed(.received(SocketID(.connection, 1), bytes: Array(repeating: 0xDF, count: 30) + Array("ok".utf8), count: 32),
             &state, ms: 500)
        state.view.focus = .log
        state.view.zoomed = true
        // Expanded (`e`), the payload wraps; in one line (the default) it is cut: neither splits an escape.
        state.view.logExpanded = true
        let lines = Screen.render(state).grid.textLines
        state.view.logExpanded = false
        let oneLine = Screen.render(state).grid.textLines.filter { $0.contains("\\xdf") }
        #expect(oneLine.count == 1)
        let dataLines = lines.filter { $0.contains("\\xdf") } + oneLine
        #expect(dataLines.count >= 3)
        for line in dataLines {
            let characters = Array(line)
            for (index, character) in characters.enumerated() where character == "\\" {
                #expect(index + 3 < characters.count && characters[index + 1] == "x"
                        && characters[index + 2].isHexDigit && characters[index + 3].isHexDigit, "split escape in \(line)")
            }
        }
    }
}

/// The log as a conversation (`e`, after Enter on a connection): each direction in its
/// color, the payload's real line breaks, escapes kept; one line per entry otherwise.
@Suite struct ConversationTests {
    @Test func anHTTPExchangeReadsAsAConversation() {
        var state = sampleState(width: 80, height: 24)
        let c1 = SocketID(.connection, 1)
        feed(.sent(c1, bytes: Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8), count: 35), &state, ms: 400)
        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Bad: \u{1B}[2J\r\n\r\nhello"
        feed(.received(c1, bytes: Array(reply.utf8), count: Array(reply.utf8).count), &state, ms: 410)
        state.view.focus = .log
        state.view.zoomed = true
        state.view.logFilter = "C1"
        let compact = Screen.render(state)
        #expect(compact.grid.textLines.filter { $0.contains("HTTP/1.1") }.count == 2, "one line per entry")
        state.view.logExpanded = true
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "log-conversation-80x24")
        let text = frame.grid.textLines.joined(separator: "\n")
        #expect(text.contains(#"Host: localhost\r\n"#))
        #expect(text.contains(#"X-Bad: \x1b[2J\r\n"#), "still escaped")
        #expect(frame.grid.textLines.contains { $0.hasPrefix("│                   hello ") }, "the body on a line of its own")
    }
}

@Suite struct TLSDetailTests {
    /// A `tls://` connection's Detail shows the inspector, and a certificate's hostile subject stays escaped.
    @Test func detailShowsTheHandshakeAndTheChain() {
        var state = crowdedState(width: 120, height: 40)
        let leaf = CertificateSummary(
            subject: "CN=evil\u{1B}[31m.example", issuer: "CN=Test CA", subjectAlternativeNames: ["DNS:localhost", "IP Address:127.0.0.1"],
            notBefore: t0, notAfter: Timestamp(nanoseconds: t0.nanoseconds + 30 * 86_400_000_000_000), daysLeft: 30,
            keyType: "EC P-256", keyBits: 256, signatureAlgorithm: "ecdsa-with-SHA256", sha256Fingerprint: "AB:CD:EF")
        feed(.tls(SocketID(.connection, 4), TLSReport(
            role: .client, version: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", alpnOffered: ["h2", "http/1.1"], alpnChosen: "h2",
            serverName: "localhost", resumed: false, handshakeMicroseconds: 3250,
            verification: .ignored(reason: "self-signed certificate (CN=x), not among the trusted roots"), chain: [leaf],
            handshakeBytesIn: 1432, handshakeBytesOut: 380)), &state, ms: 3300)
        state.view.focus = .connections
        let index = state.connectionDisplayOrder.firstIndex { state.connections[$0].id == SocketID(.connection, 4) }!
        _ = Reducer.reduce(&state, .select(.connections, index: index))
        state.view.focus = .detail
        state.view.zoomed = true
        let lines = Screen.render(state).grid.textLines
        let text = lines.joined(separator: "\n")
        for expected in ["TLS TLSv1.3 (client), TLS_AES_128_GCM_SHA256, handshake 3.25 ms", "ALPN: h2 (offered: h2, http/1.1)",
                         "SNI: localhost, session: new", "certificate NOT verified (self-signed certificate (CN=x)",
                         "handshake on the wire: 1432 B in, 380 B out", #"cert 0: CN=evil\x1b[31m.example"#, "issuer: CN=Test CA",
                         "SAN: DNS:localhost, IP Address:127.0.0.1", "(30 days left)", "key EC P-256 256 bits, signed ecdsa-with-SHA256",
                         "SHA-256 AB:CD:EF"] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
        #expect(!text.contains("\u{1B}"))
    }
}
