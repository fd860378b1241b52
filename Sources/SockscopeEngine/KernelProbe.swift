import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// Samples what the kernel thinks of our TCP sockets (TCP_INFO, /proc/net/tcp,
/// /proc/net/netstat) while something changes, and not at all when nothing does.
///
/// Samples ride on socket events: an event marks its socket and a sample runs at
/// once on the probe's loop, taking every socket marked since the last one (only
/// the `sampleLimit` most recent: 10 000 connections cost no more than 64).
/// Samples are at least `minimumGap` apart: data events inside the gap wait for
/// the next sample; a state change inside it (accept, connect, close, FIN)
/// schedules one sample at the end of the gap. No timer runs after the last
/// event, so an idle engine has no wake-ups. The one exception: sockets we
/// closed are followed once a second while the kernel still holds them
/// (FIN-WAIT, TIME-WAIT...), at most `lingeringLimit` of them, then dropped.
/// Samples are reported only when they change.
final class KernelProbe: Sendable {
    /// Where open sockets are found: the registry's channels, and step-mode fds.
    struct Sources: Sendable {
        let registry: SocketRegistry
        /// TCP_INFO of a step-mode socket not yet handed to NIO, read on its own loop; nil if it is not one.
        let stepInfo: @Sendable (SocketID) -> EventLoopFuture<sockscope_tcp_info?>?
    }

    private struct Tracked {
        var local: String?
        var remote: String?
        var isListener = false
        var isOpen = true
        var lastActivity: NIODeadline
        var last: KernelSample?
        /// An event happened since the last sample.
        var isDirty = true
    }

    private struct State {
        var tracked: [SocketID: Tracked] = [:]
        /// A sample is queued or scheduled; more events just mark their sockets.
        var scheduled = false
        var lastSample = NIODeadline.distantPast
        var portRangeSent = false
        var stopped = false
        /// Set by `requestSample` when a sample must wait for the end of the gap.
        var pendingDelay: TimeAmount?
    }

    /// Samples are at least this far apart, however busy the sockets are.
    static let minimumGap = TimeAmount.milliseconds(250)
    /// Sockets sampled at most per sample: the most recently active.
    static let sampleLimit = 64
    /// /proc/net/tcp is read (for queues) only while we track at most this many sockets.
    static let procTableLimit = 512
    static let lingerInterval = TimeAmount.seconds(1)
    /// Closed sockets followed at most; the oldest beyond are let go.
    static let lingeringLimit = 64

    private let state = NIOLockedValueBox(State())
    private let sources = NIOLockedValueBox<Sources?>(nil)
    private let loop: any EventLoop
    private let deliver: @Sendable (EngineEvent) -> Void

    init(loop: any EventLoop, deliver: @escaping @Sendable (EngineEvent) -> Void) {
        self.loop = loop
        self.deliver = deliver
    }

    func attach(_ sources: Sources) {
        self.sources.withLockedValue { $0 = sources }
    }

    func stop() {
        state.withLockedValue { $0.stopped = true }
    }

    /// Sees every engine event (on engine threads): learns sockets and their addresses, and starts sampling.
    func observe(_ event: EngineEvent) {
        let now = NIODeadline.now()
        var wantsPortRange = false
        let shouldSchedule: Bool = state.withLockedValue { state in
            guard !state.stopped else { return false }
            switch event.kind {
            case .listening(let id, let transport, let local, _, _):
                guard transport == .tcp else { return false }
                state.tracked[id] = Tracked(local: local, isListener: true, lastActivity: now)
            case .accepted(let id, let listener, let local, let remote):
                guard state.tracked[listener] != nil else { return false }
                state.tracked[id] = Tracked(local: local, remote: remote, lastActivity: now)
                state.tracked[listener]?.lastActivity = now
                state.tracked[listener]?.isDirty = true
            case .connected(let id, let local, let remote):
                guard Self.isInternetAddress(local) else { return false }
                if state.tracked[id] == nil { state.tracked[id] = Tracked(lastActivity: now) }
                state.tracked[id]?.local = local
                state.tracked[id]?.remote = remote
                state.tracked[id]?.lastActivity = now
                state.tracked[id]?.isDirty = true
                wantsPortRange = !state.portRangeSent
                state.portRangeSent = true
            case .lab(.call(let id, let record)):
                guard record.transport == .tcp else { return false }
                if record.call == "socket" {
                    guard record.errno == nil else { return false }
                    state.tracked[id] = Tracked(lastActivity: now)
                }
                state.tracked[id]?.lastActivity = now
                state.tracked[id]?.isDirty = true
                if let local = record.local { state.tracked[id]?.local = local }
                if let remote = record.remote { state.tracked[id]?.remote = remote }
                if record.phase == .listening { state.tracked[id]?.isListener = true }
                if record.phase == .closed { state.tracked[id]?.isOpen = false }
            case .closed(let id, _):
                guard state.tracked[id] != nil else { return false }
                state.tracked[id]?.isOpen = false
                state.tracked[id]?.lastActivity = now
                state.tracked[id]?.isDirty = true
            case .lab(.kernel), .lab(.system), .lab(.portRange), .requestCompleted, .resolved:
                return false
            default:
                guard let id = event.kind.socket, state.tracked[id] != nil else { return false }
                state.tracked[id]?.lastActivity = now
                state.tracked[id]?.isDirty = true
            }
            return Self.requestSample(&state, now: now, isStateChange: Self.changesState(event.kind))
        }
        if wantsPortRange {
            loop.execute { [deliver] in
                if let range = ProcFile.localPortRange() {
                    deliver(EngineEvent(time: .now(), kind: .lab(.portRange(low: range.low, high: range.high))))
                }
            }
        }
        schedule(shouldSchedule)
    }

