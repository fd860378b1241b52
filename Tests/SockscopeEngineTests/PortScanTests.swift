import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// The connect scanner against real listeners on loopback: it must find exactly the open
/// ports among ports that are ours (nothing else can listen on them meanwhile), class the
/// rest, hold no more sockets at once than asked, and read what real servers say first.
@Suite(.timeLimit(.minutes(1))) struct PortScanTests {
    /// Everything one scan reported, from its answer's events.
    struct Results {
        var start: ScanStart?
        var open: [Int] = []
        var notOpen: [PortOutcome: [Int]] = [:]
        var banners: [Int: ScanBanner] = [:]
        var summary: ScanSummary?
        var errors: [SocketFailure] = []

        init(_ kinds: [EngineEventKind]) {
            for kind in kinds {
                switch kind {
                case .scan(.started(let start)): self.start = start
                case .scan(.open(let port, _)): open.append(port)
                case .scan(.notOpen(let outcome, let ranges)): notOpen[outcome, default: []] += ranges.flatMap { Array($0) }
                case .scan(.banner(let port, let banner)): banners[port] = banner
                case .scan(.finished(let summary)): self.summary = summary
                case .error(_, let failure): errors.append(failure)
                default: break
                }
            }
        }
    }

    static func scan(_ harness: EngineHarness, _ ports: [Int], host: String = "127.0.0.1",
                     configure: (inout ScanRequest) -> Void = { _ in }) async throws -> Results {
        var request = ScanRequest(host: host, ports: PortList(ports.map { $0...$0 }))
        configure(&request)
        return Results(try await harness.perform(.scan(request), timeout: .seconds(30)))
    }

    @Test func findsExactlyTheListenersAmongPortsNobodyListensOn() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // Listening, never accepting: the kernel completes the handshake from the accept queue.
        let listeners = try (0..<3).map { _ in try ReservedPort(listenBacklog: 16) }
        // Bound, not listening: held so nobody can take them, and refused (RST).
        let silent = try (0..<4).map { _ in try ReservedPort() }
        let results = try await Self.scan(harness, (listeners + silent).map(\.port))
        let openPorts = Set(listeners.map(\.port))
        #expect(Set(results.open) == openPorts)
        #expect(results.open.count == 3, "each open port reported once")
        let refused = PortOutcome(state: .closed, errno: ECONNREFUSED)
        #expect(Set(results.notOpen[refused] ?? []) == Set(silent.map(\.port)), "\(results.notOpen)")
        #expect(Array(results.notOpen.keys) == [refused], "every other port refused, each reported once")
        #expect(results.notOpen[refused]?.count == 4)
        let summary = try #require(results.summary)
        #expect(summary.open == openPorts.sorted())
        #expect(summary.scanned == 7 && summary.closed == 4 && summary.filtered == 0 && !summary.stopped)
        #expect(summary.address == .ipv4(.loopback, port: 0))
        #expect(results.start?.ports.count == 7)
    }

    @Test func scansIPv6Loopback() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await harness.listen(host: "::1")
        let results = try await Self.scan(harness, [port], host: "::1")
        #expect(results.open == [port])
        #expect(results.summary?.address == .ipv6(.loopback, port: 0))
    }

    /// Listeners whose accept queue is full drop every further SYN, so a connect to them waits:
    /// the ports come out filtered (timeout), and no more connects than asked are ever in flight.
    @Test func portsThatNeverAnswerAreFilteredAndConcurrencyIsBounded() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let full = try (0..<10).map { _ in try ReservedPort(listenBacklog: 0) }
        // One connection fills a backlog-0 queue; it stays there, never accepted.
        let fillers = try full.map { try BlockingClient(port: $0.port) }
        defer { fillers.forEach { $0.close() } }
        let began = ContinuousClock.now
        let results = try await Self.scan(harness, full.map(\.port)) {
            $0.concurrency = 4
            $0.timeoutMilliseconds = 150
        }
        let summary = try #require(results.summary)
        #expect(Set(results.notOpen[.timedOut] ?? []) == Set(full.map(\.port)), "\(results.notOpen)")
        #expect(summary.filtered == 10 && summary.open.isEmpty)
        #expect(summary.maxInFlight == 4, "never more than --concurrency, and that many while ports wait")
        #expect(results.start?.concurrency == 4)
        // Three rounds of four (and two) waiting out the timeout, one after another.
        #expect(ContinuousClock.now - began >= .milliseconds(450))
    }

    @Test func aScanAsksForNoMoreDescriptorsThanAreFree() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let port = try ReservedPort()
        let results = try await Self.scan(harness, [port.port]) { $0.concurrency = 65535 }
        let start = try #require(results.start)
        #expect(start.concurrency < sysconf(Int32(_SC_OPEN_MAX)), "\(start)")
        #expect(start.concurrencyReason.contains("RLIMIT_NOFILE"), "\(start.concurrencyReason)")
    }

    @Test(.requires("python3")) func readsWhatServersSayFirstAndSaysWhenTheySayNothing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let ssh = try await GreetingServer.start("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        let smtp = try await GreetingServer.start("220 mail.example ESMTP Postfix \u{1b}[31mred\r\n")
        let mute = try await GreetingServer.start(nil)
        let hangUp = try await GreetingServer.start("", closeAtOnce: true)
        let results = try await Self.scan(harness, [ssh.port, smtp.port, mute.port, hangUp.port]) {
            $0.bannerWaitMilliseconds = 300
        }
        #expect(results.banners[ssh.port] == .said(bytes: Array("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".utf8), count: 32))
        guard case .said(let bytes, let count)? = results.banners[smtp.port] else {
            Issue.record("no SMTP greeting: \(results.banners)")
            return
        }
        #expect(bytes == Array("220 mail.example ESMTP Postfix \u{1b}[31mred\r\n".utf8) && count == bytes.count)
        #expect(results.banners[mute.port] == .silent(waitedMilliseconds: 300))
        #expect(results.banners[hangUp.port] == .closedWithoutWord)
        #expect(Set(results.open) == [ssh.port, smtp.port, mute.port, hangUp.port])
    }

    @Test(.requires("redis-server")) func redisSaysNothingFirst() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let results = try await Self.scan(harness, [port]) { $0.bannerWaitMilliseconds = 200 }
        #expect(results.open == [port])
        #expect(results.banners[port] == .silent(waitedMilliseconds: 200), "redis waits for the client to speak")
    }

    @Test func stopEndsARunningScanAndSaysHowFarItGot() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let full = try ReservedPort(listenBacklog: 0)
        let filler = try BlockingClient(port: full.port)
        defer { filler.close() }
        var request = ScanRequest(host: "127.0.0.1", ports: PortList([full.port...full.port]))
        request.timeoutMilliseconds = 60_000  // the port never answers: the scan waits for the stop
        let scan = harness.submit(.scan(request))
        try await harness.waitFor("the scan's start") {
            harness.events(for: scan).contains { if case .scan(.started) = $0 { true } else { false } }
        }
        let stop = try await harness.perform(.stopScan)
        #expect(stop == [.requestCompleted])
        let results = Results(harness.events(for: scan))
        #expect(results.summary?.stopped == true && results.summary?.scanned == 0, "\(String(describing: results.summary))")
        #expect(harness.events(for: scan).last == .requestCompleted)
        // Nothing to stop any more.
        let again = try await harness.perform(.stopScan)
        #expect(again.contains { if case .error(nil, let failure) = $0 { failure.explanation == "no scan is running" } else { false } })
    }

    @Test func aNameThatDoesNotResolveFailsTheScan() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let results = try await Self.scan(harness, [80], host: "no-such-host.invalid")
        #expect(results.errors.first?.call == "getaddrinfo")
        #expect(results.start == nil && results.summary == nil)
    }
}
