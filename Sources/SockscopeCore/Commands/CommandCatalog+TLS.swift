/// The `tls://` scheme and the TLS options of `connect` and `listen`: read here, printed
/// back in `TLSCommandText`, so `parse(print(c)) == c` holds for them too.
enum TLSCommandWords {
    static let scheme = "tls://"

    /// `tls://HOST:PORT` as the `tcp://` endpoint it runs over, and whether TLS was asked for.
    static func splitScheme(_ text: String) -> (endpoint: String, isTLS: Bool) {
        guard text.lowercased().hasPrefix(scheme) else { return (text, false) }
        return ("tcp://" + text.dropFirst(scheme.count), true)
    }

    static let clientOptions: [CommandSpec.Option] = [
        .init("--sni", value: "NAME"), .init("--no-sni"), .init("--alpn", value: "PROTOCOLS"), .init("--ca", value: "FILE"),
        .init("--insecure"), .init("--cert", value: "FILE"), .init("--key", value: "FILE"),
        .init("--tls-min", value: "VERSION"), .init("--tls-max", value: "VERSION"), .init("--keylog", value: "FILE"),
    ]
    static let serverOptions: [CommandSpec.Option] = [
        .init("--cert", value: "FILE"), .init("--key", value: "FILE"), .init("--alpn", value: "PROTOCOLS"),
        .init("--save-cert", value: "FILE"), .init("--keylog", value: "FILE"), .init("--require-client-cert"),
        .init("--ca", value: "FILE"),
    ]

