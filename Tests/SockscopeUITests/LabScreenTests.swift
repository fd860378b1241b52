import Testing
import TestSupport
import SockscopeCore
import SockscopeUI

private let start = Timestamp(nanoseconds: 1_795_283_403_000_000_000)

private func feed(_ kind: EngineEventKind, _ state: inout AppState, ms: Int64, request: RequestID? = nil) {
    _ = Reducer.reduce(&state, .engine(EngineEvent(time: Timestamp(nanoseconds: start.nanoseconds + ms * 1_000_000),
                                                   request: request, kind: kind)))
}

private func kernel(_ state: TCPState, rtt: Int? = nil, timer: Double? = nil, lingering: Bool = false) -> KernelSample {
    var sample = KernelSample()
    sample.state = state
    sample.rttMicroseconds = rtt
    sample.congestionWindow = rtt == nil ? nil : 10
    sample.retransmits = rtt == nil ? nil : 0
    sample.sendQueue = 0
    sample.receiveQueue = 0
    sample.timerSeconds = timer
    sample.lingering = lingering
    return sample
}

@Suite struct LabScreenTests {
    /// Both ends of a connection are ours: C1 closed first and sits in TIME-WAIT, C2 in CLOSE-WAIT.
    @Test func detailShowsBothEndsSideBySideAndTheLedger() {
        var state = sampleState(width: 120, height: 40)
        feed(.lab(.portRange(low: 32768, high: 60999)), &state, ms: 350)
        feed(.lab(.kernel(SocketID(.connection, 2), kernel(.established, rtt: 52))), &state, ms: 360)
        feed(.closed(SocketID(.connection, 1), reason: "closed by us"), &state, ms: 400)
        feed(.peerClosed(SocketID(.connection, 2)), &state, ms: 401)
        feed(.lab(.kernel(SocketID(.connection, 1), kernel(.timeWait, timer: 59.6, lingering: true))), &state, ms: 420)
        feed(.lab(.kernel(SocketID(.connection, 2), kernel(.closeWait, rtt: 48))), &state, ms: 421)
        _ = Reducer.reduce(&state, .select(.connections, index: 1))
        state.view.focus = .detail
        state.view.zoomed = true
        state.needsRedraw = false
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "lab-detail-120x40")
        let text = frame.grid.textLines.joined(separator: "\n")
        #expect(text.contains("TIME-WAIT 60 s left  │  CLOSE-WAIT"))
        #expect(text.contains("ephemeral: the kernel picked it from 32768–60999"))
        #expect(text.contains("kernel: TIME-WAIT") && text.contains("close() — closed by us"))
        // Unzoomed, the closed end stays as a dimmed row with its countdown.
        state.view.zoomed = false
        state.view.focus = .connections
        #expect(Screen.render(state).grid.textLines.joined().contains("TIME-WAIT 60s"))
    }

    @Test func stepSocketAndManualQueue() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 120, height: 40))
        let s1 = SocketID(.socket, 1), s2 = SocketID(.socket, 2)
        feed(.lab(.call(s1, SyscallRecord(call: "socket", arguments: ["AF_INET", "SOCK_STREAM"], result: 7, phase: .created,
                                          transport: .tcp))), &state, ms: 0)
        feed(.lab(.call(s1, SyscallRecord(call: "bind", arguments: ["7", "127.0.0.1:9000"], result: 0, phase: .bound,
                                          transport: .tcp))), &state, ms: 10)
        feed(.lab(.call(s1, SyscallRecord(call: "listen", arguments: ["7", "1"], result: 0, phase: .listening,
                                          transport: .tcp, local: "127.0.0.1:9000"))), &state, ms: 20)
        feed(.listening(s1, .tcp, local: "127.0.0.1:9000", mode: .interactive, backlog: 1), &state, ms: 20)
        var full = kernel(.listen)
        full.acceptQueue = 2
        full.backlog = 1
        full.listenOverflows = 7
        full.listenDrops = 7
        feed(.lab(.kernel(s1, full)), &state, ms: 30)
        full.listenOverflows = 9
        full.listenDrops = 9
        full.listenOverflowsSinceOpen = 2
        full.listenDropsSinceOpen = 2
        feed(.lab(.kernel(s1, full)), &state, ms: 40)
        feed(.lab(.call(s2, SyscallRecord(call: "socket", arguments: ["AF_INET", "SOCK_STREAM"], result: 8, phase: .created,
                                          transport: .tcp))), &state, ms: 50)
        state.view.focus = .listeners
        state.needsRedraw = false
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "lab-manual-queue-120x40")
        let text = frame.grid.textLines.joined(separator: "\n")
        #expect(text.contains("manual q 2/1"))
        #expect(text.contains("accept queue 2 / 1 waiting"))
        // Machine-wide counters say so; the listener's own share is the change since it opened.
        #expect(text.contains("system-wide  9 overflows, 9 drops since boot"), "\(text)")
        #expect(text.contains("overflows    +2 since S1 opened (drops +2)"), "\(text)")
        #expect(text.contains("next         accept S1  close S1"))
    }

    @Test func systemViewEscapesWhatTheSystemSays() {
        var state = AppState(interactive: true)
        _ = Reducer.reduce(&state, .resize(width: 100, height: 16))
        _ = Reducer.reduce(&state, .key(.character("S"), time: start))
        feed(.lab(.system([
            SystemSocket(proto: "tcp", state: "LISTEN", receiveQueue: 0, sendQueue: 128, local: "127.0.0.1:22",
                         remote: "0.0.0.0:0", process: "sshd (1)", inode: 1, isOurs: false),
            SystemSocket(proto: "tcp", state: "LISTEN", receiveQueue: 2, sendQueue: 1, local: "127.0.0.1:9000",
                         remote: "0.0.0.0:0", process: "sockscope (42)", inode: 2, isOurs: true),
            SystemSocket(proto: "unix", state: "LISTEN", receiveQueue: 0, sendQueue: 0, local: "/tmp/\u{1B}[2Jevil",
                         remote: "", process: "x\u{1B}]0;owned\u{07} (7)", inode: 3, isOurs: false),
        ])), &state, ms: 5)
        state.needsRedraw = false
        let frame = Screen.render(state)
        assertSnapshot(frame, named: "lab-system-100x16")
        let text = frame.grid.textLines.joined(separator: "\n")
        #expect(text.contains("\\x1b[2Jevil") && text.contains("x\\x1b]0;owned\\x07 (7)"))
        #expect(!frame.grid.textLines.joined().unicodeScalars.contains { $0.value == 0x1B })
    }
}
