/// An IP address range written as CIDR (`10.0.0.0/8`, `::1/128`) or a single
/// address, for a listener's `--allow` and `--deny`. Pure parsing and matching.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let network: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddressText.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            length = value
        }
        network = Self.mask(address, length)
        prefixLength = length
    }

    public var description: String {
        let text = network.count == 4 ? network.map(String.init).joined(separator: ".") : IPv6Text.format(network)
        return "\(text)/\(prefixLength)"
    }

    /// Whether the address (text such as `127.0.0.1`, `::1`, `[::1]:5000` or
    /// `127.0.0.1:5000`) lies in the range. IPv4-mapped IPv6 addresses match IPv4 ranges.
    public func contains(_ addressText: String) -> Bool {
        guard var address = IPAddressText.parse(IPAddressText.hostPart(addressText)) else { return false }
        if network.count == 4, address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }),
           address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == network.count else { return false }
        return Self.mask(address, prefixLength) == network
    }

    private static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsHere = min(8, max(0, length - index * 8))
            return bitsHere == 8 ? byte : byte & ~(0xFF >> UInt8(bitsHere))
        }
    }
}

/// Parsing of IP address text into bytes, without the C library.
public enum IPAddressText {
    // These run for every accepted connection (the kernel probe reads the event's
    // text back into bytes), so they walk UTF-8 bytes rather than Characters.

    /// `[::1]:5000` → `::1`; `127.0.0.1:5000` → `127.0.0.1`; a bare address stays.
    public static func hostPart(_ text: String) -> String {
        let bytes = text.utf8
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            return String(text[bytes.index(after: bytes.startIndex)..<close])
        }
        if let colon = soleColon(bytes) { return String(text[..<colon]) }
        return text
    }

    /// `[::1]:5000` → 5000; `127.0.0.1:5000` → 5000; nil when there is no port.
    public static func portPart(_ text: String) -> Int? {
        let bytes = text.utf8
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let afterClose = bytes.index(after: close)
            guard afterClose < bytes.endIndex, bytes[afterClose] == UInt8(ascii: ":") else { return nil }
            return Int(text[bytes.index(after: afterClose)...])
        }
        guard let colon = soleColon(bytes) else { return nil }
        return Int(text[bytes.index(after: colon)...])
    }

    /// The index of the only colon, or nil when there is none or more than one (IPv6 text).
    private static func soleColon(_ bytes: String.UTF8View) -> String.Index? {
        guard let first = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return bytes[bytes.index(after: first)...].contains(UInt8(ascii: ":")) ? nil : first
    }

    /// `a.b.c.d:port` → the address as `sin_addr.s_addr` holds it (first octet first in
    /// memory) and the port; nil for anything else (IPv6, names, no port). The inverse of
    /// `AddressText.hostPort(ipv4:_:)`, read back for every accepted connection: one scan
    /// for the colon and the dotted quad parsed in place, no host or port strings.
    public static func ipv4Endpoint(_ text: String) -> (address: UInt32, port: Int)? {
        guard let colon = soleColon(text.utf8), let octets = parseIPv4(text[..<colon]),
              let port = Int(text[text.utf8.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var address: UInt32 = 0
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: octets) }
        return (address, port)
    }

    /// 4 bytes for IPv4, 16 for IPv6 (a zone id is ignored); nil if `text` is neither.
    public static func parse(_ text: String) -> [UInt8]? {
        text.utf8.contains(UInt8(ascii: ":")) ? parseIPv6(text) : parseIPv4(text)
    }

    /// Dotted quad: four parts of 1-3 ASCII digits, each at most 255.
    static func parseIPv4(_ text: some StringProtocol) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        var value = 0
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, bytes.count < 3 else { return nil }
                bytes.append(UInt8(value))
                value = 0
                digits = 0
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                guard value <= 255 else { return nil }
                digits += 1
            }
        }
        guard digits > 0, bytes.count == 3 else { return nil }
        bytes.append(UInt8(value))
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone id
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt8]? {
            guard !part.isEmpty else { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    bytes += v4
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
                }
            }
            return bytes
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension Substring {
    /// Splits on a multi-character separator (Core has no Foundation).
    func components(separatedBy separator: String) -> [Substring] {
        var result: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            result.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        result.append(rest)
        return result
    }
}

/// A listener's policy in one line for the Detail pane.
public enum AccessText {
    public static func describe(_ policy: ListenerPolicy) -> String? {
        var parts: [String] = []
        if !policy.allow.isEmpty { parts.append("allow " + policy.allow.map(\.description).joined(separator: ", ")) }
        if !policy.deny.isEmpty { parts.append("deny " + policy.deny.map(\.description).joined(separator: ", ")) }
        if let max = policy.maxConnections { parts.append("at most \(max) at once") }
        if let idle = policy.idleTimeoutMilliseconds { parts.append("closed after \(Double(idle) / 1000) s idle") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
