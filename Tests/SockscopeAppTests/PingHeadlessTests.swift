import Foundation
import Testing
import TestSupport

/// `ping` from the built binary: as root with a raw socket, and as an ordinary user, who on a
/// machine whose net.ipv4.ping_group_range admits no group gets an error naming both ways.
@Suite(.timeLimit(.minutes(1))) struct PingHeadlessTests {
    @Test(.enabled(if: getuid() == 0, "a raw ICMP socket needs root")) func rootPingsBothLoopbacks() async throws {
        let run = try SpawnedProcess(Binary.path, ["--headless", "-c", "ping 127.0.0.1 --count 2 --interval 50",
                                                   "-c", "ping ::1 --count 1"])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(20)) == 0, "\(run.output)")
        let output = run.output
        #expect(output.contains(" - ping-start 127.0.0.1: 2 echo requests of 56 B, one every 50 ms"), "\(output)")
        #expect(output.contains("with a raw ICMP socket (SOCK_RAW: allowed with CAP_NET_RAW)"))
        #expect(output.contains(" - ping-reply 64 B from 127.0.0.1: icmp_seq=1 ttl=64 time="))
        #expect(output.contains(" - ping-reply 64 B from 127.0.0.1: icmp_seq=2 ttl=64 time="))
        #expect(output.contains(" - ping-done 127.0.0.1: 2 sent, 2 received, 0% lost; rtt min/avg/max "))
        #expect(output.contains(" - ping-reply 64 B from ::1: icmp_seq=1 time="))
        #expect(output.contains(" - ping-done ::1: 1 sent, 1 received, 0% lost"))
    }

    /// Whether this kernel lets us make a user and network namespace of our own (`unshare -rn`).
    static var userNamespacesWork: Bool {
        RequiredTool.mayRun(["unshare", "ip", "setpriv"]) && (try? SpawnedProcess("unshare", ["-rn", "true"]))
            .map { process in waitUntilBlocking { process.exitCode != nil } && process.exitCode == 0 } == true
    }

    /// The unprivileged way, for real: in a network namespace of our own, whose
    /// net.ipv4.ping_group_range we may set, sockscope runs without CAP_NET_RAW (dropped from
    /// its bounding set), so the raw socket is refused and the ICMP datagram socket is used.
    @Test(.enabled(if: userNamespacesWork, "needs unshare -rn (user namespaces), ip and setpriv"))
    func withoutCapNetRawTheDatagramSocketPingsWhereTheGroupRangeAllows() async throws {
        let script = """
            ip link set lo up && echo "0 0" > /proc/sys/net/ipv4/ping_group_range && \\
            exec setpriv --bounding-set -net_raw '\(Binary.path)' --headless -c 'ping 127.0.0.1 --count 2 --interval 50' \\
                -c 'ping ::1 --count 1'
            """
        let run = try SpawnedProcess("unshare", ["-rn", "sh", "-c", script])
        defer { run.kill(SIGKILL) }
        #expect(await run.wait(timeout: .seconds(20)) == 0, "\(run.output)")
        let output = run.output
        #expect(output.contains("with an ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP: allowed by net.ipv4.ping_group_range)"),
                "\(output)")
        #expect(!output.contains("raw ICMP socket"))
        #expect(output.contains(" - ping-reply 64 B from 127.0.0.1: icmp_seq=1 time=")
                && output.contains(" - ping-reply 64 B from 127.0.0.1: icmp_seq=2 time="))
        #expect(output.contains(" - ping-done 127.0.0.1: 2 sent, 2 received, 0% lost"))
        #expect(output.contains(" - ping-done ::1: 1 sent, 1 received, 0% lost"))
    }

    /// The group nobody (65534) is in, against the machine's range: here "1 0" admits none.
    static var rangeAdmitsNobody: Bool {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ping_group_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return bounds.count == 2 && bounds[0] <= 65534 && 65534 <= bounds[1]
    }

    @Test(Unprivileged.trait) func anOrdinaryUserLearnsBothWaysToBeAllowed() async throws {
        let run = try Unprivileged.spawn(Binary.path, ["--headless", "-c", "ping 127.0.0.1 --count 1"])
        defer { run.kill(SIGKILL) }
        let status = await run.wait(timeout: .seconds(20))
        let output = run.output
        if Self.rangeAdmitsNobody {
            // This machine lets every group ping: the unprivileged way works.
            #expect(status == 0 && output.contains("with an ICMP datagram socket") && output.contains("1 received"), "\(output)")
            return
        }
        #expect(status == 1, "\(output)")
        #expect(output.contains("error socket 127.0.0.1 EPERM: ping may use neither socket"), "\(output)")
        #expect(output.contains("a raw ICMP socket (SOCK_RAW: EPERM) needs CAP_NET_RAW"))
        #expect(output.contains("an ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP: EACCES) needs your group in net.ipv4.ping_group_range"))
        #expect(output.contains("sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""))
        #expect(!output.contains("ping-reply"))
    }
}
