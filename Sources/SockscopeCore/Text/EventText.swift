/// The one place an event is worded. A log entry holds a typed record (`LogRecord`);
/// this turns it into each of its forms, side by side per event:
/// - `sentence`: what the Log pane shows after the marker (and a saved text log);
/// - `line`: the headless text line (`17:50:03.123Z C1 accepted remote=...`);
/// - `json`: the object headless `--json` prints and `save --json` writes, documented
///   in docs/json-events.md.
/// Strings from outside (data, addresses, reasons) are escaped here, never raw.
/// Entries are worded when shown, printed or saved, never when they are logged.
public enum EventText {
    /// The event's name in JSON (`"event"`) and in headless text lines.
    public static func name(of entry: LogEntry) -> String {
        switch entry.record {
        case .data, .datagram: entry.kind == .received ? "received" : "sent"
        case .event(let kind): name(of: kind)
        case .command: "command"
        case .note: entry.kind == .error ? "error" : "info"
        }
    }

    public static func name(of kind: EngineEventKind) -> String {
        switch kind {
        case .listening: "listening"
        case .accepted: "accepted"
        case .connecting: "connecting"
        case .connected: "connected"
        case .received, .receivedFrom: "received"
        case .sent, .sentTo: "sent"
        case .moreDatagrams: "more-datagrams"
        case .peerClosed: "peer-closed"
        case .shutDown: "shutdown"
        case .attempt: "attempt"
        case .optionValue: "option"
        case .resolved: "resolved"
        case .peerCredentials: "peer-credentials"
        case .tls: "tls"
        case .tlsCertificate: "tls-certificate"
        case .refused: "refused"
        case .closed: "closed"
        case .error: "error"
        case .lab(let event): LabEventText.name(of: event)
        case .relay(let event): RelayEventText.name(of: event)
        case .requestCompleted: "completed"
        case .ruleFired: "rule-fired"
        case .fileSending: "file-sending"
        case .tlsWire: "tls-wire"
        case .replayRecord: "replay-record"
        case .scan(let event): ScanEventText.name(of: event)
        case .ping(let event): PingEventText.name(of: event)
        case .capture(let event): CaptureEventText.name(of: event)
        }
    }

    // MARK: - The forms

    /// The Log pane's body of an entry (after time, id and marker), every untrusted byte
    /// escaped, as UTF-8: the log filter searches these bytes in one reused buffer.
    static func appendBody(_ entry: LogEntry, to out: inout [UInt8]) {
        if entry.isData {
            appendDataHead(entry, to: &out)
            DataEscaping.append(entry.bytes[...], to: &out)
            appendDataTail(entry, to: &out)
        } else {
            // Our own words and typed commands keep `\n` as typed; outside text in them was escaped as it was worded.
            DisplayText.appendEscaped(Array(sentence(entry).utf8), backslashes: false, to: &out)
        }
    }

    /// The headless text line (time, id, name, fields), appended to `out` as UTF-8 without
    /// a newline; false, with nothing appended, for what headless does not print. Written as
    /// bytes: through String interpolation a line cost ~12 000 instructions, the main
    /// thread's largest cost per accepted connection.
    public static func appendLine(_ entry: LogEntry, to out: inout [UInt8]) -> Bool {
        guard isPrinted(entry) else { return false }
        var writer = Writer(form: .line, out: out)
        out = []
        TimeText.appendISO8601(entry.time, to: &writer.out)
        writer.add(" ")
        if let id = entry.socket { writer.add(id) } else { writer.add("-") }
        writer.add(" ")
        describe(entry, &writer)
        out = writer.out
        return true
    }

