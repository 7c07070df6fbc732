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
# Prints one line per test: kvsd Ir/request, redis Ir/request, kvsd/redis.
#
# Usage: bench/lists_ir.sh [--requests N] [--tests lpush,rpush,...]   (default N 20000, all)
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd="${KVSD_BIN:-$root/build/server/kvsd}"
redis="${REDIS_BIN:-redis-server}"
N=20000
TESTS=lpush,rpush,lpop,rpop,lrange_100,get,set,publish
while [[ $# -gt 0 ]]; do
	case $1 in
	--requests) N=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	*) echo "usage: $0 [--requests N] [--tests lpush,rpush,...]" >&2; exit 2 ;;
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
	*) echo "unknown test $1" >&2; exit 2 ;;
	esac
}

# measure NAME CMD...: prints "NAME test Ir/request" lines
measure() {
	local name=$1 port pid
	shift
	port=$(free_port)
	valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.%p.out" "$@" --port "$port" \
		>"$tmp/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.2
	done
	redis-benchmark -p "$port" -c 10 -P 16 -n 50000 lpush mylist xxx >/dev/null
	redis-benchmark -p "$port" -c 10 -P 16 -n 50000 rpush mylist xxx >/dev/null
	redis-benchmark -p "$port" -c 10 -P 16 -n 20000 -r 10000 set key:__rand_int__ xxx >/dev/null
	for t in ${TESTS//,/ }; do
		local args
		read -r -a args <<<"$(test_args "$t")"
		callgrind_control -z "$pid" >/dev/null 2>&1
		redis-benchmark -p "$port" -c 10 -P 16 -n "$N" "${args[@]}" >/dev/null
		callgrind_control -d "$t" "$pid" >/dev/null 2>&1
		local f="" ir=""
		for _ in $(seq 50); do
			f=$(ls -t "$tmp/$name.$pid.out."* 2>/dev/null | head -1 || true)
			[[ -n $f ]] && ir=$(grep -h '^summary:' "$f" | awk '{print $2}') && [[ -n $ir ]] && break
			sleep 0.2
		done
		echo "$name $t $((ir / N))"
		rm -f "$f"
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

echo "kvsd:   valgrind --tool=callgrind $kvsd --threads 1 --save ''"
echo "redis:  valgrind --tool=callgrind $redis --save '' --appendonly no"
echo "client: redis-benchmark -c 10 -P 16 -n $N <test>"
measure kvsd "$kvsd" --threads 1 --save '' >"$tmp/k"
measure redis "$redis" --save '' --appendonly no >"$tmp/r"
printf '%-11s %10s %10s %11s\n' test kvsd_Ir redis_Ir kvsd/redis
while read -r _ t k; do
	r=$(awk -v o="$t" '$2 == o {print $3}' "$tmp/r")
	printf '%-11s %10d %10d %10.2fx\n' "$t" "$k" "$r" "$(echo "$k / $r" | bc -l)"
done <"$tmp/k"
