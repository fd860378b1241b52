import CSystemShim
import Glibc
import NIOCore
import SockscopeCore

/// The labs' calls, step by step, on plain non-blocking sockets of 127.0.0.1. Each step's
/// name is the one `ExperimentCatalog` explains; what a step reports is what the kernel
/// answered, measured, never assumed.
enum Experiments {
    static func steps(for name: ExperimentName) -> [ExperimentStep] {
        switch name {
        case .timewait: connectedPair(reuseAddress: true) + timeWait
        case .backlog: backlog
        case .nagle: connectedPair() + nagle
        case .framing: connectedPair() + framing
        case .halfclose: connectedPair() + halfClose
        case .reset: connectedPair() + reset
        }
    }

    /// How long a step may wait for something loopback does in microseconds.
    static let quickLimitMilliseconds: Int64 = 3000

    // MARK: A connected pair: "listener", "client", "server" (the accepted side)

    static func connectedPair(reuseAddress: Bool = false) -> [ExperimentStep] {
        [
            ExperimentStep(name: "listen") { run in
                let (line, ok) = openListener(run, as: "listener", reuseAddress: reuseAddress, backlog: 8)
                guard ok else { return .failed(line) }
                run.report("listen", .call, line, [.int("port", run.numbers["port"]!)])
                return .next
            },
            ExperimentStep(name: "connect") { run in
                let line = connect(run, "client", port: run.numbers["port"]!)
                run.report("connect", .call, line)
                return .next
            },
            ExperimentStep(name: "accept") { run in
                let listener = run.fd("listener")!
                if run.fd("server") == nil {
                    let accepted = RawSocket.accept(listener)
                    if accepted.errno == EAGAIN {
                        return run.waitedMilliseconds < quickLimitMilliseconds ? .again(after: ExperimentRun.tick)
                            : .failed("accept(\(listener)) = -1 EAGAIN: no client arrived")
                    }
                    guard accepted.errno == nil else { return .failed("accept(\(listener))" + accepted.text) }
                    run.adopt(CInt(accepted.result), as: "server")
                }
                // The client's side is connected once the kernel says so (its last ACK has left).
                guard run.tcpState("client") == .established else {
                    return run.waitedMilliseconds < quickLimitMilliseconds ? .again(after: ExperimentRun.tick)
                        : .failed("the client is \(run.tcpState("client")?.name ?? "gone"), not ESTABLISHED")
                }
                run.endpoints["client"] = run.local("client")
                run.endpoints["server"] = run.local("server")
                let client = run.endpoints["client"].map { " from \($0)" } ?? ""
                run.report("accept", .call, "accept(\(listener)) = \(run.fd("server")!)\(client)",
                           [run.stateFact("client"), run.stateFact("server")])
                return .next
            },
        ]
    }

    /// socket, [SO_REUSEADDR], bind 127.0.0.1:0, listen: the line as strace would show it, and the port in `numbers`.
    static func openListener(_ run: ExperimentRun, as name: String, reuseAddress: Bool, backlog: Int) -> (line: String, ok: Bool) {
        let made = run.makeTCPSocket(name)
        guard let fd = run.fd(name) else { return ("socket(AF_INET, SOCK_STREAM)" + made.text, false) }
        var line = "socket(AF_INET, SOCK_STREAM) = \(fd)"
        if reuseAddress { line += ", setsockopt(\(fd), SO_REUSEADDR, 1)" + RawSocket.setReuseAddress(fd, true).text }
        let bound = RawSocket.bind(fd, ExperimentRun.loopback(0))
        line += ", bind(\(fd), 127.0.0.1:0)" + bound.text
        guard bound.errno == nil else { return (line, false) }
        let listening = RawSocket.listen(fd, backlog: backlog)
        line += ", listen(\(fd), \(backlog))" + listening.text
        guard listening.errno == nil, let port = run.local(name)?.port else { return (line, false) }
        run.numbers["port"] = Int(port)
        return (line + ": listening on 127.0.0.1:\(port)", true)
    }

