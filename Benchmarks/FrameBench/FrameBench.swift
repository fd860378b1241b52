// FrameBench: the TUI at scale, measured (a benchmark, not a test).
//
// Builds an AppState through the real reducer with 10,000 connection rows and
// 1,000,000 log entries (the log keeps its newest 100,000; the rest are dropped
// and counted), then times what a user does: a frame while following the log,
// scrolling, filtering and moving the selection. Each timed step is one reducer
// call plus Screen.render, plus CursesTerminal.present when run on a terminal
// with --present (e.g. under `script`), since that is what the main loop does
// per frame.
//
// Every step runs --runs times (default 1000), so p99 is a real percentile (the 10th
// largest of 1000); with fewer runs the p99 column says so instead of a number. The
// report starts with the date, the commit and whether frames were presented.
//
//   swift run -c release FrameBench [--connections N] [--entries N] [--size 200x60] [--runs N]
//   script -qfc "stty cols 200 rows 60; $(swift build -c release --show-bin-path)/FrameBench --present --report out.txt" /dev/null
import Glibc
import SockscopeCore
import SockscopeTerminal
import SockscopeUI

struct Options {
    var connections = 10_000
    var entries = 1_000_000
    var width = 200
    var height = 60
    var present = false
    var reportPath: String?
    /// Timed repetitions of every step; a p99 needs at least `Sample.runsForP99`.
    var runs = 1000

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--connections": connections = Int(rest.popFirst() ?? "") ?? connections
            case "--entries": entries = Int(rest.popFirst() ?? "") ?? entries
            case "--size":
                let parts = (rest.popFirst() ?? "").split(separator: "x").compactMap { Int($0) }
                if parts.count == 2 { (width, height) = (parts[0], parts[1]) }
            case "--present": present = true
            case "--runs": runs = max(1, Int(rest.popFirst() ?? "") ?? runs)
            case "--report": reportPath = rest.popFirst()
            default:
                FileHandleOut.error("FrameBench: unknown argument \(argument)\n")
                exit(2)
            }
        }
    }
}

enum FileHandleOut {
    static func error(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

/// Milliseconds of one closure run, on the monotonic clock.
func measure(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let elapsed = clock.measure(body)
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

struct Sample {
    let name: String
    var times: [Double] = []

    /// Fewer runs than this and the "p99" would be one of the few largest, not a percentile.
    static let runsForP99 = 1000

    func row() -> String {
        let sorted = times.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))] }
        let mean = times.reduce(0, +) / Double(times.count)
        let p99 = times.count >= Self.runsForP99 ? format(at(0.99)) : "n/a (< \(Self.runsForP99) runs)"
        return "| \(name) | \(times.count) | \(format(at(0.5))) | \(p99) | \(format(sorted.last!)) | \(format(mean)) |"
    }
}

/// The current UTC time, e.g. 2026-01-01T12:00:00Z.
func utcNow() -> String {
    var now = time(nil)
    var parts = tm()
    gmtime_r(&now, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(cString: buffer)
}

/// The commit the benchmark runs from (`git describe --always --dirty` in the current
/// directory); "unknown" outside a checkout.
func currentCommit() -> String {
    guard let pipe = popen("git describe --always --dirty 2>/dev/null", "r") else { return "unknown" }
    defer { pclose(pipe) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), pipe) != nil else { return "unknown" }
    return String(cString: line).split(whereSeparator: \.isWhitespace).first.map(String.init) ?? "unknown"
}

func format(_ milliseconds: Double) -> String {
    let tenths = (milliseconds * 100).rounded() / 100
    return String(tenths)
}

/// User and system CPU time of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func residentKiB() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") { return Int(text.split(separator: " ")[1]) ?? 0 }
    }
    return 0
}

