import Foundation
import Testing

/// One place decides whether a test that needs an outside program may run.
///
/// In CI (`SOCKSCOPE_REQUIRE_TOOLS=1`, set by `.ci/run`, which installs every tool)
/// the test always runs, so a missing tool fails the run instead of skipping it.
/// Elsewhere a missing tool makes the test a real skip, visible in the summary,
/// never a pass.
public enum RequiredTool {
    public static var everyToolRequired: Bool {
        ProcessInfo.processInfo.environment["SOCKSCOPE_REQUIRE_TOOLS"] == "1"
    }

    /// Whether a test needing `tools` may run here.
    public static func mayRun(_ tools: [String]) -> Bool {
        everyToolRequired || tools.allSatisfy(SpawnedProcess.isInstalled)
    }
}

extension Trait where Self == ConditionTrait {
    /// `@Test(.requires("socat"))`: skipped, with the reason, where the tool is missing;
    /// always run (and failing if it is missing) in CI.
    public static func requires(_ tools: String...) -> Self {
        .enabled(if: RequiredTool.mayRun(tools), "needs \(tools.joined(separator: ", ")), not installed here")
    }
}
