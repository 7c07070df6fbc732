#!/bin/bash
# Context switches per request of each kvsd thread (issue 19: sleeps per request at pipeline 1).
#
# kvsd --threads 1 pinned to core 0, filled with 100k keys (-P 16 SET), then one
# `redis-benchmark -c 50 -P 1 -d 64 -r 100000 -n N -t get` pinned to core 1; prints, per thread,
# the voluntary (slept: a blocking epoll_wait, a futex) and involuntary (preempted) context
# switches over that run from /proc/PID/task/TID/status, and INFO's worker0 line (parks).
# With --threads 1 the busy thread is worker 0 and the one after it the reserve guest
# (net/worker.c). Run it for two builds to compare: counts, not times, so a loaded machine
# blurs them less than CPU times.
#
# Usage: bench/ctxsw-threads.sh [KVSD_BIN] [N]   (default build/server/kvsd, 200000)
set -euo pipefail
BIN=${1:-build/server/kvsd}
N=${2:-200000}
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c 0 "$BIN" --port "$P" --bind 127.0.0.1 --threads 1 --save '' --loglevel warning \
	>/dev/null 2>&1 &
KP=$!
trap 'kill $KP 2>/dev/null; wait $KP 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$P" PING >/dev/null 2>&1 && break; sleep 0.1; done
redis-benchmark -p "$P" -c 50 -P 16 -d 64 -r 100000 -n 200000 -t set -q >/dev/null
snap() {
	for t in /proc/$KP/task/*; do
		echo "$(basename "$t") $(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{n=$2}
			END{print v, n}' "$t/status")"
	done | sort
}
B=$(snap)
taskset -c 1 redis-benchmark -p "$P" -c 50 -P 1 -d 64 -r 100000 -n "$N" -t get -q 2>&1 |
	tr '\r' '\n' | grep -v '^ *$' | tail -1
A=$(snap)
join <(echo "$B") <(echo "$A") | awk -v n="$N" '{ v = $4 - $2; i = $5 - $3; tv += v; ti += i
	if (v + i > 0) printf "tid %s: voluntary %d (%.4f/req), involuntary %d (%.4f/req)\n",
		$1, v, v / n, i, i / n }
	END { printf "all threads: voluntary %.4f/req, involuntary %.4f/req\n", tv / n, ti / n }'
redis-cli -p "$P" INFO kvsd | grep -E '^worker0(_io)?:'