    /// A non-blocking connect to 127.0.0.1:port; the line as strace would show it.
    static func connect(_ run: ExperimentRun, _ name: String, port: Int) -> String {
        let made = run.makeTCPSocket(name)
        guard let fd = run.fd(name) else { return "socket(AF_INET, SOCK_STREAM)" + made.text }
        return "socket(AF_INET, SOCK_STREAM) = \(fd), connect(\(fd), 127.0.0.1:\(port))"
            + RawSocket.connect(fd, ExperimentRun.loopback(port)).text
    }

    /// Waits (a tick at a time) until `condition` holds; fails with `what` after the quick limit.
    static func until(_ run: ExperimentRun, _ what: String, _ condition: () -> Bool) -> ExperimentStep.Outcome? {
        if condition() { return nil }
        return run.waitedMilliseconds < quickLimitMilliseconds ? .again(after: ExperimentRun.tick)
            : .failed("\(what) did not happen within \(quickLimitMilliseconds) ms")
    }

    static func bytesReceived(_ run: ExperimentRun, _ name: String) -> Int {
        run.fd(name).flatMap(RawSocket.tcpInfo).map { Int($0.bytes_received) } ?? -1
    }

    // MARK: timewait

    static let timeWait: [ExperimentStep] = [
        ExperimentStep(name: "server-closes-first") { run in
            if run.firstRun("closed") {
                let fd = run.fd("server")!
                run.report("server-closes-first", .call, "close(\(fd))" + run.close("server").text + " on the server's side")
            }
            let client = run.fd("client")!
            let (answer, _) = RawSocket.recv(client, maxBytes: 64)
            if answer.errno == EAGAIN { return until(run, "the client's EOF") { false }! }
            run.report("server-closes-first", .saw, "recv(\(client)) on the client" + answer.text, [run.stateFact("client")])
            return .next
        },
        ExperimentStep(name: "client-closes") { run in
            let client = run.fd("client")!, listener = run.fd("listener")!
            run.report("client-closes", .call, "close(\(client))" + run.close("client").text + ", close(\(listener))"
                + run.close("listener").text + ": the server stops")
            return .next
        },
        ExperimentStep(name: "time-wait") { run in
            let server = run.endpoints["server"]!, client = run.endpoints["client"]!
            let entry = KernelProbe.lookUp(local: server, remote: client)
            let state = entry.flatMap { TCPState(rawValue: Int($0.state)) }
            if state != .timeWait, run.waitedMilliseconds < quickLimitMilliseconds { return .again(after: ExperimentRun.tick) }
            var facts: [ExperimentFact] = [.text("state", state?.name ?? "none")]
            var text = "the kernel (sock_diag, as ss shows it) holds \(server) ↔ \(client): " + (state?.name ?? "nothing")
            if let entry, state == .timeWait {
                facts.append(.int("timer_ms", Int(entry.expires_ms)))
                text += ", \(Int(entry.expires_ms) / 1000) s left on its timer"
            }
            run.resultFacts.append(.bool("time_wait_seen", state == .timeWait))
            run.report("time-wait", .saw, text, facts)
            return .next
        },
        ExperimentStep(name: "restart-plain") { run in
            let port = run.numbers["port"]!
            _ = run.makeTCPSocket("restart")
            guard let fd = run.fd("restart") else { return .failed("socket() failed") }
            let bound = RawSocket.bind(fd, ExperimentRun.loopback(port))
            _ = run.close("restart")
            run.resultFacts.append(.text("plain_bind_errno", bound.errnoName))
            run.report("restart-plain", .call, "a new server: socket() = \(fd), bind(\(fd), 127.0.0.1:\(port))" + bound.text,
                       [.text("errno", bound.errnoName)])
            return .next
        },
        ExperimentStep(name: "restart-reuseaddr") { run in
            let port = run.numbers["port"]!
            _ = run.makeTCPSocket("restart")
            guard let fd = run.fd("restart") else { return .failed("socket() failed") }
            let option = RawSocket.setReuseAddress(fd, true)
            let bound = RawSocket.bind(fd, ExperimentRun.loopback(port))
            var line = "socket() = \(fd), setsockopt(\(fd), SO_REUSEADDR, 1)" + option.text + ", bind(\(fd), 127.0.0.1:\(port))"
                + bound.text
            var listenErrno = "not called"
            if bound.errno == nil {
                let listening = RawSocket.listen(fd, backlog: 8)
                line += ", listen(\(fd), 8)" + listening.text
                listenErrno = listening.errnoName
            }
            _ = run.close("restart")
            run.resultFacts += [.text("reuse_bind_errno", bound.errnoName), .text("reuse_listen_errno", listenErrno)]
            run.report("restart-reuseaddr", .call, line, [.text("errno", bound.errnoName)])
            return .next
        },
        concluding,
    ]

