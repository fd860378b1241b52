/// Turns what sockets did (a connection opened, bytes read or written, FIN, RST, a datagram)
/// into IP packets in a pcapng file (`PcapngWriter`), as a capture on the wire would show
/// them: real addresses and ports, a TCP handshake, sequence and acknowledgement numbers
/// that follow the bytes, the receiver's ACK of each read or write, FIN and RST.
///
/// An ACK rides on the receiver's next segment when that comes first, as on the wire: a
/// request and its reply are two packets, not four (half the work for a capture of
/// request/response traffic). It is written on its own when the sender sends again, before a
/// FIN, RST or gap, or when the caller settles what is owed (`settleAcks`, at the end of
/// each batch the capture writer takes, and at the end of a saved file).
///
/// The headers are made up (we see the socket API, not the wire): one segment per read or
/// write (cut at 64 000 bytes, under IP's 64 KiB), window scaling so a receiver never seems
/// to run out of window, correct IP, TCP and UDP checksums. Each flow's first packet carries a
/// comment naming its sockscope id. No I/O: the engine's capture writer and `save
/// PATH.pcapng` both use it.
public struct PacketSynthesis: Sendable {
    /// A flow: one TCP connection, or one UDP socket (all its peers).
    public struct FlowKey: Hashable, Sendable {
        public var value: Int
        public init(_ value: Int) { self.value = value }
    }

    private struct TCPFlow {
        var local: SocketEndpoint
        var remote: SocketEndpoint
        var initiatedLocally: Bool
        /// Next sequence number each side sends.
        var localNext: UInt32
        var remoteNext: UInt32
        var localFinSent = false
        var remoteFinSent = false
        var name: String
        /// An ACK one side owes for the other's data (`byLocal`: we owe it), stamped with the data's time.
        var ackOwed: (byLocal: Bool, time: Int64)?
    }

    private var tcp: [FlowKey: TCPFlow] = [:]
    /// Flows that may owe an ACK (`settleAcks` writes them).
    private var owingAcks: Set<FlowKey> = []
    /// Open connections by (local, remote): a connection both of whose ends are ours (sockscope
    /// talking to itself) is written once, from the end that opened first, as the wire has it once.
    private var tcpEnds: Set<[SocketEndpoint]> = []
    /// Where our UDP sockets are: a datagram one of them received from another was written
    /// when that one sent it.
    private var udpLocals: Set<SocketEndpoint> = []
    /// UDP sockets whose first datagram is still to come: the comment it will carry.
    private var udpComments: [FlowKey: String] = [:]
    public var writer = PcapngWriter()
    /// The packet being made: its IP and transport headers (kept for the next).
    private var headers: [UInt8] = []
    /// Packets made so far.
    public private(set) var packets = 0

    /// Payload bytes per synthesised TCP segment (IPv4's total length is 16 bits).
    static let segmentLimit = 64_000
    /// Window scale announced in both SYNs: 65 535 << 14 is ~1 GiB, more than any gap between ACKs.
    static let windowScale: UInt8 = 14

    public init() {}

    // MARK: TCP

    /// A connection: its handshake (SYN, SYN-ACK, ACK) with the client on the initiating side;
    /// the SYN carries `comment`. `name` (its id) is repeated when a ring's new file restarts it.
    public mutating func openTCP(_ key: FlowKey, local: SocketEndpoint, remote: SocketEndpoint, initiatedLocally: Bool,
                                 name: String, comment: String, at time: Int64) {
        guard !tcpEnds.contains([remote, local]) else { return }
        tcpEnds.insert([local, remote])
        // Arbitrary, different initial sequence numbers; tools show them relative anyway.
        var flow = TCPFlow(local: local, remote: remote, initiatedLocally: initiatedLocally,
                           localNext: initiatedLocally ? 0x1000_0000 : 0x5000_0000,
                           remoteNext: initiatedLocally ? 0x5000_0000 : 0x1000_0000, name: name)
        handshake(&flow, comment: comment, at: time)
        tcp[key] = flow
    }

