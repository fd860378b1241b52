import NIOCore
import SockscopeCore

/// `scan` and `scan stop`: the host's name is resolved on an event loop (getaddrinfo on the
/// blocking pool), then `ScanRun` runs the scan as the engine's `scans` job, on its own thread (and more, one
/// per core, for a long scan).
extension Engine {
    func scan(_ scan: ScanRequest, request: RequestID) {
        let scans = scans
        startJob(scans, host: scan.host, kind: .stream, request: request) { address in
            Self.startScan(scan, address: address, request: request, job: scans)
        }
    }

    /// Starts a background job (a scan, a ping) for `host`: refused while one runs, the host
    /// resolved on an event loop, then `start` with the first address getaddrinfo gives (the
    /// one a connect would try first), or the resolution's failure as the job's end.
    func startJob(_ job: BackgroundJob, host: String, kind: HostResolver.SocketKind, request: RequestID,
                  start: @escaping @Sendable (SocketAddress) -> Void) {
        let sink = sink
        let loop = group.next()
        guard job.reserve(request) else {
            return loop.execute {
                sink.complete(request, failure: SocketFailure(
                    call: job.name, explanation: "a \(job.name) is running already; \(job.name) stop ends it"))
            }
        }
        resolver.resolve(host: host, port: 0, kind: kind, on: loop).whenComplete { result in
            switch result {
            case .success(let addresses):
                start(addresses[0])
            case .failure(let error):
                job.finish(request, events: [EngineEvent(
                    time: .now(), request: request, kind: .error(nil, .from(error, call: "getaddrinfo", target: host)))])
            }
        }
    }

    private static func startScan(_ scan: ScanRequest, address: SocketAddress, request: RequestID, job: BackgroundJob) {
        let budget = DescriptorBudget.now()
        guard let plan = ScanPlan(scan, address: address, budget: budget) else {
            return job.finish(request, events: [EngineEvent(time: .now(), request: request, kind: .error(nil, budget.exhausted))])
        }
        let deliver = job.deliver
        job.run(request) { stopFD in
            ScanRun.run(plan, stopFD: stopFD, request: request, deliver: deliver)
        }
    }

    /// Stops a running job (a scan, a ping), or answers that none runs.
    func stop(_ job: BackgroundJob, request: RequestID) {
        guard !job.stop(request) else { return }
        let sink = sink
        group.next().execute {
            sink.complete(request, failure: SocketFailure(call: "\(job.name) stop", explanation: "no \(job.name) is running"))
        }
    }
}
