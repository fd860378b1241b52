/// How a log entry reads, shared by the Log pane and saved text logs.
public enum LogText {
    /// A one-character marker for the entry's direction or kind.
    public static func marker(_ kind: LogKind) -> String {
        switch kind {
        case .received: "←"
        case .sent: "→"
        case .info: "·"
        case .error: "!"
        case .command: ">"
        }
    }

    /// The entry's body with every untrusted byte escaped.
    public static func body(_ entry: LogEntry) -> String {
        switch entry.kind {
        case .received, .sent:
            let more = entry.count > entry.bytes.count ? "…" : ""
            // Datagrams name their peer.
            let peer = entry.text.isEmpty ? "" : (entry.kind == .received ? " from " : " to ") + DisplayText.escape(string: entry.text)
            return "\(ByteCount.text(entry.count))\(peer) \(DisplayText.escape(entry.bytes))\(more)"
        case .info, .error, .command:
            return DisplayText.escape(string: entry.text, backslashes: false)
        }
    }

    /// `17:50:03.123 C2 ← 5 B hello\n`
    public static func line(_ entry: LogEntry) -> String {
        let id = entry.socket?.description ?? "-"
        return "\(TimeText.clock(entry.time)) \(id.padding(3)) \(marker(entry.kind)) \(body(entry))"
    }
}

/// Human-readable byte counts: exact below 10 KiB so small exchanges can be checked by eye.
public enum ByteCount {
    public static func text(_ bytes: Int) -> String {
        if bytes < 10_240 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}

extension String {
    /// Pads on the right with spaces to at least `width` characters.
    public func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
