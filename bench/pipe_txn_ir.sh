#!/usr/bin/env bash
# Instructions and cache misses per write to ONE large collection, pipelined plain vs the same
# writes wrapped in MULTI/EXEC (branch group13: would coalescing a pipeline's same-key writes
# into one staged edit and one publish pay?). Counted by callgrind, so load-independent.
#
# kvsd runs alone under `valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes
# --LL=524288,8,64` (--threads 1 --save '' --hz 1). myhash, myset and myzset are filled with
# --fill members as bench/types_ir.sh fills them, mylist with 100,000 items. For each test, in
# the order plain, multi, plain, multi: one connection sends --batches batches of 16 commands
# (plain) or MULTI + the same 16 + EXEC (multi), each batch after the previous one's replies (so
# one conn run sees exactly one batch), 300 warm-up batches first; the counters cover the
# measured batches only and are divided by the number of writes (16 per batch): MULTI, EXEC and
# the +QUEUED replies are part of the multi figure (an implicit group would not pay them).
# Tests (bench/pipe_txn_drv.py): hset sadd spop zadd zpopmin lpush rpush lpop rpop.
#
# Usage: bench/pipe_txn_ir.sh [--tests hset,lpush,zpopmin] [--batches N] [--fill N] [--keep DIR]
# Environment: KVSD_BIN (default build/server/kvsd).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd="${KVSD_BIN:-$root/build/server/kvsd}"
TESTS=hset,lpush,zpopmin
NB=1000
FILL=2000000
KEEP=""
while [[ $# -gt 0 ]]; do
	case $1 in
	--tests) TESTS=$2; shift 2 ;;
	--batches) NB=$2; shift 2 ;;
	--fill) FILL=$2; shift 2 ;;
	--keep) KEEP=$2; mkdir -p "$KEEP"; shift 2 ;;
	*) echo "usage: $0 [--tests hset,...] [--batches N] [--fill N] [--keep DIR]" >&2; exit 2 ;;
	esac
done
tmp="$(mktemp -d)"
pid=""
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# shellcheck source=lib.sh
. "$root/bench/lib.sh" # free_port
port=$(free_port)
valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes --LL=524288,8,64 \
	--callgrind-out-file="$tmp/k.%p.out" "$kvsd" --threads 1 --save '' --hz 1 \
	--port "$port" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 300); do
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	sleep 0.2
done
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib
benchlib.fill_big_collections(int(sys.argv[2]), int(sys.argv[3])).close()' "$root/bench" "$port" "$FILL"
redis-benchmark -p "$port" -c 10 -P 16 -n 100000 lpush mylist xxx >/dev/null
echo "kvsd: $kvsd (callgrind, --threads 1 --hz 1); per write, 16 writes per batch, $NB batches"
printf '%-8s %-6s %8s %8s %8s %8s\n' test mode Ir D1miss LLmiss I1miss
for t in ${TESTS//,/ }; do
	for mode in plain multi plain multi; do
		python3 "$root/bench/pipe_txn_drv.py" "$port" "$mode" "$t" 300
		callgrind_control -z "$pid" >/dev/null 2>&1
		callgrind_control -i on "$pid" >/dev/null 2>&1
		python3 "$root/bench/pipe_txn_drv.py" "$port" "$mode" "$t" "$NB"
		callgrind_control -i off "$pid" >/dev/null 2>&1
		callgrind_control -d "$t.$mode" "$pid" >/dev/null 2>&1
		f="" line=""
		for _ in $(seq 50); do
			f=$(ls -t "$tmp"/k."$pid".out.* 2>/dev/null | head -1 || true)
			[[ -n $f ]] && line=$(grep -h '^totals:' "$f") && [[ -n $line ]] && break
			sleep 0.2
		done
		ev=$(grep -h '^events:' "$f")
		awk -v n=$((NB * 16)) -v t="$t" -v m="$mode" -v ev="$ev" '/^totals:/ {
			split(ev, e, " "); for (i = 2; i <= NF; i++) v[e[i]] = $i
			printf "%-8s %-6s %8d %8.2f %8.2f %8.2f\n", t, m, v["Ir"] / n,
				(v["D1mr"] + v["D1mw"]) / n, (v["DLmr"] + v["DLmw"]) / n, v["I1mr"] / n }' "$f"
		if [[ -n $KEEP ]]; then mv "$f" "$KEEP/$t.$mode.out"; else rm -f "$f"; fi
	done
done
