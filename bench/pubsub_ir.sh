#!/usr/bin/env bash
# Instructions per delivered Pub/Sub message (issue 17), counted by callgrind (load-independent,
# unlike messages/s), for one or more kvsd binaries and redis-server in the same run.
#
# Each server runs alone under `valgrind --tool=callgrind` (kvsd --threads 1 --save '';
# redis-server --save '' --appendonly no) on a free loopback port. For each N of N1 and N2 the
# counters are zeroed (callgrind_control -z), one `kvsd-loadgen --pubsub` (or --psubscribe)
# run with S subscribers, one publisher, -P 8, 64-byte messages, --requests N, and the
# counters dumped: the whole process's instructions. The figure is the difference of the two
# runs' instructions over the difference of their deliveries (loadgen's "receivers
# reported"), so connecting and subscribing the S clients cancels out.
# Prints one line per server: Ir per delivered message, and its ratio to the first server's.
#
# Usage: bench/pubsub_ir.sh [--subs S] [--mode channel|pattern] [--requests N1,N2] [--no-redis]
#        [KVSD_BIN ...]   (defaults: 100, channel, 1000,3000, build/server/kvsd; with 1,000
#        subscribers 300,900 runs in a third of the time but varies by +-10% between runs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S=100
MODE=channel
REQ=
REDIS=1
BINS=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--subs) S=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	--requests) REQ=$2; shift 2 ;;
	--no-redis) REDIS=0; shift ;;
	-*) echo "usage: $0 [--subs S] [--mode channel|pattern] [--requests N1,N2] [--no-redis] [KVSD_BIN ...]" >&2; exit 2 ;;
	*) BINS+=("$1"); shift ;;
	esac
done
[[ ${#BINS[@]} -gt 0 ]] || BINS=("$root/build/server/kvsd")
[[ -n $REQ ]] || REQ=1000,3000
N1=${REQ%,*}
N2=${REQ#*,}
LG=${LOADGEN:-$root/build/loadgen/kvsd-loadgen}
flag=--pubsub
[[ $MODE == pattern ]] && flag=--psubscribe
tmp="$(mktemp -d)"
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run LABEL -> prints Ir per delivered message
run() {
	local label=$1 bin=$2 port out i ir1 ir2 d1 d2
	port=$(free_port)
	out="$tmp/cg.$label"
	if [[ $bin == redis ]]; then
		valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" \
			--bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
	else
		valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --port "$port" \
			--bind 127.0.0.1 --threads 1 --save '' >/dev/null 2>&1 &
	fi
	pid=$!
	i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[[ $i -lt 300 ]] || { echo "$label did not start" >&2; exit 1; }
		sleep 0.1
	done
	local irs=() ds=()
	for n in "$N1" "$N2"; do
		callgrind_control -z "$pid" >/dev/null 2>&1
		"$LG" -p "$port" $flag --subscribers "$S" --publishers 1 -P 8 -d 64 -t 1 \
			--warmup 0 --requests "$n" >"$tmp/lg" 2>&1 || { cat "$tmp/lg" >&2; exit 1; }
		grep -q ' lost 0  duplicates 0  out of order 0' "$tmp/lg" || { cat "$tmp/lg" >&2; exit 1; }
		rm -f "$out".*
		callgrind_control -d "$pid" >/dev/null 2>&1
		sleep 0.5
		irs+=("$(grep -h '^summary:' "$out".* | awk '{s += $2} END {print s}')")
		ds+=("$(sed -n 's/.*receivers reported \([0-9]*\) .*/\1/p' "$tmp/lg")")
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	python3 -c "print('%.0f' % (($((irs[1])) - $((irs[0]))) / ($((ds[1])) - $((ds[0])))))"
}

echo "Ir per delivered message: $S subscribers on one $MODE, 1 publisher, -P 8, 64 B," \
	"requests $N1 and $N2 (difference), one worker"
first=
for b in "${BINS[@]}"; do
	ir=$(run "k$(echo "$b" | md5sum | cut -c1-6)" "$b")
	[[ -n $first ]] || first=$ir
	printf '%-40s %8s  %.2fx\n' "$b" "$ir" "$(python3 -c "print($ir / $first)")"
done
if [[ $REDIS == 1 ]]; then
	ir=$(run redis redis)
	printf '%-40s %8s  %.2fx\n' "redis-server" "$ir" "$(python3 -c "print($ir / $first)")"
fi
