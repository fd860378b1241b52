import Crypto
import Foundation
import SockscopeCore
import SwiftASN1
import X509

/// Certificates as the inspector shows them, and verification that says why it failed.
/// swift-certificates parses and checks signatures; swift-crypto hashes. Nothing here is
/// cryptography of our own: the words are.
enum CertificateInspector {
    /// One certificate's fields, with `now` deciding the days left.
    static func summary(of certificate: Certificate, der: [UInt8], now: Date) -> CertificateSummary {
        let (keyType, keyBits) = keyDescription(certificate.publicKey)
        let notAfter = certificate.notValidAfter
        return CertificateSummary(
            subject: certificate.subject.description, issuer: certificate.issuer.description,
            subjectAlternativeNames: subjectAlternativeNames(of: certificate),
            notBefore: timestamp(certificate.notValidBefore), notAfter: timestamp(notAfter),
            daysLeft: Int((notAfter.timeIntervalSince(now) / 86_400).rounded(.down)),
            keyType: keyType, keyBits: keyBits, signatureAlgorithm: signatureName(certificate.signatureAlgorithm),
            sha256Fingerprint: fingerprint(der))
    }

    /// `AB:CD:...`, as `openssl x509 -fingerprint -sha256` writes it.
    static func fingerprint(_ der: [UInt8]) -> String {
        SHA256.hash(data: der).map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + text : text
        }.joined(separator: ":")
    }

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(nanoseconds: Int64((date.timeIntervalSince1970 * 1_000_000_000).rounded()))
    }

    /// Every subjectAltName, spelled as openssl's `-text` spells them.
    static func subjectAlternativeNames(of certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.map { name in
            switch name {
            case .dnsName(let host): "DNS:" + host
            case .ipAddress(let address): "IP Address:" + ipText(Array(address.bytes))
            case .rfc822Name(let mail): "email:" + mail
            case .uniformResourceIdentifier(let uri): "URI:" + uri
            case .directoryName(let directory): "DirName:" + directory.description
            default: String(describing: name)
            }
        }
    }

    /// openssl writes IPv6 SANs as eight groups without leading zeros (`0:0:0:0:0:0:0:1`).
    static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16, uppercase: true) }
            .joined(separator: ":")
    }

    /// `("RSA", 2048)`, `("EC P-256", 256)`, `("Ed25519", 256)`.
    static func keyDescription(_ key: Certificate.PublicKey) -> (String, Int) {
        // swift-certificates names the key and, for RSA, its size: `RSA2048.PublicKey`, `P256.PublicKey`.
        let name = key.description
        if name.hasPrefix("RSA"), let bits = Int(name.dropFirst(3).prefix { $0.isNumber }) { return ("RSA", bits) }
        switch name {
        case "P256.PublicKey": return ("EC P-256", 256)
        case "P384.PublicKey": return ("EC P-384", 384)
        case "P521.PublicKey": return ("EC P-521", 521)
        case "Ed25519.PublicKey": return ("Ed25519", 256)
        default: return (name, 0)
        }
    }

    /// openssl's names for the algorithms (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`).
    static func signatureName(_ algorithm: Certificate.SignatureAlgorithm) -> String {
        switch algorithm {
        case .ecdsaWithSHA256: "ecdsa-with-SHA256"
        case .ecdsaWithSHA384: "ecdsa-with-SHA384"
        case .ecdsaWithSHA512: "ecdsa-with-SHA512"
        case .sha1WithRSAEncryption: "sha1WithRSAEncryption"
        case .sha256WithRSAEncryption: "sha256WithRSAEncryption"
        case .sha384WithRSAEncryption: "sha384WithRSAEncryption"
        case .sha512WithRSAEncryption: "sha512WithRSAEncryption"
        case .ed25519: "ED25519"
        default: algorithm.description
        }
    }

    // MARK: Verification

    /// Why a chain is not trusted for `host`, in words; nil when it is.
    ///
    /// Trust is swift-certificates' `Verifier` with RFC 5280's rules (signatures, validity,
    /// constraints) from `roots`, and the name is its `ServerIdentityPolicy`. When the chain
    /// fails, each cause is looked for separately so the message can say which.
    /// `peer`: whose chain it is (`server`, `client`), for the words.
    static func problem(with chain: [Certificate], host: String, roots: CertificateStore, now: Date,
                        peer: String = "server") async -> String? {
        guard let leaf = chain.first else { return "the \(peer) sent no certificate" }
        var reasons: [String] = []
        for (index, certificate) in chain.enumerated() {
            let which = index == 0 ? "certificate" : "intermediate certificate \(certificate.subject)"
            if now > certificate.notValidAfter {
                reasons.append("\(which) expired on \(TimeText.seconds(timestamp(certificate.notValidAfter)))")
            } else if now < certificate.notValidBefore {
                reasons.append("\(which) not yet valid: valid from \(TimeText.seconds(timestamp(certificate.notValidBefore)))")
            }
        }
        if !host.isEmpty {
            let isIP = TLSNames.isIPLiteral(host)
            // The name alone: the leaf as its own root, so only the identity policy can fail.
            var identity = Verifier(rootCertificates: CertificateStore([leaf])) {
                AcceptsAnyChain()
                ServerIdentityPolicy(serverHostname: isIP ? nil : host, serverIP: isIP ? host : nil)
            }
            if case .couldNotValidate = await identity.validate(leaf: leaf, intermediates: CertificateStore()) {
                let names = subjectAlternativeNames(of: leaf).map { name in
                    name.hasPrefix("DNS:") ? String(name.dropFirst(4)) : name.hasPrefix("IP Address:") ? String(name.dropFirst(11)) : name
                }
                let named = names.isEmpty ? "no name (no subjectAltName; subject \(leaf.subject))" : names.joined(separator: ", ")
                reasons.append("name mismatch: asked \(host), certificate is for \(named)")
            }
        }
        let intermediates = CertificateStore(chain.dropFirst())
        var verifier = Verifier(rootCertificates: roots) { RFC5280Policy(validationTime: now) }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: intermediates) {
            return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
        }
        // Does a chain to a trusted root exist at all (whatever the dates)? If not, say whose it is.
        var anyChain = Verifier(rootCertificates: roots) { AcceptsAnyChain() }
        if case .couldNotValidate = await anyChain.validate(leaf: leaf, intermediates: intermediates) {
            let top = chain.last!
            if top.subject == top.issuer {
                reasons.append(chain.count == 1
                    ? "self-signed certificate (\(leaf.subject)), not among the trusted roots"
                    : "the chain ends in a self-signed certificate (\(top.subject)) that is not among the trusted roots")
            } else {
                reasons.append("unknown issuer: \(top.issuer) is not among the trusted roots (nor sent by the \(peer))")
            }
        } else if reasons.isEmpty {
            reasons.append("the chain breaks RFC 5280's rules (constraints or key usage)")
        }
        return reasons.joined(separator: "; ")
    }

    /// Only chain building and signatures (done by the `Verifier` itself), to tell an
    /// untrusted issuer from a chain that is trusted but fails other rules.
    private struct AcceptsAnyChain: VerifierPolicy {
        let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
            .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
            .X509ExtensionID.subjectAlternativeName, .X509ExtensionID.nameConstraints,
        ]
        func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult { .meetsPolicy }
    }

    /// The certificates of a PEM file (a bundle of roots, or a chain).
    static func certificates(pemFile path: String) throws -> [Certificate] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
    }
}
