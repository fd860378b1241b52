/// `save PATH.pcapng`: the TCP and UDP traffic the log holds, as packets (`PacketSynthesis`),
/// for sessions that ran without `capture on`. The log keeps the first 1 KiB of each read or
/// write (`DataPreview.limit`) and exact counts: a longer one is written as its kept bytes
/// followed by a gap of the rest (Wireshark: "previous segment not captured"), and the
/// outcome says how many were cut. Connections whose opening the log no longer holds (the
/// ring dropped it), UNIX sockets and step-mode sockets are left out, and counted.
public enum HistoryCapture {
    public struct Outcome: Hashable, Sendable {
        public var file: [UInt8]
        public var packets: Int
        /// Reads and writes longer than what the log kept of them.
        public var truncatedEntries: Int
        /// Data entries of sockets the file has no addresses for.
        public var skippedEntries: Int
    }

    public static func render(_ log: LogBook) -> Outcome {
        var synthesis = PacketSynthesis()
        synthesis.writer.fileHeader()
        var streams: [SocketID: PacketSynthesis.FlowKey] = [:]
        var datagramSockets: [SocketID: (key: PacketSynthesis.FlowKey, local: SocketEndpoint)] = [:]
        var nextKey = 0
        var truncated = 0
        var skipped = 0
        func newKey() -> PacketSynthesis.FlowKey {
            nextKey += 1
            return PacketSynthesis.FlowKey(nextKey)
        }
        for index in 0..<log.count {
            let entry = log[index]
            let time = entry.time.nanoseconds / 1000
            switch entry.record {
            case .event(let kind):
                switch kind {
                case .accepted(let id, _, let local, let remote), .connected(let id, let local, let remote):
                    guard local.isIP, remote.isIP else { break }
                    if entry.transport == .udp {
                        let key = newKey()
                        synthesis.openUDP(key, comment: "sockscope \(id)")
                        datagramSockets[id] = (key, local)
                    } else {
                        let key = newKey()
                        var initiatedLocally = false
                        if case .connected = kind { initiatedLocally = true }
                        synthesis.openTCP(key, local: local, remote: remote, initiatedLocally: initiatedLocally,
                                          name: id.description, comment: "sockscope \(id) (from the log's history)", at: time)
                        streams[id] = key
                    }
                case .listening(let id, .udp, let local, _, _):
                    let key = newKey()
                    synthesis.openUDP(key, comment: "sockscope \(id)")
                    datagramSockets[id] = (key, local)
                case .peerClosed(let id):
                    if let key = streams[id] { synthesis.tcpFin(key, fromLocal: false, at: time) }
                case .shutDown(let id, let direction) where direction != .read:
                    if let key = streams[id] { synthesis.tcpFin(key, fromLocal: true, at: time) }
                case .closed(let id, let reason):
                    guard let key = streams.removeValue(forKey: id) else { break }
                    if reason.contains("reset by us") || reason.contains("RST sent") {
                        synthesis.tcpReset(key, fromLocal: true, at: time)
                    } else if reason.contains("reset") {
                        synthesis.tcpReset(key, fromLocal: false, at: time)
                    } else {
                        synthesis.tcpFin(key, fromLocal: true, at: time)
                    }
                    synthesis.forget(key)
                default:
                    break
                }
            case .data:
                guard let id = entry.socket, let key = streams[id] else {
                    skipped += 1
                    continue
                }
                let fromLocal = entry.kind == .sent
                entry.bytes.withUnsafeBytes { synthesis.tcpData(key, fromLocal: fromLocal, $0, at: time) }
                if entry.count > entry.bytes.count {
                    truncated += 1
                    synthesis.tcpGap(key, fromLocal: fromLocal, count: entry.count - entry.bytes.count)
                }
            case .datagram(let peer, _):
                guard let id = entry.socket, let socket = datagramSockets[id] else {
                    skipped += 1
                    continue
                }
                var local = socket.local
                if local.isWildcard, peer.isLoopback, let port = local.port {
                    if case .ipv6 = peer { local = .loopback(ipv6: true, port: port) } else { local = .loopback(ipv6: false, port: port) }
                }
                // A datagram longer than its preview is written as far as it was kept.
                if entry.count > entry.bytes.count { truncated += 1 }
                entry.bytes.withUnsafeBytes {
                    synthesis.datagram(socket.key, local: local, remote: peer, fromLocal: entry.kind == .sent, $0, at: time)
                }
            case .command, .note:
                break
            }
        }
        synthesis.settleAcks()
        return Outcome(file: synthesis.writer.take(), packets: synthesis.packets, truncatedEntries: truncated,
                       skippedEntries: skipped)
    }

    /// What `save PATH.pcapng` says it did.
    public static func savedText(_ outcome: Outcome, path: String, bytes: Int) -> String {
        var text = "saved \(outcome.packets) packets of the log's TCP and UDP traffic to \(path) (\(ByteCount.text(bytes)), pcapng)"
        if outcome.truncatedEntries > 0 {
            text += "; \(outcome.truncatedEntries) reads/writes were longer than the \(DataPreview.limit) bytes the log keeps"
                + " of each: the rest shows as gaps (capture on writes every byte)"
        }
        if outcome.skippedEntries > 0 {
            text += "; \(outcome.skippedEntries) data entries left out (UNIX sockets, or connections whose start the log no longer holds)"
        }
        return text
    }
}
