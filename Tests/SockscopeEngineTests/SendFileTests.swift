import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("sendfile", .timeLimit(.minutes(2)))
struct SendFileTests {
    /// A file of `size` bytes with a pattern that shows misplaced chunks.
    private func makeFile(size: Int) throws -> String {
        let path = TemporaryPath.make(prefix: "sendfile", suffix: ".bin")
        var bytes = [UInt8](repeating: 0, count: size)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 12) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(.requires("python3")) func streamsAFileExactlyToAPythonPeer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let size = 5 * FileSenderSizes.chunk + 12_345
        let path = try makeFile(size: size)
        defer { unlink(path) }
        let output = TemporaryPath.make(prefix: "sendfile-received", suffix: ".bin")
        defer { unlink(output) }
        // Reads everything until EOF into a file, then prints how much it got.
        let server = try PythonPeer.run("""
        import socket, sys
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        print("PORT %d" % srv.getsockname()[1], flush=True)
        conn, _ = srv.accept()
        total = 0
        with open(sys.argv[1], "wb") as out:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                total += len(chunk)
        print("GOT %d" % total, flush=True)
        """, [output])
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(server.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        let id = SocketID(.connection, 1)

        let answer = try await harness.perform(.sendFile(id, path: path))
        #expect(answer.last == .requestCompleted)
        #expect(answer.first == .fileSending(id, path: path, size: size), "the size comes first: the progress bar's whole")
        let sent = answer.compactMap { if case .sent(id, let bytes, let count) = $0 { (bytes, count) } else { nil } }
        #expect(sent.map(\.1).reduce(0, +) == size, "exact total")
        #expect(sent.count == 6, "one event per MiB and the rest: \(sent.map(\.1))")
        let head = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(DataPreview.limit)
        #expect(sent.first?.0 == Array(head), "the first event previews the file's first bytes")
        #expect(sent.dropFirst().allSatisfy { $0.0.isEmpty })

        _ = try await harness.perform(.shutdown(id, .write))
        #expect(await server.waitForOutput(containing: "GOT \(size)"), "peer said: \(server.output)")
        #expect(FileManager.default.contentsEqual(atPath: path, andPath: output))
    }

    @Test func streamsIntoTheEnginesOwnDiscardListenerWithBackpressure() async throws {
        let harness = EngineHarness(threads: 2)
        defer { harness.shutdown() }
        let size = 64 * FileSenderSizes.chunk + 1
        let path = try makeFile(size: size)
        defer { unlink(path) }
        let listener = try await harness.listen(.discard)
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let client = SocketID(.connection, 1)
        let server = SocketID(.connection, 2)
        let answer = try await harness.perform(.sendFile(client, path: path), timeout: .seconds(60))
        #expect(harness.failures(on: client).isEmpty, "\(answer)")
        #expect(harness.sentCount(on: client) == size)
        try await harness.waitFor("everything to arrive", timeout: .seconds(60)) { harness.receivedCount(on: server) == size }
    }

    @Test func anEmptyFileSendsNothing() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = try makeFile(size: 0)
        defer { unlink(path) }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let id = SocketID(.connection, 1)
        let answer = try await harness.perform(.sendFile(id, path: path))
        #expect(answer == [.fileSending(id, path: path, size: 0), .sent(id, bytes: [], count: 0), .requestCompleted])
    }

    @Test func unreadableFilesAreErrorsNamingThePath() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen()
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let id = SocketID(.connection, 1)

        func failure(sending path: String) async throws -> SocketFailure {
            let answer = try await harness.perform(.sendFile(id, path: path))
            #expect(answer.count == 2 && answer.last == .requestCompleted, "\(answer)")
            return try #require(answer.compactMap { if case .error(id, let f) = $0 { f } else { nil } }.first)
        }
        let missing = try await failure(sending: "/nonexistent/sockscope-file")
        #expect(missing.code == "ENOENT")
        #expect(missing.call == "open")
        #expect(missing.target == "/nonexistent/sockscope-file")

        let directory = try await failure(sending: NSTemporaryDirectory())
        #expect(directory.code == "EISDIR")
        #expect(directory.target == NSTemporaryDirectory())

        // An unreadable file (EACCES) needs an unprivileged user: FaultTests.permissionDeniedIsExplained.
        // None of this touched the connection.
        #expect(harness.closedReason(of: id) == nil)
        let still = try await harness.perform(.send(id, [1]))
        #expect(still.first == .sent(id, bytes: [1], count: 1))
    }
}

/// The chunk size the engine reports progress by (1 MiB).
enum FileSenderSizes {
    static let chunk = 1 << 20
}
