import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// Samples what the kernel thinks of our TCP sockets (TCP_INFO, a sock_diag lookup
/// per socket, /proc/net/netstat) while something changes, and not at all when nothing does.
///
/// Samples ride on socket events: an event marks its socket and a sample runs at
/// once on the probe's loop, taking every socket marked since the last one (only
/// the `sampleLimit` most recent: 10 000 connections cost no more than 64).
/// Data events are sampled at least `minimumGap` apart (data inside the gap waits
/// for the next sample). An event that can change a TCP state (accept, connect,
/// close, shutdown, FIN, an error) is sampled within `stateChangeGap`, and its
/// socket again `followUpDelays` after it: the kernel moves on without telling us
/// (FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT as the peer answers), and those steps
/// take milliseconds. The follow-ups are bounded; after them no timer runs, so an
/// idle engine has no wake-ups. The one exception: sockets we closed are followed
/// once a second while the kernel still holds them (FIN-WAIT, TIME-WAIT...), at
/// most `lingeringLimit` of them, then dropped. Samples are reported only when they change.
///
/// Queues, listener accept queues and the state and timer of sockets we closed come
/// from netlink sock_diag, asked for each sampled socket by its addresses: a hash
/// lookup in the kernel, so a sample costs the same on a machine with 100 000 TCP
/// sockets (TIME-WAIT from test runs...) as on an idle one. Parsing /proc/net/tcp
/// instead walked every socket of the machine on the event loop.
final class KernelProbe: Sendable {
    /// Where open sockets are found: the registry's channels, and step-mode fds.
    struct Sources: Sendable {
        let registry: SocketRegistry
        /// TCP_INFO of a step-mode socket not yet handed to NIO, read on its own loop; nil if it is not one.
        let stepInfo: @Sendable (SocketID) -> EventLoopFuture<sockscope_tcp_info?>?
    }

    /// One entry per TCP socket we hold (10 000 connections, 10 000 entries), so it is kept
    /// small: fixed-size addresses and a fingerprint of the last report, not the report itself.
    private struct Tracked {
        /// Taken from the events' typed endpoints when the socket is learned, as sock_diag wants them.
        var local: InetEndpoint?
        var remote: InetEndpoint?
        var lastActivity: NIODeadline
        /// What was last reported, to report only changes; nil before the first report.
        var reported: ReportedSample?
        var isListener = false
        /// A state-changing event came recently: the follow-up samples look at this socket again.
        var isFollowed = false
        var isOpen = true
        /// An event happened since the last sample.
        var isDirty = true
        /// Lookups of this closed socket that failed outright (not "no such socket"); at most `failedLookupLimit`.
        var failedLookups: UInt8 = 0

        /// What sock_diag needs to find the socket: a listener by its local address,
        /// a connection by both; nil when the socket never had them.
        var lookupKey: (local: InetEndpoint, remote: InetEndpoint?)? {
            guard let local else { return nil }
            if isListener { return (local, nil) }
            guard let remote, remote.family == local.family else { return nil }
            return (local, remote)
        }
    }

    /// The last reported sample as far as change detection needs it. Keeping the whole
    /// `KernelSample` (~230 bytes, most of it optional counters) in every tracked socket was
    /// the probe's largest cost with many idle connections. The fields that make a change
    /// notable are kept exactly; everything else (rtt, cwnd, counters, queues) is compared
    /// by a 64-bit hash, whose collision would at worst delay one metrics-only update to
    /// the next change.
    private struct ReportedSample: Equatable {
        var hash: Int
        var acceptQueue: Int?
        var state: TCPState?
        var lingering: Bool
        var gone: Bool

        init(_ sample: KernelSample) {
            hash = sample.hashValue
            acceptQueue = sample.acceptQueue
            state = sample.state
            lingering = sample.lingering
            gone = sample.gone
        }

        /// A change worth a line of headless output: state, accept queue or presence.
        func isNotablyDifferent(from other: ReportedSample) -> Bool {
            state != other.state || acceptQueue != other.acceptQueue || lingering != other.lingering || gone != other.gone
        }
    }

    /// When a requested sample runs.
    private enum SampleTiming {
        case now
        case after(TimeAmount)
    }

    /// The kernel's answer for one socket.
    private enum TableEntry {
        case found(sockscope_tcp_diag)
        /// The kernel holds no such socket (or it never had addresses to look up).
        case absent
    }

