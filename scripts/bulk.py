#!/usr/bin/env python3
"""Bulk data through sockscope, side by side with plain sockets, in one run.

  scripts/bulk.py BINARY [--gib N] [--reps R]

Three transfers of N GiB over loopback (default 1), each repeated R times, medians:
  reference   sendfile(2) into a recv_into loop (what loopback moves with no tool)
  discard     sendfile(2) into `sockscope --headless -c "listen ... --discard"`
  sendfile    `sockscope --headless -c "connect ..." -c "sendfile C1 FILE"` into a recv_into loop
The tool's log must coalesce reads: its output lines are counted and reported.
Bounded: every socket has a timeout; the whole run stops on its own.
"""
import os, socket, statistics, subprocess, sys, tempfile, threading, time

def sink(listener, total, result):
    conn, _ = listener.accept()
    conn.settimeout(60)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    got, start = 0, time.perf_counter()
    while got < total:
        n = conn.recv_into(view)
        if n == 0:
            break
        got += n
    result.append((got, time.perf_counter() - start))
    conn.close()

def source(port, path, total):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    start = time.perf_counter()
    with open(path, "rb") as f:
        s.sendfile(f, 0, total)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the discard listener closes at our EOF: every byte has been read
    elapsed = time.perf_counter() - start
    s.close()
    return elapsed

def listener():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    l.settimeout(60)
    return l, l.getsockname()[1]

def reference(path, total):
    l, port = listener()
    result = []
    t = threading.Thread(target=sink, args=(l, total, result)); t.start()
    elapsed = source_plain(port, path, total)
    t.join(); l.close()
    return result[0][1]

def source_plain(port, path, total):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    with open(path, "rb") as f:
        s.sendfile(f, 0, total)
    s.close()

def discard(binary, path, total):
    p = subprocess.Popen([binary, "--headless", "-c", "listen 0 --discard"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    elapsed = source(port, path, total)
    p.terminate()
    lines = 1 + len(p.communicate(timeout=30)[0].splitlines())
    return elapsed, lines

def sendfile_out(binary, path, total):
    l, port = listener()
    result = []
    t = threading.Thread(target=sink, args=(l, total, result)); t.start()
    p = subprocess.Popen([binary, "--headless", "-c", f"connect {port}", "-c", f"sendfile C1 {path}"],
                         stdout=subprocess.PIPE, text=True)
    t.join(); l.close()
    p.terminate()
    lines = len(p.communicate(timeout=30)[0].splitlines())
    got, elapsed = result[0]
    assert got == total, f"sink got {got} of {total}"
    return elapsed, lines

def main():
    binary = os.path.abspath(sys.argv[1])
    gib = float(sys.argv[sys.argv.index("--gib") + 1]) if "--gib" in sys.argv else 1.0
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    total = int(gib * (1 << 30)) >> 20 << 20  # whole MiB: the file is written a MiB at a time
    with tempfile.NamedTemporaryFile(delete=False) as f:
        chunk = os.urandom(1 << 20)
        for _ in range(total >> 20):
            f.write(chunk)
        path = f.name
    try:
        rows = {"reference": [], "discard": [], "sendfile": []}
        lines = {"discard": [], "sendfile": []}
        for _ in range(reps):  # interleaved, so load changes hit every row alike
            rows["reference"].append(total / reference(path, total) / 1e6)
            e, n = discard(binary, path, total); rows["discard"].append(total / e / 1e6); lines["discard"].append(n)
            e, n = sendfile_out(binary, path, total); rows["sendfile"].append(total / e / 1e6); lines["sendfile"].append(n)
        ref = statistics.median(rows["reference"])
        print(f"bulk: {gib:g} GiB per transfer, {reps} interleaved reps, medians (MB/s = 10^6 B/s)\n")
        print("| transfer | MB/s | range | x reference | tool output lines |")
        print("|---|--:|--:|--:|--:|")
        for name in ["reference", "discard", "sendfile"]:
            m = statistics.median(rows[name])
            out = "-" if name == "reference" else str(int(statistics.median(lines[name])))
            print(f"| {name} | {m:.0f} | {min(rows[name]):.0f}-{max(rows[name]):.0f} | {m / ref:.2f}x | {out} |")
    finally:
        os.unlink(path)

if __name__ == "__main__":
    main()
