import CSystemShim
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

// The connect scanner (`scan HOST PORTS`), run as the engine's `scans` job (`BackgroundJob`):
// plain non-blocking sockets and a level-triggered epoll set. Not NIO: a channel per port
// costs a pipeline, promises and a registration each; here a closed loopback port costs a
// connect and a SO_ERROR read (the refused socket is disconnected and used for the next
// port, not closed and made anew). A long scan is split between workers, one thread per
// core (`ScanRun`): on loopback a port's cost is the kernel's work in connect, done on the
// calling thread, so two threads on two cores take about half the time.

/// The descriptors this process may still open: RLIMIT_NOFILE's soft limit less those open
/// now, less a reserve for everything else the app does meanwhile (connections, saving a log).
struct DescriptorBudget {
    var limit: Int
    var inUse: Int
    static let reserve = 32

    var free: Int { max(0, limit - inUse - Self.reserve) }

    static func now() -> DescriptorBudget {
        DescriptorBudget(limit: sockscope_descriptor_limit(), inUse: Int(sockscope_descriptors_in_use()))
    }

    var words: String { "RLIMIT_NOFILE \(limit), \(inUse) open, \(Self.reserve) kept for the rest" }

    var exhausted: SocketFailure {
        var failure = SocketFailure.system(call: "scan", errno: EMFILE)
        failure.explanation = "no descriptors free for a scan (\(words)); raise the limit with ulimit -n"
        return failure
    }
}

/// What a scan will do, decided before its thread starts.
struct ScanPlan {
    var scan: ScanRequest
    var address: RawSocket.Address
    var endpoint: SocketEndpoint
    var concurrency: Int
    var concurrencyReason: String

    /// Nil when no descriptor is free.
    init?(_ scan: ScanRequest, address: SocketAddress, budget: DescriptorBudget) {
        let free = budget.free
        guard free > 0 else { return nil }
        self.scan = scan
        self.address = RawSocket.address(address)
        endpoint = SocketEndpoint(address)
        if let asked = scan.concurrency {
            concurrency = min(asked, free)
            concurrencyReason = asked <= free ? "--concurrency \(asked)"
                : "--concurrency \(asked) asked, but only \(free) descriptors are free: \(budget.words)"
        } else {
            concurrency = min(ScanRequest.defaultConcurrency, free)
            concurrencyReason = free >= ScanRequest.defaultConcurrency
                ? "the default; \(free) descriptors free" : "the descriptors free: \(budget.words)"
        }
    }

    /// The plan split between `count` workers: contiguous shares of the ports (so each reports
    /// long runs), and of the concurrency (the sum stays within the plan's).
    func parts(_ count: Int) -> [ScanPlan] {
        let count = max(1, min(count, concurrency, scan.ports.count))
        guard count > 1 else { return [self] }
        var shares: [[ClosedRange<Int>]] = Array(repeating: [], count: count)
        let total = scan.ports.count
        var taken = 0
        var part = 0
        for range in scan.ports.ranges {
            var low = range.lowerBound
            while low <= range.upperBound {
                // Part p ends once (p+1)*total/count ports are taken (each share at least one port: count <= total).
                while (part + 1) * total / count <= taken { part += 1 }
                let end = (part + 1) * total / count
                let high = min(range.upperBound, low + (end - taken) - 1)
                shares[part].append(low...high)
                taken += high - low + 1
                low = high + 1
            }
        }
        return shares.enumerated().map { index, ranges in
            var part = self
            part.scan.ports = PortList(ranges)
            part.concurrency = concurrency / count + (index < concurrency % count ? 1 : 0)
            return part
        }
    }

    var start: ScanStart {
        ScanStart(host: scan.host, address: endpoint, ports: scan.ports, concurrency: concurrency,
                  concurrencyReason: concurrencyReason, timeoutMilliseconds: scan.timeoutMilliseconds,
                  bannerWaitMilliseconds: scan.bannerWaitMilliseconds)
    }
}

/// One scan, run on its thread: keeps at most `concurrency` sockets connecting (or waiting for
/// a banner), launches the next port as one finishes, and reports what it learns every
/// `reportInterval`. Deadlines are kept in launch order (every connect gets the same
/// timeout), so expiring them looks only at the oldest.
struct ScanLoop {
    private enum Phase { case free, connecting, banner }

