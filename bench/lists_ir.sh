#!/usr/bin/env bash
# Instructions per request at pipeline 16 (issue 14), kvsd vs redis-server, counted by
# callgrind (the machine's load does not disturb the figure, unlike requests/s).
#
# Each server runs alone under `valgrind --tool=callgrind` (kvsd --threads 1 --save '';
# redis-server --save '' --appendonly no) on a free loopback port. mylist is filled with
# 50,000 LPUSH and 50,000 RPUSH and 10,000 keys key:N are SET (redis-benchmark -c 10 -P 16),
# then for each test the counters are zeroed (callgrind_control -z), N requests of it run
# (`redis-benchmark -c 10 -P 16 -n N ...`) and the counters dumped: the whole process's
# instructions (every thread: parsing, dispatch, the command, the allocator, the reclaimer,
# the event loop) divided by N. The tests, in this order:
#   lpush / rpush   LPUSH|RPUSH mylist xxx
#   lpop / rpop     LPOP|RPOP mylist (the list keeps > 60,000 elements: they pop elements)
#   lrange_100      LRANGE mylist 0 99 (redis-benchmark's LRANGE_100)
#   get / set       GET|SET key:__rand_int__ (-r 10000, the keys exist)
#   publish         PUBLISH chan xxx (nobody subscribed)
# and, not in the default list, kvsd-loadgen's workloads at pipeline 1 (issue 19: one thread,
# 50 connections, 100,000 keys key:000000000000.. prefilled with 64-byte values before the
# first of them, the same N requests):
#   lg_get / lg_set  --ratio 0:1 / 1:0 --dist uniform
#   lg_zget          --ratio 0:1 (GETs only, zipf 0.99)
#   lg_zipf          --ratio 1:10 (zipf 0.99: SET:GET 1:10)
#   lg_cache         --workload cache (zipf GETs, SET on a miss: none, the keys exist)
# Prints one line per test: kvsd Ir/request, redis Ir/request, kvsd/redis.
#
# With --cache, callgrind also simulates the caches (--cache-sim=yes: 32 KB 8-way I1 and D1,
# and a last level given as 512 KB 8-way, --LL=524288,8,64, the size of a Zen or Skylake-SP
# core's L2, so "LL" misses approximate L2 misses; callgrind would otherwise take the host's
# whole L3) and each line adds, per request, both servers: I1 misses, D1 misses (reads +
# writes) and LL misses (instructions + data). These are the stalls instruction counts do not
# show (callgrind's LRU model, not the CPU's prefetchers); like Ir they do not depend on load.
#
# With --hz N, both servers run their timer work (kvsd's cron and active-expiry slices,
# redis-server's serverCron) N times a second instead of 10: that work costs per second, not
# per request, so under valgrind it is a larger share of a run the slower the machine is
# (Ir and D1 moved ~10% between runs at hz 10); --hz 1 leaves mostly the requests' own cost.
#
# With --keep DIR, each test's callgrind output is kept as DIR/<server>.<test>.out (for
# `callgrind_annotate --auto=yes` per function) instead of being deleted.
#
# Usage: bench/lists_ir.sh [--requests N] [--tests lpush,rpush,...] [--cache] [--hz N] [--keep DIR]
#        (default N 20000, all)
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# LOADGEN_BIN (default build/loadgen/kvsd-loadgen).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd="${KVSD_BIN:-$root/build/server/kvsd}"
redis="${REDIS_BIN:-redis-server}"
loadgen="${LOADGEN_BIN:-$root/build/loadgen/kvsd-loadgen}"
N=20000
TESTS=lpush,rpush,lpop,rpop,lrange_100,get,set,publish
CACHE=0
KEEP=""
HZ=10
while [[ $# -gt 0 ]]; do
	case $1 in
	--requests) N=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--cache) CACHE=1; shift ;;
	--hz) HZ=$2; shift 2 ;;
	--keep) KEEP=$2; mkdir -p "$KEEP"; shift 2 ;;
	*) echo "usage: $0 [--requests N] [--tests lpush,rpush,...] [--cache] [--hz N] [--keep DIR]" >&2; exit 2 ;;
	esac
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

