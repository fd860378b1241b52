import Foundation
import Testing
import TestSupport

/// `lab NAME` from the built binary, headless in JSON: each lab runs to its result on real
/// sockets, and what it reports is what the kernel did (errnos, states, times, counters).
@Suite(.timeLimit(.minutes(1))) struct ExperimentHeadlessTests {
    /// The lab's JSON lines, by step name (several lines may share one), after a whole run.
    static func play(_ lab: String) async throws -> (steps: [String: [[String: Any]]], output: String) {
        let started = ContinuousClock.now
        // In a network namespace of its own where possible: the backlog lab's overflows stay its own.
        let run = try OwnNetwork.shell("exec '\(Binary.path)' --headless --json -c 'lab \(lab)' -c quit")
        defer { run.kill(SIGKILL) }
        let status = await run.wait(timeout: .seconds(40))
        #expect(status == 0, "\(run.output)")
        // The issue's promise: each lab in under 30 s (the process's start and stop included).
        #expect(ContinuousClock.now - started < .seconds(30))
        var steps: [String: [[String: Any]]] = [:]
        for line in run.output.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == "lab" else { continue }
            #expect(object["lab"] as? String == lab)
            steps[object["step"] as! String, default: []].append(object)
        }
        #expect(steps["failed"] == nil && !run.output.contains(#""kind":"failed""#), "\(run.output)")
        #expect(steps["start"]?.first?["kind"] as? String == "start")
        #expect(steps["result"]?.first?["kind"] as? String == "result", "\(run.output)")
        return (steps, run.output)
    }

    static func facts(_ steps: [String: [[String: Any]]], _ step: String) -> [String: Any] {
        steps[step]?.compactMap { $0["facts"] as? [String: Any] }.reduce(into: [:]) { $0.merge($1) { _, new in new } } ?? [:]
    }

    @Test func timewaitShowsTheRemnantAndEADDRINUSEUnlessSOReuseAddr() async throws {
        let (steps, output) = try await Self.play("timewait")
        #expect(Self.facts(steps, "time-wait")["state"] as? String == "TIME-WAIT", "\(output)")
        #expect((Self.facts(steps, "time-wait")["timer_ms"] as? Int ?? 0) > 50_000)
        #expect(Self.facts(steps, "restart-plain")["errno"] as? String == "EADDRINUSE")
        #expect(Self.facts(steps, "restart-reuseaddr")["errno"] as? String == "none")
        #expect(Self.facts(steps, "result")["reuse_listen_errno"] as? String == "none")
        #expect((steps["restart-plain"]?.first?["why"] as? String)?.contains("SO_REUSEADDR") == true)
    }

    @Test func backlogFillsTheQueueAndTheKernelDropsThePast() async throws {
        let (steps, output) = try await Self.play("backlog")
        let full = Self.facts(steps, "queue-full")
        // listen(fd, 1): the queue holds backlog+1, the other eight clients' SYNs were dropped.
        #expect(full["queue"] as? Int == 2, "\(output)")
        #expect(full["established_clients"] as? Int == 2)
        #expect(full["syn_sent_clients"] as? Int == 8)
        #expect((full["listen_overflows_delta"] as? Int ?? 0) >= 8)
        // Yet every client gets in once the server accepts: backlog is not "the number of clients".
        #expect(Self.facts(steps, "accept-all")["accepted"] as? Int == 10, "\(output)")
    }

    @Test func nagleStallsAboutFortyMillisecondsAndNoDelayRemovesIt() async throws {
        let (steps, output) = try await Self.play("nagle")
        let withNagle = try #require(Self.facts(steps, "with-nagle")["median_us"] as? Int, "\(output)")
        let withNoDelay = try #require(Self.facts(steps, "with-nodelay")["median_us"] as? Int)
        // Linux's delayed ACK waits at least 40 ms (TCP_DELACK_MIN); without Nagle nothing waits for it.
        #expect(withNagle >= 35_000, "\(output)")
        #expect(withNoDelay < 20_000, "\(output)")
    }

    @Test func framingShowsMergedAndSplitReadsAndBothCuresGiveTheMessagesBack() async throws {
        let (steps, output) = try await Self.play("framing")
        let merged = Self.facts(steps, "merged")
        #expect(merged["sends"] as? Int == 3 && merged["reads"] as? Int == 1 && merged["read_bytes"] as? Int == 14, "\(output)")
        #expect(Self.facts(steps, "split")["first_read"] as? String == #""four\nfi""#)
        #expect(Self.facts(steps, "lines")["messages"] as? Int == 6)
        #expect(output.contains(#"\"one\" | \"two\" | \"three\" | \"four\" | \"five\" | \"six\""#))
        #expect(Self.facts(steps, "length-prefix")["messages"] as? Int == 3)
        #expect(Self.facts(steps, "length-prefix")["exact"] as? Bool == true)
    }

    @Test func halfCloseKeepsCloseWaitWhileTheOtherSideStillSends() async throws {
        let (steps, output) = try await Self.play("halfclose")
        #expect(Self.facts(steps, "eof")["server_state"] as? String == "CLOSE-WAIT", "\(output)")
        #expect(Self.facts(steps, "eof")["client_state"] as? String == "FIN-WAIT-2")
        #expect(Self.facts(steps, "still-sends")["received"] as? Int == 11)
        #expect(Self.facts(steps, "close-wait")["server_state"] as? String == "CLOSE-WAIT")
        #expect(Self.facts(steps, "server-closes")["client_kernel_state"] as? String == "TIME-WAIT")
    }

    @Test func resetGivesECONNRESETThenEPIPEAndLeavesNoTimeWait() async throws {
        let (steps, output) = try await Self.play("reset")
        #expect(Self.facts(steps, "econnreset")["errno"] as? String == "ECONNRESET", "\(output)")
        #expect(Self.facts(steps, "epipe")["errno"] as? String == "EPIPE")
        #expect(Self.facts(steps, "no-time-wait")["kernel_holds_client"] as? Bool == false)
    }

    @Test func textNamesEachStepAndAnUnknownLabIsAClearError() async throws {
        let (status, output) = try await run(Binary.path, ["--headless", "-c", "lab reset", "-c", "lab list", "-c", "lab nope"],
                                             timeout: .seconds(30))
        #expect(status == 1, "\(output)")
        #expect(output.contains(" - lab reset econnreset: recv("), "\(output)")
        #expect(output.contains("= -1 ECONNRESET — the server's next recv fails with ECONNRESET"))
        #expect(output.contains("lab reset result: RST ends a connection at once"))
        #expect(output.contains("lab nagle: two small writes then a read"))
        #expect(output.contains("no lab called nope; the labs: timewait, backlog, nagle, framing, halfclose, reset"))
    }
}
