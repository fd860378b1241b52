import SockscopeCore

/// What the terminal delivers besides nothing.
public enum TerminalInput: Hashable, Sendable {
    case key(KeyPress)
    case resize(width: Int, height: Int)
}