test_args() {
	case $1 in
	lpush | rpush) echo "$1 mylist xxx" ;;
	lpop | rpop) echo "$1 mylist" ;;
	lrange_100) echo "lrange mylist 0 99" ;;
	get) echo "-r 10000 get key:__rand_int__" ;;
	set) echo "-r 10000 set key:__rand_int__ xxx" ;;
	publish) echo "publish chan xxx" ;;
	lg_get) echo "--ratio 0:1 --dist uniform" ;;
	lg_set) echo "--ratio 1:0 --dist uniform" ;;
	lg_zget) echo "--ratio 0:1 --dist zipf:0.99" ;;
	lg_zipf) echo "--ratio 1:10 --dist zipf:0.99" ;;
	lg_cache) echo "--workload cache --dist zipf:0.99" ;;
	*) echo "unknown test $1" >&2; exit 2 ;;
	esac
}

# measure NAME CMD...: prints "NAME test Ir/request" lines
measure() {
	local name=$1 port pid
	shift
	port=$(free_port)
	local sim=()
	[[ $CACHE == 1 ]] && sim=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=524288,8,64)
	valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$tmp/$name.%p.out" "$@" --port "$port" \
		>"$tmp/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.2
	done
	redis-benchmark -p "$port" -c 10 -P 16 -n 50000 lpush mylist xxx >/dev/null
	redis-benchmark -p "$port" -c 10 -P 16 -n 50000 rpush mylist xxx >/dev/null
	redis-benchmark -p "$port" -c 10 -P 16 -n 20000 -r 10000 set key:__rand_int__ xxx >/dev/null
	if [[ ,$TESTS, == *,lg_* ]]; then
		"$loadgen" -p "$port" --keys 100000 --prefill --requests 2000 --ratio 0:1 >/dev/null
	fi
	for t in ${TESTS//,/ }; do
		local args
		read -r -a args <<<"$(test_args "$t")"
		callgrind_control -z "$pid" >/dev/null 2>&1
		if [[ $t == lg_* ]]; then
			"$loadgen" -p "$port" --keys 100000 -c 50 -P 1 --requests "$N" "${args[@]}" >/dev/null
		else
			redis-benchmark -p "$port" -c 10 -P 16 -n "$N" "${args[@]}" >/dev/null
		fi
		callgrind_control -d "$t" "$pid" >/dev/null 2>&1
		local f="" sum=""
		for _ in $(seq 50); do
			f=$(ls -t "$tmp/$name.$pid.out."* 2>/dev/null | head -1 || true)
			[[ -n $f ]] && sum=$(grep -h '^summary:' "$f") && [[ -n $sum ]] && break
			sleep 0.2
		done
		# summary: Ir [Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw] (with --cache-sim)
		echo "$sum" | awk -v n="$name" -v t="$t" -v N="$N" '{
			if (NF >= 10) printf "%s %s %d %.1f %.2f %.2f\n", n, t, $2 / N, $5 / N, ($6 + $7) / N, ($8 + $9 + $10) / N
			else printf "%s %s %d\n", n, t, $2 / N }'
		if [[ -n $KEEP ]]; then mv "$f" "$KEEP/$name.$t.out"; else rm -f "$f"; fi
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

echo "kvsd:   valgrind --tool=callgrind $kvsd --threads 1 --save '' --hz $HZ"
echo "redis:  valgrind --tool=callgrind $redis --save '' --appendonly no --hz $HZ"
echo "client: redis-benchmark -c 10 -P 16 -n $N <test>; lg_*: kvsd-loadgen --keys 100000 -c 50 -P 1 --requests $N <args>"
measure kvsd "$kvsd" --threads 1 --save '' --hz "$HZ" >"$tmp/k"
measure redis "$redis" --save '' --appendonly no --hz "$HZ" >"$tmp/r"
if [[ $CACHE == 1 ]]; then
	printf '%-11s %8s %8s %10s %7s %7s %7s %7s %7s %7s\n' test kvsd_Ir redis_Ir kvsd/redis \
		kvsd_I1 redis_I1 kvsd_D1 redis_D1 kvsd_LL redis_LL
else
	printf '%-11s %10s %10s %11s\n' test kvsd_Ir redis_Ir kvsd/redis
fi
while read -r _ t k ki kd kl; do
	read -r r ri rd rl <<<"$(awk -v o="$t" '$2 == o {print $3, $4, $5, $6}' "$tmp/r")"
	if [[ $CACHE == 1 ]]; then
		printf '%-11s %8d %8d %9.2fx %7.1f %7.1f %7.2f %7.2f %7.2f %7.2f\n' "$t" "$k" "$r" \
			"$(echo "$k / $r" | bc -l)" "$ki" "$ri" "$kd" "$rd" "$kl" "$rl"
	else
		printf '%-11s %10d %10d %10.2fx\n' "$t" "$k" "$r" "$(echo "$k / $r" | bc -l)"
	fi
done <"$tmp/k"
