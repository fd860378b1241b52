@testable import SockscopeCore
import Testing

/// The packets `PacketSynthesis` writes for what sockets did, read back from its pcapng bytes.
/// (The engine's capture tests check the same files with tshark and a second reader.)
@Suite struct PacketSynthesisTests {
    /// One TCP segment as the file has it.
    struct Segment: Equatable, CustomStringConvertible {
        var fromClient: Bool
        var flags: String
        var sequence: UInt32
        var acknowledged: UInt32
        var payload: Int
        var description: String { "\(fromClient ? "c>s" : "s>c") \(flags) seq \(sequence) ack \(acknowledged) len \(payload)" }
    }

    static let client = SocketEndpoint.ipv4(IPv4Address(0x7F00_0001), port: 40000)
    static let server = SocketEndpoint.ipv4(IPv4Address(0x7F00_0001), port: 7)

    /// A connection we opened to `server`, as packets after the handshake.
    static func segments(_ actions: (inout PacketSynthesis, PacketSynthesis.FlowKey) -> Void) -> [Segment] {
        var synthesis = PacketSynthesis()
        synthesis.writer.fileHeader()
        let key = PacketSynthesis.FlowKey(1)
        synthesis.openTCP(key, local: client, remote: server, initiatedLocally: true, name: "C1", comment: "C1", at: 0)
        actions(&synthesis, key)
        return Array(decode(synthesis.writer.take()).dropFirst(3))
    }

    /// TCP segments out of pcapng blocks (LINKTYPE_RAW, IPv4).
    static func decode(_ file: [UInt8]) -> [Segment] {
        func u32le(_ at: Int) -> Int { Int(file[at]) | Int(file[at + 1]) << 8 | Int(file[at + 2]) << 16 | Int(file[at + 3]) << 24 }
        func u32be(_ at: Int) -> UInt32 { file[at ..< at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        var segments: [Segment] = []
        var offset = 0
        while offset < file.count {
            let (type, length) = (u32le(offset), u32le(offset + 4))
            if type == 6 {
                let ip = offset + 28
                let tcp = ip + Int(file[ip] & 0x0F) * 4
                let total = Int(file[ip + 2]) << 8 | Int(file[ip + 3])
                let flagBits = file[tcp + 13]
                let names: [(UInt8, String)] = [(0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "A")]
                segments.append(Segment(fromClient: (Int(file[tcp]) << 8 | Int(file[tcp + 1])) == 40000,
                                        flags: names.filter { flagBits & $0.0 != 0 }.map(\.1).joined(),
                                        sequence: u32be(tcp + 4), acknowledged: u32be(tcp + 8),
                                        payload: total - (tcp - ip) - Int(file[tcp + 12] >> 4) * 4))
            }
            offset += length
        }
        return segments
    }

    @Test func aReplyCarriesTheAcknowledgementOfItsRequest() {
        let request: [UInt8] = Array("ping\n".utf8), reply: [UInt8] = Array("pong!\n".utf8)
        let segments = Self.segments { synthesis, key in
            request.withUnsafeBytes { synthesis.tcpData(key, fromLocal: true, $0, at: 1) }
            reply.withUnsafeBytes { synthesis.tcpData(key, fromLocal: false, $0, at: 2) }
            request.withUnsafeBytes { synthesis.tcpData(key, fromLocal: true, $0, at: 3) }
            synthesis.settleAcks()
        }
        let (c, s): (UInt32, UInt32) = (0x1000_0001, 0x5000_0001)
        #expect(segments == [
            Segment(fromClient: true, flags: "PA", sequence: c, acknowledged: s, payload: 5),
            // The reply acknowledges the request: no ACK of its own in between.
            Segment(fromClient: false, flags: "PA", sequence: s, acknowledged: c + 5, payload: 6),
            Segment(fromClient: true, flags: "PA", sequence: c + 5, acknowledged: s + 6, payload: 5),
            // Owed at the end, and written when settled.
            Segment(fromClient: false, flags: "A", sequence: s + 6, acknowledged: c + 10, payload: 0),
        ], "\(segments)")
    }

    @Test func dataOneWayIsAcknowledgedBeforeTheSenderSendsAgainAndBeforeAFin() {
        let chunk = [UInt8](repeating: 0x41, count: 100)
        let segments = Self.segments { synthesis, key in
            chunk.withUnsafeBytes { synthesis.tcpData(key, fromLocal: false, $0, at: 1) }
            chunk.withUnsafeBytes { synthesis.tcpData(key, fromLocal: false, $0, at: 2) }
            synthesis.tcpFin(key, fromLocal: false, at: 3)
        }
        #expect(segments.map(\.flags) == ["PA", "A", "PA", "A", "FA", "A"], "\(segments)")
        #expect(segments[1].acknowledged == 0x5000_0001 + 100 && segments[3].acknowledged == 0x5000_0001 + 200)
    }

    @Test func aGapIsNotAcknowledged() {
        let chunk = [UInt8](repeating: 0x41, count: 10)
        let segments = Self.segments { synthesis, key in
            chunk.withUnsafeBytes { synthesis.tcpData(key, fromLocal: true, $0, at: 1) }
            synthesis.tcpGap(key, fromLocal: true, count: 90)
            synthesis.settleAcks()
        }
        // The ACK acknowledges the 10 bytes in the file, not the 90 that are not.
        #expect(segments.map(\.flags) == ["PA", "A"] && segments[1].acknowledged == 0x1000_0001 + 10, "\(segments)")
    }

    @Test func aClosedConnectionSettlesItsAck() {
        let chunk = [UInt8](repeating: 0x41, count: 10)
        let segments = Self.segments { synthesis, key in
            chunk.withUnsafeBytes { synthesis.tcpData(key, fromLocal: true, $0, at: 1) }
            synthesis.forget(key)
            synthesis.settleAcks()
        }
        #expect(segments.map(\.flags) == ["PA", "A"], "\(segments)")
    }
}
