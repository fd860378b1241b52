/// The port scanner's vocabulary: what `scan` asks for and what the engine reports.
/// A scan is a connect scan (a full TCP handshake per port, as `nmap -sT` and `nc -z` do),
/// so it needs no privilege and the kernel's answer to each connect is the result.

/// Ports as written: `1-1024,8080,9000-9100`; kept sorted, overlaps merged.
public struct PortList: Hashable, Sendable, CustomStringConvertible {
    /// Sorted, disjoint and not adjacent (`1-3,4-5` is kept as `1-5`).
    public private(set) var ranges: [ClosedRange<Int>]

    public init(_ ranges: [ClosedRange<Int>]) {
        var merged: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    /// How many ports.
    public var count: Int { ranges.reduce(0) { $0 + $1.count } }

    /// `1-1024,8080`: what the parser reads back.
    public var description: String { Self.text(ranges) }

    /// Ranges written as the command language and every output write them.
    public static func text(_ ranges: [ClosedRange<Int>]) -> String {
        ranges.map { $0.count == 1 ? String($0.lowerBound) : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }

    /// Consecutive runs of `ports` (any order, no duplicates needed): `[3, 1, 2, 7]` → `1-3, 7`.
    public static func runs(of ports: [Int]) -> [ClosedRange<Int>] { PortList(ports.map { $0...$0 }).ranges }

    public struct ParseError: Error, Hashable, Sendable {
        public let message: String
    }

    /// Reads `1-1024,8080,9000-9100`; every mistake is named (an empty item, a port out of
    /// 1-65535, a range that runs backwards).
    public static func parse(_ text: String) throws(ParseError) -> PortList {
        guard !text.isEmpty else { throw ParseError(message: "needs ports, as in 1-1024,8080") }
        var ranges: [ClosedRange<Int>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else {
                throw ParseError(message: "'\(text)' has an empty item between commas (write 22,80 or 1-1024)")
            }
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, let first = try port(bounds[0], in: item),
                  let last = try bounds.count == 2 ? port(bounds[1], in: item) : first else {
                throw ParseError(message: "'\(item)' is not a port or a range (write 22, or 1-1024)")
            }
            guard first <= last else { throw ParseError(message: "the range \(item) runs backwards: write \(last)-\(first)") }
            ranges.append(first...last)
        }
        return PortList(ranges)
    }

    private static func port(_ word: Substring, in item: Substring) throws(ParseError) -> Int? {
        guard !word.isEmpty, word.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let value = Int(word), (1...65535).contains(value) else {
            throw ParseError(message: "port \(word) in '\(item)' is out of range: ports are 1 to 65535")
        }
        return value
    }
}

/// `scan HOST PORTS ...`: what to scan and how.
public struct ScanRequest: Hashable, Sendable {
    public var host: String
    public var ports: PortList
    /// How long a connect may wait for an answer before the port counts as filtered.
    public var timeoutMilliseconds = ScanRequest.defaultTimeoutMilliseconds
    /// Connects in flight at once; nil: as many as the free descriptors allow, up to
    /// `defaultConcurrency`. The engine never goes beyond its free descriptors.
    public var concurrency: Int?
    /// `--banner`: keep each open port's connection this long for what the service says first.
    public var bannerWaitMilliseconds: Int?

    public static let defaultTimeoutMilliseconds = 1000
    public static let defaultBannerWaitMilliseconds = 1000
    /// Enough that a host dropping every SYN is scanned in minutes, not hours, without
    /// flooding it (nmap's parallelism goes to a few hundred).
    public static let defaultConcurrency = 1024

    public init(host: String, ports: PortList) {
        self.host = host
        self.ports = ports
    }
}

/// How one port answered a connect.
public enum PortState: String, Hashable, Sendable {
    /// The handshake completed: a program listens there.
    case open
    /// RST: the host is there and nothing listens (ECONNREFUSED).
    case closed
    /// No answer in time, or an ICMP error on the way (a firewall, no route).
    case filtered
}

/// A port that did not open: its state and the errno the connect ended with (nil: no answer in time).
public struct PortOutcome: Hashable, Sendable {
    public var state: PortState
    public var errno: Int32?

    public init(state: PortState, errno: Int32?) {
        self.state = state
        self.errno = errno
    }

    /// How a failed connect's errno classes the port: RST is closed, anything else on the
    /// way (ICMP unreachable, a firewall's reject) filtered.
    public static func failed(errno: Int32) -> PortOutcome {
        PortOutcome(state: errno == 111 ? .closed : .filtered, errno: errno)  // 111: ECONNREFUSED
    }

    public static let timedOut = PortOutcome(state: .filtered, errno: nil)

    /// `ECONNREFUSED`, or `timeout` when nothing answered.
    public var reason: String {
        errno.map { ErrnoCatalog.entry(for: $0)?.name ?? "errno \($0)" } ?? "timeout"
    }
}

/// What an open port said first, when `--banner` waits for it.
public enum ScanBanner: Hashable, Sendable {
    /// The service spoke first: its first read (`bytes` at most `DataPreview.limit`, `count` exact).
    case said(bytes: [UInt8], count: Int)
    /// Nothing within the wait: a protocol where the client speaks first (HTTP, redis...).
    case silent(waitedMilliseconds: Int)
    /// The service closed the connection without a word.
    case closedWithoutWord
    /// Reading failed (ECONNRESET...).
    case failed(errno: Int32)
}

/// A scan's beginning: where it goes and how hard it pushes.
public struct ScanStart: Hashable, Sendable {
    public var host: String
    /// The address scanned (the first the name gave), port 0.
    public var address: SocketEndpoint
    public var ports: PortList
    public var concurrency: Int
    /// Why that many at once: the descriptors left under RLIMIT_NOFILE, the asked number.
    public var concurrencyReason: String
    public var timeoutMilliseconds: Int
    public var bannerWaitMilliseconds: Int?

    public init(host: String, address: SocketEndpoint, ports: PortList, concurrency: Int, concurrencyReason: String,
                timeoutMilliseconds: Int, bannerWaitMilliseconds: Int?) {
        self.host = host
        self.address = address
        self.ports = ports
        self.concurrency = concurrency
        self.concurrencyReason = concurrencyReason
        self.timeoutMilliseconds = timeoutMilliseconds
        self.bannerWaitMilliseconds = bannerWaitMilliseconds
    }
}

/// A scan's end: what it found and how long it took.
public struct ScanSummary: Hashable, Sendable {
    public var address: SocketEndpoint
    /// Ports asked for, and ports with an answer (fewer when stopped).
    public var portCount: Int
    public var scanned: Int
    public var open: [Int]
    public var closed: Int
    public var filtered: Int
    public var elapsedMicroseconds: Int
    /// The most sockets the scan held at once (connecting or waiting for a banner).
    public var maxInFlight: Int
    /// `scan stop` (or the engine stopping) ended it early.
    public var stopped: Bool

    public init(address: SocketEndpoint, portCount: Int, scanned: Int, open: [Int], closed: Int, filtered: Int,
                elapsedMicroseconds: Int, maxInFlight: Int, stopped: Bool) {
        self.address = address
        self.portCount = portCount
        self.scanned = scanned
        self.open = open
        self.closed = closed
        self.filtered = filtered
        self.elapsedMicroseconds = elapsedMicroseconds
        self.maxInFlight = maxInFlight
        self.stopped = stopped
    }
}

/// What a scan reports, as the answers come.
public enum ScanEvent: Hashable, Sendable {
    case started(ScanStart)
    /// One port completed the handshake, `connectMicroseconds` after its connect.
    case open(port: Int, connectMicroseconds: Int)
    /// Ports that answered alike since the last report, as runs of consecutive ports: closed
    /// ports are many, so they are reported together, never one event each.
    case notOpen(PortOutcome, ranges: [ClosedRange<Int>])
    case banner(port: Int, ScanBanner)
    case finished(ScanSummary)
}
