/// `relay LISTEN TARGET`: listen at `listen.endpoint` and, for each client, connect to
/// `target` and forward both ways. TCP over IPv4/IPv6 and UNIX stream in any mix, or UDP
/// to UDP. Either TCP side may be `tls://`: `listen.tls` terminates TLS from each client
/// (as `listen tls://` does), `targetTLS` originates it to the target (as `connect tls://`).
public struct RelayRequest: Hashable, Sendable {
    /// Where clients connect, with the listener's policy and backlog (its mode is unused),
    /// and its TLS server options when LISTEN is `tls://`.
    public var listen: ListenRequest
    /// Where each client's upstream leg connects, as the user wrote it.
    public var target: Endpoint
    /// TARGET is `tls://`: each upstream leg is a TLS client with these options.
    public var targetTLS: TLSClientOptions?

    public init(listen: ListenRequest, target: Endpoint, targetTLS: TLSClientOptions? = nil) {
        self.listen = listen
        self.target = target
        self.targetTLS = targetTLS
    }

    /// TARGET as the user wrote it, `tls://` included: what the relay's events name.
    public var targetText: String { TLSCommandText.endpoint(target, tls: targetTLS != nil) }
}

/// `relay R1 down|up`: toxiproxy's disabling of a proxy. Down closes every pair and refuses
/// each new client (accepted and closed at once, reported as `refused`) until up again.
public enum RelaySwitch: String, Hashable, Sendable {
    case down
    case up
}

/// Which side of a relayed pair a connection is.
public enum RelayLegRole: String, Hashable, Sendable {
    /// Accepted by the relay from a client.
    case client
    /// Opened by the relay to its target for one client.
    case upstream
}

/// How a leg's end was passed on to the other leg.
public enum RelayEnding: String, Hashable, Sendable {
    /// The peer sent FIN: the other leg sends FIN too (shutdown write), once what it still
    /// has to send has left.
    case fin
    /// The peer reset the connection (or it was reset here): the other leg is reset (RST).
    case reset
    /// The leg closed (both directions): the other leg closes once its output has left.
    case close
}

/// What happens to a relay and its pairs, beyond what every connection reports.
public enum RelayEvent: Hashable, Sendable {
    /// A relay (`R1`) listens at `local` and forwards each client to `target`.
    case listening(SocketID, TransportProtocol, local: SocketEndpoint, target: String)
    /// The relay is connecting `upstream` (a new connection, of `transport`) to `target` for
    /// its client leg `client`.
    case upstream(SocketID, relay: SocketID, client: SocketID, TransportProtocol, target: String)
    /// The leg (its side `role`) passed on what happened to its other leg `from` (FIN, RST, a close).
    case passedOn(SocketID, RelayLegRole, relay: SocketID, from: SocketID, RelayEnding)
    /// The leg stopped reading: its other leg `waitingOn` is not taking what it forwards, and
    /// `held` bytes wait to go out there. Reported once the pause has lasted a while.
    case paused(SocketID, RelayLegRole, relay: SocketID, waitingOn: SocketID, held: Int)
    /// The leg reads again after a reported pause of `milliseconds`.
    case resumed(SocketID, RelayLegRole, relay: SocketID, milliseconds: Int)
    /// A toxic was added to the relay (`R1`): it acts on every pair at once.
    case toxicAdded(SocketID, Toxic)
    /// A toxic was removed from the relay.
    case toxicRemoved(SocketID, name: String)
    /// The toxic `name` acted `count` times on what the leg read (delayed, cut, dropped,
    /// closed...) since the last such event.
    case toxicFired(SocketID, RelayLegRole, relay: SocketID, name: String, count: Int)
    /// `relay R1 down`: the relay closed its `closedPairs` pairs and refuses new clients.
    case down(SocketID, closedPairs: Int)
    /// `relay R1 up`: the relay forwards new clients again.
    case up(SocketID)
    /// A UDP relay leg dropped `count` datagrams it read since the last such event: the other
    /// leg's socket buffer was full (UDP has no backpressure), or a new session's queue was.
    case dropped(SocketID, RelayLegRole, relay: SocketID, count: Int)
    /// `hold R1 DIR`: the relay holds what goes `direction` on every pair, cut by `framing`.
    case holding(SocketID, ToxicDirection, HoldFraming)
    /// `release R1`: the relay stopped holding (what was held is forwarded, each leg saying so).
    case holdReleased(SocketID)
    /// The leg read a chunk and holds it (the relay's `sequence`-th held chunk, `count` bytes,
    /// `bytes` its preview); the leg now holds `heldChunks` chunks of `heldBytes` bytes.
    case held(SocketID, RelayLegRole, relay: SocketID, sequence: Int, bytes: [UInt8], count: Int, heldChunks: Int, heldBytes: Int)
    /// `chunks` held chunks of the leg (`bytes` bytes as they went out, or were dropped) were
    /// forwarded, dropped or sent edited; the leg still holds `heldChunks` of `heldBytes`.
    case heldOut(SocketID, RelayLegRole, relay: SocketID, HeldOutcome, chunks: Int, bytes: Int, heldChunks: Int, heldBytes: Int)
    /// The relay holds `relayHeld` bytes, at or over `bound`: this leg stopped reading (its
    /// sender slows down) until forward, drop or release makes room (`resumed` then).
    case holdFull(SocketID, RelayLegRole, relay: SocketID, relayHeld: Int, bound: Int)

