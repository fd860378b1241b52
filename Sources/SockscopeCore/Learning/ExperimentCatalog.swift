/// What each lab is about and why each of its steps comes out as it does: the words of
/// `lab NAME`, one table. The engine's `Experiments` make the calls under the same step names.
public enum ExperimentCatalog {
    public struct Entry: Sendable {
        public let name: ExperimentName
        /// One line for `lab list` and `help lab`.
        public let summary: String
        /// What the lab does, said when it starts.
        public let plan: String
        /// Per step name: why the kernel answered as it did, and where to look.
        public let why: [String: String]
        /// The lesson, said with the result.
        public let lesson: String
    }

    public static func entry(_ name: ExperimentName) -> Entry {
        entries.first { $0.name == name }!
    }

    /// The steps every lab that needs a connection begins with.
    private static let pairSteps: [String: String] = [
        "listen": "a server socket on a port the kernel picked",
        "connect": "a client connects from an ephemeral port",
        "accept": "the server takes the connection off its accept queue: two connected sockets, one per side",
    ]

    public static let entries: [Entry] = [
        Entry(
            name: .timewait,
            summary: "close first and see TIME-WAIT; a restarted server gets EADDRINUSE, unless SO_REUSEADDR",
            plan: "a server (with SO_REUSEADDR, as servers set it) accepts one client, closes the connection first and stops;"
                + " then a new server tries the same port, without and with SO_REUSEADDR",
            why: pairSteps.merging([
                "server-closes-first": "our close sends FIN; the client reads EOF (recv = 0) and sits in CLOSE-WAIT until it closes",
                "client-closes": "the client's FIN completes the goodbye; the server stops listening too",
                "time-wait": "the side that closed first keeps the connection in TIME-WAIT for 60 s (2*MSL), so late"
                    + " segments of this connection cannot be taken for a new one; ss -tan state time-wait shows it",
                "restart-plain": "bind refuses a port still held by a TIME-WAIT connection when the new socket lacks SO_REUSEADDR",
                "restart-reuseaddr": "with SO_REUSEADDR on both the old and the new socket, bind may reuse a port whose only"
                    + " users are in TIME-WAIT (never one with a live listener)",
            ]) { $1 },
            lesson: "a server that closes first leaves TIME-WAIT behind; set SO_REUSEADDR before bind so it can restart at once"),
        Entry(
            name: .backlog,
            summary: "listen(1) and ten clients: the accept queue fills, SYNs are dropped, ListenOverflows counts them",
            plan: "a server calls listen(fd, 1) and does not accept; ten clients connect at once; half a second later the"
                + " server accepts as fast as it can, each client that believes it is connected sends a request, and we"
                + " time when each client gets in",
            why: [
                "listen": "backlog 1: Linux lets the accept queue hold backlog+1 fully connected clients",
                "connect": "ten non-blocking connects: each sends a SYN",
                "queue-full": "the queue holds backlog+1 handshakes; past it the kernel drops the SYN and counts it in"
                    + " ListenOverflows/ListenDrops (nstat -az TcpExtListenOverflows): those clients wait in SYN-SENT",
                "accept-all": "nothing is refused: dropped SYNs are sent again (after 1 s, 3 s, 7 s...); with so small a"
                    + " queue the kernel answers them with SYN cookies, and a client whose last ACK meets a full queue"
                    + " believes it is ESTABLISHED while the server has no trace of it: only its request's"
                    + " retransmissions get it in, once accept has made room",
            ],
            lesson: "backlog is the length of the queue of finished handshakes waiting for accept, not the number of clients:"
                + " any number can be connected once accepted, and a full queue costs the rest seconds of retries"),
        Entry(
            name: .nagle,
            summary: "two small writes then a read: the ~40 ms Nagle/delayed-ACK stall, and TCP_NODELAY removing it",
            plan: "a client sends each request as two small writes and waits for a one-byte answer, 12 times with Nagle"
                + " (the default) and 12 times with TCP_NODELAY; the server answers once it has the whole request",
            why: pairSteps.merging([
                "with-nagle": "Nagle holds the second small write until the first is acknowledged; the server has nothing"
                    + " to send before it has the whole request, so it delays its ACK (about 40 ms on Linux): each round waits",
                "with-nodelay": "TCP_NODELAY sends each write at once: the second half arrives without waiting for an ACK",
            ]) { $1 },
            lesson: "write a request in one write (or set TCP_NODELAY) when you wait for an answer: write-write-read with"
                + " Nagle costs a delayed ACK per round"),
        Entry(
            name: .framing,
            summary: "three messages sent, read merged and split: why TCP needs framing, and lines or a length prefix",
            plan: "a client sends messages in separate send() calls and in pieces that cut them; the server reads what"
                + " is there each time, then cuts the same bytes by lines and by a 2-byte length prefix",
            why: pairSteps.merging([
                "merged": "TCP is a byte stream: the receive buffer keeps bytes, not sends, so one recv returns all that arrived",
                "split": "a recv returns what has arrived so far: half a message when the rest is still on its way",
                "lines": "a reader that keeps a buffer and cuts at each newline gets the messages back whatever the reads were",
                "length-prefix": "a 2-byte length before each message lets the reader wait for exactly that many bytes;"
                    + " messages may then hold any byte, newlines included",
            ]) { $1 },
            lesson: "one send is not one recv: a protocol on TCP must mark where messages end (a delimiter or a length)"),
        Entry(
            name: .halfclose,
            summary: "shutdown(SHUT_WR) on one side: the other still sends, and sits in CLOSE-WAIT until it closes",
            plan: "the client calls shutdown(SHUT_WR); the server reads EOF, answers anyway, waits a moment, then closes",
            why: pairSteps.merging([
                "shutdown-write": "SHUT_WR sends FIN: the client will send no more, but may still read; its side is FIN-WAIT-2",
                "eof": "the server's recv returns 0 (EOF); the kernel puts its side in CLOSE-WAIT: the peer is done, we are not",
                "still-sends": "a half-closed connection still carries data the other way: the client reads the answer",
                "close-wait": "CLOSE-WAIT lasts as long as the program keeps the socket open: many of them mean a program"
                    + " that forgets to close",
                "server-closes": "the server's close sends its FIN; the client reads EOF and, having closed first, keeps TIME-WAIT",
            ]) { $1 },
            lesson: "shutdown(SHUT_WR) says \"I am done sending\" without hanging up: the peer can still answer, and must"
                + " close for the connection to end"),
        Entry(
            name: .reset,
            summary: "SO_LINGER 0 then close: the peer gets ECONNRESET, and writing to the reset socket EPIPE",
            plan: "the client sets SO_LINGER {on, 0 s} and closes; the server reads, then writes to the dead connection",
            why: pairSteps.merging([
                "abort": "close with a zero linger drops unsent data and sends RST instead of FIN: no goodbye, no TIME-WAIT",
                "econnreset": "the server's next recv fails with ECONNRESET: the peer reset the connection",
                "epipe": "writing to a connection that was reset fails with EPIPE (and, without MSG_NOSIGNAL, SIGPIPE kills"
                    + " the program)",
                "no-time-wait": "after a reset neither side keeps the connection: the kernel has forgotten it",
            ]) { $1 },
            lesson: "RST ends a connection at once: the peer learns it from ECONNRESET or EPIPE; handle both"),
    ]
}
