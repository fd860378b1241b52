import Testing
import SockscopeCore
@testable import SockscopeUI

/// The `?` overlay lists every command of the table, with its usage and summary.
@Suite struct HelpOverlayTests {
    @Test func overlayListsEveryCommand() {
        let lines = HelpOverlay.lines().map(\.0)
        for spec in CommandCatalog.specs {
            let at = lines.firstIndex(of: "  " + spec.usage)
            #expect(at != nil, "the ? overlay lacks \(spec.name)")
            if let at { #expect(lines[at + 1] == "      " + spec.summary) }
        }
    }
}
