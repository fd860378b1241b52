/// Writes pcapng blocks (the format Wireshark and tshark read natively; the IETF draft
/// "PCAP Next Generation Dump File Format"), little-endian, into a byte array.
///
/// Why pcapng and not classic pcap: it carries a comment per packet (each connection's first
/// packet names its sockscope id, `C3`) and a Decryption Secrets Block (a TLS key log inside
/// the file, so Wireshark decrypts without a key file); pcap has neither. Packets are raw IP
/// (LINKTYPE_RAW: IPv4 and IPv6 in one interface), with headers synthesised by `PacketSynthesis`.
/// No I/O: the engine's capture writer and `save PATH.pcapng` both encode with it.
public struct PcapngWriter: Sendable {
    /// The encoded blocks not yet taken.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// The blocks encoded so far, leaving the writer empty.
    public mutating func take() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    /// A file starts with a Section Header Block and the one interface every packet names.
    public mutating func fileHeader(application: String = "sockscope") {
        block(type: 0x0A0D_0D0A) { w in
            w.u32(0x1A2B_3C4D)  // byte-order magic
            w.u16(1); w.u16(0)  // version 1.0
            w.u64(UInt64.max)  // section length: not given
            w.option(4, Array(application.utf8))  // shb_userappl
            w.endOfOptions()
        }
        block(type: 1) { w in  // Interface Description Block
            w.u16(101)  // LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header
            w.u16(0)
            w.u32(0)  // snaplen: no limit
            w.option(2, Array("sockscope".utf8))  // if_name
            w.endOfOptions()
        }
    }

    /// A Decryption Secrets Block holding TLS key log lines (NSS format), as Wireshark reads them.
    /// It must come before the packets it decrypts.
    public mutating func tlsKeyLog(_ lines: [UInt8]) {
        block(type: 0x0000_000A) { w in
            w.u32(0x544C_534B)  // "TLSK"
            w.u32(UInt32(lines.count))
            w.bytes.append(contentsOf: lines)
            w.pad()
        }
    }

    /// An Enhanced Packet Block: `header` then `payload`, at `microseconds` since the epoch.
    public mutating func packet(microseconds: Int64, header: [UInt8], payload: UnsafeRawBufferPointer, comment: String?) {
        let length = header.count + payload.count
        block(type: 6) { w in
            w.u32(0)  // interface 0
            let time = UInt64(max(0, microseconds))
            w.u32(UInt32(truncatingIfNeeded: time >> 32))
            w.u32(UInt32(truncatingIfNeeded: time))
            w.u32(UInt32(length)); w.u32(UInt32(length))
            w.bytes.append(contentsOf: header)
            w.bytes.append(contentsOf: payload)
            w.pad()
            if let comment {
                w.option(1, Array(comment.utf8))  // opt_comment
                w.endOfOptions()
            }
        }
    }

    // MARK: Encoding

    private mutating func block(type: UInt32, _ body: (inout PcapngWriter) -> Void) {
        let start = bytes.count
        u32(type)
        u32(0)  // total length, set below
        body(&self)
        let total = UInt32(bytes.count - start + 4)
        u32(total)
        withUnsafeBytes(of: total.littleEndian) { bytes.replaceSubrange(start + 4 ..< start + 8, with: $0) }
    }

    private mutating func option(_ code: UInt16, _ value: [UInt8]) {
        u16(code)
        u16(UInt16(value.count))
        bytes.append(contentsOf: value)
        pad()
    }

    private mutating func endOfOptions() { u32(0) }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
}
