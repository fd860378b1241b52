import Foundation
import Testing
import TestSupport

/// Step mode and the kernel's view from the built binary, headless.
@Suite(.timeLimit(.minutes(1))) struct LabHeadlessTests {
    @Test func stepModeShowsEachCallAndTheKernelsAnswer() async throws {
        let run = try SpawnedProcess(Binary.path, ["--headless",
                                                   "-c", "socket tcp", "-c", "accept S1", "-c", "bind S1 127.0.0.1:0",
                                                   "-c", "listen S1 2", "-c", "connect S1 127.0.0.1:9",
                                                   "-c", "explain CLOSE-WAIT", "-c", "quit"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait() == 0)
        let output = run.output
        let fd = try #require(output.firstMatch(of: /S1 call socket\(AF_INET, SOCK_STREAM\) = (\d+)/)?.1)
        #expect(output.contains("S1 call accept(\(fd)) = -1 EINVAL — state created (kernel: CLOSE) — accept needs a listening socket"),
                "\(output)")
        #expect(output.contains("S1 call bind(\(fd), 127.0.0.1:0) = 0 — state bound (kernel: CLOSE)"))
        #expect(output.contains("S1 call listen(\(fd), 2) = 0 — state listening (kernel: LISTEN)"))
        #expect(output.contains("S1 listening tcp 127.0.0.1:"))
        #expect(output.contains("S1 call connect(\(fd), 127.0.0.1:9) = -1 EISCONN"), "a listening socket cannot connect: \(output)")
        #expect(output.contains("CLOSE-WAIT: the peer closed its side"))
    }

    @Test func jsonCarriesTheCallAndItsErrno() async throws {
        let run = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "socket udp", "-c", "listen S1 1", "-c", "quit"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait() == 0)
        let line = try #require(run.output.split(separator: "\n").first { $0.contains(#""call":"listen""#) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "call")
        #expect(object["errno"] as? String == "EOPNOTSUPP")
        #expect((object["next"] as? [String])?.isEmpty == false)
    }
}
