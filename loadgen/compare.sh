#!/usr/bin/env bash
# loadgen/compare.sh — kvsd and redis-server side by side, measured by kvsd-loadgen.
#
# Starts redis-server (--save '' --appendonly no) and kvsd (--threads 1) on free loopback
# ports, both pinned to core 0; kvsd-loadgen (one thread, 50 connections) and redis-benchmark
# run pinned to core 1. Both key spaces are prefilled (100,000 keys key:000000000000 ..,
# 64-byte values). For each workload it alternates the servers for --runs runs and prints the
# medians, the kvsd/redis ratio and each process's CPU share (utime+stime from /proc/<pid>/stat
# over the run's wall time; 100% = one core). Workloads: GET and SET at pipeline 1 and 16,
# a zipf mixed workload (SET:GET 1:10, zipf 0.99), the cache workload, and an open-loop rate
# sweep (throughput vs p99, plotted with gnuplot when installed). The GET/SET rows also run
# redis-benchmark against redis-server with the same settings: its figure over kvsd-loadgen's
# is the load generator's accuracy check.
#
# Usage: loadgen/compare.sh [--quick] [--runs N] [--duration S] [--out DIR]
#   --quick      one run per cell, 1 s each, 3 sweep points: checks the script, not the servers
#   --cpu-quota PCT  caps both servers at PCT% of their core (CFS bandwidth control, root; as
#                bench/benchlib.py's cpu_quota): below what the one client core can drive, each
#                server is saturated and its ops/s over the cap is per-core throughput without
#                the wake-ups a server that keeps up with its client pays (the CPU columns show
#                whether a server reached the cap). The sweep's rates then apply to capped servers.
#   env KVSD_BIN, LOADGEN_BIN (default build/server/kvsd, build/loadgen/kvsd-loadgen),
#   SERVER_CPU (0), CLIENT_CPU (1)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KVSD_BIN="${KVSD_BIN:-$ROOT/build/server/kvsd}"
LOADGEN_BIN="${LOADGEN_BIN:-$ROOT/build/loadgen/kvsd-loadgen}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
RUNS=5
DUR=3
SWEEP_FRACS="0.2 0.4 0.6 0.8 0.9 1.0"
OUT=""
QUOTA=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) RUNS=1 DUR=1 SWEEP_FRACS="0.3 0.6 0.9" ;;
	--runs) RUNS="$2"; shift ;;
	--duration) DUR="$2"; shift ;;
	--out) OUT="$2"; shift ;;
	--cpu-quota) QUOTA="$2"; shift ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
for b in "$KVSD_BIN" "$LOADGEN_BIN"; do
	[ -x "$b" ] || { echo "compare.sh: $b not built" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "compare.sh: redis-server not installed" >&2; exit 1; }
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/kvsd-compare.XXXXXX")}"
mkdir -p "$OUT"
KEYS=100000
PIDS=()
CGROUPS=()

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for d in "${CGROUPS[@]}"; do
		rmdir "$d" 2>/dev/null || true
	done
}

# cap PID: every thread of PID at QUOTA% of a core per 10 ms period (bench/benchlib.py's
# cpu_quota, which prints the group; cleanup removes it)
cap() {
	CGROUPS+=("$(python3 "$ROOT/bench/benchlib.py" cap "$1" "$QUOTA")")
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p != 6379: print(p); break'
}

