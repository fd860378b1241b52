/// A command of the one command language shared by the `:` prompt, `-c` and `--headless`.
public enum Command: Hashable, Sendable {
    case listen(ListenRequest)
    case connect(ConnectRequest)
    /// `target` nil means "the selected socket, or else the most recent connection".
    case send(target: SocketID?, bytes: [UInt8])
    case close(target: SocketID?)
    case shutdown(target: SocketID?, ShutdownDirection)
    case reset(target: SocketID?)
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
}