    /// Data moves rtt and counters; anything else may move the TCP state.
    private static func changesState(_ kind: EngineEventKind) -> Bool {
        switch kind {
        case .received, .sent, .receivedFrom, .sentTo: false
        default: true
        }
    }

    /// Decides whether a sample must be queued now (true), later (scheduled here), or not at all.
    private static func requestSample(_ state: inout State, now: NIODeadline, isStateChange: Bool) -> Bool {
        guard !state.scheduled else { return false }
        if now - state.lastSample >= minimumGap {
            state.scheduled = true
            return true
        }
        // Inside the gap: a state change gets one sample at its end; data waits for the next event.
        if isStateChange {
            state.scheduled = true
            state.pendingDelay = minimumGap - (now - state.lastSample)
        }
        return false
    }

    /// Queues the sample decided by `requestSample`.
    private func schedule(_ now: Bool) {
        if now {
            loop.execute { self.sample() }
            return
        }
        let delay = state.withLockedValue { state -> TimeAmount? in
            defer { state.pendingDelay = nil }
            return state.pendingDelay
        }
        if let delay { loop.scheduleTask(in: delay) { self.sample() } }
    }

    /// A client arrived in a watched listener's queue.
    func noteArrival(at id: SocketID) {
        let now = NIODeadline.now()
        let shouldSchedule = state.withLockedValue { state -> Bool in
            guard !state.stopped, state.tracked[id] != nil else { return false }
            state.tracked[id]?.lastActivity = now
            state.tracked[id]?.isDirty = true
            return Self.requestSample(&state, now: now, isStateChange: true)
        }
        schedule(shouldSchedule)
    }

    private static func isInternetAddress(_ text: String) -> Bool {
        text.hasPrefix("[") || (text.first?.isNumber == true && text.contains(":"))
    }

    // MARK: Sampling (on `loop`)

