import Foundation
import SockscopeCore
import SockscopeEngine
@testable import SockscopeApp
import Testing
import TestSupport

/// Events about one socket reach the log in the order they happened, with times that never
/// go backwards, however the engine's batches and the consumer's drains fall.
@Suite(.timeLimit(.minutes(2))) struct EventOrderTests {
    /// The engine feeding a mailbox that nobody drains until the exchange is over (a busy
    /// main thread, or headless pacing), with a record of what it emitted to wait on.
    final class UndrainedEngine: Sendable {
        let mailbox = Mailbox()
        let engine: Engine
        private let recorded = Locked<[EngineEvent]>([])
        private let nextRequest = Locked<UInt64>(0)

        init() {
            let mailbox = mailbox
            let recorded = recorded
            engine = Engine(threads: 1) { events in
                recorded.withLock { $0.append(contentsOf: events) }
                mailbox.post(events)
            }
        }

        var kinds: [EngineEventKind] { recorded.current.map(\.kind) }

        @discardableResult
        func submit(_ command: EngineCommand) -> RequestID {
            let id = RequestID(nextRequest.withLock { $0 += 1; return $0 })
            engine.submit(EngineRequest(id: id, command: command))
            return id
        }

        func waitFor(_ what: String, _ condition: @escaping ([EngineEventKind]) -> Bool) async {
            let held = await waitUntil { condition(self.kinds) }
            #expect(held, "timed out waiting for \(what): \(kinds)")
        }
    }

    /// redis answers PING, then QUIT (and closes). The answer to PING is read before QUIT is
    /// sent, each read in its own engine batch, and all of it waits in the mailbox: the
    /// answer to QUIT used to join the answer to PING there, before QUIT's `sent`, so the log
    /// read PING, +PONG+OK, QUIT.
    @Test(.requires("redis-server")) func aReplyStaysAfterTheRequestItAnswersInAnUndrainedMailbox() async throws {
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let client = UndrainedEngine()
        defer { client.engine.shutdown() }
        let c1 = SocketID(.connection, 1)
        client.submit(.connect(ConnectRequest(endpoint: .inet(.tcp, host: "127.0.0.1", port: port))))
        await client.waitFor("the connection") { kinds in
            kinds.contains { if case .connected(c1, _, _) = $0 { true } else { false } }
        }
        client.submit(.send(c1, Array("PING\r\n".utf8)))
        await client.waitFor("+PONG") { $0.contains(.received(c1, bytes: Array("+PONG\r\n".utf8), count: 7)) }
        client.submit(.send(c1, Array("QUIT\r\n".utf8)))
        await client.waitFor("redis closing") { $0.contains(.peerClosed(c1)) }

        let events = client.mailbox.drain().filter { $0.kind.socket == c1 }
        let data = events.compactMap { event -> String? in
            switch event.kind {
            case .sent(_, let bytes, _): "sent " + String(decoding: bytes, as: UTF8.self)
            case .received(_, let bytes, _): "received " + String(decoding: bytes, as: UTF8.self)
            default: nil
            }
        }
        #expect(data == ["sent PING\r\n", "received +PONG\r\n", "sent QUIT\r\n", "received +OK\r\n"])
        let times = events.map(\.time.nanoseconds)
        #expect(times == times.sorted(), "times never go backwards within a socket")
    }

    /// The issue's own check, end to end: `printf 'send "PING\r\n"\nsend "QUIT\r\n"\n' |
    /// sockscope --headless --json -c 'connect 127.0.0.1:PORT'` against redis, run again and
    /// again (how the engine's batches and headless's drains fall differs from run to run).
    @Test(.requires("redis-server")) func headlessPingQuitAgainstRedisKeepsOrderEveryRun() async throws {
        let (redis, port) = try await RedisServer.start()
        defer { redis.kill(SIGKILL) }
        let script = try TemporaryPath.file(prefix: "ping-quit", contents: #"send "PING\r\n""# + "\n" + #"send "QUIT\r\n""# + "\n")
        for run in 1...25 {
            let client = try SpawnedProcess("/bin/sh", ["-c", "exec '\(Binary.path)' --headless --json -c 'connect 127.0.0.1:\(port)' < \(script)"])
            defer { client.kill(SIGKILL) }
            #expect(await client.wait() == 0, "run \(run): the session ends once redis has closed")
            let lines = try client.output.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "run \(run): \(line)")
            }.filter { $0["id"] as? String == "C1" }
            let data = lines.compactMap { line -> String? in
                guard let event = line["event"] as? String, event == "sent" || event == "received" else { return nil }
                return "\(event) \(line["text"] as? String ?? "")"
            }
            // Reads may be merged (+PONG and +OK in one read after QUIT went out), never moved.
            let joined = data.joined(separator: " | ")
            let orders = ["sent PING\\r\\n | received +PONG\\r\\n | sent QUIT\\r\\n | received +OK\\r\\n",
                          "sent PING\\r\\n | sent QUIT\\r\\n | received +PONG\\r\\n | received +OK\\r\\n",
                          "sent PING\\r\\n | sent QUIT\\r\\n | received +PONG\\r\\n+OK\\r\\n"]
            #expect(orders.contains(joined), "run \(run): \(client.output)")
            let times = lines.compactMap { $0["ts"] as? String }
            #expect(times.count == lines.count && times == times.sorted(), "run \(run): times go backwards: \(client.output)")
        }
    }
}
