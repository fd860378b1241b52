import Foundation
import Testing
@testable import SockscopeCore

/// docs/json-events.md is the JSON schema scripts rely on. Every kind of event the
/// engine can emit must have its section there, with an example line that parses and
/// has the documented fields, and what `EventText` really writes must match it.
@Suite struct JSONSchemaTests {
    /// One name per case of `EngineEventKind` (and of `LabEvent`, which it carries).
    enum EventCase: CaseIterable {
        case listening, accepted, connecting, connected, received, sent, peerClosed, shutDown, receivedFrom, sentTo
        case moreDatagrams
        case attempt, optionValue, resolved, peerCredentials, tls, tlsCertificate, refused, closed, error, requestCompleted
        case labCall, labKernel, labSystem, labPortRange, labExperiment
        case ruleFired, fileSending, tlsWire, replayRecord
        case scanStart, scanOpen, scanPorts, scanBanner, scanDone
        case pingStart, pingReply, pingLost, pingDone
        case relayListening, relayUpstream, relayPassedOn, relayPaused, relayResumed
        case toxicAdded, toxicRemoved, toxicFired
        case relayDown, relayUp, relayDropped
        case relayHolding, relayHoldReleased, relayHeld, relayHeldForwarded, relayHeldDropped, relayHeldEdited, relayHoldFull
        case captureStart, captureDone
    }

    /// No `default`: a new kind of event does not compile until it is named here, and then
    /// `example` must make one and the schema must document it.
    static func eventCase(of kind: EngineEventKind) -> EventCase {
        switch kind {
        case .listening: .listening
        case .accepted: .accepted
        case .connecting: .connecting
        case .connected: .connected
        case .received: .received
        case .sent: .sent
        case .peerClosed: .peerClosed
        case .shutDown: .shutDown
        case .receivedFrom: .receivedFrom
        case .sentTo: .sentTo
        case .moreDatagrams: .moreDatagrams
        case .attempt: .attempt
        case .optionValue: .optionValue
        case .resolved: .resolved
        case .peerCredentials: .peerCredentials
        case .tls: .tls
        case .tlsCertificate: .tlsCertificate
        case .refused: .refused
        case .closed: .closed
        case .error: .error
        case .requestCompleted: .requestCompleted
        case .ruleFired: .ruleFired
        case .fileSending: .fileSending
        case .tlsWire: .tlsWire
        case .replayRecord: .replayRecord
        case .capture(let event):
            switch event {
            case .started: .captureStart
            case .stopped: .captureDone
            }
        case .lab(let event):
            switch event {
            case .call: .labCall
            case .kernel: .labKernel
            case .system: .labSystem
            case .portRange: .labPortRange
            case .experiment: .labExperiment
            }
        case .scan(let event):
            switch event {
            case .started: .scanStart
            case .open: .scanOpen
            case .notOpen: .scanPorts
            case .banner: .scanBanner
            case .finished: .scanDone
            }
        case .ping(let event):
            switch event {
            case .started: .pingStart
            case .reply: .pingReply
            case .lost: .pingLost
            case .finished: .pingDone
            }
        case .relay(let event):
            switch event {
            case .listening: .relayListening
            case .upstream: .relayUpstream
            case .passedOn: .relayPassedOn
            case .paused: .relayPaused
            case .resumed: .relayResumed
            case .toxicAdded: .toxicAdded
            case .toxicRemoved: .toxicRemoved
            case .toxicFired: .toxicFired
            case .down: .relayDown
            case .up: .relayUp
            case .dropped: .relayDropped
            case .holding: .relayHolding
            case .holdReleased: .relayHoldReleased
            case .held: .relayHeld
            case .heldOut(_, _, _, .forwarded, _, _, _, _): .relayHeldForwarded
            case .heldOut(_, _, _, .dropped, _, _, _, _): .relayHeldDropped
            case .heldOut(_, _, _, .edited, _, _, _, _): .relayHeldEdited
            case .holdFull: .relayHoldFull
            }
        }
    }

    static let c1 = SocketID(.connection, 1)
    static let l1 = SocketID(.listener, 1)
    static let c2 = SocketID(.connection, 2)
    static let r1 = SocketID(.relay, 1)
    static func at(_ text: String) -> SocketEndpoint { SocketEndpoint(parsing: text)! }
    static let certificate = CertificateSummary(
        subject: "CN=localhost", issuer: "CN=Test CA", subjectAlternativeNames: ["DNS:localhost", "IP Address:127.0.0.1"],
        notBefore: Timestamp(nanoseconds: 0), notAfter: Timestamp(nanoseconds: 86_400_000_000_000), daysLeft: 1,
        keyType: "EC P-256", keyBits: 256, signatureAlgorithm: "ecdsa-with-SHA256", sha256Fingerprint: "AB:CD")

