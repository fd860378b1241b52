import NIOCore
import SockscopeCore

/// `ping` and `ping stop`: the host's name is resolved on an event loop, then `PingLoop` runs
/// as the engine's `pings` job, on its own thread.
extension Engine {
    func ping(_ ping: PingRequest, request: RequestID) {
        let sink = sink
        let pings = pings
        let loop = group.next()
        guard pings.reserve(request) else {
            return loop.execute {
                sink.complete(request, failure: SocketFailure(call: "ping", explanation: "a ping is running already; ping stop ends it"))
            }
        }
        resolver.resolve(host: ping.host, port: 0, kind: .datagram, on: loop).whenComplete { result in
            switch result {
            case .success(let addresses):
                let deliver = pings.deliver
                pings.run(request) { stopFD in
                    switch PingLoop.open(ping, address: addresses[0], stopFD: stopFD, request: request, deliver: deliver) {
                    case .success(var loop): return loop.run()
                    case .failure(let failure): return [EngineEvent(time: .now(), request: request, kind: .error(nil, failure))]
                    }
                }
            case .failure(let error):
                pings.finish(request, events: [EngineEvent(
                    time: .now(), request: request, kind: .error(nil, .from(error, call: "getaddrinfo", target: ping.host)))])
            }
        }
    }
}
