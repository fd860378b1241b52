import Testing
@testable import SockscopeCore

/// The scanner's language, its results in the state and its view's keys, without sockets.
@Suite struct ScanTests {
    // MARK: Ports

    @Test func portListsReadSortAndMerge() throws {
        let list = try PortList.parse("9000-9100,1-1024,8080,1000-1100,1025")
        #expect(list.ranges == [1...1100, 8080...8080, 9000...9100])
        #expect(list.count == 1100 + 1 + 101)
        #expect(list.description == "1-1100,8080,9000-9100")
        #expect(try PortList.parse("65535").ranges == [65535...65535])
        #expect(try PortList.parse("1-65535").count == 65535)
        #expect(PortList.runs(of: [7, 3, 1, 2, 9, 8]) == [1...3, 7...9])
    }

    @Test func badPortListsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("", "needs ports"), ("22,,80", "empty item between commas"), (",22", "empty item"), ("22,", "empty item"),
            ("0", "port 0 in '0' is out of range: ports are 1 to 65535"), ("1-65536", "port 65536 in '1-65536' is out of range"),
            ("100-20", "the range 100-20 runs backwards: write 20-100"), ("http", "'http' is not a port or a range"),
            ("1-2-3", "'1-2-3' is not a port or a range"), ("-5", "'-5' is not a port"), ("5-", "'5-' is not a port"),
            ("+5", "'+5' is not a port"), ("99999999999999999999", "out of range"),
        ]
        for (text, expected) in cases {
            do {
                let list = try PortList.parse(text)
                Issue.record("'\(text)' read as \(list)")
            } catch {
                #expect(error.message.contains(expected), "'\(text)': \(error.message)")
            }
        }
    }

    // MARK: The command

    @Test func scanCommandsReadAndPrintBack() throws {
        var request = ScanRequest(host: "::1", ports: PortList([1...1024, 8080...8080]))
        request.timeoutMilliseconds = 200
        request.concurrency = 64
        request.bannerWaitMilliseconds = 300
        let parsed = try CommandParser.parse("scan ::1 8080,1-1024 --timeout 200 --concurrency 64 --banner-wait 300")
        #expect(parsed == .scan(request))
        var defaults = ScanRequest(host: "localhost", ports: PortList([22...22]))
        #expect(try CommandParser.parse("scan localhost 22") == .scan(defaults))
        defaults.bannerWaitMilliseconds = ScanRequest.defaultBannerWaitMilliseconds
        #expect(try CommandParser.parse("scan localhost 22 --banner") == .scan(defaults))
        #expect(try CommandParser.parse("scan stop") == .scanStop)
        for command in [Command.scan(request), .scan(defaults), .scanStop] {
            #expect(try CommandParser.parse(CommandText.line(for: command)) == command, "\(CommandText.line(for: command))")
        }
    }

    @Test func badScanCommandsShowTheUsage() {
        let cases: [(String, String)] = [
            ("scan", "scan: needs a host and ports"), ("scan 127.0.0.1", "scan: needs ports after the host"),
            ("scan 127.0.0.1 --banner", "needs ports after the host"), ("scan 127.0.0.1 70000", "out of range"),
            ("scan 127.0.0.1 22 --timeout 0", "--timeout needs milliseconds from 1 to 600000"),
            ("scan 127.0.0.1 22 --timeout", "--timeout needs MS"),
            ("scan 127.0.0.1 22 --concurrency lots", "--concurrency needs a number from 1 to 65535"),
            ("scan 127.0.0.1 22 --banner-wait 0", "--banner-wait needs milliseconds"),
            ("scan 127.0.0.1 22 --fast", "unknown option '--fast'"), ("scan stop now", "unexpected 'now'"),
        ]
        for (line, expected) in cases {
            do {
                let command = try CommandParser.parse(line)
                Issue.record("'\(line)' read as \(String(describing: command))")
            } catch {
                #expect(error.message.contains(expected), "'\(line)': \(error.message)")
                #expect(error.message.contains("usage: scan HOST PORTS"), "'\(line)': \(error.message)")
            }
        }
    }

    // MARK: Results in the state

    static let start = ScanStart(host: "localhost", address: .ipv4(.loopback, port: 0), ports: PortList([1...100]),
                                 concurrency: 100, concurrencyReason: "the default", timeoutMilliseconds: 1000,
                                 bannerWaitMilliseconds: 1000)
    static let refused = PortOutcome(state: .closed, errno: 111)

    /// A TUI state with a scan running: its request is the first the reducer made.
    static func scanning() -> (AppState, RequestID) {
        var state = AppState(interactive: true)
        state.view.width = 120
        state.view.height = 40
        let effects = Reducer.reduce(&state, .commandLine("scan localhost 1-100 --banner", origin: .prompt, time: t0))
        let request = requests(effects)[0]
        #expect(request.command == .scan({
            var scan = ScanRequest(host: "localhost", ports: PortList([1...100]))
            scan.bannerWaitMilliseconds = 1000
            return scan
        }()))
        return (state, request.id)
    }

    @Test func closedRunsMergeIntoFewRowsAndOpenPortsStandAlone() {
        var (state, request) = Self.scanning()
        #expect(state.scan.visible && state.scan.isRunning)
        for kind: ScanEvent in [.started(Self.start), .notOpen(Self.refused, ranges: [1...21, 23...40]),
                                .open(port: 22, connectMicroseconds: 80), .notOpen(Self.refused, ranges: [41...79]),
                                .notOpen(.timedOut, ranges: [81...90]), .open(port: 80, connectMicroseconds: 120),
                                .notOpen(Self.refused, ranges: [91...100]),
                                .banner(port: 22, .said(bytes: Array("SSH-2.0-x\r\n\u{1b}[2J".utf8), count: 15))] {
            _ = Reducer.reduce(&state, event(.scan(kind), request))
        }
        let rows = state.scan.rows.map { "\($0.portsText) \($0.state.rawValue) \($0.reason)" }
        #expect(rows == ["1-21 closed ECONNREFUSED", "22 open 0.080 ms", "23-79 closed ECONNREFUSED", "80 open 0.120 ms",
                         "81-90 filtered timeout", "91-100 closed ECONNREFUSED"])
        #expect(state.scan.answered == 100 && state.scan.openCount == 2)
        #expect(state.scan.rows[1].banner == #"said 15 B: "SSH-2.0-x\r\n\x1b[2J""#, "banners are escaped")
        let summary = ScanSummary(address: .ipv4(.loopback, port: 0), portCount: 100, scanned: 100, open: [22, 80], closed: 88,
                                  filtered: 10, elapsedMicroseconds: 5000, maxInFlight: 7, stopped: false)
        _ = Reducer.reduce(&state, event(.scan(.finished(summary)), request))
        #expect(state.scan.isRunning, "running until its request is answered")
        _ = Reducer.reduce(&state, event(.requestCompleted, request))
        #expect(!state.scan.isRunning && state.scan.summary == summary)
    }

    @Test func oneScanAtATimeAndStopOnlyWhileOneRuns() {
        var (state, request) = Self.scanning()
        var effects = Reducer.reduce(&state, .commandLine("scan localhost 22", origin: .prompt, time: t0))
        #expect(requests(effects).isEmpty)
        #expect(state.view.prompt == nil && state.log.last.map(EventText.sentence)?.contains("still running; scan stop ends it") == true)
        effects = Reducer.reduce(&state, .commandLine("scan stop", origin: .prompt, time: t0))
        #expect(requests(effects).map(\.command) == [.stopScan])
        _ = Reducer.reduce(&state, event(.requestCompleted, request))
        effects = Reducer.reduce(&state, .commandLine("scan stop", origin: .prompt, time: t0))
        #expect(requests(effects).isEmpty && state.log.last.map(EventText.sentence) == "scan stop: no scan is running")
    }

    @Test func theViewFiltersAndConnectsToTheSelectedOpenPort() {
        var (state, request) = Self.scanning()
        for kind: ScanEvent in [.started(Self.start), .notOpen(Self.refused, ranges: [1...21]), .open(port: 22, connectMicroseconds: 80),
                                .notOpen(Self.refused, ranges: [23...100])] {
            _ = Reducer.reduce(&state, event(.scan(kind), request))
        }
        // Enter on a closed run explains; on the open port it connects there.
        var effects = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(requests(effects).isEmpty && state.view.flash?.contains("select an open port") == true)
        _ = Reducer.reduce(&state, .key(.character("j"), time: t0))
        effects = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(requests(effects).map(\.command) == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 22)))])
        #expect(!state.scan.visible && state.view.focus == .connections)
        // P brings it back; `/` filters as you type; c connects too.
        _ = Reducer.reduce(&state, .key(.character("P"), time: t0))
        #expect(state.scan.visible)
        _ = Reducer.reduce(&state, .key(.character("/"), time: t0))
        for character in "open" { _ = Reducer.reduce(&state, .key(.character(character), time: t0)) }
        _ = Reducer.reduce(&state, .key(.enter, time: t0))
        #expect(state.scan.shownRows.map(\.portsText) == ["22"] && state.scan.selected == 0)
        effects = Reducer.reduce(&state, .key(.character("c"), time: t0))
        #expect(requests(effects).map(\.command) == [.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 22)))])
        // Esc hides it; the system view takes its place when shown.
        _ = Reducer.reduce(&state, .key(.character("P"), time: t0))
        _ = Reducer.reduce(&state, .key(.escape, time: t0))
        #expect(!state.scan.visible)
        _ = Reducer.reduce(&state, .key(.character("P"), time: t0))
        _ = Reducer.reduce(&state, .key(.character("S"), time: t0))
        #expect(state.lab.system.visible && !state.scan.visible)
    }

    @Test func pWithoutAScanSaysHowToStartOne() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .key(.character("P"), time: t0))
        #expect(!state.scan.visible && state.view.flash?.contains(":scan 127.0.0.1 1-1024") == true)
    }

    // MARK: Words

    @Test func eventsReadInEveryForm() {
        func line(_ kind: ScanEvent) -> String {
            EventText.line(EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: .scan(kind)))) ?? ""
        }
        #expect(line(.started(Self.start)).hasSuffix(
            "- scan-start 127.0.0.1 (localhost): 100 ports (1-100), 100 at once (the default), timeout 1000 ms, banners within 1000 ms"))
        #expect(line(.notOpen(Self.refused, ranges: [1...21, 23...79])).hasSuffix(
            "- scan-ports closed ECONNREFUSED count=78 ports=1-21,23-79 (the host answered the SYN with RST: nothing listens there)"))
        #expect(line(.banner(port: 22, .said(bytes: Array("hi\u{1b}[2J\r\n".utf8), count: 8))).hasSuffix(
            #"- scan-banner 22 said 8 B "hi\x1b[2J\r\n""#))
        #expect(line(.banner(port: 6379, .silent(waitedMilliseconds: 1000))).contains("said nothing within 1000 ms"))
        let summary = ScanSummary(address: .ipv6(.loopback, port: 0), portCount: 65535, scanned: 65535, open: [22, 631],
                                  closed: 65533, filtered: 0, elapsedMicroseconds: 612_345, maxInFlight: 12, stopped: false)
        #expect(line(.finished(summary)).hasSuffix(
            "- scan-done ::1: 65535 ports in 0.612 s: 2 open (22,631), 65533 closed, 0 filtered; at most 12 connects at once"))
    }
}
