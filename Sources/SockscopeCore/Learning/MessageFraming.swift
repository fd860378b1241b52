/// The two usual ways to find messages in a TCP byte stream, as a reader applies them
/// to each read: keep what is left of an unfinished message, cut off every finished one.
/// `lab framing` runs the bytes it really read through them.
public struct MessageFraming: Sendable {
    public enum Rule: Hashable, Sendable {
        /// Each message ends with `\n` (not part of the message).
        case lines
        /// Each message is preceded by its length, 2 bytes big-endian.
        case lengthPrefix16
    }

    public let rule: Rule
    /// Bytes read and not yet part of a whole message.
    public private(set) var pending: [UInt8] = []

    public init(_ rule: Rule) {
        self.rule = rule
    }

    /// Adds one read and returns the messages it finished, in order.
    public mutating func add(_ read: [UInt8]) -> [[UInt8]] {
        pending += read
        var messages: [[UInt8]] = []
        switch rule {
        case .lines:
            while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                messages.append(Array(pending[..<end]))
                pending.removeSubrange(...end)
            }
        case .lengthPrefix16:
            while pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                guard pending.count >= 2 + length else { break }
                messages.append(Array(pending[2..<(2 + length)]))
                pending.removeSubrange(..<(2 + length))
            }
        }
        return messages
    }

    /// A message with its 2-byte length in front (at most 65,535 bytes).
    public static func lengthPrefixed(_ message: [UInt8]) -> [UInt8] {
        precondition(message.count <= 0xFFFF, "a 2-byte length holds at most 65535")
        return [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }
}
