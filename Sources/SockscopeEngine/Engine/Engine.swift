import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SockscopeCore

/// The background socket engine: performs `EngineRequest`s on SwiftNIO event loops
/// and reports everything that happens as `EngineEvent`s.
///
/// Thread safety: `submit` may be called from any thread; `shutdown` from any thread
/// that is not one of the engine's event loops. Events are delivered on event-loop
/// threads, in order per socket.
public final class Engine: Sendable {
    /// The longest the engine gathers a flow's traffic before reporting it (`EventBatcher`):
    /// a consumer pacing its own output waits at least this long before calling a flow over.
    public static var trafficReportIntervalMilliseconds: Int { EventBatcher.longestTrafficWindowMilliseconds }

    let group: MultiThreadedEventLoopGroup
    let sink: EventSink
    private let batcher: EventBatcher
    /// Step mode, manual accept, the kernel probe and the system view.
    let lab: LabEngine
    let registry: SocketRegistry
    let resolver = HostResolver()
    /// `scan`: a thread of its own per scan, one at a time.
    let scans: BackgroundJob
    /// `ping`: a thread of its own per ping, one at a time.
    let pings: BackgroundJob
    /// How long one connect attempt may take before it fails with ETIMEDOUT.
    let connectTimeout: TimeAmount
    /// Guards submission against a concurrent `shutdown`, so no task lands on a stopped loop.
    private let isRunning = NIOLockedValueBox(true)
    /// The connection whose events carry `DataPreview.followedLimit` bytes (`.follow`).
    private let followed = NIOLockedValueBox<SocketID?>(nil)

    /// - Parameters:
    ///   - threads: how many event-loop threads run the sockets (at least one).
    ///   - connectTimeout: how long one connect attempt may take.
    ///   - emit: receives the events in batches (everything one event-loop turn produced,
    ///     in order), on engine threads, never the caller's; it must be cheap and
    ///     thread-safe, and must not block.
    /// With `payloadCredit`, data events carry whole payloads, bounded by that credit.
    public convenience init(threads: Int = 1, connectTimeout: Duration = .seconds(10), payloadCredit: PayloadCredit? = nil,
                            emit: @escaping @Sendable ([EngineEvent]) -> Void) {
        self.init(threads: threads, connectTimeout: connectTimeout, payloadCredit: payloadCredit,
                  replayRecords: ReplayRecordStore(), emit: emit)
    }

    /// With the records for `replay` kept within other bounds (tests).
    init(threads: Int = 1, connectTimeout: Duration = .seconds(10), payloadCredit: PayloadCredit? = nil,
         replayRecords: ReplayRecordStore, emit: @escaping @Sendable ([EngineEvent]) -> Void) {
        registry = SocketRegistry(payloadCredit: payloadCredit, replayRecords: replayRecords)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let batcher = EventBatcher(group: group, deliver: emit)
        self.batcher = batcher
        let lab = LabEngine(group: group, batcher: batcher)
        self.lab = lab
        // Every batch passes the lab on its way out: it completes `accept`s and starts kernel sampling.
        batcher.setObserver { lab.observe($0) }
        sink = EventSink(batcher)
        scans = BackgroundJob(name: "scan", deliver: { batcher.emit(batch: $0) })
        pings = BackgroundJob(name: "ping", deliver: { batcher.emit(batch: $0) })
        self.connectTimeout = TimeAmount(connectTimeout)
        lab.attach(registry: registry)
    }

    /// Starts `request` and returns at once. Thread-safe, non-blocking.
    ///
    /// Every event answering the request carries `request.id`, and the last of them is
    /// exactly one `.requestCompleted`. After `shutdown`, requests fail at once, and
    /// (the loops being gone) their events are delivered on the caller's thread.
    public func submit(_ request: EngineRequest) {
        let accepted = isRunning.withLockedValue { running in
            if running { dispatch(request) }
            return running
        }
        if !accepted {
            sink.complete(request.id, failure: SocketFailure(call: "submit", explanation: "the engine has shut down"))
        }
    }

