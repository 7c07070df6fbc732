#!/bin/sh
# sched-e2e.sh — end-to-end figures for the work-stealing issue (no targets;
# record the output in docs/BENCHMARKS.md with the exact command).
#
# 1. Throughput, conn-assign single, 2 threads: redis-benchmark -c 50 -P 16
#    -t get against kvsd with work stealing on and then off, in the same run,
#    with each process's CPU share (kvsd's and redis-benchmark's CPU-seconds
#    from /proc, divided by wall time).
# 2. CPU cost per request under balanced load (conn-assign round-robin) at a
#    fixed offered rate: kvsd's CPU-seconds (/proc/<pid>/stat utime+stime) /
#    requests served (INFO total_commands_processed), stealing on vs off. The
#    rate comes from kvsd-loadgen --rate when it exists; otherwise from
#    redis-benchmark with few clients and no pipelining, which is closed-loop
#    (not a fixed rate): the script says which it used.
#
# Usage: bench/sched-e2e.sh [BUILD_DIR]   (default: build)
# Environment: N (requests for part 1, default 2000000), SECS (part 2
#   duration, default 10), RATE (part 2 offered rate/s, default 50000),
#   PORT (default: a free port), KVSD_CPUS / CLIENT_CPUS (taskset lists, optional).
set -eu
BUILD=${1:-build}
KVSD=$BUILD/server/kvsd
LOADGEN=$BUILD/loadgen/kvsd-loadgen
N=${N:-2000000}
SECS=${SECS:-10}
RATE=${RATE:-50000}
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
HZ=$(getconf CLK_TCK)
pin_kvsd=""; pin_client=""
[ -n "${KVSD_CPUS:-}" ] && pin_kvsd="taskset -c $KVSD_CPUS"
[ -n "${CLIENT_CPUS:-}" ] && pin_client="taskset -c $CLIENT_CPUS"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }

start_kvsd() { # args: extra flags
	$pin_kvsd "$KVSD" --port "$PORT" --threads 2 --loglevel warning --save '' "$@" >/dev/null &
	KPID=$!
	i=0
	until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "kvsd did not start" >&2; exit 1; }
		sleep 0.05
	done
}
stop_kvsd() { kill "$KPID"; wait "$KPID" 2>/dev/null || true; }

echo "# part 1: conn-assign single, 2 threads, redis-benchmark -c 50 -P 16 -t get -n $N"
for steal in yes no; do
	start_kvsd --conn-assign single --work-stealing "$steal"
	redis-cli -p "$PORT" set key:__rand_int__ x >/dev/null
	k0=$(ticks "$KPID"); t0=$(now)
	$pin_client redis-benchmark -p "$PORT" -c 50 -P 16 -t get -n "$N" -q --csv > /tmp/sched-e2e.$$ &
	BPID=$!
	b=0
	while kill -0 "$BPID" 2>/dev/null; do b=$(ticks "$BPID" 2>/dev/null || echo "$b"); sleep 0.1; done
	wait "$BPID" || true
	t1=$(now); k1=$(ticks "$KPID")
	rps=$(grep '"GET"' /tmp/sched-e2e.$$ | cut -d, -f2 | tr -d '"')
	workers=$(redis-cli -p "$PORT" info kvsd | grep '^worker[0-9]' | tr -d '\r' | tr '\n' ' ')
	awk -v s="$steal" -v r="$rps" -v k0="$k0" -v k1="$k1" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$HZ" -v w="$workers" 'BEGIN {
		wall = t1 - t0;
		printf "stealing=%s get_rps=%s kvsd_cpu=%.0f%% bench_cpu=%.0f%% wall=%.1fs %s\n",
			s, r, 100 * (k1 - k0) / hz / wall, 100 * b / hz / wall, wall, w }'
	stop_kvsd
done
rm -f /tmp/sched-e2e.$$

echo "# part 2: CPU-seconds per request, balanced load (round-robin), $SECS s"
for steal in yes no; do
	start_kvsd --conn-assign round-robin --work-stealing "$steal"
	redis-cli -p "$PORT" set key:__rand_int__ x >/dev/null
	c0=$(redis-cli -p "$PORT" info stats | grep total_commands_processed | cut -d: -f2 | tr -d '\r')
	k0=$(ticks "$KPID")
	if [ -x "$LOADGEN" ] && "$LOADGEN" --help 2>&1 | grep -q -- '--rate'; then
		how="kvsd-loadgen --rate $RATE"
		$pin_client "$LOADGEN" -p "$PORT" -c 8 --rate "$RATE" --duration "$SECS" >/dev/null 2>&1 || true
	else
		how="redis-benchmark -c 4 -P 1 (closed loop: kvsd-loadgen --rate not available)"
		$pin_client timeout "$SECS" redis-benchmark -p "$PORT" -c 4 -t get -n 100000000 -q >/dev/null 2>&1 || true
	fi
	k1=$(ticks "$KPID")
	c1=$(redis-cli -p "$PORT" info stats | grep total_commands_processed | cut -d: -f2 | tr -d '\r')
	awk -v s="$steal" -v k0="$k0" -v k1="$k1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v how="$how" 'BEGIN {
		n = c1 - c0; cpu = (k1 - k0) / hz;
		printf "stealing=%s requests=%d kvsd_cpu_s=%.2f cpu_us_per_request=%.3f load=%s\n",
			s, n, cpu, (n > 0 ? 1e6 * cpu / n : 0), how }'
	stop_kvsd
done
