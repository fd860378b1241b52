/// Terminal column widths from Unicode's data (`ScalarTraits`), without the C
/// library's locale-dependent wcwidth.
///
/// A grapheme cluster (a `Character`) takes the sum of its scalars' columns: a base
/// and its combining marks take the base's width, a Hangul syllable spelled in jamo
/// two. That is what ncurses does with the text it is given (each character's wcwidth
/// under a UTF-8 locale; a zero-width one joins the cell before), so the grid always
/// agrees with ncurses about where each character sits. Terminals disagree about
/// some emoji sequences, and we follow ncurses:
/// - a VS16 emoji sequence (U+2764 U+FE0F) counts 1, as for ncurses, xterm and tmux
///   3.3; kitty, WezTerm, foot and iTerm2 draw 2;
/// - a ZWJ sequence (man, ZWJ, woman, ZWJ, girl) counts 6, as for ncurses and xterm;
///   tmux 3.3 and most newer terminals draw one 2-column glyph;
/// - an emoji with a skin-tone modifier counts 4, as for ncurses and tmux 3.3; kitty
///   and WezTerm draw 2.
/// Untrusted text never reaches the screen holding a variation selector or a
/// zero-width joiner (`DisplayText` escapes every Default_Ignorable and Cf scalar),
/// so of these only modifier sequences in data depend on the choice.
public enum TextWidth {
    /// Columns of one character: 2 for East Asian wide and emoji characters, 0 for a
    /// combining mark alone (which `DisplayText` never lets through), 1 otherwise.
    public static func columns(of character: Character) -> Int {
        if character.isASCII { return 1 }
        var columns = 0
        for scalar in character.unicodeScalars { columns += ScalarTraits.of(scalar).columns }
        return columns
    }

    /// The sum over the characters, which is the sum over the scalars: counted so,
    /// without finding where each character ends.
    public static func columns(of text: some StringProtocol) -> Int {
        var columns = 0
        for scalar in text.unicodeScalars {
            columns += scalar.isASCII ? 1 : ScalarTraits.of(scalar).columns
        }
        return columns
    }

    /// `columns(of:)` of a character `DisplayText` shows as itself, else nil: one look
    /// at each scalar for both questions, for the cell grid.
    public static func columns(ifShown character: Character) -> Int? {
        var columns = 0
        for scalar in character.unicodeScalars {
            let traits = ScalarTraits.of(scalar)
            guard traits.isShownAsIs else { return nil }
            columns += traits.columns
        }
        return columns
    }

    /// The longest prefix of `text` that fits in `width` columns.
    public static func prefix(_ text: String, fitting width: Int) -> String {
        var used = 0
        var out = ""
        for character in text {
            let w = columns(of: character)
            if used + w > width { break }
            used += w
            out.append(character)
        }
        return out
    }
}
