import SockscopeCore

/// The command list for `--help`, from the same catalogue `help` uses.
public enum CommandHelpText {
    public static var summary: String {
        CommandCatalog.specs.map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
    }
}
