import Testing
@testable import SockscopeCore

/// `socket raw icmp` and `sendto S1 HOST [TEXT]`: the language, and the reducer's checks
/// that a host without a port goes only to an ICMP step socket (and a port never does).
@Suite struct StepICMPCommandTests {
    @Test func icmpStepCommandsReadAndPrintBack() throws {
        #expect(try CommandParser.parse("socket raw icmp") == .step(.socket(.icmp)))
        #expect(try CommandParser.parse("socket raw icmp6") == .step(.socket(.icmp6)))
        #expect(try CommandParser.parse("socket raw icmp --ipv6") == .step(.socket(.icmp6)))
        let s1 = SocketID(.socket, 1)
        #expect(try CommandParser.parse("sendto S1 127.0.0.1 hi")
                == .sendTo(target: s1, destination: .inet(.icmp, host: "127.0.0.1", port: 0), bytes: Array("hi".utf8)))
        #expect(try CommandParser.parse("sendto S1 ::1")
                == .sendTo(target: s1, destination: .inet(.icmp, host: "::1", port: 0), bytes: []))
        #expect(try CommandParser.parse("sendto S1 [::1] x")
                == .sendTo(target: s1, destination: .inet(.icmp, host: "::1", port: 0), bytes: Array("x".utf8)))
        // With a port it stays a UDP address; a bare number stays a port.
        #expect(try CommandParser.parse("sendto S1 127.0.0.1:9 hi")
                == .sendTo(target: s1, destination: .inet(.udp, host: "127.0.0.1", port: 9), bytes: Array("hi".utf8)))
        #expect(try CommandParser.parse("sendto S1 9 hi")
                == .sendTo(target: s1, destination: .inet(.udp, host: "127.0.0.1", port: 9), bytes: Array("hi".utf8)))
        for line in ["socket raw icmp", "socket raw icmp --ipv6", "sendto S1 127.0.0.1 hi", "sendto S1 ::1", "sendto S2 localhost \"a b\""] {
            let command = try #require(try CommandParser.parse(line))
            #expect(try CommandParser.parse(CommandText.line(for: command)) == command, "\(line)")
        }
        for (line, expected) in [("socket raw tcp", "raw sockets here speak ICMP"), ("socket raw", "raw sockets here speak ICMP"),
                                 ("socket icmp", "needs a kind"), ("socket raw icmp --ipv4", "unknown option"),
                                 ("socket tcp --ipv6", "usage: socket")] {
            do {
                let command = try CommandParser.parse(line)
                Issue.record("'\(line)' read as \(String(describing: command))")
            } catch {
                #expect(error.message.contains(expected), "\(line): \(error.message)")
            }
        }
    }

    private func errors(_ effects: [Effect]) -> [String] {
        effects.compactMap { if case .notice(.error, let text) = $0 { text } else { nil } }
    }

    private func stepSocket(_ arguments: [String], in state: inout AppState) {
        let record = SyscallRecord(call: "socket", arguments: arguments, result: 7, phase: .created,
                                   transport: StepSocketKind(callArguments: arguments)!.transport)
        _ = Reducer.apply(EngineEvent(time: Timestamp(nanoseconds: 0), kind: .lab(.call(SocketID(.socket, 1), record))), to: &state)
    }

    @Test func aHostWithoutAPortIsForICMPStepSocketsOnly() {
        let time = Timestamp(nanoseconds: 0)
        // An ICMP socket opened as a datagram socket (no CAP_NET_RAW) is an ICMP step socket all the same.
        var icmp = AppState(interactive: false)
        stepSocket(["AF_INET", "SOCK_DGRAM", "IPPROTO_ICMP"], in: &icmp)
        #expect(icmp.lab.steps[SocketID(.socket, 1)]?.kind == .icmp)
        let sent = Reducer.reduce(&icmp, .commandLine("sendto S1 127.0.0.1 hi", origin: .prompt, time: time))
        #expect(sent.contains { if case .perform(let request) = $0, case .lab(.step(.sendTo)) = request.command { true } else { false } },
                "\(sent)")
        let withPort = errors(Reducer.reduce(&icmp, .commandLine("sendto S1 127.0.0.1:9 hi", origin: .prompt, time: time)))
        #expect(withPort.contains { $0.contains("S1 is an ICMP socket, whose addresses have no port") }, "\(withPort)")

        var udp = AppState(interactive: false)
        stepSocket(["AF_INET", "SOCK_DGRAM"], in: &udp)
        let bare = errors(Reducer.reduce(&udp, .commandLine("sendto S1 127.0.0.1 hi", origin: .prompt, time: time)))
        #expect(bare.contains { $0.contains("'127.0.0.1' has no port; write HOST:PORT") }, "\(bare)")
    }
}
