/// An IPv4 address, first octet in the high byte: `127.0.0.1` is `0x7F00_0001`.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// `0.0.0.0`: every interface.
    public static let any = IPv4Address(0)
    /// `127.0.0.1`.
    public static let loopback = IPv4Address(127, 0, 0, 1)

    /// 127.0.0.0/8.
    public var isLoopback: Bool { value >> 24 == 127 }

    /// The dotted quad, without the C library: one of these is written for every accepted connection.
    public func appendText(to out: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) {
            if shift < 24 { out.append(UInt8(ascii: ".")) }
            ASCIIText.appendDecimal(Int(value >> UInt32(shift) & 0xFF), to: &out)
        }
    }

    public var description: String {
        var out: [UInt8] = []
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A dotted quad as a person writes it (`--allow`, step mode); nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let bytes = IPAddressText.parseIPv4(text) else { return nil }
        self.init(bytes[0], bytes[1], bytes[2], bytes[3])
    }
}

/// An IPv6 address, first octet in the high byte of `high`.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 16 octets, first first.
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16)
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        self.init(value)
    }

    public init(_ value: UInt128) {
        self.init(high: UInt64(truncatingIfNeeded: value >> 64), low: UInt64(truncatingIfNeeded: value))
    }

    public var value: UInt128 { UInt128(high) << 64 | UInt128(low) }

    /// `::`: every interface.
    public static let any = IPv6Address(high: 0, low: 0)
    /// `::1`.
    public static let loopback = IPv6Address(high: 0, low: 1)

    /// The IPv4 address inside an IPv4-mapped one (`::ffff:a.b.c.d`): how an IPv4 peer
    /// looks to a socket listening on `::`.
    public var mappedIPv4: IPv4Address? {
        high == 0 && low >> 32 == 0xFFFF ? IPv4Address(UInt32(truncatingIfNeeded: low)) : nil
    }

    /// `::1`, or a mapped IPv4 loopback address.
    public var isLoopback: Bool { self == .loopback || mappedIPv4?.isLoopback == true }

    /// The eight 16-bit groups, first first.
    private func group(_ index: Int) -> Int {
        Int(truncatingIfNeeded: (index < 4 ? high >> UInt64(48 - 16 * index) : low >> UInt64(48 - 16 * (index - 4))) & 0xFFFF)
    }

    /// RFC 5952 text (lowercase, the longest run of two or more zero groups as `::`), with
    /// IPv4-mapped addresses as `::ffff:a.b.c.d`, as inet_ntop writes them.
    public func appendText(to out: inout [UInt8]) {
        if let mapped = mappedIPv4 {
            out.append(contentsOf: "::ffff:".utf8)
            return mapped.appendText(to: &out)
        }
        var bestStart = -1, bestLength = 0, start = -1
        for index in 0...8 {
            if index < 8, group(index) == 0 {
                if start < 0 { start = index }
            } else if start >= 0 {
                if index - start > bestLength { (bestStart, bestLength) = (start, index - start) }
                start = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var index = 0
        while index < 8 {
            if index == bestStart {
                out.append(contentsOf: "::".utf8)
                index += bestLength
                continue
            }
            if index > 0, index != bestStart + bestLength || bestStart < 0 { out.append(UInt8(ascii: ":")) }
            Self.appendHex(group(index), to: &out)
            index += 1
        }
    }

    private static func appendHex(_ value: Int, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        var shift = 12
        while shift > 0, value >> shift == 0 { shift -= 4 }
        while shift >= 0 {
            out.append(digits[value >> shift & 0xF])
            shift -= 4
        }
    }

    public var description: String {
        var out: [UInt8] = []
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// IPv6 text as a person writes it (`--allow ::1`); a zone id is ignored. Nil for anything else.
    public init?(parsing text: String) {
        guard let bytes = IPAddressText.parseIPv6(text) else { return nil }
        self.init(bytes: bytes)
    }
}

/// The address one end of a socket has, as the kernel reports it: what events carry and
/// state keeps (`EngineEvent`, `ConnectionRow`, `SyscallRecord`, `SystemSocket`). Not
/// to be confused with `Endpoint`, a place to listen or connect as the user wrote it
/// (host names included). Formatted here and nowhere else; nothing reads it back from
/// its text (the parsers below are for what people type).
public enum SocketEndpoint: Hashable, Sendable, CustomStringConvertible {
    case ipv4(IPv4Address, port: UInt16)
    case ipv6(IPv6Address, port: UInt16)
    /// A UNIX socket bound at a filesystem path: its bytes as the kernel holds them (anything but NUL).
    case unixPath([UInt8])
    /// A UNIX socket in Linux's abstract namespace: the name's bytes after its leading NUL (any bytes).
    case unixAbstract([UInt8])
    /// A UNIX socket with no name (a client that never bound).
    case unnamed
    /// The kernel gave no address (the socket was already gone when asked).
    case unknown

    /// A UNIX socket's name as people write it (`UnixSocketName`, `unix:PATH`): a leading `@` names an abstract socket.
    public static func unix(_ name: String) -> SocketEndpoint {
        name.hasPrefix("@") ? .unixAbstract(Array(name.utf8.dropFirst())) : .unixPath(Array(name.utf8))
    }

    /// The wildcard address of one family (`0.0.0.0` or `::`): a listener there takes every interface.
    public static func wildcard(ipv6: Bool, port: UInt16) -> SocketEndpoint {
        ipv6 ? .ipv6(.any, port: port) : .ipv4(.any, port: port)
    }

    /// The loopback address of one family (`127.0.0.1` or `::1`).
    public static func loopback(ipv6: Bool, port: UInt16) -> SocketEndpoint {
        ipv6 ? .ipv6(.loopback, port: port) : .ipv4(.loopback, port: port)
    }

    /// The port of an IP endpoint.
    public var port: UInt16? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, let port): port
        default: nil
        }
    }

    public var isIP: Bool { port != nil }

    /// `0.0.0.0` or `::`: bound to every interface, so reachable from the network.
    public var isWildcard: Bool {
        switch self {
        case .ipv4(let address, _): address == .any
        case .ipv6(let address, _): address == .any
        default: false
        }
    }

    public var isLoopback: Bool {
        switch self {
        case .ipv4(let address, _): address.isLoopback
        case .ipv6(let address, _): address.isLoopback
        default: false
        }
    }

    /// Where a client on this machine reaches this address: the loopback address of the same
    /// family and port for a wildcard one (a listener on `0.0.0.0` or `::`), the address itself otherwise.
    public var connectable: SocketEndpoint {
        switch self {
        case .ipv4(_, let port) where isWildcard: .loopback(ipv6: false, port: port)
        case .ipv6(_, let port) where isWildcard: .loopback(ipv6: true, port: port)
        default: self
        }
    }

    /// The place to connect to for a client of `transport` (`tcp://127.0.0.1:9000`, `unix:/tmp/s`);
    /// nil when there is nothing to connect to (no name, or a path that is not UTF-8).
    public func connectTarget(_ transport: TransportProtocol) -> Endpoint? {
        switch connectable {
        case .ipv4(let address, let port): .inet(transport, host: address.description, port: Int(port))
        case .ipv6(let address, let port): .inet(transport, host: address.description, port: Int(port))
        case .unixPath(let bytes), .unixAbstract(let bytes):
            String(validating: bytes, as: UTF8.self).map { path in
                let name = if case .unixAbstract = self { "@" + path } else { path }
                return transport == .unixgram ? .unixDatagram(path: name) : .unix(path: name)
            }
        case .unnamed, .unknown: nil
        }
    }

    // MARK: Text

    /// `127.0.0.1:9000`, `[::1]:9000`, a UNIX path, `@name` for an abstract one, `(unnamed)`,
    /// `?`. A UNIX name may hold any byte: it is escaped as data is (`\x1b`, `\\`, invalid
    /// UTF-8 as `\xHH`), and a path's leading `@` is written `\x40`, so that the text is safe
    /// on a terminal and names one socket only. Appended as bytes: no String interpolation.
    public func appendText(to out: inout [UInt8]) {
        switch self {
        case .ipv4(let address, let port):
            address.appendText(to: &out)
            out.append(UInt8(ascii: ":"))
            ASCIIText.appendDecimal(Int(port), to: &out)
        case .ipv6(let address, let port):
            out.append(UInt8(ascii: "["))
            address.appendText(to: &out)
            out.append(contentsOf: "]:".utf8)
            ASCIIText.appendDecimal(Int(port), to: &out)
        case .unixPath(let bytes):
            if bytes.first == UInt8(ascii: "@") {
                out.append(contentsOf: #"\x40"#.utf8)
                DataEscaping.append(bytes.dropFirst(), to: &out)
            } else {
                DataEscaping.append(bytes[...], to: &out)
            }
        case .unixAbstract(let bytes):
            out.append(UInt8(ascii: "@"))
            DataEscaping.append(bytes[...], to: &out)
        case .unnamed:
            out.append(contentsOf: "(unnamed)".utf8)
        case .unknown:
            out.append(UInt8(ascii: "?"))
        }
    }

    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(21)  // 255.255.255.255:65535
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// An IP endpoint as a person writes it: `127.0.0.1:9000` or `[::1]:9000` (a zone id is
    /// ignored). Nil for anything else, names included.
    public init?(parsing text: String) {
        let bytes = text.utf8
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), bytes.index(after: close) < bytes.endIndex,
                  bytes[bytes.index(after: close)] == UInt8(ascii: ":"),
                  let address = IPv6Address(parsing: String(text[bytes.index(after: bytes.startIndex)..<close])),
                  let port = UInt16(text[bytes.index(close, offsetBy: 2)...]) else { return nil }
            self = .ipv6(address, port: port)
            return
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), let address = IPv4Address(parsing: text[..<colon]),
              let port = UInt16(text[bytes.index(after: colon)...]) else { return nil }
        self = .ipv4(address, port: port)
    }

    /// A UNIX socket's name in the form `appendText` writes it (escapes decoded; `@` for
    /// abstract names); nil for text that is not such a form.
    public init?(parsingUnix text: String) {
        if text.hasPrefix("@") {
            guard let bytes = try? EscapedText.decode(String(text.dropFirst())) else { return nil }
            self = .unixAbstract(bytes)
        } else {
            guard let bytes = try? EscapedText.decode(text), !bytes.contains(0) else { return nil }
            self = .unixPath(bytes)
        }
    }
}
