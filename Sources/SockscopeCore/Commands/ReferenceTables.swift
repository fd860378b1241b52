/// The README's command and key tables, generated from the same catalogues
/// that drive parsing and dispatch (a test fails when the README is stale).
public enum ReferenceTables {
    public static var commands: String {
        var lines = ["| command | what it does |", "|---|---|"]
        for spec in CommandCatalog.specs {
            lines.append("| `\(cell(spec.usage))` | \(cell(spec.summary)) |")
        }
        return lines.joined(separator: "\n")
    }

    public static var keys: String {
        var lines = ["| key | action |", "|---|---|"]
        for binding in KeyBindings.table {
            lines.append("| `\(cell(KeyBindings.keyLabel(binding)))` | \(cell(binding.description)) |")
        }
        return lines.joined(separator: "\n")
    }

    private static func cell(_ text: String) -> String {
        text.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
    }
}
