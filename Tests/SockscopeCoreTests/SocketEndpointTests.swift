import PropertyBased
import Testing
@testable import SockscopeCore

/// The typed endpoint: written in one place, read back by the parsers people's input goes
/// through, with its wildcard and loopback forms.
@Suite struct SocketEndpointTests {
    static let port = Gen.int(in: 0...65535)

    static func ipv6(_ high: UInt64, _ low: UInt64, _ port: Int, shape: Int) -> SocketEndpoint {
        // Zero runs and mapped addresses are where IPv6 text goes wrong: make them common.
        let value: (UInt64, UInt64) = switch shape {
        case 0: (high, low)
        case 1: (0, 0xFFFF_0000_0000 | low & 0xFFFF_FFFF)
        case 2: (high & 0xFFFF_0000_0000_FFFF, low & 0x0000_FFFF_0000_0000)
        default: (0, low & 0xFF)
        }
        return .ipv6(IPv6Address(high: value.0, low: value.1), port: UInt16(port))
    }

    /// Names heavy in what needs escaping: controls, backslashes, `@`, invalid UTF-8, bidi overrides.
    static let unixName = Gen<UInt8?>.element(of: Array("ab/.@\\ \n\u{1B}".utf8) + [0x80, 0xFF, 0xE2, 0x80, 0xAE, 0x7F])
        .map { $0 ?? 0x61 }.array(of: 0...40)

    @Test func ipEndpointsPrintAndParseBack() async {
        await propertyCheck(count: 1000, input: Gen.uint32(), Self.port) { address, port in
            let endpoint = SocketEndpoint.ipv4(IPv4Address(address), port: UInt16(port))
            #expect(SocketEndpoint(parsing: endpoint.description) == endpoint)
        }
        await propertyCheck(count: 1000, input: Gen.uint64(), Gen.uint64(), Self.port, Gen.int(in: 0...3)) { high, low, port, shape in
            let endpoint = Self.ipv6(high, low, port, shape: shape)
            let text = endpoint.description
            #expect(SocketEndpoint(parsing: text) == endpoint, "\(text)")
            #expect(text.hasPrefix("[") && !text.contains(":::"))
        }
    }

    /// The same text inet_ntop writes (RFC 5952), for the shapes that differ between writers.
    @Test(arguments: [
        ("::", "[::]:0"), ("::1", "[::1]:0"), ("2001:db8::1", "[2001:db8::1]:0"), ("1:0:1:0:1:0:1:1", "[1:0:1:0:1:0:1:1]:0"),
        ("2001:db8:0:0:1:0:0:1", "[2001:db8::1:0:0:1]:0"), ("::ffff:10.1.2.3", "[::ffff:10.1.2.3]:0"),
        ("fe80::", "[fe80::]:0"), ("1::", "[1::]:0"), ("0:0:1::", "[0:0:1::]:0"),
    ])
    func ipv6TextIsInetNtops(address: String, shown: String) throws {
        let parsed = try #require(IPv6Address(parsing: address))
        #expect(SocketEndpoint.ipv6(parsed, port: 0).description == shown)
    }

    @Test func unixNamesAreEscapedAndReadBack() async {
        await propertyCheck(count: 1000, input: Self.unixName, Gen.int(in: 0...1)) { bytes, kind in
            let abstract = kind == 1
            let endpoint: SocketEndpoint = abstract ? .unixAbstract(bytes) : .unixPath(bytes)
            let text = endpoint.description
            #expect(text.unicodeScalars.allSatisfy(DisplayText.isSafe), "\(text.debugDescription)")
            #expect(SocketEndpoint(parsingUnix: text) == endpoint, "\(text.debugDescription)")
            // A path is never taken for an abstract name, nor for an IP endpoint.
            #expect(text.hasPrefix("@") == abstract)
        }
        #expect(SocketEndpoint.unixPath(Array("/tmp/a\u{1B}[2J".utf8)).description == #"/tmp/a\x1b[2J"#)
        #expect(SocketEndpoint.unixPath(Array("@x".utf8)).description == #"\x40x"#)
        #expect(SocketEndpoint.unix("@name") == .unixAbstract(Array("name".utf8)))
        #expect(SocketEndpoint.unnamed.description == "(unnamed)")
        #expect(SocketEndpoint.unknown.description == "?")
    }

