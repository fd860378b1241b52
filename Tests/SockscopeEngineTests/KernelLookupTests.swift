import Glibc
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// The kernel probe's per-socket sock_diag lookups, on real loopback sockets: queues of
/// open connections, sockets we closed that the kernel still holds, and sockets it let go.
@Suite("Kernel lookups", .timeLimit(.minutes(1)))
struct KernelLookupTests {
    static func samples(_ harness: EngineHarness, _ id: SocketID) -> [KernelSample] {
        LifecycleLabTests.kernelSamples(harness, id)
    }

    @Test func unreadBytesShowAsQueuesOnTheConnection() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(.echo)
        let client = try FloodingClient(port: listener.port)
        defer { client.close() }
        let connection = try await harness.first("the accepted connection") { kind -> SocketID? in
            if case .accepted(let id, listener.id, _, _) = kind { return id }
            return nil
        }
        // The client never reads: our echoes fill its buffer and then ours, the engine stops
        // reading, and what the client keeps sending waits in our receive queue.
        let queued = await waitUntil(timeout: .seconds(20), poll: .milliseconds(100)) {
            client.writeWhatFits()
            // Data events inside the sampling gap wait for a later event, and once the engine
            // stops reading there are none: asking for an option is an event that starts a sample.
            harness.submit(.getOption(connection, .rcvbuf))
            let last = Self.samples(harness, connection).last
            return (last?.receiveQueue ?? 0) > 0 && (last?.sendQueue ?? 0) > 0
        }
        let last = Self.samples(harness, connection).last
        #expect(queued, "queues never filled: \(String(describing: last))")
        #expect(last?.state == .established && last?.lingering == false)
    }

    /// An IPv4 client of a listener on `::` is an IPv4-mapped IPv6 peer: the event carries it
    /// typed as such, an IPv4 access rule matches it, and the probe finds the accepted socket
    /// in the kernel by those bytes (an IPv6 socket with mapped addresses).
    @Test func aMappedIPv4PeerIsTypedMatchedAndSampled() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(host: "::")
        _ = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: listener.port))))
        let (server, remote) = try await harness.first("the accepted end") { kind -> (SocketID, SocketEndpoint)? in
            if case .accepted(let id, listener.id, _, let remote) = kind { return (id, remote) }
            return nil
        }
        guard case .ipv6(let address, _) = remote, let mapped = address.mappedIPv4 else {
            Issue.record("expected an IPv4-mapped IPv6 peer, got \(remote)")
            return
        }
        #expect(mapped == .loopback)
        #expect(remote.hasPrefix("[::ffff:127.0.0.1]:"))
        #expect(AddressRange("127.0.0.0/8")!.contains(remote) && !AddressRange("::1")!.contains(remote))
        try await harness.waitFor("a kernel sample of the accepted end") {
            Self.samples(harness, server).contains { $0.state == .established && $0.receiveQueue != nil }
        }
    }

    /// IPv4 and IPv6: the probe finds sockets by the typed addresses their events carry.
    @Test(arguments: ["127.0.0.1", "::1"])
    func closedEndsAreFollowedThroughTimeWaitOrReportedGone(host: String) async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let listener = try await harness.listen(host: host)
        let answer = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: host, port: listener.port))))
        let client = try #require(answer.lazy.compactMap { kind -> SocketID? in
            if case .connected(let id, _, _) = kind { return id }
            return nil
        }.first)
        let server = try await harness.first("the accepted end") { kind -> SocketID? in
            if case .accepted(let id, listener.id, _, _) = kind { return id }
            return nil
        }
        _ = try await harness.perform(.close(client))
        try await harness.waitFor("FIN-WAIT-2 on our closed end, CLOSE-WAIT on the other") {
            Self.samples(harness, client).last.map { $0.state == .finWait2 && $0.lingering } == true
                && Self.samples(harness, server).last?.state == .closeWait
        }
        _ = try await harness.perform(.close(server))
        // The end that closed second gets the last ACK at once on loopback: the kernel lets it go.
        try await harness.waitFor("the end that closed second to be gone") {
            Self.samples(harness, server).last?.gone == true
        }
        // Its local port is the listener's: a lookup that fell back to the listener must not pass for it.
        #expect(!Self.samples(harness, server).contains { $0.state == .listen }, "\(Self.samples(harness, server))")
        // The end that closed first stays in TIME-WAIT for 60 s, followed once a second with its countdown.
        try await harness.waitFor("two TIME-WAIT samples with a falling countdown", timeout: .seconds(10)) {
            let countdown = Self.samples(harness, client).filter { $0.state == .timeWait && $0.lingering }.compactMap(\.timerSeconds)
            return countdown.count >= 2 && countdown.last! < countdown.first!
        }
        let countdown = Self.samples(harness, client).filter { $0.state == .timeWait }.compactMap(\.timerSeconds)
        #expect(countdown.allSatisfy { $0 > 0 && $0 <= 60 }, "TIME-WAIT lasts 60 s on Linux: \(countdown)")
        #expect(Self.samples(harness, listener.id).last?.state == .listen)
    }
}

/// A plain client socket in the test process that writes and never reads.
final class FloodingClient {
    private let fd: CInt
    private let chunk = [UInt8](repeating: 0x78, count: 65_536)

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            _ = Glibc.close(fd)
            throw SystemError(call: "connect", errno: error)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Writes until the kernel takes no more for now.
    func writeWhatFits() {
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Closes the socket (the client's lifetime would otherwise end at its last use).
    func close() {
        _ = Glibc.close(fd)
    }

    struct SystemError: Error {
        let call: String
        let errno: CInt
    }
}