    /// Reads one client option into `tls`; false when `option` is not a TLS option.
    static func readClient(_ option: String, _ args: inout CommandArguments, into tls: inout TLSClientOptions)
        throws(CommandParser.ParseError) -> Bool {
        switch option {
        case "--sni":
            if tls.serverName == .none { throw args.problem("takes --sni NAME or --no-sni, not both") }
            tls.serverName = .name(try args.value(of: option))
        case "--no-sni":
            if case .name = tls.serverName { throw args.problem("takes --sni NAME or --no-sni, not both") }
            tls.serverName = .none
        case "--alpn": tls.alpn = try alpn(&args)
        case "--ca": tls.caFile = try args.value(of: option)
        case "--insecure": tls.insecure = true
        case "--keylog": tls.keyLogFile = try args.value(of: option)
        case "--cert": tls.certificateFile = try args.value(of: option)
        case "--key": tls.keyFile = try args.value(of: option)
        case "--tls-min", "--tls-max":
            let text = try args.value(of: option)
            guard let version = TLSProtocolVersion(rawValue: text) else {
                throw args.problem("\(option) takes " + TLSProtocolVersion.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if option == "--tls-min" { tls.minimumVersion = version } else { tls.maximumVersion = version }
        default: return false
        }
        return true
    }

    static func readServer(_ option: String, _ args: inout CommandArguments, into tls: inout TLSServerOptions)
        throws(CommandParser.ParseError) -> Bool {
        switch option {
        case "--cert": tls.certificateFile = try args.value(of: option)
        case "--key": tls.keyFile = try args.value(of: option)
        case "--alpn": tls.alpn = try alpn(&args)
        case "--save-cert": tls.saveCertificateFile = try args.value(of: option)
        case "--keylog": tls.keyLogFile = try args.value(of: option)
        case "--require-client-cert": tls.requireClientCertificate = true
        case "--ca": tls.clientCAFile = try args.value(of: option)
        default: return false
        }
        return true
    }

    /// Checks what only makes sense together; `tls` nil means the endpoint was not `tls://`.
    static func checkClient(_ tls: TLSClientOptions?, touched: Bool, _ args: CommandArguments) throws(CommandParser.ParseError) {
        guard let tls else {
            if touched { throw args.problem("TLS options need a tls:// endpoint, as in connect tls://example.com:443") }
            return
        }
        if (tls.certificateFile == nil) != (tls.keyFile == nil) { throw args.problem("--cert and --key go together") }
        if let low = tls.minimumVersion, let high = tls.maximumVersion, high < low {
            throw args.problem("--tls-max \(high.rawValue) is below --tls-min \(low.rawValue)")
        }
    }

    static func checkServer(_ tls: TLSServerOptions?, touched: Bool, _ args: CommandArguments) throws(CommandParser.ParseError) {
        guard let tls else {
            if touched { throw args.problem("TLS options need a tls:// endpoint, as in listen tls://127.0.0.1:8443") }
            return
        }
        if (tls.certificateFile == nil) != (tls.keyFile == nil) { throw args.problem("--cert and --key go together") }
        if tls.saveCertificateFile != nil, tls.certificateFile != nil {
            throw args.problem("--save-cert writes the self-signed certificate; with --cert you have it already")
        }
        if tls.clientCAFile != nil, !tls.requireClientCertificate {
            throw args.problem("--ca names the roots a client's certificate must chain to: use it with --require-client-cert")
        }
    }

    // MARK: relay: a tls:// LISTEN, a tls:// TARGET, or both

    /// The options both sides of a relay have (`--cert` is the listener's certificate or the
    /// client certificate the relay presents upstream): with both sides `tls://` they are written
    /// `--listen-X` or `--target-X`; `--keylog` alone goes to every `tls://` side.
    static let relaySharedOptions = ["--cert", "--key", "--alpn", "--ca", "--keylog"]
    static let relayListenPrefix = "--listen-"
    static let relayTargetPrefix = "--target-"

    /// `relay`'s TLS options: every option of either side as written when one side is
    /// `tls://`, and the shared ones prefixed by side.
    static let relayOptions: [CommandSpec.Option] = {
        var options = serverOptions
        for option in clientOptions where !options.contains(where: { $0.name == option.name }) { options.append(option) }
        for prefix in [relayListenPrefix, relayTargetPrefix] {
            for name in relaySharedOptions {
                let option = options.first { $0.name == name }!
                options.append(.init(prefix + name.dropFirst(2), value: option.value))
            }
        }
        return options
    }()

    /// Reads one of `relay`'s TLS options into the side it is for: `listen` (a `tls://` LISTEN,
    /// as `listen tls://` takes them) or `target` (a `tls://` TARGET, as `connect tls://`).
    /// Nil sides are not `tls://`. False when `option` is not a TLS option.
    static func readRelay(_ option: String, _ args: inout CommandArguments, listen: inout TLSServerOptions?,
                          target: inout TLSClientOptions?) throws(CommandParser.ParseError) -> Bool {
        enum Side { case listen, target, both }
        let side: Side
        var name = option
        if option.hasPrefix(relayListenPrefix) {
            side = .listen
            name = "--" + option.dropFirst(relayListenPrefix.count)
        } else if option.hasPrefix(relayTargetPrefix) {
            side = .target
            name = "--" + option.dropFirst(relayTargetPrefix.count)
        } else if relaySharedOptions.contains(option) {
            switch (listen != nil, target != nil) {
            case (true, true):
                guard option == "--keylog" else {
                    let bare = option.dropFirst(2)
                    throw args.problem("both sides are tls://: say which \(option) this is, \(relayListenPrefix)\(bare) "
                                        + "(LISTEN's) or \(relayTargetPrefix)\(bare) (TARGET's)")
                }
                side = .both
            case (false, true): side = .target
            default: side = .listen
            }
        } else if serverOptions.contains(where: { $0.name == option }) {
            side = .listen
        } else if clientOptions.contains(where: { $0.name == option }) {
            side = .target
        } else {
            return false
        }
        if listen == nil, target == nil {
            throw args.problem("TLS options need a tls:// LISTEN or TARGET, as in relay tls://127.0.0.1:8443 127.0.0.1:80 "
                                + "or relay 8080 tls://example.com:443")
        }
        if side != .target {
            guard var server = listen else {
                throw args.problem("\(option) is a TLS option of the listening side: it needs a tls:// LISTEN, "
                                    + "as in relay tls://127.0.0.1:8443 127.0.0.1:80")
            }
            _ = try readServer(name, &args, into: &server)
            listen = server
        }
        if side == .both, let file = listen?.keyLogFile { target?.keyLogFile = file }
        if side == .target {
            guard var client = target else {
                throw args.problem("\(option) is a TLS option of the upstream side: it needs a tls:// TARGET, "
                                    + "as in relay 8080 tls://example.com:443")
            }
            _ = try readClient(name, &args, into: &client)
            target = client
        }
        return true
    }

    private static func alpn(_ args: inout CommandArguments) throws(CommandParser.ParseError) -> [String] {
        let list = try args.value(of: "--alpn").split(separator: ",").map(String.init)
        // A protocol name is 1 to 255 bytes on the wire (RFC 7301).
        guard !list.isEmpty, list.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 255 }) else {
            throw args.problem("--alpn takes protocol names separated by commas, as in --alpn h2,http/1.1")
        }
        return list
    }
}

