#!/usr/bin/env python3
"""Many relayed connections held open: memory per pair and idle wake-ups (issue 18).

Starts an upstream echo sink (a python selectors server, in its own process), then
`sockscope --headless -c "relay 127.0.0.1:P 127.0.0.1:SINK"`, and measures the sockscope
process only:

  1. listening, no client: wake-ups/s and CPU over a window;
  2. for each N: opens N clients through the relay, each sends 64 B and reads the echo back
     (so both legs of every pair are up and have carried data), then holds them all idle:
     RSS and PSS (/proc/PID/smaps_rollup), wake-ups/s (context switches of all threads,
     /proc/PID/task/*/status) and CPU (/proc/PID/task/*/schedstat) over a window;
  3. closes them all and measures again (what the closed pairs leave behind).

Per pair = (PSS with N pairs open - PSS listening) / N.

  scripts/bench-relay-many.py --bin .build/release/sockscope --n 1000 --n 2000 --window 10
"""
import argparse
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

SINK = r'''
import selectors, socket, sys
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4096)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
print(srv.getsockname()[1], flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            try:
                conn, _ = srv.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
        else:
            try:
                data = key.fileobj.recv(65536)
            except ConnectionError:
                data = b""
            if data:
                key.fileobj.sendall(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
'''


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def tasks(pid):
    return [f"/proc/{pid}/task/{t}" for t in os.listdir(f"/proc/{pid}/task")]


def sample(pid):
    switches, cpu_ns = 0, 0
    for task in tasks(pid):
        try:
            with open(task + "/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
            with open(task + "/schedstat") as f:
                cpu_ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    memory = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                memory[parts[0][:-1]] = int(parts[1])
    return {"t": time.monotonic(), "switches": switches, "cpu_ns": cpu_ns, "rss_kib": memory["Rss"],
            "pss_kib": memory["Pss"], "threads": len(tasks(pid))}


def window(pid, secs):
    a = sample(pid)
    time.sleep(secs)
    b = sample(pid)
    elapsed = b["t"] - a["t"]
    return {"wakeups_per_s": (b["switches"] - a["switches"]) / elapsed,
            "cpu_ms_per_10s": (b["cpu_ns"] - a["cpu_ns"]) / 1e6 * 10 / elapsed,
            "rss_kib": b["rss_kib"], "pss_kib": b["pss_kib"], "threads": b["threads"]}


def open_pairs(port, n, payload=b"x" * 64):
    """N clients, at most 64 connecting at once; each sends 64 B and reads them back."""
    clients, sel = [], selectors.DefaultSelector()
    pending = {}
    started = time.monotonic()
    opened = 0
    while opened < n or pending:
        while opened < n and len(pending) < 64:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(payload)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            pending[s] = b""
            opened += 1
        for key, _ in sel.select(timeout=10):
            s = key.fileobj
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit(f"a client was closed after {len(clients)} pairs")
            pending[s] += chunk
            if len(pending[s]) >= len(payload):
                sel.unregister(s)
                del pending[s]
                clients.append(s)
        if time.monotonic() - started > 120:
            raise SystemExit(f"only {len(clients)} of {n} pairs echoed within 120 s")
    return clients, time.monotonic() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="a release build of sockscope")
    p.add_argument("--n", type=int, action="append", help="pairs to hold (repeatable; default 1000)")
    p.add_argument("--window", type=float, default=10.0, help="measurement window, seconds (default 10)")
    p.add_argument("--settle", type=float, default=3.0, help="wait before each window, seconds (default 3)")
    p.add_argument("--command", action="append", default=[],
                   help="another command for sockscope's -c (repeatable), e.g. 'clear closed --after 1'")
    args = p.parse_args()
    counts = args.n or [1000]
    raise_fd_limit(max(counts) * 2 + 256)

    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    sink_port = int(sink.stdout.readline())
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    # The event lines go to a file: read for "relaying" (a probe connection would leave a pair
    # in TIME-WAIT, which the kernel probe watches, in the listening window).
    log_path = f"/tmp/bench-relay-many-{os.getpid()}.log"
    log = open(log_path, "w")
    extra = [word for command in args.command for word in ("-c", command)]
    relay = subprocess.Popen([args.bin, "--headless", "-c", f"relay 127.0.0.1:{port} 127.0.0.1:{sink_port}"] + extra,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while " relaying " not in open(log_path).read():
            if time.monotonic() > deadline:
                raise SystemExit("the relay did not listen: " + open(log_path).read())
            time.sleep(0.05)
        time.sleep(args.settle)
        rows = [("listening, no pair", 0, window(relay.pid, args.window), None)]
        base = rows[0][2]["pss_kib"]
        for n in counts:
            clients, took = open_pairs(port, n)
            time.sleep(args.settle)
            rows.append((f"{n} pairs open, idle", n, window(relay.pid, args.window), took))
            for s in clients:
                s.close()
            time.sleep(args.settle)
            rows.append((f"after closing the {n}", 0, window(relay.pid, args.window), None))
    finally:
        relay.terminate()
        relay.wait(timeout=10)
        sink.kill()
        log.close()
        lines = sum(1 for _ in open(log_path))
        os.unlink(log_path)

    print(f"relayed pairs held idle: sockscope --headless relay 127.0.0.1:{port} -> python sink"
          + "".join(f" -c '{c}'" for c in args.command) + "; "
          f"window {args.window:g} s, settle {args.settle:g} s; {lines} event lines printed in all")
    print()
    print("| phase | pairs | open s | RSS MiB | PSS MiB | PSS KiB/pair | wakeups/s | CPU ms/10s | threads |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase, n, w, took in rows:
        per = f"{(w['pss_kib'] - base) / n:.1f}" if n else "-"
        print(f"| {phase} | {n} | {took:.2f} | " if took is not None else f"| {phase} | {n} | - | ", end="")
        print(f"{w['rss_kib'] / 1024:.1f} | {w['pss_kib'] / 1024:.1f} | {per} | {w['wakeups_per_s']:.2f} | "
              f"{w['cpu_ms_per_10s']:.3f} | {w['threads']} |")


if __name__ == "__main__":
    main()
