import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

/// What the lab needs of the engine, and no more: to resolve a name for `listen --manual-accept`,
/// and to hand a request about a socket NIO now owns back to the engine's usual paths.
protocol LabEngineHost: Sendable {
    var resolver: HostResolver { get }
    func submit(_ request: EngineRequest)
}

extension Engine: LabEngineHost {}

/// The lifecycle lab's side of the engine: step-mode sockets (plain system calls
/// on the event loop, handed to NIO once listening or connected), manual accept,
/// the kernel probe and the system view.
///
/// A step socket's calls all run on the loop it was made on, one after another.
final class LabEngine: Sendable {
    /// A step socket between calls.
    struct StepSocket {
        let kind: StepSocketKind
        let fd: CInt
        let loop: any EventLoop
        var phase: StepPhase = .created
        /// NIO owns the fd from the moment it listens or connects: never touch the number again
        /// after that (NIO closes it, and the number is reused).
        var handedOver = false
        var closed = false
        /// An ICMP step socket's echo bookkeeping (nil for the others).
        var icmp: ICMPStep?
    }

    /// What `sendto` on an ICMP step socket needs to build an echo request.
    struct ICMPStep {
        let method: PingMethod
        /// Ours on a raw socket; the kernel replaces it with the socket's own on a datagram socket.
        let identifier: UInt16
        var nextSequence: UInt16 = 1
    }

    private struct State {
        var lastStep = 0
        var steps: [SocketID: StepSocket] = [:]
        /// fds of manual-accept listeners, for the calls' text (NIO owns them).
        var listenerFDs: [SocketID: CInt] = [:]
        /// `accept` requests waiting for the next connection off each listener's queue.
        var pendingAccepts: [SocketID: [RequestID]] = [:]
        var systemView: RepeatedTask?
        /// What the engine has read for step-mode stream connections (handed-over step sockets and
        /// connections accepted off a step or manual-accept listener), waiting for the user's `recv`.
        var engineRead: [SocketID: EngineReadBytes] = [:]
        /// The `lab NAME` running now (one at a time), touched on its loop.
        var experiment: NIOLoopBound<ExperimentRun>?
    }

    private let state = NIOLockedValueBox(State())
    private let group: MultiThreadedEventLoopGroup
    private let batcher: EventBatcher
    private let deliver: @Sendable (EngineEvent) -> Void
    let probe: KernelProbe
    let watcher: QueueWatcher
    /// Set once by the engine right after it is made (the registry is the engine's).
    private let registryBox = NIOLockedValueBox<SocketRegistry?>(nil)

    init(group: MultiThreadedEventLoopGroup, batcher: EventBatcher) {
        self.group = group
        self.batcher = batcher
        deliver = batcher.emit
        let probe = KernelProbe(loop: group.next(), deliver: batcher.emit)
        self.probe = probe
        watcher = QueueWatcher(onArrival: { probe.noteArrival(at: $0) })
    }


    func attach(registry: SocketRegistry) {
        registryBox.withLockedValue { $0 = registry }
        probe.attach(KernelProbe.Sources(registry: registry, stepInfo: { [self] id in stepTCPInfo(id) }))
    }

    private var registry: SocketRegistry { registryBox.withLockedValue { $0! } }
    private var sink: EventSink { EventSink(batcher) }

    /// Closes the step sockets NIO does not own (NIO closes the rest) and stops the lab's work.
    /// Call from outside the event loops, before they stop.
    func shutdown() {
        let raw = state.withLockedValue { state -> [(SocketID, StepSocket)] in
            let open = state.steps.filter { !$0.value.handedOver && !$0.value.closed }
            for id in open.keys { state.steps[id]?.closed = true }
            return open.sorted { $0.key < $1.key }
        }
        for (id, step) in raw {
            try? step.loop.submit {
                _ = RawSocket.close(step.fd)
                self.deliver(EngineEvent(time: .now(), kind: .closed(id, reason: "engine stopped")))
            }.wait()
        }
        if let experiment = state.withLockedValue({ $0.experiment }) {
            try? experiment.eventLoop.submit { experiment.value.stop() }.wait()
        }
        probe.stop()
        watcher.stop()
        state.withLockedValue { state in
            state.systemView?.cancel()
            state.systemView = nil
        }
    }

    // MARK: Dispatch (caller's thread)

