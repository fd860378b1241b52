/// A short, stable name for a socket, shown everywhere: `L1` is the first
/// listener, `C3` the third connection, `S1` the first step-mode socket, `R1` the first relay.
public struct SocketID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The raw value is the id's letter as an ASCII byte. As a `Character` it made every
    /// dictionary lookup by id hash a grapheme cluster (~300 instructions): 3% of the
    /// engine thread's and 5% of the main thread's work per accepted connection.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case listener = 76    // L
        case connection = 67  // C
        case socket = 83      // S
        case relay = 82       // R
    }

    public let kind: Kind
    public let number: Int

    public init(_ kind: Kind, _ number: Int) {
        self.kind = kind
        self.number = number
    }

    /// Parses `L1`, `c3`, `S12`; nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let letter = text.first?.asciiValue, let kind = Kind(rawValue: letter & ~0x20),  // & ~0x20: upper case
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
        out.append(kind.rawValue)
        ASCIIText.appendDecimal(number, to: &out)
    }

    public static func < (lhs: SocketID, rhs: SocketID) -> Bool {
        lhs.kind.rawValue != rhs.kind.rawValue
            ? lhs.kind.rawValue < rhs.kind.rawValue : lhs.number < rhs.number
    }

    /// One word per id (the letter's byte below the number): ids key the engine's and the
    /// reducer's dictionaries, looked up several times per event.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(UInt(bitPattern: number) &<< 8 | UInt(kind.rawValue))
    }
}

/// Correlates an engine request with the events that answer it, so scripted
/// commands can run one after another.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "#\(value)" }
}
