/// One line per engine event for headless output: readable text or JSON Lines.
/// Every string from outside (data, addresses, reasons) goes through `DisplayText`.
public enum EventFormatter {
    /// The event's name in JSON output and text lines.
    public static func name(of kind: EngineEventKind) -> String {
        switch kind {
        case .listening: "listening"
        case .accepted: "accepted"
        case .connecting: "connecting"
        case .connected: "connected"
        case .received: "received"
        case .sent: "sent"
        case .peerClosed: "peer-closed"
        case .shutDown: "shutdown"
        case .receivedFrom: "received"
        case .sentTo: "sent"
        case .attempt: "attempt"
        case .optionValue: "option"
        case .resolved: "resolved"
        case .peerCredentials: "peer-credentials"
        case .refused: "refused"
        case .closed: "closed"
        case .error: "error"
        case .lab(let event): LabEventText.name(of: event)
        case .requestCompleted: "completed"
        }
    }

    /// A human-readable line, or nil for bookkeeping events that say nothing to a person.
    public static func text(_ event: EngineEvent) -> String? {
        var line: [UInt8] = []
        guard appendText(event, to: &line) else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    /// `text(event)` appended to `out` as UTF-8, without a newline; false, with nothing
    /// appended, for bookkeeping events. Written as bytes, straight into headless output:
    /// through String interpolation a line cost ~12 000 instructions, the main thread's
    /// largest cost per accepted connection.
    public static func appendText(_ event: EngineEvent, to out: inout [UInt8]) -> Bool {
        var labText: String?
        switch event.kind {
        case .requestCompleted:
            return false
        case .lab(let labEvent):
            guard let text = LabEventText.text(labEvent) else { return false }
            labText = text
        default:
            break
        }
        func add(_ text: StaticString) { text.withUTF8Buffer { out.append(contentsOf: $0) } }
        func add(_ text: String) { out.append(contentsOf: text.utf8) }
        func add(_ number: Int) { ASCIIText.appendDecimal(number, to: &out) }
        func add(_ id: SocketID) { id.appendText(to: &out) }
        /// Text from outside: paths, names, reasons.
        func addSafe(_ text: String) { DisplayText.appendEscaped(string: text, to: &out) }
        /// A socket's address, written (escaped where it needs to be) by the endpoint itself.
        func add(_ endpoint: SocketEndpoint) { endpoint.appendText(to: &out) }
        /// `"preview"`, with `...` when the preview is shorter than the count.
        func addPreview(_ bytes: [UInt8], count: Int) {
            add("\"")
            // Whole payloads (`PayloadCredit`) print the same preview as any other.
            let preview = bytes.prefix(DataPreview.limit)
            DataEscaping.append(preview, to: &out)
            add(count > preview.count ? "\"..." : "\"")
        }
        func addData(_ bytes: [UInt8], count: Int) {
            add(count); add(" B "); addPreview(bytes, count: count)
        }

        TimeText.appendISO8601(event.time, to: &out)
        add(" ")
        if let id = event.kind.socket { add(id) } else { add("-") }
        add(" ")
        switch event.kind {
        case .listening(_, let transport, let local, let mode, let backlog):
            add("listening "); add(transport.label); add(" "); add(local)
            if local.isWildcard { add(" ALL-INTERFACES") }
            add(" mode="); add(mode.description); add(" backlog="); add(backlog)
        case .accepted(_, let listener, let local, let remote):
            add("accepted remote="); add(remote); add(" local="); add(local); add(" listener="); add(listener)
        case .connecting(_, let remote):
            add("connecting remote="); addSafe(remote)
        case .connected(_, let local, let remote):
            add("connected local="); add(local); add(" remote="); add(remote)
        case .received(_, let bytes, let count):
            add("received "); addData(bytes, count: count)
        case .sent(_, let bytes, let count):
            add("sent "); addData(bytes, count: count)
        case .peerClosed:
            add("peer-closed (EOF: the peer will send no more; we can still send)")
        case .shutDown(_, let direction):
            add("shutdown "); add(direction.rawValue); add(" ("); add(ShutdownText.explanation(direction)); add(")")
        case .receivedFrom(_, let from, let bytes, let count):
            add("received "); add(count); add(" B from "); add(from); add(" "); addPreview(bytes, count: count)
        case .sentTo(_, let to, let bytes, let count):
            add("sent "); add(count); add(" B to "); add(to); add(" "); addPreview(bytes, count: count)
        case .attempt(_, let address):
            add("attempt "); add(address)
        case .optionValue(_, let option, let value):
            add("option "); add(option.rawValue); add("="); add(value); add(" (what the kernel holds)")
        case .resolved(let host, let addresses):
            add("resolved "); addSafe(host); add(": ")
            if addresses.isEmpty { add("no addresses") }
            for (index, address) in addresses.enumerated() {
                if index > 0 { add(", ") }
                add(address.family); add(" "); add(address.type); add(" "); addSafe(address.address)
            }
        case .peerCredentials(_, let pid, let uid, let gid):
            add("peer-credentials pid="); add(Int(pid)); add(" uid="); add(Int(uid)); add(" gid="); add(Int(gid))
        case .refused(_, let remote, let reason):
            add("refused remote="); add(remote); add(" ("); addSafe(reason); add(")")
        case .closed(_, let reason):
            add("closed ("); addSafe(reason); add(")")
        case .error(_, let failure):
            add("error "); add(failure.call)
            if let target = failure.target { add(" "); addSafe(target) }
            if let code = failure.code { add(" "); add(code) }
            add(": "); addSafe(failure.explanation)
        case .lab:
            add(labText ?? "")
        case .requestCompleted:
            break
        }
        return true
    }

    /// A JSON object on one line, or nil for bookkeeping events.
    /// With `payload` `.base64`, a data event that holds its whole payload (every one while
    /// the engine runs with a `PayloadCredit`, except an echo listener's echoes, which are the
    /// bytes it received) also carries it exactly: `"payload"`, base64, with no size cap.
    public static func json(_ event: EngineEvent, payload: PayloadEncoding = .none) -> String? {
        var fields: [(String, JSONValue)] = [("ts", .string(TimeText.iso8601(event.time)))]
        if let id = event.kind.socket { fields.append(("id", .string(id.description))) }
        fields.append(("event", .string(name(of: event.kind))))
        switch event.kind {
        case .listening(_, let transport, let local, let mode, let backlog):
            fields += [("proto", .string(transport.label)), ("local", .string(local.description)),
                       ("mode", .string(mode.description)), ("backlog", .int(backlog))]
        case .accepted(_, let listener, let local, let remote):
            fields += [("listener", .string(listener.description)), ("local", .string(local.description)),
                       ("remote", .string(remote.description))]
        case .connecting(_, let remote):
            fields += [("remote", .string(remote))]
        case .connected(_, let local, let remote):
            fields += [("local", .string(local.description)), ("remote", .string(remote.description))]
        case .received(_, let bytes, let count), .sent(_, let bytes, let count):
            let preview = Array(bytes.prefix(DataPreview.limit))
            fields += [("bytes", .int(count)), ("text", .string(DisplayText.escape(preview))),
                       ("truncated", .bool(count > preview.count))]
            if payload == .base64, bytes.count == count { fields.append(("payload", .string(Base64.encode(bytes)))) }
        case .peerClosed:
            break
        case .shutDown(_, let direction):
            fields.append(("direction", .string(direction.rawValue)))
        case .receivedFrom(_, let peer, let bytes, let count), .sentTo(_, let peer, let bytes, let count):
            let isReceived = if case .receivedFrom = event.kind { true } else { false }
            fields += [(isReceived ? "from" : "to", .string(peer.description)), ("bytes", .int(count)),
                       ("text", .string(DisplayText.escape(Array(bytes.prefix(DataPreview.limit))))),
                       ("truncated", .bool(count > min(bytes.count, DataPreview.limit)))]
            if payload == .base64, bytes.count == count { fields.append(("payload", .string(Base64.encode(bytes)))) }
        case .attempt(_, let address):
            fields.append(("address", .string(address.description)))
        case .optionValue(_, let option, let value):
            fields += [("option", .string(option.rawValue)), ("value", .int(value))]
        case .resolved(let host, let addresses):
            fields += [("host", .string(host)),
                       ("addresses", .array(addresses.map {
                           .object([("family", .string($0.family)), ("type", .string($0.type)), ("address", .string($0.address))])
                       }))]
        case .peerCredentials(_, let pid, let uid, let gid):
            fields += [("pid", .int(Int(pid))), ("uid", .int(Int(uid))), ("gid", .int(Int(gid)))]
        case .refused(_, let remote, let reason):
            fields += [("remote", .string(remote.description)), ("reason", .string(reason))]
        case .closed(_, let reason):
            fields += [("reason", .string(reason))]
        case .error(_, let failure):
            fields.append(("call", .string(failure.call)))
            if let code = failure.code { fields.append(("errno", .string(code))) }
            if let number = failure.errno { fields.append(("errno_value", .int(Int(number)))) }
            if let target = failure.target { fields.append(("target", .string(target))) }
            fields.append(("message", .string(failure.explanation)))
        case .lab(let labEvent):
            guard LabEventText.isPrinted(labEvent) else { return nil }
            fields += LabEventText.jsonFields(labEvent)
        case .requestCompleted:
            return nil
        }
        return JSONValue.object(fields).encoded
    }

    /// A notice (help text, command errors) as a headless line.
    public static func notice(_ kind: LogKind, _ text: String, time: Timestamp, json: Bool) -> String {
        if json {
            return JSONValue.object([("ts", .string(TimeText.iso8601(time))),
                                     ("event", .string(kind == .error ? "error" : "info")),
                                     ("message", .string(text))]).encoded
        }
        return "\(TimeText.iso8601(time)) - \(kind == .error ? "error" : "info") \(safe(text))"
    }

    private static func safe(_ text: String) -> String { DisplayText.escape(string: text) }
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

/// The little JSON the output formats need, written without Foundation.
public indirect enum JSONValue: Hashable, Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.encoded == rhs.encoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }

    public var encoded: String {
        switch self {
        case .string(let text): return JSONValue.quote(text)
        case .int(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .array(let values): return "[" + values.map(\.encoded).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.map { "\(JSONValue.quote($0.0)):\($0.1.encoded)" }.joined(separator: ",") + "}"
        }
    }

    /// JSON string quoting: control characters and non-ASCII escaped, so the line
    /// is plain ASCII and safe to print to a terminal too.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}