    private struct Slot {
        var fd: CInt = -1
        var port = 0
        var generation: UInt32 = 0
        var phase = Phase.free
        var started: UInt64 = 0
    }

    private struct Deadline {
        var slot: Int
        var generation: UInt32
        var at: UInt64
    }

    /// Deadlines in the order they were set: all of one kind share one length, so the oldest expires first.
    private struct DeadlineQueue {
        var items: [Deadline] = []
        var head = 0

        var first: Deadline? { head < items.count ? items[head] : nil }

        mutating func append(_ deadline: Deadline) { items.append(deadline) }

        mutating func removeFirst() {
            head += 1
            if head >= 4096, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
        }
    }

    /// How often results leave while the scan runs: often enough to watch them come.
    static let reportIntervalNanoseconds: UInt64 = 20_000_000
    /// Ports launched between two looks at the epoll set (and the stop signal).
    static let launchesPerTurn = 256

    private let plan: ScanPlan
    private let stopFD: CInt
    private let request: RequestID
    private let deliver: @Sendable ([EngineEvent]) -> Void
    private var address: RawSocket.Address
    private let family: Int32
    private let timeout: UInt64
    private let bannerWait: UInt64?
    private var slots: [Slot]
    private var freeSlots: [Int]
    private var connectDeadlines = DeadlineQueue()
    private var bannerDeadlines = DeadlineQueue()
    private var setFD: CInt = -1
    /// The next port: an index into the list's ranges and the port within it.
    private var rangeIndex = 0
    private var nextPort: Int
    /// Ports put back after a failure that was ours, not theirs (out of descriptors or local ports).
    private var retry: [Int] = []
    private var inFlight = 0
    private var maxInFlight = 0
    private var open: [Int] = []
    /// Connects that reached their own socket (see `opened`): retried, never reported open.
    private(set) var selfConnections = 0
    private var closed = 0
    private var filtered = 0
    private var notOpen: [PortOutcome: [Int]] = [:]
    private var events: [EngineEvent] = []
    private var lastReport: UInt64 = 0
    private var readBuffer = [UInt8](repeating: 0, count: 4096)
    /// A socket whose connect was refused, disconnected (connect to AF_UNSPEC) and kept for the
    /// next port: cheaper than closing it and making another (-1: none).
    private var spareFD: CInt = -1

    init(_ plan: ScanPlan, stopFD: CInt, request: RequestID, deliver: @escaping @Sendable ([EngineEvent]) -> Void) {
        self.plan = plan
        self.stopFD = stopFD
        self.request = request
        self.deliver = deliver
        address = plan.address
        family = plan.address.family
        timeout = UInt64(plan.scan.timeoutMilliseconds) * 1_000_000
        bannerWait = plan.scan.bannerWaitMilliseconds.map { UInt64($0) * 1_000_000 }
        slots = Array(repeating: Slot(), count: plan.concurrency)
        freeSlots = Array((0..<plan.concurrency).reversed())
        nextPort = plan.scan.ports.ranges.first?.lowerBound ?? 1
    }

    /// What one worker found, for the scan's summary (`ScanRun` adds the workers' up).
    struct Tally {
        var open: [Int] = []
        var closed = 0
        var filtered = 0
        /// The most connects this worker had in flight at once.
        var maxInFlight = 0
        var stopped = false
        var failure: SocketFailure?
    }

