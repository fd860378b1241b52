import CSystemShim
import Glibc
import NIOCore
import SockscopeCore

/// `ping HOST`: ICMP echo requests from a thread of their own (a `BackgroundJob`), with a raw
/// socket when the process may (CAP_NET_RAW), else an ICMP datagram socket where
/// net.ipv4.ping_group_range admits its group, else an error that names both ways.
struct PingLoop {
    private let ping: PingRequest
    private let endpoint: SocketEndpoint
    private var address: RawSocket.Address
    private let fd: CInt
    private let method: PingMethod
    private let isIPv6: Bool
    /// Ours on a raw socket; the kernel's (the socket's "port") on a datagram socket, which
    /// delivers only replies carrying it.
    private let identifier: UInt16
    private let stopFD: CInt
    private let request: RequestID
    private let deliver: @Sendable ([EngineEvent]) -> Void
    private var events: [EngineEvent] = []

    /// Opens the socket; the failure names both ways to be allowed when neither is.
    static func open(_ ping: PingRequest, address: SocketAddress, stopFD: CInt, request: RequestID,
                     deliver: @escaping @Sendable ([EngineEvent]) -> Void) -> Result<PingLoop, SocketFailure> {
        let raw = RawSocket.address(address)
        let isIPv6 = raw.family == AF_INET6
        let proto = isIPv6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var method = PingMethod.raw
        var fd = socket(raw.family, Int32(SOCK_RAW.rawValue) | flags, proto)
        let rawErrno = errno
        if fd < 0 {
            method = .datagram
            fd = socket(raw.family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        }
        guard fd >= 0 else {
            let datagramErrno = errno
            var failure = SocketFailure.system(call: "socket", errno: rawErrno == EPERM ? EPERM : datagramErrno,
                                               target: ping.host)
            failure.explanation = PingMethod.neitherAllowed(
                rawErrno: ErrnoCatalog.entry(for: rawErrno)?.name ?? "errno \(rawErrno)",
                datagramErrno: ErrnoCatalog.entry(for: datagramErrno)?.name ?? "errno \(datagramErrno)",
                groupRange: ProcFile.read("/proc/sys/net/ipv4/ping_group_range"))
            return .failure(failure)
        }
        var identifier = UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...UInt16.max)
        if method == .datagram, let local = RawSocket.localAddress(fd) ?? Self.boundLocal(fd, family: raw.family) {
            identifier = local.port ?? identifier
        }
        return .success(PingLoop(ping: ping, endpoint: SocketEndpoint(address), address: raw, fd: fd, method: method,
                                 isIPv6: isIPv6, identifier: identifier, stopFD: stopFD, request: request, deliver: deliver))
    }

    /// A datagram ICMP socket gets its identifier when it is bound (or sends first): bind it now to know it.
    private static func boundLocal(_ fd: CInt, family: Int32) -> SocketEndpoint? {
        guard let any = RawSocket.Address(.wildcard(ipv6: family == AF_INET6, port: 0)),
              RawSocket.bind(fd, any).errno == nil else { return nil }
        return RawSocket.localAddress(fd)
    }

    private init(ping: PingRequest, endpoint: SocketEndpoint, address: RawSocket.Address, fd: CInt, method: PingMethod,
                 isIPv6: Bool, identifier: UInt16, stopFD: CInt, request: RequestID,
                 deliver: @escaping @Sendable ([EngineEvent]) -> Void) {
        self.ping = ping
        self.endpoint = endpoint
        self.address = address
        self.fd = fd
        self.method = method
        self.isIPv6 = isIPv6
        self.identifier = identifier
        self.stopFD = stopFD
        self.request = request
        self.deliver = deliver
    }

