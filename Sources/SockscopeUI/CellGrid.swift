import SockscopeCore

/// One terminal cell.
public struct Cell: Hashable, Sendable {
    public var character: Character
    public var role: StyleRole
    /// The right half of a double-width character: the terminal draws nothing here.
    public var isContinuation: Bool

    public static let blank = Cell(character: " ", role: .normal, isContinuation: false)
}

/// An off-screen screen: rendering writes cells here, the terminal layer copies
/// it to ncurses, and tests compare it as text.
public struct CellGrid: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    /// Writes `text` at (x, y), clipped to `maxWidth` columns and the grid.
    /// Anything unsafe for a terminal is replaced: callers escape untrusted
    /// text first, this is the last line of defence. Returns the columns used.
    @discardableResult
    public mutating func put(_ text: some StringProtocol, x: Int, y: Int, maxWidth: Int = .max, role: StyleRole = .normal) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(width, x.addingReportingOverflow(maxWidth).overflow ? width : x + maxWidth)
        var column = x
        for original in text {
            let (character, w) = Self.shown(original)
            if column + w > limit { break }
            if column >= 0 {
                cells[y * width + column] = Cell(character: character, role: role, isContinuation: false)
                for right in 1..<max(1, w) {
                    cells[y * width + column + right] = Cell(character: " ", role: role, isContinuation: true)
                }
            }
            column += w
        }
        return column - x
    }

    /// A character as the grid holds it, and its columns: "?" for one with a scalar
    /// `DisplayText` would escape, and for one taking no column (a combining mark with
    /// no base: ncurses would add it to the cell before, which holds something else).
    private static func shown(_ character: Character) -> (Character, Int) {
        if let ascii = character.asciiValue {
            return ascii >= 0x20 && ascii < 0x7F ? (character, 1) : ("?", 1)
        }
        guard let columns = TextWidth.columns(ifShown: character), columns > 0 else { return ("?", 1) }
        return (character, columns)
    }

    /// Sets the role of a run of cells, keeping their characters.
    public mutating func paint(x: Int, y: Int, width runWidth: Int, role: StyleRole) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(width, x + max(0, runWidth)) { cells[y * width + column].role = role }
    }

    /// Fills a rectangle with blanks of the given role.
    public mutating func clear(_ rect: Rect, role: StyleRole = .normal) {
        for row in max(0, rect.y)..<min(height, rect.y + rect.height) {
            for column in max(0, rect.x)..<min(width, rect.x + rect.width) {
                cells[row * width + column] = Cell(character: " ", role: role, isContinuation: false)
            }
        }
    }

    /// The screen as text, one string per row (trailing spaces kept).
    public var textLines: [String] {
        (0..<height).map { row in
            var line = ""
            for column in 0..<width where !self[column, row].isContinuation { line.append(self[column, row].character) }
            return line
        }
    }

    /// The roles as one code letter per cell, for style snapshots.
    public var roleLines: [String] {
        (0..<height).map { row in String((0..<width).map { self[$0, row].role.code }) }
    }
}

/// A rectangle on the grid.
public struct Rect: Hashable, Sendable {
    public var x, y, width, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The area inside a one-cell border.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }
}
