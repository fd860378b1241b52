import Testing
import TestSupport
import SockscopeCore

@Suite struct ProcNetTests {
    static let tcp = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:2328 00000000:0000 0A 00000002:00000000 00:00000000 00000000  1000        0 54321 1 0000000000000000 100 0 0 10 0
           1: 0100007F:C350 0100007F:2328 01 00000000:00000005 00:00000000 00000000     0        0 54322 1 0000000000000000 20 4 30 10 -1
           2: garbage line
        """

    static let tcp6 = """
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
           1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 06 00000000:00000000 03:00000F9E 00000000     0        0 0 3 0000000000000000
        """

    static let unix = """
        Num       RefCount Protocol Flags    Type St Inode Path
        00000000c90b12fe: 00000002 00000000 00010000 0001 01 1463 /run/demo.sock
        0000000077932365: 00000003 00000000 00000000 0001 03  1464
        0000000077932366: 00000002 00000000 00010000 0002 01  1465 @abstract-name
        """

    @Test func ipv4Rows() {
        let rows = ProcNet.parseInet(Self.tcp, ipv6: false)
        #expect(rows.count == 2)
        #expect(rows[0].local == "127.0.0.1:9000")
        #expect(rows[0].state == TCPState.listen.rawValue)
        #expect(rows[0].transmitQueue == 2)
        #expect(rows[0].uid == 1000)
        #expect(rows[1].remote == "127.0.0.1:9000")
        #expect(rows[1].local.port == 50000)
        #expect(rows[1].receiveQueue == 5)
    }

    @Test func ipv6RowsAndMappedAddresses() {
        let rows = ProcNet.parseInet(Self.tcp6, ipv6: true)
        #expect(rows.map(\.local) == ["[::1]:8080", "[::ffff:127.0.0.1]:8080"])
        #expect(rows[1].state == TCPState.timeWait.rawValue)
    }

    @Test func unixRows() {
        let rows = ProcNet.parseUnix(Self.unix)
        #expect(rows.count == 3)
        #expect(rows[0].listening && rows[0].path == "/run/demo.sock")
        #expect(rows[1].path == "" && !rows[1].listening)
        #expect(rows[2].type == 2 && rows[2].path == "@abstract-name")
    }

    @Test func counters() {
        let text = "TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\nIpExt: InNoRoutes\nIpExt: 0\n"
        let counters = ProcNet.parseCounters(text)
        #expect(counters["TcpExtListenOverflows"] == 3)
        #expect(counters["TcpExtListenDrops"] == 4)
        #expect(counters["IpExtInNoRoutes"] == 0)
        #expect(ProcNet.parseCounters(text, only: ["TcpExtListenDrops", "IpExtInNoRoutes", "TcpExtNone"])
            == ["TcpExtListenDrops": 4, "IpExtInNoRoutes": 0])
        #expect(ProcNet.parseCounters(text, only: []) == [:])
    }

    @Test func ipv6Formatting() {
        #expect(IPv6Address(bytes: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]).description == "2001:db8::1")
        #expect(IPv6Address(bytes: Array(repeating: 0, count: 16)).description == "::")
        #expect(IPv6Address(bytes: [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]).description == "1:0:1:0:1:0:1:1")
    }

    @Test func tcpStateNames() {
        #expect(TCPState(name: "time_wait") == .timeWait)
        #expect(TCPState(name: "ESTAB") == .established)
        #expect(TCPState(name: "nope") == nil)
        for state in TCPState.allCases { #expect(!state.explanation.isEmpty) }
    }
}
