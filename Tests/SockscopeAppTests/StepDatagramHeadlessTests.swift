import Foundation
import Testing
import TestSupport

/// Step mode on UDP sockets, from the built binary: bind, sendto, recvfrom (with the sender),
/// connect and send, each a real call on a real datagram socket, boundaries kept.
@Suite(.timeLimit(.minutes(1))) struct StepDatagramHeadlessTests {
    @Test func sendtoAndRecvfromKeepEachDatagramAndItsSender() async throws {
        let learner = try TourHeadlessTests.Learner()
        defer { learner.process.kill(SIGKILL) }
        await learner.type("socket udp")
        await learner.type("bind S1 127.0.0.1:0")
        let bound = try #require(await learner.nextLine(containing: "S1 call bind("), "\(learner.process.output)")
        let port = try #require(bound.firstMatch(of: /owns this local address \(127\.0\.0\.1:(\d+)\)/)?.1)
        #expect(bound.contains("datagrams sent to it wait in its receive buffer"))
        await learner.type("socket udp")
        await learner.type("sendto S2 127.0.0.1:\(port) one")
        await learner.type("sendto S2 127.0.0.1:\(port) three")
        let sent = try #require(await learner.nextLine(containing: "S2 call sendto("))
        #expect(sent.contains(#", "one", 3, 127.0.0.1:\#(port)) = 3"#), "\(sent)")
        #expect(await learner.nextLine(containing: "S2 sent 3 B to 127.0.0.1:\(port)") != nil, "\(learner.process.output)")
        #expect(await learner.nextLine(containing: "S2 sent 5 B to 127.0.0.1:\(port)") != nil)
        // Two sends, two datagrams: each recvfrom returns one whole, and who sent it.
        await learner.type("recv S1")
        let first = try #require(await learner.nextLine(containing: "S1 call recvfrom("), "\(learner.process.output)")
        let sender = try #require(first.firstMatch(of: /= 3 — .* from 127\.0\.0\.1:(\d+)/)?.1, "\(first)")
        #expect(await learner.nextLine(containing: "S1 received 3 B from 127.0.0.1:\(sender) \"one\"") != nil,
                "\(learner.process.output)")
        await learner.type("recv S1")
        #expect(await learner.nextLine(containing: "S1 received 5 B from 127.0.0.1:\(sender) \"three\"") != nil,
                "\(learner.process.output)")
        await learner.type("recv S1")
        let empty = await learner.nextLine(containing: ", 4096) = -1 EAGAIN")
        #expect(empty?.contains("S1 call recvfrom(") == true, "nothing more came: \(learner.process.output)")
        // connect fixes the peer; send then needs no address, and the answer comes back to S2.
        await learner.type("connect S1 127.0.0.1:\(sender)")
        await learner.type("send S1 back")
        #expect(await learner.nextLine(containing: "S1 sent 4 B to 127.0.0.1:\(sender)") != nil, "\(learner.process.output)")
        await learner.type("recv S2")
        #expect(await learner.nextLine(containing: "S2 received 4 B from 127.0.0.1:\(port) \"back\"") != nil,
                "\(learner.process.output)")
        #expect(!learner.process.output.contains(" error "), "\(learner.process.output)")
    }
}
