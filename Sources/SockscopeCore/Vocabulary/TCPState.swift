/// The kernel's TCP states (numbering as in `/proc/net/tcp` and TCP_INFO).
public enum TCPState: Int, Hashable, Sendable, CaseIterable {
    case established = 1, synSent, synReceived, finWait1, finWait2, timeWait, close, closeWait, lastAck, listen, closing
    case newSynReceived

    /// The name `ss` prints: `ESTAB`-style names spelled out, as learners meet them in books.
    public var name: String {
        switch self {
        case .established: "ESTABLISHED"
        case .synSent: "SYN-SENT"
        case .synReceived: "SYN-RECV"
        case .finWait1: "FIN-WAIT-1"
        case .finWait2: "FIN-WAIT-2"
        case .timeWait: "TIME-WAIT"
        case .close: "CLOSE"
        case .closeWait: "CLOSE-WAIT"
        case .lastAck: "LAST-ACK"
        case .listen: "LISTEN"
        case .closing: "CLOSING"
        case .newSynReceived: "NEW-SYN-RECV"
        }
    }

    public var explanation: String {
        switch self {
        case .established: "both sides are connected; data flows both ways"
        case .synSent: "we sent SYN and wait for the peer's SYN-ACK (connect in progress)"
        case .synReceived: "a SYN arrived and we answered SYN-ACK; waiting for the final ACK"
        case .finWait1: "we closed first and sent FIN; waiting for the peer to acknowledge it"
        case .finWait2: "our FIN was acknowledged; waiting for the peer to close its side"
        case .timeWait: "we closed first; the kernel keeps the port for 2×MSL (60 s on Linux) so late packets die"
        case .close: "the socket is closed"
        case .closeWait: "the peer closed its side (FIN); the kernel waits for this program to close"
        case .lastAck: "the peer closed first and we then closed; waiting for the last ACK"
        case .listen: "waiting for connections; the accept queue holds completed handshakes"
        case .closing: "both sides sent FIN at the same time; waiting for the ACK"
        case .newSynReceived: "a half-open connection request (SYN received) not yet a full socket"
        }
    }

    /// Accepts `ESTABLISHED`, `estab`, `time_wait`, `TIME-WAIT`...
    public init?(name: String) {
        let key = name.uppercased().replacingUnderscores()
        if let match = TCPState.allCases.first(where: { $0.name == key }) {
            self = match
        } else if key == "ESTAB" {
            self = .established
        } else if key == "SYN-RECEIVED" {
            self = .synReceived
        } else {
            return nil
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
