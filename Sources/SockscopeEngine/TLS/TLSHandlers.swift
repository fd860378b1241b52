import Glibc
import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import SockscopeCore
import X509

/// A TLS connection's pipeline, in front of its `ConnectionHandler`:
///
///     socket ⇄ TLSWireObserver ⇄ NIOSSLHandler ⇄ TLSHandshakeReporter ⇄ ConnectionHandler
///             (ciphertext: counts,             (plaintext: reports the
///              reads the two hellos)            handshake, words failures)
///
/// So the connection's own counts and log are plaintext, and the `tls` event says what the
/// handshake cost on the wire. Installed in one place: `TLSClientSetup.handlers` and
/// `TLSServerSetup.handlers`, given to `ConnectionHandler.install(leading:)`.
final class TLSSession {
    let role: TLSReport.Role
    /// The first handshake message each way: ours and the peer's.
    var clientHello = TLSHelloReader()
    var serverHello = TLSHelloReader()
    var wireIn = 0
    var wireOut = 0
    var handshakeDone = false
    var startedAt: NIODeadline?
    /// The peer's chain as presented (filled by the verification callback).
    var chain: [CertificateSummary] = []
    var verification: TLSVerification
    /// Why verification failed, when the handshake was stopped for it.
    var verificationFailure: String?

    init(role: TLSReport.Role) {
        self.role = role
        verification = role == .client ? .verified : .notRequested
    }
}

/// At the head of the pipeline: counts ciphertext both ways and feeds the hellos to their
/// readers until both are read. Per read after that: one addition.
final class TLSWireObserver: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Also read by the connection's `StreamTap`, which reports the wire totals with its traffic.
    let session: TLSSession

    init(session: TLSSession) { self.session = session }

    /// Feeds the bytes to the reader of the hello that travels this way (the server's hello
    /// from a server, the client's from a client) until that hello is whole.
    private func observeHello(in buffer: ByteBuffer, fromServer: Bool) {
        guard !(fromServer ? session.serverHello.isDone : session.clientHello.isDone) else { return }
        buffer.withUnsafeReadableBytes { bytes in
            if fromServer {
                session.serverHello.feed(bytes, expecting: TLSHelloReader.serverHello)
            } else {
                session.clientHello.feed(bytes, expecting: TLSHelloReader.clientHello)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        session.wireIn += buffer.readableBytes
        observeHello(in: buffer, fromServer: session.role == .client)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = Self.unwrapOutboundIn(data)
        session.wireOut += buffer.readableBytes
        observeHello(in: buffer, fromServer: session.role == .server)
        context.write(data, promise: promise)
    }
}

/// Behind `NIOSSLHandler`: reports the finished handshake as one `tls` event, and turns
/// swift-nio-ssl's errors into failures worded for a person.
final class TLSHandshakeReporter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let session: TLSSession
    private let sink: EventSink
    /// Known for a connection we make; an accepted one gets its id from its `ConnectionHandler`.
    private let outgoingID: SocketID?
    private let target: String?

    init(session: TLSSession, sink: EventSink, outgoingID: SocketID?, target: String?) {
        self.session = session
        self.sink = sink
        self.outgoingID = outgoingID
        self.target = target
    }

    func channelActive(context: ChannelHandlerContext) {
        session.startedAt = .now()
        context.fireChannelActive()
    }

    /// Added to a connection already open (`starttls`): the handshake starts now.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive, session.startedAt == nil { session.startedAt = .now() }
    }

    /// Whether `event` is swift-nio-ssl's "handshake done" (for handlers behind this one,
    /// which need not know NIOTLS).
    static func isHandshakeCompletion(_ event: Any) -> Bool {
        if case TLSUserEvent.handshakeCompleted = event { true } else { false }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            session.handshakeDone = true
            report(context: context, negotiated: negotiated)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.fireErrorCaught(Self.failure(for: error, session: session, target: target) ?? error)
    }

    private func report(context: ChannelHandlerContext, negotiated: String?) {
        let operations = context.pipeline.syncOperations
        guard let id = outgoingID ?? (try? operations.handler(type: ConnectionHandler.self).socketID) else { return }
        let elapsed = session.startedAt.map { NIODeadline.now() - $0 } ?? .nanoseconds(0)
        let client = session.clientHello.hello
        let server = session.serverHello.hello
        let version = (try? operations.nioSSL_tlsVersion()).flatMap { $0 }.map(Self.versionName) ?? "unknown"
        sink.emit(.tls(id, TLSReport(
            role: session.role, version: version, cipherSuite: server?.cipherSuite.map(TLSCipherSuiteNames.name),
            alpnOffered: client?.alpn ?? [], alpnChosen: negotiated, serverName: client?.serverName,
            resumed: TLSHelloReader.resumed(client: client, server: server),
            handshakeMicroseconds: Int(elapsed.nanoseconds / 1000), verification: session.verification,
            chain: session.chain, handshakeBytesIn: session.wireIn, handshakeBytesOut: session.wireOut)))
    }

    static func versionName(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: "TLSv1.0"
        case .tlsv11: "TLSv1.1"
        case .tlsv12: "TLSv1.2"
        case .tlsv13: "TLSv1.3"
        }
    }

    /// A swift-nio-ssl error in words; nil for errors that are not TLS's.
    static func failure(for error: any Error, session: TLSSession, target: String?) -> SocketFailure? {
        if let reason = session.verificationFailure, !session.handshakeDone {
            let advice = session.role == .client
                ? " (connect with --insecure to go on anyway)"
                : " (the client's certificate; --ca names the roots it must chain to)"
            return SocketFailure(call: "tls verify", code: "CERTIFICATE_VERIFY_FAILED", explanation: reason + advice,
                                 target: target)
        }
        switch error {
        case NIOSSLError.uncleanShutdown:
            return SocketFailure(call: "tls read", code: "UNCLEAN_SHUTDOWN",
                                 explanation: TLSReasons.explanation(ofCode: "UNCLEAN_SHUTDOWN")!, target: target)
        case let sslError as NIOSSLError:
            let text = String(describing: sslError)
            let code = Self.reasonCode(in: text)
            let call = session.handshakeDone ? "tls" : "tls handshake"
            return SocketFailure(call: call, code: code, explanation: code.flatMap { TLSReasons.explanation(ofCode: $0) }
                                    ?? "the TLS library said: \(text)", target: target)
        case let boring as BoringSSLError:
            let text = String(describing: boring)
            let code = Self.reasonCode(in: text)
            return SocketFailure(call: session.handshakeDone ? "tls" : "tls handshake", code: code,
                                 explanation: code.flatMap { TLSReasons.explanation(ofCode: $0) } ?? "the TLS library said: \(text)",
                                 target: target)
        default:
            return nil
        }
    }

    /// BoringSSL's reason (`WRONG_VERSION_NUMBER`) from an error's text (`...:OPENSSL_internal:WRONG_VERSION_NUMBER`).
    static func reasonCode(in text: String) -> String? {
        guard let range = text.range(of: "OPENSSL_internal:") else { return nil }
        let code = text[range.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
        return code.isEmpty ? nil : String(code)
    }
}

