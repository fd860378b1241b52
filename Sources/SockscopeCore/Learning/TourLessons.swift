/// The tour's lessons, in order: what `tour`, `tour N` and `tour NAME` walk through.
/// Each step's command is one the learner types; the step waits for the event it causes.
public enum TourLessons {
    public static func index(named word: String) -> Int? {
        if let number = Int(word), all.indices.contains(number - 1) { return number - 1 }
        return all.firstIndex { $0.name == word.lowercased() }
    }

    public static let all: [TourLesson] = [
        TourLesson(
            name: "server", title: "A TCP server, the classic way",
            intro: "the calls every server makes, one at a time, and a client that connects to it; each call shows in"
                + " the log as strace would print it, and in Detail's ledger for its socket",
            steps: [
                TourStep("socket tcp", why: "socket() makes an endpoint: a file descriptor with no address yet",
                         waitsFor: TourCondition(.call("socket", errno: nil), remember: "server"),
                         then: "the kernel gave {server} a descriptor (its number is in the log); Connections shows it,"
                            + " created, kernel state CLOSE"),
                TourStep("bind {server} 127.0.0.1:0", why: "bind() gives it a local address; port 0 asks the kernel to pick",
                         waitsFor: TourCondition(.call("bind", errno: nil), on: "server"),
                         then: "{server} owns an address now, but nobody can connect until listen (ss cannot even see it)"),
                TourStep("listen {server} 5", why: "listen() turns it into a server; 5 is the accept queue's length (backlog)",
                         waitsFor: TourCondition(.listening(.tcp), remember: "listener"),
                         then: "{server} is in Listeners on port {port}, state LISTEN: the kernel now completes handshakes"
                            + " on its own and queues them until accept"),
                TourStep("socket tcp", why: "the client is a socket too",
                         waitsFor: TourCondition(.call("socket", errno: nil), remember: "client"),
                         then: "{client} is a second descriptor; a client usually skips bind"),
                TourStep("connect {client} 127.0.0.1:{port}", why: "connect() sends SYN; the kernel picks an ephemeral port for the client",
                         waitsFor: TourCondition(.connected(.tcp), on: "client"),
                         then: "the three-way handshake is done: {client}'s row shows the ephemeral port the kernel chose;"
                            + " the connection waits in {server}'s accept queue (Detail: queue 1) until accept"),
                TourStep("accept {server}", why: "accept() takes one connection off the queue and gives it a socket of its own",
                         waitsFor: TourCondition(.accepted, remember: "conn", on: "server"),
                         then: "{conn} is the server's side of the connection, a new descriptor; {server} keeps listening"),
                TourStep("send {conn} Thank you for connecting", why: "the server speaks first, as many protocols do",
                         waitsFor: TourCondition(.received, on: "client"),
                         then: "send() copied the bytes to the kernel, which delivered them: the log shows {client}"
                            + " received 24 B"),
                TourStep("recv {client}", why: "recv() hands the program what the kernel received",
                         waitsFor: TourCondition(.call("recv", errno: nil), on: "client"),
                         then: "recv returned the 24 bytes; a recv gets whatever has arrived, not one send's worth"),
                TourStep("close {conn}", why: "the server closes the connection first: close() sends FIN",
                         waitsFor: TourCondition(.closed, on: "conn"),
                         then: "the client read EOF (peer-closed in the log) and is in CLOSE-WAIT; the server's side, having"
                            + " closed first, goes to TIME-WAIT (Detail's kernel lines; lab timewait shows why)"),
                TourStep("close {client}", why: "the client closes too: the connection is over",
                         waitsFor: TourCondition(.closed, on: "client"),
                         then: "both sides are closed; the descriptor numbers are free again, {server} still listens"),
            ]),
        TourLesson(
            name: "echo", title: "Echo, and the \"OKay got it\" server",
            intro: "request and response: a server that answers every message, and one that stops when told \"close\"",
            steps: [
                TourStep("listen 0 --echo", why: "a server that writes back whatever arrives",
                         waitsFor: TourCondition(.listening(.tcp), remember: "echo"),
                         then: "{echo} listens on port {port}"),
                TourStep("connect {port}", why: "a client to talk to it",
                         waitsFor: TourCondition(.connected(.tcp), remember: "client"),
                         then: "{client} is connected; the echo server accepted it at once"),
                TourStep("send {client} hello", why: "a request: the echo server's response is the same bytes",
                         waitsFor: TourCondition(.received, on: "client"),
                         then: "{client} sent 5 B and received 5 B back: one request, one response"),
                TourStep("close {client}", why: "the client closes first this time",
                         waitsFor: TourCondition(.closed, on: "client"),
                         then: "the echo server read EOF and closed its side too; the client, which closed first, keeps"
                            + " TIME-WAIT"),
                TourStep("listen 0", why: "a server whose answers we write as rules",
                         waitsFor: TourCondition(.listening(.tcp), remember: "okay"),
                         then: "{okay} listens on port {port} and answers nothing yet"),
                TourStep("rule {okay} when \"close\" reply bye --close", "rule {okay} when /./ reply \"OKay got it\"",
                         "connect {port}",
                         why: "two rules, tried in order: \"close\" gets bye and the server closes; any other line gets"
                            + " OKay got it; then a client",
                         waitsFor: TourCondition(.connected(.tcp), remember: "talker"),
                         then: "{talker} is connected to the rule server"),
                TourStep("send {talker} \"hi\\n\"", why: "any line is a request (a line ends with \\n)",
                         waitsFor: TourCondition(.received, on: "talker"),
                         then: "the answer came back: the log shows \"OKay got it\" received by {talker}"),
                TourStep("send {talker} \"close\\n\"", why: "the line that makes the server stop",
                         waitsFor: TourCondition(.peerClosed, on: "talker"),
                         then: "the server said bye and closed first: {talker} read EOF (peer-closed); who closes first"
                            + " decides who keeps TIME-WAIT"),
            ]),
        TourLesson(
            name: "udp", title: "UDP: datagrams, no connection",
            intro: "sendto and recvfrom: no handshake, no stream; each datagram arrives whole or not at all",
            steps: [
                TourStep("listen udp://127.0.0.1:0", why: "a UDP socket bound to a port: it receives datagrams from anyone",
                         waitsFor: TourCondition(.listening(.udp), remember: "server"),
                         then: "{server} is bound to port {port}; there is no listen and no accept in UDP"),
                TourStep("connect udp://127.0.0.1:{port}", why: "connect() on UDP sends nothing: it only fixes the peer",
                         waitsFor: TourCondition(.connected(.udp), remember: "client"),
                         then: "{client} has a default destination now; no packet left"),
                TourStep("send {client} one", "send {client} three",
                         why: "two datagrams: watch them arrive as two, never merged",
                         waitsFor: TourCondition(.received, on: "server"),
                         then: "the log shows {server} received 3 B and then 5 B, from {client}'s address: recvfrom returns"
                            + " one datagram and its sender, boundaries kept"),
                TourStep("send {server} back", why: "the server answers the latest sender (sendto to its address)",
                         waitsFor: TourCondition(.received, on: "client"),
                         then: "{client} received the answer"),
                TourStep("close {server}", why: "nobody listens on the port any more",
                         waitsFor: TourCondition(.closed, on: "server"),
                         then: "{server} is closed"),
                TourStep("send {client} anyone", why: "a datagram to a closed port",
                         waitsFor: TourCondition(.error("ECONNREFUSED"), on: "client"),
                         then: "the kernel answered with an ICMP port unreachable; only a connected UDP socket hears of it,"
                            + " as ECONNREFUSED on its next call (explain ECONNREFUSED)"),
            ]),
        TourLesson(
            name: "unix", title: "UNIX sockets: names in the file system",
            intro: "sockets between processes of one machine: a path (or an abstract name) instead of an address and port",
            steps: [
                TourStep("listen unix:/tmp/sockscope-tour.sock --replace",
                         why: "a stream socket bound to a path (--replace removes a stale file left there)",
                         waitsFor: TourCondition(.listening(.unix), remember: "server"),
                         then: "{server} listens; ls -l /tmp/sockscope-tour.sock shows a file of type s"),
                TourStep("connect unix:/tmp/sockscope-tour.sock", why: "a client connects by path",
                         waitsFor: TourCondition(.peerCredentials),
                         then: "the kernel told the server who connected (SO_PEERCRED: pid, uid, gid), in the log and"
                            + " in Detail: something TCP cannot know"),
                TourStep("listen unix:@sockscope-tour", why: "an abstract name (Linux): no file, gone with the socket",
                         waitsFor: TourCondition(.listening(.unix), remember: "abstract"),
                         then: "{abstract} has a name but no file: nothing to clean up"),
                TourStep("connect unix:@sockscope-tour", why: "a client by abstract name",
                         waitsFor: TourCondition(.connected(.unix), remember: "client"),
                         then: "{client} is connected to {abstract}"),
                TourStep("send {client} hello", why: "UNIX stream sockets carry bytes like TCP",
                         waitsFor: TourCondition(.received),
                         then: "the accepted side received 5 B; no network, no ports, the same calls"),
            ]),
        TourLesson(
            name: "clients", title: "Many clients, one listener",
            intro: "each accepted client gets its own socket: one leaving never hurts the others",
            steps: [
                TourStep("listen 0 --echo", why: "one listening socket for every client",
                         waitsFor: TourCondition(.listening(.tcp), remember: "server"),
                         then: "{server} listens on port {port}"),
                TourStep("connect {port}", why: "a first client",
                         waitsFor: TourCondition(.connected(.tcp), remember: "first"),
                         then: "{first} is connected; {server} accepted it (Listeners counts it)"),
                TourStep("connect {port}", why: "a second client, at the same time",
                         waitsFor: TourCondition(.connected(.tcp), remember: "second"),
                         then: "{second} too: the same server port, a different client port, so a different connection"),
                TourStep("connect {port}", why: "a third",
                         waitsFor: TourCondition(.connected(.tcp), remember: "third"),
                         then: "three connections to one port: each is told apart by its four addresses"),
                TourStep("close {first}", why: "one client leaves",
                         waitsFor: TourCondition(.closed, on: "first"),
                         then: "{first} is closed; the server closed its side of that connection only"),
                TourStep("send {second} still here", why: "the others go on as before",
                         waitsFor: TourCondition(.received, on: "second"),
                         then: "{second} got its echo: each accepted socket is separate"),
            ]),
        TourLesson(
            name: "nonblocking", title: "Non-blocking sockets",
            intro: "sockscope's step sockets never block: where a blocking call would wait, the kernel says so",
            steps: [
                TourStep("socket tcp", why: "a server socket",
                         waitsFor: TourCondition(.call("socket", errno: nil), remember: "server"),
                         then: "{server} is made non-blocking (SOCK_NONBLOCK)"),
                TourStep("listen {server} 5", why: "listen without bind: the kernel binds a port of its choice",
                         waitsFor: TourCondition(.listening(.tcp)),
                         then: "{server} listens on port {port}"),
                TourStep("socket tcp", why: "a client socket",
                         waitsFor: TourCondition(.call("socket", errno: nil), remember: "client"),
                         then: "{client} is non-blocking too"),
                TourStep("connect {client} 127.0.0.1:{port}", why: "a non-blocking connect cannot wait for the handshake",
                         waitsFor: TourCondition(.call("connect", errno: "EINPROGRESS"), on: "client"),
                         then: "connect returned -1 EINPROGRESS: the SYN is sent and the kernel finishes the handshake on its"
                            + " own; the socket becomes writable when it is done (the next log line says connected)"),
                TourStep("accept {server}", why: "the handshake finished, so a connection waits in the queue",
                         waitsFor: TourCondition(.accepted, on: "server"),
                         then: "accept found it at once"),
                TourStep("socket udp", why: "a socket nobody sends to",
                         waitsFor: TourCondition(.call("socket", errno: nil), remember: "quiet"),
                         then: "{quiet} is a UDP socket"),
                TourStep("bind {quiet} 127.0.0.1:0", why: "an address, so it could receive",
                         waitsFor: TourCondition(.call("bind", errno: nil), on: "quiet"),
                         then: "{quiet} is bound and nothing has come"),
                TourStep("recv {quiet}", why: "a blocking recv would wait here for ever",
                         waitsFor: TourCondition(.call("recvfrom", errno: "EAGAIN"), on: "quiet"),
                         then: "recv on a UDP socket is recvfrom; it returned -1 EAGAIN (also called EWOULDBLOCK): nothing to read now, come back later;"
                            + " a program waits with poll or epoll instead of blocking"),
            ]),
        TourLesson(
            name: "surprises", title: "Where it usually goes wrong",
            intro: "the classic surprises, each reproduced for real by a lab on its own sockets",
            steps: ExperimentName.allCases.map { name in
                TourStep("lab \(name.rawValue)", why: ExperimentCatalog.entry(name).summary,
                         waitsFor: TourCondition(.labResult(name)),
                         then: ExperimentCatalog.entry(name).lesson + " (the log holds each of its steps)")
            }),
    ]
}
