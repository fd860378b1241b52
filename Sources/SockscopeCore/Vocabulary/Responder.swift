/// What a listener in a responder mode (`--echo`, `--reply`, `--discard`) answers, as a
/// decision with no I/O. The engine's responder handlers (`StreamResponder`,
/// `DatagramResponder`) and its UNIX datagram socket carry out what it decides, so TCP,
/// UDP and UNIX sockets answer by the same rules.
///
/// A stream has no messages, so a stream reply is a greeting, written once as the connection
/// opens; a datagram socket has no connection to greet, so it answers every datagram instead.
public struct Responder: Hashable, Sendable {
    public enum Framing: Hashable, Sendable {
        /// A byte stream (TCP, UNIX stream): answered as it flows, greeted once.
        case stream
        /// Datagrams (UDP, UNIX datagram): each one is answered whole, to its sender.
        case datagrams
    }

    /// What to write back for what was received.
    public enum Answer: Hashable, Sendable {
        /// Nothing: the bytes are only counted.
        case nothing
        /// The received bytes themselves, unchanged (and, for datagrams, whole).
        case echo
        /// These bytes.
        case bytes([UInt8])
    }

    public let mode: ListenMode
    public let framing: Framing

    /// Nil for `.interactive`: the user answers, nothing automatic runs.
    public init?(mode: ListenMode, framing: Framing) {
        if case .interactive = mode { return nil }
        self.mode = mode
        self.framing = framing
    }

    /// Written once when a stream connection opens (`--reply`'s bytes); nil for none.
    public var greeting: [UInt8]? {
        guard framing == .stream, case .reply(let bytes) = mode, !bytes.isEmpty else { return nil }
        return bytes
    }

    /// The answer to one read (stream) or one datagram.
    public var answer: Answer {
        switch (mode, framing) {
        case (.echo, _): .echo
        case (.reply(let bytes), .datagrams): .bytes(bytes)
        case (.reply, .stream), (.discard, _), (.interactive, _): .nothing
        }
    }

    /// A stream responder has nothing more to say once the peer has finished sending (FIN):
    /// it closes its side too, after its output has left, as a forking socat does. Left open,
    /// each finished client would hold a descriptor in CLOSE-WAIT.
    public var closesWhenPeerFinishes: Bool { framing == .stream }
}
