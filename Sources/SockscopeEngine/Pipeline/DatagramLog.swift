import SockscopeCore

/// Reports one datagram socket's traffic: one event per datagram (its boundaries are the
/// message), bounded per batch. Shared by UDP (`DatagramHandler`) and UNIX datagram
/// (`UnixDatagramSocket`) sockets. Lives on the socket's event loop.
///
/// Why bounded: a stream's reads are counted and reported as totals, but a datagram is
/// a unit the user must see whole, so it cannot be merged. A flood (a few hundred
/// thousand datagrams a second on loopback) would then queue an event per datagram
/// faster than the log can take them. So one batch (`EventBatcher`: a loop turn, or a
/// traffic window of 10-100 ms while data flows) carries at most `datagramsPerBatch`
/// datagram events per socket; the rest are counted, with exact bytes, and reported as
/// one `.moreDatagrams` right after them: never lost silently.
final class DatagramLog: TrafficTally {
    /// Datagram events one socket may put in one batch: with the 100 ms window of a
    /// steady flow, about 2 500 a second per socket, which the log and a headless
    /// reader keep up with; a request/answer exchange never comes near it.
    static let datagramsPerBatch = 256

    private let sink: EventSink
    /// Every datagram is its own event, however many: for a consumer of whole payloads
    /// (`PayloadCredit`), which bounds them by holding reads back instead.
    private let logsEveryDatagram: Bool
    /// Set once the socket has its id; nothing is reported before.
    var id: SocketID?
    private var loggedInBatch = 0
    private var unlogged = DatagramTotals()
    /// Rule firings beyond the batch's bound: (rule number, times), reported with the batch.
    private var unloggedFirings: [(rule: Int, times: Int)] = []
    /// This log is in the batcher's list for the current batch.
    private var tallyQueued = false

    init(sink: EventSink, logsEveryDatagram: Bool = false) {
        self.sink = sink
        self.logsEveryDatagram = logsEveryDatagram
    }

    /// A datagram arrived: its own event, or counted when the batch already holds enough.
    func received(from peer: SocketEndpoint, bytes: [UInt8], count: Int, truncated: Bool) {
        guard let id else { return }
        joinBatch()
        // A cut datagram is always shown: the user must learn that bytes were lost.
        guard logsEveryDatagram || loggedInBatch < Self.datagramsPerBatch || truncated else {
            unlogged.received += 1
            unlogged.receivedBytes += count
            return
        }
        emitUnlogged()
        loggedInBatch += 1
        sink.emit(.receivedFrom(id, from: peer, bytes: bytes, count: count, truncated: truncated))
    }

    /// A datagram went out. One the user asked for (`request`) is always its own event: it
    /// answers the request.
    func sent(to peer: SocketEndpoint, bytes: [UInt8], count: Int, request: RequestID?) {
        guard let id else { return }
        joinBatch()
        guard logsEveryDatagram || loggedInBatch < Self.datagramsPerBatch || request != nil else {
            unlogged.sent += 1
            unlogged.sentBytes += count
            return
        }
        emitUnlogged()
        loggedInBatch += 1
        sink.emit(.sentTo(id, to: peer, bytes: bytes, count: count), request: request)
    }

    /// A rule answered a datagram (`DatagramRuleResponder`): one event, after the datagram and
    /// before the reply; beyond the batch's bound, counted and reported with the batch.
    func ruleFired(_ rule: Int) {
        guard let id else { return }
        joinBatch()
        guard logsEveryDatagram || loggedInBatch < Self.datagramsPerBatch else {
            if let index = unloggedFirings.firstIndex(where: { $0.rule == rule }) {
                unloggedFirings[index].times += 1
            } else {
                unloggedFirings.append((rule, 1))
            }
            return
        }
        emitUnlogged()
        sink.emit(.ruleFired(id, rule: rule, times: 1))
    }

    /// Any other event about the socket (an error, its close) comes after the datagrams
    /// counted before it: call this first.
    func emitUnlogged() {
        guard let id else { return }
        if !unlogged.isEmpty {
            sink.emit(.moreDatagrams(id, unlogged))
            unlogged = DatagramTotals()
        }
        for firing in unloggedFirings { sink.emit(.ruleFired(id, rule: firing.rule, times: firing.times)) }
        unloggedFirings.removeAll()
    }

    /// The batch is leaving: what was counted joins it, and the next batch starts afresh.
    func reportTraffic() {
        emitUnlogged()
        loggedInBatch = 0
        tallyQueued = false
    }

    /// Datagram traffic is traffic to the batcher too: the batch waits for its window
    /// while datagrams keep coming, and `reportTraffic` ends each batch's count.
    private func joinBatch() {
        guard !tallyQueued else { return }
        tallyQueued = true
        sink.tally(self)
    }
}
