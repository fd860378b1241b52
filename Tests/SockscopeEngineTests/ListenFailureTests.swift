import Foundation
import SockscopeCore
import SockscopeEngine
import Testing
import TestSupport

@Suite("Listen failures", .timeLimit(.minutes(1)))
struct ListenFailureTests {
    private func listen(_ host: String, _ port: Int) -> EngineCommand {
        .listen(ListenRequest(endpoint: .inet(.tcp, host: host, port: port)))
    }

    /// The one failure a listen request answers with, checked to be `.error(nil, ...)` then completion.
    private func failure(of answer: [EngineEventKind]) -> SocketFailure? {
        guard answer.count == 2, answer.last == .requestCompleted, case .error(nil, let failure)? = answer.first else {
            Issue.record("expected .error(nil, ...) then .requestCompleted, got \(answer)")
            return nil
        }
        return failure
    }

    @Test func aPortInUseIsEADDRINUSE() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let first = try await harness.listen()
        let failure = failure(of: try await harness.perform(listen("127.0.0.1", first.port)))
        #expect(failure?.call == "bind")
        #expect(failure?.errno == EADDRINUSE)
        #expect(failure?.code == "EADDRINUSE")
        #expect(failure?.explanation == ErrnoCatalog.entry(named: "EADDRINUSE")?.explanation)
        #expect(failure?.target == "tcp://127.0.0.1:\(first.port)")
        // No id was used up by the failure.
        let next = try await harness.listen()
        #expect(next.id == SocketID(.listener, 2))
    }

    @Test func anAddressOfAnotherMachineIsEADDRNOTAVAIL() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let failure = failure(of: try await harness.perform(listen("192.0.2.1", 0)))
        #expect(failure?.call == "bind")
        #expect(failure?.code == "EADDRNOTAVAIL")
    }

    @Test func anUnresolvableHostIsANameResolutionFailure() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let failure = failure(of: try await harness.perform(listen("no-such-host.invalid", 0)))
        #expect(failure?.call == "getaddrinfo")
        #expect(failure?.code?.hasPrefix("EAI_") == true)
        #expect(failure?.explanation.contains("no-such-host.invalid") == true)
    }

    // A port below 1024 is EACCES only for an unprivileged user, and these tests run as root
    // in CI: FaultTests.permissionDeniedIsExplained checks it with the binary run as nobody.

    @Test func aUnixPathThatExistsIsEADDRINUSE() async throws {
        let harness = EngineHarness()
        defer { harness.shutdown() }
        let path = try TemporaryPath.file(prefix: "taken", contents: "")
        defer { unlink(path) }
        let failure = failure(of: try await harness.perform(.listen(ListenRequest(endpoint: .unix(path: path)))))
        #expect(failure?.code == "EADDRINUSE")
    }
}

@Suite("Errno catalogue")
struct ErrnoCatalogTests {
    @Test func numbersMatchGlibc() {
        let glibc: [String: Int32] = [
            "EPERM": EPERM, "ENOENT": ENOENT, "EINTR": EINTR, "EBADF": EBADF, "EAGAIN": EAGAIN, "ENOMEM": ENOMEM,
            "EACCES": EACCES, "EEXIST": EEXIST, "ENOTDIR": ENOTDIR, "EISDIR": EISDIR, "EINVAL": EINVAL, "ENFILE": ENFILE,
            "EMFILE": EMFILE, "EPIPE": EPIPE, "ENAMETOOLONG": ENAMETOOLONG, "ENOTSOCK": ENOTSOCK,
            "EDESTADDRREQ": EDESTADDRREQ, "EMSGSIZE": EMSGSIZE, "ENOPROTOOPT": ENOPROTOOPT,
            "EOPNOTSUPP": EOPNOTSUPP, "EAFNOSUPPORT": EAFNOSUPPORT, "EADDRINUSE": EADDRINUSE,
            "EADDRNOTAVAIL": EADDRNOTAVAIL, "ENETDOWN": ENETDOWN, "ENETUNREACH": ENETUNREACH,
            "ECONNABORTED": ECONNABORTED, "ECONNRESET": ECONNRESET, "ENOBUFS": ENOBUFS, "EISCONN": EISCONN,
            "ENOTCONN": ENOTCONN, "ESHUTDOWN": ESHUTDOWN, "ETIMEDOUT": ETIMEDOUT, "ECONNREFUSED": ECONNREFUSED,
            "EHOSTDOWN": EHOSTDOWN, "EHOSTUNREACH": EHOSTUNREACH, "EALREADY": EALREADY, "EINPROGRESS": EINPROGRESS,
        ]
        for entry in ErrnoCatalog.entries {
            let expected = glibc[entry.name]
            #expect(expected != nil, "\(entry.name) has no Glibc constant in this test")
            #expect(entry.number == expected, "\(entry.name)")
        }
        #expect(Set(glibc.keys) == Set(ErrnoCatalog.entries.map(\.name)), "every constant here is catalogued")
    }

    @Test func systemFailuresCarryTheSymbolicName() {
        let failure = SocketFailure.system(call: "connect", errno: ECONNREFUSED, target: "tcp://127.0.0.1:9")
        #expect(failure.code == "ECONNREFUSED")
        #expect(failure.errno == 111)
        #expect(ErrnoCatalog.entry(for: EMFILE)?.explanation.contains("ulimit -n") == true)
    }
}
