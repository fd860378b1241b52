/// The whole log as a file: one line per entry (text or JSON Lines), then a
/// summary with every connection's exact byte totals and how many entries the
/// bounded log had to drop, so every byte is accounted for.
public enum LogExport {
    public static func render(_ state: AppState, format: LogFormat) -> String {
        var out = ""
        let log = state.log
        for index in 0..<log.count {
            let entry = log[index]
            switch format {
            case .text:
                out += "\(TimeText.iso8601(entry.time)) \(entry.socket?.description ?? "-") \(LogText.marker(entry.kind)) \(LogText.body(entry))\n"
            case .json:
                var fields: [(String, JSONValue)] = [("ts", .string(TimeText.iso8601(entry.time)))]
                if let id = entry.socket { fields.append(("id", .string(id.description))) }
                fields.append(("kind", .string(entry.kind.rawValue)))
                switch entry.kind {
                case .received, .sent:
                    fields += [("bytes", .int(entry.count)), ("text", .string(DisplayText.escape(entry.bytes))),
                               ("truncated", .bool(entry.count > entry.bytes.count))]
                case .info, .error, .command:
                    fields.append(("message", .string(entry.text)))
                }
                out += JSONValue.object(fields).encoded + "\n"
            }
        }
        for row in state.connections {
            switch format {
            case .text:
                out += "# total \(row.id) \(row.remoteText) received \(row.bytesIn) B in \(row.messagesIn) reads, sent \(row.bytesOut) B in \(row.messagesOut) writes\n"
            case .json:
                out += JSONValue.object([("kind", .string("total")), ("id", .string(row.id.description)),
                                         ("remote", .string(row.remoteText)),
                                         ("bytes_received", .int(row.bytesIn)), ("bytes_sent", .int(row.bytesOut)),
                                         ("reads", .int(row.messagesIn)), ("writes", .int(row.messagesOut))]).encoded + "\n"
            }
        }
        switch format {
        case .text: out += "# entries kept \(log.count), dropped \(log.droppedEntries) (the log keeps at most \(log.entries.capacity))\n"
        case .json:
            out += JSONValue.object([("kind", .string("summary")), ("entries", .int(log.count)),
                                     ("dropped", .int(log.droppedEntries))]).encoded + "\n"
        }
        return out
    }
}
