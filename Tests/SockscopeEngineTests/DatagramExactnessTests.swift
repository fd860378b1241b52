import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// Datagrams whole, one event each, truncation said, answers possible, ports not stolen:
/// each against a real peer (issue 15, points 1, 2, 6 and 7).
@Suite("Datagram exactness", .timeLimit(.minutes(1)))
struct DatagramExactnessTests {
    /// argv: family (4 or 6), port, sizes...: sends one datagram of each size (a pattern, so
    /// a cut or a shift shows), reads each echo and prints `ECHO <size> <received> <equal>`.
    static let bigDatagramClient = """
    import socket, sys
    family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
    host = "::1" if sys.argv[1] == "6" else "127.0.0.1"
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(10)
    for size in map(int, sys.argv[3:]):
        payload = bytes((i * 7 + size) % 251 for i in range(size))
        s.sendto(payload, (host, int(sys.argv[2])))
        data, _ = s.recvfrom(1 << 17)
        print("ECHO %d %d %s" % (size, len(data), data == payload), flush=True)
    """

    func echoListener(_ harness: EngineHarness, host: String) async throws -> (SocketID, Int) {
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: host, port: 0), mode: .echo)))
        guard case .listening(let id, .udp, let local, .echo, _)? = answer.first, let port = EngineHarness.port(of: local) else {
            throw TestFailure("expected a UDP echo listener, got \(answer)")
        }
        return (id, port)
    }

    @Test(.requires("python3"), arguments: [("127.0.0.1", "4", [9000, 65507]), ("::1", "6", [9000, 65527])])
    func largeDatagramsAreReadEchoedAndCountedWhole(host: String, family: String, sizes: [Int]) async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let (id, port) = try await echoListener(harness, host: host)
        let client = try PythonPeer.run(Self.bigDatagramClient, [family, String(port)] + sizes.map(String.init))
        for size in sizes {
            #expect(await client.waitForOutput(containing: "ECHO \(size) \(size) True"), "client said: \(client.output)")
        }
        try await harness.waitFor("every echo") { harness.datagrams(sentOn: id).count == sizes.count }
        #expect(harness.datagrams(receivedOn: id).map(\.count) == sizes)
        #expect(harness.datagrams(receivedOn: id).map(\.truncated) == sizes.map { _ in false })
        #expect(harness.datagrams(sentOn: id).map(\.count) == sizes)
    }

    /// argv: port. Answers the first datagram with four (1400, 1400, 1400, 857 bytes, as
    /// memcached answers a `get` of a 5000-byte value), then prints `ANSWERED`.
    static let fourDatagramServer = """
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("PORT %d" % s.getsockname()[1], flush=True)
    data, peer = s.recvfrom(65536)
    for n, size in enumerate((1400, 1400, 1400, 857)):
        s.sendto(bytes([65 + n]) * size, peer)
    print("ANSWERED", flush=True)
    """

    static func port(announcedBy peer: SpawnedProcess) -> Int? {
        peer.output.split(separator: "\n").first { $0.hasPrefix("PORT ") }.flatMap { Int($0.dropFirst(5)) }
    }

    @Test(.requires("python3"))
    func aConnectedUDPSocketReportsEachDatagramOfAnAnswer() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let server = try PythonPeer.run(Self.fourDatagramServer)
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(Self.port(announcedBy: server))
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: port))))
        let id = SocketID(.connection, 1)
        _ = try await harness.perform(.send(id, Array("get k\r\n".utf8)))
        #expect(await server.waitForOutput(containing: "ANSWERED"))
        try await harness.waitFor("four datagrams") { harness.datagrams(receivedOn: id).count == 4 }
        let datagrams = harness.datagrams(receivedOn: id)
        #expect(datagrams.map(\.count) == [1400, 1400, 1400, 857])
        #expect(datagrams.map { $0.bytes.first } == [65, 66, 67, 68])
        #expect(datagrams.allSatisfy { $0.from == "127.0.0.1:\(port)" })
    }

    @Test func aFloodBeyondOneBatchIsCountedInOneMoreDatagramsEvent() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let delivered = NIOLockedValueBox<[[EngineEvent]]>([])
        let batcher = EventBatcher(group: group) { events in delivered.withLockedValue { $0.append(events) } }
        let id = SocketID(.listener, 1)
        let loop = group.next()
        let log = try loop.submit { NIOLoopBound(DatagramLog(sink: EventSink(batcher)), eventLoop: loop) }.wait()
        let flood = DatagramLog.datagramsPerBatch + 300
        // One loop turn: the flood, then an answer to a request, then the next turn's datagram.
        try loop.submit {
            log.value.id = id
            for n in 0..<flood { log.value.received(from: "peer", bytes: [UInt8(n % 256)], count: 3, truncated: false) }
            log.value.sent(to: "peer", bytes: [1], count: 1, request: RequestID(7))
        }.wait()
        try loop.submit { log.value.received(from: "peer", bytes: [9], count: 5, truncated: false) }.wait()
        try loop.scheduleTask(in: .milliseconds(150)) {}.futureResult.wait()

        let events = delivered.withLockedValue { $0 }.flatMap { $0 }
        let kinds = events.map(\.kind)
        let individual = kinds.filter { if case .receivedFrom = $0 { true } else { false } }
        #expect(individual.count == DatagramLog.datagramsPerBatch + 1)
        // The counted rest comes right before the request's answer, which is never counted away.
        let moreIndex = try #require(kinds.firstIndex { if case .moreDatagrams = $0 { true } else { false } })
        #expect(kinds[moreIndex] == .moreDatagrams(id, DatagramTotals(received: 300, receivedBytes: 900)))
        #expect(kinds[moreIndex + 1] == .sentTo(id, to: "peer", bytes: [1], count: 1))
        #expect(events[moreIndex + 1].request == RequestID(7))
        #expect(kinds.last == .receivedFrom(id, from: "peer", bytes: [9], count: 5, truncated: false))
        // Every datagram and byte is accounted for.
        let receivedBytes = kinds.reduce(0) { total, kind in
            switch kind {
            case .receivedFrom(_, _, _, let count, _): total + count
            case .moreDatagrams(_, let totals): total + totals.receivedBytes
            default: total
            }
        }
        #expect(receivedBytes == flood * 3 + 5)
    }

    /// argv: path, size. Binds an address of its own, raises its send buffer so one datagram
    /// may be `size` bytes, sends it to `path`, prints `SENT <n>`.
    static let bigUnixDatagramSender = """
    import os, socket, sys, tempfile
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\\0sockscope-test-%d" % os.getpid())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    print("SENT %d" % s.sendto(bytes(int(sys.argv[2])), sys.argv[1]), flush=True)
    """

    @Test(.requires("python3"))
    func aUnixDatagramLongerThanTheReceiveBufferIsReportedCut() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "trunc", suffix: ".sock")
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unixDatagram(path: path))))
        guard case .listening(let id, .unixgram, _, _, _)? = answer.first else {
            throw TestFailure("expected a unixgram listener, got \(answer)")
        }
        let size = UnixDatagramSocket.readBufferSize + 4096
        let sender = try PythonPeer.run(Self.bigUnixDatagramSender, [path, String(size)])
        #expect(await sender.waitForOutput(containing: "SENT \(size)"), "sender said: \(sender.output)")
        try await harness.waitFor("the datagram") { harness.datagrams(receivedOn: id).count == 1 }
        let datagram = try #require(harness.datagrams(receivedOn: id).first)
        let (truncated, count) = (datagram.truncated, datagram.count)
        #expect(truncated)
        #expect(count == UnixDatagramSocket.readBufferSize)
        #expect(datagram.from.hasPrefix("@sockscope-test-"))
    }

    /// argv: path. Sends `question` to `path` from a bound address, prints what comes back.
    static let unixAsker = """
    import os, socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    mine = sys.argv[1] + ".client"
    s.bind(mine)
    s.settimeout(10)
    s.sendto(b"question", sys.argv[1])
    print("ASKED " + mine, flush=True)
    data = s.recv(65536)
    print("GOT " + data.decode(), flush=True)
    os.unlink(mine)
    """

    @Test(.requires("python3"))
    func aPlainUnixDatagramListenerAnswersItsSenderAndSendToReachesAPath() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "answer", suffix: ".sock")
        let answer = try await harness.perform(.listen(ListenRequest(endpoint: .unixDatagram(path: path))))
        guard case .listening(let id, .unixgram, _, .interactive, _)? = answer.first else {
            throw TestFailure("expected an interactive unixgram listener, got \(answer)")
        }
        let asker = try PythonPeer.run(Self.unixAsker, [path])
        #expect(await asker.waitForOutput(containing: "ASKED"))
        try await harness.waitFor("the question") { harness.datagrams(receivedOn: id).count == 1 }
        let reply = try await harness.perform(.send(id, Array("answer".utf8)))
        #expect(reply.first == .sentTo(id, to: SocketEndpoint(path + ".client"), bytes: Array("answer".utf8), count: 6), "\(reply)")
        #expect(await asker.waitForOutput(containing: "GOT answer"), "asker said: \(asker.output)")

        // sendto unix:PATH: a datagram to a socket that never wrote to us.
        let receiverPath = TemporaryPath.make(prefix: "receiver", suffix: ".sock")
        let receiver = try PythonPeer.run("""
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sys.argv[1])
        s.settimeout(10)
        print("BOUND", flush=True)
        print("GOT " + s.recv(100).decode(), flush=True)
        """, [receiverPath])
        defer { unlink(receiverPath) }
        #expect(await receiver.waitForOutput(containing: "BOUND"))
        let sent = try await harness.perform(.sendTo(id, to: .unixDatagram(path: receiverPath), Array("unasked".utf8)))
        #expect(sent == [.sentTo(id, to: SocketEndpoint(receiverPath), bytes: Array("unasked".utf8), count: 7), .requestCompleted])
        #expect(await receiver.waitForOutput(containing: "GOT unasked"), "receiver said: \(receiver.output)")

        // A UDP address from a UNIX socket, and a UNIX path from a UDP socket, are refused clearly.
        let nowhere = try await harness.perform(.sendTo(id, to: .unixDatagram(path: receiverPath + ".none"), [1]))
        #expect(nowhere.first.map { if case .error(id, let f) = $0 { f.code == "ENOENT" } else { false } } == true,
                "\(nowhere)")
    }

    /// argv: reuse (0 or 1). Holds a UDP port on 127.0.0.1, with SO_REUSEADDR when asked (as
    /// memcached does), prints `PORT <n>`, and stays until killed.
    static let portHolder = """
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if sys.argv[1] == "1":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    print("PORT %d" % s.getsockname()[1], flush=True)
    time.sleep(60)
    """

    @Test(.requires("python3"))
    func aUDPListenDoesNotTakeOverAPortALiveServerHolds() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let holder = try PythonPeer.run(Self.portHolder, ["1"])
        defer { holder.kill(SIGKILL) }
        #expect(await holder.waitForOutput(containing: "PORT "))
        let port = try #require(Self.port(announcedBy: holder))
        let endpoint = Endpoint.inet(.udp, host: "127.0.0.1", port: port)

        let refused = try await harness.perform(.listen(ListenRequest(endpoint: endpoint)))
        #expect(refused.first.map { if case .error(nil, let f) = $0 { f.code == "EADDRINUSE" } else { false } } == true,
                "\(refused)")

        var sharing = ListenRequest(endpoint: endpoint)
        sharing.reuseAddress = true
        let shared = try await harness.perform(.listen(sharing))
        #expect(shared.first.map { if case .listening(_, .udp, "127.0.0.1:\(port)", _, _) = $0 { true } else { false } } == true,
                "\(shared)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
