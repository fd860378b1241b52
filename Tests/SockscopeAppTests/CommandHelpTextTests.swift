import Testing
import SockscopeCore
import SockscopeApp

/// `sockscope --help` lists every command of the table.
@Suite struct CommandHelpTextTests {
    @Test func helpFlagListsEveryCommand() {
        let lines = CommandHelpText.summary.split(separator: "\n").map(String.init)
        for spec in CommandCatalog.specs {
            #expect(lines.contains("  " + spec.usage), "--help lacks \(spec.name)")
            #expect(lines.contains("      " + spec.summary), "--help lacks \(spec.name)'s summary")
        }
    }
}
