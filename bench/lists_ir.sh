#!/usr/bin/env bash
# Instructions per list command (issue 14), kvsd vs redis-server, counted by callgrind (the
# machine's load does not disturb the figure, unlike requests/s).
#
# Each server runs alone under `valgrind --tool=callgrind` (kvsd --threads 1 --save '';
# redis-server --save '' --appendonly no) on a free loopback port. mylist is filled with
# 50,000 LPUSH and 50,000 RPUSH (redis-benchmark -c 10 -P 16), then for each of LPUSH, RPUSH,
# LPOP, RPOP the counters are zeroed (callgrind_control -z), 20,000 of that command run
# (`redis-benchmark -c 10 -P 16 -n 20000 lpush mylist xxx`, pops without the value) and the
# counters dumped: the whole process's instructions (every thread: parsing, dispatch, the
# list, the allocator, the reclaimer, the event loop) divided by 20,000. Prints one line per
# command: kvsd Ir/op, redis Ir/op, their ratio.
#
# Usage: bench/lists_ir.sh
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd="${KVSD_BIN:-$root/build/server/kvsd}"
redis="${REDIS_BIN:-redis-server}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# measure NAME CMD...: prints "NAME op Ir/op" lines for the four commands
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
	for op in lpush rpush lpop rpop; do
		local args=(mylist)
		[[ $op == *push ]] && args+=(xxx)
		callgrind_control -z "$pid" >/dev/null 2>&1
		redis-benchmark -p "$port" -c 10 -P 16 -n 20000 "$op" "${args[@]}" >/dev/null
		callgrind_control -d "$op" "$pid" >/dev/null 2>&1
		local f="" ir=""
		for _ in $(seq 50); do
			f=$(ls -t "$tmp/$name.$pid.out."* 2>/dev/null | head -1 || true)
			[[ -n $f ]] && ir=$(grep -h '^summary:' "$f" | awk '{print $2}') && [[ -n $ir ]] && break
			sleep 0.2
		done
		echo "$name $op $((ir / 20000))"
		rm -f "$f"
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

measure kvsd "$kvsd" --threads 1 --save '' >"$tmp/k"
measure redis "$redis" --save '' --appendonly no >"$tmp/r"
printf '%-6s %10s %10s %8s\n' op kvsd_Ir redis_Ir ratio
while read -r _ op k; do
	r=$(awk -v o="$op" '$2 == o {print $3}' "$tmp/r")
	printf '%-6s %10d %10d %8.2f\n' "$op" "$k" "$r" "$(echo "$r / $k" | bc -l)"
done <"$tmp/k"
