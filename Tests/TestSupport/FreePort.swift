import Foundation

/// Port numbers for servers that another program binds by number.
public enum FreePort {
    /// A free port below the kernel's ephemeral range (32768 and up here), for a server
    /// another program must bind by number. Port-0 binds of tests running in parallel
    /// never land there, so the port cannot be taken between this check and that bind.
    public static func outsideEphemeralRange() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(probe) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(candidate).bigEndian
            let free = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            if free { return candidate }
        }
        throw POSIXError(.EADDRINUSE)
    }
}
