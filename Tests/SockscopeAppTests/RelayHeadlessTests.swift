import Foundation
import Testing
import TestSupport

/// `relay` in headless JSON mode against real peers: every relay event names its relay and
/// its leg, the pair's lines tell the whole exchange, and the byte counts add up.
@Suite(.timeLimit(.minutes(2))) struct RelayHeadlessTests {
    /// One connection: reads to EOF, answers `got N`, closes.
    static let server = #"""
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print("port", server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    total = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        total += len(chunk)
    conn.sendall(b"got %d" % total)
    conn.close()
    """#

    @Test(.requires("python3")) func aRelayedHalfCloseInJSONNamesTheRelayAndTheLegs() async throws {
        let upstream = try PythonPeer.run(Self.server)
        defer { upstream.kill(SIGKILL) }
        #expect(await upstream.waitForOutput(containing: "port "), "\(upstream.output)")
        let upstreamPort = try #require(upstream.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
        let relay = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "relay 0 127.0.0.1:\(upstreamPort)"])
        defer { relay.kill(SIGKILL) }
        #expect(await relay.waitForOutput(containing: #""event":"relaying""#), "\(relay.output)")
        let port = try #require(relay.output.firstMatch(of: /"event":"relaying".*"local":"127\.0\.0\.1:(\d+)"/).map { Int($0.1)! })

        let client = try PythonPeer.run("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            s.sendall(b"hello relay"); s.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                chunk = s.recv(100)
                if not chunk: break
                answer += chunk
            print("answer", answer.decode(), flush=True)
            """, ["\(port)"])
        #expect(await client.wait(timeout: .seconds(15)) == 0, "\(client.output)")
        #expect(client.output.contains("answer got 11"))
        #expect(await relay.waitForOutput(containing: #""id":"C2","event":"closed""#), "\(relay.output)")
        #expect(await relay.waitForOutput(containing: #""id":"C1","event":"closed""#), "\(relay.output)")

        let lines = try relay.output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        func first(_ event: String, id: String) -> [String: Any]? {
            lines.first { $0["event"] as? String == event && $0["id"] as? String == id }
        }
        let relaying = try #require(first("relaying", id: "R1"), "\(relay.output)")
        #expect(relaying["target"] as? String == "tcp://127.0.0.1:\(upstreamPort)")
        #expect(relaying["proto"] as? String == "tcp")
        #expect(first("accepted", id: "C1")?["listener"] as? String == "R1")
        let leg = try #require(first("relay-upstream", id: "C2"), "\(relay.output)")
        #expect(leg["relay"] as? String == "R1" && leg["leg"] as? String == "upstream" && leg["client"] as? String == "C1")
        #expect(first("connected", id: "C2") != nil)
        let passed = try #require(first("relay-passed-on", id: "C2"), "\(relay.output)")
        #expect(passed["relay"] as? String == "R1" && passed["leg"] as? String == "upstream")
        #expect(passed["from"] as? String == "C1" && passed["ending"] as? String == "fin")

        func total(_ event: String, id: String) -> Int {
            lines.filter { $0["event"] as? String == event && $0["id"] as? String == id }.compactMap { $0["bytes"] as? Int }.reduce(0, +)
        }
        #expect(total("received", id: "C1") == 11 && total("sent", id: "C2") == 11)
        #expect(total("received", id: "C2") == 6 && total("sent", id: "C1") == 6)
        relay.kill(SIGTERM)
        #expect(await relay.wait() == 0)
    }

    /// `toxic ... --toxicity` and `relay R1 down` from headless commands: the toxic's JSON
    /// says its toxicity, the down relay refuses a client and the JSON says why.
    @Test(.requires("python3")) func relayDownAndToxicityFromHeadlessCommands() async throws {
        let relay = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "relay 0 127.0.0.1:9",
                                                     "-c", "toxic R1 add latency 100 --toxicity 0.25", "-c", "relay R1 down"])
        defer { relay.kill(SIGKILL) }
        #expect(await relay.waitForOutput(containing: #""event":"relay-down""#), "\(relay.output)")
        #expect(relay.output.contains(#""event":"toxic-added","proto":"tcp","name":"latency_down","kind":"latency","dir":"down","parameters":[100],"toxicity":0.25"#),
                "\(relay.output)")
        let port = try #require(relay.output.firstMatch(of: /"event":"relaying".*"local":"127\.0\.0\.1:(\d+)"/).map { Int($0.1)! })
        let client = try PythonPeer.run("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            try:
                print("read", len(s.recv(100)), flush=True)
            except ConnectionResetError:
                print("reset", flush=True)
            """, ["\(port)"])
        #expect(await client.wait(timeout: .seconds(15)) == 0, "\(client.output)")
        #expect(await relay.waitForOutput(containing: #""event":"refused""#), "\(relay.output)")
        #expect(relay.output.contains(#""closed_pairs":0"#))
        #expect(relay.output.contains(#""reason":"relay R1 is down""#), "\(relay.output)")
        relay.kill(SIGTERM)
        #expect(await relay.wait() == 0)
    }

    /// A UDP relay from headless commands: the pair's datagrams in JSON, one line each, with
    /// their exact sizes, and the loss toxic accepted.
    @Test(.requires("python3")) func aUDPRelayInJSONReportsEachDatagramOnItsLeg() async throws {
        let upstream = try PythonPeer.run("""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            print("port", s.getsockname()[1], flush=True)
            while True:
                data, peer = s.recvfrom(70000)
                s.sendto(b"answer:" + data, peer)
            """)
        defer { upstream.kill(SIGKILL) }
        #expect(await upstream.waitForOutput(containing: "port "), "\(upstream.output)")
        let upstreamPort = try #require(upstream.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
        let relay = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "relay udp://127.0.0.1:0 udp://127.0.0.1:\(upstreamPort)",
                                                     "-c", "toxic R1 add loss 0 --dir both"])
        defer { relay.kill(SIGKILL) }
        #expect(await relay.waitForOutput(containing: #""event":"toxic-added""#), "\(relay.output)")
        let port = try #require(relay.output.firstMatch(of: /"event":"relaying".*"local":"127\.0\.0\.1:(\d+)"/).map { Int($0.1)! })
        let client = try PythonPeer.run("""
            import socket, sys
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.settimeout(5)
            for size in (3, 3000):
                c.sendto(b"q" * size, ("127.0.0.1", int(sys.argv[1])))
                print("answer", len(c.recvfrom(70000)[0]), flush=True)
            """, ["\(port)"])
        #expect(await client.wait(timeout: .seconds(15)) == 0, "\(client.output)")
        #expect(client.output.contains("answer 10\nanswer 3007"), "\(client.output)")
        #expect(await relay.waitForOutput(containing: #""id":"C1","event":"sent","proto":"udp""#), "\(relay.output)")
        #expect(await relay.waitForOutput(containing: #""bytes":3007"#), "\(relay.output)")
        let lines = try relay.output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        func sizes(_ event: String, _ id: String) -> [Int] {
            lines.filter { $0["event"] as? String == event && $0["id"] as? String == id }.compactMap { $0["bytes"] as? Int }
        }
        #expect(sizes("received", "C1") == [3, 3000] && sizes("sent", "C2") == [3, 3000])
        #expect(sizes("received", "C2") == [10, 3007] && sizes("sent", "C1") == [10, 3007])
        let leg = try #require(lines.first { $0["event"] as? String == "relay-upstream" }, "\(relay.output)")
        #expect(leg["proto"] as? String == "udp" && leg["client"] as? String == "C1")
        relay.kill(SIGTERM)
        #expect(await relay.wait() == 0)
    }
}