    /// The last step of every lab: the lesson and the numbers gathered on the way.
    static let concluding = ExperimentStep(name: "result") { run in
        run.conclude(run.resultFacts)
        return .next
    }

    // MARK: backlog

    static let clientCount = 10

    /// /proc/net/netstat counters the backlog lab watches (machine-wide, since boot).
    static let backlogCounters: Set = ["TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtSyncookiesSent"]

    /// How much each of `backlogCounters` grew since the lab's listen.
    static func counterGrowth(_ run: ExperimentRun) -> [String: Int] {
        ProcFile.netstatCounters(backlogCounters).reduce(into: [:]) { growth, counter in
            growth[counter.key] = counter.value - (run.numbers[counter.key] ?? counter.value)
        }
    }

    static let backlog: [ExperimentStep] = [
        ExperimentStep(name: "listen") { run in
            for (key, value) in ProcFile.netstatCounters(backlogCounters) { run.numbers[key] = value }
            let (line, ok) = openListener(run, as: "listener", reuseAddress: false, backlog: 1)
            guard ok else { return .failed(line) }
            let capacity = run.fd("listener").flatMap(RawSocket.tcpInfo).map { Int($0.sacked) } ?? -1
            run.report("listen", .call, line + "; the server does not call accept for now",
                       [.int("backlog", 1), .int("kernel_backlog", capacity)])
            return .next
        },
        ExperimentStep(name: "connect") { run in
            let port = run.numbers["port"]!
            var answers: [String] = []
            for index in 0..<clientCount {
                _ = run.makeTCPSocket("client\(index)")
                guard let fd = run.fd("client\(index)") else { return .failed("socket() failed for client \(index)") }
                answers.append(RawSocket.connect(fd, ExperimentRun.loopback(port)).text)
            }
            run.numbers["connected_at"] = Int(NIODeadline.now().uptimeNanoseconds / 1_000_000)
            let summary = Dictionary(grouping: answers, by: { $0 }).map { "\($0.value.count)x connect(127.0.0.1:\(port))\($0.key)" }.sorted()
            run.report("connect", .call, "\(clientCount) clients: " + summary.joined(separator: ", "), [.int("clients", clientCount)])
            return .next
        },
        ExperimentStep(name: "queue-full") { run in
            // The handshakes on loopback take microseconds; half a second lets every SYN meet the full queue.
            guard run.waitedMilliseconds >= 500 else { return .again(after: .milliseconds(50)) }
            let info = run.fd("listener").flatMap(RawSocket.tcpInfo)
            let queue = info.map { Int($0.unacked) } ?? -1
            var states: [String: Int] = [:]
            for index in 0..<clientCount { states[run.tcpState("client\(index)")?.name ?? "gone", default: 0] += 1 }
            let grown = counterGrowth(run)
            let overflows = grown["TcpExtListenOverflows"] ?? 0
            let stateText = states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            run.report("queue-full", .saw,
                       "accept queue \(queue) of backlog 1 (the kernel allows backlog+1); the clients see: \(stateText);"
                           + " since the listen (machine-wide): ListenOverflows +\(overflows), ListenDrops"
                           + " +\(grown["TcpExtListenDrops"] ?? 0), SyncookiesSent +\(grown["TcpExtSyncookiesSent"] ?? 0)",
                       [.int("queue", queue), .int("established_clients", states["ESTABLISHED"] ?? 0),
                        .int("syn_sent_clients", states["SYN-SENT"] ?? 0), .int("listen_overflows_delta", overflows),
                        .int("listen_drops_delta", grown["TcpExtListenDrops"] ?? 0),
                        .int("syncookies_sent_delta", grown["TcpExtSyncookiesSent"] ?? 0)])
            run.resultFacts += [.int("queue_full_at", queue), .int("listen_overflows_delta", overflows)]
            return .next
        },
        ExperimentStep(name: "accept-all") { run in
            let listener = run.fd("listener")!
            var accepted = run.numbers["accepted"] ?? 0
            // A client that believes it is connected says what it wants, as real clients do: while the server
            // has no room for it, the request's retransmissions carry the ACK again (and the SYN cookie in it).
            for index in 0..<clientCount where run.tcpState("client\(index)") == .established && run.firstRun("request\(index)") {
                let sent = RawSocket.send(run.fd("client\(index)")!, Array("hi\n".utf8))
                run.numbers["requests"] = run.numbers["requests", default: 0] + (sent.errno == nil ? 1 : 0)
            }
            while true {
                let answer = RawSocket.accept(listener)
                guard answer.errno == nil else { break }
                run.adopt(CInt(answer.result), as: "accepted\(accepted)")
                accepted += 1
                let now = Int(NIODeadline.now().uptimeNanoseconds / 1_000_000)
                run.texts["times", default: []].append(String(now - run.numbers["connected_at"]!))
            }
            run.numbers["accepted"] = accepted
            // SYN retransmissions come after 1, 3, 7 and 15 s: 15 s of accepting lets the latest in.
            if accepted < clientCount, run.waitedMilliseconds < 15_000 { return .again(after: .milliseconds(5)) }
            let times = run.texts["times"] ?? []
            let grown = counterGrowth(run)
            run.report("accept-all", .saw,
                       "accepted \(accepted) of \(clientCount), at " + times.joined(separator: ", ")
                           + " ms after the connects; \(run.numbers["requests", default: 0]) clients sent a request once"
                           + " ESTABLISHED; since the listen: ListenOverflows +\(grown["TcpExtListenOverflows"] ?? 0),"
                           + " SyncookiesSent +\(grown["TcpExtSyncookiesSent"] ?? 0)",
                       [.int("accepted", accepted), .int("last_ms", Int(times.last ?? "") ?? -1),
                        .int("syncookies_sent_delta", grown["TcpExtSyncookiesSent"] ?? 0)])
            run.resultFacts += [.int("accepted", accepted),
                                .int("listen_overflows_total_delta", counterGrowth(run)["TcpExtListenOverflows"] ?? 0)]
            return .next
        },
        concluding,
    ]

