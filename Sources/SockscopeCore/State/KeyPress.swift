/// A key as the terminal layer reports it, independent of ncurses.
public enum KeyPress: Hashable, Sendable {
    case character(Character)
    case control(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)

    /// How the key is written in hints and help.
    public var label: String {
        switch self {
        case .character(" "): "Space"
        case .character(let c): String(c)
        case .control(let c): "Ctrl-\(c.uppercased())"
        case .enter: "Enter"
        case .escape: "Esc"
        case .tab: "Tab"
        case .backTab: "Shift-Tab"
        case .backspace: "Backspace"
        case .delete: "Delete"
        case .up: "↑"
        case .down: "↓"
        case .left: "←"
        case .right: "→"
        case .home: "Home"
        case .end: "End"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .function(let n): "F\(n)"
        }
    }
}

/// Something the user can do with a key in the main view.
public enum UserAction: String, Hashable, Sendable, CaseIterable {
    case openPrompt, sendLine, closeSelected, resetSelected, connectAgain, showConnectionLog
    case filter, toggleHex, toggleTimestamps, zoom, togglePin, toggleFollow
    case focusNext, focusPrevious, selectNext, selectPrevious, pageDown, pageUp, jumpFirst, jumpLast
    case toggleHelp, quit, quitAsking, backOut, clearClosed, toggleLogExpanded
    case acceptOne, toggleSystemView, connectToSystemListener, cycleSort
    case toggleScanView
}

/// One row of the key table: it drives dispatch, the footer hints, the `?`
/// overlay and the README's key list, so they can never disagree.
public struct KeyBinding: Hashable, Sendable {
    public let keys: [KeyPress]
    public let action: UserAction
    /// Short text for the footer; nil keeps the binding out of the footer.
    public let hint: String?
    public let description: String
}

public enum KeyBindings {
    public static let table: [KeyBinding] = [
        KeyBinding(keys: [.character(":")], action: .openPrompt, hint: "command",
                   description: "open the command prompt (Tab completes, ↑/↓ recall history)"),
        KeyBinding(keys: [.character("s")], action: .sendLine, hint: "send",
                   description: "type a line for the selected connection; Enter sends it with the connection's line ending"),
        KeyBinding(keys: [.character("x")], action: .closeSelected, hint: "close",
                   description: "close the selected connection, or stop the selected listener (asks first if it has clients)"),
        KeyBinding(keys: [.character("R")], action: .resetSelected, hint: nil,
                   description: "reset the selected connection (RST; asks first)"),
        KeyBinding(keys: [.character("d")], action: .connectAgain, hint: nil,
                   description: "open another connection to the same peer (or to the selected listener)"),
        KeyBinding(keys: [.character("a")], action: .acceptOne, hint: nil,
                   description: "accept one client from the selected manual-accept listener (its queue shrinks by one)"),
        KeyBinding(keys: [.character("S")], action: .toggleSystemView, hint: "system",
                   description: "show or hide the system view: every socket on the machine, live (ours show their id)"),
        KeyBinding(keys: [.character("c")], action: .connectToSystemListener, hint: nil,
                   description: "in the system view: connect to the selected listener (in the scan view: to the selected open port)"),
        KeyBinding(keys: [.character("P")], action: .toggleScanView, hint: nil,
                   description: "show or hide the scan view (:scan HOST PORTS); there Enter or c connects to the open port selected"),
        KeyBinding(keys: [.character("o")], action: .cycleSort, hint: nil,
                   description: "sort Connections: rate, bytes, age, state, remote, listener (in its title); system view: next column"),
        KeyBinding(keys: [.character("m")], action: .togglePin, hint: nil,
                   description: "pin the selected connection to the top of Connections, or unpin it (pinned ids show ^)"),
        KeyBinding(keys: [.character("f")], action: .toggleFollow, hint: nil,
                   description: "follow the busiest connection: the selection moves to it as rates change (f or j/k stops)"),
        KeyBinding(keys: [.enter], action: .showConnectionLog, hint: nil,
                   description: "show only the selected socket's log entries (Esc shows all again)"),
        KeyBinding(keys: [.character("/")], action: .filter, hint: "filter",
                   description: "filter Connections (state:open port:443 proto:udp, id/address text) or the log (text, C2, in/out/error)"),
        KeyBinding(keys: [.character("h")], action: .toggleHex, hint: "hex",
                   description: "show data as text or as hex and ASCII"),
        KeyBinding(keys: [.character("t")], action: .toggleTimestamps, hint: nil,
                   description: "show times of day or seconds since the first entry"),
        KeyBinding(keys: [.character("z")], action: .zoom, hint: "zoom",
                   description: "zoom the focused pane to the whole screen and back"),
        KeyBinding(keys: [.tab], action: .focusNext, hint: "pane", description: "move focus to the next pane"),
        KeyBinding(keys: [.backTab], action: .focusPrevious, hint: nil, description: "move focus to the previous pane"),
        KeyBinding(keys: [.down, .character("j")], action: .selectNext, hint: nil,
                   description: "select the next row (in the log: scroll down)"),
        KeyBinding(keys: [.up, .character("k")], action: .selectPrevious, hint: nil,
                   description: "select the previous row (in the log: scroll up, pausing follow)"),
        KeyBinding(keys: [.pageDown, .control("f")], action: .pageDown, hint: nil, description: "one page down"),
        KeyBinding(keys: [.pageUp, .control("b")], action: .pageUp, hint: nil, description: "one page up"),
        KeyBinding(keys: [.home, .character("g")], action: .jumpFirst, hint: nil, description: "jump to the first row"),
        KeyBinding(keys: [.end, .character("G")], action: .jumpLast, hint: nil,
                   description: "jump to the last row (in the log: follow new entries again)"),
        KeyBinding(keys: [.character("?"), .function(1)], action: .toggleHelp, hint: "help",
                   description: "show or hide help: every key and command"),
        KeyBinding(keys: [.escape], action: .backOut, hint: nil,
                   description: "back out: close the overlay or prompt, clear the Connections or the log filter, unzoom"),
        KeyBinding(keys: [.character("e")], action: .toggleLogExpanded, hint: nil,
                   description: "log data: one line each, or whole with real line breaks (a conversation: Enter on a connection first)"),
        KeyBinding(keys: [.character("X")], action: .clearClosed, hint: nil,
                   description: "forget the rows of closed connections (:clear closed)"),
        KeyBinding(keys: [.character("q")], action: .quit, hint: "quit",
                   description: "quit (closes every socket and restores the terminal)"),
        KeyBinding(keys: [.control("c")], action: .quitAsking, hint: nil,
                   description: "quit, asking first while sockets are open (at the prompt: cancel the line)"),
    ]

    private static let byKey: [KeyPress: UserAction] = {
        var map: [KeyPress: UserAction] = [:]
        for binding in table { for key in binding.keys { map[key] = binding.action } }
        return map
    }()

    public static func action(for key: KeyPress) -> UserAction? { byKey[key] }

    /// `:` `?` ... as one label per binding, e.g. "↓/j".
    public static func keyLabel(_ binding: KeyBinding) -> String {
        binding.keys.map(\.label).joined(separator: "/")
    }
}