    /// Closes every socket (each reports `.closed` with reason "engine stopped") and stops
    /// the event loops; blocks until done. Must not be called on an engine thread. Idempotent.
    public func shutdown() {
        precondition(!group.makeIterator().contains { $0.inEventLoop }, "Engine.shutdown() called on an engine thread")
        let wasRunning = isRunning.withLockedValue { running in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        scans.shutdown()
        pings.shutdown()
        let closings = registry.beginStopping().map { entry in
            entry.eventLoop.flatSubmit {
                entry.control.value.close(reason: "engine stopped", request: nil)
                return entry.closeFuture
            }
        }
        try? EventLoopFuture.andAllComplete(closings, on: group.next()).wait()
        finishCapture()
        lab.shutdown()
        batcher.flushAll(group)
        try? group.syncShutdownGracefully()
    }

    /// Read buffers for stream connections: small for quiet ones, doubling whenever a read
    /// fills one, up to 1 MiB for bulk transfers so a flood costs few reads (and few events).
    /// NIO keeps each channel's read buffer for its next read (`NIOPooledRecvBufferAllocator`),
    /// so an idle connection holds the largest buffer it has needed so far: the initial size
    /// is what each of 10 000 idle connections costs. 256 bytes holds a typed line or a small
    /// request in one read; NIO's default of 2048 was a third of our memory per connection.
    static let readBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 1 << 20)

    /// Runs on the caller's thread under the `isRunning` lock: only hands work to a loop.
    /// Exhaustive: a new request is a new case here, and the compiler says so.
    private func dispatch(_ request: EngineRequest) {
        switch request.command {
        case .listen(let listen):
            let loop = group.next()
            loop.execute { self.listen(listen, request: request.id, on: loop) }
        case .connect(let connect):
            let loop = group.next()
            loop.execute { self.connect(connect, request: request.id, on: loop) }
        case .send(let id, let bytes):
            withOpenSocket(id, request: request.id, call: "send") { $0.send(bytes, request: request.id) }
        case .close(let id):
            withOpenSocket(id, request: request.id, call: "close") {
                let reason = switch id.kind {
                case .listener: "stopped listening"
                case .relay: "stopped relaying (its pairs go on)"
                case .connection, .socket: "closed by us"
                }
                $0.close(reason: reason, request: request.id)
            }
        case .shutdown(let id, let direction):
            withStream(id, request: request.id, call: "shutdown") { $0.shutdown(direction, request: request.id) }
        case .reset(let id):
            withStream(id, request: request.id, call: "reset") { $0.reset(request: request.id) }
        case .startTLS(let startTLS):
            withStream(startTLS.socket, request: request.id, call: "starttls") { $0.startTLS(startTLS, request: request.id) }
        case .sendFile(let id, let path):
            withStream(id, request: request.id, call: "sendfile") { $0.sendFile(path: path, request: request.id) }
        case .follow(let id):
            let previous = followed.withLockedValue { value in
                defer { value = id }
                return value
            }
            // A socket that closed meanwhile has nothing left to follow: no error for it.
            for (target, on) in [(previous, false), (id, true)] {
                guard let target, previous != id, let entry = registry.entry(for: target) else { continue }
                entry.eventLoop.execute {
                    if case .stream(let stream) = entry.control.value.capability { stream.follow(on) }
                }
            }
            let sink = sink
            group.next().execute { sink.complete(request.id) }
        case .replayRecord(let id):
            replayRecord(of: id, request: request.id)
        case .sendTo(let id, let destination, let bytes):
            switch destination {
            case .inet(_, let host, let port):
                sendTo(id, host: host, port: port, bytes: bytes, request: request.id)
            case .unix(let path), .unixDatagram(let path):
                sendTo(id, unixName: UnixSocketName(path), bytes: bytes, request: request.id)
            }
        case .setOption(let id, let option, let value):
            self.option(option, of: id, settingTo: value, request: request.id)
        case .getOption(let id, let option):
            self.option(option, of: id, settingTo: nil, request: request.id)
        case .resolve(let host):
            resolve(host, request: request.id)
        case .lab(let command):
            lab.perform(command, request: request.id, engine: self)
        case .wait(let milliseconds):
            // A timer, not a sleeping thread: engine shutdown cancels it with the loop.
            let sink = sink
            group.next().scheduleTask(in: .milliseconds(Int64(milliseconds))) { sink.complete(request.id) }
        case .addRule(let owner, let number, let rule):
            addRule(rule, number: number, to: owner, request: request.id)
        case .removeRule(let owner, let number):
            removeRule(number, from: owner, request: request.id)
        case .scan(let scan):
            self.scan(scan, request: request.id)
        case .stopScan:
            stop(scans, request: request.id)
        case .ping(let ping):
            self.ping(ping, request: request.id)
        case .stopPing:
            stop(pings, request: request.id)
        case .relay(let relay):
            let loop = group.next()
            loop.execute { self.relay(relay, request: request.id, on: loop) }
        case .capture(let capture):
            self.capture(capture, request: request.id)
        case .toxic(let id, let command):
            withRelay(id, request: request.id, call: "toxic") { $0.change(command, of: id, request: request.id) }
        case .relaySwitch(let id, let change):
            withRelay(id, request: request.id, call: "relay") { $0.switchTo(change, of: id, request: request.id) }
        case .hold(let id, let command):
            withRelay(id, request: request.id, call: command.verb) { $0.hold(command, of: id, request: request.id) }
        }
    }

