/// Why a TLS handshake or session failed, in words: the alerts of RFC 8446 (6.2) and the
/// reasons BoringSSL names. One table for the engine's error events and for `explain`.
public enum TLSReasons {
    public struct Alert: Hashable, Sendable {
        public let number: Int
        public let name: String
        public let meaning: String
    }

    /// Every alert TLS 1.2 and 1.3 define, with what a person should read into it.
    public static let alerts: [Alert] = [
        Alert(number: 0, name: "close_notify", meaning: "the sender is ending the TLS session cleanly: nothing more follows"),
        Alert(number: 10, name: "unexpected_message", meaning: "a message arrived that does not belong at this point of the protocol"),
        Alert(number: 20, name: "bad_record_mac", meaning: "a record failed its integrity check (corrupted on the way, or the keys differ)"),
        Alert(number: 22, name: "record_overflow", meaning: "a record was longer than TLS allows"),
        Alert(number: 40, name: "handshake_failure", meaning: "no set of parameters both sides accept (versions, cipher suites, groups)"),
        Alert(number: 42, name: "bad_certificate", meaning: "a certificate was corrupt, or its signature did not verify"),
        Alert(number: 43, name: "unsupported_certificate", meaning: "a certificate of a type the peer does not support"),
        Alert(number: 44, name: "certificate_revoked", meaning: "a certificate was revoked by its issuer"),
        Alert(number: 45, name: "certificate_expired", meaning: "a certificate has expired or is not valid yet"),
        Alert(number: 46, name: "certificate_unknown", meaning: "a certificate was refused for a reason the other alerts do not name"),
        Alert(number: 47, name: "illegal_parameter", meaning: "a handshake field was out of range or inconsistent with the others"),
        Alert(number: 48, name: "unknown_ca", meaning: "the certificate chain does not lead to a CA the peer trusts"),
        Alert(number: 49, name: "access_denied", meaning: "the certificate was valid, but the peer's policy refuses access"),
        Alert(number: 50, name: "decode_error", meaning: "a message could not be decoded (a wrong length, a value out of range)"),
        Alert(number: 51, name: "decrypt_error", meaning: "a cryptographic check of the handshake failed (a signature, the Finished message)"),
        Alert(number: 70, name: "protocol_version", meaning: "the peer does not speak the TLS version offered (see --tls-min/--tls-max)"),
        Alert(number: 71, name: "insufficient_security", meaning: "the peer wants stronger cipher suites than were offered"),
        Alert(number: 80, name: "internal_error", meaning: "the peer failed for a reason of its own, not ours"),
        Alert(number: 86, name: "inappropriate_fallback", meaning: "a retry with an older version was refused (downgrade protection)"),
        Alert(number: 90, name: "user_canceled", meaning: "the handshake was abandoned on purpose"),
        Alert(number: 109, name: "missing_extension", meaning: "an extension the peer requires was not sent"),
        Alert(number: 110, name: "unsupported_extension", meaning: "an extension was sent where it is not allowed"),
        Alert(number: 112, name: "unrecognized_name", meaning: "the server has no certificate for the name asked in SNI (see --sni)"),
        Alert(number: 113, name: "bad_certificate_status_response", meaning: "an OCSP status response was invalid"),
        Alert(number: 115, name: "unknown_psk_identity", meaning: "no pre-shared key matches the identity offered"),
        Alert(number: 116, name: "certificate_required", meaning: "the server requires a client certificate (--cert FILE --key FILE)"),
        Alert(number: 120, name: "no_application_protocol", meaning: "no ALPN protocol in common (see --alpn)"),
    ]

    /// `unknown_ca`, `UNKNOWN-CA`, `alert:48`: an alert by name or number.
    public static func alert(named text: String) -> Alert? {
        let lower = text.lowercased()
        for prefix in ["alert:", "alert-", "alert"] where lower.hasPrefix(prefix) {
            if let number = Int(lower.dropFirst(prefix.count)) { return alerts.first { $0.number == number } }
        }
        let name = String(lower.map { $0 == "-" ? "_" : $0 })
        return alerts.first { $0.name == name }
    }

    /// Reasons BoringSSL names that are not alerts from the peer, or that deserve their own words.
    static let reasons: [String: String] = [
        "WRONG_VERSION_NUMBER": "the peer does not speak TLS here (its first bytes are not a TLS record: plain TCP?)",
        "UNSUPPORTED_PROTOCOL": "no TLS version in common (see --tls-min/--tls-max)",
        "TLSV1_ALERT_PROTOCOL_VERSION": "the peer refused our TLS versions (alert protocol_version; see --tls-min/--tls-max)",
        "NO_SHARED_CIPHER": "no cipher suite in common",
        "SSLV3_ALERT_HANDSHAKE_FAILURE": "the peer refused the handshake (alert handshake_failure: nothing in common)",
        "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": "no ALPN protocol in common (alert no_application_protocol; see --alpn)",
        "TLSV1_ALERT_UNKNOWN_CA": "the peer does not trust our certificate's issuer (alert unknown_ca)",
        "SSLV3_ALERT_BAD_CERTIFICATE": "the peer rejected our certificate (alert bad_certificate)",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the peer says our certificate expired (alert certificate_expired)",
        "TLSV1_CERTIFICATE_REQUIRED": "the server requires a client certificate (--cert FILE --key FILE)",
        "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the client sent no certificate although one is required",
        "TLSV1_ALERT_DECODE_ERROR": "the peer could not decode our message (alert decode_error)",
        "TLSV1_ALERT_INTERNAL_ERROR": "the peer failed internally (alert internal_error)",
        "TLSV1_UNRECOGNIZED_NAME": "the server has no certificate for that name (alert unrecognized_name; see --sni)",
        "HTTP_REQUEST": "the peer sent an HTTP request to a TLS port: it is speaking plain HTTP",
        "CERTIFICATE_VERIFY_FAILED": "the peer's certificate did not verify; the error says why (expired, name mismatch, "
            + "self-signed, unknown issuer); --insecure goes on anyway, --ca names the roots to trust",
        "UNCLEAN_SHUTDOWN": "the peer closed the TCP connection without a TLS close_notify (so a cut-off cannot be told from the end)",
    ]

    /// A BoringSSL reason code (`TLSV1_ALERT_UNKNOWN_CA`, `WRONG_VERSION_NUMBER`) in words;
    /// an alert the peer sent (`SSLV3_ALERT_*`, `TLSV1_ALERT_*`) is named with its number.
    public static func explanation(ofCode code: String) -> String? {
        if let text = reasons[code] { return text }
        for prefix in ["SSLV3_ALERT_", "TLSV1_ALERT_"] where code.hasPrefix(prefix) {
            if let alert = alert(named: String(code.dropFirst(prefix.count))) {
                return "the peer sent alert \(alert.name) (\(alert.number)): \(alert.meaning)"
            }
        }
        return nil
    }
}
