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

    /// Whether `python3` can import `module` (a package from PyPI that `.ci/run` installs).
    public static func hasPythonModule(_ module: String) -> Bool {
        guard SpawnedProcess.isInstalled("python3") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import \(module)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

extension Trait where Self == ConditionTrait {
    /// `@Test(.requires("socat"))`: skipped, with the reason, where the tool is missing;
    /// always run (and failing if it is missing) in CI.
    public static func requires(_ tools: String...) -> Self {
        .enabled(if: RequiredTool.mayRun(tools), "needs \(tools.joined(separator: ", ")), not installed here")
    }

    /// `@Test(.requiresPython("aiosmtpd"))`: skipped, with the reason, where python3 cannot
    /// import the module; always run in CI, which installs it.
    public static func requiresPython(_ module: String) -> Self {
        .enabled(if: RequiredTool.everyToolRequired || RequiredTool.hasPythonModule(module),
                 "needs the python3 module \(module) (python3 -m pip install \(module)), not installed here")
    }
}
