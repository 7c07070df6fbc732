#!/usr/bin/env bash
# Instructions per EVALSHA, kvsd vs redis-server (callgrind: load-independent, so it can run
# on a shared machine). For each server and script it starts the server under
# `valgrind --tool=callgrind` on a free loopback port (kvsd --threads 1 --save ''; redis-server
# --save '' --appendonly no), loads bench/script.py's three scripts, sets key:000000000001,
# and runs
#   redis-benchmark -c 10 -P 16 -n N EVALSHA <sha> ...
#     get     1 key:000000000001              (the key holds a value)
#     unlock  1 key:000000000001 token        (GET, compare, no DEL)
#     bucket  2 k:__rand_int__ n:__rand_int__ 1000   (-r 1000)
# and a baseline run without the benchmark (start-up, SCRIPT LOAD, SET, shutdown). It prints
# (Ir of the run - Ir of the baseline) / N for each, and kvsd's Ir as a share of redis's.
# Timer work (kvsd's cron_cb, redis's serverCron, inclusive) is left out of both runs: it
# grows with the wall time, which valgrind and the machine's load stretch.
#
# Usage: bench/script-ir.sh [--requests N] [--scripts get,unlock,bucket]
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KVSD_BIN=${KVSD_BIN:-$ROOT/build/server/kvsd}
REDIS_BIN=${REDIS_BIN:-redis-server}
N=20000
SCRIPTS=get,unlock,bucket
while [ $# -gt 0 ]; do
	case $1 in
	--requests) N=$2; shift 2 ;;
	--scripts) SCRIPTS=$2; shift 2 ;;
	*) echo "usage: $0 [--requests N] [--scripts get,unlock,bucket]" >&2; exit 2 ;;
	esac
done

GET="return redis.call('GET', KEYS[1])"
UNLOCK="if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"
BUCKET="local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts') local now = tonumber(ARGV[1]) local tokens = tonumber(b[1]) or 10 local ts = tonumber(b[2]) or now tokens = math.min(10, tokens + (now - ts) / 100) local ok = 0 if tokens >= 1 then tokens = tokens - 1 ok = 1 end redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now) redis.call('PEXPIRE', KEYS[1], 60000) redis.call('INCR', KEYS[2]) return ok"

TMP=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill "$PID"; wait "$PID" || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run SERVER(kvsd|redis) SCRIPT(none|get|unlock|bucket): prints the run's total Ir
run() {
	local port out
	port=$(free_port)
	out=$TMP/cg.$1.$2
	if [ "$1" = redis ]; then
		valgrind --tool=callgrind --callgrind-out-file="$out" "$REDIS_BIN" --port "$port" \
			--bind 127.0.0.1 --save '' --appendonly no >"$TMP/log" 2>&1 &
	else
		valgrind --tool=callgrind --callgrind-out-file="$out" "$KVSD_BIN" --port "$port" \
			--bind 127.0.0.1 --threads 1 --save '' >"$TMP/log" 2>&1 &
	fi
	PID=$!
	for _ in $(seq 150); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.2
	done
	local g u b
	g=$(redis-cli -p "$port" script load "$GET")
	u=$(redis-cli -p "$port" script load "$UNLOCK")
	b=$(redis-cli -p "$port" script load "$BUCKET")
	redis-cli -p "$port" set key:000000000001 somevalue >/dev/null
	case $2 in
	get) redis-benchmark -p "$port" -c 10 -P 16 -n "$N" EVALSHA "$g" 1 key:000000000001 >/dev/null ;;
	unlock) redis-benchmark -p "$port" -c 10 -P 16 -n "$N" EVALSHA "$u" 1 key:000000000001 token >/dev/null ;;
	bucket) redis-benchmark -p "$port" -c 10 -P 16 -n "$N" -r 1000 EVALSHA "$b" 2 \
		k:__rand_int__ n:__rand_int__ 1000 >/dev/null ;;
	esac
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	wait "$PID" || true
	PID=
	# the total minus the timer callback's inclusive cost
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk '
		/PROGRAM TOTALS/ { gsub(",", "", $1); t = $1 }
		/[?]:(cron_cb|serverCron) / { gsub(",", "", $1); c += $1 }
		END { printf "%d\n", t - c }'
}

echo "kvsd:   valgrind --tool=callgrind $KVSD_BIN --threads 1 --save ''"
echo "redis:  valgrind --tool=callgrind $REDIS_BIN --save '' --appendonly no"
echo "client: redis-benchmark -c 10 -P 16 -n $N EVALSHA <sha> ...; Ir per EVALSHA, start-up and timers excluded"
kb=$(run kvsd none)
rb=$(run redis none)
printf '%-8s %12s %12s %8s\n' script kvsd redis kvsd/redis
for s in ${SCRIPTS//,/ }; do
	k=$(run kvsd "$s")
	r=$(run redis "$s")
	awk -v s="$s" -v k="$k" -v kb="$kb" -v r="$r" -v rb="$rb" -v n="$N" 'BEGIN {
		ki = (k - kb) / n; ri = (r - rb) / n
		printf "%-8s %12.0f %12.0f %7.2fx\n", s, ki, ri, ki / ri }'
done