    /// Scans the plan's ports (or until stopped); returns the events still to report and the tally.
    mutating func run() -> (events: [EngineEvent], tally: Tally) {
        lastReport = Self.monotonic()
        setFD = sockscope_watch_create()
        guard setFD >= 0 else {
            return ([], Tally(stopped: true, failure: .system(call: "epoll_create1", errno: errno)))
        }
        defer {
            close(setFD)
            if spareFD >= 0 { close(spareFD) }
        }
        _ = sockscope_ready_watch(setFD, stopFD, 1, 0, 0)
        var stopped = false
        var failure: SocketFailure?
        var tokens = [UInt64](repeating: 0, count: 256)
        scanning: while true {
            var launched = 0
            while inFlight < plan.concurrency, launched < Self.launchesPerTurn, let port = takePort() {
                launched += 1
                if let shortage = launch(port) {
                    retry.append(port)
                    // Nothing of ours will free a descriptor or a local port: the scan cannot go on.
                    if inFlight == 0 {
                        failure = .system(call: shortage.call, errno: shortage.errno)
                        break scanning
                    }
                    break
                }
            }
            if inFlight == 0, !hasPortsLeft { break }
            let now = Self.monotonic()
            let canLaunchMore = inFlight < plan.concurrency && hasPortsLeft && launched == Self.launchesPerTurn
            let wait = canLaunchMore ? 0 : waitMilliseconds(now: now)
            let count = tokens.withUnsafeMutableBufferPointer {
                sockscope_ready_wait(setFD, $0.baseAddress, Int32($0.count), wait)
            }
            for token in tokens.prefix(Int(max(0, count))) {
                if token == 0 {
                    stopped = true
                    break scanning
                }
                handle(slot: Int(token & 0xFFFF_FFFF) - 1, generation: UInt32(token >> 32))
            }
            expire(now: Self.monotonic())
            if Self.monotonic() - lastReport >= Self.reportIntervalNanoseconds { report() }
        }
        for index in slots.indices where slots[index].phase != .free { release(index) }
        flushNotOpen()
        return (events, Tally(open: open, closed: closed, filtered: filtered, maxInFlight: maxInFlight,
                              stopped: stopped || failure != nil, failure: failure))
    }

    // MARK: Ports

    private var hasPortsLeft: Bool { !retry.isEmpty || rangeIndex < plan.scan.ports.ranges.count }

    private mutating func takePort() -> Int? {
        if let port = retry.popLast() { return port }
        let ranges = plan.scan.ports.ranges
        guard rangeIndex < ranges.count else { return nil }
        let port = nextPort
        if port >= ranges[rangeIndex].upperBound {
            rangeIndex += 1
            if rangeIndex < ranges.count { nextPort = ranges[rangeIndex].lowerBound }
        } else {
            nextPort += 1
        }
        return port
    }

