import Foundation
import Testing
import TestSupport

/// The typed language end to end: what a line means decides which bytes reach a real peer.
@Suite(.timeLimit(.minutes(1))) struct CommandLanguageHeadlessTests {
    /// Bytes the listener's side logged as received on its C1.
    func receivedTotal(_ text: String) -> Int {
        text.split(separator: "\n").reduce(0) { total, line in
            guard let range = line.range(of: " C1 received ") else { return total }
            return total + (Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
    }

    @Test func sendhexOfBytesThatLookLikeAnIdSendsTheBytes() async throws {
        let server = try SpawnedProcess(Binary.path, ["--headless", "-c", "listen 0"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening tcp 127.0.0.1:"))
        let port = try #require(listeningPort(in: server.output))
        // `c1 c2` is two bytes; `C1 c3 c4` names the connection, then two bytes; `send c1 x` is text.
        let client = try SpawnedProcess(Binary.path, ["--headless", "-c", "connect \(port)", "-c", "sendhex c1 c2",
                                                      "-c", "sendhex C1 c3 c4", "-c", "send c1 x"])
        defer { client.kill(SIGKILL) }
        #expect(await client.waitForOutput(containing: #"C1 sent 4 B "c1 x""#), "\(client.output)")
        let output = client.output
        #expect(output.contains(#"C1 sent 2 B "\xc1\xc2""#), "\(output)")
        #expect(output.contains(#"C1 sent 2 B "\xc3\xc4""#), "\(output)")
        #expect(!output.contains("error"), "\(output)")
        #expect(await waitUntil(timeout: .seconds(10)) { receivedTotal(server.output) == 8 }, "\(server.output)")
    }
}
