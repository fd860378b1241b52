import Glibc
import NIOCore

/// SO_PEERCRED: the process that connected to a UNIX stream socket, as the kernel recorded
/// it at connect time. Laid out as glibc's `struct ucred`, which Swift does not import
/// (it is behind `_GNU_SOURCE`).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// Reads the credentials of the peer of a UNIX stream `channel`.
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        ChannelOptionAccess(channel: channel).get(level: SOL_SOCKET, name: SO_PEERCRED)
    }
}