    /// The socket the event is about.
    public var socket: SocketID {
        switch self {
        case .listening(let id, _, _, _), .upstream(let id, _, _, _, _), .passedOn(let id, _, _, _, _),
             .paused(let id, _, _, _, _), .resumed(let id, _, _, _), .toxicAdded(let id, _), .toxicRemoved(let id, _),
             .toxicFired(let id, _, _, _, _), .down(let id, _), .up(let id),
             .dropped(let id, _, _, _), .holding(let id, _, _), .holdReleased(let id),
             .held(let id, _, _, _, _, _, _, _), .heldOut(let id, _, _, _, _, _, _, _), .holdFull(let id, _, _, _, _):
            id
        }
    }
}

/// A connection's place in a relayed pair, on its row.
public struct RelayLeg: Hashable, Sendable {
    public var relay: SocketID
    public var role: RelayLegRole
    /// The other leg, once it exists (a client's upstream leg is made after the accept).
    public var partner: SocketID?
    /// While reading is paused for backpressure: the bytes waiting on the other leg.
    public var held: Int?
    /// Chunks this leg read and holds (`hold`), and their bytes.
    public var heldChunks = 0
    public var heldBytes = 0
    /// Not reading because the relay's held bytes reached the bound (`holdFull`).
    public var holdFull = false

    public init(relay: SocketID, role: RelayLegRole, partner: SocketID? = nil) {
        self.relay = relay
        self.role = role
        self.partner = partner
    }
}

// MARK: Holding (issue 18)

/// How the held traffic of a relay is cut into chunks (`hold R1 up --frame line`): raw reads as
/// they came, lines (up to and with `\n` or `\r\n`), or frames behind a 16- or 32-bit
/// big-endian length prefix (the prefix stays with its frame). Each held chunk keeps its bytes
/// exactly, delimiter or prefix included.
public enum HoldFraming: String, Hashable, Sendable, CaseIterable {
    case raw
    case line
    case len16
    case len32
}

/// `hold`, `forward`, `drop`, `edit`, `release`: a relay's traffic held in one or both
/// directions, chunk by chunk, across all its pairs in the order it was read.
public enum HoldCommand: Hashable, Sendable {
    /// Hold what goes `direction` (up: client to server) on every current and future pair.
    case hold(ToxicDirection, HoldFraming)
    /// Forward the next `count` held chunks.
    case forward(Int)
    /// Drop the next `count` held chunks (counted, never sent).
    case drop(Int)
    /// Send `bytes` in place of the next held chunk (a length prefix is made for them again;
    /// a line keeps its delimiter).
    case edit([UInt8])
    /// Forward everything held and stop holding.
    case release

    /// The most a relay holds (all its pairs, both ways): at this, its legs stop reading.
    public static let heldBytesBound = 4 * 1024 * 1024

    /// The command word, for failures and the log.
    public var verb: String {
        switch self {
        case .hold: "hold"
        case .forward: "forward"
        case .drop: "drop"
        case .edit: "edit"
        case .release: "release"
        }
    }
}

/// What became of held chunks.
public enum HeldOutcome: String, Hashable, Sendable {
    case forwarded
    case dropped
    case edited
}

/// The direction a leg's reads go: the client leg reads what goes up (to the server).
extension RelayLegRole {
    public var direction: String { self == .client ? "up" : "down" }
}

/// The relay's held chunks as the state knows them, for `edit` in the TUI (the next chunk's
/// bytes in the command line) and for the relay's Detail.
public struct HeldChunkPreview: Hashable, Sendable {
    /// The relay-wide order of the chunk (the engine forwards in this order).
    public var sequence: Int
    public var leg: SocketID
    public var count: Int
    /// At most `DataPreview.limit` bytes; the whole chunk when `bytes.count == count`.
    public var bytes: [UInt8]

    public init(sequence: Int, leg: SocketID, count: Int, bytes: [UInt8]) {
        self.sequence = sequence
        self.leg = leg
        self.count = count
        self.bytes = bytes
    }
}