/// TLS requests printed back as command words.
enum TLSCommandText {
    static func endpoint(_ endpoint: Endpoint, tls: Bool) -> String {
        guard tls, case .inet(_, let host, let port) = endpoint else { return endpoint.description }
        return TLSCommandWords.scheme + AddressText.hostPort(host, port)
    }

    /// `sharedPrefix`: a relay with both sides `tls://` writes its shared options `--target-X`.
    static func options(_ tls: TLSClientOptions, sharedPrefix: String? = nil) -> [String] {
        let spelled = { (option: String) in sharedName(option, prefix: sharedPrefix) }
        var words: [String] = []
        switch tls.serverName {
        case .fromHost: break
        case .name(let name): words += ["--sni", CommandText.argument(name)]
        case .none: words.append("--no-sni")
        }
        if !tls.alpn.isEmpty { words += [spelled("--alpn"), CommandText.argument(tls.alpn.joined(separator: ","))] }
        if let file = tls.caFile { words += [spelled("--ca"), CommandText.argument(file)] }
        if tls.insecure { words.append("--insecure") }
        if let file = tls.certificateFile { words += [spelled("--cert"), CommandText.argument(file)] }
        if let file = tls.keyFile { words += [spelled("--key"), CommandText.argument(file)] }
        if let version = tls.minimumVersion { words += ["--tls-min", version.rawValue] }
        if let version = tls.maximumVersion { words += ["--tls-max", version.rawValue] }
        if let file = tls.keyLogFile { words += [spelled("--keylog"), CommandText.argument(file)] }
        return words
    }

    static func options(_ tls: TLSServerOptions, sharedPrefix: String? = nil) -> [String] {
        let spelled = { (option: String) in sharedName(option, prefix: sharedPrefix) }
        var words: [String] = []
        if let file = tls.certificateFile { words += [spelled("--cert"), CommandText.argument(file)] }
        if let file = tls.keyFile { words += [spelled("--key"), CommandText.argument(file)] }
        if !tls.alpn.isEmpty { words += [spelled("--alpn"), CommandText.argument(tls.alpn.joined(separator: ","))] }
        if let file = tls.saveCertificateFile { words += ["--save-cert", CommandText.argument(file)] }
        if let file = tls.keyLogFile { words += [spelled("--keylog"), CommandText.argument(file)] }
        if tls.requireClientCertificate { words.append("--require-client-cert") }
        if let file = tls.clientCAFile { words += [spelled("--ca"), CommandText.argument(file)] }
        return words
    }

    private static func sharedName(_ option: String, prefix: String?) -> String {
        guard let prefix, TLSCommandWords.relaySharedOptions.contains(option) else { return option }
        return prefix + option.dropFirst(2)
    }

    /// A relay's TLS options: each side's as `listen tls://` and `connect tls://` write them;
    /// with both sides `tls://` the shared ones carry their side's prefix, and one key log
    /// file for both is `--keylog`.
    static func relayOptions(listen: TLSServerOptions?, target: TLSClientOptions?) -> [String] {
        guard var listen, var target else {
            return (listen.map { options($0) } ?? []) + (target.map { options($0) } ?? [])
        }
        var words: [String] = []
        if let file = listen.keyLogFile, file == target.keyLogFile {
            words += ["--keylog", CommandText.argument(file)]
            listen.keyLogFile = nil
            target.keyLogFile = nil
        }
        return words + options(listen, sharedPrefix: TLSCommandWords.relayListenPrefix)
            + options(target, sharedPrefix: TLSCommandWords.relayTargetPrefix)
    }
}
