#!/usr/bin/env bash
# kvsd vs redis-server on 1 MB bitmaps, one core each, same load generator, same run.
#
# Starts kvsd (--threads 1) and redis-server (--save '' --appendonly no) on free loopback
# ports, both pinned with taskset to the server core; build/bench/bits-load (bench/bits_load.c:
# random offsets and bit values, which redis-benchmark cannot send) runs pinned to the client
# core with -c 50 -P 16. Each server gets KEYS bitmaps of 1 MB (bm:0.., grown by a SETBIT at
# the last bit, then 64k random bits set). For SETBIT, GETBIT and BITCOUNT it runs each server
# RUNS times, alternating which goes first, and prints the median requests/s of each and the
# ratio kvsd/redis (target: >= 1.2).
#
# Usage: bench/bits.sh [--runs N] [--requests N] [--keys K] [--quick]
#   --runs N      runs per server and command (default 3)
#   --requests N  requests per GETBIT run (default 1000000); SETBIT runs 1/10 of it, BITCOUNT
#                 1/100 (a BITCOUNT reads the whole megabyte)
#   --keys K      bitmaps (default 1)
#   --quick       1 run of 200000 requests: checks the script, measures nothing
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# BITS_LOAD (default build/bench/bits-load), BENCH_CORES (default "0,1": server, client).
# Run it on an otherwise idle machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kvsd_bin="${KVSD_BIN:-$root/build/server/kvsd}"
redis_bin="${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}"
load="${BITS_LOAD:-$root/build/bench/bits-load}"
cores="${BENCH_CORES:-0,1}"
srv_core="${cores%%,*}"
cli_core="${cores##*,}"
runs=3 requests=1000000 keys=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--requests) requests=$2; shift 2 ;;
	--keys) keys=$2; shift 2 ;;
	--quick) runs=1 requests=200000; shift ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bits.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for tool in taskset redis-cli python3 "$load" "$kvsd_bin" "$redis_bin"; do
	command -v "$tool" >/dev/null || { echo "bits.sh: $tool not found (build first)" >&2; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
tmp=$(mktemp -d)

kport=$(free_port)
taskset -c "$srv_core" "$kvsd_bin" --port "$kport" --bind 127.0.0.1 --threads 1 \
	--loglevel warning --save '' >/dev/null 2>&1 &
pids+=($!)
rport=$(free_port)
taskset -c "$srv_core" "$redis_bin" --port "$rport" --bind 127.0.0.1 --save '' \
	--appendonly no --dir "$tmp" --loglevel warning >/dev/null 2>&1 &
pids+=($!)
for port in "$kport" "$rport"; do
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
	for ((k = 0; k < keys; k++)); do
		redis-cli -p "$port" setbit "bm:$k" 8388607 0 >/dev/null
	done
	# some set bits, so BITCOUNT and the bitmaps are not all zeros
	"$load" -p "$port" -c 4 -P 64 -n 65536 -k "$keys" -s 7 setbit >/dev/null
done

echo "kvsd:  $kvsd_bin (--threads 1), core $srv_core"
echo "redis: $("$redis_bin" --version | cut -d' ' -f1-3), core $srv_core"
echo "load:  bits-load -c 50 -P 16, $keys bitmap(s) of 1 MB, core $cli_core; $runs run(s) each, alternating"
echo
echo "| command | requests/run | kvsd req/s | redis req/s | kvsd/redis |"
echo "|---|---:|---:|---:|---:|"
for cmd in setbit getbit bitcount; do
	n=$requests
	[ "$cmd" = setbit ] && n=$((requests / 10))
	[ "$cmd" = bitcount ] && n=$((requests / 100))
	ks=() rs=()
	for ((r = 0; r < runs; r++)); do
		order=("$kport" "$rport")
		((r % 2)) && order=("$rport" "$kport")
		for port in "${order[@]}"; do
			v=$(taskset -c "$cli_core" "$load" -p "$port" -c 50 -P 16 -n "$n" -k "$keys" \
				-s $((r + 1)) "$cmd" | awk '{print $4}')
			if [ "$port" = "$kport" ]; then ks+=("$v"); else rs+=("$v"); fi
		done
	done
	python3 - "$cmd" "$n" "${ks[*]}" "${rs[*]}" <<'PY'
import statistics, sys
cmd, n, ks, rs = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
k = statistics.median(float(x) for x in ks)
r = statistics.median(float(x) for x in rs)
print("| %s | %s | %.0f | %.0f | %.2f |" % (cmd.upper(), n, k, r, k / r))
PY
done
rm -rf "$tmp"
