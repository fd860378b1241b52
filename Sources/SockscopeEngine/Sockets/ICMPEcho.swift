import Glibc
import SockscopeCore

/// ICMP echo, one place for `ping` (`PingLoop`) and step mode's `socket raw icmp` (`LabEngine`):
/// which socket the process may open, the echo request's bytes, and what a received message says.
enum ICMPEcho {
    /// An open ICMP socket: raw when the process may (CAP_NET_RAW), else a datagram one.
    struct Opened {
        var fd: CInt
        var method: PingMethod
        /// Why the raw socket was refused, when the datagram one was opened instead.
        var rawErrno: Int32?
    }

    /// Neither socket may be opened.
    struct Refusal: Error {
        var rawErrno: Int32
        var datagramErrno: Int32

        /// The errno to report: EPERM when the raw socket was refused for want of the capability.
        var errno: Int32 { rawErrno == EPERM ? EPERM : datagramErrno }

        /// Names both ways to be allowed, with the machine's net.ipv4.ping_group_range.
        var explanation: String {
            PingMethod.neitherAllowed(rawErrno: ICMPEcho.errnoName(rawErrno), datagramErrno: ICMPEcho.errnoName(datagramErrno),
                                      groupRange: ProcFile.read("/proc/sys/net/ipv4/ping_group_range"))
        }
    }

    static func protocolNumber(ipv6: Bool) -> Int32 { ipv6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP) }

    /// A non-blocking ICMP socket of `family`: SOCK_RAW first, SOCK_DGRAM when that is refused.
    static func open(family: Int32) -> Result<Opened, Refusal> {
        let proto = protocolNumber(ipv6: family == AF_INET6)
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let raw = socket(family, Int32(SOCK_RAW.rawValue) | flags, proto)
        if raw >= 0 { return .success(Opened(fd: raw, method: .raw, rawErrno: nil)) }
        let rawErrno = errno
        let datagram = socket(family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        if datagram >= 0 { return .success(Opened(fd: datagram, method: .datagram, rawErrno: rawErrno)) }
        return .failure(Refusal(rawErrno: rawErrno, datagramErrno: errno))
    }

    static func errnoName(_ code: Int32) -> String { ErrnoCatalog.entry(for: code)?.name ?? "errno \(code)" }

    /// An echo request: type 8 (ICMPv6: 128), code 0, identifier, sequence, then `payload`.
    /// The checksum is ours only on a raw IPv4 socket (ICMPv6's and a datagram socket's are the kernel's).
    static func request(identifier: UInt16, sequence: UInt16, payload: [UInt8], ipv6: Bool, method: PingMethod) -> [UInt8] {
        var message = [UInt8](repeating: 0, count: 8)
        message[0] = ipv6 ? 128 : 8
        message[4] = UInt8(identifier >> 8)
        message[5] = UInt8(identifier & 0xFF)
        message[6] = UInt8(sequence >> 8)
        message[7] = UInt8(sequence & 0xFF)
        message += payload
        if !ipv6, method == .raw {
            let sum = Checksum.of(message)
            message[2] = UInt8(sum >> 8)
            message[3] = UInt8(sum & 0xFF)
        }
        return message
    }

    /// What `bytes` (a whole datagram as recvfrom returned it) holds: the ICMP message, after the
    /// IPv4 header an IPv4 raw socket reads first. Nil when too short to be one.
    static func decode(_ bytes: UnsafeRawBufferPointer, ipv6: Bool, method: PingMethod) -> ICMPMessage? {
        var start = 0
        var header: IPv4HeaderSummary?
        if !ipv6, method == .raw {
            guard bytes.count >= 20 else { return nil }
            start = Int(bytes[0] & 0x0F) * 4
            guard start >= 20, bytes.count >= start else { return nil }
            func address(_ at: Int) -> String { "\(bytes[at]).\(bytes[at + 1]).\(bytes[at + 2]).\(bytes[at + 3])" }
            header = IPv4HeaderSummary(headerBytes: start, totalLength: Int(bytes[2]) << 8 | Int(bytes[3]), ttl: Int(bytes[8]),
                                       protocolNumber: Int(bytes[9]), source: address(12), destination: address(16))
        }
        guard bytes.count >= start + 8 else { return nil }
        let data = UnsafeRawBufferPointer(rebasing: bytes[(start + 8)...])
        return ICMPMessage(isIPv6: ipv6, type: Int(bytes[start]), code: Int(bytes[start + 1]),
                           checksum: Int(bytes[start + 2]) << 8 | Int(bytes[start + 3]),
                           identifier: Int(bytes[start + 4]) << 8 | Int(bytes[start + 5]),
                           sequence: Int(bytes[start + 6]) << 8 | Int(bytes[start + 7]),
                           payload: Array(data.prefix(DataPreview.limit)), payloadCount: data.count, ipHeader: header)
    }

    static func decode(_ bytes: [UInt8], ipv6: Bool, method: PingMethod) -> ICMPMessage? {
        bytes.withUnsafeBytes { decode($0, ipv6: ipv6, method: method) }
    }

    /// The identifier the kernel gives a datagram socket's echoes: its "port", set when it is
    /// bound (bound now to the wildcard address if it is not yet). Nil for a raw socket.
    static func datagramIdentifier(_ fd: CInt, family: Int32) -> UInt16? {
        if let port = RawSocket.localAddress(fd)?.port, port != 0 { return port }
        guard let any = RawSocket.Address(.wildcard(ipv6: family == AF_INET6, port: 0)),
              RawSocket.bind(fd, any).errno == nil else { return nil }
        return RawSocket.localAddress(fd)?.port
    }
}
