#!/bin/sh
# hitratio.sh — cache hit ratio of kvsd vs redis-server under the same
# eviction policy, with a memory limit that holds ~10% of the key space.
#
# Workload: kvsd-loadgen --workload cache (GET; SET on a miss) over KEYS keys
# drawn zipf(THETA). For each server and policy:
#   1. prefill every key with no limit and measure used_memory per key
#      (that server's own figure, so "10%" means 10% of the keys fit in each);
#   2. FLUSHALL, CONFIG SET maxmemory = baseline + FRACTION * KEYS * per_key,
#      CONFIG SET maxmemory-policy POLICY;
#   3. run the cache workload (WARMUP s unrecorded, then DURATION s) and read
#      get_hits / get_misses from loadgen's --json.
# Prints one line per policy: hit ratio of each server, the limits used, keys
# evicted, and kvsd - redis in percentage points.
#
# Usage: bench/hitratio.sh [policy ...]   (default: allkeys-lru allkeys-lfu allkeys-random)
# Environment (defaults in brackets):
#   BUILD [build]  KVSD [$BUILD/server/kvsd]  LOADGEN [$BUILD/loadgen/kvsd-loadgen]
#   REDIS [redis-server]  KEYS [100000]  VALUE [64]  THETA [0.99]  FRACTION [0.10]
#   DURATION [10]  WARMUP [3]  CONNS [8]  SAMPLES [5]  KVSD_THREADS [1]
# Servers run on free loopback ports (never 6379) and are stopped on exit.
set -eu

BUILD=${BUILD:-build}
KVSD=${KVSD:-$BUILD/server/kvsd}
LOADGEN=${LOADGEN:-$BUILD/loadgen/kvsd-loadgen}
REDIS=${REDIS:-redis-server}
KEYS=${KEYS:-100000}
VALUE=${VALUE:-64}
THETA=${THETA:-0.99}
FRACTION=${FRACTION:-0.10}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-8}
SAMPLES=${SAMPLES:-5}
KVSD_THREADS=${KVSD_THREADS:-1}
POLICIES=${*:-allkeys-lru allkeys-lfu allkeys-random}

for b in "$KVSD" "$LOADGEN"; do
	[ -x "$b" ] || { echo "hitratio.sh: $b not built" >&2; exit 1; }
done
command -v "$REDIS" >/dev/null || { echo "hitratio.sh: $REDIS not found" >&2; exit 1; }

TMP=$(mktemp -d /tmp/kvsd-hitratio.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p != 6379: print(p); break'
}

cli() { redis-cli -p "$PORT" "$@"; }

info_field() { cli info "$1" | tr -d '\r' | sed -n "s/^$2://p"; }

json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

start() { # name
	PORT=$(free_port)
	if [ "$1" = kvsd ]; then
		"$KVSD" --port "$PORT" --threads "$KVSD_THREADS" --loglevel warning --save '' \
			--maxmemory-samples "$SAMPLES" >"$TMP/$1.log" 2>&1 &
	else
		"$REDIS" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
			--dir "$TMP" --maxmemory-samples "$SAMPLES" >"$TMP/$1.log" 2>&1 &
	fi
	PID=$!
	for _ in $(seq 50); do cli ping >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "hitratio.sh: $1 did not start" >&2
	exit 1
}

stop() {
	cli shutdown nosave >/dev/null 2>&1 || true
	wait "$PID" 2>/dev/null || true
	PID=
}

run() { # name policy -> prints "ratio maxmemory evicted"
	start "$1"
	base=$(info_field memory used_memory)
	"$LOADGEN" -p "$PORT" --keys "$KEYS" -d "$VALUE" --prefill --requests 1 \
		-c 1 >/dev/null
	full=$(info_field memory used_memory)
	limit=$(python3 -c "print(int($base + $FRACTION * ($full - $base)))")
	cli flushall >/dev/null
	cli config set maxmemory-policy "$2" >/dev/null
	cli config set maxmemory "$limit" >/dev/null
	"$LOADGEN" -p "$PORT" --workload cache --keys "$KEYS" -d "$VALUE" \
		--dist "zipf:$THETA" -c "$CONNS" --warmup "$WARMUP" \
		--duration "$DURATION" --json "$TMP/$1.json" >"$TMP/$1.out"
	hits=$(json_field "$TMP/$1.json" get_hits)
	misses=$(json_field "$TMP/$1.json" get_misses)
	evicted=$(info_field stats evicted_keys)
	stop
	python3 -c "print('%.4f %d %s' % ($hits / max(1, $hits + $misses), $limit, '$evicted'))"
}

echo "# cache workload: $KEYS keys, ${VALUE} B values, zipf $THETA, limit ~$FRACTION of the" \
	"key space, maxmemory-samples $SAMPLES, ${WARMUP}+${DURATION} s, $CONNS connections"
printf '%-16s %10s %10s %8s %12s %12s %10s %10s\n' policy kvsd redis diff_pp \
	kvsd_maxmem redis_maxmem kvsd_evict redis_evict
for p in $POLICIES; do
	set -- $(run kvsd "$p")
	k_ratio=$1 k_max=$2 k_ev=$3
	set -- $(run redis "$p")
	r_ratio=$1 r_max=$2 r_ev=$3
	python3 -c "print('%-16s %9.2f%% %9.2f%% %+8.2f %12d %12d %10s %10s' % ('$p', 100 * $k_ratio,
	100 * $r_ratio, 100 * ($k_ratio - $r_ratio), $k_max, $r_max, '$k_ev', '$r_ev'))"
done
