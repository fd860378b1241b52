import Crypto
import Foundation
import NIOCore
import NIOSSL
import SockscopeCore
import SwiftASN1
import X509

/// What every connection a `listen tls://` accepts shares: the context with the listener's
/// certificate (the user's, or a self-signed one made here in memory).
struct TLSServerSetup: Sendable {
    let context: NIOSSLContext
    /// The certificate clients see, as the `tls-certificate` event shows it.
    let certificate: CertificateSummary
    let isSelfSigned: Bool
    /// `--require-client-cert`: every client must send a certificate, checked against
    /// `clientRoots` (`--ca`) when there are any.
    let requiresClientCertificate: Bool
    let clientRoots: CertificateStore?

    /// `host`: the listen address as written; the self-signed certificate names it, localhost,
    /// 127.0.0.1 and ::1.
    init(options: TLSServerOptions, host: String, now: Date = Date(), capture: CaptureSwitch? = nil) throws {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        if let certificateFile = options.certificateFile, let keyFile = options.keyFile {
            chain = try TLSFiles.run("--cert", certificateFile) { try NIOSSLCertificate.fromPEMFile(certificateFile) }
            key = try TLSFiles.privateKey(keyFile)
            isSelfSigned = false
        } else {
            let made = try Self.selfSigned(host: host, now: now)
            chain = [try NIOSSLCertificate(bytes: Array(made.certificatePEM.utf8), format: .pem)]
            key = try NIOSSLPrivateKey(bytes: Array(made.keyPEM.utf8), format: .pem)
            isSelfSigned = true
            if let path = options.saveCertificateFile {
                guard FileManager.default.createFile(atPath: path, contents: Data(made.certificatePEM.utf8)) else {
                    throw SocketFailure(call: "tls", explanation: "cannot write --save-cert \(path)", target: path)
                }
            }
        }
        guard let leaf = chain.first else {
            throw SocketFailure(call: "tls", explanation: "--cert holds no certificate", target: options.certificateFile)
        }
        let der = try leaf.toDERBytes()
        certificate = CertificateInspector.summary(of: try Certificate(derEncoded: der), der: der, now: now)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = options.alpn
        configuration.shutdownTimeout = TLSFiles.closeNotifyWait
        configuration.keyLogCallback = try KeyLogFile.callback(file: options.keyLogFile, capture: capture)
        requiresClientCertificate = options.requireClientCertificate
        if options.requireClientCertificate {
            // Asks for a certificate and refuses a client without one (SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
            // the chain itself is judged by `TLSPeerVerification`, which can say why it fails.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates([])
        }
        clientRoots = try options.clientCAFile.map { file in
            CertificateStore(try TLSFiles.run("--ca", file) { try CertificateInspector.certificates(pemFile: file) })
        }
        context = try NIOSSLContext(configuration: configuration)
    }

    /// A P-256 certificate signed by its own key, valid from an hour ago for 30 days.
    static func selfSigned(host: String, now: Date) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("sockscope")
            CommonName("sockscope self-signed")
        }
        var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1])))]
        if !AddressText.isAllInterfaces(host), !host.isEmpty, host != "localhost" {
            if let address = try? SocketAddress(ipAddress: host, port: 0), let bytes = address.ipBytes {
                if !["127.0.0.1", "::1"].contains(host) { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))) }
            } else {
                names.append(.dnsName(host))
            }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 30 * 86_400, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                // A trust anchor of its own, as `openssl req -x509` makes: what `curl --cacert` expects.
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// The handlers to put before the `ConnectionHandler` of an accepted connection.
    func handlers(sink: EventSink) -> [any ChannelHandler] {
        let session = TLSSession(role: .server)
        let ssl = requiresClientCertificate
            ? NIOSSLServerHandler(context: context, customVerificationCallback: TLSPeerVerification.callback(
                session: session, host: "", roots: clientRoots, insecure: false))
            : NIOSSLServerHandler(context: context)
        return [TLSWireObserver(session: session), ssl,
                TLSHandshakeReporter(session: session, sink: sink, outgoingID: nil, target: nil)]
    }
}

private extension SocketAddress {
    /// The address's bytes (4 or 16).
    var ipBytes: [UInt8]? {
        switch self {
        case .v4(let address): withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
        case .v6(let address): withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        default: nil
        }
    }
}
