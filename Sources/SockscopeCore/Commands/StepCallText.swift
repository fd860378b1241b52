/// Prints the lab's commands back as command lines (the parser reads them back).
enum StepCallText {
    static func line(for call: StepCall) -> String {
        switch call {
        case .socket(let kind): "socket \(kind.commandWords)"
        case .bind(let id, let endpoint): "bind \(id) \(CommandText.argument(endpoint.description))"
        case .listen(let id, let backlog): "listen \(id) \(backlog)"
        case .accept(let id): "accept \(id)"
        case .connect(let id, let endpoint): "connect \(id) \(CommandText.argument(endpoint.description))"
        case .send(let id, let bytes): "send \(id) \(CommandText.quoted(bytes))"
        case .recv(let id, let limit): "recv \(id) \(limit)"
        case .shutdown(let id, let direction): "shutdown \(id) \(direction.rawValue)"
        case .close(let id): "close \(id)"
        case .sendTo(let id, let endpoint, let bytes):
            "sendto \(id) \(CommandText.argument(endpoint.description)) \(CommandText.quoted(bytes))"
        }
    }

    static func line(for command: SystemViewCommand) -> String {
        switch command {
        case .toggle: "sys"
        case .show: "sys on"
        case .hide: "sys off"
        case .filter(let text): "sys filter" + (text.map { " " + CommandText.argument($0) } ?? "")
        case .sort(let order): "sys sort \(order.rawValue)"
        }
    }
}
