/// An IP address range written as CIDR (`10.0.0.0/8`, `::1/128`) or a single
/// address, for a listener's `--allow` and `--deny`. Pure parsing and matching.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    /// The network's address, host bits cleared: an IPv4 range in the low 32 bits.
    public let network: UInt128
    public let isIPv6: Bool
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        let address: UInt128
        if let v4 = IPv4Address(parsing: host) {
            (address, isIPv6) = (UInt128(v4.value), false)
        } else if let v6 = IPv6Address(parsing: host) {
            (address, isIPv6) = (v6.value, true)
        } else {
            return nil
        }
        let bits = isIPv6 ? 128 : 32
        var length = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            length = value
        }
        prefixLength = length
        network = address & Self.mask(length, bits: bits)
    }

    public var description: String {
        let text = isIPv6 ? IPv6Address(network).description : IPv4Address(UInt32(truncatingIfNeeded: network)).description
        return "\(text)/\(prefixLength)"
    }

    /// Whether the endpoint's address lies in the range. An IPv4-mapped IPv6 address (an
    /// IPv4 peer of a listener on `::`) matches IPv4 ranges; UNIX endpoints match nothing.
    public func contains(_ endpoint: SocketEndpoint) -> Bool {
        switch endpoint {
        case .ipv4(let address, _):
            return !isIPv6 && UInt128(address.value) & Self.mask(prefixLength, bits: 32) == network
        case .ipv6(let address, _):
            if !isIPv6, let mapped = address.mappedIPv4 { return contains(.ipv4(mapped, port: 0)) }
            return isIPv6 && address.value & Self.mask(prefixLength, bits: 128) == network
        case .unixPath, .unixAbstract, .unnamed, .unknown:
            return false
        }
    }

    /// The top `length` of an address's `bits` set.
    private static func mask(_ length: Int, bits: Int) -> UInt128 {
        let all: UInt128 = bits == 128 ? ~0 : (1 << UInt128(bits)) - 1
        return length == 0 ? 0 : all & ~((1 << UInt128(bits - length)) - 1)
    }
}

/// Parsing of IP address text as people write it (`--allow`, step mode) into bytes, without the C library.
public enum IPAddressText {
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
