import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// A UNIX datagram socket: a "listener" bound at a name (it receives from anyone and can
/// answer each sender), or a client connected to one (autobound, so its peer can answer).
///
/// Why not NIO's datagram channel: a datagram from an unbound sender (any `socat` or
/// Python client that just calls `sendto`) arrives with no address at all, and NIO then
/// closes the whole channel (or trips a precondition with vector reads). So the engine
/// drives these sockets itself. All socket I/O, events and state stay on the socket's event
/// loop; a small watcher thread only blocks in poll(2) and tells the loop "readable", then
/// waits until the loop has drained the socket before polling again. The kernel's queue
/// is the backpressure: a slow loop leaves datagrams there, and senders block.
final class UnixDatagramSocket: NamedDatagramControl {
    enum Role {
        /// Bound at `name`; `mode` says how to answer each datagram.
        case listener(ListenMode, name: UnixSocketName)
        /// Connected by a `.connect` request.
        case connected
    }

    /// Where a datagram came from, exactly as the kernel gave it, to answer it.
    struct Peer {
        var address = sockaddr_un()
        var length: socklen_t = 0

        /// A path, an abstract name, or `.unnamed` for a sender that never bound.
        var endpoint: SocketEndpoint {
            withUnsafeBytes(of: address) { raw in
                SocketEndpoint(kernel: UnsafeRawBufferPointer(rebasing: raw.prefix(min(Int(length), raw.count))))
            }
        }

        var isNamed: Bool { Int(length) > MemoryLayout<sa_family_t>.size }
    }

    /// Largest datagram read whole; a longer one is cut by the kernel and reported so
    /// (MSG_TRUNC). A sender's datagram is bounded by its SO_SNDBUF (about 208 KiB by default).
    static let readBufferSize = 256 * 1024
    /// Datagrams read per wake-up before the loop turns to other sockets.
    private static let datagramsPerDrain = 64

    let eventLoop: any EventLoop
    private let descriptor: CInt
    private let wakeDescriptor: CInt
    private let role: Role
    private let sink: EventSink
    private let registry: SocketRegistry
    private let closedPromise: EventLoopPromise<Void>
    /// 1 while the loop owes the watcher a drain; the watcher polls again only at 0.
    private let drainOwed = ConditionLock(value: 0)

    private var id = SocketID(.connection, 0)
    /// Counts and reports the datagrams, as a UDP socket's `DatagramTap` does.
    private let log: DatagramLog
    /// A listener's `--echo` or `--reply`, decided as for UDP (`DatagramResponder`).
    private let responder: Responder?
    /// A connected socket's peer, read once (not a getpeername per datagram).
    private var connectedPeer = SocketEndpoint.unknown
    private var isOpen = true
    private var lastSender: Peer?
    private var closeReason: String?
    private var closeRequests: [RequestID] = []
    private var readBuffer: [UInt8] = []

    /// Takes ownership of `descriptor`, a bound (listener) or connected UNIX datagram socket.
    init(descriptor: CInt, role: Role, eventLoop: any EventLoop, sink: EventSink, registry: SocketRegistry) throws {
        let wake = sockscope_make_wake_fd()
        guard wake >= 0 else { throw IOError(errnoCode: errno, reason: "eventfd") }
        self.descriptor = descriptor
        self.wakeDescriptor = wake
        self.role = role
        self.eventLoop = eventLoop
        self.sink = sink
        self.registry = registry
        log = DatagramLog(sink: sink)
        responder = if case .listener(let mode, _) = role { Responder(mode: mode, framing: .datagrams) } else { nil }
        closedPromise = eventLoop.makePromise(of: Void.self)
    }

    var capability: SocketCapability { .namedDatagrams(self) }
    var optionAccess: (any SocketOptionAccess)? { DescriptorOptionAccess(descriptor: descriptor, eventLoop: eventLoop) }

    /// The socket's own name (an abstract `@xxxxx` for an autobound client).
    var localEndpoint: SocketEndpoint { RawSocket.localAddress(descriptor) ?? .unknown }

    /// Names the socket, registers it and starts watching it. Call on `eventLoop`. On failure
    /// the descriptors are closed.
    func activate(as id: SocketID) throws {
        self.id = id
        log.id = id
        if case .connected = role { connectedPeer = RawSocket.remoteAddress(descriptor) ?? .unknown }
        readBuffer = [UInt8](repeating: 0, count: Self.readBufferSize)
        do {
            try startWatcher()
        } catch {
            Glibc.close(descriptor)
            Glibc.close(wakeDescriptor)
            throw error
        }
        registry.register(id, eventLoop: eventLoop, closeFuture: closedPromise.futureResult, control: self)
    }

    /// If `activate` was never reached: release the descriptors.
    func discard() {
        Glibc.close(descriptor)
        Glibc.close(wakeDescriptor)
    }

    // MARK: SocketControl

    func send(_ bytes: [UInt8], request: RequestID) {
        guard isOpen else {
            return sink.complete(request, failure: SocketFailure(call: "send", explanation: "no open socket \(id)"),
                                 socket: id)
        }
        switch role {
        case .connected:
            sendDatagram(bytes, to: nil, request: request)
        case .listener:
            guard let lastSender else {
                return sink.complete(request, failure: SocketFailure(
                    call: "sendto", explanation: "\(id) has no peer to answer: no named socket has sent it a datagram"),
                    socket: id)
            }
            sendDatagram(bytes, to: lastSender, request: request)
        }
    }

