import Foundation
import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `relay udp://LISTEN udp://TARGET` with python UDP peers: a DNS-style exchange whose
/// datagrams keep their boundaries exactly, one upstream socket per client address, the
/// idle timeout, the `loss` toxic's share of drops, and `relay R1 down`.
@Suite(.timeLimit(.minutes(3))) struct RelayUDPTests {
    /// A DNS-style server: each query `ID:SIZE` is answered with `ID:` and SIZE bytes, and
    /// the server records which source port asked (one line per new port).
    static let serverScript = #"""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("port", s.getsockname()[1], flush=True)
    seen = set()
    while True:
        data, peer = s.recvfrom(70000)
        if peer[1] not in seen:
            seen.add(peer[1])
            print("from", peer[1], flush=True)
        if data.startswith(b"count"):
            continue
        ident, size = data.split(b":")
        s.sendto(ident + b":" + b"a" * int(size), peer)
    """#

    /// `queries PORT SIZE...`: one query per size, each answer's length checked;
    /// `flood PORT N`: N datagrams `count`, no answers expected.
    static let clientScript = #"""
    import socket, sys, time
    mode, port = sys.argv[1], int(sys.argv[2])
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    if mode == "queries":
        for index, size in enumerate(int(word) for word in sys.argv[3:]):
            ident = b"q%d" % index
            c.sendto(ident + b":" + str(size).encode(), ("127.0.0.1", port))
            answer, _ = c.recvfrom(70000)
            assert answer.startswith(ident + b":"), answer[:20]
            print("answer", len(answer) - len(ident) - 1, flush=True)
    elif mode == "flood":
        for index in range(int(sys.argv[3])):
            c.sendto(b"count", ("127.0.0.1", port))
            if index % 5 == 4:
                # Paced, so the relay's receive buffer does not overflow (the kernel would drop, not the toxic).
                time.sleep(0.001)
        print("sent", flush=True)
    """#

    static func server() async throws -> (SpawnedProcess, Int) {
        let server = try PythonPeer.run(serverScript)
        #expect(await server.waitForOutput(containing: "port "), "\(server.output)")
        let port = try #require(server.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
        return (server, port)
    }

    static func relay(_ harness: EngineHarness, to port: Int, idleMilliseconds: Int? = nil) async throws -> (SocketID, Int) {
        var listen = ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0))
        listen.policy.idleTimeoutMilliseconds = idleMilliseconds
        let answer = try await harness.perform(.relay(RelayRequest(listen: listen, target: .inet(.udp, host: "127.0.0.1", port: port))))
        guard case .relay(.listening(let id, .udp, let local, _))? = answer.first, let relayPort = local.port else {
            throw EngineHarness.Timeout(what: "a UDP relaying event", events: harness.events)
        }
        return (id, Int(relayPort))
    }

    /// Each datagram, one event, exact size: no merge, no cut.
    static func datagrams(_ harness: EngineHarness, on id: SocketID, received: Bool) -> [Int] {
        harness.events(about: id).compactMap { kind in
            switch kind {
            case .receivedFrom(_, _, _, let count, false) where received: count
            case .sentTo(_, _, _, let count) where !received: count
            default: nil
            }
        }
    }

    @Test(.requires("python3")) func aDNSStyleExchangeKeepsEveryDatagramWholeWithOneUpstreamSocketPerClient() async throws {
        let (server, serverPort) = try await Self.server()
        defer { server.kill(SIGKILL) }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: serverPort)

        let sizes = [12, 512, 1400, 9000, 65000, 3]
        for _ in 0..<2 {
            let client = try PythonPeer.run(Self.clientScript, ["queries", "\(port)"] + sizes.map(String.init))
            let output = await RelayTests.finished(client)
            #expect(output.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } } == sizes)
        }
        // Two clients (two source ports): two pairs, and the server saw two relay sockets.
        try await harness.waitFor("two pairs") { RelayTests.pairs(harness).count == 2 }
        #expect(await server.waitForOutput(containing: "from ") && server.output.matches(of: /from \d+/).count == 2,
                "\(server.output)")
        for pair in RelayTests.pairs(harness) {
            try await harness.waitFor("every answer on \(pair.client)") {
                Self.datagrams(harness, on: pair.client, received: false).count == sizes.count
            }
            let queries = Self.datagrams(harness, on: pair.client, received: true)
            #expect(queries.count == sizes.count)
            #expect(Self.datagrams(harness, on: pair.upstream, received: false) == queries, "forwarded as read, one by one")
            let answers = sizes.enumerated().map { 3 + $0.offset / 10 + $0.element }
            #expect(Self.datagrams(harness, on: pair.upstream, received: true) == answers)
            #expect(Self.datagrams(harness, on: pair.client, received: false) == answers)
            #expect(harness.events(about: pair.upstream).contains { if case .relay(.upstream(_, relay, pair.client, .udp, _)) = $0 { true } else { false } })
        }
    }

    @Test(.requires("python3")) func anIdlePairClosesAfterTheIdleTimeout() async throws {
        let (server, serverPort) = try await Self.server()
        defer { server.kill(SIGKILL) }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, port) = try await Self.relay(harness, to: serverPort, idleMilliseconds: 300)
        let started = ContinuousClock.now
        _ = await RelayTests.finished(try PythonPeer.run(Self.clientScript, ["queries", "\(port)", "10"]))
        let pair = try #require(RelayTests.pairs(harness).first)
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(harness.closedReason(of: pair.client) == "idle: no datagram for 0.3 s (--idle-timeout)")
        #expect(harness.closedReason(of: pair.upstream) == "idle: no datagram for 0.3 s (--idle-timeout)")
    }

    /// loss 30 on 2000 datagrams going up: the server gets what was not dropped, the drops
    /// are counted exactly (toxic-fired), and their share of what the relay read is 30% ± 10
    /// points (at least 500 read: 4.9 standard deviations of a 30% draw; a loaded machine's
    /// kernel may drop some of the 2000 at the relay's socket before it reads them).
    @Test(.requires("python3")) func lossDropsItsShareOfDatagramsAndCountsEachDrop() async throws {
        let counter = try PythonPeer.run(#"""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            print("port", s.getsockname()[1], flush=True)
            # The first datagram may be late on a loaded machine (the relay and the client start after this).
            s.settimeout(90)
            s.recvfrom(100)
            got = 1
            # Done after 2 s without a datagram.
            s.settimeout(2)
            try:
                while True:
                    data, _ = s.recvfrom(100)
                    got += 1
            except socket.timeout:
                print("got", got, flush=True)
            """#)
        defer { counter.kill(SIGKILL) }
        #expect(await counter.waitForOutput(containing: "port "), "\(counter.output)")
        let counterPort = try #require(counter.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: counterPort)
        try await ToxicTests.change(harness, relay, .add(Toxic(effect: .loss(percent: 30), direction: .up)))
        // A stream-only toxic is refused by a UDP relay.
        let refused = try await harness.perform(.toxic(relay, .add(Toxic(effect: .latency(milliseconds: 5, jitter: 0), direction: .up))))
        #expect(refused.contains { if case .error = $0 { true } else { false } })

        let total = 2000
        _ = await RelayTests.finished(try PythonPeer.run(Self.clientScript, ["flood", "\(port)", "\(total)"]))
        let output = await RelayTests.finished(counter, timeout: .seconds(30))
        let got = try #require(output.firstMatch(of: /got (\d+)/).map { Int($0.1)! }, "\(output)")
        let pair = try #require(RelayTests.pairs(harness).first)
        @Sendable func count(_ match: (EngineEventKind) -> Int?) -> Int {
            harness.events(about: pair.client).compactMap(match).reduce(0, +)
        }
        @Sendable func read() -> Int {
            count { if case .receivedFrom = $0 { 1 } else if case .moreDatagrams(_, let totals) = $0 { totals.received } else { nil } }
        }
        @Sendable func fired() -> Int { count { if case .relay(.toxicFired(_, .client, relay, "loss_up", let times)) = $0 { times } else { nil } } }
        @Sendable func dropped() -> Int { count { if case .relay(.dropped(_, _, _, let times)) = $0 { times } else { nil } } }
        // Every datagram the relay read was forwarded (and counted by the server), lost to the toxic, or dropped.
        try await harness.waitFor("the relay's counts settle: \(got) forwarded") { fired() + dropped() + got == read() }
        #expect(read() >= 500 && read() <= total, "\(read()) read by the relay")
        #expect(dropped() == 0, "small paced datagrams fit the socket buffers")
        #expect(abs(Double(fired()) / Double(read()) - 0.30) <= 0.10, "\(fired()) of \(read()) lost")
    }

    @Test(.requires("python3")) func relayDownEndsEveryPairAndRefusesEachClientOnce() async throws {
        let (server, serverPort) = try await Self.server()
        defer { server.kill(SIGKILL) }
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (relay, port) = try await Self.relay(harness, to: serverPort)
        _ = await RelayTests.finished(try PythonPeer.run(Self.clientScript, ["queries", "\(port)", "10"]))
        let pair = try #require(RelayTests.pairs(harness).first)
        let down = try await harness.perform(.relaySwitch(relay, .down))
        #expect(down.contains(.relay(.down(relay, closedPairs: 1))), "\(down)")
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.closedReason(of: pair.client) == "relay R1 is down")
        _ = await RelayTests.finished(try PythonPeer.run(Self.clientScript, ["flood", "\(port)", "5"]))
        try await harness.waitFor("one refusal") {
            harness.kinds.contains { if case .refused(relay, _, "relay R1 is down") = $0 { true } else { false } }
        }
        #expect(harness.kinds.filter { if case .refused = $0 { true } else { false } }.count == 1, "once per address, not per datagram")
        #expect(RelayTests.pairs(harness).count == 1)
    }
}
