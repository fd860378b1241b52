import CNcursesShim
import Glibc
import SockscopeCore
import SockscopeUI

/// The only code that talks to ncurses: start-up, teardown, drawing a frame,
/// reading keys. ncurses is single-threaded: call everything from the thread
/// that created this object (the main thread).
public final class CursesTerminal {
    public enum StartError: Error, CustomStringConvertible {
        case noTerminal(String)
        public var description: String {
            switch self {
            case .noTerminal(let term): "cannot open the terminal (TERM=\(term)); run sockscope in a terminal, or use --headless"
            }
        }
    }

    private let screen: OpaquePointer
    private let theme: Theme
    private var pairs: [StyleRole: Int16] = [:]
    private var attributes: [StyleRole: attr_t] = [:]
    private var previous: CellGrid?
    private var isOpen = true
    /// Whether the user's locale says the terminal decodes UTF-8. When it does not, the
    /// app's own marks (sparklines) are drawn in ASCII (`Glyphs.ascii`).
    public let localeIsUTF8: Bool

    /// Switches the terminal to full-screen mode. Fails cleanly (no exit) without a terminal.
    public init(theme requested: Theme.Name) throws {
        localeIsUTF8 = sockscope_use_utf8_locale() == 1
        guard let screen = sockscope_newterm() else {
            throw StartError.noTerminal(getenv("TERM").map { String(cString: $0) } ?? "(unset)")
        }
        self.screen = screen
        set_term(screen)
        cbreak()
        noecho()
        nonl()
        keypad(sockscope_stdscr(), true)
        nodelay(sockscope_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        sockscope_enable_mouse()
        var name = requested
        if getenv("NO_COLOR") != nil { name = .mono }
        if name != .mono, has_colors() {
            start_color()
            use_default_colors()
        } else {
            name = .mono
        }
        theme = Theme(name)
        setUpStyles()
    }

    deinit { close() }

    /// Restores the terminal. Safe to call twice.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        endwin()
        delscreen(screen)
    }

    public var size: (width: Int, height: Int) {
        (Int(getmaxx(sockscope_stdscr())), Int(getmaxy(sockscope_stdscr())))
    }

    private func setUpStyles() {
        var nextPair: Int16 = 1
        let colours = theme.name != .mono && sockscope_colors() >= 8
        for role in StyleRole.allCases {
            let look = theme.look(role)
            var attrs = SOCKSCOPE_A_NORMAL
            if look.bold { attrs |= SOCKSCOPE_A_BOLD }
            if look.dim { attrs |= SOCKSCOPE_A_DIM }
            if look.reverse { attrs |= SOCKSCOPE_A_REVERSE }
            attributes[role] = attrs
            if colours, Int(nextPair) < sockscope_color_pairs() {
                init_pair(nextPair, look.foreground, look.background)
                pairs[role] = nextPair
                nextPair += 1
            } else {
                pairs[role] = 0
            }
        }
    }

    /// Draws a frame. Only rows that changed since the last frame are sent to
    /// ncurses, which in turn writes only changed cells to the terminal.
    public func present(_ frame: Frame) {
        let grid = frame.grid
        let full = previous == nil || previous!.width != grid.width || previous!.height != grid.height
        if full { erase() }
        for row in 0..<grid.height {
            if !full, let previous, rowEqual(previous, grid, row) { continue }
            drawRow(grid, row)
        }
        previous = grid
        if let x = frame.cursorX, let y = frame.cursorY {
            curs_set(1)
            move(Int32(y), Int32(x))
        } else {
            curs_set(0)
        }
        refresh()
    }

    /// Forgets what is on screen, so the next frame is drawn in full.
    public func invalidate() { previous = nil }

    private func rowEqual(_ a: CellGrid, _ b: CellGrid, _ row: Int) -> Bool {
        let start = row * a.width
        return a.cells[start..<(start + a.width)] == b.cells[start..<(start + b.width)]
    }

    private func drawRow(_ grid: CellGrid, _ row: Int) {
        var column = 0
        while column < grid.width {
            let role = grid[column, row].role
            let start = column
            var run = ""
            while column < grid.width, grid[column, row].role == role {
                let cell = grid[column, row]
                if !cell.isContinuation { run.append(cell.character) }
                column += 1
            }
            // Writing the last cell of the screen scrolls some terminals; ncurses
            // handles it, but a failed write there is harmless.
            var bytes = Array(run.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    _ = sockscope_put_utf8(Int32(row), Int32(start), chars.baseAddress, Int32(chars.count),
                                           attributes[role] ?? SOCKSCOPE_A_NORMAL, pairs[role] ?? 0)
                }
            }
        }
    }

    /// Everything ncurses has buffered, without blocking. Call after poll()
    /// says stdin is readable, and after EINTR (a resize arrives as a key).
    public func readInput() -> [TerminalInput] {
        var inputs: [TerminalInput] = []
        while true {
            var code: UInt32 = 0
            let rc = sockscope_read_key(&code)
            if rc == ERR { break }
            if rc == KEY_CODE_YES {
                if let input = Self.specialKey(Int32(code), size: size) { inputs.append(input) }
            } else if let key = Self.characterKey(code) {
                inputs.append(.key(key))
            }
            if inputs.count > 4096 { break }
        }
        return inputs
    }

    static func characterKey(_ code: UInt32) -> KeyPress? {
        switch code {
        case 10, 13: return .enter
        case 9: return .tab
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .control(Character(Unicode.Scalar(code + 96)!))
        default:
            guard let scalar = Unicode.Scalar(code) else { return nil }
            return .character(Character(scalar))
        }
    }

    static func specialKey(_ code: Int32, size: (width: Int, height: Int)) -> TerminalInput? {
        switch code {
        case KEY_RESIZE: return .resize(width: size.width, height: size.height)
        case KEY_MOUSE:
            var y: Int32 = 0, x: Int32 = 0, kind: Int32 = 0
            guard sockscope_mouse(&y, &x, &kind) == 0 else { return nil }
            switch kind {
            case 4: return .wheel(x: Int(x), y: Int(y), lines: -3)
            case 5: return .wheel(x: Int(x), y: Int(y), lines: 3)
            default: return .click(x: Int(x), y: Int(y))
            }
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_BTAB: return .key(.backTab)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_ENTER: return .key(.enter)
        case KEY_F0 + 1...KEY_F0 + 12: return .key(.function(Int(code - KEY_F0)))
        default: return nil
        }
    }
}
