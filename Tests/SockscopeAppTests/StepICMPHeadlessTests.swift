import Foundation
import Testing
import TestSupport

/// Step mode on ICMP sockets (`socket raw icmp`), from the built binary, typed line by line:
/// the raw socket when the process may, the ICMP datagram socket when only
/// net.ipv4.ping_group_range allows, and both refusals explained when neither does.
@Suite(.timeLimit(.minutes(1))) struct StepICMPHeadlessTests {
    typealias Learner = TourHeadlessTests.Learner

    /// Types `recv ID` until a recvfrom shows an echo reply (a raw socket reads the echo
    /// requests going out on loopback too); the reply's line, nil after a few tries.
    static func recvEchoReply(_ learner: Learner, _ id: String) async -> String? {
        for _ in 0..<5 {
            await learner.type("recv \(id)")
            guard let line = await learner.nextLine(containing: "\(id) call recvfrom(") else { return nil }
            if line.contains("echo reply") { return line }
        }
        return nil
    }

    /// As root (or root of a user namespace of our own, which owns its network): SOCK_RAW,
    /// whose reads start with the IPv4 header, and which sees our own echo request on loopback.
    @Test(.enabled(if: getuid() == 0 || OwnNetwork.isAvailable, "a raw ICMP socket needs root or a user namespace"))
    func aRawSocketSendsTheEchoWeBuiltAndDecodesTheReplyWithItsIPHeader() async throws {
        let learner = try Learner()
        defer { learner.process.kill(SIGKILL) }
        await learner.type("socket raw icmp")
        let opened = try #require(await learner.nextLine(containing: "S1 call socket("), "\(learner.process.output)")
        #expect(opened.contains("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = "), "\(opened)")
        #expect(opened.contains("a raw ICMP socket (SOCK_RAW: allowed with CAP_NET_RAW)"))
        await learner.type(#"sendto S1 127.0.0.1 "hi\x01""#)
        let sent = try #require(await learner.nextLine(containing: "S1 call sendto("), "\(learner.process.output)")
        // The call's text is escaped once more on the way out: the quoted argument's backslash doubles.
        let identifier = try #require(sent.firstMatch(of: /\{type=8, id=(\d+), seq=1, "hi\\\\x01"\}, 11, 127\.0\.0\.1\) = 11/)?.1,
                                      "\(sent)")
        #expect(sent.contains("an ICMP echo request (type 8, code 0), id \(identifier), seq 1, 3 B of data \"hi\\x01\""))
        let reply = try #require(await Self.recvEchoReply(learner, "S1"), "\(learner.process.output)")
        // 20 B of IPv4 header, 8 of ICMP header, 3 of data: exactly what the kernel handed over.
        #expect(reply.contains("recvfrom(") && reply.contains(", 4096, from 127.0.0.1) = 31 "), "\(reply)")
        #expect(reply.contains("echo reply (type 0, code 0), id \(identifier), seq 1, 3 B of data \"hi\\x01\""), "\(reply)")
        #expect(reply.contains("IPv4 header 20 B: 127.0.0.1 -> 127.0.0.1, ttl 64, protocol 1 (ICMP), 31 B in all"), "\(reply)")
        await learner.type("sendto S1 127.0.0.1")
        #expect(await learner.nextLine(containing: "{type=8, id=\(identifier), seq=2, \"\"}, 8, 127.0.0.1) = 8") != nil,
                "\(learner.process.output)")
        await learner.type("close S1")
        #expect(await learner.nextLine(containing: "S1 call close(") != nil)
        #expect(!learner.process.output.contains(" error "), "\(learner.process.output)")
    }

    /// Without CAP_NET_RAW (dropped from the bounding set) in a network namespace whose
    /// ping_group_range admits our group: SOCK_RAW is refused, SOCK_DGRAM works, and the
    /// kernel puts the socket's own identifier in the echo. IPv6 too.
    @Test(.enabled(if: OwnNetwork.isAvailable, "needs unshare -rn (user namespaces), ip and setpriv"))
    func withoutCapNetRawTheDatagramSocketIsUsedAndTheLedgerShowsBothCalls() async throws {
        let learner = try Learner(before: #"echo "0 0" > /proc/sys/net/ipv4/ping_group_range && "#,
                                  wrapper: "setpriv --bounding-set -net_raw")
        defer { learner.process.kill(SIGKILL) }
        await learner.type("socket raw icmp")
        let refused = try #require(await learner.nextLine(containing: "S1 call socket("), "\(learner.process.output)")
        #expect(refused.contains("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = -1 EPERM"), "\(refused)")
        #expect(refused.contains("no CAP_NET_RAW; next try: an ICMP datagram socket"))
        let opened = try #require(await learner.nextLine(containing: "S1 call socket("), "\(learner.process.output)")
        #expect(opened.contains("socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) = "), "\(opened)")
        let identifier = try #require(opened.firstMatch(of: /the kernel sets the echo's id \((\d+), the socket's "port"\)/)?.1,
                                      "\(opened)")
        await learner.type("sendto S1 127.0.0.1 ping")
        let sent = try #require(await learner.nextLine(containing: "S1 call sendto("), "\(learner.process.output)")
        #expect(sent.contains("{type=8, id=\(identifier), seq=1, \"ping\"}, 12, 127.0.0.1) = 12"), "\(sent)")
        let reply = try #require(await Self.recvEchoReply(learner, "S1"), "\(learner.process.output)")
        // A datagram socket reads the ICMP message alone: 8 B of header, 4 of data; no IP header.
        #expect(reply.contains(", 4096, from 127.0.0.1) = 12 "), "\(reply)")
        #expect(reply.contains("echo reply (type 0, code 0), id \(identifier), seq 1, 4 B of data \"ping\""), "\(reply)")
        #expect(!reply.contains("IPv4 header"))
        await learner.type("socket raw icmp --ipv6")
        #expect(await learner.nextLine(containing: "S2 call socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) = -1 EPERM") != nil,
                "\(learner.process.output)")
        #expect(await learner.nextLine(containing: "S2 call socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) = ") != nil)
        await learner.type("sendto S2 ::1 six")
        #expect(await learner.nextLine(containing: "S2 call sendto(") != nil, "\(learner.process.output)")
        let reply6 = try #require(await Self.recvEchoReply(learner, "S2"), "\(learner.process.output)")
        #expect(reply6.contains("from ::1) = 11 ") && reply6.contains("echo reply (type 129, code 0)")
                && reply6.contains("seq 1, 3 B of data \"six\""), "\(reply6)")
        #expect(!learner.process.output.contains(" error "), "\(learner.process.output)")
    }

    /// Neither way allowed: a fresh network namespace's ping_group_range admits no group, and
    /// CAP_NET_RAW is dropped. Both refusals are in the ledger, the last naming both ways, as ping.
    @Test(.enabled(if: OwnNetwork.isAvailable, "needs unshare -rn (user namespaces), ip and setpriv"))
    func neitherWayAllowedExplainsBothAsPingDoes() async throws {
        let learner = try Learner(wrapper: "setpriv --bounding-set -net_raw")
        defer { learner.process.kill(SIGKILL) }
        await learner.type("socket raw icmp")
        #expect(await learner.nextLine(containing: "S1 call socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = -1 EPERM") != nil,
                "\(learner.process.output)")
        let refused = try #require(await learner.nextLine(containing: "S1 call socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) = -1 EACCES"),
                                   "\(learner.process.output)")
        #expect(refused.contains("ping may use neither socket: a raw ICMP socket (SOCK_RAW: EPERM) needs CAP_NET_RAW"), "\(refused)")
        #expect(refused.contains("an ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP: EACCES) needs your group in net.ipv4.ping_group_range"))
        #expect(refused.contains("which admits no group: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""))
        // No socket was made: S1 takes no calls.
        await learner.type("recv S1")
        #expect(await learner.nextLine(containing: "S1: no such step socket") != nil, "\(learner.process.output)")
    }
}
