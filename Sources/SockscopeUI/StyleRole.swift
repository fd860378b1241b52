/// What a cell means, not how it looks: the terminal layer maps roles to
/// colours per theme (htop's habit), and snapshots can assert on meaning.
public enum StyleRole: UInt8, Hashable, Sendable, CaseIterable {
    case normal, dim, border, borderFocused, title, titleFocused, header
    case selection, selectionUnfocused, incoming, outgoing, error, info, command, warning
    case status, flash, footerKey, footerText, prompt

    /// One letter per role for style snapshots.
    public var code: Character {
        switch self {
        case .normal: "."
        case .dim: "d"
        case .border: "b"
        case .borderFocused: "B"
        case .title: "t"
        case .titleFocused: "T"
        case .header: "h"
        case .selection: "S"
        case .selectionUnfocused: "s"
        case .incoming: "i"
        case .outgoing: "o"
        case .error: "E"
        case .info: "n"
        case .command: "c"
        case .warning: "W"
        case .status: "="
        case .flash: "F"
        case .footerKey: "K"
        case .footerText: "k"
        case .prompt: "p"
        }
    }
}
