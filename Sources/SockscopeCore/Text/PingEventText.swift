/// `ping`'s events in every form (`EventText` hands them here), side by side per event,
/// worded as ping(8) words them where it can.
enum PingEventText {
    static func name(of event: PingEvent) -> String {
        switch event {
        case .started: "ping-start"
        case .reply: "ping-reply"
        case .lost: "ping-lost"
        case .finished: "ping-done"
        }
    }

    static func describe(_ event: PingEvent, _ w: inout EventText.Writer) {
        switch event {
        case .started(let start):
            let named = start.host == start.address.hostText ? "" : " (\(DisplayText.escape(string: start.host)))"
            let text = "\(start.address.hostText)\(named): \(start.count) echo request\(start.count == 1 ? "" : "s") of \(start.payloadBytes) B, one every"
                + " \(start.intervalMilliseconds) ms, replies awaited \(start.timeoutMilliseconds) ms, with \(start.method.words)"
            switch w.form {
            case .sentence: w.sentence = "pinging " + text
            case .line: w.add("ping-start "); w.add(text)
            case .json:
                w.fields += [("host", .string(start.host)), ("address", .string(start.address.hostText)),
                             ("method", .string(start.method.rawValue)), ("count", .int(start.count)),
                             ("interval_ms", .int(start.intervalMilliseconds)), ("timeout_ms", .int(start.timeoutMilliseconds)),
                             ("payload_bytes", .int(start.payloadBytes))]
            }
        case .reply(let reply):
            let text = "\(reply.bytes) B from \(reply.from.hostText): icmp_seq=\(reply.sequence)"
                + (reply.ttl.map { " ttl=\($0)" } ?? "") + " time=\(KernelText.milliseconds(reply.rttMicroseconds))"
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("ping-reply "); w.add(text)
            case .json:
                w.fields += [("seq", .int(reply.sequence)), ("from", .string(reply.from.hostText)), ("bytes", .int(reply.bytes)),
                             ("rtt_us", .int(reply.rttMicroseconds))]
                if let ttl = reply.ttl { w.fields.append(("ttl", .int(ttl))) }
            }
        case .lost(let sequence, let waited):
            let text = "icmp_seq=\(sequence): no reply within \(waited) ms"
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("ping-lost "); w.add(text)
            case .json: w.fields += [("seq", .int(sequence)), ("waited_ms", .int(waited))]
            }
        case .finished(let summary):
            let times = summary.minimumMicroseconds.map { minimum in
                "; rtt min/avg/max " + [minimum, summary.averageMicroseconds ?? minimum, summary.maximumMicroseconds ?? minimum]
                    .map { (Double($0) / 1000).formatted(decimals: 3) }.joined(separator: "/") + " ms"
            } ?? ""
            let text = "\(summary.address.hostText): \(summary.sent) sent, \(summary.received) received, "
                + "\(summary.lossPercent)% lost\(times)" + (summary.stopped ? " (stopped)" : "")
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("ping-done "); w.add(text)
            case .json:
                w.fields += [("address", .string(summary.address.hostText)), ("sent", .int(summary.sent)),
                             ("received", .int(summary.received)), ("loss_percent", .int(summary.lossPercent))]
                if let minimum = summary.minimumMicroseconds { w.fields.append(("rtt_min_us", .int(minimum))) }
                if let average = summary.averageMicroseconds { w.fields.append(("rtt_avg_us", .int(average))) }
                if let maximum = summary.maximumMicroseconds { w.fields.append(("rtt_max_us", .int(maximum))) }
                w.fields += [("elapsed_us", .int(summary.elapsedMicroseconds)), ("stopped", .bool(summary.stopped))]
            }
        }
    }
}
