#!/usr/bin/env bash
# Instructions (and cache misses) per request at pipeline 16 for writes to large collections
# (issue 13), kvsd vs redis-server in the same run, counted by callgrind: the machine's load
# does not disturb the figure, unlike requests/s.
#
# Each server runs alone under `valgrind --tool=callgrind --instr-atstart=no` (kvsd --threads 1
# --save ''; redis-server --save '' --appendonly no) on a free loopback port. The keys
# redis-benchmark's tests use are filled as bench/types.py fills them (myhash, myset, myzset
# with --fill members "element:" + 12 digits, uninstrumented), each test is warmed up with
# --warmup requests, then instrumentation is switched on (callgrind_control -i on), N requests
# run (`redis-benchmark -c 50 -P 16 -r 1000000 -n N -t <test>`), and the counters are dumped:
# the whole process's events (every thread: parsing, dispatch, the command, the allocator, the
# reclaimer, the event loop) divided by N. Tests: hset, sadd, spop, zadd, zpopmin.
# Prints one line per test: kvsd Ir/request, redis Ir/request, kvsd/redis; with --cache also
# D1 and LL misses per request (callgrind --cache-sim=yes: D1mr + D1mw, DLmr + DLmw).
# --keep DIR keeps the callgrind outputs there (for callgrind_annotate).
#
# Usage: bench/types_ir.sh [--requests N] [--warmup N] [--fill N] [--tests hset,...]
#                          [--cache] [--keep DIR] [--only kvsd|redis]
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd="${KVSD_BIN:-$root/build/server/kvsd}"
redis="${REDIS_BIN:-redis-server}"
N=20000
WARM=20000
FILL=2000000
TESTS=hset,sadd,spop,zadd,zpopmin
CACHE=no
KEEP=""
ONLY=""
while [[ $# -gt 0 ]]; do
	case $1 in
	--requests) N=$2; shift 2 ;;
	--warmup) WARM=$2; shift 2 ;;
	--fill) FILL=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--cache) CACHE=yes; shift ;;
	--keep) KEEP=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	*) echo "usage: $0 [--requests N] [--warmup N] [--fill N] [--tests hset,...] [--cache] [--keep DIR] [--only kvsd|redis]" >&2; exit 2 ;;
	esac
done
if (( (WARM + N) * 2 > FILL )); then
	echo "spop/zpopmin would pop too much of the fill: raise --fill" >&2
	exit 2
fi
tmp="$(mktemp -d)"
srv=""
trap '[[ -n $srv ]] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
[[ -n $KEEP ]] && mkdir -p "$KEEP"

# shellcheck source=lib.sh
. "$root/bench/lib.sh" # free_port

fill() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib
benchlib.fill_big_collections(int(sys.argv[2]), int(sys.argv[3])).close()' "$root/bench" "$1" "$FILL"
}

# measure NAME CMD...: prints "NAME test Ir/request [D1miss LLmiss]" lines
measure() {
	local name=$1 port pid
	shift
	port=$(free_port)
	valgrind --tool=callgrind --instr-atstart=no --cache-sim="$CACHE" \
		--callgrind-out-file="$tmp/$name.%p.out" "$@" --port "$port" >"$tmp/$name.log" 2>&1 &
	pid=$!
	srv=$pid
	for _ in $(seq 300); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.2
	done
	(cd "$root" && fill "$port")
	for t in ${TESTS//,/ }; do
		redis-benchmark -p "$port" -c 50 -P 16 -r 1000000 -n "$WARM" -t "$t" >/dev/null
		callgrind_control -z "$pid" >/dev/null 2>&1
		callgrind_control -i on "$pid" >/dev/null 2>&1
		redis-benchmark -p "$port" -c 50 -P 16 -r 1000000 -n "$N" -t "$t" >/dev/null
		callgrind_control -i off "$pid" >/dev/null 2>&1
		callgrind_control -d "$t" "$pid" >/dev/null 2>&1
		local f="" line=""
		for _ in $(seq 50); do
			f=$(ls -t "$tmp/$name.$pid.out."* 2>/dev/null | head -1 || true)
			[[ -n $f ]] && line=$(grep -h '^totals:' "$f") && [[ -n $line ]] && break
			sleep 0.2
		done
		local ev
		ev=$(grep -h '^events:' "$f")
		awk -v n="$N" -v name="$name" -v t="$t" -v ev="$ev" '/^totals:/ {
			split(ev, e, " "); for (i = 2; i <= NF; i++) v[e[i]] = $i
			d1 = v["D1mr"] + v["D1mw"]; ll = v["DLmr"] + v["DLmw"]
			printf "%s %s %d %.2f %.2f\n", name, t, v["Ir"] / n, d1 / n, ll / n }' "$f"
		if [[ -n $KEEP ]]; then mv "$f" "$KEEP/$name.$t.out"; else rm -f "$f"; fi
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	srv=""
}

echo "kvsd:   valgrind --tool=callgrind --instr-atstart=no --cache-sim=$CACHE $kvsd --threads 1 --save ''"
echo "redis:  valgrind --tool=callgrind --instr-atstart=no --cache-sim=$CACHE $redis --save '' --appendonly no"
echo "fill:   myhash, myset, myzset with $FILL members element:%012d; warm-up $WARM requests per test"
echo "client: redis-benchmark -c 50 -P 16 -r 1000000 -n $N -t <test>"
: >"$tmp/k"
: >"$tmp/r"
[[ $ONLY == redis ]] || measure kvsd "$kvsd" --threads 1 --save '' >"$tmp/k"
[[ $ONLY == kvsd ]] || measure redis "$redis" --save '' --appendonly no >"$tmp/r"
if [[ $CACHE == yes ]]; then
	printf '%-8s %9s %9s %8s %8s %8s %8s %8s\n' test kvsd_Ir redis_Ir ratio kvsd_D1 redis_D1 kvsd_LL redis_LL
else
	printf '%-8s %9s %9s %8s\n' test kvsd_Ir redis_Ir ratio
fi
for t in ${TESTS//,/ }; do
	read -r k kd kl < <(awk -v o="$t" '$2 == o {print $3, $4, $5}' "$tmp/k") || true
	read -r r rd rl < <(awk -v o="$t" '$2 == o {print $3, $4, $5}' "$tmp/r") || true
	k=${k:-0} r=${r:-0}
	ratio=$( ((r > 0)) && echo "$k / $r" | bc -l || echo 0)
	if [[ $CACHE == yes ]]; then
		printf '%-8s %9d %9d %7.2fx %8s %8s %8s %8s\n' "$t" "$k" "$r" "$ratio" "${kd:--}" "${rd:--}" "${kl:--}" "${rl:--}"
	else
		printf '%-8s %9d %9d %7.2fx\n' "$t" "$k" "$r" "$ratio"
	fi
done
