/// The scanner's events in every form (`EventText` hands them here): the Log pane's
/// sentence, the headless line and the JSON fields, side by side per event. A banner is
/// data from the network: escaped in every form.
enum ScanEventText {
    static func name(of event: ScanEvent) -> String {
        switch event {
        case .started: "scan-start"
        case .open: "scan-open"
        case .notOpen: "scan-ports"
        case .banner: "scan-banner"
        case .finished: "scan-done"
        }
    }

    static func describe(_ event: ScanEvent, _ w: inout EventText.Writer) {
        switch event {
        case .started(let start):
            let text = startText(start)
            switch w.form {
            case .sentence: w.sentence = "scanning " + text
            case .line: w.add("scan-start "); w.add(text)
            case .json:
                w.fields += [("host", .string(start.host)), ("address", .string(start.addressText)),
                             ("ports", .string(start.ports.description)), ("port_count", .int(start.ports.count)),
                             ("concurrency", .int(start.concurrency)),
                             ("concurrency_reason", .string(start.concurrencyReason)),
                             ("timeout_ms", .int(start.timeoutMilliseconds))]
                if let wait = start.bannerWaitMilliseconds { w.fields.append(("banner_wait_ms", .int(wait))) }
            }
        case .open(let port, let microseconds):
            let took = "connected in \(KernelText.milliseconds(microseconds))"
            switch w.form {
            case .sentence: w.sentence = "port \(port) open (\(took))"
            case .line: w.add("scan-open "); w.add(port); w.add(" ("); w.add(took); w.add(")")
            case .json: w.fields += [("port", .int(port)), ("connect_us", .int(microseconds))]
            }
        case .notOpen(let outcome, let ranges):
            let count = ranges.reduce(0) { $0 + $1.count }
            let ports = PortList.text(ranges)
            let meaning = meaning(of: outcome)
            switch w.form {
            case .sentence:
                w.sentence = "\(count) \(outcome.state.rawValue) (\(outcome.reason)): \(ports) — \(meaning)"
            case .line:
                w.add("scan-ports "); w.add(outcome.state.rawValue); w.add(" "); w.add(outcome.reason)
                w.add(" count="); w.add(count); w.add(" ports="); w.add(ports); w.add(" ("); w.add(meaning); w.add(")")
            case .json:
                w.fields += [("state", .string(outcome.state.rawValue)), ("reason", .string(outcome.reason)),
                             ("ports", .string(ports)), ("count", .int(count))]
            }
        case .banner(let port, let banner):
            describe(banner, port: port, &w)
        case .finished(let summary):
            switch w.form {
            case .sentence: w.sentence = summaryText(summary)
            case .line: w.add("scan-done "); w.add(summaryText(summary))
            case .json:
                w.fields += [("address", .string(summary.addressText)), ("port_count", .int(summary.portCount)),
                             ("scanned", .int(summary.scanned)), ("open", .array(summary.open.map { .int($0) })),
                             ("closed", .int(summary.closed)), ("filtered", .int(summary.filtered)),
                             ("elapsed_us", .int(summary.elapsedMicroseconds)), ("max_in_flight", .int(summary.maxInFlight)),
                             ("stopped", .bool(summary.stopped))]
            }
        }
    }

