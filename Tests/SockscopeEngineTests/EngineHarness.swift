import SockscopeCore
@testable import SockscopeEngine
import Testing
import TestSupport

/// An engine plus a thread-safe record of every event it emitted, with ways to wait for them.
final class EngineHarness: Sendable {
    struct Timeout: Error, CustomStringConvertible {
        let what: String
        let events: [EngineEvent]
        var description: String {
            "timed out waiting for \(what); events so far:\n" + events.map { "  \($0.request.map { "\($0) " } ?? "")\($0.kind)" }.joined(separator: "\n")
        }
    }

    let engine: Engine
    private let recorded: Locked<[EngineEvent]>
    private let nextRequest = Locked<UInt64>(0)

    init(threads: Int = 1, connectTimeout: Duration = .seconds(10), replayRecords: ReplayRecordStore = ReplayRecordStore()) {
        let recorded = Locked<[EngineEvent]>([])
        self.recorded = recorded
        engine = Engine(threads: threads, connectTimeout: connectTimeout, replayRecords: replayRecords) { events in
            recorded.withLock { $0.append(contentsOf: events) }
        }
    }

    var events: [EngineEvent] { recorded.current }
    var kinds: [EngineEventKind] { events.map(\.kind) }

    /// What happened to socket `id`; the kernel probe's samples are observations, not events of its life.
    func events(about id: SocketID) -> [EngineEventKind] {
        kinds.filter { kind in
            if case .lab(.kernel) = kind { return false }
            return kind.socket == id
        }
    }

    func events(for request: RequestID) -> [EngineEventKind] {
        events.filter { $0.request == request }.map(\.kind)
    }

    @discardableResult
    func submit(_ command: EngineCommand) -> RequestID {
        let id = RequestID(nextRequest.withLock { $0 += 1; return $0 })
        engine.submit(EngineRequest(id: id, command: command))
        return id
    }

    /// Submits `command` and returns the events answering it, `.requestCompleted` last.
    func perform(_ command: EngineCommand, timeout: Duration = .seconds(15)) async throws -> [EngineEventKind] {
        let request = submit(command)
        try await waitFor("completion of \(command)", timeout: timeout) {
            self.events(for: request).contains(.requestCompleted)
        }
        return events(for: request)
    }

    /// Waits until `condition` holds over the recorded events; throws `Timeout` (listing them) otherwise.
    func waitFor(_ what: String, timeout: Duration = .seconds(10), _ condition: @escaping () -> Bool) async throws {
        guard await waitUntil(timeout: timeout, condition) else { throw Timeout(what: what, events: events) }
    }

    /// Waits for the first event matching `match` and returns what it extracted.
    func first<T>(_ what: String, timeout: Duration = .seconds(10), _ match: @escaping (EngineEventKind) -> T?) async throws -> T {
        var found: T?
        try await waitFor(what, timeout: timeout) {
            found = self.kinds.lazy.compactMap(match).first
            return found != nil
        }
        return found!
    }

    /// Starts a TCP listener on 127.0.0.1 with a kernel-chosen port.
    func listen(_ mode: ListenMode = .interactive, host: String = "127.0.0.1", backlog: Int = ListenRequest.defaultBacklog)
        async throws -> (id: SocketID, port: Int)
    {
        let answer = try await perform(.listen(ListenRequest(endpoint: .inet(.tcp, host: host, port: 0), mode: mode,
                                                             backlog: backlog)))
        guard case .listening(let id, _, let local, _, _)? = answer.first, let port = Self.port(of: local) else {
            throw Timeout(what: "a listening event", events: events)
        }
        return (id, port)
    }

    /// Total bytes reported by `.received` (stream) and `.receivedFrom` (datagram) events
    /// for `id`, and their concatenated previews.
    func received(on id: SocketID) -> (count: Int, bytes: [UInt8]) {
        kinds.reduce(into: (0, [UInt8]())) { total, kind in
            switch kind {
            case .received(id, let bytes, let count), .receivedFrom(id, _, let bytes, let count, _):
                total.0 += count
                total.1 += bytes
            default:
                break
            }
        }
    }

    func receivedCount(on id: SocketID) -> Int { received(on: id).count }

    func sentCount(on id: SocketID) -> Int {
        kinds.reduce(0) { total, kind in
            switch kind {
            case .sent(id, _, let count), .sentTo(id, _, _, let count): total + count
            default: total
            }
        }
    }

    /// The datagrams `id` received, one entry each, in order: (peer, preview, count, cut by the kernel).
    func datagrams(receivedOn id: SocketID) -> [(from: SocketEndpoint, bytes: [UInt8], count: Int, truncated: Bool)] {
        kinds.compactMap { kind in
            if case .receivedFrom(id, let from, let bytes, let count, let truncated) = kind { (from, bytes, count, truncated) } else { nil }
        }
    }

    func datagrams(sentOn id: SocketID) -> [(to: SocketEndpoint, bytes: [UInt8], count: Int)] {
        kinds.compactMap { kind in
            if case .sentTo(id, let to, let bytes, let count) = kind { (to, bytes, count) } else { nil }
        }
    }

    func closedReason(of id: SocketID) -> String? {
        kinds.lazy.compactMap { kind -> String? in
            if case .closed(id, let reason) = kind { return reason }
            return nil
        }.first
    }

    func failures(on id: SocketID?) -> [SocketFailure] {
        kinds.compactMap { kind in
            if case .error(let socket, let failure) = kind, socket == id { return failure }
            return nil
        }
    }

    func acceptedConnections(on listener: SocketID) -> [SocketID] {
        kinds.compactMap { kind in
            if case .accepted(let id, listener, _, _) = kind { return id }
            return nil
        }
    }

    func shutdown() {
        engine.shutdown()
    }

    static func port(of address: SocketEndpoint) -> Int? {
        address.port.map(Int.init)
    }
}
