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
    /// `[::1]:5000` → `::1`; `127.0.0.1:5000` → `127.0.0.1`; a bare address stays.
    public static func hostPart(_ text: String) -> String {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return String(text[..<colon])
        }
        return text
    }

    /// `[::1]:5000` → 5000; `127.0.0.1:5000` → 5000; nil when there is no port.
    public static func portPart(_ text: String) -> Int? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { return nil }
            return Int(text[text.index(close, offsetBy: 2)...])
        }
        guard text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") else { return nil }
        return Int(text[text.index(after: colon)...])
    }

    /// 4 bytes for IPv4, 16 for IPv6 (a zone id is ignored); nil if `text` is neither.
    public static func parse(_ text: String) -> [UInt8]? {
        text.contains(":") ? parseIPv6(text) : parseIPv4(text)
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
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
                    guard let v4 = parseIPv4(String(piece)) else { return nil }
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
