import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// Tests against the tools people would otherwise use. Each skips, saying why, when its
/// tool is not installed, and runs when it is.
@Suite("socat, nc and ss", .timeLimit(.minutes(1)))
struct ExternalPeerTests {
    @Test(.enabled(if: SpawnedProcess.isInstalled("socat"), "socat is not installed"))
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

    @Test(.enabled(if: SpawnedProcess.isInstalled("nc"), "nc (OpenBSD netcat) is not installed"))
    func echoAnswersNetcat() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        // -N: shut down the socket's sending side at stdin's EOF (OpenBSD netcat).
        let nc = try SpawnedProcess("/bin/sh", ["-c", "printf 'hello nc' | nc -N 127.0.0.1 \(listener.port)"])
        #expect(await nc.wait() == 0, "nc said: \(nc.output)")
        #expect(nc.output == "hello nc")
    }

    @Test(.enabled(if: SpawnedProcess.isInstalled("socat"), "socat is not installed"))
    func connectsToASocatServer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let port = try FreePort.outsideEphemeralRange()
        // socat echoes one connection back to us (PIPE) and we drive it by id.
        let socat = try SpawnedProcess("socat", ["TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr", "PIPE"])
        defer { socat.kill() }
        // socat may not be listening yet: retry refused connects until a deadline.
        let deadline = ContinuousClock.now + .seconds(10)
        var answer: [EngineEventKind] = []
        while ContinuousClock.now < deadline, !answer.contains(where: { if case .connected = $0 { true } else { false } }) {
            answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
            try await Task.sleep(for: .milliseconds(10))
        }
        let id = try #require(answer.first?.socket)
        _ = try await harness.perform(.send(id, Array("round trip".utf8)))
        try await harness.waitFor("the echo") { harness.received(on: id).bytes == Array("round trip".utf8) }
    }

    @Test(.enabled(if: SpawnedProcess.isInstalled("ss"), "ss (iproute2) is not installed"))
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
