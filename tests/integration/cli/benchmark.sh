#!/usr/bin/env bash
# redis-benchmark against the server: its start-up probes (CONFIG GET save / appendonly), then
# SET, GET, INCR and MSET, plain and pipelined, must run without an error reply or a non-zero
# exit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

run_bench() {
	local out rc=0 t
	out="$(redis-benchmark -p "$PORT" "$@" </dev/null 2>&1)" || rc=$?
	[ "$rc" -eq 0 ] || cli_fail "redis-benchmark $* exited with status $rc:
$out"
	if printf '%s\n' "$out" | grep -E -q 'ERR|Error|error'; then
		cli_fail "redis-benchmark $* printed an error:
$out"
	fi
	# redis-benchmark warns (and goes on) when CONFIG GET save / appendonly do not each answer a
	# [name, value] pair; Redis answers them. A note, not a failure.
	if printf '%s\n' "$out" | grep -q 'WARNING'; then
		echo "note: redis-benchmark $*: $(printf '%s\n' "$out" | grep WARNING | head -n1)"
	fi
	for t in SET GET INCR 'MSET \(10 keys\)'; do
		printf '%s\n' "$out" | tr '\r' '\n' | grep -E -q "^$t: [0-9.]+ requests per second" ||
			cli_fail "redis-benchmark $*: no '$t' result line in:
$out"
	done
	printf '%s\n' "$out" | tr '\r' '\n' | grep 'requests per second' | sed 's/^/  /'
}

run_bench -t set,get,incr,mset -n 2000 -q
run_bench -t set,get,incr,mset -n 2000 -q -P 16 -c 20 -r 1000 -d 100
expect_out "server still answers" "PONG" PING

cli_stop
cli_pass
