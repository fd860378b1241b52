import Foundation
import Testing
import TestSupport

/// `replay C1 [--timing]` run by the built binary against a real server: the replayed
/// connection delivers the original bytes in order, and with --timing its second chunk
/// arrives no sooner than the original gap after the first.
@Suite(.timeLimit(.minutes(1))) struct ReplayHeadlessTests {
    /// Every connection is read on its own thread; each read is printed as
    /// `recv CONNECTION HEX MILLISECONDS` (a monotonic clock), and once a connection has
    /// brought `expected` bytes the server answers `done`.
    static let server = #"""
    import socket, sys, threading, time
    expected = int(sys.argv[1])
    lock = threading.Lock()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    print("port", server.getsockname()[1], flush=True)
    def serve(conn, number):
        total = 0
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            now = time.monotonic() * 1000
            total += len(chunk)
            with lock:
                print("recv %d %s %.1f" % (number, chunk.hex(), now), flush=True)
            if total == expected:
                conn.sendall(b"done")
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        threading.Thread(target=serve, args=(conn, number), daemon=True).start()
    """#

    /// The server, answering `done` once a connection has brought `expected` bytes, and its port.
    static func startServer(expecting expected: Int) async throws -> (SpawnedProcess, port: Int) {
        let server = try PythonPeer.run(Self.server, ["\(expected)"])
        #expect(await server.waitForOutput(containing: "port "), "\(server.output)")
        guard let port = server.output.firstMatch(of: /port (\d+)/).map({ Int($0.1)! }) else {
            server.kill(SIGKILL)
            throw PeerFailure(output: server.output)
        }
        return (server, port)
    }

    struct PeerFailure: Error { let output: String }

    /// The reads of connection `number`: each one's bytes and time.
    static func reads(_ output: String, connection number: Int) -> [(bytes: String, milliseconds: Double)] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "recv", Int(words[1]) == number,
                  let bytes = Data(hex: String(words[2])), let time = Double(words[3]) else { return nil }
            return (String(decoding: bytes, as: UTF8.self), time)
        }
    }

    @Test(.requires("python3")) func aReplayDeliversTheSameBytesInOrderAndTimingKeepsTheGap() async throws {
        let first = "first", second = "second-chunk"
        let total = first.utf8.count + second.utf8.count
        let (server, port) = try await Self.startServer(expecting: total)
        defer { server.kill(SIGKILL) }
        let gapMilliseconds = 500
        let script = try TemporaryPath.file(prefix: "replay", suffix: ".txt", contents: [
            "connect 127.0.0.1:\(port)",
            #"send "\#(first)""#,
            "sleep \(gapMilliseconds)",
            #"send "\#(second)""#,
            #"expect C1 "done""#,
            "replay C1 --timing",
            #"expect C2 "done" --timeout 10"#,
            "replay C1",
            #"expect C3 "done" --timeout 10"#,
        ].joined(separator: "\n") + "\n")
        let run = try SpawnedProcess(Binary.path, ["--script", script])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(30)) == 0, "\(run.output)")
        #expect(run.output.contains("C2 replayed 2 chunk(s), \(total) bytes from C1"), "\(run.output)")
        #expect(run.output.contains("C3 replayed 2 chunk(s), \(total) bytes from C1"), "\(run.output)")

        // Exact bytes, in order, on both replays (the original is connection 1).
        for connection in 1...3 {
            let received = Self.reads(server.output, connection: connection).map(\.bytes).joined()
            #expect(received == first + second, "connection \(connection): \(server.output)")
        }
        // With --timing the chunks are two writes the original gap apart, so two reads, the
        // second no sooner than the gap (less the server's own scheduling of its first read).
        let timed = Self.reads(server.output, connection: 2)
        try #require(timed.count == 2, "\(server.output)")
        #expect(timed.map(\.bytes) == [first, second])
        let gap = timed[1].milliseconds - timed[0].milliseconds
        #expect(gap >= Double(gapMilliseconds) - 20, "replayed gap \(gap) ms, original \(gapMilliseconds) ms")
        #expect(gap < Double(gapMilliseconds) + 5000, "replayed gap \(gap) ms")
    }

    /// Chunks the log would not keep as they were (one larger than a log preview, two sent
    /// back to back that the TUI's log merges into one entry) are replayed exactly: the
    /// engine's record, not the log, is what is replayed.
    @Test(.requires("python3")) func aLargeChunkAndChunksBackToBackAreReplayedAsTheyWereSent() async throws {
        let large = String(repeating: "x", count: 5000)
        let total = large.utf8.count + 2
        let (server, port) = try await Self.startServer(expecting: total)
        defer { server.kill(SIGKILL) }
        let script = try TemporaryPath.file(prefix: "replay", suffix: ".txt", contents: [
            "connect 127.0.0.1:\(port)",
            "send \(large)",
            #"send "a""#,
            #"send "b""#,
            #"expect C1 "done""#,
            "replay C1",
            #"expect C2 "done" --timeout 10"#,
        ].joined(separator: "\n") + "\n")
        let run = try SpawnedProcess(Binary.path, ["--script", script])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(30)) == 0, "\(run.output)")
        #expect(run.output.contains("C1 replay-record chunks=3 kept=\(total) total=\(total)"), "\(run.output)")
        #expect(run.output.contains("C2 replayed 3 chunk(s), \(total) bytes from C1"), "\(run.output)")
        for connection in 1...2 {
            let received = Self.reads(server.output, connection: connection).map(\.bytes).joined()
            #expect(received == large + "ab", "connection \(connection): \(received.count) bytes")
        }
    }

    /// A relay's client leg replays what the client sent through it, to the relay's target,
    /// in the client's chunks.
    @Test(.requires("python3")) func aRelayedClientIsReplayedToTheRelaysTarget() async throws {
        let first = "first", second = "second-chunk"
        let total = first.utf8.count + second.utf8.count
        let (server, port) = try await Self.startServer(expecting: total)
        defer { server.kill(SIGKILL) }
        let script = try TemporaryPath.file(prefix: "replay", suffix: ".txt", contents: [
            "relay 0 127.0.0.1:\(port)",
            "expect R1 connected --timeout 20",
            #"expect C1 "second-chunk" --timeout 20"#,
            "replay C1",
            #"expect C3 "done" --timeout 10"#,
        ].joined(separator: "\n") + "\n")
        let run = try SpawnedProcess(Binary.path, ["--script", script])
        defer { run.kill(SIGKILL) }
        #expect(await run.waitForOutput(containing: "relaying"), "\(run.output)")
        let relayPort = try #require(run.output.firstMatch(of: #/R1 relaying tcp 127\.0\.0\.1:(\d+) /#).map { Int($0.1)! },
                                     "\(run.output)")
        // The client's two writes, a moment apart: two chunks (the gap is the traffic's shape).
        let client = try PythonPeer.run("""
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"\(first)"); time.sleep(0.2); s.sendall(b"\(second)")
            s.recv(16); time.sleep(30)
            """, ["\(relayPort)"])
        defer { client.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(30)) == 0, "\(run.output)")
        #expect(run.output.contains("C3 replayed 2 chunk(s), \(total) bytes from C1"), "\(run.output)")
        let replayed = Self.reads(server.output, connection: 2)
        #expect(replayed.map(\.bytes).joined() == first + second, "\(server.output)")
    }
}

private extension Data {
    init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