    private struct State {
        var tracked: [SocketID: Tracked] = [:]
        /// A sample is queued or scheduled; more events just mark their sockets.
        var scheduled = false
        /// A state-changing event came while a sample was queued or running: the next one comes soon.
        var stateChangePending = false
        /// How many of `followUpDelays` have run since the last state-changing event.
        var followUpsDone = KernelProbe.followUpDelays.count
        /// The machine's ListenOverflows / ListenDrops when each TCP listener opened.
        var listenerBaselines: [SocketID: (overflows: Int, drops: Int)] = [:]
        var lastSample = NIODeadline.distantPast
        var portRangeSent = false
        var stopped = false
    }

    /// Samples for data are at least this far apart, however busy the sockets are.
    static let minimumGap = TimeAmount.milliseconds(250)
    /// A state-changing event is sampled at most this long after the last sample.
    static let stateChangeGap = TimeAmount.milliseconds(10)
    /// After a state-changing event, its socket is sampled again after each of these delays
    /// (one after the other): handshakes and goodbyes finish within them.
    static let followUpDelays: [TimeAmount] = [.milliseconds(10), .milliseconds(40), .milliseconds(100),
                                                .milliseconds(250), .milliseconds(500)]
    /// Sockets sampled at most per sample: the most recently active.
    static let sampleLimit = 64
    static let lingerInterval = TimeAmount.seconds(1)
    /// Closed sockets followed at most; the oldest beyond are let go.
    static let lingeringLimit = 64
    /// A closed socket whose lookups failed this often (sock_diag unavailable...) is let go,
    /// so that no timer keeps running for it.
    static let failedLookupLimit: UInt8 = 3

    /// Machine-wide /proc/net/netstat counters shown with a listener: accept queue full, SYNs dropped.
    private static let listenOverflowsKey = "TcpExtListenOverflows"
    private static let listenDropsKey = "TcpExtListenDrops"
    private static let listenCounterKeys: Set = [listenOverflowsKey, listenDropsKey]

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

    /// No sample queued or scheduled: the probe costs no wake-ups until the next event.
    var isIdle: Bool {
        state.withLockedValue { !$0.scheduled }
    }

    /// Sees every engine event (on engine threads): learns sockets and their addresses, and starts sampling.
    func observe(_ event: EngineEvent) {
        observe(CollectionOfOne(event))
    }

    /// Sees a batch of engine events under one lock acquisition.
    func observe(_ events: some Collection<EngineEvent>) {
        guard !events.isEmpty else { return }
        let now = NIODeadline.now()
        // The counters as a listener opens, so that its detail shows what happened since (a file
        // read per TCP listener opened, outside the lock).
        let opensListener = events.contains { if case .listening(_, .tcp, _, _, _) = $0.kind { true } else { false } }
        let counters = opensListener ? ProcFile.netstatCounters(Self.listenCounterKeys) : [:]
        let (timing, wantsPortRange) = state.withLockedValue { state -> (SampleTiming?, Bool) in
            guard !state.stopped else { return (nil, false) }
            var timing: SampleTiming?
            var wantsPortRange = false
            for event in events {
                guard Self.learn(from: event.kind, into: &state, now: now, wantsPortRange: &wantsPortRange) else { continue }
                if case .listening(let id, _, _, _, _) = event.kind,
                   let overflows = counters[Self.listenOverflowsKey], let drops = counters[Self.listenDropsKey] {
                    state.listenerBaselines[id] = (overflows, drops)
                }
                let isStateChange = Self.changesState(event.kind)
                if isStateChange, let id = event.kind.socket, let index = state.tracked.index(forKey: id) {
                    state.tracked.values[index].isFollowed = true
                    state.followUpsDone = 0
                }
                // At most one request per batch succeeds: it marks the sample scheduled.
                if let requested = Self.requestSample(&state, now: now, isStateChange: isStateChange) {
                    timing = requested
                }
            }
            return (timing, wantsPortRange)
        }
        if wantsPortRange {
            loop.execute { [deliver] in
                if let range = ProcFile.localPortRange() {
                    deliver(EngineEvent(time: .now(), kind: .lab(.portRange(low: range.low, high: range.high))))
                }
            }
        }
        schedule(timing)
    }

