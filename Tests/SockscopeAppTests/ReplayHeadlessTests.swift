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
        let server = try PythonPeer.run(Self.server, ["\(total)"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "port "), "\(server.output)")
        let port = try #require(server.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
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

    @Test(.requires("python3")) func aChunkTheLogCutIsRefusedAndNothingIsSent() async throws {
        let server = try PythonPeer.run(Self.server, ["2000"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "port "), "\(server.output)")
        let port = try #require(server.output.firstMatch(of: /port (\d+)/).map { Int($0.1)! })
        let script = try TemporaryPath.file(prefix: "replay", suffix: ".txt", contents: [
            "connect 127.0.0.1:\(port)",
            "send \(String(repeating: "x", count: 2000))",
            #"expect C1 "done""#,
            "replay C1",
        ].joined(separator: "\n") + "\n")
        let run = try SpawnedProcess(Binary.path, ["--script", script])
        defer { run.kill(SIGKILL) }
        _ = await run.wait(timeout: .seconds(30))
        #expect(run.output.contains("replay: C1's chunk 1 was 2000 bytes and the log kept 1024"), "\(run.output)")
        #expect(!run.output.contains("C2"), "no connection is made: \(run.output)")
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
