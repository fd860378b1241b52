import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

/// `capture on`/`capture off` on real sockets, the file read back by tshark (Wireshark's
/// reader; it needs no capture permission to read a file) and by a second, independent
/// reader (a small pcapng parser in Python): what they reassemble is exactly what the
/// engine counted, both directions, datagrams whole.
@Suite(.timeLimit(.minutes(2))) struct CaptureTests {
    /// The bytes each TCP stream carried, per direction, as `tshark -z follow,tcp,raw,N`
    /// gives them: node 0 (the client, which sent the SYN) to node 1, and back.
    struct Followed: Equatable {
        var client: SocketEndpoint?
        var fromClient: [UInt8] = []
        var fromServer: [UInt8] = []
    }

    static func run(_ arguments: [String], tool: String = "tshark") async throws -> String {
        let process = try SpawnedProcess(tool, arguments)
        let status = await process.wait(timeout: .seconds(60))
        #expect(status == 0, "\(tool) \(arguments): \(process.output)")
        // stderr comes in the same file: tshark's note when run as root is not its output.
        return process.output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("Running as user ") }.joined(separator: "\n")
    }

    static func follow(_ file: String, stream: Int) async throws -> Followed {
        let text = try await run(["-r", file, "-q", "-z", "follow,tcp,raw,\(stream)"])
        var followed = Followed()
        var inBody = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Node 0: ") { followed.client = SocketEndpoint(parsing: String(line.dropFirst(8))) }
            if line.hasPrefix("Node 1: ") { inBody = true; continue }
            guard inBody, !line.hasPrefix("====") else { continue }
            let fromServer = line.hasPrefix("\t")
            let hex = line.trimmingCharacters(in: .whitespaces)
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index < hex.endIndex {
                bytes.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            if fromServer { followed.fromServer += bytes } else { followed.fromClient += bytes }
        }
        return followed
    }

    /// tshark's expert information at warning level and above (malformed packets are errors).
    static func expertWarnings(_ file: String) async throws -> [String] {
        let text = try await run(["-r", file, "-q", "-z", "expert,warn"])
        // Sections "Errors (N)" and "Warns (N)", each a table of "Frequency Group Protocol Summary"
        // rows (malformed packets are errors); nothing at all when there are none.
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.first?.isNumber == true || $0.contains("Malformed") }
    }

    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ ($0 >> 8) ^ seed) }
    }

    func capture(_ harness: EngineHarness, to path: String) async throws {
        let started = try await harness.perform(.capture(.on(path: path, maxBytes: nil)))
        #expect(started.contains(.capture(.started(path: path, maxBytes: nil))), "\(started)")
    }

    func stopCapture(_ harness: EngineHarness) async throws -> CaptureSummary {
        let stopped = try await harness.perform(.capture(.off))
        return try #require(stopped.lazy.compactMap { if case .capture(.stopped(let summary)) = $0 { summary } else { nil } }.first,
                            "\(stopped)")
    }

    @Test(.requires("tshark", "python3"))
    func tcpAndUDPOpenInTsharkWithExactlyTheCountedBytes() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture", suffix: ".pcapng")
        let (_, tcpPort) = try await harness.listen(.echo)
        let udpAnswer = try await harness.perform(.listen(ListenRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: 0), mode: .echo)))
        guard case .listening(_, _, let udpLocal, _, _)? = udpAnswer.first, let udpPort = udpLocal.port else {
            Issue.record("no UDP listener: \(udpAnswer)")
            return
        }
        try await capture(harness, to: path)

        // A TCP connection from us to our own echo listener: both ends are ours, the file has it once.
        let connected = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: tcpPort))))
        guard case .connected(let client, _, _)? = connected.first(where: { if case .connected = $0 { true } else { false } }) else {
            Issue.record("not connected: \(connected)")
            return
        }
        let messages = [Array("hello\n".utf8), Self.pattern(300_000, seed: 7), Array("bye".utf8)]
        for message in messages { _ = try await harness.perform(.send(client, message)) }
        let total = messages.reduce(0) { $0 + $1.count }
        try await harness.waitFor("the echo back", timeout: .seconds(30)) { harness.receivedCount(on: client) == total }
        _ = try await harness.perform(.close(client))

        // A connected UDP socket and the UDP echo listener: datagrams of 1, 1400 and 30 000 bytes.
        let udpConnected = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.udp, host: "127.0.0.1", port: Int(udpPort)))))
        guard case .connected(let udpClient, _, _)? = udpConnected.first(where: { if case .connected = $0 { true } else { false } }) else {
            Issue.record("not connected: \(udpConnected)")
            return
        }
        let datagrams = [[UInt8(0x41)], Self.pattern(1400, seed: 1), Self.pattern(30_000, seed: 2)]
        for datagram in datagrams { _ = try await harness.perform(.send(udpClient, datagram)) }
        try await harness.waitFor("three echoed datagrams") { harness.datagrams(receivedOn: udpClient).count == 3 }

        let summary = try await stopCapture(harness)
        #expect(summary.droppedRecords == 0 && summary.writeFailure == nil, "\(summary)")

        #expect(try await Self.expertWarnings(path) == [])
        let stream = try await Self.follow(path, stream: 0)
        let sent = messages.flatMap { $0 }
        #expect(harness.sentCount(on: client) == sent.count)
        // Whichever end opened first is the one written; the client sent the SYN either way.
        #expect(stream.fromClient == sent, "client to server: \(stream.fromClient.count) bytes")
        #expect(stream.fromServer == sent, "server to client: \(stream.fromServer.count) bytes")
        #expect(stream.fromServer.count == harness.receivedCount(on: client))

        // Each datagram once (the listener's receive of the client's datagram is the client's send), whole.
        let udp = try await Self.run(["-r", path, "-Y", "udp", "-T", "fields", "-e", "udp.srcport", "-e", "udp.length"])
        let rows = udp.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        let sizes = datagrams.map { String($0.count + 8) }
        #expect(rows.map { $0.last ?? "" } == [sizes[0], sizes[0], sizes[1], sizes[1], sizes[2], sizes[2]], "\(rows)")
        // Client to listener, then the echo from the listener's port.
        #expect(rows.enumerated().allSatisfy { index, row in (row.first == String(udpPort)) == (index % 2 == 1) }, "\(rows)")

        // The second reader: every packet parsed from the raw blocks, streams reassembled by
        // sequence number, each connection's comment naming it.
        let reader = try PythonPeer.run(Self.pcapngReader, [path])
        #expect(await reader.wait(timeout: .seconds(30)) == 0, "\(reader.output)")
        let lines = reader.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("COMMENT sockscope \(client)") || lines.contains { $0.hasPrefix("COMMENT sockscope C") }, "\(lines)")
        #expect(lines.contains("TCP \(sent.count) \(sent.count) \(Self.sha(sent)) \(Self.sha(sent))"), "\(lines)")
        #expect(lines.contains("UDP \(datagrams.map { String($0.count) }.flatMap { [$0, $0] }.joined(separator: ","))"), "\(lines)")
    }

    static func sha(_ bytes: [UInt8]) -> String {
        // Python prints the same digest (hashlib.sha256): a short stand-in for the bytes.
        String(bytes.count) + ":" + String(bytes.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }, radix: 16)
    }

    /// A pcapng reader of its own (no dpkt or scapy needed): blocks, Enhanced Packet Blocks
    /// with their comments, IPv4/IPv6, TCP reassembled per direction by sequence number from
    /// the SYN, UDP payloads. Prints `COMMENT text`, `TCP <client bytes> <server bytes> <digest>
    /// <digest>` per connection (FNV-1a, as `sha` computes it) and `UDP size,size,...`.
    static let pcapngReader = #"""
    import struct, sys
    data = open(sys.argv[1], "rb").read()
    off = 0
    packets = []
    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        assert blen % 4 == 0 and blen >= 12, ("bad block length", off, blen)
        assert struct.unpack_from("<I", data, off + blen - 4)[0] == blen, "trailing length differs"
        body = data[off + 8: off + blen - 4]
        if btype == 0x0A0D0D0A:
            assert struct.unpack_from("<I", body, 0)[0] == 0x1A2B3C4D
        elif btype == 1:
            assert struct.unpack_from("<H", body, 0)[0] == 101, "LINKTYPE_RAW"
        elif btype == 6:
            _, hi, lo, caplen, origlen = struct.unpack_from("<IIIII", body, 0)
            assert caplen == origlen
            pkt = body[20:20 + caplen]
            opts = body[20 + ((caplen + 3) & ~3):]
            o = 0
            while o + 4 <= len(opts):
                code, olen = struct.unpack_from("<HH", opts, o)
                if code == 0: break
                if code == 1: print("COMMENT " + opts[o + 4:o + 4 + olen].decode())
                o += 4 + ((olen + 3) & ~3)
            packets.append(pkt)
        off += blen
    def fnv(b):
        h = 1469598103934665603
        for x in b: h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        return "%d:%x" % (len(b), h)
    def csum(b):
        if len(b) % 2: b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while s >> 16: s = (s >> 16) + (s & 0xFFFF)
        return s
    flows = {}
    udp = []
    for pkt in packets:
        v = pkt[0] >> 4
        if v == 4:
            ihl = (pkt[0] & 15) * 4
            total, proto = struct.unpack_from("!H", pkt, 2)[0], pkt[9]
            assert total == len(pkt) and csum(pkt[:ihl]) == 0xFFFF, "IPv4 header"
            src, dst, seg = pkt[12:16], pkt[16:20], pkt[ihl:]
            pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
        else:
            proto, src, dst, seg = pkt[6], pkt[8:24], pkt[24:40], pkt[40:]
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
        assert csum(pseudo + seg) == 0xFFFF, "transport checksum"
        if proto == 17:
            udp.append(len(seg) - 8)
            continue
        sport, dport, seq, ack, offflags = struct.unpack_from("!HHIIH", seg, 0)
        flags, payload = offflags & 0x3F, seg[(offflags >> 12) * 4:]
        key = (src, sport, dst, dport)
        if flags & 2:
            flows.setdefault(tuple(sorted([key, (dst, dport, src, sport)])), {})[key] = [seq + 1, b""]
            if not (flags & 16): flows[tuple(sorted([key, (dst, dport, src, sport)]))]["client"] = key
            continue
        side = flows[tuple(sorted([key, (dst, dport, src, sport)]))][key]
        if payload:
            assert seq == side[0], ("sequence", seq, side[0])
            side[1] += payload
            side[0] += len(payload)
    for flow in flows.values():
        client = flow.pop("client")
        server = [k for k in flow if k != client][0]
        c, s = flow[client][1], flow[server][1]
        print("TCP %d %d %s %s" % (len(c), len(s), fnv(c), fnv(s)))
    print("UDP " + ",".join(str(n) for n in udp))
    """#

    /// `reset`: the file has our RST where it happened (tshark's only warning: "Connection reset").
    @Test(.requires("tshark"))
    func aResetIsAnRSTInTheFile() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture-rst", suffix: ".pcapng")
        let (listener, port) = try await harness.listen()
        try await capture(harness, to: path)
        let connected = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        guard case .connected(let client, _, _)? = connected.first(where: { if case .connected = $0 { true } else { false } }) else {
            Issue.record("not connected: \(connected)")
            return
        }
        try await harness.waitFor("accepted") { !harness.acceptedConnections(on: listener).isEmpty }
        _ = try await harness.perform(.send(client, Array("ping".utf8)))
        let server = try #require(harness.acceptedConnections(on: listener).first)
        try await harness.waitFor("the read") { harness.receivedCount(on: server) == 4 }
        _ = try await harness.perform(.reset(client))
        try await harness.waitFor("the reset seen") { harness.closedReason(of: server) != nil }
        _ = try await stopCapture(harness)
        let flags = try await Self.run(["-r", path, "-T", "fields", "-e", "tcp.flags.str"])
        let seen = flags.split(separator: "\n").map { $0.filter { $0 != "·" && $0 != " " } }
        #expect(seen.first == "S" && seen.dropFirst().first == "AS", "\(seen)")
        #expect(seen.last == "AR", "\(seen)")
        #expect(seen.filter { $0.contains("R") }.count == 1, "\(seen)")
        let warnings = try await Self.expertWarnings(path)
        #expect(warnings.count == 1 && warnings.allSatisfy { $0.contains("Connection reset") }, "\(warnings)")
    }

    /// With no capture running, connections get no capture tap; one added while a connection
    /// is open joins it (with a handshake of its own), and `capture off` takes it away again.
    @Test(.requires("tshark"))
    func aCaptureJoinsOpenConnectionsAndLeavesThem() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture-join", suffix: ".pcapng")
        let (_, port) = try await harness.listen(.echo)
        let connected = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        guard case .connected(let client, _, _)? = connected.first(where: { if case .connected = $0 { true } else { false } }) else {
            Issue.record("not connected: \(connected)")
            return
        }
        _ = try await harness.perform(.send(client, Array("before ".utf8)))
        try await harness.waitFor("echo 1") { harness.receivedCount(on: client) == 7 }
        try await capture(harness, to: path)
        _ = try await harness.perform(.send(client, Array("during ".utf8)))
        try await harness.waitFor("echo 2") { harness.receivedCount(on: client) == 14 }
        _ = try await stopCapture(harness)
        _ = try await harness.perform(.send(client, Array("after".utf8)))
        try await harness.waitFor("echo 3") { harness.receivedCount(on: client) == 19 }
        let stream = try await Self.follow(path, stream: 0)
        #expect(String(decoding: stream.fromClient, as: UTF8.self) == "during ")
        #expect(String(decoding: stream.fromServer, as: UTF8.self) == "during ")
        #expect(try await Self.expertWarnings(path) == [])
        let comments = try await Self.run(["-r", path, "-T", "fields", "-e", "frame.comment", "-Y", "frame.comment"])
        #expect(comments.contains("capture began while it was open"), "\(comments)")
    }

    /// TLS is captured as ciphertext (the tap is in front of swift-nio-ssl) with the session's
    /// keys in a Decryption Secrets Block: tshark decrypts it with no key file, and the
    /// plaintext it shows is what the connections counted.
    @Test(.requires("tshark"))
    func tlsIsCiphertextThatTsharkDecryptsWithTheKeysInTheFile() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture-tls", suffix: ".pcapng")
        var listen = ListenRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: 0), mode: .echo)
        listen.tls = TLSServerOptions()
        let listening = try await harness.perform(.listen(listen))
        guard case .listening(_, _, let local, _, _)? = listening.first, let port = local.port else {
            Issue.record("no listener: \(listening)")
            return
        }
        try await capture(harness, to: path)
        var connect = ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: Int(port)))
        connect.tls = TLSClientOptions()
        connect.tls?.insecure = true
        let connected = try await harness.perform(.connect(connect))
        guard case .connected(let client, _, _)? = connected.first(where: { if case .connected = $0 { true } else { false } }) else {
            Issue.record("not connected: \(connected)")
            return
        }
        let secret = Array("the plaintext only the keys reveal".utf8)
        _ = try await harness.perform(.send(client, secret))
        try await harness.waitFor("the echo") { harness.receivedCount(on: client) == secret.count }
        _ = try await harness.perform(.close(client))
        _ = try await stopCapture(harness)

        let raw = try await Self.follow(path, stream: 0)
        #expect(!raw.fromClient.isEmpty && raw.fromClient.firstRange(of: secret) == nil, "the wire carries ciphertext")
        let decrypted = try await Self.run(["-r", path, "-q", "-z", "follow,tls,ascii,0"])
        #expect(decrypted.components(separatedBy: "the plaintext only the keys reveal").count == 3, "\(decrypted)")
        let blocks = try await Self.run(["-r", path, "-q", "-z", "expert,warn"])
        #expect(try await Self.expertWarnings(path) == [], "\(blocks)")
    }

    func connect(_ harness: EngineHarness, port: Int) async throws -> SocketID {
        let connected = try await harness.perform(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        guard case .connected(let id, _, _)? = connected.first(where: { if case .connected = $0 { true } else { false } }) else {
            throw EngineHarness.Timeout(what: "connected", events: harness.events)
        }
        return id
    }

    /// Both legs of a relay are in the file, each with the bytes it carried.
    @Test(.requires("tshark"))
    func bothLegsOfARelayAreCaptured() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture-relay", suffix: ".pcapng")
        let (_, echoPort) = try await harness.listen(.echo)
        let (_, relayPort) = try await RelayTests.relay(harness, to: .inet(.tcp, host: "127.0.0.1", port: echoPort))
        try await capture(harness, to: path)
        let client = try await connect(harness, port: relayPort)
        let message = Self.pattern(100_000, seed: 3)
        _ = try await harness.perform(.send(client, message))
        try await harness.waitFor("the echo through the relay") { harness.receivedCount(on: client) == message.count }
        _ = try await stopCapture(harness)
        // Our client to the relay's client leg, then the upstream leg to our echo listener:
        // each connection once, though both its ends are ours.
        let streams = [try await Self.follow(path, stream: 0), try await Self.follow(path, stream: 1)]
        let ports = Set(streams.compactMap { $0.client }.compactMap(\.port))
        #expect(streams.allSatisfy { $0.fromClient == message && $0.fromServer == message })
        #expect(streams.count == 2 && ports.count == 2)
        let third = try await Self.run(["-r", path, "-q", "-z", "conv,tcp"])
        #expect(third.split(separator: "\n").filter { $0.contains("<->") }.count == 2, "\(third)")
        #expect(try await Self.expertWarnings(path) == [])
    }

    /// `--max`: a ring of two files of at most half the size each; each opens on its own.
    @Test(.requires("tshark"))
    func theRingKeepsTwoFilesWithinMax() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = TemporaryPath.make(prefix: "capture-ring", suffix: ".pcapng")
        let older = String(path.dropLast(".pcapng".count)) + ".1.pcapng"
        let (_, port) = try await harness.listen(.echo)
        let maxBytes = CaptureRequest.minimumRingBytes
        _ = try await harness.perform(.capture(.on(path: path, maxBytes: maxBytes)))
        let client = try await connect(harness, port: port)
        let chunk = Self.pattern(256 << 10, seed: 5)
        for _ in 0..<24 { _ = try await harness.perform(.send(client, chunk)) }
        try await harness.waitFor("the echo", timeout: .seconds(60)) { harness.receivedCount(on: client) == 24 * chunk.count }
        let summary = try await stopCapture(harness)
        #expect(summary.rotations >= 2, "\(summary)")
        let sizes = try [path, older].map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0 }
        #expect(sizes.allSatisfy { $0 > 0 && $0 <= maxBytes / 2 }, "\(sizes)")
        for file in [path, older] {
            #expect(try await Self.expertWarnings(file) == [], "\(file)")
            // Each file starts with the connection's handshake again and carries whole, in-order bytes.
            let stream = try await Self.follow(file, stream: 0)
            #expect(stream.fromClient.count + stream.fromServer.count > 0)
        }
    }
}