@main
enum FrameBench {
    static func main() {
        let options = Options(Array(CommandLine.arguments.dropFirst()))
        var report: [String] = []
        func say(_ line: String) {
            report.append(line)
            if !options.present { print(line) }
        }

        // MARK: Building the state through the reducer

        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: options.width, height: options.height))
        var clockNanoseconds: Int64 = 1_795_000_000_000_000_000
        func tick(_ nanoseconds: Int64 = 1_000_000) -> Timestamp {
            clockNanoseconds += nanoseconds
            return Timestamp(nanoseconds: clockNanoseconds)
        }
        func engine(_ kind: EngineEventKind) {
            _ = Reducer.reduce(&state, .engine(EngineEvent(time: tick(), kind: kind)))
        }

        let listener = SocketID(.listener, 1)
        let rssBefore = residentKiB()
        let buildConnections = measure {
            let local = SocketEndpoint.loopback(ipv6: false, port: 9000)
            engine(.listening(listener, .tcp, local: local, mode: .echo, backlog: 4096))
            for number in 1...options.connections {
                engine(.accepted(SocketID(.connection, number), listener: listener, local: local,
                                 remote: .loopback(ipv6: false, port: UInt16(20_000 + number % 40_000))))
            }
        }
        // Consecutive entries go to different connections, so none coalesce: every event is a log entry.
        let payloads = (0..<64).map { Array("GET /item/\($0) HTTP/1.1\r\nHost: example\r\nX-Seq: \($0 * 7919)\r\n\r\n".utf8) }
        let buildLog = measure {
            for index in 0..<options.entries {
                let id = SocketID(.connection, index % options.connections + 1)
                let bytes = payloads[index % payloads.count]
                engine(index & 1 == 0 ? .received(id, bytes: bytes, count: bytes.count) : .sent(id, bytes: bytes, count: bytes.count))
            }
        }
        let rssAfter = residentKiB()

        say("# FrameBench")
        say("")
        say("FrameBench \(utcNow()), commit \(currentCommit()), \(options.runs) runs per step, frames "
            + (options.present ? "presented to the terminal" : "not presented (no --present)"))
        say("screen \(options.width)x\(options.height), \(state.connections.count) connection rows, \(options.entries) log entries sent through the reducer")
        say("log kept: \(state.log.count) entries, \(state.log.droppedEntries) dropped and counted, \(state.log.storedBytes / 1024) KiB of previews stored (budget \(LogBook.defaultByteBudget / 1024) KiB)")
        say("building: \(format(buildConnections)) ms for the connections, \(format(buildLog)) ms for the log (\(format(buildLog * 1_000_000 / Double(max(1, options.entries)))) ns per event)")
        say("resident memory: \(rssBefore / 1024) MiB before, \(rssAfter / 1024) MiB after building")
        say("")

        // MARK: Timed steps

        var terminal: CursesTerminal?
        if options.present {
            terminal = try? CursesTerminal(theme: .dark)
            if terminal == nil {
                FileHandleOut.error("FrameBench: --present needs a terminal; run it under `script`\n")
                exit(2)
            }
            if let size = terminal?.size { _ = Reducer.reduce(&state, .resize(width: size.width, height: size.height)) }
        }

        func frame() {
            let rendered = Screen.render(state)
            terminal?.present(rendered)
            state.needsRedraw = false
        }

        func key(_ key: KeyPress) {
            _ = Reducer.reduce(&state, .key(key, time: tick()))
        }

        /// Times `repetitions` of (action, then one frame).
        func run(_ name: String, _ repetitions: Int, _ action: (Int) -> Void) -> Sample {
            var sample = Sample(name: name)
            for repetition in 0..<repetitions {
                sample.times.append(measure {
                    action(repetition)
                    frame()
                })
            }
            return sample
        }

        func focus(_ pane: Pane) {
            while state.view.focus != pane { key(.tab) }
        }

        func typeFilter(_ text: String) {
            key(.character("/"))
            key(.control("u"))
            for character in text { key(.character(character)) }
        }

        var samples: [Sample] = []
        frame()
        samples.append(run("frame, following the log", options.runs) { _ in })
        samples.append(run("frame after 100 new data events", options.runs) { round in
            for index in 0..<100 {
                let id = SocketID(.connection, (round * 100 + index) % options.connections + 1)
                engine(.received(id, bytes: payloads[index % payloads.count], count: 64))
            }
        })
        focus(.log)
        samples.append(run("log: scroll up one line (k)", options.runs) { _ in key(.character("k")) })
        samples.append(run("log: page up (PgUp)", options.runs) { _ in key(.pageUp) })
        samples.append(run("log: jump to oldest (g)", options.runs) { _ in key(.character("g")); key(.character("G")) })
        for (label, filter) in [("socket id, rare", "C5000"), ("direction, half", "in"), ("text, rare", "item/63 h"),
                                ("text, none", "no such text")] {
            samples.append(run("log: apply filter \(label) (\(filter))", options.runs) { _ in
                // From no filter each time, so every run builds the filter's index over the whole log.
                key(.escape)
                typeFilter(filter)
                key(.enter)
            })
            samples.append(run("log: filter set whole (\(filter))", options.runs) { _ in
                // As with Enter on a socket: the index is built in one scan of the log, no typing.
                // (A resize to the same size is an event that changes nothing else.)
                state.view.logFilter = nil
                _ = Reducer.reduce(&state, .resize(width: state.view.width, height: state.view.height))
                state.view.logFilter = filter
                _ = Reducer.reduce(&state, .resize(width: state.view.width, height: state.view.height))
            })
            samples.append(run("log: scroll while filtered (\(filter))", options.runs) { _ in key(.character("k")) })
            samples.append(run("frame after 100 new events, filtered (\(filter))", options.runs) { round in
                for index in 0..<100 {
                    let id = SocketID(.connection, (round * 100 + index) % options.connections + 1)
                    engine(.sent(id, bytes: payloads[index % payloads.count], count: 64))
                }
            })
            key(.escape)
        }
        focus(.connections)
        samples.append(run("connections: select next (j)", options.runs) { _ in key(.character("j")) })
        samples.append(run("connections: page down (PgDn)", options.runs) { _ in key(.pageDown) })
        samples.append(run("connections: jump last/first (G, g)", options.runs) { round in key(.character(round & 1 == 0 ? "G" : "g")) })
        // Every frame filters and sorts all rows again (rates and states change between frames).
        for sort in ConnectionSort.allCases where sort != .tree {
            while state.view.connectionSort != sort { key(.character("o")) }
            samples.append(run("connections: frame sorted \(sort.title)", options.runs) { _ in })
        }
        samples.append(run("connections: cycle the sort (o)", options.runs) { _ in key(.character("o")) })
        while state.view.connectionSort != .tree { key(.character("o")) }
        for (label, filter) in [("port, rare", "port:25000"), ("state, all", "state:open"), ("text, address", "127.0.0.1:2"),
                                ("text, none", "no-such-row")] {
            samples.append(run("connections: type filter \(label) (\(filter))", options.runs) { _ in
                // Each character re-filters, as typing does.
                key(.character("/"))
                key(.control("u"))
                for character in filter { key(.character(character)) }
                key(.enter)
            })
            samples.append(run("connections: frame filtered \(label), sorted by rate", options.runs) { round in
                if round == 0 { while state.view.connectionSort != .rate { key(.character("o")) } }
            })
            while state.view.connectionSort != .tree { key(.character("o")) }
            key(.escape)
        }

        // MARK: Streaming: sparklines and a Detail graph redrawn at the traffic rate

        // 16 connections receive 256 KiB each per 50 ms of the engine's clock (80 MiB/s in all),
        // the selected one's kernel view is sampled each time, and a frame is drawn: the
        // traffic rate of a TUI showing 16 busy connections. CPU per second is the process's
        // user+system time over the seconds of traffic simulated.
        focus(.connections)
        key(.character("g"))
        let selected = state.view.selectedConnection ?? SocketID(.connection, 1)
        // Detail on screen whatever the terminal's size: beside the tables from 160 columns,
        // in the Log's place when it has the focus on a narrower one.
        focus(.detail)
        let streaming = [selected] + (2...16).map { SocketID(.connection, $0) }.filter { $0 != selected }
        let framePeriodNanoseconds: Int64 = 50_000_000
        let cpuBefore = cpuSeconds()
        samples.append(run("16 connections streaming: sparklines + Detail graphs, a frame per 50 ms of traffic", options.runs) { round in
            let frameStart = clockNanoseconds
            for id in streaming { engine(.received(id, bytes: [], count: 256 * 1024)) }
            var sample = KernelSample()
            sample.state = .established
            sample.rttMicroseconds = 100 + round % 50
            sample.congestionWindow = 10 + round % 30
            sample.sendQueue = round % 7 * 1000
            sample.receiveQueue = 0
            sample.unackedSegments = round % 5
            sample.retransmits = round / 100
            engine(.lab(.kernel(selected, sample)))
            // The app's once-a-second tick, as the main loop sends it while rates move.
            if round % 20 == 19 { _ = Reducer.reduce(&state, .tick(tick())) }
            clockNanoseconds = frameStart + framePeriodNanoseconds
        })
        let cpuStreaming = cpuSeconds() - cpuBefore
        let simulatedSeconds = Double(options.runs) * Double(framePeriodNanoseconds) / 1e9
        let showsGraphs = Screen.render(state).grid.textLines.contains { $0.contains("graphs, one column a second") }
        let cpuLine = "streaming step: \(format(cpuStreaming * 1000 / simulatedSeconds)) ms of CPU per second of traffic "
            + "(\(format(cpuStreaming * 100 / simulatedSeconds)) %), Detail graphs on screen: \(showsGraphs ? "yes" : "NO")"

        terminal?.close()
        say(cpuLine)
        if !options.present {
            say("Not presented to a terminal: the times below are the reducer and Screen.render only,")
            say("without CursesTerminal.present. The frame < 50 ms target is for the whole frame: run with --present.")
        }
        say("| step (reducer + render\(options.present ? " + present" : "")) | runs | p50 ms | p99 ms | max ms | mean ms |")
        say("|---|--:|--:|--:|--:|--:|")
        for sample in samples { say(sample.row()) }
        say("")
        say("resident memory at the end: \(residentKiB() / 1024) MiB")

        if let path = options.reportPath {
            let text = report.joined(separator: "\n") + "\n"
            if let file = fopen(path, "w") {
                fputs(text, file)
                fclose(file)
            }
        }
        if options.present { print(report.joined(separator: "\n")) }
    }
}