    static func example(_ event: EventCase) -> EngineEventKind {
        switch event {
        case .listening: .listening(l1, .tcp, local: at("127.0.0.1:9000"), mode: .echo, backlog: 4096)
        case .accepted: .accepted(c1, listener: l1, local: at("127.0.0.1:9000"), remote: at("127.0.0.1:51234"))
        case .connecting: .connecting(c1, remote: "127.0.0.1:9000")
        case .connected: .connected(c1, local: at("127.0.0.1:51234"), remote: at("127.0.0.1:9000"))
        case .received: .received(c1, bytes: Array("hi\n".utf8), count: 3)
        case .sent: .sent(c1, bytes: Array("hi".utf8), count: 5000)
        case .peerClosed: .peerClosed(c1)
        case .shutDown: .shutDown(c1, .write)
        case .receivedFrom: .receivedFrom(l1, from: at("127.0.0.1:40000"), bytes: [0x61], count: 1, truncated: false)
        case .moreDatagrams: .moreDatagrams(l1, DatagramTotals(received: 300, receivedBytes: 19_200, sent: 2, sentBytes: 9))
        case .sentTo: .sentTo(l1, to: at("127.0.0.1:40000"), bytes: [0x62], count: 1)
        case .attempt: .attempt(c1, address: at("[::1]:80"))
        case .optionValue: .optionValue(c1, .rcvbuf, value: 212_992)
        case .resolved: .resolved(host: "localhost", addresses: [ResolvedAddress(family: "IPv4", type: "stream", address: "127.0.0.1")])
        case .peerCredentials: .peerCredentials(c1, pid: 1, uid: 2, gid: 3)
        case .tls:
            .tls(c1, TLSReport(role: .client, version: "TLSv1.3", cipherSuite: "TLS_AES_256_GCM_SHA384", alpnOffered: ["h2"],
                               alpnChosen: "h2", serverName: "localhost", resumed: false, handshakeMicroseconds: 3250,
                               verification: .ignored(reason: "self-signed certificate (CN=x)"), chain: [certificate],
                               handshakeBytesIn: 1432, handshakeBytesOut: 380))
        case .tlsCertificate: .tlsCertificate(l1, certificate, selfSigned: true, savedTo: "/tmp/c.pem")
        case .refused: .refused(l1, remote: at("10.0.0.1:5"), reason: "denied by --deny 10.0.0.0/8")
        case .closed: .closed(c1, reason: "closed by us")
        case .error: .error(c1, .system(call: "connect", errno: 111, target: "tcp://127.0.0.1:9"))
        case .requestCompleted: .requestCompleted
        case .labCall:
            .lab(.call(SocketID(.socket, 1), SyscallRecord(call: "connect", arguments: ["7", "127.0.0.1:9"], result: -1, errno: 111,
                                                           phase: .failed, transport: .tcp, kernelState: .close,
                                                           local: at("127.0.0.1:4000"), remote: at("127.0.0.1:9"))))
        case .labKernel:
            .lab(.kernel(c1, {
                var sample = KernelSample()
                sample.state = .timeWait
                sample.lingering = true
                sample.timerSeconds = 59
                sample.rttMicroseconds = 40
                return sample
            }()))
        case .labSystem:
            .lab(.system([SystemSocket(proto: "tcp", state: "LISTEN", receiveQueue: 0, sendQueue: 128, local: at("127.0.0.1:9000"),
                                       remote: nil, process: "sockscope (1)", inode: 7, isOurs: true)]))
        case .labPortRange: .lab(.portRange(low: 32768, high: 60999))
        case .labExperiment:
            .lab(.experiment(ExperimentFinding(experiment: .timewait, step: "restart-plain", kind: .call,
                                               text: "a new server: socket() = 9, bind(9, 127.0.0.1:40000) = -1 EADDRINUSE",
                                               facts: [.text("errno", "EADDRINUSE")])))
        case .ruleFired: .ruleFired(c1, rule: 3, times: 1)
        case .fileSending: .fileSending(c1, path: "/tmp/big", size: 1_073_741_824)
        case .tlsWire: .tlsWire(c1, received: 6_321, sent: 1_876)
        case .replayRecord:
            .replayRecord(c1, ReplayRecord(chunks: [ReplayRecord.Chunk(bytes: Array("GET / HTTP/1.0\r\n\r\n".utf8),
                                                                         time: Timestamp(nanoseconds: 0))], total: 18))
        case .scanStart:
            .scan(.started(ScanStart(host: "localhost", address: at("127.0.0.1:0"), ports: PortList([1...1024]), concurrency: 1024,
                                     concurrencyReason: "the default", timeoutMilliseconds: 1000, bannerWaitMilliseconds: 1000)))
        case .scanOpen: .scan(.open(port: 22, connectMicroseconds: 85))
        case .scanPorts: .scan(.notOpen(PortOutcome(state: .closed, errno: 111), ranges: [1...21, 23...79]))
        case .scanBanner: .scan(.banner(port: 22, .said(bytes: Array("SSH-2.0-x\r\n".utf8), count: 11)))
        case .scanDone:
            .scan(.finished(ScanSummary(address: at("127.0.0.1:0"), portCount: 1024, scanned: 1024, open: [22], closed: 1023,
                                        filtered: 0, elapsedMicroseconds: 41230, maxInFlight: 3, stopped: false)))
        case .pingStart:
            .ping(.started(PingStart(host: "localhost", address: at("127.0.0.1:0"), method: .raw, count: 4, intervalMilliseconds: 1000,
                                     timeoutMilliseconds: 1000, payloadBytes: 56)))
        case .pingReply: .ping(.reply(PingReply(sequence: 1, from: at("127.0.0.1:0"), bytes: 64, ttl: 64, rttMicroseconds: 45)))
        case .pingLost: .ping(.lost(sequence: 2, waitedMilliseconds: 1000))
        case .pingDone:
            .ping(.finished(PingSummary(address: at("127.0.0.1:0"), sent: 4, received: 4, minimumMicroseconds: 31,
                                        averageMicroseconds: 45, maximumMicroseconds: 60, elapsedMicroseconds: 3_001_200,
                                        stopped: false)))
        case .relayListening: .relay(.listening(r1, .tcp, local: at("127.0.0.1:8080"), target: "tcp://127.0.0.1:80"))
        case .relayUpstream: .relay(.upstream(c2, relay: r1, client: c1, .tcp, target: "tcp://127.0.0.1:80"))
        case .relayPassedOn: .relay(.passedOn(c2, .upstream, relay: r1, from: c1, .fin))
        case .relayPaused: .relay(.paused(c1, .client, relay: r1, waitingOn: c2, held: 65_536))
        case .relayResumed: .relay(.resumed(c1, .client, relay: r1, milliseconds: 1200))
        case .toxicAdded: .relay(.toxicAdded(r1, Toxic(effect: .latency(milliseconds: 200, jitter: 0), direction: .down, toxicity: 0.5)))
        case .toxicRemoved: .relay(.toxicRemoved(r1, name: "latency_down"))
        case .toxicFired: .relay(.toxicFired(c2, .upstream, relay: r1, name: "latency_down", count: 3))
        case .relayDown: .relay(.down(r1, closedPairs: 2))
        case .relayUp: .relay(.up(r1))
        case .relayDropped: .relay(.dropped(c1, .client, relay: r1, count: 4))
        case .relayHolding: .relay(.holding(r1, .up, .line))
        case .relayHoldReleased: .relay(.holdReleased(r1))
        case .relayHeld: .relay(.held(c1, .client, relay: r1, sequence: 3, bytes: Array("GET /\r\n".utf8), count: 7,
                                      heldChunks: 2, heldBytes: 12))
        case .relayHeldForwarded: .relay(.heldOut(c1, .client, relay: r1, .forwarded, chunks: 1, bytes: 7, heldChunks: 1, heldBytes: 5))
        case .relayHeldDropped: .relay(.heldOut(c2, .upstream, relay: r1, .dropped, chunks: 2, bytes: 9, heldChunks: 0, heldBytes: 0))
        case .relayHeldEdited: .relay(.heldOut(c1, .client, relay: r1, .edited, chunks: 1, bytes: 4, heldChunks: 0, heldBytes: 0))
        case .relayHoldFull: .relay(.holdFull(c1, .client, relay: r1, relayHeld: 4_194_304, bound: 4_194_304))
        case .captureStart: .capture(.started(path: "/tmp/s.pcapng", maxBytes: 67_108_864))
        case .captureDone:
            .capture(.stopped(CaptureSummary(path: "/tmp/s.pcapng", packets: 1204, fileBytes: 181_344, droppedRecords: 0,
                                             droppedBytes: 0, rotations: 0)))
        }
    }