    private static func describe(_ banner: ScanBanner, port: Int, _ w: inout EventText.Writer) {
        switch w.form {
        case .sentence:
            w.sentence = "port \(port) " + bannerText(banner)
        case .line:
            w.add("scan-banner "); w.add(port); w.add(" ")
            if case .said(let bytes, let count) = banner {
                w.add("said "); w.add(count); w.add(" B \""); DataEscaping.append(bytes[...], to: &w.out)
                w.add(count > bytes.count ? "\"..." : "\"")
            } else {
                w.add(bannerText(banner))
            }
        case .json:
            w.fields.append(("port", .int(port)))
            switch banner {
            case .said(let bytes, let count):
                w.fields += [("outcome", .string("said")), ("bytes", .int(count)), ("text", .string(DisplayText.escape(bytes))),
                             ("truncated", .bool(count > bytes.count))]
            case .silent(let milliseconds):
                w.fields += [("outcome", .string("silent")), ("waited_ms", .int(milliseconds))]
            case .closedWithoutWord:
                w.fields.append(("outcome", .string("closed")))
            case .failed(let errno):
                w.fields += [("outcome", .string("error")),
                             ("errno", .string(ErrnoCatalog.entry(for: errno)?.name ?? "errno \(errno)"))]
            }
        }
    }

    /// A banner in words (data escaped): what the Log pane and the scan view show.
    static func bannerText(_ banner: ScanBanner) -> String {
        switch banner {
        case .said(let bytes, let count):
            "said \(count) B: \"\(DisplayText.escape(bytes))\"" + (count > bytes.count ? "…" : "")
        case .silent(let milliseconds):
            "said nothing within \(milliseconds) ms (the client speaks first here: HTTP, redis, most databases)"
        case .closedWithoutWord:
            "closed the connection without a word"
        case .failed(let errno):
            "could not be read: " + (ErrnoCatalog.entry(for: errno).map { "\($0.name) (\($0.explanation))" } ?? "errno \(errno)")
        }
    }

    /// What a port state means, for the reader who wonders.
    static func meaning(of outcome: PortOutcome) -> String {
        switch (outcome.state, outcome.errno) {
        case (.closed, _): "the host answered the SYN with RST: nothing listens there"
        case (.filtered, nil): "no answer in time: a firewall dropping SYNs, a full accept queue, or no host"
        case (.filtered, let errno?): ErrnoCatalog.entry(for: errno)?.explanation ?? "the connect failed"
        case (.open, _): "a program listens there"
        }
    }

    private static func startText(_ start: ScanStart) -> String {
        let named = start.host == start.addressText ? "" : " (\(DisplayText.escape(string: start.host)))"
        let banners = start.bannerWaitMilliseconds.map { ", banners within \($0) ms" } ?? ""
        return "\(start.addressText)\(named): \(start.ports.count) ports (\(start.ports)), \(start.concurrency) at once"
            + " (\(start.concurrencyReason)), timeout \(start.timeoutMilliseconds) ms\(banners)"
    }

    /// At most this many open ports are listed in the text forms (JSON lists them all).
    static let openPortsListed = 50

    private static func summaryText(_ summary: ScanSummary) -> String {
        let seconds = summary.elapsedSecondsText
        var open = summary.open.prefix(openPortsListed).map(String.init).joined(separator: ",")
        if summary.open.count > openPortsListed { open += " and \(summary.open.count - openPortsListed) more" }
        let stopped = summary.stopped ? "stopped after \(summary.scanned) of \(summary.portCount) ports" : "\(summary.scanned) ports"
        return "\(summary.addressText): \(stopped) in \(seconds) s: \(summary.open.count) open"
            + (summary.open.isEmpty ? "" : " (\(open))")
            + ", \(summary.closed) closed, \(summary.filtered) filtered; at most \(summary.maxInFlight) connects at once"
    }
}

extension ScanStart {
    /// The address alone: `127.0.0.1`, `::1`.
    public var addressText: String { address.hostText }
}

extension ScanSummary {
    public var addressText: String { address.hostText }
    /// `0.612` (seconds, three decimals).
    public var elapsedSecondsText: String { (Double(elapsedMicroseconds) / 1_000_000).formatted(decimals: 3) }
}

extension SocketEndpoint {
    /// An IP endpoint's address without its port (`127.0.0.1`, `::1`); the whole text otherwise.
    public var hostText: String {
        switch self {
        case .ipv4(let address, _): address.description
        case .ipv6(let address, _): address.description
        default: description
        }
    }
}
