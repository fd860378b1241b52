/// A command of the one command language shared by the `:` prompt, `-c` and `--headless`.
public enum Command: Hashable, Sendable {
    case listen(ListenRequest)
    case connect(ConnectRequest)
    /// `target` nil means "the selected socket, or else the most recent connection".
    case send(target: SocketID?, bytes: [UInt8])
    case close(target: SocketID?)
    case shutdown(target: SocketID?, ShutdownDirection)
    case reset(target: SocketID?)
    /// Upgrades an open plain connection to TLS, after `dialogue`'s STARTTLS exchange if any.
    case startTLS(target: SocketID?, dialogue: StartTLSProtocol?, tls: TLSClientOptions)
    /// `destination`: `.inet` (UDP) or `.unixDatagram` (a UNIX datagram socket's path or `@name`).
    case sendTo(target: SocketID?, destination: Endpoint, bytes: [UInt8])
    case sendFile(target: SocketID?, path: String)
    case setOption(target: SocketID?, SocketOptionName, Int)
    case getOption(target: SocketID?, SocketOptionName)
    case resolve(host: String)
    /// Explains an errno name or a TCP state.
    case explain(String)
    /// Sets what ends each line typed in the send line of a connection.
    case setLineEnding(target: SocketID?, LineEnding)
    case save(path: String, format: LogFormat)
    case help(topic: String?)
    case quit
    /// A step-mode system call (`socket`, `bind S1 ...`, `listen S1 N`, `connect S1 ...`, `recv`).
    case step(StepCall)
    /// Takes one client from a manual-accept listener's queue.
    case accept(target: SocketID?)
    /// `sys`: show, hide, filter or sort the machine's socket table.
    case system(SystemViewCommand)
    /// `clear closed`: forget the rows of closed connections (their log entries stay).
    case clearClosed
    /// `clear closed --after SECONDS|off`: from now on, forget a closed row that long after
    /// it closed (milliseconds; nil: keep them).
    case forgetClosed(afterMilliseconds: Int?)
    /// `expect [ID] MATCH|closed|eof|connected [--timeout S]`: a script waits until it holds.
    case expect(target: SocketID?, ExpectCondition, timeoutMilliseconds: Int)
    /// `sleep MS`: a script waits.
    case sleep(milliseconds: Int)
    /// `rule [ID|all] when ... | list | remove N`; nil owner: the selected or recent socket.
    case rule(RuleOwner?, RuleCommand)
    /// `every MS [--count N] send [ID] TEXT`: a send repeated at an interval (`Repeater`).
    case every(milliseconds: Int, count: Int?, target: SocketID?, bytes: [UInt8])
    /// `stop [N]`: stops repeater `E<N>`, or every one.
    case stop(Int?)
    /// `scan HOST PORTS ...`: a connect scan of a host's TCP ports.
    case scan(ScanRequest)
    /// `scan stop`: ends the running scan.
    case scanStop
    /// `ping HOST ...`: ICMP echo requests and their replies' times.
    case ping(PingRequest)
    /// `ping stop`: ends the running ping.
    case pingStop
    /// `relay LISTEN TARGET`: a relay (`R1`) forwarding each client to TARGET.
    case relay(RelayRequest)
    /// `toxic R1 add|remove|list`: a relay's faults (toxiproxy's toxics).
    case toxic(target: SocketID?, ToxicCommand)
    /// `relay [R1] down|up`: close every pair and refuse clients, or forward again.
    case relaySwitch(target: SocketID?, RelaySwitch)
    /// `hold`, `forward`, `drop`, `edit`, `release` on a relay's traffic.
    case hold(target: SocketID?, HoldCommand)
    /// `lab NAME`: one of the classic surprises, reproduced on real sockets; nil: `lab list`.
    case lab(ExperimentName?)
    /// `tour [LESSON|list|next|back|quit]`: the guided lessons.
    case tour(TourCommand)
    /// `capture on [PATH] [--max SIZE]` / `capture off`.
    case capture(CaptureRequest)
    /// `replay C3 [to ENDPOINT] [--timing]`: a new connection sends what C3's client side sent.
    case replay(ReplayRequest)
}

/// What `tour` does.
public enum TourCommand: Hashable, Sendable {
    /// `tour` (resume, or lesson 1) and `tour LESSON` (a lesson's index).
    case start(Int?)
    case list, next, back, quit
}

extension Command {
    /// The socket id written in the command, if any.
    var namedSocket: SocketID? {
        switch self {
        case .send(let target, _), .close(let target), .shutdown(let target, _), .reset(let target), .startTLS(let target, _, _),
             .sendTo(let target, _, _), .sendFile(let target, _), .setOption(let target, _, _),
             .getOption(let target, _), .setLineEnding(let target, _), .accept(let target), .toxic(let target, _),
             .relaySwitch(let target, _), .hold(let target, _):
            target
        case .step(let call): call.socket
        case .expect(let target, _, _): target
        case .rule(.socket(let id)?, _): id
        case .every(_, _, let target, _): target
        case .sleep, .rule, .stop: nil
        case .listen, .connect, .resolve, .explain, .save, .help, .quit, .system, .clearClosed, .forgetClosed, .scan,
             .scanStop, .ping, .pingStop, .relay, .lab, .tour, .capture, .replay: nil
        }
    }

    /// Reads what a socket did, so it may name one that has closed since (`expect C1 closed`).
    var readsHistory: Bool {
        switch self {
        case .expect, .rule(_, .list): true
        default: false
        }
    }

    /// The command's first word, for messages about it.
    var verb: String {
        switch self {
        case .listen: "listen"
        case .connect: "connect"
        case .send: "send"
        case .close: "close"
        case .shutdown: "shutdown"
        case .reset: "reset"
        case .startTLS: "starttls"
        case .sendTo: "sendto"
        case .sendFile: "sendfile"
        case .setOption, .setLineEnding: "set"
        case .getOption: "get"
        case .resolve: "resolve"
        case .explain: "explain"
        case .save: "save"
        case .help: "help"
        case .quit: "quit"
        case .step(let call): String(StepCallText.line(for: call).prefix { $0 != " " })
        case .accept: "accept"
        case .system: "sys"
        case .clearClosed, .forgetClosed: "clear"
        case .expect: "expect"
        case .sleep: "sleep"
        case .rule: "rule"
        case .every: "every"
        case .stop: "stop"
        case .scan, .scanStop: "scan"
        case .ping, .pingStop: "ping"
        case .relay, .relaySwitch: "relay"
        case .toxic: "toxic"
        case .hold(_, let command): command.verb
        case .lab: "lab"
        case .tour: "tour"
        case .capture: "capture"
        case .replay: "replay"
        }
    }
}
