/// `explain`: plain words for an errno name or a TCP state.
public enum Explanation {
    public static func lines(for topic: String) -> [String] {
        // By name in any case (econnrefused) or by number, as a program prints it (111).
        if let entry = ErrnoCatalog.entry(named: topic) ?? Int32(topic).flatMap(ErrnoCatalog.entry(for:)) {
            return ["\(entry.name) (errno \(entry.number)): \(entry.explanation)"]
        }
        if let state = TCPState(name: topic) {
            return ["\(state.name): \(state.explanation)"]
        }
        if let text = resolutionErrors[topic.uppercased()] {
            return ["\(topic.uppercased()): \(text)"]
        }
        if let text = TLSReasons.explanation(ofCode: topic.uppercased()) {
            return ["\(topic.uppercased()) (TLS): \(text)"]
        }
        if let alert = TLSReasons.alert(named: topic) {
            return ["TLS alert \(alert.name) (\(alert.number)): \(alert.meaning)"]
        }
        return ["nothing known about '\(topic)'; try an errno such as ECONNREFUSED (or its number, 111), a TCP state"
                + " such as TIME-WAIT, or a TLS alert or reason such as unknown_ca, alert:48 or WRONG_VERSION_NUMBER"]
    }

    /// getaddrinfo's own error codes (not errno values).
    public static let resolutionErrors: [String: String] = [
        "EAI_NONAME": "the name does not exist (or is not known to the resolver)",
        "EAI_AGAIN": "the resolver could not answer now; try again later",
        "EAI_FAIL": "the resolver failed for good",
        "EAI_NODATA": "the name exists but has no address of the asked family",
        "EAI_FAMILY": "the address family is not supported",
        "EAI_SERVICE": "the port or service is not valid for this socket type",
    ]
}