    /// `appendLine` as a String, or nil for what headless does not print.
    public static func line(_ entry: LogEntry) -> String? {
        var out: [UInt8] = []
        guard appendLine(entry, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// The JSON object on one line, or nil for what headless does not print. `payload`: a
    /// data entry's whole bytes (`--payload base64`), written exactly, base64, with no size cap.
    public static func json(_ entry: LogEntry, payload: [UInt8]? = nil) -> String? {
        guard isPrinted(entry) else { return nil }
        var writer = Writer(form: .json)
        writer.fields.append(("ts", .string(TimeText.iso8601(entry.time))))
        if let id = entry.socket { writer.fields.append(("id", .string(id.description))) }
        writer.fields.append(("event", .string(name(of: entry))))
        if entry.socket != nil, let transport = entry.transport { writer.fields.append(("proto", .string(transport.label))) }
        describe(entry, &writer)
        if let payload, entry.isData { writer.fields.append(("payload", .string(Base64.encode(payload)))) }
        return JSONValue.object(writer.fields).encoded
    }

    /// The sentence the Log pane shows for an entry that is not data, not yet escaped.
    static func sentence(_ entry: LogEntry) -> String {
        var writer = Writer(form: .sentence)
        describe(entry, &writer)
        return writer.sentence
    }

    /// Whether headless prints the entry: not bookkeeping, and kernel samples only when
    /// something notable changed.
    static func isPrinted(_ entry: LogEntry) -> Bool {
        switch entry.record {
        case .event(.requestCompleted): false
        case .event(.lab(let event)): LabEventText.isPrinted(event)
        default: true
        }
    }

    // MARK: - Every record, in every form

    /// Writes the record in the writer's form: each event's words for all forms are here, together.
    private static func describe(_ entry: LogEntry, _ w: inout Writer) {
        switch entry.record {
        case .data, .datagram:
            describeData(entry, &w)
        case .command(let line), .note(let line):
            switch w.form {
            case .sentence: w.sentence = line
            case .line:
                // As the Log pane shows it: outside text in our words was escaped as they were worded
                // (a reply's `\r\n` stays `\r\n`, not `\\r\\n`); controls are still escaped.
                w.add(name(of: entry)); w.add(" ")
                DisplayText.appendEscaped(Array(line.utf8), backslashes: false, to: &w.out)
            case .json:
                let isCommand = if case .command = entry.record { true } else { false }
                w.fields.append((isCommand ? "line" : "message", .string(line)))
            }
        case .event(let kind):
            describe(kind, &w)
        }
    }

    private static func describeData(_ entry: LogEntry, _ w: inout Writer) {
        var peer: SocketEndpoint?
        var cut = false
        if case .datagram(let endpoint, let truncated) = entry.record { (peer, cut) = (endpoint, truncated) }
        let isReceived = entry.kind == .received
        switch w.form {
        case .sentence:
            break  // `appendBody` writes data as bytes, for the filter
        case .line:
            w.add(isReceived ? "received " : "sent "); w.add(entry.count); w.add(" B ")
            if let peer { w.add(isReceived ? "from " : "to "); w.add(peer); w.add(" ") }
            w.add("\""); DataEscaping.append(entry.bytes[...], to: &w.out)
            w.add(entry.count > entry.bytes.count ? "\"..." : "\"")
            if cut { w.add(" "); w.add(DatagramText.truncation) }
        case .json:
            if let peer { w.fields.append((isReceived ? "from" : "to", .string(peer.description))) }
            // "truncated": the preview is shorter than the count; "msg_trunc": the kernel cut the datagram.
            w.fields += [("bytes", .int(entry.count)), ("text", .string(DisplayText.escape(entry.bytes))),
                         ("truncated", .bool(entry.count > entry.bytes.count))]
            if peer != nil, isReceived { w.fields.append(("msg_trunc", .bool(cut))) }
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private static func describe(_ kind: EngineEventKind, _ w: inout Writer) {
        switch kind {
        case .listening(_, let transport, let local, let mode, let backlog):
            let everyInterface = local.isWildcard
            switch w.form {
            case .sentence:
                let exposure = everyInterface ? " on ALL interfaces (reachable from the network)" : ""
                let queue = transport.isDatagram ? "" : ", backlog \(backlog)"
                w.sentence = "listening on \(transport.label) \(local)\(exposure), \(mode)\(queue)"
            case .line:
                w.add("listening "); w.add(transport.label); w.add(" "); w.add(local)
                if everyInterface { w.add(" ALL-INTERFACES") }
                w.add(" mode="); w.add(mode.description); w.add(" backlog="); w.add(backlog)
            case .json:
                w.fields += [("local", .string(local.description)), ("mode", .string(mode.description)), ("backlog", .int(backlog))]
            }
        case .accepted(_, let listener, let local, let remote):
            switch w.form {
            case .sentence: w.sentence = "accepted \(remote) on \(listener) (\(local))"
            case .line:
                w.add("accepted remote="); w.add(remote); w.add(" local="); w.add(local)
                w.add(" listener="); w.add(listener)
            case .json:
                w.fields += [("listener", .string(listener.description)), ("local", .string(local.description)),
                             ("remote", .string(remote.description))]
            }
        case .connecting(_, let remote):
            switch w.form {
            case .sentence: w.sentence = "connecting to \(remote)"
            case .line: w.add("connecting remote="); w.addSafe(remote)
            case .json: w.fields.append(("remote", .string(remote)))
            }
        case .connected(_, let local, let remote):
            switch w.form {
            case .sentence: w.sentence = "connected to \(remote) from \(local) (ephemeral port chosen by the kernel)"
            case .line: w.add("connected local="); w.add(local); w.add(" remote="); w.add(remote)
            case .json: w.fields += [("local", .string(local.description)), ("remote", .string(remote.description))]
            }
        case .received(_, let bytes, let count), .sent(_, let bytes, let count):
            // Logged as data entries; worded here too so any event can be rendered.
            var entry = LogEntry(time: Timestamp(nanoseconds: 0), socket: nil, kind: .received, count: count, bytes: bytes, record: .data)
            if case .sent = kind { entry.kind = .sent }
            describeDataEvent(entry, &w)
        case .receivedFrom(_, let peer, let bytes, let count, let truncated):
            describeDataEvent(LogEntry(time: Timestamp(nanoseconds: 0), socket: nil, kind: .received, count: count, bytes: bytes,
                                       record: .datagram(peer: peer, truncated: truncated)), &w)
        case .sentTo(_, let peer, let bytes, let count):
            describeDataEvent(LogEntry(time: Timestamp(nanoseconds: 0), socket: nil, kind: .sent, count: count, bytes: bytes,
                                       record: .datagram(peer: peer, truncated: false)), &w)
        case .moreDatagrams(_, let totals):
            switch w.form {
            case .sentence: w.sentence = totals.text
            case .line: w.add(totals.text)
            case .json:
                w.fields += [("received", .int(totals.received)), ("received_bytes", .int(totals.receivedBytes)),
                             ("sent", .int(totals.sent)), ("sent_bytes", .int(totals.sentBytes))]
            }
        case .ruleFired(_, let rule, let times):
            let text = "rule #\(rule) answered" + (times == 1 ? "" : " \(times) times")
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("rule-fired #"); w.add(rule); if times != 1 { w.add(" times="); w.add(times) }
            case .json: w.fields += [("rule", .int(rule)), ("times", .int(times))]
            }
        case .tlsWire(_, let received, let sent):
            switch w.form {
            case .sentence: w.sentence = "on the wire (TLS records): \(ByteCount.text(received)) in, \(ByteCount.text(sent)) out"
            case .line: w.add("tls-wire in="); w.add(received); w.add(" out="); w.add(sent)
            case .json: w.fields += [("wire_received", .int(received)), ("wire_sent", .int(sent))]
            }
        case .replayRecord(_, let record):
            // Not kept in the log (`isKeptInLog`): worded for completeness, never with the bytes.
            switch w.form {
            case .sentence:
                w.sentence = "recorded for replay: \(record.chunks.count) chunk(s), \(ByteCount.text(record.keptBytes))"
                    + " of \(ByteCount.text(record.total))"
            case .line:
                w.add("replay-record chunks="); w.add(record.chunks.count)
                w.add(" kept="); w.add(record.keptBytes); w.add(" total="); w.add(record.total)
            case .json: w.fields += [("chunks", .int(record.chunks.count)), ("kept", .int(record.keptBytes)), ("total", .int(record.total))]
            }
        case .fileSending(_, let path, let size):
            let shownPath = DisplayText.escape(string: path)
            switch w.form {
            case .sentence: w.sentence = "sendfile \(shownPath): sending \(ByteCount.text(size))"
            case .line: w.add("file-sending "); w.add(shownPath); w.add(" size="); w.add(size)
            case .json: w.fields += [("path", .string(path)), ("size", .int(size))]
            }
        case .peerClosed:
            switch w.form {
            case .sentence: w.sentence = "peer closed its side (\(peerClosedMeaning))"
            case .line: w.add("peer-closed ("); w.add(peerClosedMeaning); w.add(")")
            case .json: break
            }
        case .shutDown(_, let direction):
            switch w.form {
            case .sentence: w.sentence = "shutdown \(direction.rawValue): \(ShutdownText.explanation(direction))"
            case .line: w.add("shutdown "); w.add(direction.rawValue); w.add(" ("); w.add(ShutdownText.explanation(direction)); w.add(")")
            case .json: w.fields.append(("direction", .string(direction.rawValue)))
            }
        case .attempt(_, let address):
            switch w.form {
            case .sentence: w.sentence = "trying \(address)"
            case .line: w.add("attempt "); w.add(address)
            case .json: w.fields.append(("address", .string(address.description)))
            }
        case .optionValue(_, let option, let value):
            switch w.form {
            case .sentence:
                let doubled = option == .rcvbuf || option == .sndbuf
                w.sentence = "\(option.rawValue) = \(value)" + (doubled ? " (the kernel doubles the value you set, for its bookkeeping)" : "")
            case .line: w.add("option "); w.add(option.rawValue); w.add("="); w.add(value); w.add(" (what the kernel holds)")
            case .json: w.fields += [("option", .string(option.rawValue)), ("value", .int(value))]
            }
        case .resolved(let host, let addresses):
            switch w.form {
            case .sentence:
                w.sentence = "\(host) resolves to " + (addresses.isEmpty ? "nothing"
                    : addresses.map { "\($0.address) (\($0.family), \($0.type))" }.joined(separator: ", "))
            case .line:
                w.add("resolved "); w.addSafe(host); w.add(": ")
                if addresses.isEmpty { w.add("no addresses") }
                for (index, address) in addresses.enumerated() {
                    if index > 0 { w.add(", ") }
                    w.add(address.family); w.add(" "); w.add(address.type); w.add(" "); w.addSafe(address.address)
                }
            case .json:
                w.fields += [("host", .string(host)),
                             ("addresses", .array(addresses.map {
                                 .object([("family", .string($0.family)), ("type", .string($0.type)), ("address", .string($0.address))])
                             }))]
            }
        case .peerCredentials(_, let pid, let uid, let gid):
            switch w.form {
            case .sentence: w.sentence = "peer process: \(PeerCredentialsText.text(pid: pid, uid: uid, gid: gid)) (SO_PEERCRED)"
            case .line:
                w.add("peer-credentials pid="); w.add(Int(pid)); w.add(" uid="); w.add(Int(uid)); w.add(" gid="); w.add(Int(gid))
            case .json: w.fields += [("pid", .int(Int(pid))), ("uid", .int(Int(uid))), ("gid", .int(Int(gid)))]
            }
        case .tls(_, let report):
            TLSEventText.describe(report, &w)
        case .tlsCertificate(_, let certificate, let selfSigned, let savedTo):
            TLSEventText.describeListenerCertificate(certificate, selfSigned: selfSigned, savedTo: savedTo, &w)
        case .refused(_, let remote, let reason):
            switch w.form {
            case .sentence: w.sentence = "refused \(remote): \(reason)"
            case .line: w.add("refused remote="); w.add(remote); w.add(" ("); w.addSafe(reason); w.add(")")
            case .json: w.fields += [("remote", .string(remote.description)), ("reason", .string(reason))]
            }
        case .closed(_, let reason):
            switch w.form {
            case .sentence: w.sentence = "closed: \(reason)"
            case .line: w.add("closed ("); w.addSafe(reason); w.add(")")
            case .json: w.fields.append(("reason", .string(reason)))
            }
        case .error(_, let failure):
            switch w.form {
            case .sentence:
                w.sentence = failure.call + (failure.target.map { " \($0)" } ?? "") + " failed"
                    + (failure.code.map { ": \($0)" } ?? "") + " (\(failure.explanation))"
            case .line:
                w.add("error "); w.add(failure.call)
                if let target = failure.target { w.add(" "); w.addSafe(target) }
                if let code = failure.code { w.add(" "); w.add(code) }
                w.add(": "); w.addSafe(failure.explanation)
            case .json:
                w.fields.append(("call", .string(failure.call)))
                if let code = failure.code { w.fields.append(("errno", .string(code))) }
                if let number = failure.errno { w.fields.append(("errno_value", .int(Int(number)))) }
                if let target = failure.target { w.fields.append(("target", .string(target))) }
                w.fields.append(("message", .string(failure.explanation)))
            }
        case .lab(let event):
            switch w.form {
            case .sentence: w.sentence = LabEventText.sentence(event)
            case .line: w.add(LabEventText.text(event))
            case .json: w.fields += LabEventText.jsonFields(event)
            }
        case .relay(let event):
            RelayEventText.describe(event, &w)
        case .requestCompleted:
            break
        case .scan(let event):
            ScanEventText.describe(event, &w)
        case .ping(let event):
            PingEventText.describe(event, &w)
        case .capture(let event):
            CaptureEventText.describe(event, &w)
        }
    }

    /// The event in the sockets' ledgers (the Detail pane's history), as calls and state
    /// changes the way a C program would see them, already escaped (addresses escape themselves). `byStepCalls`: the
    /// socket was made in step mode, so its socket, bind and listen calls are there already.
    static func ledgerEntries(_ kind: EngineEventKind, byStepCalls: Bool) -> [(SocketID, LedgerEntry.Kind, String)] {
        let safe = { (text: String) in DisplayText.escape(string: text) }
        switch kind {
        case .listening(let id, let transport, let local, _, let backlog):
            let change = transport.isDatagram ? "bound (\(transport.label) receives datagrams)" : "LISTEN on \(local)"
            return (byStepCalls ? [] : [(id, .call, "socket(), bind(\(local)), listen(\(backlog)) = 0")]) + [(id, .state, change)]
        case .accepted(let id, let listener, let local, let remote):
            return [(listener, .call, "accept() = \(id) from \(remote)"),
                    (id, .call, "accept() on \(listener): a new socket for \(remote) on \(local)"),
                    (id, .state, "ESTABLISHED")]
        case .connecting(let id, let remote):
            return [(id, .call, "socket(), connect(\(safe(remote))) = -1 EINPROGRESS"), (id, .state, "SYN-SENT (handshake in progress)")]
        case .connected(let id, let local, let remote):
            let handedOver = id.kind == .socket ? "; the engine reads and writes it now" : ""
            return [(id, .state, "ESTABLISHED: connected to \(remote) from \(local)\(handedOver)")]
        case .peerClosed(let id):
            return [(id, .state, "peer sent FIN: read() = 0 (EOF); the kernel's state is CLOSE-WAIT until we close")]
        case .shutDown(let id, let direction):
            let how = switch direction {
            case .read: "SHUT_RD"
            case .write: "SHUT_WR"
            case .both: "SHUT_RDWR"
            }
            return [(id, .call, "shutdown(\(how)) = 0")]
        case .closed(let id, let reason):
            return [(id, .call, "close() — \(safe(reason))")]
        case .error(let id?, let failure):
            return [(id, .error, "\(failure.call) failed" + (failure.code.map { " \($0)" } ?? ""))]
        case .relay(.listening(let id, _, let local, let target)):
            return [(id, .call, "socket(), bind(\(local)), listen() = 0; each accept() then connect(\(safe(target)))"),
                    (id, .state, "LISTEN on \(local), relaying")]
        case .relay(.upstream(let id, let relay, let client, _, let target)):
            return [(id, .call, "socket(), connect(\(safe(target))) = -1 EINPROGRESS (\(relay) for \(client))"),
                    (id, .state, "SYN-SENT (handshake in progress)")]
        case .relay(.passedOn(let id, _, _, let from, .fin)):
            return [(id, .call, "shutdown(SHUT_WR) = 0 (passing on \(from)'s FIN)")]
        case .relay(.passedOn(let id, _, _, let from, .reset)):
            return [(id, .call, "setsockopt(SO_LINGER, {1, 0}), close() (passing on \(from)'s RST)")]
        case .lab(.call(let id, let record)):
            let succeeded = record.errno == nil || record.errno == 115  // EINPROGRESS: under way
            return [(id, record.errno == nil ? .call : .error, safe(record.text))]
                + (succeeded ? [(id, .state, "phase: \(record.phase.rawValue)")] : [])
        case .tls(let id, let report):
            return [(id, .state, "TLS \(report.version) established (\(report.verification.word))")]
        case .received, .sent, .receivedFrom, .sentTo, .moreDatagrams, .attempt, .optionValue, .resolved, .peerCredentials, .refused,
             .tlsCertificate, .error(nil, _), .lab(.kernel), .lab(.system), .lab(.portRange), .lab(.experiment), .requestCompleted,
             .ruleFired, .scan, .ping, .capture, .replayRecord,
             .fileSending, .tlsWire, .relay(.passedOn(_, _, _, _, .close)), .relay(.paused), .relay(.resumed), .relay(.toxicAdded),
             .relay(.toxicRemoved), .relay(.toxicFired), .relay(.down), .relay(.up),
             .relay(.dropped),
             .relay(.holding), .relay(.holdReleased), .relay(.held), .relay(.heldOut), .relay(.holdFull):
            // Data is counted into the last entry, kernel changes compared with the last sample: `Reducer.recordLab`.
            return []
        }
    }

    /// A data event rendered as the entry it makes: the Log pane's sentence for it is its body.
    private static func describeDataEvent(_ entry: LogEntry, _ w: inout Writer) {
        if w.form == .sentence {
            var body: [UInt8] = []
            appendBody(entry, to: &body)
            w.sentence = String(decoding: body, as: UTF8.self)
        } else {
            describeData(entry, &w)
        }
    }

    /// What EOF from the peer means, in both text forms.
    static let peerClosedMeaning = "EOF: the peer will send no more; we can still send"

    // MARK: - Data, as the Log pane shows it

    /// What a data entry shows before its preview: the byte count, a datagram's peer, a space.
    static func appendDataHead(_ entry: LogEntry, to out: inout [UInt8]) {
        ByteCount.append(entry.count, to: &out)
        if case .datagram(let peer, _) = entry.record {
            out += (entry.kind == .received ? " from " : " to ").utf8
            peer.appendText(to: &out)  // escaped where it needs to be, by the endpoint itself
        }
        out.append(0x20)
    }

    /// What a data entry shows after its preview: the cut mark when the preview is cut short.
    static func appendDataTail(_ entry: LogEntry, to out: inout [UInt8]) {
        if entry.count > entry.bytes.count { out += cutMark }
        if case .datagram(_, truncated: true) = entry.record { out += truncationNote }
    }

    static let cutMark = Array("…".utf8)
    static let truncationNote = Array((" " + DatagramText.truncation).utf8)

    // MARK: - Writing

    enum Form { case sentence, line, json }

    /// Collects one form: a sentence, bytes of a line, or JSON fields.
    struct Writer {
        let form: Form
        var out: [UInt8] = []
        var fields: [(String, JSONValue)] = []
        var sentence = ""

        mutating func add(_ text: StaticString) { text.withUTF8Buffer { out.append(contentsOf: $0) } }
        mutating func add(_ text: String) { out.append(contentsOf: text.utf8) }
        mutating func add(_ number: Int) { ASCIIText.appendDecimal(number, to: &out) }
        mutating func add(_ id: SocketID) { id.appendText(to: &out) }
        /// Text from outside: paths, names, reasons.
        mutating func addSafe(_ text: String) { DisplayText.appendEscaped(string: text, to: &out) }
        /// A socket's address, written (escaped where it needs to be) by the endpoint itself.
        mutating func add(_ endpoint: SocketEndpoint) { endpoint.appendText(to: &out) }
    }
}

extension EventText {
    /// An event as an entry that has not been logged (its protocol unknown): for tests and tools.
    public static func entry(_ event: EngineEvent) -> LogEntry {
        LogEntry(event, transport: nil) ?? LogEntry(observation: event, transport: nil)
    }
}

/// SO_PEERCRED as one phrase, shared by the log and the Connections row.
public enum PeerCredentialsText {
    public static func text(pid: Int32, uid: UInt32, gid: UInt32) -> String { "pid \(pid), uid \(uid), gid \(gid)" }
}

/// What each direction of `shutdown` means to both ends.
public enum ShutdownText {
    public static func explanation(_ direction: ShutdownDirection) -> String {
        switch direction {
        case .write: "FIN sent: the peer reads EOF; we can still receive (half-close)"
        case .read: "we read no more; data that still arrives is discarded; the peer notices nothing"
        case .both: "FIN sent and reading stopped: the peer reads EOF"
        }
    }
}

/// The `tls` event in every form, and the Detail pane's lines for a TLS connection.
public enum TLSEventText {
    static func describe(_ report: TLSReport, _ w: inout EventText.Writer) {
        switch w.form {
        case .sentence:
            var text = "TLS handshake done (\(report.role.rawValue)): \(report.version), \(report.cipherSuite ?? "cipher unknown"), "
                + "ALPN \(report.alpnChosen ?? "none"), SNI \(report.serverName ?? "none"), \(verificationText(report.verification))"
                + ", \(report.handshakeTimeText)"
            if let leaf = report.chain.first {
                text += "; peer \(leaf.subject), expires \(TimeText.date(leaf.notAfter)) (\(leaf.daysLeft) days), SHA-256 \(leaf.sha256Fingerprint)"
            }
            w.sentence = text
        case .line:
            w.add("tls role="); w.add(report.role.rawValue); w.add(" version="); w.add(report.version)
            w.add(" cipher="); w.addSafe(report.cipherSuite ?? "unknown")
            w.add(" alpn="); w.addSafe(report.alpnChosen ?? "none")
            w.add(" alpn_offered="); w.addSafe(report.alpnOffered.isEmpty ? "none" : report.alpnOffered.joined(separator: ","))
            w.add(" sni="); w.addSafe(report.serverName ?? "none")
            w.add(" resumed="); w.add(report.resumed.map { $0 ? "yes" : "no" } ?? "unknown")
            w.add(" handshake_us="); w.add(report.handshakeMicroseconds)
            w.add(" wire_in="); w.add(report.handshakeBytesIn); w.add(" wire_out="); w.add(report.handshakeBytesOut)
            w.add(" verify=\""); w.addSafe(verificationText(report.verification)); w.add("\"")
            for (index, certificate) in report.chain.enumerated() {
                w.add(" cert"); w.add(index); w.add("=[subject=\""); w.addSafe(certificate.subject)
                w.add("\" issuer=\""); w.addSafe(certificate.issuer)
                w.add("\" san=\""); w.addSafe(certificate.subjectAlternativeNames.joined(separator: ", "))
                w.add("\" not_before="); w.add(TimeText.seconds(certificate.notBefore))
                w.add(" not_after="); w.add(TimeText.seconds(certificate.notAfter))
                w.add(" days_left="); w.add(certificate.daysLeft)
                w.add(" key=\""); w.add(certificate.keyType); w.add(" "); w.add(certificate.keyBits); w.add(" bits\"")
                w.add(" sig="); w.add(certificate.signatureAlgorithm)
                w.add(" sha256="); w.add(certificate.sha256Fingerprint); w.add("]")
            }
        case .json:
            w.fields += [("role", .string(report.role.rawValue)), ("version", .string(report.version))]
            if let cipher = report.cipherSuite { w.fields.append(("cipher", .string(cipher))) }
            w.fields.append(("alpn_offered", .array(report.alpnOffered.map { .string($0) })))
            if let chosen = report.alpnChosen { w.fields.append(("alpn", .string(chosen))) }
            if let name = report.serverName { w.fields.append(("sni", .string(name))) }
            if let resumed = report.resumed { w.fields.append(("resumed", .bool(resumed))) }
            w.fields += [("handshake_us", .int(report.handshakeMicroseconds)),
                         ("handshake_bytes_in", .int(report.handshakeBytesIn)),
                         ("handshake_bytes_out", .int(report.handshakeBytesOut)),
                         ("verification", .string(verificationWord(report.verification)))]
            switch report.verification {
            case .ignored(let reason), .unchecked(let reason): w.fields.append(("verify_reason", .string(reason)))
            case .verified, .notRequested: break
            }
            w.fields.append(("chain", .array(report.chain.map(certificateJSON))))
        }
    }

    static func describeListenerCertificate(_ certificate: CertificateSummary, selfSigned: Bool, savedTo: String?,
                                            _ w: inout EventText.Writer) {
        let origin = selfSigned ? "self-signed, made in memory" : "from --cert"
        switch w.form {
        case .sentence:
            w.sentence = "TLS certificate (\(origin)): \(certificate.subject), SAN \(certificate.subjectAlternativeNames.joined(separator: ", ")),"
                + " until \(TimeText.date(certificate.notAfter)), SHA-256 \(certificate.sha256Fingerprint)"
                + (savedTo.map { "; saved to \($0) (curl --cacert \($0))" } ?? "")
        case .line:
            w.add("tls-certificate self_signed="); w.add(selfSigned ? "yes" : "no")
            w.add(" subject=\""); w.addSafe(certificate.subject)
            w.add("\" san=\""); w.addSafe(certificate.subjectAlternativeNames.joined(separator: ", "))
            w.add("\" not_after="); w.add(TimeText.seconds(certificate.notAfter))
            w.add(" sha256="); w.add(certificate.sha256Fingerprint)
            if let savedTo { w.add(" saved="); w.addSafe(savedTo) }
        case .json:
            w.fields += [("self_signed", .bool(selfSigned)), ("certificate", certificateJSON(certificate))]
            if let savedTo { w.fields.append(("saved_to", .string(savedTo))) }
        }
    }

    static func certificateJSON(_ certificate: CertificateSummary) -> JSONValue {
        .object([("subject", .string(certificate.subject)), ("issuer", .string(certificate.issuer)),
                 ("san", .array(certificate.subjectAlternativeNames.map { .string($0) })),
                 ("not_before", .string(TimeText.seconds(certificate.notBefore))),
                 ("not_after", .string(TimeText.seconds(certificate.notAfter))),
                 ("days_left", .int(certificate.daysLeft)), ("key_type", .string(certificate.keyType)),
                 ("key_bits", .int(certificate.keyBits)),
                 ("signature_algorithm", .string(certificate.signatureAlgorithm)),
                 ("sha256", .string(certificate.sha256Fingerprint))])
    }

    /// `verified`, `ignored`, `not-requested`, `unchecked`: the JSON word.
    static func verificationWord(_ verification: TLSVerification) -> String {
        switch verification {
        case .verified: "verified"
        case .ignored: "ignored"
        case .notRequested: "not-requested"
        case .unchecked: "unchecked"
        }
    }

    static func verificationText(_ verification: TLSVerification) -> String {
        switch verification {
        case .verified: "certificate verified"
        case .ignored(let reason): "certificate NOT verified (\(reason)), going on because of --insecure"
        case .notRequested: "no client certificate asked for"
        case .unchecked(let reason): "client certificate shown, NOT checked (\(reason))"
        }
    }

    /// The Detail pane's lines for a TLS connection, outside text escaped.
    public static func detailLines(_ report: TLSReport) -> [String] {
        let safe = { (text: String) in DisplayText.escape(string: text) }
        let cipher = report.cipherSuite.map(safe) ?? "cipher unknown"
        let chosen = report.alpnChosen.map(safe) ?? "none"
        let offered = report.alpnOffered.isEmpty ? "none" : report.alpnOffered.map(safe).joined(separator: ", ")
        let serverName = report.serverName.map(safe) ?? "none"
        let session: String = switch report.resumed {
        case true?: "resumed"
        case false?: "new"
        case nil: "unknown"
        }
        var lines: [String] = []
        lines.append("TLS \(report.version) (\(report.role.rawValue)), \(cipher), handshake \(report.handshakeTimeText)")
        lines.append("ALPN: \(chosen) (offered: \(offered))")
        lines.append("SNI: \(serverName), session: \(session)")
        lines.append(safe(verificationText(report.verification)))
        lines.append("handshake on the wire: \(report.handshakeBytesIn) B in, \(report.handshakeBytesOut) B out")
        for (index, certificate) in report.chain.enumerated() {
            lines.append("cert \(index): \(safe(certificate.subject))")
            lines.append("  issuer: \(safe(certificate.issuer))")
            if !certificate.subjectAlternativeNames.isEmpty {
                lines.append("  SAN: " + certificate.subjectAlternativeNames.map(safe).joined(separator: ", "))
            }
            lines.append("  valid \(TimeText.seconds(certificate.notBefore)) to \(TimeText.seconds(certificate.notAfter))"
                         + " (\(certificate.daysLeft) days left)")
            lines.append("  key \(certificate.keyType) \(certificate.keyBits) bits, signed \(certificate.signatureAlgorithm)")
            lines.append("  SHA-256 \(certificate.sha256Fingerprint)")
        }
        return lines
    }
}