wait_port() {
	for _ in $(seq 100); do
		if [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; then return 0; fi
		sleep 0.05
	done
	echo "compare.sh: nothing answers on port $1" >&2
	exit 1
}

# cpu_ticks PID: utime+stime of a process in clock ticks
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# jget FILE KEY: a top-level field of a kvsd-loadgen JSON file
jget() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

median() {
	python3 -c 'import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print("%.6g" % statistics.median(v) if v else "nan")' "$@"
}

KPORT=$(free_port)
RPORT=$(free_port)
taskset -c "$SERVER_CPU" "$KVSD_BIN" --port "$KPORT" --bind 127.0.0.1 --threads 1 --save "" \
	--loglevel warning >"$OUT/kvsd.log" 2>&1 &
KPID=$!
PIDS+=("$KPID")
taskset -c "$SERVER_CPU" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
	--appendonly no --logfile "$OUT/redis.log" &
RPID=$!
PIDS+=("$RPID")
wait_port "$KPORT"
wait_port "$RPORT"
if [ -n "$QUOTA" ]; then
	cap "$KPID"
	cap "$RPID"
fi
HZ=$(getconf CLK_TCK)
BUILD_TYPE=$(meson introspect --buildoptions "$ROOT/build" 2>/dev/null |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null || echo unknown)

echo "# kvsd vs redis-server, measured with kvsd-loadgen ($(date -u +%Y-%m-%dT%H:%MZ))"
echo "# kvsd $KVSD_BIN (build: $BUILD_TYPE, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?))"
echo "# redis $(redis-server --version | awk '{print $3}')  server core $SERVER_CPU, client core $CLIENT_CPU"
echo "# runs $RUNS x ${DUR}s per cell, medians; outputs in $OUT"
[ -z "$QUOTA" ] || echo "# both servers capped at ${QUOTA}% of core $SERVER_CPU (CFS bandwidth control): ops/s / $QUOTA% = per core"

for p in "$KPORT" "$RPORT"; do
	taskset -c "$CLIENT_CPU" "$LOADGEN_BIN" -p "$p" --prefill --keys $KEYS -d 64 --requests 1 \
		-c 50 >/dev/null 2>&1
done

# run_lg NAME SERVER(kvsd|redis) ARGS... -> prints "ops p99_us server_cpu loadgen_cpu"
run_lg() {
	local name=$1 srv=$2 port pid t0 c0 c1 t1 json
	shift 2
	if [ "$srv" = kvsd ]; then port=$KPORT pid=$KPID; else port=$RPORT pid=$RPID; fi
	json="$OUT/$name-$srv-$RANDOM.json"
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	taskset -c "$CLIENT_CPU" "$LOADGEN_BIN" -p "$port" -t 1 -c 50 --keys $KEYS -d 64 \
		--json "$json" "$@" >/dev/null
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	echo "$(jget "$json" ops_per_sec) $(jget "$json" p99_us)" \
		"$(python3 -c "print(($c1-$c0)/$HZ/($t1-$t0))")" "$(jget "$json" loadgen_cpu)"
}

# run_rb TEST PIPELINE -> redis-benchmark against redis: "ops server_cpu client_cpu"
run_rb() {
	local t=$1 p=$2 n c0 c1 t0 t1 ops rbc0 rbpid
	n=$(python3 -c "print(int($3 * $DUR))")
	c0=$(cpu_ticks "$RPID")
	t0=$(date +%s.%N)
	taskset -c "$CLIENT_CPU" redis-benchmark -p "$RPORT" -t "$t" -c 50 -d 64 -r $KEYS \
		-P "$p" --threads 1 -n "$n" --csv >"$OUT/rb.csv" 2>/dev/null &
	rbpid=$!
	rbc0=0
	local rbc=0
	while kill -0 "$rbpid" 2>/dev/null; do
		rbc=$(cpu_ticks "$rbpid" 2>/dev/null || echo "$rbc")
		sleep 0.1
	done
	wait "$rbpid"
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$RPID")
	ops=$(awk -F, 'NR==2 { gsub(/"/, "", $2); print $2 }' "$OUT/rb.csv")
	echo "$ops $(python3 -c "print(($c1-$c0)/$HZ/($t1-$t0))")" \
		"$(python3 -c "print(($rbc-$rbc0)/$HZ/($t1-$t0))")"
}

pct() { python3 -c "print('%.0f%%' % (100 * float('$1')))"; }

echo
echo "| test | kvsd ops/s | redis ops/s | kvsd/redis | kvsd p99 us | redis p99 us | kvsd CPU | redis CPU | loadgen CPU (kvsd/redis) | redis-benchmark vs redis ops/s | loadgen/redis-benchmark | redis-benchmark CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A TESTS=(
	[GET-P1]="--ratio 0:1 -P 1"
	[GET-P16]="--ratio 0:1 -P 16"
	[SET-P1]="--ratio 1:0 -P 1"
	[SET-P16]="--ratio 1:0 -P 16"
	[zipf-1:10]="--ratio 1:10 --dist zipf:0.99"
	[cache]="--workload cache --dist zipf:0.99"
)
GET_P1_MAX=0
for name in GET-P1 GET-P16 SET-P1 SET-P16 zipf-1:10 cache; do
	declare -a kops=() rops=() kp99=() rp99=() kcpu=() rcpu=() klg=() rlg=() bops=() bcpu=() bsrv=()
	for i in $(seq "$RUNS"); do
		order="kvsd redis"
		[ $((i % 2)) -eq 0 ] && order="redis kvsd"
		for srv in $order; do
			# shellcheck disable=SC2086
			read -r o p s l < <(run_lg "$name" "$srv" --duration "$DUR" ${TESTS[$name]})
			if [ "$srv" = kvsd ]; then
				kops+=("$o") kp99+=("$p") kcpu+=("$s") klg+=("$l")
			else
				rops+=("$o") rp99+=("$p") rcpu+=("$s") rlg+=("$l")
			fi
		done
		case $name in
		GET-P* | SET-P*)
			t=${name%%-*}
			read -r o s c < <(run_rb "${t,,}" "${name##*-P}" "${rops[-1]}")
			bops+=("$o") bsrv+=("$s") bcpu+=("$c")
			;;
		esac
	done
	K=$(median "${kops[@]}") R=$(median "${rops[@]}")
	[ "$name" = GET-P1 ] && GET_P1_MAX=$(python3 -c "print(max($K, $R))")
	if [ ${#bops[@]} -gt 0 ]; then
		B=$(median "${bops[@]}")
		bcol="$(printf '%.0f' "$B") | $(python3 -c "print('%.3f' % ($R / $B))") | $(pct "$(median "${bcpu[@]}")")"
	else
		bcol="| | "
	fi
	printf '| %s | %.0f | %.0f | %.3f | %.0f | %.0f | %s | %s | %s / %s | %s |\n' "$name" "$K" "$R" \
		"$(python3 -c "print($K / $R)")" "$(median "${kp99[@]}")" "$(median "${rp99[@]}")" \
		"$(pct "$(median "${kcpu[@]}")")" "$(pct "$(median "${rcpu[@]}")")" \
		"$(pct "$(median "${klg[@]}")")" "$(pct "$(median "${rlg[@]}")")" "$bcol"
	unset kops rops kp99 rp99 kcpu rcpu klg rlg bops bcpu bsrv
done

echo
echo "Open-loop rate sweep (--ratio 1:10, -c 50; rates are fractions of the better GET-P1 figure, $GET_P1_MAX ops/s):"
echo
echo "| requested ops/s | kvsd ops/s | kvsd p99 us | redis ops/s | redis p99 us |"
echo "|---:|---:|---:|---:|---:|"
: >"$OUT/sweep.dat"
for f in $SWEEP_FRACS; do
	rate=$(python3 -c "print(int($f * $GET_P1_MAX))")
	declare -a ko=() kp=() ro=() rp=()
	for i in $(seq "$RUNS"); do
		for srv in kvsd redis; do
			read -r o p _ _ < <(run_lg sweep "$srv" --duration "$DUR" --ratio 1:10 --rate "$rate")
			if [ "$srv" = kvsd ]; then ko+=("$o") kp+=("$p"); else ro+=("$o") rp+=("$p"); fi
		done
	done
	line="$rate $(median "${ko[@]}") $(median "${kp[@]}") $(median "${ro[@]}") $(median "${rp[@]}")"
	echo "$line" >>"$OUT/sweep.dat"
	# shellcheck disable=SC2086
	printf '| %.0f | %.0f | %.0f | %.0f | %.0f |\n' $line
	unset ko kp ro rp
done
if command -v gnuplot >/dev/null; then
	gnuplot <<-GP
		set terminal pngcairo size 900,600
		set output '$OUT/sweep.png'
		set title 'Open loop: throughput vs p99 (kvsd-loadgen, SET:GET 1:10, 50 connections)'
		set xlabel 'achieved ops/s'
		set ylabel 'p99 latency (us)'
		set logscale y
		set grid
		plot '$OUT/sweep.dat' using 2:3 with linespoints title 'kvsd', \
		     '' using 4:5 with linespoints title 'redis-server'
	GP
	echo
	echo "sweep plot: $OUT/sweep.png"
else
	echo
	echo "gnuplot is not installed: no sweep plot (install gnuplot-nox); data in $OUT/sweep.dat"
fi
