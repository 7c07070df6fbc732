# shellcheck shell=bash
# Shared by the redis-cli integration tests: start the server under test on a free loopback port,
# wait until it answers PING, compare outputs, and stop it with SIGTERM checking that it exits 0.
#
# Environment: KVSD_BIN (server binary; /usr/bin/redis-server also works, to check the tests
# themselves), KVSD_EXTRA_ARGS (more server flags, word-split), KVSD_SRC (repo root, unused here).
# Each test sources this, calls cli_start, runs redis-cli against "$PORT", calls cli_stop and
# cli_pass. Any failure prints what differed and exits 1; the EXIT trap kills a left-over server.
set -euo pipefail

: "${KVSD_BIN:?KVSD_BIN must point at the server binary}"
CLI_TMP="$(mktemp -d "${TMPDIR:-/tmp}/kvsd-cli.XXXXXX")"
CLI_LOG="$CLI_TMP/server.log"
SERVER_PID=""
PORT=""

cli_cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$CLI_TMP"
}
trap cli_cleanup EXIT

cli_fail() {
	echo "FAIL: $*" >&2
	if [ -s "$CLI_LOG" ]; then
		echo "---- server output (last 30 lines) ----" >&2
		tail -n 30 "$CLI_LOG" >&2
	fi
	exit 1
}

cli_pass() {
	echo "PASS: $(basename "$0")"
}

# cli_free_port: print a loopback TCP port that nothing listens on right now.
cli_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# cli_port_open PORT: exit 0 when something accepts connections on 127.0.0.1:PORT.
cli_port_open() {
	python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
s.close()' "$1"
}

# rcli ARGS...: redis-cli against the server under test; stdin is /dev/null unless redirected.
rcli() {
	redis-cli -p "$PORT" "$@"
}

# cli_start: start the server on a free port (up to 3 ports, in case one was taken between
# choosing it and binding it) and wait up to 10 s until it answers PING. The PONG counts only
# when the server answering is ours (INFO process_id): another test's server may have bound
# the port first, answering while ours exits on 'Address already in use'.
cli_start() {
	local try args
	[ -x "$KVSD_BIN" ] || cli_fail "KVSD_BIN=$KVSD_BIN is not an executable (build it first)"
	for try in 1 2 3; do
		PORT="$(cli_free_port)"
		args=(--port "$PORT" --bind 127.0.0.1 --loglevel warning)
		if [ "$(basename "$KVSD_BIN")" = redis-server ]; then
			args+=(--save '' --appendonly no)
		else
			args+=(--threads 2 --save '')
		fi
		# shellcheck disable=SC2206 # KVSD_EXTRA_ARGS is a list of flags, split on purpose.
		args+=(${KVSD_EXTRA_ARGS:-})
		"$KVSD_BIN" "${args[@]}" >"$CLI_LOG" 2>&1 </dev/null &
		SERVER_PID=$!
		for _ in $(seq 100); do
			if ! kill -0 "$SERVER_PID" 2>/dev/null; then
				break
			fi
			if [ "$(timeout 5 redis-cli -p "$PORT" ping 2>/dev/null </dev/null)" = PONG ]; then
				[ "$(timeout 5 redis-cli -p "$PORT" info server 2>/dev/null </dev/null |
					tr -d '\r' | sed -n 's/^process_id://p')" = "$SERVER_PID" ] && return 0
				echo "port $PORT answers, but not as our server (pid $SERVER_PID)" >&2
				kill -KILL "$SERVER_PID" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
		if kill -0 "$SERVER_PID" 2>/dev/null; then
			cli_fail "server did not answer PING on port $PORT within 10 s"
		fi
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
		echo "server exited at start-up on port $PORT (attempt $try):" >&2
		tail -n 5 "$CLI_LOG" >&2
	done
	cli_fail "could not start $KVSD_BIN"
}

# cli_stop: SIGTERM the server; it must exit with status 0 within 10 s.
cli_stop() {
	local rc=0
	[ -n "$SERVER_PID" ] || cli_fail "cli_stop: no server running"
	kill -TERM "$SERVER_PID"
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		cli_fail "server still running 10 s after SIGTERM"
	fi
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=""
	[ "$rc" -eq 0 ] || cli_fail "server exited with status $rc after SIGTERM (want 0)"
}

# expect_eq WHAT EXPECTED ACTUAL: fail with both texts when they differ.
expect_eq() {
	if [ "$2" != "$3" ]; then
		cli_fail "$1:
---- expected ----
$2
---- actual ----
$3
------------------"
	fi
}

# expect_out WHAT EXPECTED ARGS...: run `rcli ARGS...` and compare its whole output.
expect_out() {
	local what="$1" want="$2" got
	shift 2
	got="$(rcli "$@" </dev/null 2>&1)" || cli_fail "$what: redis-cli $* exited non-zero: $got"
	expect_eq "$what (redis-cli $*)" "$want" "$got"
}

# expect_ttl WHAT PREFIX ARGS...: a TTL of a key given 100 s reads PREFIX100, or PREFIX99 once
# more than 500 ms passed since (TTL rounds the milliseconds left): each redis-cli is a process
# of its own, and on a loaded machine two of them can start that far apart.
expect_ttl() {
	local what="$1" prefix="$2" got
	shift 2
	got="$(rcli "$@" </dev/null 2>&1)" || cli_fail "$what: redis-cli $* exited non-zero: $got"
	if [ "$got" != "${prefix}99" ]; then
		expect_eq "$what (redis-cli $*)" "${prefix}100" "$got"
	fi
}
