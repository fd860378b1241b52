/// TLS (`tls://` endpoints): what the user asked for, and what a handshake showed.
/// The engine does the handshake (swift-nio-ssl); these are only words and numbers.

/// A protocol version the user can name (`--tls-min 1.2`, `--tls-max 1.3`).
public enum TLSProtocolVersion: String, Hashable, Sendable, CaseIterable, Comparable {
    case tls10 = "1.0", tls11 = "1.1", tls12 = "1.2", tls13 = "1.3"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// `connect tls://HOST:PORT` options.
public struct TLSClientOptions: Hashable, Sendable {
    /// What the ClientHello's server_name (SNI) carries.
    public enum ServerName: Hashable, Sendable {
        /// The host as written, when it is a name (an IP literal is never sent as SNI).
        case fromHost
        case name(String)
        /// `--no-sni`.
        case none
    }

    public var serverName: ServerName = .fromHost
    /// ALPN protocols offered, in order of preference (`--alpn h2,http/1.1`).
    public var alpn: [String] = []
    /// Trusted roots (PEM) instead of the system's (`--ca FILE`).
    public var caFile: String?
    /// Connect even when verification fails; the reason is still reported.
    public var insecure = false
    /// A client certificate and its key (PEM), for servers that ask for one.
    public var certificateFile: String?
    public var keyFile: String?
    public var minimumVersion: TLSProtocolVersion?
    public var maximumVersion: TLSProtocolVersion?
    /// `--keylog FILE`: the session secrets, NSS key log format (the engine falls back to SSLKEYLOGFILE).
    public var keyLogFile: String?

    public init() {}

    /// The SNI to send for `host`: a name, never an IP literal (RFC 6066 forbids it).
    public func serverName(for host: String) -> String? {
        switch serverName {
        case .fromHost: TLSNames.isIPLiteral(host) || host.isEmpty ? nil : host
        case .name(let name): name
        case .none: nil
        }
    }
}

/// `listen tls://HOST:PORT` options.
public struct TLSServerOptions: Hashable, Sendable {
    /// The certificate chain and key (PEM); without them a self-signed certificate is made in memory.
    public var certificateFile: String?
    public var keyFile: String?
    /// ALPN protocols the listener accepts, in order of preference.
    public var alpn: [String] = []
    /// Where to write the self-signed certificate (PEM), for `curl --cacert`.
    public var saveCertificateFile: String?
    /// `--keylog FILE`: the session secrets, NSS key log format (the engine falls back to SSLKEYLOGFILE).
    public var keyLogFile: String?
    /// `--require-client-cert`: a client without a certificate is refused in the handshake.
    public var requireClientCertificate = false
    /// `--ca FILE` with `--require-client-cert`: the roots a client's certificate must chain to;
    /// without it the certificate is shown, not checked.
    public var clientCAFile: String?

    public init() {}
}

public enum TLSNames {
    /// `127.0.0.1`, `::1`: addresses, which SNI must not carry and certificates name as IP SANs.
    public static func isIPLiteral(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
        }
    }
}

/// What became of the peer's certificate chain.
public enum TLSVerification: Hashable, Sendable {
    /// It chains to a trusted root and names the host asked for.
    case verified
    /// Verification failed; `--insecure` went on anyway.
    case ignored(reason: String)
    /// Not asked for: a listener does not ask clients for certificates.
    case notRequested
    /// Required and shown, but there was nothing to check it against (a listener's
    /// `--require-client-cert` without `--ca`).
    case unchecked(reason: String)

    public var word: String {
        switch self {
        case .verified: "verified"
        case .ignored: "NOT verified (--insecure)"
        case .notRequested: "not requested"
        case .unchecked: "NOT checked (no --ca)"
        }
    }
}

/// One certificate of a peer's chain, as the inspector shows it.
public struct CertificateSummary: Hashable, Sendable {
    /// RFC 4514, as `openssl x509 -nameopt RFC2253` prints it: `CN=localhost,O=Example`.
    public var subject: String
    public var issuer: String
    /// Every subjectAltName, as openssl writes them: `DNS:localhost`, `IP Address:127.0.0.1`.
    public var subjectAlternativeNames: [String]
    public var notBefore: Timestamp
    public var notAfter: Timestamp
    /// Whole days from the handshake to `notAfter` (negative once expired).
    public var daysLeft: Int
    /// `RSA`, `EC P-256`, `Ed25519`.
    public var keyType: String
    public var keyBits: Int
    /// openssl's name: `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `ED25519`.
    public var signatureAlgorithm: String
    /// SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it: `AB:CD:...`.
    public var sha256Fingerprint: String

    public init(subject: String, issuer: String, subjectAlternativeNames: [String], notBefore: Timestamp, notAfter: Timestamp,
                daysLeft: Int, keyType: String, keyBits: Int, signatureAlgorithm: String, sha256Fingerprint: String) {
        self.subject = subject
        self.issuer = issuer
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.daysLeft = daysLeft
        self.keyType = keyType
        self.keyBits = keyBits
        self.signatureAlgorithm = signatureAlgorithm
        self.sha256Fingerprint = sha256Fingerprint
    }
}

/// A finished TLS handshake: everything `openssl s_client` shows and what it leaves out.
public struct TLSReport: Hashable, Sendable {
    public enum Role: String, Hashable, Sendable { case client, server }

    public var role: Role
    /// `TLSv1.3`, `TLSv1.2`.
    public var version: String
    /// IANA name (`TLS_AES_256_GCM_SHA384`), read from the ServerHello; nil if it could not be read.
    public var cipherSuite: String?
    /// The ClientHello's ALPN list (ours as a client, the client's as a server).
    public var alpnOffered: [String]
    public var alpnChosen: String?
    /// The ClientHello's server_name.
    public var serverName: String?
    /// Whether the server resumed an earlier session (nil when the ServerHello could not be read).
    public var resumed: Bool?
    /// From the TCP connection being up to the handshake completing.
    public var handshakeMicroseconds: Int
    public var verification: TLSVerification
    /// The peer's chain as it sent it, leaf first (empty when it sent none).
    public var chain: [CertificateSummary]
    /// Bytes on the wire during the handshake (TLS records), each way.
    public var handshakeBytesIn: Int
    public var handshakeBytesOut: Int

    public init(role: Role, version: String, cipherSuite: String?, alpnOffered: [String], alpnChosen: String?,
                serverName: String?, resumed: Bool?, handshakeMicroseconds: Int, verification: TLSVerification,
                chain: [CertificateSummary], handshakeBytesIn: Int, handshakeBytesOut: Int) {
        self.role = role
        self.version = version
        self.cipherSuite = cipherSuite
        self.alpnOffered = alpnOffered
        self.alpnChosen = alpnChosen
        self.serverName = serverName
        self.resumed = resumed
        self.handshakeMicroseconds = handshakeMicroseconds
        self.verification = verification
        self.chain = chain
        self.handshakeBytesIn = handshakeBytesIn
        self.handshakeBytesOut = handshakeBytesOut
    }

    /// `3.25 ms`
    public var handshakeTimeText: String {
        let tenths = handshakeMicroseconds / 10
        let hundredths = tenths % 100
        return "\(tenths / 100).\(hundredths < 10 ? "0" : "")\(hundredths) ms"
    }
}
