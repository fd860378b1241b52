import SockscopeCore

/// A time series drawn as columns of block characters, one column per second, newest at
/// the right. The scale is linear from 0 to `top`, each row eight steps high (`▁` to `█`,
/// or `_ - = #` without UTF-8). A second with nothing known is blank; a second at zero is
/// `·` (`.`) on the bottom row, so a stall reads as a dotted floor, not as a gap.
enum TimeGraph {
    static let eighths: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let asciiEighths: [Character] = ["_", "_", "-", "-", "=", "=", "#", "#"]

    /// `height` strings of `values.count` characters, the top row first.
    static func rows(_ values: [Int?], top: Int, height: Int, glyphs: Glyphs) -> [String] {
        let height = max(1, height)
        let steps = height * 8
        let levels = values.map { value -> Int? in
            guard let value else { return nil }
            guard value > 0 else { return 0 }
            // Any non-zero value shows at least one step: a trickle is not a stall.
            return max(1, min(steps, Int((Double(value) * Double(steps) / Double(max(1, top))).rounded(.up))))
        }
        let full: Character = glyphs == .unicode ? "█" : "#"
        let zero: Character = glyphs == .unicode ? "·" : "."
        let partial = glyphs == .unicode ? eighths : asciiEighths
        return (0..<height).map { row in
            // Rows counted from the bottom: row 0 holds steps 1-8.
            let fromBottom = height - 1 - row
            return String(levels.map { level -> Character in
                guard let level else { return " " }
                if level == 0 { return fromBottom == 0 ? zero : " " }
                let inRow = level - fromBottom * 8
                if inRow >= 8 { return full }
                return inRow > 0 ? partial[inRow - 1] : " "
            })
        }
    }

    /// One character per second: `mark` where `values` is above zero, blank elsewhere.
    static func marks(_ values: [Int], mark: Character = "!") -> String {
        String(values.map { $0 > 0 ? mark : " " })
    }
}

/// A bar filled to `fraction` of `width` columns: `████▌░░░░░` (eighths of a cell), or
/// `#####-----` without UTF-8.
enum ProgressBar {
    static let eighths: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    static func text(_ fraction: Double, width: Int, glyphs: Glyphs) -> String {
        guard width > 0 else { return "" }
        let clamped = min(1, max(0, fraction))
        if glyphs == .ascii {
            let filled = Int((clamped * Double(width)).rounded(.down))
            return String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        }
        let steps = Int((clamped * Double(width * 8)).rounded(.down))
        let whole = steps / 8
        var text = String(repeating: "█", count: whole)
        if whole < width {
            text.append(steps % 8 == 0 ? "░" : eighths[steps % 8 - 1])
            text += String(repeating: "░", count: width - whole - 1)
        }
        return text
    }
}
