import Glibc
import SockscopeCore

/// A name that `getaddrinfo` could not turn into addresses.
struct ResolutionFailure: Error, Hashable {
    let host: String
    /// The `EAI_*` value `getaddrinfo` returned.
    let code: Int32
    /// `errno` when `code` is `EAI_SYSTEM`.
    let systemErrno: Int32

    var failure: SocketFailure {
        if code == Self.eaiSystem {
            return SocketFailure.system(call: "getaddrinfo", errno: systemErrno)
        }
        let name = Self.codeNames[code] ?? "EAI \(code)"
        let explanation: String
        switch code {
        case Self.eaiNoName, Self.eaiNoData:
            explanation = "no such host: \(host)"
        case Self.eaiAgain:
            explanation = "could not resolve \(host) right now (temporary DNS failure; is a name server reachable?)"
        case Self.eaiAddrFamily:
            explanation = "\(host) has no address of the requested family"
        default:
            explanation = "could not resolve \(host): \(String(cString: gai_strerror(code)))"
        }
        return SocketFailure(call: "getaddrinfo", code: name, explanation: explanation)
    }

    // glibc's values; EAI_NODATA and EAI_ADDRFAMILY are GNU extensions Swift does not import.
    static let eaiNoName: Int32 = -2
    static let eaiAgain: Int32 = -3
    static let eaiNoData: Int32 = -5
    static let eaiAddrFamily: Int32 = -9
    static let eaiSystem: Int32 = -11

    static let codeNames: [Int32: String] = [
        -1: "EAI_BADFLAGS", -2: "EAI_NONAME", -3: "EAI_AGAIN", -4: "EAI_FAIL", -5: "EAI_NODATA",
        -6: "EAI_FAMILY", -7: "EAI_SOCKTYPE", -8: "EAI_SERVICE", -9: "EAI_ADDRFAMILY",
        -10: "EAI_MEMORY", -11: "EAI_SYSTEM", -12: "EAI_OVERFLOW",
    ]
}
