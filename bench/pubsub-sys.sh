#!/bin/sh
# System calls per delivered Pub/Sub message (issue 17), kvsd --threads 1 vs redis-server in the
# same run, counted with strace -c -f -p around one kvsd-loadgen --pubsub run (load-independent,
# unlike CPU time): S subscribers on one channel (or, with MODE=pattern, one pattern), one
# publisher at -P 8, N PUBLISHes of 64 bytes (N x S deliveries). Prints, per server, read,
# send/write, epoll_wait, futex and all system calls, each per delivered message, and the
# messages each subscriber write(2) carried on average; then, from a second run without strace,
# the server's CPU time (user + sys, /proc/PID/stat) per delivered message: "per core".
# Servers on core 0, kvsd-loadgen on core 1.
# Needs strace and permission to ptrace (root or ptrace_scope 0).
# Usage: bench/pubsub-sys.sh [KVSD_BIN] [S] [N] [MODE]  (defaults build/server/kvsd 100 5000 channel)
set -eu
KVSD=${1:-build/server/kvsd}
S=${2:-100}
N=${3:-5000}
MODE=${4:-channel}
LG=${LOADGEN:-$(dirname "$KVSD")/../loadgen/kvsd-loadgen}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
flag=--pubsub
[ "$MODE" = pattern ] && flag=--psubscribe
start() { bench_start "$1" "$KVSD" 0; }
load() {
	taskset -c 1 "$LG" -p "$port" $flag --subscribers "$S" --publishers 1 -P 8 -d 64 -t 1 \
		--warmup 0 --requests "$N" >"$tmp/lg" 2>&1 || { cat "$tmp/lg"; exit 1; }
	grep -q ' lost 0  duplicates 0  out of order 0' "$tmp/lg" || { cat "$tmp/lg"; exit 1; }
}
printf '%-6s %6s %8s %8s %10s %8s %8s %10s %12s\n' server subs read write epoll_wait futex total \
	msgs/write cpu_us/msg
for srv in kvsd redis; do
	start $srv
	t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
	load
	t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
	kill $pid; wait $pid 2>/dev/null || true
	start $srv
	strace -c -f -p "$pid" -o "$tmp/$srv" 2>/dev/null &
	sp=$!
	sleep 0.5
	load
	sleep 0.3
	kill -INT $sp; wait $sp || true
	kill $pid; wait $pid 2>/dev/null || true
	awk -v s=$srv -v n="$N" -v subs="$S" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
		$NF == "read" { r = $4 }
		$NF == "sendto" || $NF == "write" { w += $4 }
		$NF == "epoll_wait" { p = $4 }
		$NF == "futex" { f = $4 }
		$NF == "total" { tot = $4 }
		END { d = n * subs; printf "%-6s %6d %8.4f %8.4f %10.4f %8.4f %8.4f %10.2f %12.3f\n", s, subs, r/d, w/d, p/d, f/d, tot/d, d/(w - n/8), ticks * 1e6 / hz / d }
	' "$tmp/$srv"
done
