import CSystemShim
import Glibc
import NIOCore
import SockscopeCore

/// One step of a lab: it makes its calls (plain non-blocking ones, never waiting) and says
/// what comes next. A step that waits for the kernel answers `.again` and is run again later:
/// the loop is never blocked and nothing sleeps.
struct ExperimentStep: Sendable {
    enum Outcome {
        /// Go on with the next step (the last one's `.next` ends the lab).
        case next
        /// Not yet: run this step again after the delay.
        case again(after: TimeAmount)
        /// The kernel answered something the lab cannot go on from.
        case failed(String)
    }

    let name: String
    let act: @Sendable (ExperimentRun) -> Outcome
}

/// A running `lab NAME`: its steps, the sockets they made (named, closed whatever happens),
/// the numbers they share, and its reports. Lives on one event loop and is touched only there.
final class ExperimentRun {
    /// No lab may take longer: the promise is under 30 s.
    static let timeLimit = TimeAmount.seconds(28)
    /// How often a waiting step looks again: fine enough to time a 40 ms stall.
    static let tick = TimeAmount.milliseconds(1)

    let experiment: ExperimentName
    let loop: any EventLoop
    private let request: RequestID
    private let sink: EventSink
    private let steps: [ExperimentStep]
    private var index = 0
    private let started = NIODeadline.now()
    /// When the current step first ran, for steps that wait.
    private(set) var stepStarted = NIODeadline.now()
    private var finished = false
    private let onEnd: () -> Void

    /// Descriptors by the name the steps gave them.
    private var sockets: [String: CInt] = [:]
    /// Values steps hand to later steps (ports, counters, times).
    var numbers: [String: Int] = [:]
    var texts: [String: [String]] = [:]
    /// Addresses kept for looking the connection up in the kernel after its fds are closed.
    var endpoints: [String: SocketEndpoint] = [:]
    /// What recv returned, read by read, for the steps that show message boundaries.
    var reads: [String: [[UInt8]]] = [:]
    /// The numbers the result line reports, gathered step by step.
    var resultFacts: [ExperimentFact] = []
    private var done: Set<String> = []

    /// True the first time a step asks with `key`: the calls a waiting step makes once.
    func firstRun(_ key: String) -> Bool {
        done.insert(key).inserted
    }

    init(_ experiment: ExperimentName, steps: [ExperimentStep], loop: any EventLoop, request: RequestID, sink: EventSink,
         onEnd: @escaping () -> Void) {
        self.experiment = experiment
        self.steps = steps
        self.loop = loop
        self.request = request
        self.sink = sink
        self.onEnd = onEnd
    }

    func start() {
        report("start", .start, ExperimentCatalog.entry(experiment).plan)
        runCurrent()
    }

    /// Ends a lab that has not finished (the engine is stopping): its sockets are closed.
    func stop() {
        guard !finished else { return }
        finish(failure: "stopped: the engine is shutting down")
    }

    private func runCurrent() {
        guard !finished else { return }
        if NIODeadline.now() - started > Self.timeLimit {
            return finish(failure: "\(steps[index].name) did not happen within \(Self.timeLimit.nanoseconds / 1_000_000_000) s")
        }
        switch steps[index].act(self) {
        case .next:
            index += 1
            stepStarted = .now()
            if index == steps.count { return finish(failure: nil) }
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.execute { bound.value.runCurrent() }
        case .again(let delay):
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.scheduleTask(in: delay) { bound.value.runCurrent() }
        case .failed(let reason):
            finish(failure: reason)
        }
    }

    private func finish(failure: String?) {
        finished = true
        for fd in sockets.values { _ = RawSocket.close(fd) }
        sockets = [:]
        if let failure { report(steps[min(index, steps.count - 1)].name, .failed, failure) }
        sink.complete(request)
        onEnd()
    }

    /// Milliseconds since the current step first ran.
    var waitedMilliseconds: Int64 { (NIODeadline.now() - stepStarted).nanoseconds / 1_000_000 }

    func report(_ step: String, _ kind: ExperimentFinding.Kind, _ text: String, _ facts: [ExperimentFact] = []) {
        sink.emit(.lab(.experiment(ExperimentFinding(experiment: experiment, step: step, kind: kind, text: text, facts: facts))),
                  request: request)
    }

    /// The result line: the lesson from the catalog and the numbers that showed it.
    func conclude(_ facts: [ExperimentFact]) {
        report("result", .result, ExperimentCatalog.entry(experiment).lesson, facts)
    }

    // MARK: Sockets by name

    func fd(_ name: String) -> CInt? { sockets[name] }

    /// A non-blocking TCP socket on IPv4, kept under `name`.
    func makeTCPSocket(_ name: String) -> RawSocket.Answer {
        let answer = RawSocket.socket(family: AF_INET, type: Int32(SOCK_STREAM.rawValue))
        if answer.errno == nil { sockets[name] = CInt(answer.result) }
        return answer
    }

    func close(_ name: String) -> RawSocket.Answer {
        guard let fd = sockets.removeValue(forKey: name) else { return RawSocket.Answer(result: -1, errno: EBADF) }
        return RawSocket.close(fd)
    }

    /// Takes over a descriptor made elsewhere (an accepted connection).
    func adopt(_ fd: CInt, as name: String) {
        sockets[name] = fd
    }

    func local(_ name: String) -> SocketEndpoint? { fd(name).flatMap(RawSocket.localAddress) }

    /// The kernel's TCP state of an open socket (TCP_INFO).
    func tcpState(_ name: String) -> TCPState? {
        fd(name).flatMap(RawSocket.tcpInfo).flatMap { TCPState(rawValue: Int($0.state)) }
    }

    /// 127.0.0.1:port in kernel form.
    static func loopback(_ port: Int) -> RawSocket.Address {
        RawSocket.Address(.loopback(ipv6: false, port: UInt16(port)))!
    }

    /// `name=STATE`, or `name=closed` once the fd is gone.
    func stateFact(_ name: String) -> ExperimentFact {
        .text("\(name)_state", tcpState(name)?.name ?? "none")
    }
}

extension RawSocket.Answer {
    /// ` = 0`, ` = 7`, ` = -1 EADDRINUSE`: the end of a call's line as strace writes it.
    var text: String {
        if let errno { return " = -1 " + (ErrnoCatalog.entry(for: errno)?.name ?? "errno \(errno)") }
        return " = \(result)"
    }

    var errnoName: String {
        errno.map { ErrnoCatalog.entry(for: $0)?.name ?? "errno \($0)" } ?? "none"
    }
}
