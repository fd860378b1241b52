import Glibc
import SockscopeCore
@testable import SockscopeEngine
import Testing

/// A TCP socket connected to its own address (what a loopback connect scan meets when the
/// kernel picks the scanned port as the ephemeral port): the scanner must not call it open.
@Suite struct SelfConnectTests {
    @Test func aSocketConnectedToItselfIsToldFromAConnectionToAListener() throws {
        // bind to a port of the kernel's choosing, then connect to that very address: a
        // simultaneous open with itself, established with nothing listening.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = try #require(RawSocket.Address(.ipv4(.loopback, port: 0)))
        let bound = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        #expect(bound == 0)
        let local = try #require(RawSocket.localAddress(fd))
        let target = try #require(RawSocket.Address(local))
        #expect(RawSocket.connect(fd, target).errno == nil, "a self-connect succeeds")
        #expect(RawSocket.isConnectedToItself(fd))

        // A connection to a real listener is not.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var any = try #require(RawSocket.Address(.ipv4(.loopback, port: 0)))
        _ = withUnsafePointer(to: &any.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, any.length) } }
        #expect(Glibc.listen(listener, 1) == 0)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let listenerAddress = try #require(RawSocket.localAddress(listener))
        let listening = try #require(RawSocket.Address(listenerAddress))
        #expect(RawSocket.connect(client, listening).errno == nil)
        #expect(!RawSocket.isConnectedToItself(client))
    }
}
