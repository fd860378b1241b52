import Foundation
import Testing
import TestSupport

/// Permission behaviours seen by an ordinary user. The tests run as root in CI, where
/// nothing is ever denied, so a program is started as `nobody` through setpriv; as any
/// other user it is simply started as that user.
enum Unprivileged {
    /// Runs wherever an unprivileged process can be had: always in CI (where a missing
    /// setpriv fails the test instead of skipping it), as root elsewhere only with setpriv.
    static var trait: ConditionTrait {
        .enabled(if: getuid() != 0 || RequiredTool.mayRun(["setpriv"]), "runs as root without setpriv to become nobody")
    }

    /// Starts `executable` as user and group nobody (65534, no supplementary groups) when
    /// running as root, else as the current user.
    static func spawn(_ executable: String, _ arguments: [String]) throws -> SpawnedProcess {
        guard getuid() == 0 else { return try SpawnedProcess(executable, arguments) }
        return try SpawnedProcess("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", executable] + arguments)
    }
}
