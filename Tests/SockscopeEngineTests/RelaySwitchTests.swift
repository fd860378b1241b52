import Foundation
import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `--toxicity P` (toxiproxy's probability that a toxic acts on a connection) and
/// `relay R1 down|up`, through a real relay to an echo listener, with python clients.
@Suite(.timeLimit(.minutes(3))) struct RelaySwitchTests {
    /// `count N`: N connections one after another, each sends `ping` and reads the answer;
    /// prints how many got their echo and how many were cut (reset or EOF).
    /// `hold`: one connection, echo once (`answered`), then waits for the end (`ended`).
    static let clientScript = #"""
    import socket, sys
    mode, port = sys.argv[1], int(sys.argv[2])
    def exchange(s):
        try:
            s.sendall(b"ping")
            return s.recv(100) == b"ping"
        except (ConnectionResetError, BrokenPipeError):
            return False
    if mode == "count":
        ok = cut = 0
        for _ in range(int(sys.argv[3])):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
            except ConnectionResetError:
                # With a timeout Python connects non-blocking and reads SO_ERROR after poll: an
                # RST sent right after the accept can already be there.
                cut += 1
                continue
            if exchange(s):
                ok += 1
            else:
                cut += 1
            s.close()
        print("ok", ok, "cut", cut, flush=True)
    elif mode == "hold":
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        print("answered" if exchange(s) else "cut", flush=True)
        try:
            print("ended", "eof" if s.recv(100) == b"" else "data", flush=True)
        except ConnectionResetError:
            print("ended reset", flush=True)
    """#

    static func counts(_ port: Int, connections: Int) async throws -> (ok: Int, cut: Int) {
        let output = await RelayTests.finished(try PythonPeer.run(clientScript, ["count", "\(port)", "\(connections)"]),
                                               timeout: .seconds(60))
        let match = try #require(output.firstMatch(of: /ok (\d+) cut (\d+)/), "\(output)")
        return (Int(match.1)!, Int(match.2)!)
    }

    static func firings(_ harness: EngineHarness, _ name: String) -> Int {
        harness.kinds.reduce(0) { total, kind in
            if case .relay(.toxicFired(_, _, _, name, let count)) = kind { total + count } else { total }
        }
    }

    /// reset_peer 0 cuts a connection at once where it acts: with toxicity 0 none is cut, with
    /// 1 all are, with 0.5 about half of 60 (12 to 48: outside that, 1 run in ~10^5 of a fair coin).
    @Test(.requires("python3")) func toxicityIsTheShareOfConnectionsAToxicActsOn() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, echoPort) = try await harness.listen(.echo)
        let (relay, port) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: echoPort))

        for (toxicity, connections) in [(0.0, 20), (1.0, 20), (0.5, 60)] {
            let name = "cut\(Int(toxicity * 100))"
            try await ToxicTests.change(harness, relay, .add(Toxic(name: name, effect: .resetPeer(milliseconds: 0),
                                                                    direction: .down, toxicity: toxicity)))
            let (ok, cut) = try await Self.counts(port, connections: connections)
            #expect(ok + cut == connections)
            switch toxicity {
            case 0: #expect(cut == 0, "toxicity 0 never acts")
            case 1: #expect(ok == 0, "toxicity 1 always acts")
            default: #expect((12...48).contains(cut), "\(cut) of 60 cut at toxicity 0.5")
            }
            // Each cut pair is one firing, reported with the engine's batches.
            try await harness.waitFor("\(cut) firings of \(name)") { Self.firings(harness, name) == cut }
            try await ToxicTests.change(harness, relay, .remove(name: name))
        }
    }

    /// Down closes the open pair (both legs, for that reason), refuses a new client (accepted
    /// and closed at once, reported as refused), and up forwards again.
    @Test(.requires("python3")) func relayDownClosesEveryPairAndRefusesClientsUntilUp() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (_, echoPort) = try await harness.listen(.echo)
        let (relay, port) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: echoPort))

        let held = try PythonPeer.run(Self.clientScript, ["hold", "\(port)"])
        defer { held.kill(SIGKILL) }
        #expect(await held.waitForOutput(containing: "answered"), "\(held.output)")
        let pair = try #require(RelayTests.pairs(harness).first)

        let down = try await harness.perform(.relaySwitch(relay, .down))
        #expect(down.contains(.relay(.down(relay, closedPairs: 1))), "\(down)")
        #expect(await RelayTests.finished(held).contains("ended eof"), "the client sees the relay close")
        try await RelayTests.waitForClose(of: [pair.client, pair.upstream], harness)
        #expect(harness.closedReason(of: pair.client) == "relay R1 is down")
        #expect(harness.closedReason(of: pair.upstream) == "relay R1 is down")
        let again = try await harness.perform(.relaySwitch(relay, .down))
        #expect(again.contains { if case .error(_, let failure) = $0 { failure.explanation == "R1 is already down" } else { false } },
                "\(again)")

        let refused = try await Self.counts(port, connections: 3)
        #expect(refused.ok == 0 && refused.cut == 3)
        try await harness.waitFor("3 refusals") {
            harness.kinds.filter { if case .refused(relay, _, "relay R1 is down") = $0 { true } else { false } }.count == 3
        }
        #expect(RelayTests.pairs(harness).count == 1, "no upstream leg for a refused client")

        let up = try await harness.perform(.relaySwitch(relay, .up))
        #expect(up.contains(.relay(.up(relay))), "\(up)")
        let after = try await Self.counts(port, connections: 3)
        #expect(after.ok == 3 && after.cut == 0)
    }
}
