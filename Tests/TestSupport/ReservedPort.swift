import Foundation

/// A loopback port of our own, chosen by the kernel (port 0): bound but not listening
/// (connecting to it is refused), or listening with the given backlog but never accepting.
/// Held for as long as the test keeps this value, so "nothing listens here" stays true
/// (a port probed and released could be taken by anyone meanwhile). Free again on release.
public final class ReservedPort {
    public let port: Int
    private let descriptor: Int32

    public init(type: __socket_type = SOCK_STREAM, listenBacklog: Int32? = nil) throws {
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

    /// A UDP port that is ours but answers every datagram with ICMP port unreachable: the
    /// socket holding it is connected to another address (port 9 of loopback), and Linux
    /// delivers datagrams to a connected UDP socket only from its peer. An unbound port
    /// would do the same but could be taken by anyone before the test is done.
    public static func unreachableUDP() throws -> ReservedPort {
        let reserved = try ReservedPort(type: SOCK_DGRAM)
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_addr.s_addr = inet_addr("127.0.0.1")
        peer.sin_port = UInt16(9).bigEndian
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(reserved.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return reserved
    }

    deinit {
        close(descriptor)
    }
}
