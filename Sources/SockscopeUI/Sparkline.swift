import SockscopeCore

/// A rate history drawn as one character per second. The scale is shared by every row and
/// logarithmic, each step 32 times the one before (from 1 B/s, 32 B/s, 1 KiB/s, 32 KiB/s,
/// 1 MiB/s, 32 MiB/s, to 1 GiB/s and up), so rows compare at a glance. A second with no
/// bytes is the baseline (`▁`, `_`): a stall reads as a flat line, not as nothing known.
enum Sparkline {
    /// A second not seen yet, a second with no bytes, then the seven levels.
    static let unicodeLevels: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let asciiLevels: [Character] = [" ", "_", ".", ":", "-", "=", "+", "*", "#"]

    /// 0 for no bytes, else 1 (1-31 B/s) to 7 (1 GiB/s and more).
    static func level(_ bytesPerSecond: Int) -> Int {
        guard bytesPerSecond > 0 else { return 0 }
        let log2 = Int.bitWidth - bytesPerSecond.leadingZeroBitCount - 1
        return min(7, 1 + log2 / 5)
    }

    /// `rates` (oldest first) as exactly `RateHistory.capacity` characters, right-aligned:
    /// seconds not yet seen are blank.
    static func text(_ rates: [Int], glyphs: Glyphs) -> String {
        let levels = glyphs == .unicode ? unicodeLevels : asciiLevels
        let shown = rates.suffix(RateHistory.capacity)
        return String(repeating: " ", count: RateHistory.capacity - shown.count) + String(shown.map { levels[level($0) + 1] })
    }

    /// Both directions of a connection, received then sent: `▂▅██▇▅▂▁ ▁▁▁▁▁▁▁▁`.
    static func cell(_ history: RateHistory, glyphs: Glyphs) -> String {
        text(history.received, glyphs: glyphs) + " " + text(history.sent, glyphs: glyphs)
    }
}