    // MARK: nagle

    static let rounds = 12

    /// One request as two small writes, answered with one byte once the server has all 4: `rounds` times.
    static func writeWriteRead(_ key: String) -> @Sendable (ExperimentRun) -> ExperimentStep.Outcome {
        { run in
            let client = run.fd("client")!, server = run.fd("server")!
            while true {
                switch run.numbers["phase", default: 0] {
                case 0:
                    if run.texts[key, default: []].count == rounds { return .next }
                    _ = RawSocket.send(client, Array("ab".utf8))
                    _ = RawSocket.send(client, Array("cd".utf8))
                    run.numbers["round_start"] = Int(NIODeadline.now().uptimeNanoseconds / 1000)
                    run.numbers["got"] = 0
                    run.numbers["phase"] = 1
                case 1:
                    let (answer, _) = RawSocket.recv(server, maxBytes: 16)
                    guard answer.errno == nil else { return .again(after: ExperimentRun.tick) }
                    run.numbers["got", default: 0] += answer.result
                    if run.numbers["got"]! >= 4 {
                        _ = RawSocket.send(server, Array("k".utf8))
                        run.numbers["phase"] = 2
                    }
                default:
                    let (answer, _) = RawSocket.recv(client, maxBytes: 1)
                    guard answer.errno == nil else { return .again(after: ExperimentRun.tick) }
                    let elapsed = Int(NIODeadline.now().uptimeNanoseconds / 1000) - run.numbers["round_start"]!
                    run.texts[key, default: []].append(String(elapsed))
                    run.numbers["phase"] = 0
                }
            }
        }
    }

