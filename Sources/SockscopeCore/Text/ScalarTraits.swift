import Synchronization

/// What putting one non-control scalar on a terminal needs to know, decided from
/// Unicode's data (the standard library's scalar properties and the generated
/// `EastAsianWidth` table), never from a hand-kept list: whether it may be shown as
/// itself, and how many columns it takes.
struct ScalarTraits: Hashable {
    /// False for scalars that are invisible, reorder or break text, or mean nothing
    /// yet: general categories Cc (controls), Cf (format: bidi marks and overrides,
    /// zero-width joiners and spaces, soft hyphen, Arabic number signs, tags), Zl and
    /// Zp (line and paragraph separators), Co (private use: no meaning, a font's
    /// whim), Cn (unassigned, noncharacters) and Cs, plus every other
    /// Default_Ignorable_Code_Point (variation selectors, Hangul fillers, the
    /// Mongolian vowel separator, the combining grapheme joiner).
    let isShownAsIs: Bool
    /// False for scalars no text is made of: controls, private-use, unassigned and
    /// surrogates. Binary data that happens to be valid UTF-8 spells mostly these
    /// (`DisplayText.isMostlyBinary`); invisible characters are escaped, yet text.
    let isText: Bool
    /// Columns as wcwidth counts them (glibc's, which ncurses uses under a UTF-8
    /// locale): 0 for combining marks (Mn, Me), format characters and conjoining
    /// Hangul jamo; 2 for East Asian Wide and Fullwidth (which covers emoji with
    /// Emoji_Presentation: Unicode makes them W); 1 otherwise.
    /// Known differences from glibc 2.36: it also widens U+3248-324F and U+4DC0-4DFF
    /// (East Asian Width A and N), and gives U+00AD and the prepended concatenation
    /// marks (U+0600-0605...) one column; those marks are escaped here anyway.
    let columns: Int

    static func of(_ scalar: Unicode.Scalar) -> ScalarTraits {
        let value = scalar.value
        if value < 0x80 {
            let isPrintable = value >= 0x20 && value != 0x7F
            return ScalarTraits(isShownAsIs: isPrintable, isText: isPrintable || value == 0x0A || value == 0x0D || value == 0x09,
                                columns: 1)
        }
        guard value < Memo.count else { return compute(scalar) }
        // Looking the properties up costs ~600 ns a scalar (binary searches in the
        // standard library's tables); each answer for the BMP and the SMP (emoji) is
        // computed once.
        let memo = Memo.shared.entries[Int(value)].load(ordering: .relaxed)
        if memo != 0 { return ScalarTraits(packed: memo) }
        let traits = compute(scalar)
        Memo.shared.entries[Int(value)].store(traits.packed, ordering: .relaxed)
        return traits
    }

    private static func compute(_ scalar: Unicode.Scalar) -> ScalarTraits {
        let properties = scalar.properties
        let category = properties.generalCategory
        let isShownAsIs: Bool
        var isText = true
        switch category {
        case .control, .surrogate, .privateUse, .unassigned:
            isShownAsIs = false
            isText = false
        case .format, .lineSeparator, .paragraphSeparator:
            isShownAsIs = false
        default:
            isShownAsIs = !properties.isDefaultIgnorableCodePoint
        }
        let columns: Int
        switch category {
        case .nonspacingMark, .enclosingMark, .format:
            columns = 0
        default:
            if Self.ranges(EastAsianWidth.conjoiningJamoRanges, contain: scalar.value) {
                columns = 0
            } else if Self.ranges(EastAsianWidth.wideRanges, contain: scalar.value) {
                columns = 2
            } else if isNewerThanTable(properties), properties.isEmojiPresentation {
                // The table knows only its Unicode version; an emoji added since is wide
                // (Unicode gives every Emoji_Presentation scalar East Asian Width W, flags'
                // regional indicators aside, which are all old). A CJK ideograph added
                // since counts 1 until the table is regenerated from a newer Python.
                columns = 2
            } else {
                columns = 1
            }
        }
        return ScalarTraits(isShownAsIs: isShownAsIs, isText: isText, columns: columns)
    }

    private static func isNewerThanTable(_ properties: Unicode.Scalar.Properties) -> Bool {
        guard let age = properties.age else { return false }
        return (age.major, age.minor) > EastAsianWidth.unicodeVersion
    }

    init(isShownAsIs: Bool, isText: Bool, columns: Int) {
        self.isShownAsIs = isShownAsIs
        self.isText = isText
        self.columns = columns
    }

    /// Bit 7: computed (so a stored 0 means "not yet"); bit 3: text; bit 2: shown as
    /// is; bits 0-1: columns.
    private var packed: UInt8 { 0x80 | (isText ? 8 : 0) | (isShownAsIs ? 4 : 0) | UInt8(columns) }

    private init(packed: UInt8) {
        self.init(isShownAsIs: packed & 4 != 0, isText: packed & 8 != 0, columns: Int(packed & 3))
    }

    /// One atomic byte per scalar of planes 0 and 1, 0 until its traits are first asked for. Every
    /// thread that escapes text may fill it; each writes the same answer, so relaxed
    /// loads and stores suffice.
    private final class Memo: @unchecked Sendable {
        static let count: UInt32 = 0x20000
        static let shared = Memo()
        /// Written only through its atomics; never freed (one per process).
        let entries: UnsafeMutablePointer<Atomic<UInt8>>

        private init() {
            entries = .allocate(capacity: Int(Self.count))
            for index in 0..<Int(Self.count) { (entries + index).initialize(to: Atomic(0)) }
        }
    }

    /// For sorted [first, last] pairs of inclusive ranges: whether `value` lies in one.
    static func ranges(_ ranges: [UInt32], contain value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if value > ranges[2 * middle + 1] {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count / 2 && value >= ranges[2 * low]
    }
}
