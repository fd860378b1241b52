import Foundation
import Testing
import TestSupport

/// `scan` from the built binary, headless: the text lines and JSON objects the one renderer
/// writes, banners escaped, bad input refused with its reason, and the descriptor limit obeyed.
@Suite(.timeLimit(.minutes(1))) struct ScanHeadlessTests {
    @Test(.requires("python3")) func textLinesShowOpenPortsRunsBannersAndTheSummary() async throws {
        let ssh = try await GreetingServer.start("SSH-2.0-OpenSSH_9.2p1\r\n")
        let smtp = try await GreetingServer.start("220 mail ESMTP \u{1b}[2J\r\n")
        let refused = try (0..<2).map { _ in try ReservedPort() }
        let ports = [ssh.port, smtp.port] + refused.map(\.port)
        let run = try SpawnedProcess(Binary.path, ["--headless", "-c",
                                                   "scan 127.0.0.1 \(ports.map(String.init).joined(separator: ",")) --banner-wait 500"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(20)) == 0, "the scan ends and so does the session: \(run.output)")
        let output = run.output
        #expect(output.contains(" - scan-start 127.0.0.1: 4 ports ("), "\(output)")
        #expect(output.contains(" - scan-open \(ssh.port) (connected in "))
        #expect(output.contains(" - scan-open \(smtp.port) (connected in "))
        let closedLines = output.split(separator: "\n").filter { $0.contains("scan-ports closed ECONNREFUSED") }
        let closedCount = closedLines.compactMap { $0.firstMatch(of: /count=(\d+)/).flatMap { Int($0.1) } }.reduce(0, +)
        #expect(closedCount == 2, "every refused port in a run, counted once: \(output)")
        #expect(output.contains(#" - scan-banner \#(ssh.port) said 23 B "SSH-2.0-OpenSSH_9.2p1\r\n""#), "\(output)")
        #expect(output.contains(#" - scan-banner \#(smtp.port) said 21 B "220 mail ESMTP \x1b[2J\r\n""#), "\(output)")
        #expect(!output.contains("\u{1b}"), "a banner never reaches the terminal raw")
        let openList = [ssh.port, smtp.port].sorted().map(String.init).joined(separator: ",")
        #expect(output.contains(" - scan-done 127.0.0.1: 4 ports in "))
        #expect(output.contains("s: 2 open (\(openList)), 2 closed, 0 filtered; at most "), "\(output)")
    }

    @Test(.requires("python3")) func jsonFollowsTheSchema() async throws {
        let ssh = try await GreetingServer.start("SSH-2.0-x\r\n")
        let refused = try ReservedPort()
        let run = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c",
                                                   "scan 127.0.0.1 \(ssh.port),\(refused.port) --banner-wait 500 --concurrency 8"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(20)) == 0, "\(run.output)")
        let objects = run.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let scanEvents = objects.filter { ($0["event"] as? String)?.hasPrefix("scan-") == true }
        #expect(scanEvents.first?["event"] as? String == "scan-start" && scanEvents.last?["event"] as? String == "scan-done")
        let start = try #require(scanEvents.first)
        #expect(start["host"] as? String == "127.0.0.1" && start["address"] as? String == "127.0.0.1", "\(start)")
        #expect(start["port_count"] as? Int == 2 && start["concurrency"] as? Int == 8 && start["banner_wait_ms"] as? Int == 500)
        let open = try #require(scanEvents.first { $0["event"] as? String == "scan-open" })
        #expect(open["port"] as? Int == ssh.port && open["connect_us"] is Int)
        let ports = try #require(scanEvents.first { $0["event"] as? String == "scan-ports" })
        #expect(ports["state"] as? String == "closed" && ports["reason"] as? String == "ECONNREFUSED")
        #expect(ports["ports"] as? String == String(refused.port) && ports["count"] as? Int == 1)
        let banner = try #require(scanEvents.first { $0["event"] as? String == "scan-banner" })
        #expect(banner["outcome"] as? String == "said" && banner["text"] as? String == #"SSH-2.0-x\r\n"# && banner["bytes"] as? Int == 11)
        let done = try #require(scanEvents.last)
        #expect(done["open"] as? [Int] == [ssh.port] && done["closed"] as? Int == 1 && done["scanned"] as? Int == 2)
        #expect(done["stopped"] as? Bool == false)
    }

    @Test func badPortsAreRefusedWithTheReason() async throws {
        let run = try SpawnedProcess(Binary.path, ["--headless", "--keep-going",
                                                   "-c", "scan 127.0.0.1 100-20", "-c", "scan 127.0.0.1 0,22",
                                                   "-c", "scan 127.0.0.1 1-70000", "-c", "scan 127.0.0.1 22,,80",
                                                   "-c", "scan 127.0.0.1", "-c", "scan 127.0.0.1 22 --concurrency 0",
                                                   "-c", "scan stop"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait() == 0)
        let output = run.output
        #expect(output.contains("scan: the range 100-20 runs backwards: write 20-100; usage: scan HOST PORTS"), "\(output)")
        #expect(output.contains("scan: port 0 in '0' is out of range: ports are 1 to 65535"))
        #expect(output.contains("scan: port 70000 in '1-70000' is out of range"))
        #expect(output.contains("scan: '22,,80' has an empty item between commas"))
        #expect(output.contains("scan: needs ports after the host"))
        #expect(output.contains("scan: --concurrency needs a number from 1 to 65535"))
        #expect(output.contains("scan stop: no scan is running"))
        #expect(!output.contains("scan-start"), "nothing was scanned")
        // Without --keep-going the first bad line ends the session with status 1.
        let strict = try SpawnedProcess(Binary.path, ["--headless", "-c", "scan 127.0.0.1 100-20"])
        defer { strict.kill(SIGKILL) }
        #expect(await strict.wait() == 1)
    }

    /// Under a low `ulimit -n` the scan holds no more sockets than the descriptors left, says so
    /// at its start, and still finds exactly the open ports: no EMFILE on the way.
    @Test func theDescriptorLimitBoundsTheScan() async throws {
        let listeners = try (0..<3).map { _ in try ReservedPort(listenBacklog: 8) }
        let refused = try (0..<40).map { _ in try ReservedPort() }
        let ports = (listeners + refused).map { String($0.port) }.joined(separator: ",")
        let command = "scan 127.0.0.1 \(ports) --concurrency 5000"
        let run = try SpawnedProcess("/bin/sh", ["-c", "ulimit -n 64 && exec '\(Binary.path)' --headless --json -c '\(command)'"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(20)) == 0, "\(run.output)")
        let objects = run.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let start = try #require(objects.first { $0["event"] as? String == "scan-start" }, "\(run.output)")
        let concurrency = try #require(start["concurrency"] as? Int)
        #expect(concurrency > 0 && concurrency < 64 - 32, "\(start)")
        #expect((start["concurrency_reason"] as? String)?.contains("--concurrency 5000 asked, but only") == true)
        #expect((start["concurrency_reason"] as? String)?.contains("RLIMIT_NOFILE 64") == true, "\(start)")
        let done = try #require(objects.first { $0["event"] as? String == "scan-done" })
        #expect(done["open"] as? [Int] == listeners.map(\.port).sorted())
        #expect(done["closed"] as? Int == 40 && done["stopped"] as? Bool == false)
        #expect((done["max_in_flight"] as? Int ?? .max) <= concurrency)
        #expect(!run.output.contains("EMFILE"))
    }
}
