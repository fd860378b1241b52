/// How the Connections pane orders its rows; `o` moves to the next.
public enum ConnectionSort: String, Hashable, Sendable, CaseIterable {
    /// Grouped under the listener that accepted them, then ours (`out`): a tree.
    case tree
    /// Busiest first (bytes per second in and out together).
    case rate
    /// Most bytes in and out together first.
    case bytes
    /// Newest first.
    case age
    /// Open ones first (established, half-closed, connecting, step sockets), then failed, then closed.
    case state
    /// By the peer's address: IPv4, IPv6 (numerically, then port), UNIX names, then none.
    case remote

    public var next: ConnectionSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// How the pane's title says it.
    public var title: String {
        switch self {
        case .tree: "by listener"
        case .rate: "by rate"
        case .bytes: "by bytes"
        case .age: "newest first"
        case .state: "by state"
        case .remote: "by remote"
        }
    }
}

/// What `/` in Connections keeps: every word must match. `state:established`, `port:443`,
/// `proto:udp` test one field; any other word is looked for, ignoring case, in the id and
/// both addresses (so `::1`, `[::1]:9000` and `C12` are plain words, not keys).
public struct ConnectionFilter: Hashable, Sendable {
    /// The text as typed, shown in the title and reopened by `/`.
    public let text: String
    private let terms: [Term]

    enum Term: Hashable, Sendable {
        case state(StateWord)
        case port(UInt16)
        case proto(TransportProtocol)
        /// Lower-cased UTF-8 of a plain word.
        case text([UInt8])
    }

    enum StateWord: String, Hashable, Sendable, CaseIterable {
        case established, connecting, peerEOF = "peer-eof", closed, failed, unconnected

        init?(word: String) {
            switch word {
            case "established", "open": self = .established
            case "connecting": self = .connecting
            case "peer-eof", "peereof", "peer-closed", "half-open": self = .peerEOF
            case "closed": self = .closed
            case "failed": self = .failed
            case "unconnected", "created", "bound": self = .unconnected
            default: return nil
            }
        }

        func matches(_ state: ConnectionState) -> Bool {
            switch (self, state) {
            case (.established, .established), (.connecting, .connecting), (.peerEOF, .peerClosed),
                 (.closed, .closed), (.failed, .failed), (.unconnected, .unconnected): true
            default: false
            }
        }
    }

    /// Reads a filter; nil for empty text. Throws a one-line explanation for a bad key's value.
    public init?(parsing text: String) throws(FilterProblem) {
        var terms: [Term] = []
        for word in text.split(whereSeparator: \.isWhitespace) {
            let lower = word.lowercased()
            guard let colon = lower.firstIndex(of: ":") else {
                terms.append(.text(Array(lower.utf8)))
                continue
            }
            let key = lower[..<colon], value = String(lower[lower.index(after: colon)...])
            switch key {
            case "state":
                guard let state = StateWord(word: value) else {
                    throw FilterProblem("state:\(value)? use state: with "
                                        + StateWord.allCases.map(\.rawValue).joined(separator: ", "))
                }
                terms.append(.state(state))
            case "port":
                guard let port = UInt16(value) else { throw FilterProblem("port:\(value)? a port is a number from 0 to 65535") }
                terms.append(.port(port))
            case "proto":
                guard let transport = TransportProtocol(rawValue: value) else {
                    throw FilterProblem("proto:\(value)? use proto: with "
                                        + TransportProtocol.allCases.map(\.label).joined(separator: ", "))
                }
                terms.append(.proto(transport))
            default:
                terms.append(.text(Array(lower.utf8)))
            }
        }
        guard !terms.isEmpty else { return nil }
        self.text = text
        self.terms = terms
    }

    public func matches(_ row: ConnectionRow) -> Bool {
        var scratch: [UInt8] = []
        return matches(row, scratch: &scratch)
    }

    /// `scratch` is reused across rows: the row's words are written into it (no string per
    /// address), since this runs for every row each frame. Formatting two addresses as
    /// `String`s per row made a text filter over 10 000 rows cost ~4x a frame (FrameBench).
    func matches(_ row: ConnectionRow, scratch: inout [UInt8]) -> Bool {
        var searchable = false
        for term in terms {
            switch term {
            case .state(let word): if !word.matches(row.state) { return false }
            case .port(let port): if !(row.local?.port == port || row.remote?.port == port) { return false }
            case .proto(let transport): if row.transport != transport { return false }
            case .text(let needle):
                if !searchable {
                    Self.writeSearchableText(of: row, to: &scratch)
                    searchable = true
                }
                if !Self.contains(scratch, needle) { return false }
            }
        }
        return true
    }

