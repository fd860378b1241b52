/// Plain words for step mode: what a call just did, and which calls make sense next.
public enum StepGuide {
    /// One line on what the call did, or why the kernel said no.
    public static func explanation(_ record: SyscallRecord) -> String {
        if let errno = record.errno {
            if record.call == "connect", errno == 115 {  // EINPROGRESS
                return "non-blocking connect: SYN sent; the kernel finishes the handshake and reports the outcome later"
            }
            if record.call == "accept", errno == 22 {  // EINVAL
                return "accept needs a listening socket: call listen first"
            }
            if record.call == "recv" || record.call == "recvfrom", errno == 11 {  // EAGAIN
                return "nothing to read yet; a blocking socket would wait here"
            }
            // An ICMP socket refused: the engine's note says which privilege it lacked (the
            // errno's usual meaning, ports below 1024 for EACCES, would mislead).
            if record.transport == .icmp, record.call == "socket", let note = record.note { return note }
            let meaning = ErrnoCatalog.explanation(for: errno, on: record.transport) ?? "the kernel refused the call"
            return record.note.map { "\(meaning); \($0)" } ?? meaning
        }
        if let message = record.icmp { return icmpExplanation(record, message) }
        if let note = record.note { return note }
        switch record.call {
        case "socket": return "a new socket, file descriptor \(record.result); it has no address yet"
        case "bind":
            let address = record.local.map { " (\($0))" } ?? ""
            return record.transport == .udp
                ? "the socket now owns this local address\(address): datagrams sent to it wait in its receive buffer until recv"
                : "the socket now owns this local address\(address); nobody can connect to it until listen"
        case "listen":
            let auto = record.local.map { " on \($0)" } ?? ""
            return "listening\(auto): clients complete the handshake and wait in the accept queue until accept"
        case "accept": return "took one connection off the accept queue: a new socket with its own fd"
        case "connect":
            let port = record.local.map { " from \($0) (the kernel picked an ephemeral port)" } ?? ""
            return "connected\(port): the three-way handshake is done"
        case "sendto": return "one datagram of \(record.result) bytes left for that address; no connection, no guarantee it arrives"
        case "recvfrom":
            let from = record.arguments.last.map { " \($0)" } ?? ""
            return "read one datagram of \(record.result) bytes\(from): boundaries are kept, and the sender comes with it"
        case "send": return "the kernel copied \(record.result) bytes to the socket's send buffer; it sends them on its own"
        case "recv":
            return record.result == 0 && record.transport == .tcp
                ? "recv returned 0: end of file, the peer closed its side"
                : "read \(record.result) bytes from the socket's receive buffer"
        case "shutdown": return "one direction ended; write sends FIN, the peer reads EOF"
        case "close": return "the descriptor is released; for TCP the kernel finishes the goodbye on its own"
        default: return ""
        }
    }

    /// An ICMP step socket's sendto or recvfrom: the message field by field (and the IP header
    /// a raw IPv4 socket reads first), then the engine's remark on the kind of socket.
    private static func icmpExplanation(_ record: SyscallRecord, _ message: ICMPMessage) -> String {
        var text = record.call == "sendto"
            ? "an ICMP \(message.words) left, \(record.result) B in all; the kernel answers echo requests itself"
            : "read one ICMP message of \(record.result) B: \(message.words)"
        if let header = message.ipHeader { text += "; \(header.words)" }
        return record.note.map { "\(text); \($0)" } ?? text
    }

    /// The calls that make sense in `phase`, written as commands for socket `id`.
    public static func nextCalls(_ id: SocketID, phase: StepPhase, transport: TransportProtocol) -> [String] {
        if transport == .icmp {
            return phase == .closed ? ["socket raw icmp"] : ["sendto \(id) HOST TEXT", "recv \(id)", "close \(id)"]
        }
        let stream = transport == .tcp || transport == .unix
        switch phase {
        case .created:
            return stream ? ["bind \(id) ADDR", "connect \(id) ADDR", "listen \(id) N"]
                : ["bind \(id) ADDR", "connect \(id) ADDR"]
        case .bound:
            return stream ? ["listen \(id) N", "connect \(id) ADDR"] : ["recv \(id)", "sendto \(id) ADDR TEXT", "connect \(id) ADDR"]
        case .listening:
            return ["accept \(id)", "close \(id)"]
        case .connecting:
            return ["(wait for the handshake)", "close \(id)"]
        case .connected:
            return stream ? ["send \(id) TEXT", "recv \(id)", "shutdown \(id) write", "close \(id)"]
                : ["send \(id) TEXT", "recv \(id)", "close \(id)"]
        case .failed:
            return ["connect \(id) ADDR", "close \(id)"]
        case .closed:
            return ["socket tcp|udp|unix"]
        }
    }

    /// The whole step line: call, state, what happened, what next.
    public static func line(_ id: SocketID, _ record: SyscallRecord) -> String {
        var parts = [DisplayText.escape(string: record.text)]
        var state = record.phase.rawValue
        if let kernel = record.kernelState { state += " (kernel: \(kernel.name))" }
        parts.append("state \(state)")
        let explanation = explanation(record)
        if !explanation.isEmpty { parts.append(explanation) }
        let next = nextCalls(id, phase: record.phase, transport: record.transport)
        parts.append("next: " + next.joined(separator: " | "))
        return parts.joined(separator: " — ")
    }
}
