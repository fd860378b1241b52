/// Headless text and JSON for the lab's events. Strings from the system (paths,
/// process names) go through `DisplayText` in text; JSON escapes everything non-ASCII.
public enum LabEventText {
    public static func name(of event: LabEvent) -> String {
        switch event {
        case .call: "call"
        case .kernel: "kernel"
        case .system: "system"
        case .portRange: "ephemeral-ports"
        case .experiment: "lab"
        }
    }

    /// The headless line after the time and socket id (kernel samples are printed only when notable).
    static func text(_ event: LabEvent) -> String {
        switch event {
        case .call(let id, let record):
            return "call " + StepGuide.line(id, record)
        case .kernel(_, let sample):
            return "kernel " + KernelText.fields(sample).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .system(let sockets):
            let listening = sockets.filter(\.isListener).count
            let ours = sockets.filter(\.isOurs).count
            return "system \(sockets.count) sockets, \(listening) listening, \(ours) ours"
        case .portRange(let low, let high):
            return "ephemeral-ports \(low)-\(high) (the kernel picks client ports from this range)"
        case .experiment(let finding):
            let facts = finding.facts.isEmpty ? "" : " [" + finding.facts.map(\.text).joined(separator: " ") + "]"
            // Our own words; bytes in them are already quoted (`CommandText.quoted`), so safe on a terminal.
            return "lab \(finding.experiment.rawValue) \(finding.step): \(finding.sentence)\(facts)"
        }
    }

    /// What the Log pane says: a step call is its step line; the rest as headless says it.
    static func sentence(_ event: LabEvent) -> String {
        if case .call(let id, let record) = event { return StepGuide.line(id, record) }
        return String(text(event).drop { $0 != " " }.dropFirst())
    }

    /// Whether headless output prints the event (kernel samples only when something notable changed).
    public static func isPrinted(_ event: LabEvent) -> Bool {
        if case .kernel(_, let sample) = event { return sample.isNotable }
        return true
    }

    public static func jsonFields(_ event: LabEvent) -> [(String, JSONValue)] {
        switch event {
        case .call(let id, let record):
            var fields: [(String, JSONValue)] = [
                ("call", .string(record.call)), ("args", .array(record.arguments.map { .string($0) })),
                ("result", .int(record.result)), ("phase", .string(record.phase.rawValue)),
                ("text", .string(record.text)), ("explanation", .string(StepGuide.explanation(record))),
                ("next", .array(StepGuide.nextCalls(id, phase: record.phase, transport: record.transport).map { .string($0) })),
            ]
            if let name = record.errnoName { fields.append(("errno", .string(name))) }
            if let state = record.kernelState { fields.append(("tcp_state", .string(state.name))) }
            if let local = record.local { fields.append(("local", .string(local.description))) }
            if let remote = record.remote { fields.append(("remote", .string(remote.description))) }
            if let message = record.icmp { fields.append(("icmp", icmpJSON(message))) }
            return fields
        case .kernel(_, let sample):
            return KernelText.fields(sample).map { ($0.key, $0.number.map(JSONValue.int) ?? .string($0.value)) }
        case .system(let sockets):
            return [("sockets", .array(sockets.map { socket in
                var fields: [(String, JSONValue)] = [
                    ("proto", .string(socket.proto)), ("state", .string(socket.state)),
                    ("recv_q", .int(socket.receiveQueue)), ("send_q", .int(socket.sendQueue)),
                    ("local", .string(socket.local.description)), ("remote", .string(socket.remoteText)),
                    ("inode", .int(Int(truncatingIfNeeded: socket.inode))), ("ours", .bool(socket.isOurs)),
                ]
                if let process = socket.process { fields.append(("process", .string(process))) }
                return .object(fields)
            }))]
        case .portRange(let low, let high):
            return [("low", .int(low)), ("high", .int(high))]
        case .experiment(let finding):
            return [("lab", .string(finding.experiment.rawValue)), ("step", .string(finding.step)),
                    ("kind", .string(finding.kind.rawValue)), ("text", .string(finding.text)), ("why", .string(finding.why)),
                    ("facts", .object(finding.facts.map { fact in
                        switch fact.value {
                        case .int(let number): (fact.name, .int(number))
                        case .text(let text): (fact.name, .string(text))
                        case .bool(let flag): (fact.name, .bool(flag))
                        }
                    }))]
        }
    }
}

extension LabEventText {
    /// An ICMP message's fields; the data as (escaped) text and its exact length.
    static func icmpJSON(_ message: ICMPMessage) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("type", .int(message.type)), ("code", .int(message.code)), ("name", .string(message.typeName)),
            ("checksum", .int(message.checksum)), ("id", .int(message.identifier)), ("seq", .int(message.sequence)),
            ("data", .string(DisplayText.escape(message.payload))), ("data_bytes", .int(message.payloadCount)),
        ]
        if let header = message.ipHeader {
            fields.append(("ip", .object([
                ("header_bytes", .int(header.headerBytes)), ("total_bytes", .int(header.totalLength)), ("ttl", .int(header.ttl)),
                ("protocol", .int(header.protocolNumber)), ("src", .string(header.source)), ("dst", .string(header.destination)),
            ])))
        }
        return .object(fields)
    }
}

/// A kernel sample as labelled fields, shared by headless output and the Detail pane.
public enum KernelText {
    public struct Field: Hashable, Sendable {
        public var key: String
        public var value: String
        /// The plain number, for JSON.
        public var number: Int?
    }

    public static func fields(_ sample: KernelSample) -> [Field] {
        var fields: [Field] = []
        func add(_ key: String, _ value: Int?, _ text: ((Int) -> String)? = nil) {
            if let value { fields.append(Field(key: key, value: text?(value) ?? String(value), number: value)) }
        }
        if sample.gone { return [Field(key: "state", value: "gone", number: nil)] }
        if let state = sample.state { fields.append(Field(key: "state", value: state.name, number: nil)) }
        if sample.lingering { fields.append(Field(key: "ours", value: "closed", number: nil)) }
        if let seconds = sample.timerSeconds {
            fields.append(Field(key: "timer", value: seconds.formatted(decimals: 1) + "s", number: Int(seconds)))
        }
        add("queue", sample.acceptQueue)
        add("backlog", sample.backlog)
        add("ListenOverflows", sample.listenOverflows)
        add("ListenDrops", sample.listenDrops)
        add("ListenOverflowsSinceOpen", sample.listenOverflowsSinceOpen)
        add("ListenDropsSinceOpen", sample.listenDropsSinceOpen)
        add("rtt_us", sample.rttMicroseconds)
        add("rttvar_us", sample.rttVarianceMicroseconds)
        add("cwnd", sample.congestionWindow)
        add("retrans", sample.retransmits)
        add("unacked", sample.unackedSegments)
        add("send_q", sample.sendQueue)
        add("recv_q", sample.receiveQueue)
        add("bytes_acked", sample.bytesAcked)
        add("bytes_received", sample.bytesReceived)
        return fields
    }

    /// `0.123 ms` from microseconds.
    public static func milliseconds(_ microseconds: Int) -> String {
        (Double(microseconds) / 1000).formatted(decimals: 3) + " ms"
    }
}

extension Double {
    /// Fixed decimals without Foundation.
    func formatted(decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((self * scale).rounded())
        let whole = scaled / Int(scale)
        var fraction = String(abs(scaled) % Int(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        let sign = self < 0 && whole == 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
