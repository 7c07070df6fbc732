#!/usr/bin/env bash
# SIGTERM stops the server cleanly, with clients connected: exit status 0, and the port closed
# afterwards. Also SIGINT, as Ctrl-C in a terminal sends it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for sig in TERM INT; do
	cli_start
	expect_out "SET before SIG$sig" "OK" SET k v
	# Idle clients connected while the signal arrives must not keep the server alive.
	python3 - "$PORT" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(3)]
socks[0].sendall(b"*1\r\n$4\r\nPING\r\n")
time.sleep(15)
PY
	holder=$!
	sleep 0.3
	port="$PORT"
	if [ "$sig" = TERM ]; then
		cli_stop
	else
		kill -INT "$SERVER_PID"
		for _ in $(seq 100); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$SERVER_PID" 2>/dev/null && cli_fail "server still running 10 s after SIGINT"
		rc=0
		wait "$SERVER_PID" || rc=$?
		SERVER_PID=""
		[ "$rc" -eq 0 ] || cli_fail "server exited with status $rc after SIGINT (want 0)"
	fi
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	if cli_port_open "$port"; then
		cli_fail "port $port still accepts connections after SIG$sig"
	fi
	out="$(redis-cli -p "$port" PING </dev/null 2>&1 || true)"
	case "$out" in
	*"Connection refused"*) ;;
	*) cli_fail "redis-cli PING after SIG$sig: want 'Connection refused', got: $out" ;;
	esac
done
cli_pass
