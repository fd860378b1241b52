import Foundation
import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Each toxic's effect measured against its parameter through a real relay, with real peers.
@Suite(.timeLimit(.minutes(3))) struct ToxicTests {
    static func change(_ harness: EngineHarness, _ relay: SocketID, _ command: ToxicCommand) async throws {
        let answer = try await harness.perform(.toxic(relay, command))
        #expect(!answer.contains { if case .error = $0 { true } else { false } }, "\(answer)")
    }

    static func add(_ harness: EngineHarness, _ relay: SocketID, _ effect: ToxicEffect, _ direction: ToxicDirection = .down)
        async throws {
        try await change(harness, relay, .add(Toxic(effect: effect, direction: direction)))
    }

    /// The relay and a server peer (`RelayTests.serverScript` mode), ready.
    static func relayToServer(_ harness: EngineHarness, _ arguments: [String]) async throws
        -> (relay: SocketID, port: Int, server: SpawnedProcess) {
        let server = try PythonPeer.run(RelayTests.serverScript, arguments)
        let serverPort = try await RelayTests.port(of: server)
        let (relay, port) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: serverPort))
        return (relay, port, server)
    }

    static func client(_ arguments: [String]) throws -> SpawnedProcess {
        try PythonPeer.run(clientScript, arguments)
    }

    static func value(_ name: String, in output: String) -> Double? {
        output.split(separator: "\n").lazy.compactMap { line -> Double? in
            let words = line.split(separator: " ")
            return words.count == 2 && words[0] == name ? Double(words[1]) : nil
        }.first
    }

    /// 100 round trips through an echo server, the toxic added while the connection is open:
    /// the median goes from well under a millisecond to 200 ms ± 10 ms.
    @Test(.requires("python3")) func latencyAddsItsDelayToEachRoundTripLive() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, echoPort) = try await harness.listen(.echo)
        let (relay, port) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: echoPort))
        let go = TemporaryPath.make(prefix: "go")
        let client = try Self.client(["rtt", "127.0.0.1", "\(port)", go])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: "before "), "\(client.output)")
        try await Self.add(harness, relay, .latency(milliseconds: 200, jitter: 0))
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        // 100 round trips of 200 ms each.
        let output = await RelayTests.finished(client, timeout: .seconds(60))
        let before = try #require(Self.value("before", in: output))
        let p50 = try #require(Self.value("p50", in: output))
        #expect(before < 100, "\(output)")
        #expect(abs(p50 - 200) <= 10, "p50 \(p50) ms: \(output)")
        let fired = harness.kinds.reduce(0) { total, kind in
            if case .relay(.toxicFired(_, .upstream, relay, "latency_down", let count)) = kind { total + count } else { total }
        }
        #expect(fired >= 100, "at least one delayed read per answer")
        try await Self.change(harness, relay, .remove(name: "latency_down"))
    }

    @Test(.requires("python3")) func bandwidthHoldsATransferToItsRate() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["flood", "3000000"])
        defer { server.kill(SIGKILL) }
        try await Self.add(harness, relay, .bandwidth(kilobytesPerSecond: 1000))
        let output = await RelayTests.finished(try Self.client(["rate", "127.0.0.1", "\(port)"]))
        let rate = try #require(Self.value("rate", in: output))
        #expect(abs(rate - 1_000_000) <= 100_000, "\(rate) B/s: \(output)")
        #expect(Self.value("total", in: output) == 3_000_000)
    }

    @Test(.requires("python3")) func slicerCutsWhatTheReceiverSeesIntoPiecesOfTheAskedSize() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["flood", "600"])
        defer { server.kill(SIGKILL) }
        // 100 ms apart: far enough that the receiver reads each piece by itself even on a busy machine.
        try await Self.add(harness, relay, .slicer(averageSize: 100, sizeVariation: 0, delayMicroseconds: 100_000))
        let output = await RelayTests.finished(try Self.client(["chunks", "127.0.0.1", "\(port)"]))
        #expect(output.contains("chunks 100 100 100 100 100 100\n"), "\(output)")
        let fired = harness.kinds.reduce(0) { total, kind in
            if case .relay(.toxicFired(_, .upstream, relay, "slicer_down", let count)) = kind { total + count } else { total }
        }
        #expect(fired == 6, "one firing per piece")
    }

    @Test(.requires("python3")) func limitDataClosesThePairAfterItsBytes() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["flood", "100000"])
        defer { server.kill(SIGKILL) }
        try await Self.add(harness, relay, .limitData(bytes: 5000))
        let output = await RelayTests.finished(try Self.client(["rate", "127.0.0.1", "\(port)"]))
        #expect(Self.value("total", in: output) == 5000, "\(output)")
        let pair = try #require(RelayTests.pairs(harness).first)
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.closedReason(of: pair.client) == "toxic limit_data_down: limit_data 5000 B reached")
        #expect(harness.sentCount(on: pair.client) == 5000)
    }

    @Test(.requires("python3")) func timeoutLetsNothingThroughAndClosesWhenDue() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["flood", "1000"])
        defer { server.kill(SIGKILL) }
        try await Self.add(harness, relay, .timeout(milliseconds: 300))
        let output = await RelayTests.finished(try Self.client(["rate", "127.0.0.1", "\(port)"]))
        #expect(Self.value("total", in: output) == 0, "\(output)")
        let elapsed = try #require(Self.value("eof_ms", in: output))
        #expect(elapsed >= 290 && elapsed < 1000, "\(output)")
    }

    @Test(.requires("python3")) func resetPeerResetsThePairWhenDue() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["expect-reset"])
        defer { server.kill(SIGKILL) }
        try await Self.add(harness, relay, .resetPeer(milliseconds: 200))
        let output = await RelayTests.finished(try Self.client(["wait-reset", "127.0.0.1", "\(port)"]))
        let elapsed = try #require(Self.value("reset_ms", in: output), "\(output)")
        #expect(elapsed >= 190 && elapsed < 1000, "\(output)")
        #expect(await server.wait(timeout: .seconds(10)) == 0 && server.output.contains("server: reset"), "\(server.output)")
    }

    @Test(.requires("python3")) func slowCloseDelaysTheFIN() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port, server) = try await Self.relayToServer(harness, ["flood", "10"])
        defer { server.kill(SIGKILL) }
        try await Self.add(harness, relay, .slowClose(milliseconds: 300))
        let output = await RelayTests.finished(try Self.client(["rate", "127.0.0.1", "\(port)"]))
        #expect(Self.value("total", in: output) == 10)
        // From connecting, not from the data: a busy receiver may read the data late, never the FIN early.
        let eof = try #require(Self.value("eof_ms", in: output), "\(output)")
        #expect(eof >= 290 && eof < 2000, "\(output)")
    }

    /// Clients by mode, given HOST PORT: `rtt GOFILE` (round trips before and after GOFILE
    /// appears), `rate` (reads to EOF: total, rate after the first read, times), `chunks`
    /// (the size of each read), `wait-reset` (how long until the connection is reset).
    static let clientScript = #"""
    import os, socket, sys, time
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.monotonic()
    conn = socket.create_connection((host, port), timeout=20)
    def ms(since):
        return (time.monotonic() - since) * 1000
    if mode == "rtt":
        def trip():
            t = time.monotonic()
            conn.sendall(b"x" * 16)
            got = 0
            while got < 16:
                got += len(conn.recv(16 - got))
            return ms(t)
        print("before", sorted(trip() for _ in range(10))[5], flush=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
            time.sleep(0.01)
        times = sorted(trip() for _ in range(100))
        print("p50", (times[49] + times[50]) / 2)
    elif mode in ("rate", "chunks"):
        sizes, first, last = [], None, None
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            last = time.monotonic()
            if first is None:
                first = last
            sizes.append(len(chunk))
        total = sum(sizes)
        print("total", total)
        print("eof_ms", ms(start))
        if last is not None:
            print("eof_after_data_ms", ms(last))
        if mode == "chunks":
            print("chunks", " ".join(str(size) for size in sizes))
        elif len(sizes) > 1 and last > first:
            print("rate", (total - sizes[0]) / (last - first))
    elif mode == "wait-reset":
        conn.sendall(b"hi")
        try:
            while conn.recv(100):
                pass
            print("eof", ms(start))
        except ConnectionResetError:
            print("reset_ms", ms(start))
    """#
}