    /// `0.1, 41.9, ... ms; median 41.9 ms` and the median in microseconds.
    static func roundsText(_ run: ExperimentRun, _ key: String) -> (String, Int) {
        let times = (run.texts[key] ?? []).compactMap { Int($0) }
        let median = times.sorted()[times.count / 2]
        let list = times.map(milliseconds).joined(separator: ", ")
        return ("\(times.count) rounds of write(2 B), write(2 B), read the answer: \(list) ms; median "
                + milliseconds(median) + " ms", median)
    }

    /// `41.9` from 41 912 µs.
    static func milliseconds(_ microseconds: Int) -> String {
        let tenths = (microseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }

    static let nagle: [ExperimentStep] = [
        ExperimentStep(name: "with-nagle", act: { run in
            let outcome = writeWriteRead("nagle")(run)
            guard case .next = outcome else { return outcome }
            let (text, median) = roundsText(run, "nagle")
            run.report("with-nagle", .saw, "Nagle on (the default): " + text, [.int("median_us", median)])
            run.resultFacts.append(.int("median_nagle_us", median))
            return .next
        }),
        ExperimentStep(name: "with-nodelay", act: { run in
            if run.firstRun("nodelay") {
                let fd = run.fd("client")!
                run.report("with-nodelay", .call, "setsockopt(\(fd), IPPROTO_TCP, TCP_NODELAY, 1)" + RawSocket.setNoDelay(fd, true).text)
            }
            let outcome = writeWriteRead("nodelay")(run)
            guard case .next = outcome else { return outcome }
            let (text, median) = roundsText(run, "nodelay")
            run.report("with-nodelay", .saw, "TCP_NODELAY: " + text, [.int("median_us", median)])
            run.resultFacts.append(.int("median_nodelay_us", median))
            return .next
        }),
        concluding,
    ]

    // MARK: framing

    /// Sends `pieces` one at a time; after each, waits until the server's kernel has it all and reads once.
    /// The reads land in `run.reads[key]`.
    static func sendAndRead(_ key: String, _ pieces: [[UInt8]]) -> @Sendable (ExperimentRun) -> ExperimentStep.Outcome {
        { run in
            let client = run.fd("client")!, server = run.fd("server")!
            while true {
                let index = run.numbers[key + ".piece", default: 0]
                if index == pieces.count { return .next }
                if run.numbers[key + ".sent"] != index + 1 {
                    _ = RawSocket.send(client, pieces[index])
                    run.numbers[key + ".sent"] = index + 1
                    run.numbers[key + ".expect"] = run.numbers["stream", default: 0] + pieces[index].count
                    run.numbers["stream"] = run.numbers[key + ".expect"]
                }
                let expected = run.numbers[key + ".expect"]!
                if let wait = until(run, "the bytes' arrival", { bytesReceived(run, "server") >= expected }) { return wait }
                let (answer, bytes) = RawSocket.recv(server, maxBytes: 4096)
                guard answer.errno == nil else { return .failed("recv(\(server))" + answer.text) }
                run.reads[key, default: []].append(bytes)
                run.numbers[key + ".piece"] = index + 1
            }
        }
    }

    static func quoted(_ chunks: [[UInt8]]) -> String {
        chunks.map { CommandText.quoted($0) }.joined(separator: " | ")
    }

    static let messages: [[UInt8]] = ["one\n", "two\n", "three\n"].map { Array($0.utf8) }
    static let splitPieces: [[UInt8]] = ["four\nfi", "ve\nsix\n"].map { Array($0.utf8) }
    static let binaryMessages: [[UInt8]] = ["hello", "two\nlines", "bye"].map { Array($0.utf8) }

    static let framing: [ExperimentStep] = [
        ExperimentStep(name: "merged", act: { run in
            if run.firstRun("merged") {
                // Each send leaves as its own segment at once: nothing but the receiver can merge them.
                let client = run.fd("client")!
                var line = "setsockopt(\(client), TCP_NODELAY, 1)" + RawSocket.setNoDelay(client, true).text
                for message in messages {
                    line += ", send(\(client), \(CommandText.quoted(message)))" + RawSocket.send(client, message).text
                }
                run.numbers["stream"] = messages.reduce(0) { $0 + $1.count }
                run.report("merged", .call, line)
            }
            let expected = run.numbers["stream"]!
            if let wait = until(run, "the messages' arrival", { bytesReceived(run, "server") >= expected }) { return wait }
            let server = run.fd("server")!
            let (answer, bytes) = RawSocket.recv(server, maxBytes: 4096)
            guard answer.errno == nil else { return .failed("recv(\(server))" + answer.text) }
            run.reads["all", default: []].append(bytes)
            run.report("merged", .saw, "\(messages.count) sends, then one recv(\(server), 4096)" + answer.text + ": "
                       + quoted([bytes]), [.int("sends", messages.count), .int("reads", 1), .int("read_bytes", answer.result)])
            return .next
        }),
        ExperimentStep(name: "split", act: { run in
            let outcome = sendAndRead("split", splitPieces)(run)
            guard case .next = outcome else { return outcome }
            let reads = run.reads["split"] ?? []
            run.reads["all", default: []] += reads
            run.report("split", .saw, "\(splitPieces.count) sends of \(quoted(splitPieces)); \(reads.count) recvs, read"
                       + " after each: " + quoted(reads) + ": \"five\" came in two pieces",
                       [.int("reads", reads.count), .text("first_read", CommandText.quoted(reads.first ?? []))])
            return .next
        }),
        ExperimentStep(name: "lines") { run in
            var framing = MessageFraming(.lines)
            let reads = run.reads["all"] ?? []
            let found = reads.flatMap { framing.add($0) }
            run.report("lines", .saw, "the same \(reads.count) reads cut at each \"\\n\": \(found.count) messages: "
                       + quoted(found), [.int("messages", found.count)])
            run.resultFacts += [.int("reads", reads.count), .int("line_messages", found.count)]
            return .next
        },
        ExperimentStep(name: "length-prefix", act: { run in
            let stream = binaryMessages.flatMap(MessageFraming.lengthPrefixed)
            // Cut where it hurts: inside the first length, inside the second message.
            let pieces = [Array(stream[0..<1]), Array(stream[1..<12]), Array(stream[12...])]
            let outcome = sendAndRead("prefix", pieces)(run)
            guard case .next = outcome else { return outcome }
            let reads = run.reads["prefix"] ?? []
            var framing = MessageFraming(.lengthPrefix16)
            let found = reads.flatMap { framing.add($0) }
            run.report("length-prefix", .saw, "\(binaryMessages.count) messages, each after its 2-byte length, sent in"
                       + " \(pieces.count) pieces of \(pieces.map { "\($0.count)" }.joined(separator: ", ")) bytes; read as "
                       + reads.map { "\($0.count)" }.joined(separator: ", ") + " bytes; decoded: " + quoted(found),
                       [.int("messages", found.count), .bool("exact", found == binaryMessages)])
            run.resultFacts += [.int("prefix_messages", found.count), .bool("prefix_exact", found == binaryMessages)]
            return .next
        }),
        concluding,
    ]

    // MARK: halfclose

    static let answer = Array("still here\n".utf8)

    static let halfClose: [ExperimentStep] = [
        ExperimentStep(name: "shutdown-write") { run in
            let client = run.fd("client")!
            run.report("shutdown-write", .call, "shutdown(\(client), SHUT_WR)" + RawSocket.shutdown(client, .write).text)
            return .next
        },
        ExperimentStep(name: "eof") { run in
            let server = run.fd("server")!
            if run.numbers["eof"] == nil {
                let (answer, _) = RawSocket.recv(server, maxBytes: 64)
                if answer.errno == EAGAIN { return until(run, "EOF on the server") { false }! }
                guard answer.errno == nil, answer.result == 0 else { return .failed("recv(\(server))" + answer.text) }
                run.numbers["eof"] = 1
            }
            // The client's side moves to FIN-WAIT-2 once the server's kernel has acknowledged the FIN.
            if let wait = until(run, "FIN-WAIT-2", { run.tcpState("client") == .finWait2 }) { return wait }
            run.report("eof", .saw, "recv(\(server)) = 0 on the server", [run.stateFact("server"), run.stateFact("client")])
            run.resultFacts.append(run.stateFact("server"))
            return .next
        },
        ExperimentStep(name: "still-sends") { run in
            let server = run.fd("server")!, client = run.fd("client")!
            if run.firstRun("answered") {
                run.report("still-sends", .call, "send(\(server), \(CommandText.quoted(answer)))" + RawSocket.send(server, answer).text)
            }
            if let wait = until(run, "the answer's arrival", { bytesReceived(run, "client") >= answer.count }) { return wait }
            let (read, bytes) = RawSocket.recv(client, maxBytes: 64)
            run.report("still-sends", .saw, "recv(\(client)) on the half-closed client" + read.text + ": " + quoted([bytes]),
                       [.int("received", max(0, read.result))])
            run.resultFacts.append(.int("received_after_shutdown", max(0, read.result)))
            return .next
        },
        ExperimentStep(name: "close-wait") { run in
            // Long enough to see that nothing moves on by itself.
            guard run.waitedMilliseconds >= 300 else { return .again(after: .milliseconds(50)) }
            run.report("close-wait", .saw, "300 ms later the server's side is still " + (run.tcpState("server")?.name ?? "gone"),
                       [run.stateFact("server")])
            return .next
        },
        ExperimentStep(name: "server-closes") { run in
            let client = run.fd("client")!
            if run.firstRun("closed") {
                let server = run.fd("server")!
                run.report("server-closes", .call, "close(\(server))" + run.close("server").text + " on the server")
            }
            let (read, _) = RawSocket.recv(client, maxBytes: 64)
            if read.errno == EAGAIN { return until(run, "EOF on the client") { false }! }
            let entry = KernelProbe.lookUp(local: run.endpoints["client"]!, remote: run.endpoints["server"]!)
            let kernel = entry.flatMap { TCPState(rawValue: Int($0.state)) }?.name ?? "none"
            run.report("server-closes", .saw, "recv(\(client)) on the client" + read.text + "; the kernel holds the client's"
                       + " end in " + kernel, [.text("client_kernel_state", kernel)])
            run.resultFacts.append(.text("client_kernel_state", kernel))
            return .next
        },
        concluding,
    ]

    // MARK: reset

    static let reset: [ExperimentStep] = [
        ExperimentStep(name: "abort") { run in
            let client = run.fd("client")!
            let linger = RawSocket.setLingerZero(client)
            run.report("abort", .call, "setsockopt(\(client), SO_LINGER, {1, 0})" + linger.text + ", close(\(client))"
                       + run.close("client").text)
            return .next
        },
        ExperimentStep(name: "econnreset") { run in
            let server = run.fd("server")!
            let (answer, _) = RawSocket.recv(server, maxBytes: 64)
            if answer.errno == EAGAIN { return until(run, "the reset's arrival") { false }! }
            run.report("econnreset", .saw, "recv(\(server)) on the server" + answer.text, [.text("errno", answer.errnoName)])
            run.resultFacts.append(.text("recv_errno", answer.errnoName))
            return .next
        },
        ExperimentStep(name: "epipe") { run in
            let server = run.fd("server")!
            let message = Array("hello?".utf8)
            let answer = RawSocket.send(server, message)
            run.report("epipe", .call, "send(\(server), \(CommandText.quoted(message)), MSG_NOSIGNAL)" + answer.text,
                       [.text("errno", answer.errnoName)])
            run.resultFacts.append(.text("send_errno", answer.errnoName))
            return .next
        },
        ExperimentStep(name: "no-time-wait") { run in
            let client = run.endpoints["client"]!, server = run.endpoints["server"]!
            let held = KernelProbe.lookUp(local: client, remote: server) != nil
            run.report("no-time-wait", .saw, "the kernel " + (held ? "still holds" : "holds nothing for") + " the client's end"
                       + " \(client) ↔ \(server)", [.bool("kernel_holds_client", held)])
            run.resultFacts.append(.bool("client_time_wait", held))
            return .next
        },
        concluding,
    ]
}
