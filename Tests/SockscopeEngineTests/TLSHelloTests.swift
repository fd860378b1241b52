import Testing
@testable import SockscopeEngine

/// The hello reader on handshake messages built field by field (RFC 8446 §4.1.2-4.1.3), fed as
/// TLS records split at awkward places, as TCP may deliver them.
@Suite struct TLSHelloTests {
    static func vector(_ bytes: [UInt8], lengthBytes: Int) -> [UInt8] {
        (0..<lengthBytes).reversed().map { UInt8(truncatingIfNeeded: bytes.count >> (8 * $0)) } + bytes
    }

    static func `extension`(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        [UInt8(type >> 8), UInt8(type & 0xFF)] + vector(data, lengthBytes: 2)
    }

    static func record(handshakeType: UInt8, body: [UInt8]) -> [UInt8] {
        let message = [handshakeType] + vector(body, lengthBytes: 3)
        return [22, 3, 1] + vector(message, lengthBytes: 2)
    }

    static func clientHello(sessionID: [UInt8], sni: String, alpn: [String]) -> [UInt8] {
        let names = vector([0] + vector(Array(sni.utf8), lengthBytes: 2), lengthBytes: 2)
        let protocols = vector(alpn.flatMap { vector(Array($0.utf8), lengthBytes: 1) }, lengthBytes: 2)
        let extensions = Self.extension(0, names) + Self.extension(16, protocols)
        let body = [3, 3] + [UInt8](repeating: 7, count: 32) + vector(sessionID, lengthBytes: 1)
            + vector([0x13, 0x01, 0xC0, 0x2F], lengthBytes: 2) + vector([0], lengthBytes: 1) + vector(extensions, lengthBytes: 2)
        return record(handshakeType: 1, body: body)
    }

    static func serverHello(sessionID: [UInt8], suite: UInt16, tls13: Bool, psk: Bool) -> [UInt8] {
        var extensions: [UInt8] = []
        if tls13 { extensions += Self.extension(43, [0x03, 0x04]) }
        if psk { extensions += Self.extension(41, [0, 0]) }
        let body = [3, 3] + [UInt8](repeating: 9, count: 32) + vector(sessionID, lengthBytes: 1)
            + [UInt8(suite >> 8), UInt8(suite & 0xFF), 0] + vector(extensions, lengthBytes: 2)
        return record(handshakeType: 2, body: body)
    }

    static func read(_ bytes: [UInt8], type: UInt8, splitAt cuts: [Int]) -> TLSHelloReader.Hello? {
        var reader = TLSHelloReader()
        var start = 0
        for end in cuts + [bytes.count] {
            bytes[start..<end].withUnsafeBytes { reader.feed($0, expecting: type) }
            start = end
        }
        return reader.hello
    }

    @Test func readsSNIAndALPNFromAClientHelloInPieces() {
        let bytes = Self.clientHello(sessionID: [1, 2, 3], sni: "example.com", alpn: ["h2", "http/1.1"])
        for cuts in [[], [1], [3, 40], Array(stride(from: 1, to: bytes.count, by: 7))] {
            let hello = Self.read(bytes, type: TLSHelloReader.clientHello, splitAt: cuts)
            #expect(hello?.serverName == "example.com", "\(cuts)")
            #expect(hello?.alpn == ["h2", "http/1.1"])
            #expect(hello?.sessionID == [1, 2, 3])
        }
    }

    @Test func resumptionIsAPreSharedKeyInTLS13AndAnEchoedSessionIDInTLS12() {
        let client = Self.read(Self.clientHello(sessionID: [5, 5], sni: "a", alpn: []), type: 1, splitAt: [])
        let fresh13 = Self.read(Self.serverHello(sessionID: [5, 5], suite: 0x1301, tls13: true, psk: false), type: 2, splitAt: [10])
        let resumed13 = Self.read(Self.serverHello(sessionID: [5, 5], suite: 0x1301, tls13: true, psk: true), type: 2, splitAt: [])
        let resumed12 = Self.read(Self.serverHello(sessionID: [5, 5], suite: 0xC02F, tls13: false, psk: false), type: 2, splitAt: [])
        let fresh12 = Self.read(Self.serverHello(sessionID: [6, 6], suite: 0xC02F, tls13: false, psk: false), type: 2, splitAt: [])
        // TLS 1.3 echoes the client's (compatibility) session id always: only the PSK says resumed.
        #expect(TLSHelloReader.resumed(client: client, server: fresh13) == false)
        #expect(TLSHelloReader.resumed(client: client, server: resumed13) == true)
        #expect(TLSHelloReader.resumed(client: client, server: resumed12) == true)
        #expect(TLSHelloReader.resumed(client: client, server: fresh12) == false)
        #expect(fresh13?.cipherSuite.map(TLSCipherSuiteNames.name) == "TLS_AES_128_GCM_SHA256")
        #expect(TLSCipherSuiteNames.name(0xC0FF) == "0xC0FF")
    }

    @Test func somethingElseThanAHelloIsGivenUpOnNotMisread() {
        var reader = TLSHelloReader()
        Array("GET / HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { reader.feed($0, expecting: 1) }
        #expect(reader.isDone && reader.hello == nil)
        let truncated = Array(Self.clientHello(sessionID: [], sni: "a", alpn: ["h2"]).dropLast(3))
        #expect(Self.read(truncated, type: 1, splitAt: []) == nil)
        // A ServerHello where a ClientHello was expected.
        #expect(Self.read(Self.serverHello(sessionID: [], suite: 0x1301, tls13: true, psk: false), type: 1, splitAt: []) == nil)
    }
}
