/// The whole log as a file: one line per entry, then a summary with every
/// connection's exact byte totals and how many entries the bounded log had to drop,
/// so every byte is accounted for. Entries are worded by `EventText`: a JSON save
/// holds, per entry, the very line `--headless --json` prints for it.
public enum LogExport {
    public static func render(_ state: AppState, format: LogFormat) -> String {
        if format == .script { return ScriptExport.render(state) }
        var out = ""
        let log = state.log
        for index in 0..<log.count {
            let entry = log[index]
            switch format {
            case .text:
                out += "\(TimeText.iso8601(entry.time)) \(entry.socket?.description ?? "-") \(LogText.marker(entry.kind)) \(LogText.body(entry))\n"
            case .json:
                if let line = EventText.json(entry) { out += line + "\n" }
            case .script, .pcapng:
                break
            }
        }
        for row in state.connections {
            switch format {
            case .text:
                out += "# total \(row.id) \(row.remoteText) received \(row.bytesIn) B in \(row.messagesIn) reads, sent \(row.bytesOut) B in \(row.messagesOut) writes\n"
            case .json:
                out += JSONValue.object([("event", .string("total")), ("id", .string(row.id.description)),
                                         ("remote", .string(row.remoteText)),
                                         ("bytes_received", .int(row.bytesIn)), ("bytes_sent", .int(row.bytesOut)),
                                         ("reads", .int(row.messagesIn)), ("writes", .int(row.messagesOut)),
                                         ("proto", .string(row.transport.label))]).encoded + "\n"
            case .script, .pcapng:
                break
            }
        }
        switch format {
        case .text: out += "# entries kept \(log.count), dropped \(log.droppedEntries) (the log keeps at most \(log.entries.capacity))\n"
        case .json:
            out += JSONValue.object([("event", .string("summary")), ("entries", .int(log.count)),
                                     ("dropped", .int(log.droppedEntries))]).encoded + "\n"
        case .script, .pcapng:
            break
        }
        return out
    }
}
