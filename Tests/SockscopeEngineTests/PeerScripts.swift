/// Python peers used by the engine tests. Each prints what the test checks to stdout.
enum PeerScripts {
    /// argv: port message. Sends the message and closes at once (both directions): whatever
    /// arrives afterwards makes its kernel answer with RST.
    static let sendThenClose = """
    import socket, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(sys.argv[2].encode())
    s.close()
    print("CLOSED")
    """

    /// argv: port message. Sends the message, half-closes, prints `GOT <everything received>`.
    static let sendThenRead = """
    import socket, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(sys.argv[2].encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print("GOT " + data.decode())
    """

    /// argv: go-flag-path. Listens, prints `PORT <n>`, accepts one connection and reads
    /// nothing until the file at go-flag-path exists (so what we send has to wait in our
    /// queue), then reads to EOF, prints `GOT <count> <sha256>`, answers `DONE <count>\n`
    /// (we may still receive after `shutdown write`) and closes.
    static let sinkWaitingForGo = """
    import hashlib, os, socket, sys, time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    print("PORT %d" % srv.getsockname()[1], flush=True)
    conn, _ = srv.accept()
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.01)
    digest, total = hashlib.sha256(), 0
    try:
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        print("GOT %d %s" % (total, digest.hexdigest()), flush=True)
        conn.sendall(b"DONE %d\\n" % total)
    except ConnectionResetError:
        print("RESET after %d" % total, flush=True)
    conn.close()
    """

    /// argv: port count. Reads `count` bytes (a greeting), prints `GOT <bytes>`, closes.
    static let readGreeting = """
    import socket, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    want = int(sys.argv[2])
    data = b""
    while len(data) < want:
        chunk = s.recv(want - len(data))
        if not chunk:
            break
        data += chunk
    print("GOT " + data.decode())
    s.close()
    """

    /// argv: port writes size. Ping-pong: sends `writes` messages of `size` bytes one at a
    /// time (Nagle off), each only after the echo of the last, so that the server reads
    /// each message alone; checks every echo, prints `ECHOED <total>`.
    static let pingPong = """
    import socket, sys
    port, writes, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    total = 0
    for i in range(writes):
        message = bytes([65 + (i % 26)]) * size
        s.sendall(message)
        data = b""
        while len(data) < size:
            chunk = s.recv(size - len(data))
            if not chunk:
                raise SystemExit("EOF after %d echoes" % i)
            data += chunk
        assert data == message, (i, data)
        total += len(data)
    print("ECHOED %d" % total, flush=True)
    s.close()
    """

    /// argv: port clients. Opens every connection, checks an echo on each, resets the first
    /// (SO_LINGER 0: the misbehaving client), then checks a second echo on all the others.
    static let manyClients = """
    import socket, struct, sys
    port, n = int(sys.argv[1]), int(sys.argv[2])
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    def echo(s, msg):
        s.sendall(msg)
        data = b""
        while len(data) < len(msg):
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("EOF while waiting for " + msg.decode())
            data += chunk
        assert data == msg, (data, msg)
    for i, s in enumerate(conns):
        echo(s, ("first-%d;" % i).encode())
    print("FIRST ROUND OK")
    conns[0].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conns[0].close()
    for i, s in enumerate(conns[1:], start=1):
        echo(s, ("second-%d;" % i).encode())
    for s in conns[1:]:
        s.close()
    print("SECOND ROUND OK")
    """

    /// argv: greeting. Listens on 127.0.0.1:0, prints `PORT <n>`, sends the greeting to its
    /// one client and closes.
    static let greetingServer = """
    import socket, sys
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    print("PORT %d" % srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.sendall(sys.argv[1].encode())
    conn.close()
    print("DONE")
    """

    /// argv: port. Sends `x`, then resets the connection (SO_LINGER 0).
    static let resetClient = """
    import socket, struct, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"x")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("RESET")
    """

    /// argv: port total go-file. A small receive buffer (no autotuning) and a sender thread
    /// pushing `total` bytes; reads nothing until `go-file` exists, then prints `GOT <n>`.
    static let floodThenRead = """
    import os, socket, sys, threading, time
    port, total, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    def send():
        block = bytes(range(256)) * 256
        left = total
        while left > 0:
            n = min(left, len(block))
            s.sendall(block[:n])
            left -= n
        print("SENT ALL", flush=True)
    threading.Thread(target=send, daemon=True).start()
    while not os.path.exists(go):
        time.sleep(0.01)
    got = 0
    while got < total:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    print("GOT %d" % got)
    s.close()
    """

    /// argv: port message. UDP: sends one datagram, prints `GOT <reply>`.
    static let udpClient = """
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.sendto(sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
    data, _ = s.recvfrom(65536)
    print("GOT " + data.decode())
    """

    /// UDP echo server on 127.0.0.1:0: prints `PORT <n>`, echoes one datagram, prints `ECHOED`.
    static let udpEchoServer = """
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("PORT %d" % s.getsockname()[1])
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)
    print("ECHOED")
    """

    /// argv: path message. UNIX stream: sends, half-closes, prints `GOT <everything received>`.
    static let unixSendThenRead = """
    import socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)  # the test kills it when done; under load its steps can take more than 10 s
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print("GOT " + data.decode())
    """
}
