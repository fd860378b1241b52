import NIOCore
import SockscopeCore

/// `ping` and `ping stop`: the host's name is resolved on an event loop, then `PingLoop` runs
/// as the engine's `pings` job, on its own thread.
extension Engine {
    func ping(_ ping: PingRequest, request: RequestID) {
        let pings = pings
        startJob(pings, host: ping.host, kind: .datagram, request: request) { address in
            let deliver = pings.deliver
            pings.run(request) { stopFD in
                switch PingLoop.open(ping, address: address, stopFD: stopFD, request: request, deliver: deliver) {
                case .success(var loop): return loop.run()
                case .failure(let failure): return [EngineEvent(time: .now(), request: request, kind: .error(nil, failure))]
                }
            }
        }
    }
}
