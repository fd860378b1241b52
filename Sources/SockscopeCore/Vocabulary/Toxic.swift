/// toxiproxy's toxics (https://github.com/Shopify/toxiproxy#toxics), added to a relay and
/// applied at once to every pair it forwards, in one direction or both.
public struct Toxic: Hashable, Sendable {
    /// Unique per relay: `latency_down` unless named (`--name`).
    public var name: String
    public var effect: ToxicEffect
    public var direction: ToxicDirection
    /// toxiproxy's toxicity: the probability (0 to 1) that the toxic acts on a connection.
    /// Decided once per connection and direction, when the toxic first reaches it (a pair
    /// opened later, or the toxic added while the pair is open), as toxiproxy decides per link.
    public var toxicity: Double

    public init(name: String? = nil, effect: ToxicEffect, direction: ToxicDirection, toxicity: Double = 1) {
        self.name = name ?? "\(effect.kind)_\(direction.rawValue)"
        self.effect = effect
        self.direction = direction
        self.toxicity = toxicity
    }

    /// `latency_down: latency 200 ms ± 10 ms, down`, and `, toxicity 0.5` when below 1.
    public var summary: String {
        "\(name): \(effect.text), \(direction.meaning)" + (toxicity < 1 ? ", toxicity \(Self.text(toxicity: toxicity))" : "")
    }

    /// `0.25` as written back (`--toxicity 0.25`), without a trailing `.0` for 0 and 1.
    public static func text(toxicity: Double) -> String {
        toxicity == toxicity.rounded() ? String(Int(toxicity)) : String(toxicity)
    }

    /// Whether it acts on one more connection (one roll of the dice, per connection and direction).
    public func acts(rolling roll: Double) -> Bool { roll < toxicity }
}

/// Which bytes a toxic acts on.
public enum ToxicDirection: String, Hashable, Sendable, CaseIterable {
    /// Client to server (toxiproxy's upstream).
    case up
    /// Server to client (toxiproxy's downstream; the default, as there).
    case down
    case both

    /// Whether it acts on what a leg of `role` reads (the client leg reads what goes up).
    public func acts(onReadsOf role: RelayLegRole) -> Bool {
        switch self {
        case .both: true
        case .up: role == .client
        case .down: role == .upstream
        }
    }

    public var meaning: String {
        switch self {
        case .up: "client to server"
        case .down: "server to client"
        case .both: "both ways"
        }
    }
}

/// What a toxic does, with toxiproxy's parameters.
public enum ToxicEffect: Hashable, Sendable {
    /// Each chunk waits `milliseconds` ± a random `jitter` before it goes on.
    case latency(milliseconds: Int, jitter: Int)
    /// At most this many KB (1000 bytes) a second go on.
    case bandwidth(kilobytesPerSecond: Int)
    /// Chunks are cut into pieces of `averageSize` ± `sizeVariation` bytes, `delayMicroseconds` apart.
    case slicer(averageSize: Int, sizeVariation: Int, delayMicroseconds: Int)
    /// The pair closes once this many bytes went through.
    case limitData(bytes: Int)
    /// Nothing goes through; the pair closes after `milliseconds` (0: never, until removed).
    case timeout(milliseconds: Int)
    /// The pair is reset (RST both ways) `milliseconds` after the toxic reaches it.
    case resetPeer(milliseconds: Int)
    /// A FIN or close is passed on `milliseconds` late.
    case slowClose(milliseconds: Int)
    /// UDP relays only: each datagram is dropped with this probability (percent, 0 to 100).
    case loss(percent: Int)

    /// Whether it acts on datagrams (a UDP relay takes only these) rather than on a stream.
    public var isForDatagrams: Bool { if case .loss = self { true } else { false } }

    /// toxiproxy's name for the kind.
    public var kind: String {
        switch self {
        case .latency: "latency"
        case .bandwidth: "bandwidth"
        case .slicer: "slicer"
        case .limitData: "limit_data"
        case .timeout: "timeout"
        case .resetPeer: "reset_peer"
        case .slowClose: "slow_close"
        case .loss: "loss"
        }
    }

    public static let kinds = ["latency", "bandwidth", "slicer", "limit_data", "timeout", "reset_peer", "slow_close", "loss"]

