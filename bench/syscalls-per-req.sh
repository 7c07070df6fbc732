#!/bin/sh
# System calls per request at pipeline 1 (issue 19), kvsd --threads 1 vs redis-server, counted
# with strace -c -f -p around one redis-benchmark run (load-independent, unlike CPU time): 50
# connections, -P 1, N requests of each test after 2,000 warm-up requests. Prints, per server
# and test, read (of which errors: EAGAIN), send/write, epoll_wait and all system calls, each
# per request. Needs strace and permission to ptrace (root or ptrace_scope 0).
# Usage: bench/syscalls-per-req.sh [KVSD_BIN] [N] [TESTS]   (defaults build/server/kvsd 20000 "get set")
set -eu
KVSD=${1:-build/server/kvsd}
N=${2:-20000}
TESTS=${3:-get set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
printf '%-6s %-4s %8s %8s %8s %10s %8s\n' server test read eagain write epoll_wait total
for t in $TESTS; do
	for srv in kvsd redis; do
		bench_start "$srv" "$KVSD"
		redis-benchmark -p "$port" -c 50 -P 1 -n 2000 -t "$t" -q >/dev/null 2>&1
		strace -c -f -p "$pid" -o "$tmp/$srv.$t" 2>/dev/null &
		sp=$!
		sleep 0.5
		redis-benchmark -p "$port" -c 50 -P 1 -n "$N" -t "$t" -q >/dev/null 2>&1
		sleep 0.3
		kill -INT $sp; wait $sp || true
		kill $pid; wait $pid 2>/dev/null || true
		awk -v s=$srv -v t=$t -v n="$N" '
			$NF == "read" { r = $4; e = (NF == 6) ? $5 : 0 }
			$NF == "sendto" || $NF == "write" { w += $4 }
			$NF == "epoll_wait" { p = $4 }
			$NF == "total" { tot = $4 }
			END { printf "%-6s %-4s %8.3f %8.3f %8.3f %10.3f %8.3f\n", s, t, r/n, e/n, w/n, p/n, tot/n }
		' "$tmp/$srv.$t"
	done
done
