/// Reads the two handshake messages TLS sends in the clear, the ClientHello and the
/// ServerHello (RFC 8446 §4.1.2-4.1.3, RFC 5246 §7.4.1), for what swift-nio-ssl has no
/// accessor for: the cipher suite the server chose, whether it resumed a session, and on
/// a listener the SNI and ALPN list the client sent. Parsing only: no cryptography, and
/// anything malformed or cut short just leaves the fields unknown.
struct TLSHelloReader {
    /// What the first handshake message of one direction said.
    struct Hello: Equatable {
        var serverName: String?
        var alpn: [String] = []
        /// The legacy session id (TLS 1.2 resumption echoes the client's).
        var sessionID: [UInt8] = []
        /// ServerHello only.
        var cipherSuite: UInt16?
        /// ServerHello only: supported_versions chose TLS 1.3.
        var selectedTLS13 = false
        /// ServerHello only: pre_shared_key accepted (a TLS 1.3 resumption).
        var acceptedPreSharedKey = false
    }

    private var pending: [UInt8] = []
    private(set) var hello: Hello?
    private(set) var gaveUp = false

    /// A hello is at most a few KiB; a peer that sends more before one completes is not speaking TLS.
    static let limit = 64 * 1024

    /// Whether more bytes are wanted.
    var isDone: Bool { hello != nil || gaveUp }

    /// Feeds bytes of one direction as they pass (records may be split anywhere).
    mutating func feed(_ bytes: UnsafeRawBufferPointer, expecting type: UInt8) {
        guard !isDone else { return }
        pending.append(contentsOf: bytes)
        if pending.count > Self.limit { return giveUp() }
        // Join the payloads of handshake records until the first message is whole.
        var message: [UInt8] = []
        var offset = 0
        while offset + 5 <= pending.count {
            guard pending[offset] == 22 else { return giveUp() }  // not a handshake record
            let length = Int(pending[offset + 3]) << 8 | Int(pending[offset + 4])
            guard offset + 5 + length <= pending.count else { break }
            message += pending[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if message.count >= 4 {
                guard message[0] == type else { return giveUp() }
                let bodyLength = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
                if message.count >= 4 + bodyLength {
                    hello = Self.parse(Array(message[4..<(4 + bodyLength)]), isClient: type == 1)
                    if hello == nil { gaveUp = true }
                    pending = []
                    return
                }
            }
        }
    }

    private mutating func giveUp() {
        gaveUp = true
        pending = []
    }

    static let clientHello: UInt8 = 1
    static let serverHello: UInt8 = 2

    /// The body of a ClientHello or ServerHello.
    static func parse(_ body: [UInt8], isClient: Bool) -> Hello? {
        var reader = ByteReader(body)
        var hello = Hello()
        guard reader.skip(2 + 32),  // legacy_version, random
              let sessionID = reader.vector(lengthBytes: 1) else { return nil }
        hello.sessionID = sessionID
        if isClient {
            guard reader.vector(lengthBytes: 2) != nil, reader.vector(lengthBytes: 1) != nil else { return nil }
        } else {
            guard let suite = reader.uint16(), reader.skip(1) else { return nil }
            hello.cipherSuite = suite
        }
        guard !reader.isAtEnd else { return hello }  // no extensions (old TLS)
        guard let extensions = reader.vector(lengthBytes: 2) else { return nil }
        var list = ByteReader(extensions)
        while !list.isAtEnd {
            guard let type = list.uint16(), let data = list.vector(lengthBytes: 2) else { return nil }
            var field = ByteReader(data)
            switch type {
            case 0 where isClient:  // server_name: list of (type, name); type 0 is a host name
                guard let names = field.vector(lengthBytes: 2) else { return nil }
                var entries = ByteReader(names)
                while !entries.isAtEnd {
                    guard let kind = entries.uint8(), let name = entries.vector(lengthBytes: 2) else { return nil }
                    if kind == 0 { hello.serverName = String(decoding: name, as: UTF8.self) }
                }
            case 16:  // application_layer_protocol_negotiation
                guard let protocols = field.vector(lengthBytes: 2) else { return nil }
                var entries = ByteReader(protocols)
                while !entries.isAtEnd {
                    guard let name = entries.vector(lengthBytes: 1) else { return nil }
                    hello.alpn.append(String(decoding: name, as: UTF8.self))
                }
            case 43 where !isClient:  // supported_versions: the one chosen
                hello.selectedTLS13 = field.uint16() == 0x0304
            case 41 where !isClient:  // pre_shared_key: the server took one of the client's
                hello.acceptedPreSharedKey = true
            default:
                break
            }
        }
        return hello
    }

    /// Whether the server resumed a session, from both hellos.
    static func resumed(client: Hello?, server: Hello?) -> Bool? {
        guard let server else { return nil }
        if server.selectedTLS13 { return server.acceptedPreSharedKey }
        // TLS 1.2: the server echoes the client's non-empty session id when it resumes.
        guard let client else { return nil }
        return !client.sessionID.isEmpty && client.sessionID == server.sessionID
    }
}

/// Bounds-checked reads of TLS's big-endian, length-prefixed fields.
private struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func skip(_ count: Int) -> Bool {
        guard offset + count <= bytes.count else { return false }
        offset += count
        return true
    }

    mutating func uint8() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16() -> UInt16? {
        guard offset + 2 <= bytes.count else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    /// A field preceded by its length in `lengthBytes` bytes.
    mutating func vector(lengthBytes: Int) -> [UInt8]? {
        guard offset + lengthBytes <= bytes.count else { return nil }
        var length = 0
        for index in 0..<lengthBytes { length = length << 8 | Int(bytes[offset + index]) }
        guard offset + lengthBytes + length <= bytes.count else { return nil }
        defer { offset += lengthBytes + length }
        return Array(bytes[(offset + lengthBytes)..<(offset + lengthBytes + length)])
    }
}

/// IANA names of the cipher suites BoringSSL speaks (RFC 8446 B.4, RFC 5289, RFC 7905),
/// for the code point the ServerHello carries.
enum TLSCipherSuiteNames {
    static func name(_ code: UInt16) -> String {
        names[code] ?? "0x" + String(code, radix: 16, uppercase: true)
    }

    static let names: [UInt16: String] = [
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    ]
}
