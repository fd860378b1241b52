import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Tests against the tools people would otherwise use. Each skips, saying why, when its
/// tool is not installed, and runs when it is.
@Suite("socat, nc and ss", .timeLimit(.minutes(1)))
struct ExternalPeerTests {
    @Test(.requires("socat"))
    func echoAnswersSocat() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        // socat sends stdin, half-closes at its EOF, and prints what comes back until our FIN.
        let socat = try SpawnedProcess("/bin/sh", ["-c", "printf 'hello socat' | socat -t 5 - TCP:127.0.0.1:\(listener.port)"])
        #expect(await socat.wait() == 0, "socat said: \(socat.output)")
        #expect(socat.output == "hello socat")
        try await harness.waitFor("the close") { harness.closedReason(of: SocketID(.connection, 1)) == "peer closed" }
    }

    @Test(.requires("nc"))
    func echoAnswersNetcat() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        // -N: shut down the socket's sending side at stdin's EOF (OpenBSD netcat).
        let nc = try SpawnedProcess("/bin/sh", ["-c", "printf 'hello nc' | nc -N 127.0.0.1 \(listener.port)"])
        #expect(await nc.wait() == 0, "nc said: \(nc.output)")
        #expect(nc.output == "hello nc")
    }

    @Test(.requires("socat"))
    func connectsToASocatServer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        // socat binds port 0 itself and reports the port it got (-d -d: "listening on AF=2 127.0.0.1:PORT"),
        // then echoes one connection back to us (PIPE), which we drive by id.
        let socat = try SpawnedProcess("socat", ["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1", "PIPE"])
        defer { socat.kill() }
        #expect(await socat.waitForOutput(containing: "listening on AF=2 127.0.0.1:"), "socat said: \(socat.output)")
        let port = try #require(Self.socatListeningPort(socat.output), "socat said: \(socat.output)")
        // socat is listening before it says so: one connect, no retries (a retry loop would
        // also accept a stranger's server that happened to take the port).
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        #expect(answer.contains { if case .connected = $0 { true } else { false } }, "\(answer)")
        let id = try #require(answer.first?.socket)
        _ = try await harness.perform(.send(id, Array("round trip".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: id).bytes == Array("round trip".utf8) }
    }

    /// The port in socat's `-d -d` notice "listening on AF=2 127.0.0.1:PORT".
    static func socatListeningPort(_ output: String) -> Int? {
        guard let range = output.range(of: #"listening on AF=2 127\.0\.0\.1:\d+"#, options: .regularExpression) else { return nil }
        return Int(output[range].split(separator: ":").last ?? "")
    }

    @Test(.requires("ss"))
    func theBacklogIsAppliedInTheKernel() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(backlog: 7)
        // For a listening socket, ss shows the backlog in the Send-Q column.
        let ss = try SpawnedProcess("ss", ["-ltnH", "sport = :\(listener.port)"])
        #expect(await ss.wait() == 0, "ss said: \(ss.output)")
        let columns = ss.output.split(whereSeparator: \.isWhitespace)
        #expect(columns.count >= 4, "ss said: \(ss.output)")
        if columns.count >= 4 {
            #expect(columns[0] == "LISTEN")
            #expect(columns[2] == "7", "Send-Q should be the backlog; ss said: \(ss.output)")
            #expect(columns[3] == "127.0.0.1:\(listener.port)")
        }
    }
}