    /// Updates the tracked sockets from one event; true when it concerns a tracked TCP socket.
    private static func learn(from kind: EngineEventKind, into state: inout State, now: NIODeadline,
                              wantsPortRange: inout Bool) -> Bool {
        switch kind {
        case .listening(let id, let transport, let local, _, _):
            guard transport == .tcp else { return false }
            state.tracked[id] = Tracked(local: InetEndpoint(local), lastActivity: now, isListener: true)
        case .relay(.listening(let id, let transport, let local, _)):
            // A relay's client legs are sampled like a listener's connections.
            guard transport == .tcp else { return false }
            state.tracked[id] = Tracked(local: InetEndpoint(local), lastActivity: now, isListener: true)
        case .accepted(let id, let listener, let local, let remote):
            guard state.tracked[listener] != nil else { return false }
            state.tracked[id] = Tracked(local: InetEndpoint(local), remote: InetEndpoint(remote),
                                        lastActivity: now)
            touch(listener, in: &state, now: now)
        case .connected(let id, let local, let remote):
            guard let local = InetEndpoint(local) else { return false }
            if state.tracked[id] == nil { state.tracked[id] = Tracked(lastActivity: now) }
            state.tracked[id]?.local = local
            state.tracked[id]?.remote = InetEndpoint(remote)
            state.tracked[id]?.lastActivity = now
            state.tracked[id]?.isDirty = true
            if !state.portRangeSent { wantsPortRange = true }
            state.portRangeSent = true
        case .lab(.call(let id, let record)):
            guard record.transport == .tcp else { return false }
            if record.call == "socket" {
                guard record.errno == nil else { return false }
                state.tracked[id] = Tracked(lastActivity: now)
            }
            state.tracked[id]?.lastActivity = now
            state.tracked[id]?.isDirty = true
            if let local = record.local { state.tracked[id]?.local = InetEndpoint(local) }
            if let remote = record.remote { state.tracked[id]?.remote = InetEndpoint(remote) }
            if record.phase == .listening { state.tracked[id]?.isListener = true }
            if record.phase == .closed { state.tracked[id]?.isOpen = false }
        case .closed(let id, _):
            guard let index = state.tracked.index(forKey: id) else { return false }
            state.tracked.values[index].isOpen = false
            touch(id, in: &state, now: now)
        case .lab(.kernel), .lab(.system), .lab(.portRange), .requestCompleted, .resolved, .ruleFired, .fileSending, .tlsWire, .capture:
            // A rule's firing comes with the reads that caused it, which are sampled already;
            // a file about to be sent changes nothing in the kernel yet.
            return false
        default:
            guard let id = kind.socket else { return false }
            return touch(id, in: &state, now: now)
        }
        return true
    }

    /// Marks a tracked socket active, in place. Data events land here once per read, so
    /// this must stay cheap: `tracked[id]?.field = value` would copy the whole entry out of
    /// the dictionary and back, twice.
    @discardableResult
    private static func touch(_ id: SocketID, in state: inout State, now: NIODeadline) -> Bool {
        guard let index = state.tracked.index(forKey: id) else { return false }
        state.tracked.values[index].lastActivity = now
        state.tracked.values[index].isDirty = true
        return true
    }

    /// Data moves rtt and counters; anything else may move the TCP state.
    private static func changesState(_ kind: EngineEventKind) -> Bool {
        switch kind {
        case .received, .sent, .receivedFrom, .sentTo, .moreDatagrams: false
        default: true
        }
    }

    /// Decides whether a sample must run now, at the end of the gap, or not at all (nil).
    private static func requestSample(_ state: inout State, now: NIODeadline, isStateChange: Bool) -> SampleTiming? {
        guard !state.scheduled else {
            if isStateChange { state.stateChangePending = true }
            return nil
        }
        let gap = isStateChange ? stateChangeGap : minimumGap
        if now - state.lastSample >= gap {
            state.scheduled = true
            return .now
        }
        // Inside the gap: a state change gets one sample at its end; data waits for the next event.
        guard isStateChange else { return nil }
        state.scheduled = true
        return .after(gap - (now - state.lastSample))
    }

    /// Queues the sample decided by `requestSample`.
    private func schedule(_ timing: SampleTiming?) {
        switch timing {
        case .now?: loop.execute { self.sample() }
        case .after(let delay)?: loop.scheduleTask(in: delay) { self.sample() }
        case nil: break
        }
    }

