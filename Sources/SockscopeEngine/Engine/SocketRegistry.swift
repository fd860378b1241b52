import NIOConcurrencyHelpers
import NIOCore
import SockscopeCore

/// Hands out socket ids and finds open sockets by id.
///
/// Thread-safe: used by `Engine.submit` on callers' threads and by handlers on event loops.
final class SocketRegistry: Sendable {
    /// An open socket: its loop, its handler (which may be touched only on that loop), and
    /// its NIO channel (nil for the UNIX datagram sockets the engine drives itself).
    ///
    /// A class, and the loop kept once (in `control`): the table holds one per open socket,
    /// and as a 176-byte struct in a dictionary kept at most 3/4 full it took ~310 bytes per
    /// connection (computed from the layout; ~200 now). The many-connections runs cannot
    /// tell this apart from their noise (+-0.15 KiB per connection).
    final class Entry: Sendable {
        let channel: (any Channel)?
        let control: NIOLoopBound<any SocketControl>
        /// Succeeds once the socket is closed.
        let closeFuture: EventLoopFuture<Void>

        var eventLoop: any EventLoop { control.eventLoop }

        init(channel: (any Channel)?, control: NIOLoopBound<any SocketControl>, closeFuture: EventLoopFuture<Void>) {
            self.channel = channel
            self.control = control
            self.closeFuture = closeFuture
        }
    }

    private struct State {
        var lastListener = 0
        var lastConnection = 0
        var lastRelay = 0
        var open: [SocketID: Entry] = [:]
        var isStopping = false
    }

    private let state = NIOLockedValueBox(State())
    /// Set when data events must carry whole payloads (see `PayloadCredit`).
    let payloadCredit: PayloadCredit?
    /// Every rule that answers (`rule`), by owner.
    let rules = RuleBook()
    /// The capture running (`capture on`), which new sockets join as they are set up.
    let capture = CaptureSwitch()
    /// What each connection's client side sent, for `replay`.
    let replayRecords: ReplayRecordStore

    init(payloadCredit: PayloadCredit? = nil, replayRecords: ReplayRecordStore = ReplayRecordStore()) {
        self.payloadCredit = payloadCredit
        self.replayRecords = replayRecords
    }

    /// The next listener id, `L1`, `L2`...; numbers are never reused.
    func nextListenerID() -> SocketID {
        state.withLockedValue { state in
            state.lastListener += 1
            return SocketID(.listener, state.lastListener)
        }
    }

    /// The next relay id, `R1`, `R2`...
    func nextRelayID() -> SocketID {
        state.withLockedValue { state in
            state.lastRelay += 1
            return SocketID(.relay, state.lastRelay)
        }
    }

    /// The next connection id, `C1`, `C2`..., shared by accepted and outgoing connections.
    func nextConnectionID() -> SocketID {
        state.withLockedValue { state in
            state.lastConnection += 1
            return SocketID(.connection, state.lastConnection)
        }
    }

    /// Call on `channel`'s event loop, with the handler that controls it.
    func register(_ id: SocketID, channel: any Channel, control: any SocketControl) {
        let entry = Entry(channel: channel, control: NIOLoopBound(control, eventLoop: channel.eventLoop),
                          closeFuture: channel.closeFuture)
        state.withLockedValue { $0.open[id] = entry }
    }

    /// Call on `eventLoop`, for a socket that is not a NIO channel.
    func register(_ id: SocketID, eventLoop: any EventLoop, closeFuture: EventLoopFuture<Void>,
                  control: any SocketControl) {
        let entry = Entry(channel: nil, control: NIOLoopBound(control, eventLoop: eventLoop), closeFuture: closeFuture)
        state.withLockedValue { $0.open[id] = entry }
    }

    func remove(_ id: SocketID) {
        _ = state.withLockedValue { $0.open.removeValue(forKey: id) }
    }

    /// Every open socket (to tell connections their rules changed).
    func openEntries() -> [Entry] {
        state.withLockedValue { Array($0.open.values) }
    }

    func entry(for id: SocketID) -> Entry? {
        state.withLockedValue { $0.open[id] }
    }

    /// Marks the engine as stopping and returns every socket still open.
    func beginStopping() -> [Entry] {
        state.withLockedValue { state in
            state.isStopping = true
            return Array(state.open.values)
        }
    }

    /// True once `shutdown` started: sockets closing now close because of it.
    var isStopping: Bool {
        state.withLockedValue { $0.isStopping }
    }
}

/// Whether a capture runs, and its writer: read once per socket as it is set up, never per read.
final class CaptureSwitch: Sendable {
    private let current = NIOLockedValueBox<CaptureWriter?>(nil)

    var writer: CaptureWriter? { current.withLockedValue { $0 } }

    /// Sets the running capture; false (nothing changed) when one already runs.
    func start(_ writer: CaptureWriter) -> Bool {
        current.withLockedValue { current in
            guard current == nil else { return false }
            current = writer
            return true
        }
    }

    /// The running capture, which from now on no new socket joins.
    func stop() -> CaptureWriter? {
        current.withLockedValue { current in
            defer { current = nil }
            return current
        }
    }
}