    /// The id and both addresses as the pane shows them, NUL between them (so no word
    /// matches across two of them).
    private static func writeSearchableText(of row: ConnectionRow, to out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: row.id.description.utf8)
        out.append(0)
        if let local = row.local { local.appendText(to: &out) } else { out.append(UInt8(ascii: "-")) }
        out.append(0)
        if let remote = row.remote {
            remote.appendText(to: &out)
        } else {
            out.append(contentsOf: row.remoteText.utf8)
        }
    }

    /// Whether `haystack`, ASCII letters folded to lower case, contains `needle` (already lower case).
    /// Byte-wise: the pane's address texts are escaped ASCII.
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { bytes in
            guard needle.count <= bytes.count else { return false }
            guard let first = needle.first else { return true }
            var start = 0
            while start + needle.count <= bytes.count {
                if fold(bytes[start]) == first {
                    var index = 1
                    while index < needle.count, fold(bytes[start + index]) == needle[index] { index += 1 }
                    if index == needle.count { return true }
                }
                start += 1
            }
            return false
        }
    }

    private static func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}

public struct FilterProblem: Error, Hashable, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}

extension ConnectionState {
    /// The order of `ConnectionSort.state`: what can still move first.
    var sortRank: Int {
        switch self {
        case .established: 0
        case .peerClosed: 1
        case .connecting: 2
        case .unconnected: 3
        case .failed: 4
        case .closed: 5
        }
    }
}

extension SocketEndpoint {
    /// `ConnectionSort.remote`: IPv4 before IPv6, each by address then port; UNIX names by their
    /// bytes; unnamed and unknown last. Compared as values, not formatted text.
    static func sortsBefore(_ a: SocketEndpoint?, _ b: SocketEndpoint?) -> Bool {
        func rank(_ e: SocketEndpoint?) -> Int {
            switch e {
            case .ipv4: 0
            case .ipv6: 1
            case .unixPath: 2
            case .unixAbstract: 3
            case .unnamed: 4
            case .unknown: 5
            case nil: 6
            }
        }
        switch (a, b) {
        case let (.ipv4(x, p)?, .ipv4(y, q)?): return (x.value, p) < (y.value, q)
        case let (.ipv6(x, p)?, .ipv6(y, q)?): return (x.high, x.low, p) < (y.high, y.low, q)
        case let (.unixPath(x)?, .unixPath(y)?), let (.unixAbstract(x)?, .unixAbstract(y)?):
            return x.lexicographicallyPrecedes(y)
        default: return rank(a) < rank(b)
        }
    }
}

extension AppState {
    /// `connectionTreeOrder` as the user asked to see it: rows the filter keeps, in the chosen
    /// sort, pinned ones first (in the order they were pinned). Ties keep the tree's order.
    /// Runs per frame and per selection key: one pass to filter, one sort of indexes.
    public var connectionDisplayOrder: [Int] {
        var order = connectionTreeOrder
        if let filter = view.connectionFilter {
            var scratch: [UInt8] = []
            order.removeAll { !filter.matches(connections[$0], scratch: &scratch) }
        }
        let rows = connections
        switch view.connectionSort {
        case .tree: break
        case .rate: order = Self.sorted(order) { rows[$0].rate.inPerSecond + rows[$0].rate.outPerSecond > rows[$1].rate.inPerSecond + rows[$1].rate.outPerSecond }
        case .bytes: order = Self.sorted(order) { rows[$0].bytesIn + rows[$0].bytesOut > rows[$1].bytesIn + rows[$1].bytesOut }
        case .age: order = Self.sorted(order) { rows[$0].opened > rows[$1].opened }
        case .state: order = Self.sorted(order) { rows[$0].state.sortRank < rows[$1].state.sortRank }
        case .remote: order = Self.sorted(order) { SocketEndpoint.sortsBefore(rows[$0].remote, rows[$1].remote) }
        }
        guard !view.pinnedConnections.isEmpty else { return order }
        let pinnedIndexes = view.pinnedConnections.compactMap { connectionIndex(of: $0) }
        let pinned = Set(pinnedIndexes)
        return pinnedIndexes.filter { order.contains($0) } + order.filter { !pinned.contains($0) }
    }

    /// `order` sorted by `before`, ties in their present order (the standard sort does not promise that).
    private static func sorted(_ order: [Int], by before: (Int, Int) -> Bool) -> [Int] {
        order.enumerated().sorted { a, b in
            before(a.element, b.element) || (!before(b.element, a.element) && a.offset < b.offset)
        }.map(\.element)
    }
}
