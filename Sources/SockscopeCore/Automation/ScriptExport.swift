/// `save PATH --script`: the session so far as a script to run again (`sockscope --script
/// PATH`). Each command typed is a line; after it, for each connection that received data
/// before the next command, an `expect` for the first line of what arrived (at most
/// `expectedBytes`, up to and with its `\n`): a reply's first line is what a check wants and
/// is the part least likely to change (dates and ids come later). Commands that only look
/// (`help`, `save`, `quit`) are left out, and an `expect` typed by the user stands for the
/// ones this would have written before it.
public enum ScriptExport {
    static let expectedBytes = 64

    public static func render(_ state: AppState) -> String {
        var out = "# sockscope script: the commands typed, each followed by an expect for the first line each\n"
            + "# connection received after it. Run it again with: sockscope --script FILE\n"
        var expected: [SocketID] = []
        var pending: [(SocketID, [UInt8])] = []
        func flush() {
            for (id, bytes) in pending {
                out += CommandText.line(for: .expect(target: id, .data(.exact(bytes)),
                                                     timeoutMilliseconds: ExpectCondition.defaultTimeoutMilliseconds)) + "\n"
            }
            pending.removeAll()
            expected.removeAll()
        }
        let log = state.log
        for index in 0..<log.count {
            let entry = log[index]
            switch entry.record {
            case .command(let line):
                guard let command = try? CommandParser.parse(line) else { continue }
                switch command {
                case .save, .help, .quit: continue
                // The user's own expect says what to look for: none of ours before it (both would
                // consume the same reply, and the second would wait for a reply that never comes).
                case .expect:
                    pending.removeAll()
                    expected.removeAll()
                default: flush()
                }
                // As it was typed (the log keeps the line): the user's own words run again.
                out += line + "\n"
            case .data, .datagram:
                guard entry.kind == .received, let id = entry.socket, !expected.contains(id) else { continue }
                var first = Array(entry.bytes.prefix(expectedBytes))
                if let newline = first.firstIndex(of: 0x0A) { first = Array(first[...newline]) }
                guard !first.isEmpty else { continue }
                expected.append(id)
                pending.append((id, first))
            default:
                continue
            }
        }
        flush()
        return out
    }
}