    /// Bytes one side sent (`fromLocal`: we wrote them; else we read them), then the other side's ACK.
    public mutating func tcpData(_ key: FlowKey, fromLocal: Bool, _ payload: UnsafeRawBufferPointer, at time: Int64) {
        guard var flow = tcp[key], payload.count > 0 else { return }
        settleAck(&flow, unlessOwedBy: fromLocal)
        var offset = 0
        while offset < payload.count {
            let piece = UnsafeRawBufferPointer(rebasing: payload[offset ..< min(payload.count, offset + Self.segmentLimit)])
            segment(&flow, fromLocal: fromLocal, flags: [.psh, .ack], payload: piece, at: time)
            offset += piece.count
        }
        flow.ackOwed = (byLocal: !fromLocal, time: time)
        owingAcks.insert(key)
        tcp[key] = flow
    }

    /// Writes every ACK still owed: each flow is then as it would be had each been written at once.
    public mutating func settleAcks() {
        for key in owingAcks.sorted(by: { $0.value < $1.value }) {
            guard var flow = tcp[key], flow.ackOwed != nil else { continue }
            settleAck(&flow, unlessOwedBy: nil)
            tcp[key] = flow
        }
        owingAcks.removeAll(keepingCapacity: true)
    }

    /// Writes the ACK `flow` owes, if any, unless the side that owes it is the one about to send
    /// (`unlessOwedBy`): its segment carries the acknowledgement.
    private mutating func settleAck(_ flow: inout TCPFlow, unlessOwedBy sender: Bool?) {
        guard let owed = flow.ackOwed else { return }
        flow.ackOwed = nil
        if owed.byLocal != sender { segment(&flow, fromLocal: owed.byLocal, flags: [.ack], at: owed.time) }
    }

    /// Bytes that were sent but are not in the file (a capture that could not keep up, a
    /// preview shorter than the count): the sequence numbers move on, so Wireshark shows the gap.
    public mutating func tcpGap(_ key: FlowKey, fromLocal: Bool, count: Int) {
        guard count > 0, var flow = tcp[key] else { return }
        // What was acknowledged stops where the bytes seen stop.
        settleAck(&flow, unlessOwedBy: nil)
        if fromLocal { flow.localNext &+= UInt32(truncatingIfNeeded: count) } else {
            flow.remoteNext &+= UInt32(truncatingIfNeeded: count)
        }
        tcp[key] = flow
    }

    /// One side's FIN, and the other's ACK of it (once per side).
    public mutating func tcpFin(_ key: FlowKey, fromLocal: Bool, at time: Int64) {
        guard var flow = tcp[key], !(fromLocal ? flow.localFinSent : flow.remoteFinSent) else { return }
        settleAck(&flow, unlessOwedBy: fromLocal)
        segment(&flow, fromLocal: fromLocal, flags: [.fin, .ack], at: time)
        if fromLocal { flow.localFinSent = true } else { flow.remoteFinSent = true }
        segment(&flow, fromLocal: !fromLocal, flags: [.ack], at: time)
        tcp[key] = flow
    }

    /// One side's RST: the connection is over.
    public mutating func tcpReset(_ key: FlowKey, fromLocal: Bool, at time: Int64) {
        guard var flow = tcp.removeValue(forKey: key) else { return }
        tcpEnds.remove([flow.local, flow.remote])
        settleAck(&flow, unlessOwedBy: fromLocal)
        segment(&flow, fromLocal: fromLocal, flags: [.rst, .ack], at: time)
    }

    /// The connection is gone (after its FINs, or without them); nothing more is written for it.
    public mutating func forget(_ key: FlowKey) {
        if var flow = tcp.removeValue(forKey: key) {
            tcpEnds.remove([flow.local, flow.remote])
            settleAck(&flow, unlessOwedBy: nil)
        }
        udpComments[key] = nil
    }

    /// For a ring's new file (after its header): every open connection's handshake again, with
    /// sequence numbers that go on from where they were, so each file stands alone.
    public mutating func restartFlows(comment: (String) -> String, at time: Int64) {
        for key in tcp.keys.sorted(by: { $0.value < $1.value }) {
            guard var flow = tcp[key] else { continue }
            // Each SYN takes one number: start one before where the flow stands.
            flow.localNext &-= 1
            flow.remoteNext &-= 1
            handshake(&flow, comment: comment(flow.name), at: time)
            tcp[key] = flow
        }
    }

