public enum Pane: Int, Hashable, Sendable, CaseIterable {
    case listeners, connections, detail, log

    public var title: String {
        switch self {
        case .listeners: "Listening"
        case .connections: "Connections"
        case .detail: "Detail"
        case .log: "Log"
        }
    }
}

/// The one-line editor at the bottom of the screen.
/// Tab pressed again over several candidates: each in turn takes the word's place.
public struct CompletionCycle: Hashable, Sendable {
    /// Where the word starts (characters).
    public var wordStart: Int
    /// The candidate in the text now; nil before the first.
    public var index: Int?
}

public struct Prompt: Hashable, Sendable {
    public enum Purpose: Hashable, Sendable {
        /// `:` — a line of the command language.
        case command
        /// `s` — raw text for one connection, sent on Enter with its line ending.
        case send(SocketID)
        /// `/` — a filter for the log.
        case filter
        /// `/` while the system view is shown — a filter for its rows.
        case systemFilter
        /// `/` in Connections — a filter for its rows (`ConnectionFilter`).
        case connectionFilter
        /// `/` while the scan view is shown — a filter for its rows.
        case scanFilter
    }

    public var purpose: Purpose
    public var text: String
    /// Cursor position in characters.
    public var cursor: Int
    /// The last error, shown beside the prompt without losing what was typed.
    public var error: String?
    /// Completion candidates from the last Tab, shown until the next edit.
    public var candidates: [String] = []
    /// While Tab cycles through `candidates`; any edit ends the cycle.
    public var cycle: CompletionCycle?

    public init(_ purpose: Purpose = .command, text: String = "") {
        self.purpose = purpose
        self.text = text
        self.cursor = text.count
    }

    /// What is shown before the text.
    public var label: String {
        switch purpose {
        case .command: ":"
        case .send(let id): "send \(id)> "
        case .filter, .systemFilter, .scanFilter: "/"
        case .connectionFilter: "rows/"
        }
    }
}

/// How data entries in the log are shown.
public enum DataView: Hashable, Sendable {
    case text, hex
}

/// How log times are shown.
public enum TimestampStyle: Hashable, Sendable {
    /// Wall-clock time of day (UTC).
    case absolute
    /// Seconds since the first entry of the session.
    case relative
}

/// The characters the terminal can show: the app's own marks (sparklines) fall back to
/// ASCII when the user's locale is not UTF-8 (`CursesTerminal.localeIsUTF8`).
public enum Glyphs: Hashable, Sendable {
    case unicode, ascii
}

/// A dangerous action waiting for `y`: the command runs as it was built, never re-parsed.
public struct Confirmation: Hashable, Sendable {
    public var question: String
    public var command: Command
}

/// Everything about the view that is not socket data.
public struct ViewState: Hashable, Sendable {
    public var width = 80
    public var height = 24
    public var focus: Pane = .listeners {
        didSet { if focus == .listeners || focus == .connections { detailTable = focus } }
    }
    /// The table whose selection Detail shows: the one focused last, so a listener
    /// can be read (and zoomed) in Detail as well as a connection.
    public private(set) var detailTable: Pane = .listeners
    public var zoomed = false
    public var selectedListener: SocketID?
    public var selectedConnection: SocketID?
    /// Entries scrolled up from the newest matching log entry; 0 follows new entries.
    public var logScroll = 0
    public var dataView: DataView = .text
    /// Data entries in the log: one line each (false: the count and the start of the payload,
    /// … when there is more), or the whole kept payload with its real line breaks, each
    /// direction in its color, as a conversation (`e`).
    public var logExpanded = false

    /// Whether the log reads as the followed connection's conversation (`LogBook.followed`,
    /// data whole): then `logScroll` counts screen lines, not entries, so a long response
    /// can be read from its first line.
    public func scrollsByLine(followed: SocketID?) -> Bool {
        guard let followed, logExpanded, dataView == .text, let filter = logFilter else { return false }
        return SocketID(parsing: filter.trimmingWhitespace) == followed
    }

    public var timestamps: TimestampStyle = .absolute
    /// Text, socket id or direction the log is filtered by.
    public var logFilter: String?
    /// The Connections pane's filter (`/` there) and order (`o`), shown in its title.
    public var connectionFilter: ConnectionFilter?
    public var connectionSort: ConnectionSort = .tree
    /// Connections pinned to the top (`m`), in the order they were pinned.
    public var pinnedConnections: [SocketID] = []
    /// `f`: the selection follows the busiest connection (checked on each rate tick).
    public var followsBusiest = false
    public internal(set) var glyphs: Glyphs = .unicode
    public var prompt: Prompt?
    public var history: [String] = []
    public var historyIndex: Int?
    public var showHelp = false
    public var helpScroll = 0
    public var confirmation: Confirmation?
    /// A short message for the status line; cleared by the next key, or by a
    /// tick about `flashSeconds` after it first appeared.
    public var flash: String? {
        didSet { if flash != oldValue { flashSince = nil } }
    }
    /// When a tick first saw the current flash.
    public var flashSince: Timestamp?
    public static let flashSeconds: Int64 = 5

    /// The socket Detail shows: the selection of the table focused last, else the other's.
    public var detailSocket: SocketID? {
        detailTable == .listeners ? selectedListener ?? selectedConnection : selectedConnection ?? selectedListener
    }

    public var isFollowingLog: Bool { logScroll == 0 }

    /// Commands remembered for ↑/↓ (and kept across runs by the app).
    public static let historyLimit = 500
}