    /// One datagram to the socket named `name` (a path or `@abstract`). A connected socket
    /// gets the kernel's answer (EISCONN unless it is its peer).
    func send(_ bytes: [UInt8], to name: UnixSocketName, request: RequestID) {
        guard isOpen else {
            return sink.complete(request, failure: SocketFailure(call: "sendto", explanation: "no open socket \(id)"),
                                 socket: id)
        }
        var peer = Peer()
        do {
            try name.withSockAddr { address, length in
                withUnsafeMutableBytes(of: &peer.address) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length))) }
                peer.length = length
            }
        } catch {
            return sink.complete(request, failure: .from(error, call: "sendto", target: name.text, namedByNIO: false),
                                 socket: id)
        }
        sendDatagram(bytes, to: peer, request: request)
    }

    func close(reason: String, request: RequestID?) {
        guard isOpen else {
            if let request {
                sink.complete(request, failure: SocketFailure(call: "close", explanation: "no open socket \(id)"),
                              socket: id)
            }
            return
        }
        if let request { closeRequests.append(request) }
        isOpen = false
        closeReason = reason
        // Stop the watcher; it hands back to `watcherStopped`, which closes the descriptor
        // (never closed while another thread may still poll it).
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, MemoryLayout<UInt64>.size)
        drainOwed.lock()
        drainOwed.unlock(withValue: 0)
    }

    // MARK: Reading

    private func startWatcher() throws {
        let descriptor = descriptor
        let wake = wakeDescriptor
        let drainOwed = drainOwed
        let socket = NIOLoopBound(self, eventLoop: eventLoop)
        try WatcherThread.start {
            var watched = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            while true {
                if poll(&watched, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    break
                }
                if watched[1].revents != 0 { break }
                drainOwed.lock()
                drainOwed.unlock(withValue: 1)
                socket.eventLoop.execute { socket.value.drain() }
                drainOwed.lock(whenValue: 0)
                drainOwed.unlock()
            }
            socket.eventLoop.execute { socket.value.watcherStopped() }
        }
    }

    private func drain() {
        defer {
            drainOwed.lock()
            drainOwed.unlock(withValue: 0)
        }
        for _ in 0..<Self.datagramsPerDrain {
            guard isOpen else { return }
            var peer = Peer()
            peer.length = socklen_t(MemoryLayout<sockaddr_un>.size)
            let count = readBuffer.withUnsafeMutableBytes { buffer in
                withUnsafeMutablePointer(to: &peer.address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_TRUNC),
                                 $0, &peer.length)
                    }
                }
            }
            guard count >= 0 else {
                let code = errno
                if code == EINTR { continue }
                if code != EAGAIN && code != EWOULDBLOCK {
                    // A pending socket error (ECONNREFUSED...) is consumed by reading it.
                    log.emitUnlogged()
                    sink.emit(.error(id, .system(call: "recvfrom", errno: code)))
                }
                return
            }
            // With MSG_TRUNC recvfrom returns the datagram's whole length, even past the buffer.
            let read = min(count, readBuffer.count)
            deliver(Array(readBuffer.prefix(read)), from: peer, truncated: count > read)
        }
    }

    private func deliver(_ bytes: [UInt8], from peer: Peer, truncated: Bool) {
        let preview = Array(bytes.prefix(DataPreview.limit))
        guard case .listener = role else {
            return log.received(from: connectedPeer, bytes: preview, count: bytes.count, truncated: truncated)
        }
        log.received(from: peer.endpoint, bytes: preview, count: bytes.count, truncated: truncated)
        // Whatever the mode, `send` answers the latest sender that can be answered.
        if peer.isNamed { lastSender = peer }
        let answer: [UInt8]
        switch responder?.answer ?? .nothing {
        case .echo: answer = bytes
        case .bytes(let reply): answer = reply
        case .nothing: return
        }
        guard peer.isNamed else {
            log.emitUnlogged()
            return sink.emit(.error(id, SocketFailure(
                call: "sendto", explanation: "cannot answer (unnamed): the sender never bound an address")))
        }
        sendDatagram(answer, to: peer, request: nil)
    }

    private func watcherStopped() {
        log.emitUnlogged()
        Glibc.close(descriptor)
        Glibc.close(wakeDescriptor)
        if case .listener(_, let name) = role { name.removeOwnSocketFile() }
        registry.remove(id)
        sink.reportClosed(id, reason: closeReason ?? "closed", closeRequests: closeRequests)
        closeRequests.removeAll()
        closedPromise.succeed(())
    }

    // MARK: Writing

    /// Non-blocking: a receiver whose queue is full answers EAGAIN, reported like any error.
    private func sendDatagram(_ bytes: [UInt8], to peer: Peer?, request: RequestID?) {
        var target = peer
        let result = bytes.withUnsafeBytes { raw -> Int in
            let flags = Int32(MSG_DONTWAIT | MSG_NOSIGNAL)
            guard var target else { return Glibc.send(descriptor, raw.baseAddress, raw.count, flags) }
            return withUnsafePointer(to: &target.address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, raw.baseAddress, raw.count, flags, $0, target.length)
                }
            }
        }
        target = nil
        let preview = Array(bytes.prefix(DataPreview.limit))
        if result >= 0 {
            log.sent(to: peer?.endpoint ?? connectedPeer, bytes: preview, count: bytes.count, request: request)
        } else {
            log.emitUnlogged()
            var failure = SocketFailure.system(call: peer == nil ? "send" : "sendto", errno: errno, target: peer?.endpoint.description)
            if failure.errno == EAGAIN { failure.explanation = "the receiver's queue is full (it is not reading)" }
            sink.emit(.error(id, failure), request: request)
        }
        if let request { sink.complete(request) }
    }
}