    // MARK: UDP

    /// A UDP socket: its first datagram will carry `comment`.
    public mutating func openUDP(_ key: FlowKey, comment: String) {
        udpComments[key] = comment
    }

    /// One datagram between `local` and `remote`, whole.
    public mutating func datagram(_ key: FlowKey, local: SocketEndpoint, remote: SocketEndpoint, fromLocal: Bool,
                                  _ payload: UnsafeRawBufferPointer, at time: Int64) {
        udpLocals.insert(local)
        guard fromLocal || !udpLocals.contains(remote) else { return }
        let (source, destination) = fromLocal ? (local, remote) : (remote, local)
        guard let sourcePort = source.port, let destinationPort = destination.port, payload.count <= 65_527 else { return }
        let comment = udpComments[key]
        let written = emitPacket(protocol: 17, from: source, to: destination, payload: payload, at: time, comment: comment) { udp in
            udp.appendBigEndian(sourcePort)
            udp.appendBigEndian(destinationPort)
            udp.appendBigEndian(UInt16(truncatingIfNeeded: 8 + payload.count))
            udp.appendBigEndian(UInt16(0))  // checksum, set by `emitPacket`
        }
        if written { udpComments[key] = nil }
    }

    // MARK: Packets

    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let fin = Flags(rawValue: 0x01)
        static let syn = Flags(rawValue: 0x02)
        static let rst = Flags(rawValue: 0x04)
        static let psh = Flags(rawValue: 0x08)
        static let ack = Flags(rawValue: 0x10)
    }

    private mutating func handshake(_ flow: inout TCPFlow, comment: String, at time: Int64) {
        let client = flow.initiatedLocally
        segment(&flow, fromLocal: client, flags: [.syn], at: time, comment: comment)
        segment(&flow, fromLocal: !client, flags: [.syn, .ack], at: time)
        segment(&flow, fromLocal: client, flags: [.ack], at: time)
    }

    /// One TCP segment from one side, with the sequence numbers where the flow stands; SYN and
    /// FIN take one number, as on the wire.
    private mutating func segment(_ flow: inout TCPFlow, fromLocal: Bool, flags: Flags,
                                  payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                                  at time: Int64, comment: String? = nil) {
        let (source, destination) = fromLocal ? (flow.local, flow.remote) : (flow.remote, flow.local)
        guard let sourcePort = source.port, let destinationPort = destination.port else { return }
        let sequence = fromLocal ? flow.localNext : flow.remoteNext
        let acknowledged = fromLocal ? flow.remoteNext : flow.localNext
        let isSYN = flags.contains(.syn)
        let written = emitPacket(protocol: 6, from: source, to: destination, payload: payload, at: time, comment: comment) { tcp in
            tcp.appendBigEndian(sourcePort)
            tcp.appendBigEndian(destinationPort)
            tcp.appendBigEndian(sequence)
            tcp.appendBigEndian(flags.contains(.ack) ? acknowledged : 0)
            tcp.append((isSYN ? 7 : 5) << 4)  // data offset in 32-bit words
            tcp.append(flags.rawValue)
            tcp.appendBigEndian(UInt16(65_535))  // window (scaled by 2^14 after the handshake)
            tcp.appendBigEndian(UInt16(0))  // checksum, set by `emitPacket`
            tcp.appendBigEndian(UInt16(0))  // urgent pointer
            if isSYN {
                tcp.appendBigEndian(UInt32(0x0204_FFD7))  // MSS 65 495
                tcp.appendBigEndian(UInt32(0x0103_0300 | UInt32(Self.windowScale)))  // NOP, window scale
            }
        }
        guard written else { return }
        let advance = UInt32(payload.count) &+ (isSYN || flags.contains(.fin) ? 1 : 0)
        if fromLocal { flow.localNext &+= advance } else { flow.remoteNext &+= advance }
    }

    /// Writes one packet: its IP header, the transport header `transport` appends (a TCP or
    /// UDP header, whose checksum is filled in here), and `payload`; IPv4 or IPv6 as the
    /// addresses are. False (nothing written) for addresses that are not IP or a payload too
    /// large. The headers are built in `headers`, kept from packet to packet: no allocation per packet.
    private mutating func emitPacket(protocol number: UInt8, from source: SocketEndpoint, to destination: SocketEndpoint,
                                     payload: UnsafeRawBufferPointer, at time: Int64, comment: String?,
                                     transport: (inout [UInt8]) -> Void) -> Bool {
        var header = headers
        headers = []
        defer { headers = header }
        header.removeAll(keepingCapacity: true)
        var sum = Checksum()
        let ipLength: Int
        switch (source, destination) {
        case (.ipv4(let from, _), .ipv4(let to, _)):
            ipLength = 20
            header.appendBigEndian(UInt32(0x4500_0000))  // version 4, header 5 words; total length below
            header.appendBigEndian(UInt32(0x0000_4000))  // id 0, DF
            header.append(64); header.append(number)  // TTL 64
            header.appendBigEndian(UInt16(0))  // header checksum below
            header.appendBigEndian(from.value)
            header.appendBigEndian(to.value)
            sum.add(from.value); sum.add(to.value)
        case (.ipv6(let from, _), .ipv6(let to, _)):
            ipLength = 40
            header.appendBigEndian(UInt32(0x6000_0000))
            header.appendBigEndian(UInt16(0))  // payload length below
            header.append(number); header.append(64)
            header.appendBigEndian(from.high); header.appendBigEndian(from.low)
            header.appendBigEndian(to.high); header.appendBigEndian(to.low)
            header.withUnsafeBytes { sum.add(UnsafeRawBufferPointer(rebasing: $0[8..<40])) }
        default:
            return false
        }
        transport(&header)
        let length = header.count - ipLength + payload.count
        if ipLength == 20 {
            guard 20 + length <= 65_535 else { return false }
            header.setBigEndian(UInt16(truncatingIfNeeded: 20 + length), at: 2)
            let ipChecksum = header.withUnsafeBytes { bytes in
                var c = Checksum(); c.add(UnsafeRawBufferPointer(rebasing: bytes[0..<20])); return c.value
            }
            header.setBigEndian(ipChecksum, at: 10)
        } else {
            header.setBigEndian(UInt16(truncatingIfNeeded: length), at: 4)
        }
        sum.add(UInt32(number)); sum.add(UInt32(length))
        header.withUnsafeBytes { sum.add(UnsafeRawBufferPointer(rebasing: $0[ipLength...])) }
        sum.add(payload)
        var checksum = sum.value
        if number == 17 && checksum == 0 { checksum = 0xFFFF }  // UDP: 0 means "none"
        header.setBigEndian(checksum, at: ipLength + (number == 6 ? 16 : 6))
        writer.packet(microseconds: time, header: header, payload: payload, comment: comment)
        packets += 1
        return true
    }
}

/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
/// 16-bit big-endian words. Every piece added but the last must have an even length. The
/// packets of a capture and the echo requests of `ping` and step mode use it.
public struct Checksum {
    private var sum: UInt64 = 0

    public init() {}

    /// The checksum of `bytes` alone (a message whose checksum field is 0).
    public static func of(_ bytes: [UInt8]) -> UInt16 {
        var checksum = Checksum()
        bytes.withUnsafeBytes { checksum.add($0) }
        return checksum.value
    }

    mutating func add(_ word: UInt32) { sum &+= UInt64(word >> 16) &+ UInt64(word & 0xFFFF) }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        // Eight bytes at a time: the sum of 32-bit big-endian halves folds to the same result.
        while index + 8 <= count {
            let word = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            sum &+= (word >> 32) &+ (word & 0xFFFF_FFFF)
            index += 8
        }
        while index + 2 <= count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { sum &+= UInt64(bytes[index]) << 8 }
    }

    public var value: UInt16 {
        var folded = sum
        while folded > 0xFFFF { folded = (folded >> 16) &+ (folded & 0xFFFF) }
        return ~UInt16(folded)
    }
}

extension [UInt8] {
    fileprivate mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func setBigEndian(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xFF)
    }
}