    func perform(_ command: LabCommand, request: RequestID, engine: any LabEngineHost) {
        switch command {
        case .step(.socket(let kind)):
            let loop = group.next()
            loop.execute { self.makeSocket(kind, request: request, on: loop) }
        case .step(let call):
            guard let id = call.socket else { return }
            if let step = state.withLockedValue({ $0.steps[id] }) {
                step.loop.execute { self.perform(call, on: id, request: request, engine: engine) }
            } else if case .accept = call, let entry = registry.entry(for: id), let channel = entry.channel {
                entry.eventLoop.execute { self.acceptOne(from: id, channel: channel, request: request) }
            } else if case .recv(_, let limit) = call, state.withLockedValue({ $0.engineRead[id] != nil }) {
                let sink = sink
                group.next().execute {
                    self.answerRecvFromEngine(id, fd: id.description, limit: limit, phase: .connected, request: request)
                    sink.complete(request)
                }
            } else {
                let sink = sink
                group.next().execute {
                    sink.complete(request, failure: SocketFailure(
                        call: Self.callName(call), explanation: "no step socket or manual-accept listener \(id)"), socket: id)
                }
            }
        case .manualListen(let listen):
            let loop = group.next()
            loop.execute { self.manualListen(listen, request: request, on: loop, engine: engine) }
        case .systemView(let visible):
            setSystemView(visible: visible, request: request)
        case .experiment(let name):
            startExperiment(name, request: request)
        }
    }

    /// `lab NAME` on a loop of its own choosing; refused while another runs (their sockets and
    /// timings would mix). Answered when the lab has ended.
    private func startExperiment(_ name: ExperimentName, request: RequestID) {
        let loop = group.next()
        let sink = sink
        loop.execute {
            let run = ExperimentRun(name, steps: Experiments.steps(for: name), loop: loop, request: request, sink: sink) {
                self.state.withLockedValue { $0.experiment = nil }
            }
            let started = self.state.withLockedValue { state -> Bool in
                guard state.experiment == nil else { return false }
                state.experiment = NIOLoopBound(run, eventLoop: loop)
                return true
            }
            guard started else {
                return sink.complete(request, failure: SocketFailure(
                    call: "lab", explanation: "another lab is running; wait for its result line"))
            }
            run.start()
        }
    }

    private static func callName(_ call: StepCall) -> String {
        switch call {
        case .socket: "socket"
        case .bind: "bind"
        case .listen: "listen"
        case .accept: "accept"
        case .connect: "connect"
        case .send: "send"
        case .recv: "recv"
        case .shutdown: "shutdown"
        case .close: "close"
        case .sendTo: "sendto"
        }
    }

    // MARK: Step calls (on the socket's loop)

