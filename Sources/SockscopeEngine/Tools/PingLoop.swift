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

    /// Opens the socket (`ICMPEcho.open`); the failure names both ways to be allowed when neither is.
    static func open(_ ping: PingRequest, address: SocketAddress, stopFD: CInt, request: RequestID,
                     deliver: @escaping @Sendable ([EngineEvent]) -> Void) -> Result<PingLoop, SocketFailure> {
        let raw = RawSocket.address(address)
        let isIPv6 = raw.family == AF_INET6
        let opened: ICMPEcho.Opened
        switch ICMPEcho.open(family: raw.family) {
        case .success(let socket): opened = socket
        case .failure(let refusal):
            var failure = SocketFailure.system(call: "socket", errno: refusal.errno, target: ping.host)
            failure.explanation = refusal.explanation
            return .failure(failure)
        }
        // A datagram socket's identifier is the kernel's (the socket's "port"), which delivers only replies carrying it.
        let identifier = opened.method == .datagram ? ICMPEcho.datagramIdentifier(opened.fd, family: raw.family) ?? 0
            : UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...UInt16.max)
        return .success(PingLoop(ping: ping, endpoint: SocketEndpoint(address), address: raw, fd: opened.fd,
                                 method: opened.method, isIPv6: isIPv6, identifier: identifier, stopFD: stopFD,
                                 request: request, deliver: deliver))
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

    /// One echo request with ping(8)'s 56 bytes of data.
    private mutating func send(sequence: Int) -> SocketFailure? {
        let payload = (8..<(8 + PingRequest.payloadBytes)).map { UInt8(truncatingIfNeeded: $0) }
        let message = ICMPEcho.request(identifier: identifier, sequence: UInt16(truncatingIfNeeded: sequence), payload: payload,
                                       ipv6: isIPv6, method: method)
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
            guard let message = buffer.withUnsafeBytes({
                ICMPEcho.decode(UnsafeRawBufferPointer(rebasing: $0.prefix(count)), ipv6: isIPv6, method: method)
            }), message.isEchoReply, method == .datagram || message.identifier == Int(identifier) else { continue }
            return (PingReply(sequence: message.sequence, from: from.endpoint, bytes: 8 + message.payloadCount,
                              ttl: message.ipHeader?.ttl, rttMicroseconds: 0), message.sequence)
        }
    }
}