    @Test func wildcardAndLoopbackForms() async {
        await propertyCheck(count: 300, input: Self.port, Gen.int(in: 0...1)) { number, family in
            let (port, ipv6) = (UInt16(number), family == 1)
            let wildcard = SocketEndpoint.wildcard(ipv6: ipv6, port: port)
            let loopback = SocketEndpoint.loopback(ipv6: ipv6, port: port)
            #expect(wildcard.isWildcard && !wildcard.isLoopback)
            #expect(loopback.isLoopback && !loopback.isWildcard)
            #expect(wildcard.connectable == loopback)
            #expect(loopback.connectable == loopback)
            #expect(wildcard.description == (ipv6 ? "[::]:\(port)" : "0.0.0.0:\(port)"))
            #expect(loopback.description == (ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)"))
        }
        await propertyCheck(count: 500, input: Gen.uint32(), Self.port) { address, port in
            let endpoint = SocketEndpoint.ipv4(IPv4Address(address), port: UInt16(port))
            // Anything but a wildcard is reached where it is.
            if !endpoint.isWildcard { #expect(endpoint.connectable == endpoint) }
            #expect(endpoint.isLoopback == endpoint.description.hasPrefix("127."))
        }
        #expect(SocketEndpoint.ipv6(IPv6Address(parsing: "::ffff:127.0.0.5")!, port: 1).isLoopback)
        #expect(SocketEndpoint.wildcard(ipv6: false, port: 9000).connectTarget(.tcp)?.description == "tcp://127.0.0.1:9000")
        #expect(SocketEndpoint.wildcard(ipv6: true, port: 9000).connectTarget(.udp)?.description == "udp://[::1]:9000")
        #expect(SocketEndpoint.unix("/tmp/s").connectTarget(.unix)?.description == "unix:/tmp/s")
        #expect(SocketEndpoint.unix("@n").connectTarget(.unixgram)?.description == "unixgram:@n")
        #expect(SocketEndpoint.unnamed.connectTarget(.unix) == nil)
    }

    /// Access rules match typed addresses: IPv4, IPv6, and IPv4-mapped IPv6 (an IPv4 peer of a
    /// listener on `::`) against IPv4 ranges, at every prefix length.
    @Test func accessRulesMatchTypedAddresses() async {
        await propertyCheck(count: 1000, input: Gen.uint32(), Gen.uint32(), Gen.int(in: 0...32)) { network, address, length in
            let range = AddressRange("\(IPv4Address(network))/\(length)")!
            let expected = length == 0 || network >> (32 - length) == address >> (32 - length)
            #expect(range.contains(.ipv4(IPv4Address(address), port: 1)) == expected)
            let mapped = IPv6Address(high: 0, low: 0xFFFF_0000_0000 | UInt64(address))
            #expect(range.contains(.ipv6(mapped, port: 1)) == expected, "mapped \(mapped)")
            #expect(!range.contains(.ipv6(IPv6Address(high: 0, low: UInt64(address)), port: 1)), "not mapped: no IPv4 match")
        }
        await propertyCheck(count: 1000, input: Gen.uint64(), Gen.uint64(), Gen.int(in: 0...128)) { high, low, length in
            let address = IPv6Address(high: high, low: low)
            let range = AddressRange("\(address)/\(length)")!
            #expect(range.contains(.ipv6(address, port: 1)))
            let flipped = IPv6Address(address.value ^ (length == 0 ? 0 : UInt128(1) << UInt128(128 - length)))
            #expect(range.contains(.ipv6(flipped, port: 1)) == (length == 0), "\(flipped) in \(range)")
            #expect(!range.contains(.ipv4(IPv4Address(UInt32(truncatingIfNeeded: low)), port: 1)))
        }
        #expect(!AddressRange("0.0.0.0/0")!.contains(.unix("/tmp/s")))
        #expect(!AddressRange("::/0")!.contains(.unnamed))
    }
}