    /// `socket raw icmp`: SOCK_RAW, and when that is refused SOCK_DGRAM (`ICMPEcho.open`, as ping);
    /// each attempt is a call in the ledger, the last failure naming both ways to be allowed.
    private func makeICMPSocket(_ kind: StepSocketKind, request: RequestID, on loop: any EventLoop) {
        let family = RawSocket.family(of: kind)
        let opened = ICMPEcho.open(family: family)
        let id = state.withLockedValue { state -> SocketID in
            state.lastStep += 1
            let id = SocketID(.socket, state.lastStep)
            if case .success(let socket) = opened {
                let identifier = socket.method == .datagram ? ICMPEcho.datagramIdentifier(socket.fd, family: family) ?? 0
                    : UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...UInt16.max)
                state.steps[id] = StepSocket(kind: kind, fd: socket.fd, loop: loop,
                                             icmp: ICMPStep(method: socket.method, identifier: identifier))
            }
            return id
        }
        let rawArguments = kind.callArguments
        var datagramArguments = rawArguments
        datagramArguments[1] = "SOCK_DGRAM"
        func record(_ arguments: [String], result: Int, errno: Int32?, note: String) -> SyscallRecord {
            SyscallRecord(call: "socket", arguments: arguments, result: result, errno: errno, phase: .created,
                          transport: .icmp, note: note)
        }
        let rawErrno: Int32
        switch opened {
        case .success(let socket) where socket.method == .raw:
            sink.emit(.lab(.call(id, record(rawArguments, result: Int(socket.fd), errno: nil, note: PingMethod.raw.words
                + ": you write whole ICMP messages, and it reads every ICMP message the machine receives"
                + (kind == .icmp ? ", IP header first" : "")))), request: request)
            return sink.complete(request)
        case .success(let socket):
            rawErrno = socket.rawErrno ?? EPERM
        case .failure(let refusal):
            rawErrno = refusal.rawErrno
        }
        sink.emit(.lab(.call(id, record(rawArguments, result: -1, errno: rawErrno,
                                        note: "no CAP_NET_RAW; next try: an ICMP datagram socket"))), request: request)
        switch opened {
        case .success(let socket):
            let identifier = state.withLockedValue { $0.steps[id]?.icmp?.identifier ?? 0 }
            sink.emit(.lab(.call(id, record(datagramArguments, result: Int(socket.fd), errno: nil, note: PingMethod.datagram.words
                + ": the kernel sets the echo's id (\(identifier), the socket's \"port\") and its checksum, "
                + "and hands this socket only the replies to it"))), request: request)
        case .failure(let refusal):
            sink.emit(.lab(.call(id, record(datagramArguments, result: -1, errno: refusal.datagramErrno,
                                            note: refusal.explanation))), request: request)
        }
        sink.complete(request)
    }

    private func makeSocket(_ kind: StepSocketKind, request: RequestID, on loop: any EventLoop) {
        if kind.transport == .icmp { return makeICMPSocket(kind, request: request, on: loop) }
        let answer = RawSocket.socket(family: RawSocket.family(of: kind), type: RawSocket.type(of: kind))
        let id = state.withLockedValue { state -> SocketID in
            state.lastStep += 1
            let id = SocketID(.socket, state.lastStep)
            if answer.errno == nil { state.steps[id] = StepSocket(kind: kind, fd: CInt(answer.result), loop: loop) }
            return id
        }
        var record = SyscallRecord(call: "socket", arguments: kind.callArguments, result: answer.result, errno: answer.errno,
                                   phase: .created, transport: kind.transport)
        if answer.errno == nil, kind.transport == .tcp {
            record.kernelState = RawSocket.tcpInfo(CInt(answer.result)).flatMap { TCPState(rawValue: Int($0.state)) }
        }
        sink.emit(.lab(.call(id, record)), request: request)
        sink.complete(request)
    }

    private func perform(_ call: StepCall, on id: SocketID, request: RequestID, engine: any LabEngineHost) {
        guard let step = state.withLockedValue({ $0.steps[id] }) else { return }
        if step.handedOver || step.closed {
            return forwardToEngine(call, step: step, id: id, request: request, engine: engine)
        }
        let fd = step.fd
        let args = ["\(fd)"]
        var phase = step.phase
        var note: String?
        let answer: RawSocket.Answer
        var data: [UInt8]?
        /// A datagram's other end: who sent it (recvfrom) or where it went (sendto).
        var sender: SocketEndpoint?
        var truncated = false
        /// What an ICMP step socket sent or read, decoded.
        var icmp: ICMPMessage?
        var arguments = args
        switch call {
        case .socket:
            return
        case .bind(_, let endpoint):
            switch RawSocket.address(endpoint, family: RawSocket.family(of: step.kind)) {
            case .success(let address):
                arguments.append(Self.argumentText(endpoint))
                answer = RawSocket.bind(fd, address)
                if answer.errno == nil { phase = .bound }
            case .failure(let failure):
                return sink.complete(request, failure: failure, socket: id)
            }
        case .listen(_, let backlog):
            arguments.append("\(backlog)")
            answer = RawSocket.listen(fd, backlog: backlog)
            if answer.errno == nil {
                return handOverListener(id, step: step, backlog: backlog, arguments: arguments, request: request)
            }
        case .accept:
            answer = RawSocket.accept(fd)
            if answer.errno == nil {
                // Not reachable for a listening socket (NIO owns it then); close what we were given.
                _ = RawSocket.close(CInt(answer.result))
            }
        case .connect(_, let endpoint):
            switch RawSocket.address(endpoint, family: RawSocket.family(of: step.kind)) {
            case .success(let address):
                arguments.append(Self.argumentText(endpoint))
                answer = RawSocket.connect(fd, address)
                if answer.errno == nil {
                    phase = .connected
                } else if answer.errno == EINPROGRESS {
                    phase = .connecting
                } else if answer.errno != EALREADY && answer.errno != EISCONN {
                    phase = .failed
                }
            case .failure(var failure):
                failure.call = "connect"
                return sink.complete(request, failure: failure, socket: id)
            }
        case .send(_, let bytes):
            arguments.append(Self.preview(bytes))
            arguments.append("\(bytes.count)")
            answer = RawSocket.send(fd, bytes)
            if answer.errno == nil { data = Array(bytes.prefix(answer.result)) }
        case .recv(_, let limit) where step.icmp != nil || step.kind.transport == .udp:
            // A datagram socket reads one datagram and learns who sent it: recvfrom. On an ICMP
            // socket that is one ICMP message (after its IP header on a raw IPv4 socket), decoded.
            arguments.append("\(limit)")
            let (received, bytes, from) = RawSocket.recvFrom(fd, maxBytes: limit)
            answer = received
            if answer.errno == nil {
                data = bytes
                sender = from
                truncated = received.result > limit
                let fromText = step.icmp == nil ? from?.description : from?.hostText
                arguments.append(fromText.map { "from \($0)" } ?? "from ?")
                if let echo = step.icmp {
                    icmp = ICMPEcho.decode(bytes, ipv6: step.kind == .icmp6, method: echo.method)
                    if echo.method == .raw, icmp?.isEchoRequest == true {
                        note = "a raw socket gets a copy of every ICMP message the machine receives: on loopback, the echo requests sent too"
                    }
                }
            }
        case .sendTo(_, let endpoint, let payload):
            // On an ICMP socket the text goes in an echo request built for it: the socket's
            // identifier, the next sequence number.
            var bytes = payload
            if let echo = step.icmp {
                let sequence = state.withLockedValue { state -> UInt16 in
                    let next = state.steps[id]?.icmp?.nextSequence ?? 1
                    state.steps[id]?.icmp?.nextSequence = next &+ 1
                    return next
                }
                bytes = ICMPEcho.request(identifier: echo.identifier, sequence: sequence, payload: payload,
                                         ipv6: step.kind == .icmp6, method: echo.method)
                arguments.append("{type=\(step.kind == .icmp6 ? 128 : 8), id=\(echo.identifier), seq=\(sequence), "
                                 + Self.preview(payload) + "}")
            } else {
                arguments.append(Self.preview(bytes))
            }
            arguments.append("\(bytes.count)")
            switch RawSocket.address(endpoint, family: RawSocket.family(of: step.kind)) {
            case .success(let address):
                arguments.append(Self.argumentText(endpoint))
                answer = RawSocket.sendTo(fd, bytes, address)
                if answer.errno == nil {
                    data = Array(bytes.prefix(answer.result))
                    sender = address.endpoint
                    if let echo = step.icmp {
                        icmp = ICMPEcho.decode(bytes, ipv6: step.kind == .icmp6, method: .datagram)
                        if echo.method == .datagram { note = "on a datagram socket the kernel puts its own id in the echo" }
                    }
                }
            case .failure(var failure):
                failure.call = "sendto"
                return sink.complete(request, failure: failure, socket: id)
            }
        case .recv(_, let limit):
            arguments.append("\(limit)")
            let (received, bytes) = RawSocket.recv(fd, maxBytes: limit)
            answer = received
            if answer.errno == nil { data = bytes }
        case .shutdown(_, let direction):
            arguments.append(["read": "SHUT_RD", "write": "SHUT_WR", "both": "SHUT_RDWR"][direction.rawValue]!)
            answer = RawSocket.shutdown(fd, direction)
        case .close:
            answer = RawSocket.close(fd)
            phase = .closed
            note = nil
        }
        state.withLockedValue { state in
            state.steps[id]?.phase = phase
            if phase == .closed { state.steps[id]?.closed = true }
        }
        let datagram = step.kind.transport == .udp || step.kind.transport == .icmp
        let name = if case .recv = call, datagram { "recvfrom" } else { Self.callName(call) }
        var record = SyscallRecord(call: name, arguments: arguments, result: answer.result, errno: answer.errno,
                                   phase: phase, transport: step.kind.transport, data: data, note: note)
        record.icmp = icmp
        if phase != .closed {
            // Unbound sockets have an unnamed or port-0 address: nothing worth showing. An ICMP
            // socket's "port" is its protocol (raw) or its echo id (datagram, said at socket): not a port.
            record.local = RawSocket.localAddress(fd).flatMap { $0 == .unnamed || $0.port == 0 ? nil : $0 }
            if step.kind.transport == .icmp { record.local = nil }
            record.remote = RawSocket.remoteAddress(fd)
            // A connect in progress shows only "connecting": the kernel may finish the handshake
            // before we look (loopback does), and its state belongs on the outcome's line.
            if step.kind.transport == .tcp, phase != .connecting {
                record.kernelState = RawSocket.tcpInfo(fd).flatMap { TCPState(rawValue: Int($0.state)) }
            }
        }
        sink.emit(.lab(.call(id, record)), request: request)
        if let data, datagram {
            // Datagrams keep their boundaries and their other end in the log, empty ones included.
            let preview = Array(data.prefix(DataPreview.limit))
            let peer = sender ?? record.remote ?? .unnamed
            switch call {
            case .send, .sendTo: sink.emit(.sentTo(id, to: peer, bytes: preview, count: data.count), request: request)
            case .recv: sink.emit(.receivedFrom(id, from: peer, bytes: preview, count: data.count, truncated: truncated),
                                  request: request)
            default: break
            }
        } else if let data, !data.isEmpty {
            let preview = Array(data.prefix(DataPreview.limit))
            if case .send = call { sink.emit(.sent(id, bytes: preview, count: data.count), request: request) }
            if case .recv = call { sink.emit(.received(id, bytes: preview, count: data.count), request: request) }
        }
        if case .close = call { sink.emit(.closed(id, reason: "closed by us"), request: request) }
        if case .connect = call, step.kind.transport != .udp {
            if phase == .connecting { return awaitConnect(id, step: step, arguments: arguments, request: request, attempt: 0) }
            if phase == .connected { return handOverConnection(id, step: step, request: request) }
        }
        sink.complete(request)
    }

    /// `127.0.0.1:9000`, `[::1]:9000`, `"/tmp/s"`: the address as strace prints it (ICMP's has no port).
    /// Bytes as a call's argument: their first 32, quoted, and `...` when there are more.
    private static func preview(_ bytes: [UInt8]) -> String {
        CommandText.quoted(Array(bytes.prefix(32))) + (bytes.count > 32 ? "..." : "")
    }

    private static func argumentText(_ endpoint: Endpoint) -> String {
        switch endpoint {
        case .inet(.icmp, let host, _): host
        case .inet(_, let host, let port): AddressText.hostPort(host, port)
        case .unix(let path), .unixDatagram(let path): "\"\(path)\""
        }
    }

    /// A step socket NIO owns (or one already closed) answers through the engine's usual paths.
    private func forwardToEngine(_ call: StepCall, step: StepSocket, id: SocketID, request: RequestID, engine: any LabEngineHost) {
        let fd = "\(step.fd)"
        let entry = step.closed ? nil : registry.entry(for: id)
        func answerWithoutKernel(_ name: String, note: String, errno: Int32) {
            // The fd number may belong to another file by now: do not call the kernel with it.
            let record = SyscallRecord(call: name, arguments: [fd], result: -1, errno: errno, phase: .closed,
                                       transport: step.kind.transport, note: note)
            sink.emit(.lab(.call(id, record)), request: request)
            sink.complete(request)
        }
        guard let entry else {
            return answerWithoutKernel(Self.callName(call), note: "\(id) is closed; its descriptor is gone", errno: EBADF)
        }
        switch call {
        case .accept:
            guard let channel = entry.channel else { return sink.complete(request) }
            entry.eventLoop.execute { self.acceptOne(from: id, channel: channel, request: request) }
        case .send(_, let bytes), .sendTo(_, _, let bytes):
            // Linux's TCP ignores sendto's address on a connected socket: it is a send.
            entry.eventLoop.execute { entry.control.value.send(bytes, request: request) }
        case .close:
            entry.eventLoop.execute {
                let record = SyscallRecord(call: "close", arguments: [fd], result: 0, phase: .closed,
                                           transport: step.kind.transport)
                self.state.withLockedValue { $0.steps[id]?.closed = true }
                self.sink.emit(.lab(.call(id, record)), request: request)
                entry.control.value.close(reason: "closed by us", request: request)
            }
        case .shutdown(_, let direction):
            engine.submit(EngineRequest(id: request, command: .shutdown(id, direction)))
        case .recv(_, let limit):
            answerRecvFromEngine(id, fd: fd, limit: limit, phase: step.phase, request: request)
            sink.complete(request)
        case .bind, .listen, .connect:
            // The kernel answers EINVAL (bind or listen again) or EISCONN (connect on a listening or
            // connected socket); NIO owns the fd now, so say so without touching it.
            let errno = if case .connect = call { EISCONN } else { EINVAL }
            var arguments = [fd]
            switch call {
            case .bind(_, let endpoint), .connect(_, let endpoint): arguments.append(Self.argumentText(endpoint))
            case .listen(_, let backlog): arguments.append("\(backlog)")
            default: break
            }
            let record = SyscallRecord(call: Self.callName(call), arguments: arguments, result: -1, errno: errno, phase: step.phase,
                                       transport: step.kind.transport,
                                       note: step.phase == .listening ? "\(id) is already listening" : "\(id) is already connected")
            sink.emit(.lab(.call(id, record)), request: request)
            sink.complete(request)
        case .socket:
            sink.complete(request)
        }
    }

    /// `recv` on a connection the engine reads: it cannot call recv(2) (the bytes are already
    /// out of the kernel), so it hands over what it read since the last `recv`, saying so.
    /// A 0 only when the peer's EOF came and nothing is left: 0 means end of file.
    private func answerRecvFromEngine(_ id: SocketID, fd: String, limit: Int, phase: StepPhase, request: RequestID) {
        let (taken, transport) = state.withLockedValue { state in
            (state.engineRead[id]?.take(limit), state.engineRead[id]?.transport)
        }
        guard let taken, let transport else {
            return sink.emit(.error(id, SocketFailure(call: "recv", explanation: "\(id) is closed")), request: request)
        }
        var record = SyscallRecord(call: "recv", arguments: [fd, "\(limit)"], result: taken.count, phase: phase,
                                   transport: transport, data: taken.count > 0 ? taken.preview : nil)
        if taken.count > 0 {
            record.note = "the engine had already read these \(taken.count) bytes from the kernel (the log shows them as they came); here they are"
        } else if taken.endOfFile {
            record.note = "the peer closed its side and everything it sent has been read: end of file"
        } else {
            record.resultText = "nothing yet"
            record.note = "the engine reads this socket for you and has nothing unread: no bytes came since the last recv"
        }
        sink.emit(.lab(.call(id, record)), request: request)
    }

    // MARK: Handing sockets to NIO

    private func handOverListener(_ id: SocketID, step: StepSocket, backlog: Int, arguments: [String], request: RequestID) {
        state.withLockedValue { $0.steps[id]?.handedOver = true; $0.steps[id]?.phase = .listening }
        let fd = step.fd
        var record = SyscallRecord(call: "listen", arguments: arguments, result: 0, phase: .listening,
                                   transport: step.kind.transport)
        record.local = RawSocket.localAddress(fd)
        record.kernelState = step.kind.transport == .tcp ? RawSocket.tcpInfo(fd).flatMap { TCPState(rawValue: Int($0.state)) } : nil
        sink.emit(.lab(.call(id, record)), request: request)
        adoptListener(fd: fd, id: id, transport: step.kind.transport, mode: .interactive, backlog: backlog, socketPath: nil,
                      policy: ListenerPolicy(), request: request, on: step.loop).whenComplete { result in
            if case .failure(let error) = result {
                self.sink.emit(.error(id, .from(error, call: "listen")), request: request)
            }
            self.sink.complete(request)
        }
    }

    /// Gives a listening fd to NIO with accept under our control (autoRead off, one
    /// connection per read) and reports `.listening`. NIO's `withBoundSocket` calls
    /// listen(fd, 128) itself; listening again restores the backlog that was asked for.
    private func adoptListener(fd: CInt, id: SocketID, transport: TransportProtocol, mode: ListenMode, backlog: Int,
                               socketPath: String?, policy: ListenerPolicy, request: RequestID,
                               on loop: any EventLoop) -> EventLoopFuture<Void> {
        let sink = sink
        let registry = registry
        state.withLockedValue { $0.listenerFDs[id] = fd }
        return ServerBootstrap(group: loop, childGroup: group)
            .serverChannelOption(.autoRead, value: false)
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ListenerHandler(sink: sink, registry: registry, socketPath: socketPath, policy: policy))
                }
            }
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    // Step-mode sockets keep the options their own calls (and NIO's bootstrap defaults) gave them.
                    try ConnectionHandler(origin: .accepted(listener: id), mode: mode, sink: sink, registry: registry)
                        .install(on: child, noDelay: false)
                }
            }
            .withBoundSocket(fd)
            .flatMapThrowing { channel in
                _ = RawSocket.listen(fd, backlog: backlog)
                let handler = try channel.pipeline.syncOperations.handler(type: ListenerHandler.self)
                handler.activate(as: id, channel: channel)
                self.watcher.watch(fd: fd, as: id)
                channel.closeFuture.whenComplete { _ in
                    self.watcher.forget(id)
                    self.failPendingAccepts(of: id)
                }
                sink.emit(.listening(id, transport, local: SocketEndpoint(channel.localAddress), mode: mode, backlog: backlog),
                          request: request)
            }
    }

    private func handOverConnection(_ id: SocketID, step: StepSocket, request: RequestID) {
        state.withLockedValue { state in
            state.steps[id]?.handedOver = true
            state.steps[id]?.phase = .connected
            state.engineRead[id] = EngineReadBytes(transport: step.kind.transport)
        }
        let sink = sink
        let registry = registry
        ClientBootstrap(group: step.loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try ConnectionHandler(origin: .outgoing(id, request: request), mode: .interactive, sink: sink,
                                          registry: registry).install(on: channel, noDelay: false)
                }
            }
            .withConnectedSocket(step.fd)
            .whenFailure { error in
                sink.complete(request, failure: .from(error, call: "connect"), socket: id)
            }
    }

    /// Watches a non-blocking connect until the kernel has an answer (writable), then reads
    /// SO_ERROR: 0 is connected, anything else is why it failed. Checks back off from 1 ms
    /// to 250 ms and give up after the kernel's own SYN retries (about two minutes).
    private func awaitConnect(_ id: SocketID, step: StepSocket, arguments: [String], request: RequestID, attempt: Int) {
        guard let current = state.withLockedValue({ $0.steps[id] }), !current.closed else { return sink.complete(request) }
        let fd = step.fd
        guard RawSocket.isWritable(fd) else {
            let delay = TimeAmount.milliseconds(Int64(min(250, 1 << min(attempt, 8))))
            guard attempt < 600 else {
                let record = SyscallRecord(call: "connect", arguments: arguments, result: -1, errno: ETIMEDOUT, phase: .failed,
                                           transport: step.kind.transport, note: "no answer to the SYN after about two minutes")
                state.withLockedValue { $0.steps[id]?.phase = .failed }
                sink.emit(.lab(.call(id, record)), request: request)
                return sink.complete(request)
            }
            step.loop.scheduleTask(in: delay) {
                self.awaitConnect(id, step: step, arguments: arguments, request: request, attempt: attempt + 1)
            }
            return
        }
        let error = RawSocket.pendingError(fd)
        var record = SyscallRecord(call: "connect", arguments: arguments, result: error == 0 ? 0 : -1,
                                   errno: error == 0 ? nil : error, phase: error == 0 ? .connected : .failed,
                                   transport: step.kind.transport,
                                   note: error == 0 ? nil : "the handshake failed (SO_ERROR once the socket was writable)")
        record.local = RawSocket.localAddress(fd)
        record.remote = RawSocket.remoteAddress(fd)
        if step.kind.transport == .tcp { record.kernelState = RawSocket.tcpInfo(fd).flatMap { TCPState(rawValue: Int($0.state)) } }
        state.withLockedValue { $0.steps[id]?.phase = record.phase }
        sink.emit(.lab(.call(id, record)), request: request)
        if error == 0 { return handOverConnection(id, step: step, request: request) }
        sink.complete(request)
    }

    /// TCP_INFO of a step socket the lab still owns, read on its loop (where it might be closed).
    private func stepTCPInfo(_ id: SocketID) -> EventLoopFuture<sockscope_tcp_info?>? {
        guard let step = state.withLockedValue({ $0.steps[id] }), !step.handedOver, !step.closed,
              step.kind.transport == .tcp else { return nil }
        return step.loop.submit {
            guard let current = self.state.withLockedValue({ $0.steps[id] }), !current.closed else { return nil }
            return RawSocket.tcpInfo(step.fd)
        }
    }

    // MARK: Manual accept

    /// `accept`: one read on a listener with autoRead off accepts exactly one connection.
    /// A read while the queue is empty stays pending and takes the next arrival at once.
    private func acceptOne(from id: SocketID, channel: any Channel, request: RequestID) {
        let listenerFD = state.withLockedValue { $0.listenerFDs[id] }
        let fd = listenerFD.map { "\($0)" } ?? "?"
        // On the listener's loop with its channel open, the fd is still the listener's.
        let queued = channel.isActive ? listenerFD.flatMap(RawSocket.tcpInfo).map { Int($0.unacked) } : nil
        let first = state.withLockedValue { state -> Bool in
            state.pendingAccepts[id, default: []].append(request)
            return state.pendingAccepts[id]!.count == 1
        }
        if queued == 0 {
            let record = SyscallRecord(call: "accept", arguments: [fd], result: 0, phase: .listening, transport: .tcp,
                                       note: "the accept queue is empty: accept waits, and takes the next client at once")
            var waiting = record
            waiting.resultText = "(waiting)"
            sink.emit(.lab(.call(id, waiting)), request: request)
        }
        if first { channel.read() }
    }

    private func failPendingAccepts(of id: SocketID) {
        let pending = state.withLockedValue { $0.pendingAccepts.removeValue(forKey: id) ?? [] }
        for request in pending {
            sink.complete(request, failure: SocketFailure(call: "accept", explanation: "the listener closed"), socket: id)
        }
    }

    /// Sees every batch of events after delivery: completes `accept` requests as their
    /// connection arrives, and lets the kernel probe follow our sockets.
    func observe(_ events: [EngineEvent]) {
        probe.observe(events)
        for event in events {
            completeAccept(event)
            keepEngineReads(event)
        }
    }

    /// Follows the bytes the engine reads on step-mode stream connections, for `recv`.
    private func keepEngineReads(_ event: EngineEvent) {
        switch event.kind {
        case .accepted(let connection, let listener, let local, _):
            state.withLockedValue { state in
                if state.listenerFDs[listener] != nil {
                    state.engineRead[connection] = EngineReadBytes(transport: local.isIP ? .tcp : .unix)
                }
            }
        case .received(let id, let bytes, let count):
            state.withLockedValue { state in state.engineRead[id]?.add(bytes, count: count) }
        case .peerClosed(let id):
            state.withLockedValue { state in state.engineRead[id]?.endOfFile = true }
        case .closed(let id, _):
            // A closed connection has nothing to recv (a step socket answers EBADF then).
            state.withLockedValue { state in _ = state.engineRead.removeValue(forKey: id) }
        default:
            return
        }
    }

    private func completeAccept(_ event: EngineEvent) {
        guard case .accepted(let connection, let listener, _, let remote) = event.kind else { return }
        let (request, more, fd): (RequestID?, Bool, CInt?) = state.withLockedValue { state in
            guard var queue = state.pendingAccepts[listener], !queue.isEmpty else { return (nil, false, nil) }
            let request = queue.removeFirst()
            state.pendingAccepts[listener] = queue.isEmpty ? nil : queue
            return (request, !queue.isEmpty, state.listenerFDs[listener])
        }
        guard let request else { return }
        var record = SyscallRecord(call: "accept", arguments: [fd.map { "\($0)" } ?? "?"], result: 0, phase: .listening,
                                   transport: .tcp, remote: remote,
                                   note: "took \(connection) (from \(remote)) off the accept queue")
        record.resultText = connection.description
        sink.emit(.lab(.call(listener, record)), request: request)
        sink.complete(request)
        if more, let channel = registry.entry(for: listener)?.channel {
            channel.eventLoop.execute { channel.read() }
        }
    }

    // MARK: listen --manual-accept

    private func manualListen(_ listen: ListenRequest, request: RequestID, on loop: any EventLoop, engine: any LabEngineHost) {
        let target = listen.endpoint.description
        let addressFuture: EventLoopFuture<SocketAddress>
        switch listen.endpoint {
        case .inet(.tcp, let host, let port):
            addressFuture = engine.resolver.resolve(host: host, port: port, kind: .stream, on: loop).map { $0[0] }
        case .unix(let path):
            addressFuture = loop.makeCompletedFuture { try SocketAddress(unixDomainSocketPath: path) }
        default:
            return sink.complete(request, failure: SocketFailure(
                call: "listen", explanation: "--manual-accept is for stream sockets (tcp:// or unix:)", target: target))
        }
        addressFuture.whenComplete { result in
            switch result {
            case .failure(let error):
                self.sink.complete(request, failure: .from(error, call: "getaddrinfo", target: target))
            case .success(let address):
                self.bindManual(listen, address: address, request: request, on: loop)
            }
        }
    }

    private func bindManual(_ listen: ListenRequest, address: SocketAddress, request: RequestID, on loop: any EventLoop) {
        let target = listen.endpoint.description
        let raw = RawSocket.address(address)
        let made = RawSocket.socket(family: raw.family, type: Int32(SOCK_STREAM.rawValue))
        guard made.errno == nil else {
            return sink.complete(request, failure: .system(call: "socket", errno: made.errno!, target: target))
        }
        let fd = CInt(made.result)
        let isTCP = raw.family != AF_UNIX
        if isTCP { RawSocket.setReuseAddress(fd) }
        for (call, answer) in [("bind", { RawSocket.bind(fd, raw) }), ("listen", { RawSocket.listen(fd, backlog: listen.backlog) })] {
            let result = answer()
            if let code = result.errno {
                _ = RawSocket.close(fd)
                return sink.complete(request, failure: .system(call: call, errno: code, target: target))
            }
        }
        let id = registry.nextListenerID()
        let path: String? = if case .unix(let path) = listen.endpoint { path } else { nil }
        adoptListener(fd: fd, id: id, transport: isTCP ? .tcp : .unix, mode: listen.mode, backlog: listen.backlog,
                      socketPath: path, policy: listen.policy, request: request, on: loop).whenComplete { result in
            if case .failure(let error) = result {
                self.sink.emit(.error(nil, .from(error, call: "listen", target: target)), request: request)
            }
            self.sink.complete(request)
        }
    }

    // MARK: System view

    /// While the view is shown, the machine's sockets are read once a second off the
    /// event loops (reading every process's fds is slow); hidden, nothing runs.
    private func setSystemView(visible: Bool, request: RequestID) {
        let loop = group.next()
        let deliver = deliver
        state.withLockedValue { state in
            state.systemView?.cancel()
            state.systemView = nil
            guard visible else { return }
            state.systemView = loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                NIOThreadPool.singleton.runIfActive(eventLoop: loop) { SystemScanner.snapshot() }.map { sockets in
                    deliver(EngineEvent(time: .now(), kind: .lab(.system(sockets))))
                }
            }
        }
        loop.execute { self.sink.complete(request) }
    }
}

