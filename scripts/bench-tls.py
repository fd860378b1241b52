#!/usr/bin/env python3
"""TLS figures side by side, in one run (issue 19):

1. Handshake: connect, handshake, close, against one `openssl s_server`, 50 times each:
   - per process: `openssl s_client` vs `sockscope --headless -c "connect tls://..." -c close`
     (wall time of the whole process: what a person waits for);
   - in one process: `openssl s_time -new` (handshakes per second) vs one sockscope script
     of 50 connect/close pairs, and sockscope's own handshake_us from its JSON events.
2. TLS echo throughput: a Python ssl client pushes N MiB through an echo server and reads it
   all back; the servers are `socat OPENSSL-LISTEN:...,fork PIPE` and
   `sockscope --headless -c "listen tls://... --echo"`, same certificate, alternated.

Usage: scripts/bench-tls.py SOCKSCOPE_BIN [--mib 256] [--runs 50]
Prints a Markdown table per part; ratios are sockscope's time or throughput over the peer's.
"""
import argparse
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def make_cert(directory):
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    out = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
               "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    if out.returncode != 0:
        sys.exit("openssl req failed: " + out.stdout)
    return cert, key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"nothing listens on {port}")


def s_server(cert, key):
    # -rev: answers each line reversed, and keeps s_server from reading its stdin.
    proc = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-rev"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    line = ""
    for _ in range(20):
        line = proc.stdout.readline()
        match = re.search(r"ACCEPT 127\.0\.0\.1:(\d+)", line)
        if match or not line:
            break
    if not match:
        proc.kill()
        sys.exit("s_server did not start: " + line)
    # Keep draining its output so it never blocks.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, int(match.group(1))


def timed(cmd):
    start = time.perf_counter()
    out = run(cmd, stdin=subprocess.DEVNULL, timeout=30)
    return time.perf_counter() - start, out


def handshake_part(binary, cert, key, runs):
    server, port = s_server(cert, key)
    try:
        openssl_times, sockscope_times = [], []
        openssl_cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                       "-CAfile", cert, "-verify_return_error", "-verify_hostname", "localhost"]
        sockscope_cmd = [binary, "--headless", "--no-history", "-c", f"connect tls://localhost:{port} --ca {cert}", "-c", "close"]
        for _ in range(runs):  # alternated, so a busy moment hits both
            elapsed, out = timed(openssl_cmd)
            if "Verify return code: 0" not in out.stdout:
                sys.exit("s_client did not verify: " + out.stdout[-500:])
            openssl_times.append(elapsed)
            elapsed, out = timed(sockscope_cmd)
            if out.returncode != 0 or "tls " not in out.stdout:
                sys.exit("sockscope failed: " + out.stdout[-500:])
            sockscope_times.append(elapsed)
        # One process, many handshakes.
        seconds = 5
        out = run(["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds), "-CAfile", cert],
                  timeout=60)
        match = re.search(r"(\d+) connections in ([\d.]+)s", out.stdout)
        s_time_ms = float(match.group(2)) / int(match.group(1)) * 1000 if match else float("nan")
        script = "".join(f"connect tls://localhost:{port} --ca {cert}\nclose\n" for _ in range(runs))
        start = time.perf_counter()
        out = subprocess.run([binary, "--headless", "--no-history", "--json"], input=script, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        in_process_ms = (time.perf_counter() - start) / runs * 1000
        handshakes = [json.loads(line)["handshake_us"] / 1000 for line in out.stdout.splitlines()
                      if line.startswith("{") and '"event":"tls"' in line]
        if len(handshakes) != runs:
            sys.exit(f"sockscope made {len(handshakes)} handshakes of {runs}: {out.stdout[-500:]}")
    finally:
        server.kill()
    o, s = statistics.median(openssl_times) * 1000, statistics.median(sockscope_times) * 1000
    print(f"### TLS handshake on loopback: connect, handshake (TLS 1.3, P-256, verified), close; {runs} each, alternated\n")
    print("| measure | openssl | sockscope | sockscope / openssl |")
    print("|---|--:|--:|--:|")
    print(f"| one process per handshake, median wall ms (s_client vs --headless -c) | {o:.1f} | {s:.1f} | {s / o:.2f}x |")
    print(f"| one process, many handshakes, ms each (s_time -new vs a {runs}-line script) | {s_time_ms:.2f} | {in_process_ms:.2f} |"
          f" {in_process_ms / s_time_ms:.2f}x |")
    print(f"| sockscope's own handshake_us, median ms (TCP up to handshake done) | - | {statistics.median(handshakes):.2f} | - |")
    print()


def echo_client(port, cafile, total):
    context = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    tls = context.wrap_socket(raw, server_hostname="localhost")
    chunk = b"\xa5" * 65536
    got = 0

    def reader():
        nonlocal got
        while got < total:
            data = tls.recv(262144)
            if not data:
                break
            got += len(data)

    start = time.perf_counter()
    thread = threading.Thread(target=reader)
    thread.start()
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        tls.sendall(chunk[:n])
        sent += n
    thread.join(120)
    elapsed = time.perf_counter() - start
    tls.close()
    if got != total:
        sys.exit(f"echo returned {got} of {total} bytes")
    return total / elapsed / 1e6


def throughput_part(binary, cert, key, mib, reps):
    total = mib * 1024 * 1024
    results = {"socat": [], "sockscope": []}
    for _ in range(reps):
        for name in ("socat", "sockscope"):
            port = free_port()
            if name == "socat":
                cmd = ["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={cert},key={key},verify=0", "PIPE"]
            else:
                cmd = [binary, "--headless", "--no-history", "--coalesce-ms", "100", "-c",
                       f"listen tls://127.0.0.1:{port} --echo --cert {cert} --key {key}"]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE)
            try:
                wait_port(port)
                results[name].append(echo_client(port, cert, total))
            finally:
                proc.kill()
                proc.wait()
    socat, sockscope = statistics.median(results["socat"]), statistics.median(results["sockscope"])
    print(f"### TLS echo: {mib} MiB pushed and read back by a Python ssl client, {reps} alternated reps (medians)\n")
    print("| server | MB/s (each way) | range | x socat |")
    print("|---|--:|--:|--:|")
    for name, value in (("socat OPENSSL-LISTEN,fork PIPE", socat), ("sockscope listen tls:// --echo", sockscope)):
        values = results["socat" if name.startswith("socat") else "sockscope"]
        print(f"| {name} | {value:.0f} | {min(values):.0f}-{max(values):.0f} | {value / socat:.2f}x |")
    print()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        cert, key = make_cert(directory)
        print(f"<!-- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
              f"{run(['git', 'describe', '--always', '--dirty']).stdout.strip()}, "
              f"load {os.getloadavg()[0]:.1f}: scripts/bench-tls.py {' '.join(sys.argv[1:])} -->")
        print(run(["openssl", "version"]).stdout.strip(), "/", run(["socat", "-V"]).stdout.splitlines()[1].strip(), "\n")
        handshake_part(args.binary, cert, key, args.runs)
        throughput_part(args.binary, cert, key, args.mib, args.reps)


if __name__ == "__main__":
    main()
