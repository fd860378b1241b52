import Foundation
import Testing
import TestSupport

/// Datagrams through the whole program (engine, batcher, mailbox, headless pacing): one
/// line per datagram, sizes exact, against real peers.
@Suite(.timeLimit(.minutes(1))) struct HeadlessDatagramTests {
    /// The `"bytes"` of every JSON `received` (or `sent`) line of `id`, in order.
    static func receivedSizes(of id: String, in output: String, event: String = "received") -> [Int] {
        output.split(separator: "\n").compactMap { line in
            guard line.contains(#""id":"\#(id)""#), line.contains(#""event":"\#(event)""#),
                  let range = line.range(of: #""bytes":\d+"#, options: .regularExpression) else { return nil }
            return Int(line[range].dropFirst(8))
        }
    }

    /// memcached over UDP (its 8-byte frame header: request id, sequence, total, reserved):
    /// a `get` of a 5000-byte value answers in four datagrams, and a connected UDP socket
    /// logs four lines, not one merged 5055-byte line.
    @Test(.requires("memcached", "python3"))
    func memcachedsFourDatagramAnswerIsFourLines() async throws {
        // -vv: memcached says "server listening (udp)" once its UDP port is bound.
        let (memcached, port) = try await NumberedPort.startServer { port -> (SpawnedProcess, Int)? in
            let process = try SpawnedProcess("/usr/bin/env", ["memcached", "-U", String(port), "-p", "0", "-l", "127.0.0.1",
                                                              "-u", "root", "-vv"])
            if await process.waitForOutput(containing: "server listening (udp)") { return (process, port) }
            process.kill(SIGKILL)
            return nil
        }
        defer { memcached.kill(SIGKILL) }
        let value = String(repeating: "v", count: 5000)
        let set = #"send "\x00\x01\x00\x00\x00\x01\x00\x00set k 0 0 5000\r\n\#(value)\r\n""#
        let get = #"send "\x00\x02\x00\x00\x00\x01\x00\x00get k\r\n""#
        // memcached's worker threads all read its one UDP socket, so a `get` sent right behind
        // the `set` can be answered first ("END": not found yet). The get waits for STORED.
        let stored = #"expect contains "STORED" --timeout 1"#
        // memcached may still be starting: ask until it has stored the value.
        var session: SpawnedProcess?
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        while ContinuousClock.now < deadline {
            let attempt = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "connect udp://127.0.0.1:\(port)",
                                                           "-c", set, "-c", stored, "-c", get])
            if await attempt.waitForOutput(containing: "STORED", timeout: .seconds(1)) {
                session = attempt
                break
            }
            attempt.kill(SIGKILL)
        }
        let client = try #require(session, "memcached never answered on UDP port \(port)")
        defer { client.kill(SIGKILL) }
        let four = await waitUntil { Self.receivedSizes(of: "C1", in: client.output).count >= 5 }
        #expect(four, "output: \(client.output)")
        // STORED (16 B), then the value in 1400 + 1400 + 1400 + 855 (each with its 8-byte header).
        #expect(Self.receivedSizes(of: "C1", in: client.output) == [16, 1400, 1400, 1400, 855])
    }

    /// A Python server answering one request with four datagrams; the headless text log has four lines.
    @Test(.requires("python3"))
    func aConnectedUDPSocketLogsOneLinePerDatagram() async throws {
        let server = try PythonPeer.run("""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        print("PORT %d" % s.getsockname()[1], flush=True)
        data, peer = s.recvfrom(65536)
        for size in (1400, 1400, 1400, 857):
            s.sendto(b"x" * size, peer)
        print("ANSWERED", flush=True)
        """)
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "PORT "))
        let port = try #require(server.output.split(separator: "\n").first.flatMap { Int($0.dropFirst(5)) })
        let client = try SpawnedProcess(Binary.path, ["--headless", "-c", "connect udp://127.0.0.1:\(port)", "-c", "send ask"])
        defer { client.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "ANSWERED"))
        #expect(await client.waitForOutput(containing: "C1 received 857 B from 127.0.0.1:\(port)"), "\(client.output)")
        let lines = client.output.split(separator: "\n").filter { $0.contains(" C1 received ") }
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.map { $0.contains("received 1400 B") } == [true, true, true, false])
    }

    /// socat sends 9000- and 65507-byte datagrams through an `--echo` UDP listener: each
    /// logged and echoed whole (NIO's default 2048-byte receive buffer cut them).
    @Test(.requires("socat", "python3"))
    func socatsLargeDatagramsAreEchoedWhole() async throws {
        let server = try SpawnedProcess(Binary.path, ["--headless", "--json", "-c", "listen udp://127.0.0.1:0 --echo"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: #""event":"listening""#))
        let range = try #require(server.output.range(of: #""local":"127\.0\.0\.1:\d+"#, options: .regularExpression))
        let port = try #require(Int(server.output[range].split(separator: ":").last!))
        for size in [9000, 65507] {
            let payload = TemporaryPath.make(prefix: "dgram", suffix: ".bin")
            let echoed = payload + ".echo"
            defer { unlink(payload); unlink(echoed) }
            try Data((0..<size).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }).write(to: URL(fileURLWithPath: payload))
            // socat reads the file in one read of up to -b bytes and sends it as one datagram; it
            // would wait -t seconds after that end of input, so it is stopped once the echo is in.
            let client = try SpawnedProcess("/bin/sh", ["-c",
                "exec socat -b 70000 -t 30 UDP:127.0.0.1:\(port) STDIO < \(payload) > \(echoed)"])
            defer { client.kill(SIGKILL) }
            let echoedWhole = await waitUntil {
                ((try? FileManager.default.attributesOfItem(atPath: echoed)[.size]) as? Int ?? 0) >= size
            }
            #expect(echoedWhole, "socat: \(client.output)")
            client.kill(SIGKILL)
            let back = try Data(contentsOf: URL(fileURLWithPath: echoed))
            let sent = try Data(contentsOf: URL(fileURLWithPath: payload))
            #expect(back.count == size)
            #expect(back == sent)
            let logged = await waitUntil {
                Self.receivedSizes(of: "L1", in: server.output).last == size
                    && Self.receivedSizes(of: "L1", in: server.output, event: "sent").last == size
            }
            #expect(logged, "\(server.output.suffix(400))")
        }
    }
}