    /// The parameters as `toxic R1 add` takes them (numbers, in toxiproxy's units).
    public var parameters: [Int] {
        switch self {
        case .latency(let milliseconds, let jitter): jitter == 0 ? [milliseconds] : [milliseconds, jitter]
        case .bandwidth(let rate): [rate]
        case .slicer(let size, let variation, let delay): [size, variation, delay]
        case .limitData(let bytes): [bytes]
        case .timeout(let milliseconds), .resetPeer(let milliseconds), .slowClose(let milliseconds): [milliseconds]
        case .loss(let percent): [percent]
        }
    }

    /// In words: `latency 200 ms ± 10 ms`.
    public var text: String {
        switch self {
        case .latency(let milliseconds, let jitter): "latency \(milliseconds) ms" + (jitter == 0 ? "" : " ± \(jitter) ms")
        case .bandwidth(let rate): "bandwidth \(rate) KB/s"
        case .slicer(let size, let variation, let delay):
            "slicer: pieces of \(size)" + (variation == 0 ? "" : " ± \(variation)") + " B, \(delay) µs apart"
        case .limitData(let bytes): "limit_data: close after \(bytes) B"
        case .timeout(let milliseconds):
            "timeout: nothing goes through" + (milliseconds == 0 ? ", never closes" : ", closes after \(milliseconds) ms")
        case .resetPeer(let milliseconds): "reset_peer: RST after \(milliseconds) ms"
        case .slowClose(let milliseconds): "slow_close: FIN and close passed on \(milliseconds) ms late"
        case .loss(let percent): "loss: \(percent)% of datagrams dropped"
        }
    }

    /// Reads `KIND N...` (toxiproxy's order of parameters); nil and a reason when it does not fit.
    public static func parse(kind: String, _ numbers: [Int]) -> Result<ToxicEffect, ToxicParseError> {
        func need(_ names: [String], required: Int) -> Result<[Int], ToxicParseError> {
            guard numbers.count >= required, numbers.count <= names.count else {
                return .failure(ToxicParseError("\(kind) takes " + names.enumerated().map { $0 < required ? $1 : "[\($1)]" }
                    .joined(separator: " ")))
            }
            guard numbers.allSatisfy({ $0 >= 0 }) else { return .failure(ToxicParseError("\(kind): numbers must be 0 or more")) }
            return .success(numbers + Array(repeating: 0, count: names.count - numbers.count))
        }
        switch kind.lowercased() {
        case "latency":
            return need(["MS", "JITTER_MS"], required: 1).map { .latency(milliseconds: $0[0], jitter: $0[1]) }
        case "bandwidth":
            return need(["KB_PER_S"], required: 1).flatMap { values in
                values[0] > 0 ? .success(.bandwidth(kilobytesPerSecond: values[0])) : .failure(ToxicParseError("bandwidth needs a rate above 0"))
            }
        case "slicer":
            return need(["AVERAGE_SIZE", "SIZE_VARIATION", "DELAY_US"], required: 1).flatMap { values in
                guard values[0] > 0, values[1] < values[0] else {
                    return .failure(ToxicParseError("slicer needs an average size above 0 and a variation below it"))
                }
                return .success(.slicer(averageSize: values[0], sizeVariation: values[1], delayMicroseconds: values[2]))
            }
        case "limit_data":
            return need(["BYTES"], required: 1).map { .limitData(bytes: $0[0]) }
        case "timeout":
            return need(["MS"], required: 1).map { .timeout(milliseconds: $0[0]) }
        case "reset_peer":
            return need(["MS"], required: 0).map { .resetPeer(milliseconds: $0[0]) }
        case "slow_close":
            return need(["MS"], required: 1).map { .slowClose(milliseconds: $0[0]) }
        case "loss":
            return need(["PERCENT"], required: 1).flatMap { values in
                values[0] <= 100 ? .success(.loss(percent: values[0])) : .failure(ToxicParseError("loss takes a percentage from 0 to 100"))
            }
        default:
            return .failure(ToxicParseError("unknown toxic '\(kind)'; kinds: " + kinds.joined(separator: ", ")))
        }
    }
}

public struct ToxicParseError: Error, Hashable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// `toxic R1 add|remove|list`.
public enum ToxicCommand: Hashable, Sendable {
    case add(Toxic)
    case remove(name: String)
    case list
}
