/// Parsers for the kernel's socket tables (`/proc/net/tcp`, `tcp6`, `udp`,
/// `udp6`, `unix`) and counters (`/proc/net/netstat`). Pure: callers read the
/// files; tests feed fixtures. Malformed lines are skipped, never trusted.
public enum ProcNet {
    /// One row of `/proc/net/tcp*` or `/proc/net/udp*`.
    public struct InetSocket: Hashable, Sendable {
        public var local: SocketEndpoint
        public var remote: SocketEndpoint
        /// The kernel's state number (TCPState for TCP; UDP reports 7 unconnected, 1 connected).
        public var state: Int
        /// Bytes sent and not yet acknowledged (ss's Send-Q for a connection).
        public var transmitQueue: Int
        /// For LISTEN: connections waiting in the accept queue (ss -ltn's Recv-Q);
        /// otherwise bytes received and not yet read by the program.
        public var receiveQueue: Int
        public var uid: Int
        public var inode: UInt64
        /// The kernel timer running for the socket: 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 zero-window probe.
        public var timer = 0
        /// Clock ticks (USER_HZ, 100 a second) until the timer fires: TIME-WAIT's countdown.
        public var timerTicks = 0

        /// Seconds until the timer fires, when one runs.
        public var timerSeconds: Double? { timer == 0 ? nil : Double(timerTicks) / 100 }
    }

    /// One row of `/proc/net/unix`.
    public struct UnixSocket: Hashable, Sendable {
        /// 1 stream, 2 datagram, 5 seqpacket.
        public var type: Int
        /// 1 unconnected, 2 connecting, 3 connected, 4 disconnecting.
        public var state: Int
        public var listening: Bool
        public var inode: UInt64
        /// The path, `@name` for abstract sockets, or empty for unnamed ones, as the kernel prints it.
        public var path: String

        /// The socket's name: an abstract name's NULs are shown by the kernel as `@`, so that is what it holds.
        public var endpoint: SocketEndpoint { path.isEmpty ? .unnamed : .unix(path) }
    }

    public static func parseInet(_ text: String, ipv6: Bool) -> [InetSocket] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10,
                  let local = address(fields[1], ipv6: ipv6), let remote = address(fields[2], ipv6: ipv6),
                  let state = Int(fields[3], radix: 16) else { return nil }
            let queues = fields[4].split(separator: ":")
            guard queues.count == 2, let tx = Int(queues[0], radix: 16), let rx = Int(queues[1], radix: 16),
                  let uid = Int(fields[7]), let inode = UInt64(fields[9]) else { return nil }
            var socket = InetSocket(local: local, remote: remote, state: state,
                                    transmitQueue: tx, receiveQueue: rx, uid: uid, inode: inode)
            // `tr:tm->when`, e.g. `03:00000F9E`: a TIME-WAIT timer with 0xF9E ticks to go.
            let timer = fields[5].split(separator: ":")
            if timer.count == 2, let kind = Int(timer[0], radix: 16), let ticks = Int(timer[1], radix: 16) {
                socket.timer = kind
                socket.timerTicks = ticks
            }
            return socket
        }
    }

    public static func parseUnix(_ text: String) -> [UnixSocket] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
            guard fields.count >= 7, let flags = Int(fields[3], radix: 16), let type = Int(fields[4], radix: 16),
                  let state = Int(fields[5], radix: 16), let inode = UInt64(fields[6]) else { return nil }
            var path = fields.count > 7 ? String(fields[7]) : ""
            // The kernel shows an abstract name's leading NUL as '@'.
            if path.hasPrefix("@") == false, path.first == "\0" { path = "@" + path.dropFirst() }
            return UnixSocket(type: type, state: state, listening: flags & 0x10000 != 0, inode: inode, path: path)
        }
    }

    /// `/proc/net/netstat` and `/proc/net/snmp` hold pairs of lines: names, then values,
    /// both led by the same `Group:`. Keys join the group and the name: `TcpExtListenDrops`.
    ///
    /// `only` keeps just those keys, and skips unsplit every group it names none of: the
    /// probe wants two of ~150 counters, and building all of them cost ~4 million
    /// instructions (over a millisecond of the event loop) per sample.
    public static func parseCounters(_ text: String, only keys: Set<String>? = nil) -> [String: Int] {
        // Bytes, not Characters: the file is ASCII, and splitting its 4 KB by Character
        // alone cost ~3 million instructions.
        let space = UInt8(ascii: " ")
        let lines = Array(text.utf8).split(separator: UInt8(ascii: "\n"))
        var counters: [String: Int] = [:]
        var index = 0
        while index + 1 < lines.count {
            let names = lines[index], values = lines[index + 1]
            let group = names.prefix { $0 != space }
            guard !group.isEmpty, values.prefix(while: { $0 != space }).elementsEqual(group) else {
                index += 1
                continue
            }
            index += 2
            let prefix = String(decoding: group.dropLast(), as: UTF8.self)
            let wanted = keys?.filter { $0.hasPrefix(prefix) }
            if wanted?.isEmpty == true { continue }
            for (name, value) in zip(names.split(separator: space).dropFirst(), values.split(separator: space).dropFirst()) {
                let key = prefix + String(decoding: name, as: UTF8.self)
                guard wanted?.contains(key) ?? true, let number = Int(String(decoding: value, as: UTF8.self)) else { continue }
                counters[key] = number
            }
        }
        return counters
    }

    /// `0100007F:1F90` → 127.0.0.1:8080: the address in the kernel's byte order, as 32-bit words
    /// in host (little-endian) order; IPv6 is four of them.
    static func address(_ field: Substring, ipv6: Bool) -> SocketEndpoint? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { return nil }
        let hex = parts[0].utf8
        guard hex.count == (ipv6 ? 32 : 8) else { return nil }
        var bytes: [UInt8] = []
        var start = hex.startIndex
        while start < hex.endIndex {
            let end = hex.index(start, offsetBy: 8)
            guard let word = UInt32(Substring(hex[start..<end]), radix: 16) else { return nil }
            for shift in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(shift)))) }
            start = end
        }
        if ipv6 { return .ipv6(IPv6Address(bytes: bytes), port: port) }
        return .ipv4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]), port: port)
    }
}