    /// Answers `.replayRecord`: from the connection while it is open (on its loop), else from
    /// the records kept of closed ones. The open socket is asked first: a connection keeps its
    /// record in the store before it leaves the registry, so one of the two always has it.
    private func replayRecord(of id: SocketID, request: RequestID) {
        let sink = sink
        let answer = { (record: ReplayRecord?) in
            guard let record else {
                return sink.complete(request, failure: SocketFailure(
                    call: "replay", explanation: "sockscope keeps no record of what \(id)'s client side sent "
                        + "(records of closed connections are given up, oldest first, past "
                        + "\(ByteCount.text(self.registry.replayRecords.totalLimit)) in all)"), socket: id)
            }
            sink.emit(.replayRecord(id, record), request: request)
            sink.complete(request)
        }
        if let entry = registry.entry(for: id) {
            entry.eventLoop.execute {
                guard case .stream(let stream) = entry.control.value.capability else { return answer(nil) }
                answer(stream.replayRecord ?? self.registry.replayRecords.record(of: id))
            }
        } else {
            let record = registry.replayRecords.record(of: id)
            group.next().execute { answer(record) }
        }
    }

    /// Runs `body` on the socket's loop, or answers that no such socket is open.
    func withOpenSocket(_ id: SocketID, request: RequestID, call: String,
                        _ body: @escaping @Sendable (any SocketControl) -> Void) {
        withOpenEntry(id, request: request, call: call) { body($0.control.value) }
    }

    /// Runs `body` on the socket's loop with its registry entry, or answers that no such socket is open.
    func withOpenEntry(_ id: SocketID, request: RequestID, call: String,
                       _ body: @escaping @Sendable (SocketRegistry.Entry) -> Void) {
        if let entry = registry.entry(for: id) {
            entry.eventLoop.execute { body(entry) }
        } else {
            let sink = sink
            let noun = switch id.kind {
            case .listener: "listener"
            case .relay: "relay"
            case .connection, .socket: "connection"
            }
            group.next().execute {
                sink.complete(request, failure: SocketFailure(call: call, explanation: "no open \(noun) \(id)"), socket: id)
            }
        }
    }
}
