import Testing
import TestSupport
import SockscopeCore
import SockscopeUI

private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

@Suite struct ScanScreenTests {
    /// The scan view replaces the panes: its title says where the scan stands and which keys
    /// act; open ports stand alone with their banner (escaped), closed ports come in runs.
    @Test func theScanViewShowsPortsRunsAndBanners() throws {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 120, height: 30))
        let effects = Reducer.reduce(&state, .commandLine("scan localhost 1-1024 --banner", origin: .prompt, time: start))
        let request = try #require(effects.compactMap { if case .perform(let made) = $0 { made.id } else { nil } }.first)
        func feed(_ event: ScanEvent) {
            _ = Reducer.reduce(&state, .engine(EngineEvent(time: start, request: request, kind: .scan(event))))
        }
        var frame = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(frame.contains("Scan localhost: 0/1024 ports, 0 open, running"), "\(frame)")
        #expect(frame.contains("Scanning: no answers yet..."))
        feed(.started(ScanStart(host: "localhost", address: .ipv4(.loopback, port: 0), ports: PortList([1...1024]),
                                concurrency: 512, concurrencyReason: "the default", timeoutMilliseconds: 1000,
                                bannerWaitMilliseconds: 1000)))
        feed(.notOpen(PortOutcome(state: .closed, errno: 111), ranges: [1...21, 23...500]))
        feed(.open(port: 22, connectMicroseconds: 85))
        feed(.banner(port: 22, .said(bytes: Array("SSH-2.0-x\r\n\u{1b}]0;owned\u{7}".utf8), count: 21)))
        frame = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(frame.contains("Scan 127.0.0.1: 500/1024 ports, 1 open, running  / filters, Enter/c connects, P/Esc hides"), "\(frame)")
        let lines = Screen.render(state).grid.textLines
        let open = try #require(lines.first { $0.dropFirst().hasPrefix("22 ") && $0.contains("open") }, "\(frame)")
        #expect(open.contains(#"said 21 B: "SSH-2.0-x\r\n\x1b]0;owned\x07""#), "\(open)")
        #expect(lines.contains { $0.contains("1-21") && $0.contains("closed") && $0.contains("ECONNREFUSED") })
        #expect(lines.contains { $0.contains("23-500") && $0.contains("478") })
        #expect(!frame.contains("\u{1b}") && !frame.contains("\u{7}"))
        // While it runs, a progress bar over the ports: 500 of 1024 is 48%, 19.5 of 40 columns.
        #expect(lines.contains { $0.contains("███████████████████▌░░░░░░░░░░░░░░░░░░░░ 48%  500 of 1024 ports") }, "\(frame)")
        feed(.finished(ScanSummary(address: .ipv4(.loopback, port: 0), portCount: 1024, scanned: 1024, open: [22], closed: 1023,
                                   filtered: 0, elapsedMicroseconds: 41_000, maxInFlight: 3, stopped: false)))
        _ = Reducer.reduce(&state, .engine(EngineEvent(time: start, request: request, kind: .requestCompleted)))
        frame = Screen.render(state).grid.textLines.joined(separator: "\n")
        #expect(frame.contains("1 open, done in 0.041 s"), "\(frame)")
        #expect(!frame.contains("ports\n") && !frame.contains("░"), "no bar once done")
    }
}
