import NIOCore
import SockscopeCore

/// `scan` and `scan stop`: the host's name is resolved on an event loop (getaddrinfo on the
/// blocking pool), then `ScanLoop` runs the scan as the engine's `scans` job, on its own thread.
extension Engine {
    func scan(_ scan: ScanRequest, request: RequestID) {
        let sink = sink
        let scans = scans
        let loop = group.next()
        guard scans.reserve(request) else {
            return loop.execute {
                sink.complete(request, failure: SocketFailure(call: "scan", explanation: "a scan is running already; scan stop ends it"))
            }
        }
        resolver.resolve(host: scan.host, port: 0, kind: .stream, on: loop).whenComplete { result in
            switch result {
            case .success(let addresses):
                // getaddrinfo's preference order: the first address is the one a connect would try first.
                Self.startScan(scan, address: addresses[0], request: request, job: scans)
            case .failure(let error):
                scans.finish(request, events: [EngineEvent(
                    time: .now(), request: request, kind: .error(nil, .from(error, call: "getaddrinfo", target: scan.host)))])
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
            var loop = ScanLoop(plan, stopFD: stopFD, request: request, deliver: deliver)
            return loop.run()
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
