import Glibc

/// A plain blocking TCP client, for filling a listener's accept queue.
public final class BlockingClient: @unchecked Sendable {
    public let descriptor: Int32

    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            Glibc.close(descriptor)
            throw SocketError(errno: errno)
        }
    }

    public func close() { Glibc.close(descriptor) }

    public struct SocketError: Error { public let errno: Int32 }
}

/// A Python server on a loopback port that greets each client with `greeting` (nil: says
/// nothing and waits), as an SSH or SMTP server does; `closeAtOnce` hangs up after it.
public struct GreetingServer {
    public let process: SpawnedProcess
    public let port: Int

    static let script = """
    import socket, sys, threading
    greeting = sys.argv[1].encode('latin-1') if sys.argv[1] != '-' else None
    close_at_once = sys.argv[2] == 'close'
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(16)
    print('port', server.getsockname()[1], flush=True)
    held = []
    def serve(client):
        if greeting is not None:
            client.sendall(greeting)
        if close_at_once:
            client.close()
        else:
            held.append(client)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()
    """

    public static func start(_ greeting: String?, closeAtOnce: Bool = false) async throws -> GreetingServer {
        let process = try PythonPeer.run(script, [greeting ?? "-", closeAtOnce ? "close" : "hold"])
        guard await process.waitForOutput(containing: "\n"),
              let line = process.output.split(separator: "\n").first(where: { $0.hasPrefix("port ") }),
              let port = Int(line.dropFirst(5)) else {
            process.kill(SIGKILL)
            throw PythonFailure(output: process.output)
        }
        return GreetingServer(process: process, port: port)
    }

    public struct PythonFailure: Error { public let output: String }
}
