/// A short, stable name for a socket, shown everywhere: `L1` is the first
/// listener, `C3` the third connection, `S1` the first step-mode socket.
public struct SocketID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: Character, Sendable, CaseIterable {
        case listener = "L"
        case connection = "C"
        case socket = "S"
    }

    public let kind: Kind
    public let number: Int

    public init(_ kind: Kind, _ number: Int) {
        self.kind = kind
        self.number = number
    }

    /// Parses `L1`, `c3`, `S12`; nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let first = text.first, let kind = Kind(rawValue: Character(first.uppercased())),
              text.count > 1, let number = Int(text.dropFirst()), number > 0,
              text.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        self.init(kind, number)
    }

    public var description: String {
        var out: [UInt8] = []
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `description` appended to `out` as UTF-8.
    func appendText(to out: inout [UInt8]) {
        // Spelled out: `Character.asciiValue` cost more than the rest of the line.
        let letter: UInt8 = switch kind {
        case .listener: UInt8(ascii: "L")
        case .connection: UInt8(ascii: "C")
        case .socket: UInt8(ascii: "S")
        }
        out.append(letter)
        ASCIIText.appendDecimal(number, to: &out)
    }

    public static func < (lhs: SocketID, rhs: SocketID) -> Bool {
        lhs.kind.rawValue != rhs.kind.rawValue
            ? lhs.kind.rawValue < rhs.kind.rawValue : lhs.number < rhs.number
    }
}

/// Correlates an engine request with the events that answer it, so scripted
/// commands can run one after another.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "#\(value)" }
}
