#!/bin/sh
# System calls per delivered Pub/Sub message (issue 17), kvsd --threads 1 vs redis-server in the
# same run, counted with strace -c -f -p around one kvsd-loadgen --pubsub run (load-independent,
# unlike CPU time): S subscribers on one channel (or, with MODE=pattern, one pattern), one
# publisher at -P 8, N PUBLISHes of 64 bytes (N x S deliveries). Prints, per server, read,
# send/write, epoll_wait, futex and all system calls, each per delivered message, and the
# messages each subscriber write(2) carried on average; then, from a second run without strace,
# the server's CPU time (user + sys, /proc/PID/stat) per delivered message: "per core", its
# user and system shares, and the server's context switches (voluntary, i.e. sleeps, and
# involuntary, summed over its threads from /proc/PID/task/*/status) per 1,000 delivered
# messages; the CPU time of kvsd-loadgen itself per delivered message (lg_us: on a quiet
# 2-core machine the client, alone on core 1, is near its own limit too); and for kvsd the
# writes per delivered message of the run without strace (INFO worker0_io writes; strace
# slows each system call, and how many messages a kvsd write carries depends on timing) and
# the polls of its loop by the reserve guest per 1,000 (gst/1k: INFO worker0 polled_by_guest;
# each one means worker 0 looked stuck for STALL_NS and a second thread ran its tasks).
# Servers on core 0, kvsd-loadgen on core 1. KVSD_THREADS=2 runs kvsd --threads 2 (both workers
# on core 0, stealing on); nsw/msg and gst/1k then sum every worker's INFO line (with --threads 1
# they include the reserve guest's line too).
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
# kvsd-loadgen's own CPU time (Debian package time; lg_us shows - without it)
timer() {
	if [ -x /usr/bin/time ]; then /usr/bin/time -f '%U %S' -o "$tmp/time" "$@"; else "$@"; fi
}
load() {
	rm -f "$tmp/time"
	timer taskset -c 1 "$LG" -p "$port" $flag --subscribers "$S" --publishers 1 -P 8 -d 64 \
		-t 1 --warmup 0 --requests "$N" >"$tmp/lg" 2>&1 || { cat "$tmp/lg"; exit 1; }
	grep -q ' lost 0  duplicates 0  out of order 0' "$tmp/lg" || { cat "$tmp/lg"; exit 1; }
}
# voluntary + involuntary context switches of all of the server's threads
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ { v += $2 }
	/^nonvoluntary_ctxt/ { n += $2 } END { print v + 0, n + 0 }'; }
printf '%-6s %6s %8s %8s %10s %8s %8s %10s %12s %8s %8s %8s %8s %8s %8s %7s\n' server subs read \
	write epoll_wait futex total msgs/write cpu_us/msg usr_us sys_us vcs/1k ivcs/1k lg_us nsw/msg gst/1k
for srv in kvsd redis; do
	start $srv
	u0=$(awk '{print $14}' /proc/$pid/stat)
	t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
	cs0=$(ctxsw $pid)
	load
	u1=$(awk '{print $14}' /proc/$pid/stat)
	t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
	cs1=$(ctxsw $pid)
	lg=$(awk '{print $1 + $2}' "$tmp/time" 2>/dev/null || true)
	nsw=$(redis-cli -p "$port" info everything 2>/dev/null | tr -d '\r' |
		awk -F'[=,:]' '/^worker[0-9]+_io:/ { n += $7 } END { print n }')
	gst=$(redis-cli -p "$port" info everything 2>/dev/null | tr -d '\r' |
		awk -F'[=,:]' '/^worker[0-9]+:/ { n += $13 } END { print n }')
	kill $pid; wait $pid 2>/dev/null || true
	start $srv
	strace -c -f -p "$pid" -o "$tmp/$srv" 2>/dev/null &
	sp=$!
	sleep 0.5
	load
	sleep 0.3
	kill -INT $sp; wait $sp || true
	kill $pid; wait $pid 2>/dev/null || true
	awk -v s=$srv -v n="$N" -v subs="$S" -v ticks=$((t1 - t0)) -v uticks=$((u1 - u0)) \
		-v hz="$(getconf CLK_TCK)" -v cs0="$cs0" -v cs1="$cs1" \
		-v lg="$lg" -v nsw="${nsw:-}" -v gst="${gst:-}" '
		$NF == "read" { r = $4 }
		$NF == "sendto" || $NF == "write" { w += $4 }
		$NF == "epoll_wait" { p = $4 }
		$NF == "futex" { f = $4 }
		$NF == "total" { tot = $4 }
		END { d = n * subs; split(cs0, a, " "); split(cs1, b, " ")
			printf "%-6s %6d %8.4f %8.4f %10.4f %8.4f %8.4f %10.2f %12.3f %8.3f %8.3f %8.3f %8.3f %8s %8s %7s\n",
				s, subs, r/d, w/d, p/d, f/d, tot/d, d/(w - n/8), ticks * 1e6 / hz / d,
				uticks * 1e6 / hz / d, (ticks - uticks) * 1e6 / hz / d,
				(b[1] - a[1]) * 1000 / d, (b[2] - a[2]) * 1000 / d, lg == "" ? "-" : sprintf("%.3f", lg * 1e6 / d),
				nsw == "" ? "-" : sprintf("%.4f", nsw / d),
				gst == "" ? "-" : sprintf("%.3f", gst * 1000 / d) }
	' "$tmp/$srv"
done
