@testable import SockscopeCore

/// The tests' shorthand for entries as they were before records: `text` is what a
/// note or command says, or a datagram's peer (an IP endpoint, else a UNIX path's raw
/// bytes; read back, it is the endpoint's escaped text).
extension LogEntry {
    init(time: Timestamp, socket: SocketID?, kind: LogKind, count: Int = 0, bytes: [UInt8] = [], text: String = "") {
        let record: LogRecord = switch kind {
        case .received, .sent: text.isEmpty ? .data
            : .datagram(peer: SocketEndpoint(parsing: text) ?? .unixPath(Array(text.utf8)), truncated: false)
        case .command: .command(text)
        case .info, .error: .note(text)
        }
        self.init(time: time, socket: socket, kind: kind, count: count, bytes: bytes, record: record)
    }

    /// A datagram's peer, or the words of anything else that is not data.
    var text: String {
        switch record {
        case .data: ""
        case .datagram(let peer, _): peer.description
        case .command, .note, .event: EventText.sentence(self)
        }
    }
}