    // MARK: The document

    struct Section {
        var fields: [String: Bool] = [:]  // name: optional
        var example: String?
    }

    static var documentPath: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/docs/json-events.md"
    }

    /// The fields every event has (before the first section), and each `### \`name\`` section.
    static func document() throws -> (common: Section, sections: [String: Section]) {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        var common = Section()
        var sections: [String: Section] = [:]
        var current: String?
        var inExample = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("### `") {
                current = String(line.dropFirst(5).prefix { $0 != "`" })
                sections[current!] = Section()
            } else if line == "```json" {
                inExample = true
            } else if line == "```" {
                inExample = false
            } else if inExample, let name = current, sections[name]?.example == nil {
                sections[name]?.example = line
            } else if line.hasPrefix("| `") {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                let field = String(cells[0].dropFirst().prefix { $0 != "`" })
                let optional = cells.count > 1 && cells[1].contains("optional")
                if let name = current { sections[name]?.fields[field] = optional } else { common.fields[field] = optional }
            }
        }
        return (common, sections)
    }

    static func object(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    /// `line` is an event named `name` whose fields are all documented and has every field the document requires.
    static func check(_ line: String, named name: String, against document: (common: Section, sections: [String: Section]),
                      requiringCommon: Bool = true) {
        guard let object = object(line) else {
            Issue.record("not a JSON object: \(line)")
            return
        }
        #expect(object["event"] as? String == name, "\(line)")
        guard let section = document.sections[name] else {
            Issue.record("docs/json-events.md has no section for `\(name)`")
            return
        }
        let documented = section.fields.merging(document.common.fields) { own, _ in own }
        for key in object.keys { #expect(documented[key] != nil, "`\(name)` has an undocumented field `\(key)`: \(line)") }
        var required = section.fields.filter { !$0.value }.map(\.key)
        if requiringCommon { required += document.common.fields.filter { !$0.value }.map(\.key) }
        for key in required { #expect(object[key] != nil, "`\(name)` lacks its field `\(key)`: \(line)") }
    }

    // MARK: The tests

    @Test func everyEventTheEngineCanEmitIsDocumentedWithAnExampleThatParses() throws {
        let document = try Self.document()
        for event in EventCase.allCases {
            let kind = Self.example(event)
            #expect(Self.eventCase(of: kind) == event, "the example for \(event) is that event")
            let engineEvent = EngineEvent(time: Timestamp(nanoseconds: 0), kind: kind)
            let entry = LogEntry(engineEvent, transport: .tcp) ?? LogEntry(observation: engineEvent, transport: .tcp)
            guard let line = EventText.json(entry) else {
                #expect(event == .requestCompleted, "only bookkeeping prints nothing")
                continue
            }
            let name = EventText.name(of: kind)
            #expect(entry.socket == nil || line.contains(#""proto":"tcp""#), "an event about a socket names its protocol: \(line)")
            Self.check(line, named: name, against: document)
            let example = try #require(document.sections[name]?.example, "`\(name)` has an example line")
            Self.check(example, named: name, against: document)
        }
    }

    @Test func theLinesOnlyASavedLogHasAreDocumented() throws {
        let document = try Self.document()
        var state = AppState(interactive: false)
        _ = Reducer.reduce(&state, .commandLine("listen 9000", origin: .script, time: Timestamp(nanoseconds: 0)))
        _ = Reducer.reduce(&state, .commandLine("help quit", origin: .prompt, time: Timestamp(nanoseconds: 0)))
        _ = Reducer.reduce(&state, .commandLine("frobnicate", origin: .prompt, time: Timestamp(nanoseconds: 0)))
        _ = Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: 1), kind: Self.example(.accepted))))
        let lines = LogExport.render(state, format: .json).split(separator: "\n").map(String.init)
        let names = lines.compactMap { Self.object($0)?["event"] as? String }
        #expect(names.first == "command" && names.last == "summary", "\(lines)")
        #expect(Set(names) == ["command", "info", "error", "accepted", "total", "summary"], "\(lines)")
        for (line, name) in zip(lines, names) {
            // Totals and the summary are about the whole log, not a moment: no `ts`.
            Self.check(line, named: name, against: document, requiringCommon: name != "total" && name != "summary")
        }
        for name in ["command", "info", "total", "summary"] {
            let example = try #require(document.sections[name]?.example, "`\(name)` has an example line")
            Self.check(example, named: name, against: document, requiringCommon: name != "total" && name != "summary")
        }
    }
}

@Suite struct LogEntrySizeTests {
    /// The log keeps 100 000 entries: a record is one pointer in its entry (a sentence
    /// took a 16-byte String and the entry 72 bytes).
    @Test func anEntryStaysSmall() {
        #expect(MemoryLayout<LogRecord>.size == 8)
        #expect(MemoryLayout<LogEntry>.stride <= 64)
    }
}