/// What every connection of one `connect tls://` request shares: the context, the roots to
/// verify against, the name asked for.
struct TLSClientSetup: Sendable {
    let context: NIOSSLContext
    let options: TLSClientOptions
    /// The host as written, which the certificate must name (a DNS name or an IP address).
    let host: String
    let roots: CertificateStore

    /// `capture`: a running capture gets the session's keys (a Decryption Secrets Block).
    init(options: TLSClientOptions, host: String, capture: CaptureSwitch? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.shutdownTimeout = TLSFiles.closeNotifyWait
        // Our verification callback replaces BoringSSL's (it says why a chain fails), so no roots load here.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        configuration.applicationProtocols = options.alpn
        if let version = options.minimumVersion { configuration.minimumTLSVersion = Self.version(version) }
        if let version = options.maximumVersion { configuration.maximumTLSVersion = Self.version(version) }
        if let certificateFile = options.certificateFile, let keyFile = options.keyFile {
            configuration.certificateChain = try TLSFiles.certificateChain(certificateFile)
            configuration.privateKey = .privateKey(try TLSFiles.privateKey(keyFile))
        }
        configuration.keyLogCallback = try KeyLogFile.callback(file: options.keyLogFile, capture: capture)
        context = try NIOSSLContext(configuration: configuration)
        self.options = options
        self.host = host
        if let caFile = options.caFile {
            roots = CertificateStore(try TLSFiles.run("--ca", caFile) { try CertificateInspector.certificates(pemFile: caFile) })
        } else {
            roots = CertificateStore.systemTrustRoots
        }
    }

