import SockscopeUI

/// How roles look: foreground, background and attributes per role.
public struct Theme: Sendable {
    public enum Name: String, Sendable, CaseIterable {
        case dark, light, mono
    }

    /// A colour as an ncurses colour number (-1 is the terminal's default).
    struct Look: Sendable {
        var foreground: Int16
        var background: Int16
        var bold = false
        var dim = false
        var reverse = false
    }

    public let name: Name
    let looks: [StyleRole: Look]

    // ncurses colour numbers.
    private static let black: Int16 = 0, red: Int16 = 1, green: Int16 = 2, yellow: Int16 = 3
    private static let blue: Int16 = 4, magenta: Int16 = 5, cyan: Int16 = 6, white: Int16 = 7, standard: Int16 = -1

    public init(_ name: Name) {
        self.name = name
        let d = Self.standard
        switch name {
        case .dark, .light:
            let accent = name == .dark ? Self.cyan : Self.blue
            let text = d
            looks = [
                .normal: Look(foreground: text, background: d),
                .dim: Look(foreground: text, background: d, dim: true),
                .border: Look(foreground: text, background: d, dim: true),
                .borderFocused: Look(foreground: accent, background: d, bold: true),
                .title: Look(foreground: text, background: d, bold: true),
                .titleFocused: Look(foreground: accent, background: d, bold: true, reverse: true),
                .header: Look(foreground: text, background: d, bold: true),
                .selection: Look(foreground: Self.black, background: accent),
                .selectionUnfocused: Look(foreground: text, background: d, reverse: true),
                .incoming: Look(foreground: Self.green, background: d),
                .outgoing: Look(foreground: name == .dark ? Self.yellow : Self.magenta, background: d),
                .error: Look(foreground: Self.red, background: d, bold: true),
                .info: Look(foreground: accent, background: d),
                .command: Look(foreground: Self.magenta, background: d),
                .warning: Look(foreground: Self.yellow, background: d, bold: true),
                .status: Look(foreground: Self.black, background: accent),
                .flash: Look(foreground: Self.white, background: Self.red, bold: true),
                .footerKey: Look(foreground: Self.black, background: accent, bold: true),
                .footerText: Look(foreground: text, background: d),
                .prompt: Look(foreground: text, background: d, bold: true),
            ]
        case .mono:
            // No colour at all: attributes alone keep selection and focus visible.
            var table: [StyleRole: Look] = [:]
            for role in StyleRole.allCases { table[role] = Look(foreground: d, background: d) }
            table[.dim]?.dim = true
            table[.border]?.dim = true
            table[.borderFocused]?.bold = true
            table[.title]?.bold = true
            table[.titleFocused]?.reverse = true
            table[.header]?.bold = true
            table[.selection]?.reverse = true
            table[.selectionUnfocused]?.reverse = true
            table[.selectionUnfocused]?.dim = true
            table[.error]?.bold = true
            table[.warning]?.bold = true
            table[.status]?.reverse = true
            table[.flash]?.reverse = true
            table[.flash]?.bold = true
            table[.footerKey]?.reverse = true
            looks = table
        }
    }

    func look(_ role: StyleRole) -> Look { looks[role] ?? Look(foreground: -1, background: -1) }
}