    /// A client arrived in a watched listener's queue.
    func noteArrival(at id: SocketID) {
        let now = NIODeadline.now()
        let timing = state.withLockedValue { state -> SampleTiming? in
            guard !state.stopped, state.tracked[id] != nil else { return nil }
            state.tracked[id]?.lastActivity = now
            state.tracked[id]?.isDirty = true
            return Self.requestSample(&state, now: now, isStateChange: true)
        }
        schedule(timing)
    }

    // MARK: Sampling (on `loop`)

    private func sample() {
        let now = NIODeadline.now()
        let (due, stopped) = state.withLockedValue { state -> ([SocketID: Tracked], Bool) in
            state.lastSample = now
            state.stateChangePending = false
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
        let entries = Self.lookUpInKernel(due)
        let counters = due.values.contains { $0.isListener } ? ProcFile.netstatCounters(Self.listenCounterKeys) : [:]
        var samples: [SocketID: KernelSample] = [:]
        // Closed sockets whose lookup failed: nothing is known, so nothing is reported.
        var unknown: [SocketID] = []
        for (id, tracked) in due {
            var sample = KernelSample()
            let info = infos[id]
            let entry = entries[id]
            let held: sockscope_tcp_diag? = if case .found(let found)? = entry { found } else { nil }
            if tracked.isOpen {
                guard info != nil || held != nil else { continue }
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
                if let held {
                    if sample.state == nil { sample.state = TCPState(rawValue: Int(held.state)) }
                    if sample.state == .listen {
                        sample.acceptQueue = Int(held.receive_queue)
                        if sample.backlog == nil { sample.backlog = Int(held.send_queue) }
                    } else {
                        sample.sendQueue = Int(held.send_queue)
                        sample.receiveQueue = Int(held.receive_queue)
                    }
                }
                if sample.state == .listen {
                    sample.listenOverflows = counters[Self.listenOverflowsKey]
                    sample.listenDrops = counters[Self.listenDropsKey]
                }
            } else if let held {
                // Closed by us (or both), still held by the kernel: FIN-WAIT, TIME-WAIT, LAST-ACK...
                sample.state = TCPState(rawValue: Int(held.state))
                let showsCountdown = held.timer == Self.timeWaitTimer || sample.state == .timeWait
                sample.timerSeconds = showsCountdown && held.timer != 0 ? Double(held.expires_ms) / 1000 : nil
                sample.sendQueue = Int(held.send_queue)
                sample.receiveQueue = Int(held.receive_queue)
                sample.lingering = true
            } else if entry == nil {
                unknown.append(id)
                continue
            } else {
                sample.gone = true
            }
            samples[id] = sample
        }
        let (changed, delay): ([(SocketID, KernelSample)], TimeAmount?) = state.withLockedValue { state in
            var changed: [(SocketID, KernelSample)] = []
            for (id, var sample) in samples.sorted(by: { $0.key < $1.key }) {
                guard let index = state.tracked.index(forKey: id) else { continue }
                if let baseline = state.listenerBaselines[id], let overflows = sample.listenOverflows,
                   let drops = sample.listenDrops {
                    sample.listenOverflowsSinceOpen = overflows - baseline.overflows
                    sample.listenDropsSinceOpen = drops - baseline.drops
                }
                let last = state.tracked.values[index].reported
                let now = ReportedSample(sample)
                if last != now {
                    var reported = sample
                    reported.isNotable = last.map { $0.isNotablyDifferent(from: now) } ?? true
                    changed.append((id, reported))
                }
                state.tracked.values[index].reported = now
                if sample.gone {
                    state.tracked.remove(at: index)
                    state.listenerBaselines[id] = nil
                }
            }
            for id in unknown {
                guard let index = state.tracked.index(forKey: id) else { continue }
                state.tracked.values[index].failedLookups += 1
                if state.tracked.values[index].failedLookups >= Self.failedLookupLimit { state.tracked.remove(at: index) }
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
            } else if state.stateChangePending {
                // A state changed while this sample ran: look again soon.
                delay = Self.stateChangeGap
            } else if state.followUpsDone < Self.followUpDelays.count {
                // The kernel may still be moving the sockets of the last state change on.
                delay = Self.followUpDelays[state.followUpsDone]
                state.followUpsDone += 1
                let isLast = state.followUpsDone == Self.followUpDelays.count
                for index in state.tracked.values.indices where state.tracked.values[index].isFollowed {
                    state.tracked.values[index].isDirty = true
                    if isLast { state.tracked.values[index].isFollowed = false }
                }
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

    /// sock_diag's timer number for TIME-WAIT (and FIN-WAIT-2 held by a TIME-WAIT remnant).
    private static let timeWaitTimer: UInt8 = 3

    /// The kernel's record of each socket in `due`, one exact sock_diag lookup each.
    /// A socket missing from the result could not be looked up (the lookup itself failed).
    private static func lookUpInKernel(_ due: [SocketID: Tracked]) -> [SocketID: TableEntry] {
        var entries: [SocketID: TableEntry] = [:]
        var keyed: [(SocketID, local: InetEndpoint, remote: InetEndpoint?)] = []
        for (id, tracked) in due {
            if let key = tracked.lookupKey { keyed.append((id, key.local, key.remote)) } else { entries[id] = .absent }
        }
        guard !keyed.isEmpty else { return entries }
        // One netlink socket per sample: nothing to close on stop, nothing shared between threads.
        let diagFD = sockscope_tcp_diag_open()
        guard diagFD >= 0 else { return entries }
        defer { close(diagFD) }
        for (id, local, remote) in keyed {
            var found = sockscope_tcp_diag()
            // A lookup that failed (timed out, sock_diag missing) would fail the same way for
            // the rest: leave them unknown rather than wait on each.
            guard lookUp(diagFD: diagFD, local: local, remote: remote, into: &found) == 0 else { break }
            entries[id] = found.found != 0 ? .found(found) : .absent
        }
        return entries
    }

    /// One exact sock_diag lookup; 0 or the errno of the lookup itself.
    private static func lookUp(diagFD: CInt, local: InetEndpoint, remote: InetEndpoint?, into found: inout sockscope_tcp_diag) -> CInt {
        withUnsafeBytes(of: local.address) { localBytes in
            guard let remote else {
                return sockscope_tcp_diag_lookup(diagFD, local.family, localBytes.baseAddress, local.port, nil, 0, &found)
            }
            return withUnsafeBytes(of: remote.address) { remoteBytes in
                sockscope_tcp_diag_lookup(diagFD, local.family, localBytes.baseAddress, local.port,
                                          remoteBytes.baseAddress, remote.port, &found)
            }
        }
    }

    /// The kernel's record of the one TCP connection between these two addresses (TIME-WAIT remnants
    /// included): nil when the kernel holds none, or could not be asked.
    static func lookUp(local: SocketEndpoint, remote: SocketEndpoint) -> sockscope_tcp_diag? {
        guard let local = InetEndpoint(local), let remote = InetEndpoint(remote) else { return nil }
        let diagFD = sockscope_tcp_diag_open()
        guard diagFD >= 0 else { return nil }
        defer { close(diagFD) }
        var found = sockscope_tcp_diag()
        guard lookUp(diagFD: diagFD, local: local, remote: remote, into: &found) == 0, found.found != 0 else { return nil }
        return found
    }
}

/// An IP address and port as sock_diag wants them (network order), copied from an event's
/// typed endpoint. Stored inline (no array): every tracked socket holds two of these.
private struct InetEndpoint: Sendable {
    /// 4 bytes (IPv4, then zeros) or 16 bytes (IPv6), network order.
    let address: (UInt64, UInt64)
    let port: UInt16
    /// A Bool rather than the CInt family: its spare bit patterns make `InetEndpoint?` no larger.
    let isIPv6: Bool

    /// AF_INET or AF_INET6.
    var family: CInt { isIPv6 ? AF_INET6 : AF_INET }

    /// Nil for anything but an IP endpoint (a UNIX name, an unknown address).
    init?(_ endpoint: SocketEndpoint) {
        switch endpoint {
        case .ipv4(let ipv4, let port):
            var bytes: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &bytes) { $0.storeBytes(of: ipv4.value.bigEndian, as: UInt32.self) }
            address = bytes
            self.port = port
            isIPv6 = false
        case .ipv6(let ipv6, let port):
            address = (ipv6.high.bigEndian, ipv6.low.bigEndian)
            self.port = port
            isIPv6 = true
        default:
            return nil
        }
    }
}
