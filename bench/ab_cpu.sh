#!/usr/bin/env bash
# CPU per request of two kvsd binaries, A/B interleaved (branch group13): both run at once with
# --threads 1, pinned to core 1 (the client on core 0), each filled as bench/types_ir.sh fills
# (myhash, myset, myzset of 2M members) and warmed with 200,000 requests of the test; then ROUNDS
# times, alternately, N requests (`redis-benchmark -c 50 -P 16 -r 1000000 -t TEST`) with the
# server's utime + stime (all its threads, /proc, 10 ms ticks) read before and after. Prints
# us of CPU and of wall time per request, per run. On a shared machine the figures are
# indicative: compare pairs, and run once with ORDER=BA too.
# Usage: A=old/kvsd B=new/kvsd bench/ab_cpu.sh TEST [ROUNDS] [N]   (default 5, 1000000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
t=$1 R=${2:-5} N=${3:-1000000}
# shellcheck source=lib.sh
. "$root/bench/lib.sh" # free_port
qa=$(free_port) qb=$(free_port)
taskset -c 1 "$A" --port "$qa" --threads 1 --save '' >/dev/null 2>&1 &
pa=$!
taskset -c 1 "$B" --port "$qb" --threads 1 --save '' >/dev/null 2>&1 &
pb=$!
trap 'kill $pa $pb 2>/dev/null' EXIT
for q in $qa $qb; do
	until redis-cli -p "$q" ping >/dev/null 2>&1; do sleep 0.1; done
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib
benchlib.fill_big_collections(int(sys.argv[2]), 2000000).close()' "$root/bench" "$q"
	taskset -c 0 redis-benchmark -p "$q" -c 50 -P 16 -r 1000000 -n 200000 -t "$t" >/dev/null
done
cpu() { awk '{s += $14 + $15} END {print s}' /proc/"$1"/task/*/stat; }
for r in $(seq "$R"); do
	if [[ ${ORDER:-AB} == BA ]]; then L=("B $qb $pb" "A $qa $pa"); else L=("A $qa $pa" "B $qb $pb"); fi
	for x in "${L[@]}"; do
		read -r name q p <<<"$x"
		c0=$(cpu "$p")
		t0=$(date +%s.%N)
		taskset -c 0 redis-benchmark -p "$q" -c 50 -P 16 -r 1000000 -n "$N" -t "$t" >/dev/null
		c1=$(cpu "$p")
		t1=$(date +%s.%N)
		awk -v n="$name" -v r="$r" -v c="$((c1 - c0))" -v w="$(echo "$t1 - $t0" | bc -l)" -v N="$N" \
			'BEGIN { printf "%s round %d cpu_us_per_req %.3f wall_us_per_req %.3f\n", n, r, c * 10000 / N, w * 1e6 / N }'
	done
done
