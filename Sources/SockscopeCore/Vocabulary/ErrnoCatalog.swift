/// Plain-language meanings of the errno values sockets produce (Linux numbering;
/// the engine tests check these numbers against Glibc's constants).
public enum ErrnoCatalog {
    public struct Entry: Hashable, Sendable {
        public let number: Int32
        public let name: String
        public let explanation: String
    }

    public static let entries: [Entry] = [
        Entry(number: 1, name: "EPERM", explanation: "operation not permitted for this user"),
        Entry(number: 2, name: "ENOENT", explanation: "no such file or directory (for a UNIX socket: nothing at that path)"),
        Entry(number: 4, name: "EINTR", explanation: "the call was interrupted by a signal"),
        Entry(number: 9, name: "EBADF", explanation: "the file descriptor is not open"),
        Entry(number: 11, name: "EAGAIN", explanation: "nothing to do right now; the call would block"),
        Entry(number: 12, name: "ENOMEM", explanation: "the kernel is out of memory"),
        Entry(number: 13, name: "EACCES", explanation: "permission denied (ports below 1024 need privilege; UNIX paths need write access)"),
        Entry(number: 17, name: "EEXIST", explanation: "something already exists at that path"),
        Entry(number: 20, name: "ENOTDIR", explanation: "a component of the path is not a directory"),
        Entry(number: 21, name: "EISDIR", explanation: "that path is a directory, not a file"),
        Entry(number: 22, name: "EINVAL", explanation: "invalid argument for the socket's current state"),
        Entry(number: 23, name: "ENFILE", explanation: "the whole system is out of file descriptors"),
        Entry(number: 24, name: "EMFILE", explanation: "this process hit its file descriptor limit (raise it with ulimit -n)"),
        Entry(number: 32, name: "EPIPE", explanation: "the connection is closed for writing (the peer is gone)"),
        Entry(number: 36, name: "ENAMETOOLONG", explanation: "the path is too long (UNIX socket paths hold at most 107 bytes)"),
        Entry(number: 88, name: "ENOTSOCK", explanation: "the descriptor is not a socket"),
        Entry(number: 89, name: "EDESTADDRREQ", explanation: "no destination: the socket is not connected and no address was given"),
        Entry(number: 90, name: "EMSGSIZE", explanation: "the message is too large for one datagram"),
        Entry(number: 92, name: "ENOPROTOOPT", explanation: "the protocol does not have that option"),
        Entry(number: 95, name: "EOPNOTSUPP", explanation: "the operation is not supported on this kind of socket"),
        Entry(number: 97, name: "EAFNOSUPPORT", explanation: "the address family is not supported"),
        Entry(number: 98, name: "EADDRINUSE", explanation: "another socket is already bound to that address and port"),
        Entry(number: 99, name: "EADDRNOTAVAIL", explanation: "that address does not belong to this machine"),
        Entry(number: 100, name: "ENETDOWN", explanation: "the network interface is down"),
        Entry(number: 101, name: "ENETUNREACH", explanation: "no route to that network"),
        Entry(number: 103, name: "ECONNABORTED", explanation: "the connection was aborted before it was accepted"),
        Entry(number: 104, name: "ECONNRESET", explanation: "the peer reset the connection (RST): it closed abruptly"),
        Entry(number: 105, name: "ENOBUFS", explanation: "the kernel has no buffer space left"),
        Entry(number: 106, name: "EISCONN", explanation: "the socket is already connected"),
        Entry(number: 107, name: "ENOTCONN", explanation: "the socket is not connected"),
        Entry(number: 108, name: "ESHUTDOWN", explanation: "the socket was shut down for that direction"),
        Entry(number: 110, name: "ETIMEDOUT", explanation: "the peer did not answer in time"),
        Entry(number: 111, name: "ECONNREFUSED", explanation: "nothing is listening on that port (the peer answered with RST)"),
        Entry(number: 112, name: "EHOSTDOWN", explanation: "the host is down"),
        Entry(number: 113, name: "EHOSTUNREACH", explanation: "no route to that host"),
        Entry(number: 114, name: "EALREADY", explanation: "a connect is already in progress"),
        Entry(number: 115, name: "EINPROGRESS", explanation: "the connect is in progress (non-blocking)"),
    ]

    /// What an errno means when the call was on a file (saving the log, the history), where
    /// the socket wording above (UNIX paths, ports) would mislead.
    public static let fileExplanations: [Int32: String] = [
        2: "no such file or directory: the folder it would go in does not exist",
        13: "permission denied: you may not write there",
        17: "something already exists at that path",
        20: "a component of the path is not a directory",
        21: "that path is a directory, not a file",
        28: "no space left on the device",
        30: "the file system is read-only",
        36: "the path or one of its names is too long",
        122: "your disk quota is used up",
    ]

    private static let byNumber: [Int32: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.number, $0) })
    private static let byName: [String: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })

    public static func entry(for number: Int32) -> Entry? { byNumber[number] }
    public static func entry(named name: String) -> Entry? { byName[name.uppercased()] }

    /// What an errno means on a socket of `transport`, when that differs from the general
    /// meaning: UDP has no RST, so its ECONNREFUSED comes from an ICMP message.
    public static func explanation(for number: Int32, on transport: TransportProtocol) -> String? {
        switch (number, transport) {
        case (111, .udp):
            "nothing is bound to that UDP port: its host answered an earlier datagram with ICMP port unreachable"
        default:
            entry(for: number)?.explanation
        }
    }
}
