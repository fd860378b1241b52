#!/usr/bin/env bash
# Makes the PNGs in screenshots/ from a real sockscope session in tmux:
# builds the binary, drives it with send-keys, captures the pane with colours,
# and turns each capture into a PNG (scripts/ansi2png.py).
# Needs tmux, socat or nc, Debian's python3-pil and fonts-dejavu-core.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product sockscope >/dev/null
bin="$(swift build --show-bin-path)/sockscope"
out=screenshots
mkdir -p "$out"
sock="sockscope-shots-$$"
captures=$(mktemp -d)
cols=120 rows=36
tmuxc() { tmux -L "$sock" "$@"; }
trap 'tmuxc kill-server 2>/dev/null || true; rm -rf "$captures"' EXIT

# Waits until the pane shows TEXT (up to 10 s).
wait_for() {
    for _ in $(seq 1 200); do
        if tmuxc capture-pane -p -t shot | grep -qF -- "$1"; then return 0; fi
        sleep 0.05
    done
    echo "screenshots: timed out waiting for '$1'" >&2
    tmuxc capture-pane -p -t shot >&2
    return 1
}

shot() {
    local name=$1 palette=${2:-dark}
    sleep 0.2  # let the last redraw land; the frame is paced at 30 per second
    tmuxc capture-pane -p -e -N -t shot > "$captures/$name.txt"
    /usr/bin/python3 scripts/ansi2png.py "$captures/$name.txt" "$out/$name.png" "$cols" "$rows" "$palette"
    echo "wrote $out/$name.png"
}

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmuxc new-session -d -s shot -x "$cols" -y "$rows" \
    "env TERM=tmux-256color $bin -c 'listen $port --echo' -c 'connect $port' -c 'send \"hello, sockscope\\n\"'"
wait_for "hello, sockscope"
# A second client from another program, sending a terminal escape sequence that must show escaped.
printf 'GET / HTTP/1.0\r\nUser-Agent: \x1b[2J\x1b[31mred\r\n\r\n' | socat -t 1 - "TCP:127.0.0.1:$port" >/dev/null &
wait_for "x1b[2J"
tmuxc send-keys -t shot Tab
shot overview
# The socat client's conversation: Enter filters the log to the selected connection, e shows it whole.
tmuxc send-keys -t shot k Enter e
wait_for "data whole"
shot conversation
tmuxc send-keys -t shot e Escape j
tmuxc send-keys -t shot h
wait_for "0000  47 45 54 20"
shot hex
tmuxc send-keys -t shot h
tmuxc send-keys -t shot '?'
wait_for "Esc closes"
tmuxc send-keys -t shot NPage  # the keys fill the first page; the commands follow
wait_for "Commands (type : first)"
shot help
tmuxc send-keys -t shot Escape
tmuxc send-keys -t shot ':'
tmuxc send-keys -t shot -l 'connect 1'
tmuxc send-keys -t shot Enter
wait_for "ECONNREFUSED"
shot error
tmuxc send-keys -t shot q
tmuxc kill-session -t shot 2>/dev/null || true

# The light theme, with a UDP listener and a datagram from outside.
uport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmuxc new-session -d -s shot -x "$cols" -y "$rows" \
    "env TERM=tmux-256color $bin --theme light -c 'listen $port --reply \"hello\\r\\n\"' -c 'listen udp://127.0.0.1:$uport --echo' -c 'connect $port' -c 'set eol crlf'"
wait_for "listening on udp"
printf 'ping over udp' | socat -t 1 - "UDP:127.0.0.1:$uport" >/dev/null &
wait_for "ping over udp"
shot light light
tmuxc send-keys -t shot q
tmuxc kill-session -t shot 2>/dev/null || true

# The relay: a client (C1) through R1 to an echo listener; the pair of legs side by side.
# Then a scan of the low ports and ours, with banners, in its own view.
eport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmuxc new-session -d -s shot -x "$cols" -y "$rows" \
    "env TERM=tmux-256color $bin -c 'listen $eport --reply \"220 sockscope ready\\r\\n\"' -c 'relay $rport 127.0.0.1:$eport' -c 'connect $rport' -c 'send \"HELO through the relay\\r\\n\"'"
wait_for "HELO through the relay"
wait_for "220 sockscope ready"
shot relay
tmuxc send-keys -t shot ':'
tmuxc send-keys -t shot -l "scan 127.0.0.1 1-1024,$eport,$rport --banner"
tmuxc send-keys -t shot Enter
wait_for "done in"
shot scan
tmuxc send-keys -t shot Escape q
tmuxc kill-session -t shot 2>/dev/null || true

# Watching live: a 1 GiB sendfile through a relay held to 20 MB/s by a bandwidth toxic into a
# --discard listener, on a wide screen where Detail sits beside the tables with its graphs.
big=$(mktemp /tmp/sockscope-shots-big.XXXXXX)
truncate -s 1G "$big"
gport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
grport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cols=200 rows=50
tmuxc new-session -d -s shot -x "$cols" -y "$rows" \
    "env TERM=tmux-256color $bin -c 'listen $gport --discard' -c 'relay $grport 127.0.0.1:$gport' -c 'toxic R1 add bandwidth 20000 --dir up' -c 'connect $grport' -c 'sendfile C1 $big'"
wait_for "sendfile $big: sending"
tmuxc send-keys -t shot Tab  # Connections: Detail shows the sending client, C1
wait_for "graphs, one column a second"
sleep 20  # twenty seconds of graph, one column each; the whole file takes ~54 s at 20 MB/s
shot watching
tmuxc send-keys -t shot Tab z  # Detail, zoomed: every graph, both ends side by side
wait_for "retrans"
shot graphs
tmuxc send-keys -t shot q y
tmuxc kill-session -t shot 2>/dev/null || true
rm -f "$big"
cols=120 rows=36

# The lifecycle lab: a step-mode server and client, one call at a time, and the kernel's view.
lport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmuxc new-session -d -s shot -x "$cols" -y "$rows" \
    "env TERM=tmux-256color $bin -c 'socket tcp' -c 'accept S1' -c 'bind S1 127.0.0.1:$lport' -c 'listen S1 2' -c 'socket tcp' -c 'connect S2 127.0.0.1:$lport' -c 'accept S1' -c 'send S2 \"hi\\n\"'"
wait_for "accept(" 
wait_for "hi\\n"
tmuxc send-keys -t shot Tab
shot lab
tmuxc send-keys -t shot q

