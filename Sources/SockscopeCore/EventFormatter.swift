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
        let id = event.kind.socket.map(\.description) ?? "-"
        let head = "\(TimeText.iso8601(event.time)) \(id) "
        switch event.kind {
        case .listening(_, let transport, let local, let mode, let backlog):
            let exposure = AddressText.isAllInterfaces(address: local) ? " ALL-INTERFACES" : ""
            return head + "listening \(transport.label) \(safe(local))\(exposure) mode=\(mode) backlog=\(backlog)"
        case .accepted(_, let listener, let local, let remote):
            return head + "accepted remote=\(safe(remote)) local=\(safe(local)) listener=\(listener)"
        case .connecting(_, let remote):
            return head + "connecting remote=\(safe(remote))"
        case .connected(_, let local, let remote):
            return head + "connected local=\(safe(local)) remote=\(safe(remote))"
        case .received(_, let bytes, let count):
            return head + "received \(count) B \"\(DisplayText.escape(bytes))\"\(count > bytes.count ? "..." : "")"
        case .sent(_, let bytes, let count):
            return head + "sent \(count) B \"\(DisplayText.escape(bytes))\"\(count > bytes.count ? "..." : "")"
        case .peerClosed:
            return head + "peer-closed (EOF: the peer will send no more; we can still send)"
        case .shutDown(_, let direction):
            return head + "shutdown \(direction.rawValue) (\(ShutdownText.explanation(direction)))"
        case .receivedFrom(_, let from, let bytes, let count):
            return head + "received \(count) B from \(safe(from)) \"\(DisplayText.escape(bytes))\"\(count > bytes.count ? "..." : "")"
        case .sentTo(_, let to, let bytes, let count):
            return head + "sent \(count) B to \(safe(to)) \"\(DisplayText.escape(bytes))\"\(count > bytes.count ? "..." : "")"
        case .attempt(_, let address):
            return head + "attempt \(safe(address))"
        case .optionValue(_, let option, let value):
            return head + "option \(option.rawValue)=\(value) (what the kernel holds)"
        case .resolved(let host, let addresses):
            return head + "resolved \(safe(host)): " + (addresses.isEmpty ? "no addresses"
                : addresses.map { "\($0.family) \($0.type) \(safe($0.address))" }.joined(separator: ", "))
        case .peerCredentials(_, let pid, let uid, let gid):
            return head + "peer-credentials pid=\(pid) uid=\(uid) gid=\(gid)"
        case .refused(_, let remote, let reason):
            return head + "refused remote=\(safe(remote)) (\(safe(reason)))"
        case .closed(_, let reason):
            return head + "closed (\(safe(reason)))"
        case .error(_, let failure):
            var line = head + "error \(failure.call)"
            if let target = failure.target { line += " \(safe(target))" }
            if let code = failure.code { line += " \(code)" }
            return line + ": \(safe(failure.explanation))"
        case .lab(let labEvent):
            return LabEventText.text(labEvent).map { head + $0 }
        case .requestCompleted:
            return nil
        }
    }

    /// A JSON object on one line, or nil for bookkeeping events.
    public static func json(_ event: EngineEvent) -> String? {
        var fields: [(String, JSONValue)] = [("ts", .string(TimeText.iso8601(event.time)))]
        if let id = event.kind.socket { fields.append(("id", .string(id.description))) }
        fields.append(("event", .string(name(of: event.kind))))
        switch event.kind {
        case .listening(_, let transport, let local, let mode, let backlog):
            fields += [("proto", .string(transport.label)), ("local", .string(local)),
                       ("mode", .string(mode.description)), ("backlog", .int(backlog))]
        case .accepted(_, let listener, let local, let remote):
            fields += [("listener", .string(listener.description)), ("local", .string(local)),
                       ("remote", .string(remote))]
        case .connecting(_, let remote):
            fields += [("remote", .string(remote))]
        case .connected(_, let local, let remote):
            fields += [("local", .string(local)), ("remote", .string(remote))]
        case .received(_, let bytes, let count), .sent(_, let bytes, let count):
            fields += [("bytes", .int(count)), ("text", .string(DisplayText.escape(bytes))),
                       ("truncated", .bool(count > bytes.count))]
        case .peerClosed:
            break
        case .shutDown(_, let direction):
            fields.append(("direction", .string(direction.rawValue)))
        case .receivedFrom(_, let peer, let bytes, let count), .sentTo(_, let peer, let bytes, let count):
            let isReceived = if case .receivedFrom = event.kind { true } else { false }
            fields += [(isReceived ? "from" : "to", .string(peer)), ("bytes", .int(count)),
                       ("text", .string(DisplayText.escape(bytes))), ("truncated", .bool(count > bytes.count))]
        case .attempt(_, let address):
            fields.append(("address", .string(address)))
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
            fields += [("remote", .string(remote)), ("reason", .string(reason))]
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
