#!/usr/bin/env bash
# A three-node kvsd cluster on 127.0.0.1 for trying Redis Cluster clients (docs/CLUSTER.md).
#
#   scripts/cluster.sh start BASEPORT   start nodes on BASEPORT, BASEPORT+1, BASEPORT+2 from
#                                       conf/cluster-example.conf and conf/cluster-nodes.example
#                                       (its ports 30001-30003 become BASEPORT..BASEPORT+2); builds
#                                       kvsd first if needed; returns once all three answer PING
#   scripts/cluster.sh stop BASEPORT    stop exactly those three (by the pids recorded at start)
#
# BASEPORT <= 55525: Redis Cluster reserves port+10000 for its bus, which clients see in CLUSTER
# NODES. Each node's log, pidfile and the generated slot map are in the run directory,
# $KVSD_CLUSTER_DIR or else <build dir>/cluster-BASEPORT. KVSD_BIN overrides the binary.
# Then: redis-cli -c -p BASEPORT.
#
# Exit status of start: 0 up; 3 when a port was taken (the node could not bind it, or the server
# answering on it is not the node started: another process bound it after the caller found it
# free), the nodes started are stopped again and the caller may retry on other ports (the tests'
# helpers do, tests/integration/py/clusterlib.py); 1 any other failure.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	printf 'usage: %s start|stop BASEPORT   (1 <= BASEPORT <= 55525)\n' "$0" >&2
	exit 2
}

[ $# -eq 2 ] || usage
action="$1"
base="$2"
case "$base" in
'' | *[!0-9]*) kvsd_die "BASEPORT must be a number, not '$base'" ;;
esac
base=$((10#$base))
if [ "$base" -lt 1 ] || [ "$base" -gt 55525 ]; then
	kvsd_die "BASEPORT must be 1..55525 (Redis Cluster uses port+10000 for its bus), not $base"
fi
ports=("$base" $((base + 1)) $((base + 2)))
rundir="${KVSD_CLUSTER_DIR:-$KVSD_ROOT/$KVSD_BUILD/cluster-$base}"
bin="${KVSD_BIN:-$KVSD_ROOT/$KVSD_BUILD/server/kvsd}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac

# alive PIDFILE PORT: the pid in PIDFILE when it is a running kvsd started for PORT
alive() {
	local pid
	[ -r "$1" ] || return 1
	pid="$(cat "$1")"
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--port $2 " || return 1
	printf '%s' "$pid"
}

stop_one() {
	local port="$1" pid
	if ! pid="$(alive "$rundir/$port.pid" "$port")"; then
		rm -f "$rundir/$port.pid"
		return 0
	fi
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kvsd_say "node $port (pid $pid) did not stop in 10 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$rundir/$port.pid"
	kvsd_say "stopped node 127.0.0.1:$port (pid $pid)"
}

start() {
	if [ ! -x "$bin" ]; then
		kvsd_say "building kvsd first"
		bash "$KVSD_ROOT/scripts/setup.sh"
	fi
	mkdir -p "$rundir"
	for p in "${ports[@]}"; do
		if pid="$(alive "$rundir/$p.pid" "$p")"; then
			kvsd_die "node 127.0.0.1:$p already runs (pid $pid): scripts/cluster.sh stop $base"
		fi
	done
	# the example map with its ports 30001..30003 moved to BASEPORT..BASEPORT+2
	sed -e "s/127\.0\.0\.1:30001 /127.0.0.1:${ports[0]} /" \
		-e "s/127\.0\.0\.1:30002 /127.0.0.1:${ports[1]} /" \
		-e "s/127\.0\.0\.1:30003 /127.0.0.1:${ports[2]} /" \
		"$KVSD_ROOT/conf/cluster-nodes.example" >"$rundir/nodes.conf"
	# where this start's output begins in each node's (appended) .out and .log
	local -A mark
	for p in "${ports[@]}"; do
		mark[$p.out]=$(($(stat -c %s "$rundir/$p.out" 2>/dev/null || echo 0) + 1))
		mark[$p.log]=$(($(stat -c %s "$rundir/$p.log" 2>/dev/null || echo 0) + 1))
	done
	for p in "${ports[@]}"; do
		(cd "$rundir" && exec "$bin" "$KVSD_ROOT/conf/cluster-example.conf" --port "$p" \
			--cluster-config-file "$rundir/nodes.conf" --logfile "$rundir/$p.log" \
			</dev/null >>"$rundir/$p.out" 2>&1) &
		echo $! >"$rundir/$p.pid"
	done
	for p in "${ports[@]}"; do
		local ok=0 pid answering
		pid="$(cat "$rundir/$p.pid")"
		for _ in $(seq 200); do
			# kill -0, not alive(): until the subshell has exec'd kvsd its cmdline is bash's,
			# without --port, and alive() would call a node that is still starting dead
			kill -0 "$pid" 2>/dev/null || break
			# timeout: whatever took the port may accept and never answer
			if [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null)" = PONG ]; then
				ok=1
				break
			fi
			sleep 0.05
		done
		if [ "$ok" -eq 1 ]; then
			# the PONG may come from another process that bound the port first (ours
			# then exits on EADDRINUSE): the node counts only if it is our child
			answering="$(timeout 5 redis-cli -h 127.0.0.1 -p "$p" info server 2>/dev/null |
				tr -d '\r' | sed -n 's/^process_id://p')"
			if [ "$answering" != "$pid" ]; then
				printf 'error: port %s is taken: pid %s answers on it, not node pid %s\n' \
					"$p" "${answering:-?}" "$pid" >&2
				for q in "${ports[@]}"; do stop_one "$q" >/dev/null; done
				exit 3
			fi
			continue
		fi
		for q in "${ports[@]}"; do stop_one "$q" >/dev/null; done
		if { tail -c "+${mark[$p.out]}" "$rundir/$p.out"; tail -c "+${mark[$p.log]}" "$rundir/$p.log"; } \
			2>/dev/null | grep 'Address already in use' >/dev/null; then
			printf 'error: port %s is taken: node 127.0.0.1:%s could not bind it\n' "$p" "$p" >&2
			exit 3
		fi
		printf 'error: node 127.0.0.1:%s did not start; its output:\n' "$p" >&2
		cat "$rundir/$p.out" "$rundir/$p.log" >&2 2>/dev/null || true
		exit 1
	done
	kvsd_say "cluster up: 127.0.0.1:${ports[0]}-${ports[2]} (logs in $rundir); try: redis-cli -c -p ${ports[0]}"
}

case "$action" in
start) start ;;
stop) for p in "${ports[@]}"; do stop_one "$p"; done ;;
*) usage ;;
esac
