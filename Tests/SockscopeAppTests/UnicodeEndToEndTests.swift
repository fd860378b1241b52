import Foundation
import Testing
import TestSupport

/// A real peer sends invisible characters, wide and combining ones, and binary bytes
/// that spell UTF-8; headless text and JSON show each escaped as it should be.
@Suite(.timeLimit(.minutes(1))) struct UnicodeEndToEndTests {
    /// ARABIC LETTER MARK, SOFT HYPHEN, ARABIC NUMBER SIGN, MONGOLIAN VOWEL SEPARATOR,
    /// then a rocket, CJK and e with a combining acute, which stay as they are.
    static let text = "a\u{061C}b\u{00AD}c\u{0600}1\u{180E}d \u{1F680}漢字 cafe\u{301}"
    static let shown = #"a\u{61C}b\u{AD}c\u{600}1\u{180E}d "# + "\u{1F680}漢字 cafe\u{301}"
    /// Three controls and "é": more than half of the bytes are not text.
    static let binary: [UInt8] = [0x01, 0x02, 0x03, 0xC3, 0xA9]

    /// Runs `sockscope --headless` listening, and a Python peer that connects twice:
    /// once sending `text`, once `binary`. Returns the output once both have closed.
    func exchange(json: Bool) async throws -> String {
        let server = try SpawnedProcess(Binary.path, ["--headless"] + (json ? ["--json"] : []) + ["-c", "listen 0"])
        defer { server.kill(SIGKILL) }
        #expect(await server.waitForOutput(containing: "listening"))
        let port = try #require(listeningPort(in: server.output))
        let peer = try PythonPeer.run("""
            import socket, sys
            for payload in (sys.argv[2].encode("utf-8"), bytes([1, 2, 3, 0xC3, 0xA9])):
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                s.sendall(payload)
                s.close()
            """, ["\(port)", Self.text])
        #expect(await peer.wait() == 0)
        #expect(await waitUntil { server.output.components(separatedBy: "closed").count > 2 })
        return server.output
    }

    func expectNoInvisibleScalars(_ output: String) {
        for value: UInt32 in [0x061C, 0x00AD, 0x0600, 0x180E] {
            #expect(!output.unicodeScalars.contains(Unicode.Scalar(value)!), "U+\(String(value, radix: 16)) reached stdout raw")
        }
        // By scalar: as characters "é" would also match the e and combining acute sent as text.
        #expect(!output.unicodeScalars.contains("\u{E9}"), "binary bytes do not read as text")
    }

    @Test(.requires("python3")) func headlessTextShowsThemEscaped() async throws {
        let output = try await exchange(json: false)
        let count = Self.text.utf8.count
        #expect(output.contains(#"C1 received \#(count) B ""# + Self.shown + "\""))
        #expect(output.contains(#"C2 received 5 B "\x01\x02\x03\xc3\xa9""#))
        expectNoInvisibleScalars(output)
    }

    @Test(.requires("python3")) func headlessJSONShowsThemEscaped() async throws {
        let output = try await exchange(json: true)
        let received = try output.split(separator: "\n").compactMap { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.filter { $0["event"] as? String == "received" }
        let texts = Dictionary(received.map { ($0["id"] as? String ?? "", $0["text"] as? String ?? "") }) { $0 + $1 }
        #expect(texts["C1"] == Self.shown)
        #expect(texts["C2"] == #"\x01\x02\x03\xc3\xa9"#)
        expectNoInvisibleScalars(output)
    }
}
