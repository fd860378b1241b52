/// What a listener does with each connection it accepts.
public enum ListenMode: Hashable, Sendable, CustomStringConvertible {
    /// Nothing automatic: the user reads and types.
    case interactive
    /// Writes back every byte received.
    case echo
    /// Sends these bytes as soon as a connection is accepted.
    case reply([UInt8])
    /// Reads and counts, never answers.
    case discard

    public var description: String {
        switch self {
        case .interactive: "interactive"
        case .echo: "echo"
        case .reply: "reply"
        case .discard: "discard"
        }
    }
}

public struct ListenRequest: Hashable, Sendable {
    public var endpoint: Endpoint
    public var mode: ListenMode
    public var backlog: Int

    /// Large enough that a burst of connections is not dropped by the kernel;
    /// the kernel caps it at net.core.somaxconn.
    public static let defaultBacklog = 4096

    public init(endpoint: Endpoint, mode: ListenMode = .interactive, backlog: Int = ListenRequest.defaultBacklog) {
        self.endpoint = endpoint
        self.mode = mode
        self.backlog = backlog
    }
}

public struct ConnectRequest: Hashable, Sendable {
    public var endpoint: Endpoint
    public init(endpoint: Endpoint) { self.endpoint = endpoint }
}

/// A typed order to the socket engine. The engine answers each with events
/// carrying the same `RequestID`, and always last with `.requestCompleted`.
public enum EngineCommand: Hashable, Sendable {
    case listen(ListenRequest)
    case connect(ConnectRequest)
    case send(SocketID, [UInt8])
    case close(SocketID)
}

public struct EngineRequest: Hashable, Sendable {
    public let id: RequestID
    public let command: EngineCommand
    public init(id: RequestID, command: EngineCommand) {
        self.id = id
        self.command = command
    }
}
