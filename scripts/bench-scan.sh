#!/usr/bin/env bash
# A connect scan of every loopback port, side by side in one run:
#   nmap -sT -p1-65535 127.0.0.1
#   nc -z -v 127.0.0.1 1-65535          (OpenBSD netcat: -v to learn which ports answered)
#   sockscope --headless -c 'scan 127.0.0.1 1-65535'
# Each runs RUNS times, interleaved (so a busy moment of the machine hits every tool alike);
# the table gives each tool's median wall time and its ratio to nmap's, and the run fails
# when the tools did not find the same open ports. The target: sockscope in <= 0.5x nmap's time.
#
#   scripts/bench-scan.sh            # 5 runs each
#   scripts/bench-scan.sh 9
#
# Environment:
#   SCRATCH=DIR        build with --scratch-path DIR (default: .build)
#   SOCKSCOPE_BIN=PATH measure this release binary instead of building one
#
# Every tool connects to every listening port of the machine (it is a scan): run it when
# no one else's tests count the connections their listeners get.
# The table goes to stdout and to bench-results/scan-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

for tool in nmap nc python3; do
    command -v "$tool" >/dev/null || { echo "bench-scan: $tool is not installed" >&2; exit 2; }
done
scratch=()
[ -n "${SCRATCH:-}" ] && scratch=(--scratch-path "$SCRATCH")
if [ -n "${SOCKSCOPE_BIN:-}" ]; then
    bin=$SOCKSCOPE_BIN
else
    swift build -c release "${scratch[@]}" --product sockscope >&2
    bin="$(swift build -c release "${scratch[@]}" --show-bin-path)/sockscope"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }

# Each function runs one scan, writes its open ports (sorted, one per line) to $1, and
# prints its wall time in nanoseconds.
scan_nmap() {
    local begin end
    begin=$(now)
    nmap -sT -p1-65535 -oG "$work/nmap.grep" 127.0.0.1 >/dev/null
    end=$(now)
    grep -o '[0-9]*/open/' "$work/nmap.grep" | cut -d/ -f1 | sort -n > "$1" || true
    echo $((end - begin))
}

scan_nc() {
    local begin end
    begin=$(now)
    nc -z -v 127.0.0.1 1-65535 < /dev/null > "$work/nc.out" 2>&1 || true
    end=$(now)
    grep -o 'Connection to 127.0.0.1 [0-9]* port' "$work/nc.out" | awk '{print $4}' | sort -n > "$1" || true
    echo $((end - begin))
}

scan_sockscope() {
    local begin end
    begin=$(now)
    "$bin" --headless --json -c 'scan 127.0.0.1 1-65535' < /dev/null > "$work/sockscope.jsonl"
    end=$(now)
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("event") == "scan-done":
        print("\n".join(str(port) for port in event["open"]))
' "$work/sockscope.jsonl" | sed '/^$/d' | sort -n > "$1"
    echo $((end - begin))
}

tools=(nmap nc sockscope)
for tool in "${tools[@]}"; do : > "$work/$tool.times"; done
for run in $(seq 1 "$runs"); do
    for tool in "${tools[@]}"; do
        "scan_$tool" "$work/$tool.open.$run" >> "$work/$tool.times"
    done
    echo "bench-scan: run $run of $runs done" >&2
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
seconds() { awk -v ns="$1" 'BEGIN {printf "%.3f", ns / 1e9}'; }

nmap_median=$(median "$work/nmap.times")
status=0
# The open ports must agree run by run (a port opened or closed by someone else between
# runs shows as a difference in that run only, and is reported as such).
mismatches=()
for run in $(seq 1 "$runs"); do
    for tool in nc sockscope; do
        if ! cmp -s "$work/nmap.open.$run" "$work/$tool.open.$run"; then
            mismatches+=("run $run: $tool found $(paste -sd, "$work/$tool.open.$run"), nmap $(paste -sd, "$work/nmap.open.$run")")
        fi
    done
done
[ ${#mismatches[@]} -eq 0 ] || status=1

report=$(mktemp)
{
    echo "<!-- $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo ' (modified)'), SOCKSCOPE_BIN='${SOCKSCOPE_BIN:-}': scripts/bench-scan.sh $runs -->"
    echo "All 65,535 TCP ports of 127.0.0.1, $runs runs per tool, interleaved; median wall time."
    echo
    echo "| tool | command | median s | min s | max s | ratio to nmap | open ports (run 1) |"
    echo "|---|---|---|---|---|---|---|"
    for tool in "${tools[@]}"; do
        case $tool in
            nmap) command='`nmap -sT -p1-65535 127.0.0.1`' ;;
            nc) command='`nc -z -v 127.0.0.1 1-65535`' ;;
            sockscope) command="\`sockscope --headless --json -c 'scan 127.0.0.1 1-65535'\`" ;;
        esac
        m=$(median "$work/$tool.times")
        lo=$(sort -n "$work/$tool.times" | head -1)
        hi=$(sort -n "$work/$tool.times" | tail -1)
        ratio=$(awk -v a="$m" -v b="$nmap_median" 'BEGIN {printf "%.2fx", a / b}')
        echo "| $tool | $command | $(seconds "$m") | $(seconds "$lo") | $(seconds "$hi") | $ratio | $(paste -sd, "$work/$tool.open.1") |"
    done
    echo
    if [ $status -eq 0 ]; then
        echo "Open ports: the same for all three tools in every run."
    else
        echo "Open ports DIFFER:"
        for line in "${mismatches[@]}"; do echo "- $line"; done
    fi
} > "$report"
cat "$report"
mkdir -p bench-results
cp "$report" "bench-results/scan-$(date -u +%Y%m%d-%H%M%S).md"
rm -f "$report"
exit $status
