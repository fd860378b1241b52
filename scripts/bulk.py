#!/usr/bin/env python3
"""Bulk data through sockscope, side by side with plain sockets, in one run.

  scripts/bulk.py BINARY [--gib N] [--reps R]

Three transfers of N GiB over loopback (default 1), each repeated R times, medians:
  reference   sendfile(2) into a recv_into loop (what loopback moves with no tool)
  discard     sendfile(2) into `sockscope --headless -c "listen ... --discard"`
  sendfile    `sockscope --headless -c "connect ..." -c "sendfile C1 FILE"` into a recv_into loop
Every transfer is timed the same way, at the receiver, from its accept to the last byte:
the recv_into loop with its own clock; sockscope as a receiver by its own log (--json:
the accepted event's ts to the closed event's ts, millisecond stamps). Every byte count
is checked: the receiver got exactly N bytes, and sockscope logged exactly N received
(discard) or sent (sendfile); a run that moved less stops with an error.
The tool's log must coalesce reads: its output lines are counted and reported.
Bounded: every socket has a timeout; the whole run stops on its own.
"""
import json
from datetime import datetime
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
    source_plain(port, path, total)
    t.join(); l.close()
    got, elapsed = result[0]
    assert got == total, f"reference sink got {got} of {total}"
    return elapsed

def source_plain(port, path, total):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    with open(path, "rb") as f:
        s.sendfile(f, 0, total)
    s.close()

def tool_events(output):
    """sockscope --json lines as objects (non-JSON lines are an error: the run is broken)."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]

def seconds(ts):
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

def logged_bytes(events, event, socket_id):
    return sum(e.get("bytes", 0) for e in events if e.get("event") == event and e.get("id") == socket_id)

def discard(binary, path, total):
    p = subprocess.Popen([binary, "--headless", "--json"] + extra_args() + ["-c", "listen 0 --discard"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    port = int(json.loads(first)["local"].rsplit(":", 1)[1])
    source(port, path, total)
    p.terminate()
    events = tool_events(first + p.communicate(timeout=30)[0])
    received = logged_bytes(events, "received", "C1")
    assert received == total, f"sockscope logged {received} of {total} bytes received"
    accepted = next(e for e in events if e.get("event") == "accepted" and e.get("id") == "C1")
    closed = next(e for e in events if e.get("event") == "closed" and e.get("id") == "C1")
    return seconds(closed["ts"]) - seconds(accepted["ts"]), len(events)

def sendfile_out(binary, path, total):
    l, port = listener()
    result = []
    t = threading.Thread(target=sink, args=(l, total, result)); t.start()
    p = subprocess.Popen([binary, "--headless", "--json"] + extra_args()
                         + ["-c", f"connect {port}", "-c", f"sendfile C1 {path}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    t.join(); l.close()
    # The sink closed after the last byte: the session ends by itself once it sees that.
    events = tool_events(p.communicate(timeout=60)[0])
    got, elapsed = result[0]
    assert got == total, f"sink got {got} of {total}"
    sent = logged_bytes(events, "sent", "C1")
    assert sent == total, f"sockscope logged {sent} of {total} bytes sent"
    return elapsed, len(events)

def extra_args():
    """SOCKSCOPE_ARGS, as in bench.sh: extra options for every sockscope run."""
    return os.environ.get("SOCKSCOPE_ARGS", "").split()

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
        print(f"bulk: {gib:g} GiB per transfer, {reps} interleaved reps, medians (MB/s = 10^6 B/s), "
              f"timed at the receiver, every byte counted; SOCKSCOPE_ARGS={' '.join(extra_args()) or '(none)'}\n")
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
