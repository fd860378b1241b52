#!/usr/bin/env bash
# Measures sockscope side by side with socat, ncat, nc and the C references,
# using the shared harness (../shared/bench, or $SOCKBENCH). Builds a release
# binary, writes a tools file for it, and runs the scenarios given (default: all).
#
#   scripts/bench.sh                       # run-all: relay, echo, many connections, idle (~6 min)
#   scripts/bench.sh echo-rtt              # one scenario
#   scripts/bench.sh many-connections --inflight 256 --n 1000
#
# Environment:
#   SCRATCH=DIR        build with --scratch-path DIR (default: .build)
#   SOCKSCOPE_BIN=PATH measure this release binary instead of building one (its directory
#                      must hold NIOEchoReference too); the provenance line names it
#   BASELINE_BIN=PATH  also measure another sockscope binary (e.g. an older build)
#                      as "sockscope-baseline", in the same run, with the same SOCKSCOPE_ARGS
#   SOCKSCOPE_ARGS=..  extra options for every headless sockscope, the baseline's too
#                      (e.g. "--coalesce-ms 0"): both sides of a comparison run alike
#
# Tables go to stdout and to bench-results/<scenario>-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
harness=${SOCKBENCH:-$root/../shared/bench}
[ -x "$harness/run-all" ] || { echo "bench: harness not found at $harness (set SOCKBENCH)" >&2; exit 2; }

scratch=()
[ -n "${SCRATCH:-}" ] && scratch=(--scratch-path "$SCRATCH")
if [ -n "${SOCKSCOPE_BIN:-}" ]; then
    # A binary built before (another commit, another scratch path); NIOEchoReference beside it.
    bin=$SOCKSCOPE_BIN
    bindir=$(dirname "$bin")
else
    swift build -c release "${scratch[@]}" --product sockscope >&2
    swift build -c release "${scratch[@]}" --product NIOEchoReference >&2
    bindir="$(swift build -c release "${scratch[@]}" --show-bin-path)"
    bin="$bindir/sockscope"
fi
extra=${SOCKSCOPE_ARGS:-}

tools_dir=$(mktemp -d)
trap 'rm -rf "$tools_dir"' EXIT
tools=$tools_dir/sockscope.ini
cat > "$tools" <<INI
[sockscope]
kind = sut
needs = $bin
echo = $bin --headless $extra -c "listen {HOSTB}:{PORT} --echo"
relay = $bin --headless $extra -c "relay tcp://{HOSTB}:{PORT} tcp://{HOSTB}:{DPORT}"
note = sockscope --headless, one echo listener / one relay (one event-loop thread, events printed as text lines)

[nio-plain]
kind = ref
needs = $bindir/NIOEchoReference
echo = $bindir/NIOEchoReference {HOST} {PORT}
relay = -
idle = -
note = the plain SwiftNIO echo server (Benchmarks/NIOEchoReference): what the framework costs with nothing of sockscope's, for context

[sockscope-tui]
kind = sut
needs = $bin
echo = -
relay = $bin -c "relay tcp://{HOSTB}:{PORT} tcp://{HOSTB}:{DPORT}"
conns = -
idle = $bin -c "listen {HOSTB}:{PORT} --echo"
pty = 120x40
note = the full-screen TUI on a 120x40 pty (the relay's pair and its rates on screen): relay and idle-cpu

[sockscope-tui-graphs]
kind = sut
needs = $bin
echo = -
relay = -
conns = -
idle = $bin -c "listen {HOSTB}:{PORT} --echo"
pty = 200x60
note = the TUI on a 200x60 pty: Detail beside the tables shows the idle connection's graphs (idle-cpu only)
INI

if [ -n "${BASELINE_BIN:-}" ]; then
    cat >> "$tools" <<INI

[sockscope-baseline]
kind = sut
needs = $BASELINE_BIN
echo = $BASELINE_BIN --headless $extra -c "listen {HOSTB}:{PORT} --echo"
relay = -
note = another sockscope build, for before/after comparisons in one run
INI
fi

scenario=${1:-run-all}
[ $# -gt 0 ] && shift
mkdir -p bench-results
out="bench-results/${scenario}-$(date -u +%Y%m%dT%H%M%SZ).md"
"$harness/$scenario" --tools "$tools" --md "$out" "$@"
# Where the figures came from, on top of the tables: the commit, the options, the command.
provenance="<!-- $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo ' (modified)'), SOCKSCOPE_BIN='${SOCKSCOPE_BIN:-}', SOCKSCOPE_ARGS='$extra', BASELINE_BIN='${BASELINE_BIN:-}': scripts/bench.sh $scenario $* -->"
{ echo "$provenance"; cat "$out"; } > "$out.tmp" && mv "$out.tmp" "$out"
echo "bench: tables written to $out" >&2