    /// Starts one connect; a failure of ours (no descriptor, no local port) is returned for a retry.
    private mutating func launch(_ port: Int) -> (call: String, errno: Int32)? {
        var fd = spareFD
        spareFD = -1
        if fd < 0 {
            fd = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        guard fd >= 0 else { return ("socket", errno) }
        let index = freeSlots.removeLast()
        slots[index].fd = fd
        slots[index].port = port
        slots[index].phase = .connecting
        slots[index].started = Self.monotonic()
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
        // sin_port and sin6_port sit at the same offset.
        withUnsafeMutableBytes(of: &address.storage) { $0.storeBytes(of: UInt16(port).bigEndian, toByteOffset: 2, as: UInt16.self) }
        var error = RawSocket.connect(fd, address).errno ?? 0
        if error == EINPROGRESS {
            // On loopback the kernel has handled the peer's RST within connect itself: SO_ERROR
            // says refused at once, and the port costs no trip through the epoll set.
            error = RawSocket.pendingError(fd)
            if error == 0 {
                guard sockscope_ready_watch(setFD, fd, 0, 0, token(index)) == 0 else {
                    let failure = errno
                    release(index)
                    return ("epoll_ctl", failure)
                }
                connectDeadlines.append(Deadline(slot: index, generation: slots[index].generation,
                                                 at: slots[index].started + timeout))
                return nil
            }
        }
        if error == 0 {
            opened(index, watched: false)
        } else if Self.isLocalShortage(error) {
            release(index)
            return ("connect", error)
        } else {
            // Never in the epoll set: refused at once, the socket can serve the next port.
            finish(index, .failed(errno: error), keepSocket: error == ECONNREFUSED)
        }
        return nil
    }

    /// Errnos that say this machine ran short, not how the port answered: the port is tried again.
    /// connect(AF_UNSPEC): a socket whose connect failed goes back to unconnected, so it may
    /// connect again (without it, Linux answers the next connect with ECONNABORTED).
    private static func disconnect(_ fd: CInt) -> Bool {
        var unspecified = sockaddr()
        unspecified.sa_family = sa_family_t(AF_UNSPEC)
        return Glibc.connect(fd, &unspecified, socklen_t(MemoryLayout<sockaddr>.size)) == 0
    }

    private static func isLocalShortage(_ error: Int32) -> Bool {
        [EADDRNOTAVAIL, EAGAIN, ENOBUFS, ENOMEM, EMFILE, ENFILE].contains(error)
    }

    private func token(_ index: Int) -> UInt64 { UInt64(slots[index].generation) << 32 | UInt64(index + 1) }

    // MARK: Answers

    private mutating func handle(slot index: Int, generation: UInt32) {
        guard slots.indices.contains(index), slots[index].generation == generation else { return }
        switch slots[index].phase {
        case .free:
            return
        case .connecting:
            let error = RawSocket.pendingError(slots[index].fd)
            if error == 0 { return opened(index, watched: true) }
            if error == EINPROGRESS { return }
            if Self.isLocalShortage(error) {
                retry.append(slots[index].port)
                return release(index)
            }
            finish(index, .failed(errno: error))
        case .banner:
            readBanner(index)
        }
    }

    /// `watched`: the socket is in the epoll set already (its connect was waited for).
    private mutating func opened(_ index: Int, watched: Bool) {
        let port = slots[index].port
        // A socket the kernel gave the scanned port as its own ephemeral port connects to
        // itself: nothing listens there. Tried again from another port, it gets the real
        // answer (scanning the ephemeral range of loopback found 1-3 such "open" ports a run).
        if RawSocket.isConnectedToItself(slots[index].fd) {
            selfConnections += 1
            retry.append(port)
            return release(index)
        }
        open.append(port)
        events.append(event(.open(port: port, connectMicroseconds: Int((Self.monotonic() - slots[index].started) / 1000))))
        guard let bannerWait else { return release(index) }
        // Watched for reading from now on; a new generation, so the connect's deadline no longer applies.
        slots[index].phase = .banner
        slots[index].generation &+= 1
        guard sockscope_ready_watch(setFD, slots[index].fd, 1, watched ? 1 : 0, token(index)) == 0 else {
            events.append(event(.banner(port: port, .failed(errno: errno))))
            return release(index)
        }
        bannerDeadlines.append(Deadline(slot: index, generation: slots[index].generation, at: Self.monotonic() + bannerWait))
    }

    private mutating func readBanner(_ index: Int) {
        let fd = slots[index].fd
        let count = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        let banner: ScanBanner
        if count > 0 {
            banner = .said(bytes: Array(readBuffer.prefix(min(count, DataPreview.limit))), count: count)
        } else if count == 0 {
            banner = .closedWithoutWord
        } else {
            let error = errno
            if error == EAGAIN || error == EINTR { return }
            banner = .failed(errno: error)
        }
        events.append(event(.banner(port: slots[index].port, banner)))
        release(index)
    }

    /// A port that did not open: counted, and reported with its kind in the next report.
    /// `keepSocket`: a socket not in the epoll set whose connect was refused becomes the spare.
    private mutating func finish(_ index: Int, _ outcome: PortOutcome, keepSocket: Bool = false) {
        if outcome.state == .closed { closed += 1 } else { filtered += 1 }
        notOpen[outcome, default: []].append(slots[index].port)
        release(index, keepSocket: keepSocket)
    }

    private mutating func release(_ index: Int, keepSocket: Bool = false) {
        if keepSocket, spareFD < 0, Self.disconnect(slots[index].fd) {
            spareFD = slots[index].fd
        } else {
            close(slots[index].fd)
        }
        slots[index].fd = -1
        slots[index].phase = .free
        slots[index].generation &+= 1
        freeSlots.append(index)
        inFlight -= 1
    }

    // MARK: Time

    private mutating func expire(now: UInt64) {
        while let deadline = connectDeadlines.first, deadline.at <= now {
            connectDeadlines.removeFirst()
            if slots[deadline.slot].generation == deadline.generation, slots[deadline.slot].phase == .connecting {
                finish(deadline.slot, .timedOut)
            }
        }
        while let deadline = bannerDeadlines.first, deadline.at <= now {
            bannerDeadlines.removeFirst()
            if slots[deadline.slot].generation == deadline.generation, slots[deadline.slot].phase == .banner {
                let waited = Int((bannerWait ?? 0) / 1_000_000)
                events.append(event(.banner(port: slots[deadline.slot].port, .silent(waitedMilliseconds: waited))))
                release(deadline.slot)
            }
        }
    }

    /// How long epoll may wait: until the next deadline or the next report, whichever is first.
    private func waitMilliseconds(now: UInt64) -> Int32 {
        var until = [connectDeadlines.first?.at, bannerDeadlines.first?.at].compactMap { $0 }.min()
        if !events.isEmpty || !notOpen.isEmpty {
            until = min(until ?? .max, lastReport + Self.reportIntervalNanoseconds)
        }
        guard let until else { return -1 }
        guard until > now else { return 0 }
        return Int32(clamping: (until - now + 999_999) / 1_000_000)
    }

    // MARK: Reports

    private func event(_ scan: ScanEvent) -> EngineEvent {
        EngineEvent(time: .now(), request: request, kind: .scan(scan))
    }

    /// The ports that did not open since the last report, one event per kind of answer, as runs.
    private mutating func flushNotOpen() {
        let kinds = notOpen.keys.sorted {
            ($0.state == .closed ? 0 : 1, $0.errno ?? 0) < ($1.state == .closed ? 0 : 1, $1.errno ?? 0)
        }
        for kind in kinds { events.append(event(.notOpen(kind, ranges: PortList.runs(of: notOpen[kind]!)))) }
        notOpen.removeAll(keepingCapacity: true)
    }

    private mutating func report() {
        flushNotOpen()
        lastReport = Self.monotonic()
        guard !events.isEmpty else { return }
        deliver(events)
        events.removeAll(keepingCapacity: true)
    }

    static func monotonic() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// A whole scan: the start, the plan split between workers (`ScanPlan.parts`, one thread per
/// core, for a long scan), their results, and the summary of them all.
enum ScanRun {
    /// Fewer ports than this per worker are not worth a thread.
    static let portsPerWorker = 4096

    static func workerCount(for plan: ScanPlan) -> Int {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return max(1, min(cores, 4, plan.scan.ports.count / portsPerWorker))
    }

    /// Runs on the job's thread (the first worker's); returns the events still to report, the summary last.
    /// `workers`: how many to split between (tests); by default `workerCount`.
    static func run(_ plan: ScanPlan, workers: Int? = nil, stopFD: CInt, request: RequestID,
                    deliver: @escaping @Sendable ([EngineEvent]) -> Void) -> [EngineEvent] {
        let began = ScanLoop.monotonic()
        deliver([EngineEvent(time: .now(), request: request, kind: .scan(.started(plan.start)))])
        let parts = plan.parts(workers ?? workerCount(for: plan))
        // The other workers' results, by part; `finished` holds how many there are.
        let results = NIOLockedValueBox<[Int: (events: [EngineEvent], tally: ScanLoop.Tally)]>([:])
        let finished = ConditionLock(value: 0)
        var inline: [Int] = [0]
        var threaded = 0
        for index in parts.indices.dropFirst() {
            let part = parts[index]
            do {
                try WatcherThread.start {
                    var loop = ScanLoop(part, stopFD: stopFD, request: request, deliver: deliver)
                    let result = loop.run()
                    finished.lock()
                    let count = results.withLockedValue { results in
                        results[index] = result
                        return results.count
                    }
                    finished.unlock(withValue: count)
                }
                threaded += 1
            } catch {
                // No thread: this one scans that part too, after its own.
                inline.append(index)
            }
        }
        var all: [Int: (events: [EngineEvent], tally: ScanLoop.Tally)] = [:]
        for index in inline {
            var loop = ScanLoop(parts[index], stopFD: stopFD, request: request, deliver: deliver)
            all[index] = loop.run()
        }
        finished.lock(whenValue: threaded)
        finished.unlock()
        all.merge(results.withLockedValue { $0 }) { mine, _ in mine }
        var events: [EngineEvent] = []
        var total = ScanLoop.Tally()
        for (_, result) in all.sorted(by: { $0.key < $1.key }) {
            events += result.events
            total.open += result.tally.open
            total.closed += result.tally.closed
            total.filtered += result.tally.filtered
            total.maxInFlight += result.tally.maxInFlight
            total.stopped = total.stopped || result.tally.stopped
            total.failure = total.failure ?? result.tally.failure
        }
        if let failure = total.failure { events.append(EngineEvent(time: .now(), request: request, kind: .error(nil, failure))) }
        let summary = ScanSummary(
            address: plan.endpoint, portCount: plan.scan.ports.count, scanned: total.open.count + total.closed + total.filtered,
            open: total.open.sorted(), closed: total.closed, filtered: total.filtered,
            elapsedMicroseconds: Int((ScanLoop.monotonic() - began) / 1000), maxInFlight: total.maxInFlight,
            stopped: total.stopped)
        events.append(EngineEvent(time: .now(), request: request, kind: .scan(.finished(summary))))
        return events
    }
}
