import Testing
@testable import SockscopeCore

/// `ping`'s language and words, without sockets.
@Suite struct PingCommandTests {
    @Test func pingCommandsReadAndPrintBack() throws {
        var request = PingRequest(host: "::1")
        #expect(try CommandParser.parse("ping ::1") == .ping(request))
        request.count = 3
        request.intervalMilliseconds = 200
        request.timeoutMilliseconds = 500
        #expect(try CommandParser.parse("ping ::1 --count 3 --interval 200 --timeout 500") == .ping(request))
        #expect(try CommandParser.parse("ping stop") == .pingStop)
        for command in [Command.ping(request), .ping(PingRequest(host: "localhost")), .pingStop] {
            #expect(try CommandParser.parse(CommandText.line(for: command)) == command)
        }
    }

    @Test func badPingCommandsShowTheUsage() {
        for (line, expected) in [("ping", "needs a host"), ("ping --count 2", "needs a host"),
                                 ("ping 127.0.0.1 --count 0", "--count needs a number from 1 to 100000"),
                                 ("ping 127.0.0.1 --interval 1", "--interval needs milliseconds from 10"),
                                 ("ping 127.0.0.1 --timeout x", "--timeout needs milliseconds"),
                                 ("ping 127.0.0.1 --flood", "unknown option '--flood'")] {
            do {
                let command = try CommandParser.parse(line)
                Issue.record("'\(line)' read as \(String(describing: command))")
            } catch {
                #expect(error.message.contains(expected) && error.message.contains("usage: ping HOST"), "\(line): \(error.message)")
            }
        }
    }

    @Test func eventsReadLikePing() {
        func line(_ event: PingEvent) -> String {
            EventText.line(EventText.entry(EngineEvent(time: Timestamp(nanoseconds: 0), kind: .ping(event)))) ?? ""
        }
        let reply = PingReply(sequence: 2, from: .ipv4(.loopback, port: 0), bytes: 64, ttl: 64, rttMicroseconds: 45)
        #expect(line(.reply(reply)).hasSuffix("- ping-reply 64 B from 127.0.0.1: icmp_seq=2 ttl=64 time=0.045 ms"))
        #expect(line(.lost(sequence: 3, waitedMilliseconds: 1000)).hasSuffix("- ping-lost icmp_seq=3: no reply within 1000 ms"))
        let summary = PingSummary(address: .ipv6(.loopback, port: 0), sent: 4, received: 3, minimumMicroseconds: 31,
                                  averageMicroseconds: 45, maximumMicroseconds: 60, elapsedMicroseconds: 3_000_000, stopped: false)
        #expect(line(.finished(summary)).hasSuffix("- ping-done ::1: 4 sent, 3 received, 25% lost; rtt min/avg/max 0.031/0.045/0.060 ms"))
    }

    @Test func theRefusalNamesBothWays() {
        let text = PingMethod.neitherAllowed(rawErrno: "EPERM", datagramErrno: "EACCES", groupRange: "1\t0\n")
        #expect(text.contains("CAP_NET_RAW") && text.contains("setcap cap_net_raw+ep"))
        #expect(text.contains("net.ipv4.ping_group_range, now \"1 0\", which admits no group"))
        #expect(text.contains("sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""))
    }
}