    static func version(_ version: TLSProtocolVersion) -> TLSVersion {
        switch version {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }

    /// The handlers to put before the `ConnectionHandler` of connection `id`.
    func handlers(for id: SocketID, sink: EventSink, target: String) throws -> [any ChannelHandler] {
        let session = TLSSession(role: .client)
        let ssl = try NIOSSLClientHandler(context: context, serverHostname: options.serverName(for: host),
                                          customVerificationCallback: TLSPeerVerification.callback(
                                              session: session, host: host, roots: roots, insecure: options.insecure))
        return [TLSWireObserver(session: session), ssl,
                TLSHandshakeReporter(session: session, sink: sink, outgoingID: id, target: target)]
    }
}

/// Checks a peer's chain in place of BoringSSL (so a failure says why, in words) and keeps
/// it for the inspector: a server's chain for our connections, a client's for a listener's
/// `--require-client-cert`.
enum TLSPeerVerification {
    /// `host`: the name the leaf must carry ("" for a client's certificate: no name is asked).
    /// `roots`: nil when there is nothing to check against (then the chain is only shown).
    static func callback(session: TLSSession, host: String, roots: CertificateStore?,
                         insecure: Bool) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            // On the handshake's event loop; the verifier is async, so the answer comes back to it.
            let loop = promise.futureResult.eventLoop
            let boundSession = NIOLoopBound(session, eventLoop: loop)
            let peer = session.role == .client ? "server" : "client"
            let parsed: [(Certificate, [UInt8])]
            do {
                parsed = try certificates.map { certificate in
                    let der = try certificate.toDERBytes()
                    return (try Certificate(derEncoded: der), der)
                }
            } catch {
                session.verificationFailure = "the \(peer)'s certificate cannot be parsed: \(error)"
                return promise.succeed(insecure ? .certificateVerified : .failed)
            }
            let now = Date()
            session.chain = parsed.map { CertificateInspector.summary(of: $0.0, der: $0.1, now: now) }
            guard let roots else {
                session.verification = .unchecked(reason: "no --ca to check it against")
                return promise.succeed(.certificateVerified)
            }
            let chain = parsed.map(\.0)
            loop.makeFutureWithTask {
                await CertificateInspector.problem(with: chain, host: host, roots: roots, now: now, peer: peer)
            }.whenSuccess { problem in
                let session = boundSession.value
                guard let problem else {
                    session.verification = .verified
                    return promise.succeed(.certificateVerified)
                }
                if insecure {
                    session.verification = .ignored(reason: problem)
                    promise.succeed(.certificateVerified)
                } else {
                    session.verificationFailure = problem
                    promise.succeed(.failed)
                }
            }
        }
    }
}

/// Reading certificates and keys, with errors that name the option and the file.
enum TLSFiles {
    /// How long a `close` waits for the peer's close_notify after sending ours: not at all.
    /// swift-nio-ssl waits 5 s by default, even after the peer's FIN (openssl s_server answers
    /// close_notify with a bare FIN), so every `close` of a TLS connection took 5 s, and any
    /// wait is paid by every connection a script opens and closes (50 ms made a handshake
    /// script 90x slower than `openssl s_time`). TLS 1.3 (RFC 8446 6.1) does not ask the
    /// closing side to wait for the answer; ours is written before the socket closes.
    static let closeNotifyWait = TimeAmount.zero

    static func certificateChain(_ path: String) throws -> [NIOSSLCertificateSource] {
        try run("--cert", path) { try NIOSSLCertificate.fromPEMFile(path).map { .certificate($0) } }
    }

    static func privateKey(_ path: String) throws -> NIOSSLPrivateKey {
        try run("--key", path) { try NIOSSLPrivateKey(file: path, format: .pem) }
    }

    static func run<T>(_ option: String, _ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw SocketFailure(call: "tls", explanation: "cannot use \(option) \(path): "
                                    + (access(path, R_OK) == 0 ? "not a PEM file of the right kind" : "the file cannot be read"),
                                target: path)
        }
    }
}

/// `--keylog FILE` / SSLKEYLOGFILE: BoringSSL hands each secret as one line of the NSS key
/// log format (`CLIENT_TRAFFIC_SECRET_0 <random> <secret>\n`), appended here as it comes.
/// Mode 0600: the file decrypts every session it holds.
final class KeyLogFile: Sendable {
    private let descriptor: Int32

    /// Where a TLS session's secrets go: the key log file (`--keylog`, SSLKEYLOGFILE), and a
    /// capture running at the time of the handshake, which puts them in its file. Nil when
    /// neither can be (no file, no capture switch): BoringSSL then formats no lines at all.
    static func callback(file path: String?, capture: CaptureSwitch?) throws -> NIOSSLKeyLogCallback? {
        let file = try open(path)
        guard file != nil || capture != nil else { return nil }
        return { line in
            file?.callback(line)
            capture?.writer?.submit(.tlsKeyLog(Array(line.readableBytesView)))
        }
    }

    /// The file `--keylog` names, else SSLKEYLOGFILE's, else nil.
    static func open(_ path: String?) throws -> KeyLogFile? {
        guard let path = path ?? ProcessInfo.processInfo.environment["SSLKEYLOGFILE"], !path.isEmpty else { return nil }
        return try KeyLogFile(path: path)
    }

    init(path: String) throws {
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SocketFailure.file(call: "open --keylog", errno: errno, path: path) }
    }

    deinit { close(descriptor) }

    /// A callback that writes each line whole (O_APPEND: lines of concurrent sessions never interleave).
    var callback: NIOSSLKeyLogCallback {
        { buffer in
            buffer.withUnsafeReadableBytes { line in _ = Glibc.write(self.descriptor, line.baseAddress, line.count) }
        }
    }
}
