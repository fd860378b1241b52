import Glibc
import SockscopeCore

/// Reads small files under /proc in one go (they are generated on read; no caching).
enum ProcFile {
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The `/proc/net/netstat` counters named (`TcpExtListenDrops`...), and only those.
    static func netstatCounters(_ keys: Set<String>) -> [String: Int] {
        read("/proc/net/netstat").map { ProcNet.parseCounters($0, only: keys) } ?? [:]
    }

    /// /proc/sys/net/ipv4/ip_local_port_range: "32768\t60999".
    static func localPortRange() -> (low: Int, high: Int)? {
        guard let text = read("/proc/sys/net/ipv4/ip_local_port_range") else { return nil }
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }
}

/// Every socket on the machine, with its owner where /proc lets us see it.
/// Blocking file I/O: run it off the event loops.
enum SystemScanner {
    static func snapshot() -> [SystemSocket] {
        let owners = socketOwners()
        let ownPID = getpid()
        func owner(_ inode: UInt64) -> (String?, Bool) {
            guard inode != 0, let found = owners[inode] else { return (nil, false) }
            return ("\(found.name) (\(found.pid))", found.pid == ownPID)
        }
        var sockets: [SystemSocket] = []
        for (file, proto, ipv6, isTCP) in [("tcp", "tcp", false, true), ("tcp6", "tcp6", true, true),
                                           ("udp", "udp", false, false), ("udp6", "udp6", true, false)] {
            guard let text = ProcFile.read("/proc/net/\(file)") else { continue }
            for row in ProcNet.parseInet(text, ipv6: ipv6) {
                let (process, ours) = owner(row.inode)
                let state = isTCP ? (TCPState(rawValue: row.state)?.name ?? "state \(row.state)")
                    : (row.state == TCPState.established.rawValue ? "ESTAB" : "UNCONN")
                sockets.append(SystemSocket(proto: proto, state: state, receiveQueue: row.receiveQueue,
                                            sendQueue: row.transmitQueue, local: row.local, remote: row.remote,
                                            process: process, inode: row.inode, isOurs: ours))
            }
        }
        if let text = ProcFile.read("/proc/net/unix") {
            for row in ProcNet.parseUnix(text) {
                let (process, ours) = owner(row.inode)
                let proto = switch row.type {
                case 2: "unixdg"
                case 5: "unixsp"
                default: "unix"
                }
                let names = [1: "UNCONN", 2: "CONNECTING", 3: "CONNECTED", 4: "DISCONNECTING"]
                let state = row.listening ? "LISTEN" : names[row.state] ?? "state \(row.state)"
                sockets.append(SystemSocket(proto: proto, state: state, receiveQueue: 0, sendQueue: 0,
                                            local: row.endpoint, remote: nil, process: process, inode: row.inode,
                                            isOurs: ours))
            }
        }
        return sockets
    }

    /// inode → (pid, command name), from /proc/PID/fd/* links reading `socket:[INODE]`.
    /// Processes of other users are unreadable without privilege and stay unknown.
    static func socketOwners() -> [UInt64: (pid: Int32, name: String)] {
        var owners: [UInt64: (pid: Int32, name: String)] = [:]
        for pid in directoryEntries("/proc").compactMap({ Int32($0) }) {
            let fdDirectory = "/proc/\(pid)/fd"
            var name: String?
            for entry in directoryEntries(fdDirectory) {
                guard let target = linkTarget("\(fdDirectory)/\(entry)"), target.hasPrefix("socket:["),
                      let inode = UInt64(target.dropFirst(8).dropLast()) else { continue }
                if name == nil {
                    name = ProcFile.read("/proc/\(pid)/comm").map { String($0.prefix { $0 != "\n" }) } ?? "?"
                }
                if owners[inode] == nil { owners[inode] = (pid, name!) }
            }
        }
        return owners
    }

    private static func directoryEntries(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
