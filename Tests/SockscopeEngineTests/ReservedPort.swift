import Foundation

/// A port that is bound but not listening (connecting to it is refused), or listening with
/// the given backlog but never accepting. The port is free again once this is released.
final class ReservedPort {
    let port: Int
    private let descriptor: Int32

    init(type: __socket_type = SOCK_STREAM, listenBacklog: Int32? = nil) throws {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, length) == 0 && getsockname(descriptor, raw, &length) == 0
                    && listenBacklog.map { listen(descriptor, $0) == 0 } ?? true
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}