    private func sample() {
        let now = NIODeadline.now()
        let (due, stopped) = state.withLockedValue { state -> ([SocketID: Tracked], Bool) in
            state.lastSample = now
            let candidates = state.tracked.filter { $0.value.isDirty || !$0.value.isOpen }
            var due = candidates
            if candidates.count > Self.sampleLimit {
                due = Dictionary(uniqueKeysWithValues: candidates.sorted { $0.value.lastActivity > $1.value.lastActivity }
                    .prefix(Self.sampleLimit).map { ($0.key, $0.value) })
            }
            // Marks beyond the cap are dropped, not carried over: a flood of 10 000 new
            // connections costs one capped sample, not 150 samples in a row.
            for id in candidates.keys { state.tracked[id]?.isDirty = false }
            return (due, state.stopped)
        }
        guard !stopped, let sources = sources.withLockedValue({ $0 }) else { return }
        let infos: [EventLoopFuture<(SocketID, sockscope_tcp_info?)>] = due.compactMap { id, tracked in
            guard tracked.isOpen else { return nil }
            if let future = sources.stepInfo(id) { return future.map { (id, $0) } }
            guard let entry = sources.registry.entry(for: id),
                  let provider = entry.channel.flatMap({ $0 as? any SocketOptionProvider }) else { return nil }
            let buffer: EventLoopFuture<sockscope_tcp_info_buffer> =
                provider.unsafeGetSocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_INFO))
            return buffer.map { raw -> (SocketID, sockscope_tcp_info?) in
                var raw = raw
                var info = sockscope_tcp_info()
                withUnsafeBytes(of: &raw) { sockscope_tcp_info_decode($0.baseAddress, $0.count, &info) }
                return (id, info)
            }.recover { _ in (id, nil) }.hop(to: loop)
        }
        EventLoopFuture.whenAllComplete(infos, on: loop).whenComplete { results in
            var byID: [SocketID: sockscope_tcp_info] = [:]
            for case .success(let (id, info?)) in (try? results.get()) ?? [] { byID[id] = info }
            self.finish(due: due, infos: byID)
        }
    }

    private func finish(due: [SocketID: Tracked], infos: [SocketID: sockscope_tcp_info]) {
        // The table costs a parse of every TCP socket on the machine: read it only while it is small,
        // or to follow sockets we closed (they have no descriptor left, only a row).
        let needsTable = state.withLockedValue { $0.tracked.count <= Self.procTableLimit }
            || due.values.contains { !$0.isOpen }
        let rows = needsTable ? ProcFile.tcpSockets() : []
        var connections: [String: ProcNet.InetSocket] = [:]
        var listening: [String: ProcNet.InetSocket] = [:]
        for row in rows {
            if row.state == TCPState.listen.rawValue { listening[row.local] = row } else { connections[row.local + "|" + row.remote] = row }
        }
        let counters = due.values.contains { $0.isListener } ? ProcFile.netstatCounters() : [:]
        var samples: [SocketID: KernelSample] = [:]
        for (id, tracked) in due {
            var sample = KernelSample()
            let info = infos[id]
            let row: ProcNet.InetSocket? = if tracked.isListener {
                tracked.local.flatMap { listening[$0] }
            } else if let local = tracked.local, let remote = tracked.remote {
                connections[local + "|" + remote]
            } else {
                nil
            }
            if tracked.isOpen {
                guard info != nil || row != nil else { continue }
                if let info {
                    sample.state = TCPState(rawValue: Int(info.state))
                    if tracked.isListener || sample.state == .listen {
                        sample.acceptQueue = Int(info.unacked)
                        sample.backlog = Int(info.sacked)
                    } else {
                        sample.rttMicroseconds = Int(info.rtt_us)
                        sample.rttVarianceMicroseconds = Int(info.rttvar_us)
                        sample.congestionWindow = Int(info.snd_cwnd)
                        sample.retransmits = Int(info.total_retrans)
                        sample.unackedSegments = Int(info.unacked)
                        sample.bytesAcked = Int(truncatingIfNeeded: info.bytes_acked)
                        sample.bytesReceived = Int(truncatingIfNeeded: info.bytes_received)
                    }
                }
                if let row {
                    if sample.state == nil { sample.state = TCPState(rawValue: row.state) }
                    if sample.state == .listen {
                        sample.acceptQueue = row.receiveQueue
                    } else {
                        sample.sendQueue = row.transmitQueue
                        sample.receiveQueue = row.receiveQueue
                    }
                }
                if sample.state == .listen {
                    sample.listenOverflows = counters["TcpExtListenOverflows"]
                    sample.listenDrops = counters["TcpExtListenDrops"]
                }
            } else if let row {
                // Closed by us (or both), still held by the kernel: FIN-WAIT, TIME-WAIT, LAST-ACK...
                sample.state = TCPState(rawValue: row.state)
                sample.timerSeconds = row.timer == 3 || sample.state == .timeWait ? row.timerSeconds : nil
                sample.sendQueue = row.transmitQueue
                sample.receiveQueue = row.receiveQueue
                sample.lingering = true
            } else {
                sample.gone = true
            }
            samples[id] = sample
        }
        let (changed, delay): ([(SocketID, KernelSample)], TimeAmount?) = state.withLockedValue { state in
            var changed: [(SocketID, KernelSample)] = []
            for (id, sample) in samples.sorted(by: { $0.key < $1.key }) {
                guard state.tracked[id] != nil else { continue }
                let last = state.tracked[id]?.last
                if last != sample {
                    var reported = sample
                    reported.isNotable = last == nil || last?.state != sample.state || last?.acceptQueue != sample.acceptQueue
                        || last?.lingering != sample.lingering || last?.gone != sample.gone
                    changed.append((id, reported))
                }
                state.tracked[id]?.last = sample
                if sample.gone { state.tracked[id] = nil }
            }
            let lingering = state.tracked.filter { !$0.value.isOpen }
            if lingering.count > Self.lingeringLimit {
                for (id, _) in lingering.sorted(by: { $0.value.lastActivity < $1.value.lastActivity })
                    .prefix(lingering.count - Self.lingeringLimit) {
                    state.tracked[id] = nil
                }
            }
            let delay: TimeAmount?
            let stillDirty = state.tracked.values.contains { $0.isDirty }
            if state.stopped {
                delay = nil
            } else if stillDirty {
                // Events arrived while this sample ran: one more after the gap.
                delay = Self.minimumGap
            } else if state.tracked.values.contains(where: { !$0.isOpen }) {
                delay = Self.lingerInterval
            } else {
                delay = nil
            }
            if delay == nil { state.scheduled = false }
            return (changed, delay)
        }
        for (id, sample) in changed {
            deliver(EngineEvent(time: .now(), kind: .lab(.kernel(id, sample))))
        }
        if let delay { loop.scheduleTask(in: delay) { self.sample() } }
    }
}