/// Bytes the engine read on a step-mode stream connection and the user has not yet `recv`ed: each read's
/// preview with its exact count, so a `recv` shows the right bytes at the right offsets.
struct EngineReadBytes {
    struct Taken {
        let count: Int
        let preview: [UInt8]
        let endOfFile: Bool
    }

    /// Reads kept at most; older ones are dropped (and their count with them) when nobody `recv`s.
    static let keptReads = 256
    let transport: TransportProtocol
    private var reads: [(preview: [UInt8], count: Int)] = []
    /// How far into the first read earlier `recv`s took.
    private var offset = 0
    var endOfFile = false

    init(transport: TransportProtocol) {
        self.transport = transport
    }

    mutating func add(_ preview: [UInt8], count: Int) {
        if reads.count == Self.keptReads {
            reads.removeFirst()
            offset = 0
        }
        reads.append((preview, count))
    }

    /// Up to `limit` bytes in the order they arrived: the exact count, and the bytes the previews hold.
    mutating func take(_ limit: Int) -> Taken {
        var count = 0
        var preview: [UInt8] = []
        while count < limit, let first = reads.first {
            let n = min(limit - count, first.count - offset)
            if offset < first.preview.count {
                preview += first.preview[offset..<min(first.preview.count, offset + n)]
            }
            count += n
            offset += n
            if offset == first.count {
                reads.removeFirst()
                offset = 0
            }
        }
        return Taken(count: count, preview: preview, endOfFile: endOfFile && reads.isEmpty)
    }
}
