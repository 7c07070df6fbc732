#!/bin/sh
# Where the CPU of PUBLISH with no subscriber goes (issue 17), kvsd --threads 1 vs redis-server,
# the servers taking turns R times: `taskset -c 1 redis-benchmark -c 50 -P 16 -n N PUBLISH ch
# <64 B>` against each server on core 0 (bench/pubsub.py's publish line). Prints per run: the
# rate; the server's user and system CPU time per request (/proc/PID/stat, all threads) and its
# share of a core; its sleeps (voluntary context switches, all threads) and preemptions per
# 1,000 requests; and redis-benchmark's own user and system CPU time per request (/usr/bin/time).
# bench/pubsub.py's "per core" is rate / server share, so when the single-threaded client is the
# limit, what the server spends idling (parking and waking) and what the client spends per request
# against each server both move that figure; this shows them apart.
# Usage: bench/publish-cpu.sh [KVSD_BIN] [N] [R]   (defaults build/server/kvsd 2000000 3)
set -eu
KVSD=${1:-build/server/kvsd}
N=${2:-2000000}
R=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
PAY=$(printf '%064d' 0)
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ { v += $2 }
	/^nonvoluntary_ctxt/ { n += $2 } END { print v + 0, n + 0 }'; }
printf '%-6s %10s %8s %8s %6s %8s %8s %8s %8s\n' server req/s srv_usr srv_sys share \
	vcs/1k ivcs/1k cli_usr cli_sys
i=0
while [ $i -lt "$R" ]; do
	for srv in kvsd redis; do
		bench_start $srv "$KVSD" 0
		c0=$(ctxsw $pid)
		t0=$(awk '{ print $14, $15 }' /proc/$pid/stat)
		s0=$(date +%s.%N)
		/usr/bin/time -f '%U %S' -o "$tmp/time" taskset -c 1 redis-benchmark -p "$port" \
			-c 50 -P 16 -n "$N" -q PUBLISH ch "$PAY" 2>/dev/null | tr '\r' '\n' |
			grep 'requests per second' | tail -1 | awk '{ print $(NF-5) }' >"$tmp/rps"
		s1=$(date +%s.%N)
		c1=$(ctxsw $pid)
		t1=$(awk '{ print $14, $15 }' /proc/$pid/stat)
		kill $pid
		wait $pid 2>/dev/null || true
		echo "$c0 $c1 $t0 $t1 $(cat "$tmp/time") $s0 $s1 $(cat "$tmp/rps")" |
			awk -v n="$N" -v s=$srv -v hz="$(getconf CLK_TCK)" '{
				printf "%-6s %10.0f %8.3f %8.3f %6.2f %8.2f %8.2f %8.3f %8.3f\n", s, $13,
				($7 - $5) * 1e6 / hz / n, ($8 - $6) * 1e6 / hz / n,
				($7 + $8 - $5 - $6) / hz / ($12 - $11),
				($3 - $1) * 1000 / n, ($4 - $2) * 1000 / n, $9 * 1e6 / n, $10 * 1e6 / n }'
	done
	i=$((i + 1))
done
