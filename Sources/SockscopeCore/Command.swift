/// A command of the one command language shared by the `:` prompt, `-c` and `--headless`.
public enum Command: Hashable, Sendable {
    case listen(ListenRequest)
    case connect(ConnectRequest)
    /// `target` nil means "the selected socket, or else the most recent connection".
    case send(target: SocketID?, bytes: [UInt8])
    case close(target: SocketID?)
    /// Sets what ends each line typed in the send line of a connection.
    case setLineEnding(target: SocketID?, LineEnding)
    case save(path: String, format: LogFormat)
    case help(topic: String?)
    case quit
}