    /// Sends `count` echo requests, one per interval, and reports each reply or loss as it
    /// happens; returns the events still to report, the summary last. Closes the socket.
    mutating func run() -> [EngineEvent] {
        defer { close(fd) }
        let began = ScanLoop.monotonic()
        let interval = UInt64(ping.intervalMilliseconds) * 1_000_000
        let timeout = UInt64(ping.timeoutMilliseconds) * 1_000_000
        var nextSend = began
        var sent = 0
        var outstanding: [Int: UInt64] = [:]
        var times: [Int] = []
        var stopped = false
        report(.started(PingStart(host: ping.host, address: endpoint, method: method, count: ping.count,
                                  intervalMilliseconds: ping.intervalMilliseconds, timeoutMilliseconds: ping.timeoutMilliseconds,
                                  payloadBytes: PingRequest.payloadBytes)))
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var now = ScanLoop.monotonic()
            if sent < ping.count, now >= nextSend {
                sent += 1
                if let failure = send(sequence: sent) {
                    events.append(EngineEvent(time: .now(), request: request, kind: .error(nil, failure)))
                    stopped = true
                    break
                }
                outstanding[sent] = now
                nextSend += interval
            }
            for (sequence, at) in outstanding.sorted(by: { $0.key < $1.key }) where now - at >= timeout {
                outstanding[sequence] = nil
                report(.lost(sequence: sequence, waitedMilliseconds: ping.timeoutMilliseconds))
            }
            if sent == ping.count, outstanding.isEmpty { break }
            let deadlines = outstanding.values.map { $0 + timeout } + (sent < ping.count ? [nextSend] : [])
            let wait = deadlines.min().map { $0 > now ? Int32(clamping: ($0 - now + 999_999) / 1_000_000) : 0 } ?? -1
            var watched = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&watched, 2, wait)
            if watched[1].revents != 0 {
                stopped = true
                break
            }
            guard watched[0].revents != 0 else { continue }
            now = ScanLoop.monotonic()
            while let (reply, sequence) = receive(into: &buffer), let sentAt = outstanding.removeValue(forKey: sequence) {
                let rtt = Int((now - sentAt) / 1000)
                times.append(rtt)
                var answered = reply
                answered.rttMicroseconds = rtt
                report(.reply(answered))
            }
        }
        let summary = PingSummary(
            address: endpoint, sent: sent, received: times.count, minimumMicroseconds: times.min(),
            averageMicroseconds: times.isEmpty ? nil : times.reduce(0, +) / times.count, maximumMicroseconds: times.max(),
            elapsedMicroseconds: Int((ScanLoop.monotonic() - began) / 1000), stopped: stopped)
        events.append(EngineEvent(time: .now(), request: request, kind: .ping(.finished(summary))))
        return events
    }

    private mutating func report(_ event: PingEvent) {
        deliver([EngineEvent(time: .now(), request: request, kind: .ping(event))])
    }

    /// One echo request: type 8 (ICMPv6: 128), code 0, identifier, sequence, 56 bytes of data.
    private mutating func send(sequence: Int) -> SocketFailure? {
        var message = [UInt8](repeating: 0, count: 8 + PingRequest.payloadBytes)
        message[0] = isIPv6 ? 128 : 8
        message[4] = UInt8(identifier >> 8)
        message[5] = UInt8(identifier & 0xFF)
        message[6] = UInt8((sequence >> 8) & 0xFF)
        message[7] = UInt8(sequence & 0xFF)
        for index in 8..<message.count { message[index] = UInt8(truncatingIfNeeded: index) }
        // ICMPv6 checksums (and every datagram socket's) are the kernel's; a raw IPv4 socket's are ours.
        if !isIPv6, method == .raw {
            let sum = Self.checksum(message)
            message[2] = UInt8(sum >> 8)
            message[3] = UInt8(sum & 0xFF)
        }
        let count = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, address.length)
                }
            }
        }
        return count < 0 ? .system(call: "sendto", errno: errno, target: ping.host) : nil
    }

    /// The next echo reply to us waiting on the socket, if any; other ICMP (our own requests
    /// on loopback, other programs' replies on a raw socket) is skipped.
    private func receive(into buffer: inout [UInt8]) -> (PingReply, Int)? {
        while true {
            var from = RawSocket.Address()
            from.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from.storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &from.length)
                    }
                }
            }
            guard count > 0 else { return nil }
            // An IPv4 raw socket reads the IP header too: its length is in the first byte.
            var start = 0
            var ttl: Int?
            if !isIPv6, method == .raw {
                start = Int(buffer[0] & 0x0F) * 4
                ttl = Int(buffer[8])
            }
            guard count >= start + 8 else { continue }
            let type = buffer[start]
            let identifier = UInt16(buffer[start + 4]) << 8 | UInt16(buffer[start + 5])
            let sequence = Int(buffer[start + 6]) << 8 | Int(buffer[start + 7])
            guard type == (isIPv6 ? 129 : 0), method == .datagram || identifier == self.identifier else { continue }
            let sender = withUnsafeBytes(of: &from.storage) {
                SocketEndpoint(kernel: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(from.length))))
            }
            return (PingReply(sequence: sequence, from: sender, bytes: count - start, ttl: ttl, rttMicroseconds: 0), sequence)
        }
    }

    /// The Internet checksum (RFC 1071) of an ICMP message whose checksum field is 0.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
