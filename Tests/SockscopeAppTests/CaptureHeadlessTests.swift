import Foundation
import Testing
import TestSupport

/// `capture on|off` and `save PATH.pcapng` typed as commands, read back by tshark.
@Suite(.timeLimit(.minutes(1))) struct CaptureHeadlessTests {
    func tshark(_ arguments: [String]) async throws -> String {
        let (status, output) = try await run("tshark", arguments, timeout: .seconds(30))
        #expect(status == 0, "tshark \(arguments): \(output)")
        return output.split(separator: "\n").filter { !$0.hasPrefix("Running as user ") }.joined(separator: "\n")
    }

    /// The hex of what the client (node 0) sent in TCP stream 0, as tshark reassembles it.
    func clientBytesHex(_ file: String) async throws -> String {
        let text = try await tshark(["-r", file, "-q", "-z", "follow,tcp,raw,0"])
        let body = text.split(separator: "\n").drop { !$0.hasPrefix("Node 1: ") }.dropFirst()
        return body.filter { !$0.hasPrefix("\t") && !$0.hasPrefix("====") }.joined()
    }

    /// The log keeps 1 KiB of each read or write: `save PATH.pcapng` writes what it kept, with
    /// the rest as a gap, and says so; `capture on` over the same session has every byte.
    @Test(.requires("tshark")) func savedHistoryHasThePreviewsAndSaysWhatWasCutWhileACaptureHasEverything() async throws {
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: server.output))
        let payload = (0..<3000).map { _ in "abcdefghij".randomElement()! }
        let file = try TemporaryPath.file(prefix: "payload", suffix: ".txt", contents: String(payload))
        let captured = TemporaryPath.make(prefix: "captured", suffix: ".pcapng")
        let saved = TemporaryPath.make(prefix: "history", suffix: ".pcapng")
        let client = try SpawnedProcess(Binary.path, [
            "--headless", "-c", "capture on \(captured)", "-c", "connect \(port)", "-c", "send hello", "-c", "sendfile \(file)",
            "-c", "sleep 300", "-c", "close", "-c", "capture off", "-c", "save \(saved)", "-c", "quit"])
        defer { client.kill(SIGKILL) }
        #expect(await client.wait(timeout: .seconds(20)) == 0, "\(client.output)")
        let output = client.output
        #expect(output.contains("capture-done capture of \(captured) done:"), "\(output)")
        #expect(output.contains("reads/writes were longer than the 1024 bytes the log keeps"), "\(output)")

        let sent = Array("hello".utf8) + Array(String(payload).utf8)
        let hex = sent.map { String(format: "%02x", $0) }.joined()
        #expect(try await clientBytesHex(captured) == hex)
        // The history: "hello", then the file's first 1 KiB; the rest is a gap tshark notes.
        let history = try await clientBytesHex(saved)
        #expect(history.hasPrefix(String(hex.prefix(2 * (5 + 1024)))) && history.count < hex.count, "\(history.count)")
        let expert = try await tshark(["-r", saved, "-q", "-z", "expert,warn"])
        #expect(expert.contains("Previous segment") || expert.contains("previous segment"), "\(expert)")
    }

    /// A capture still on when the session ends is finished, not cut: the file is whole and
    /// the summary is printed.
    @Test(.requires("tshark")) func aCaptureStillOnAtQuitIsFinished() async throws {
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: server.output))
        let captured = TemporaryPath.make(prefix: "at-quit", suffix: ".pcapng")
        let client = try SpawnedProcess(Binary.path, [
            "--headless", "-c", "capture on \(captured)", "-c", "connect \(port)", "-c", "send ping", "-c", "sleep 200", "-c", "quit"])
        defer { client.kill(SIGKILL) }
        #expect(await client.wait(timeout: .seconds(20)) == 0, "\(client.output)")
        #expect(client.output.contains("capture-done capture of \(captured) done:"), "\(client.output)")
        #expect(try await clientBytesHex(captured) == "70696e67")
    }
}
