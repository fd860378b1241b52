import SockscopeCore

/// What the terminal delivers besides nothing.
public enum TerminalInput: Hashable, Sendable {
    case key(KeyPress)
    case resize(width: Int, height: Int)
    case click(x: Int, y: Int)
    /// The wheel: positive scrolls down.
    case wheel(x: Int, y: Int, lines: Int)
}
