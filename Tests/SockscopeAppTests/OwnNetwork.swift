import Foundation
import TestSupport

/// Runs a command in a network namespace of its own (`unshare -rn`, loopback up) where the
/// machine allows it. The backlog lab overflows an accept queue on purpose, and
/// ListenOverflows/ListenDrops count per network namespace: in its own, the lab's counts are
/// its alone, and the other tests' listeners (whose Detail shows the machine's counters)
/// see none of them. Elsewhere the command runs as it is.
enum OwnNetwork {
    static let isAvailable: Bool = PingHeadlessTests.userNamespacesWork

    /// `sh -c SCRIPT`, inside the namespace when there is one.
    static func shell(_ script: String) throws -> SpawnedProcess {
        guard isAvailable else { return try SpawnedProcess("/bin/sh", ["-c", script]) }
        return try SpawnedProcess("unshare", ["-rn", "sh", "-c", "ip link set lo up && " + script])
    }
}
