# Shared pieces of the kvsd-vs-redis shell benchmarks (sourced, POSIX sh): a free loopback port
# and a server started the way every comparison starts both servers.
#
#   bench_start kvsd|redis KVSD_BIN [CPU]
#       starts kvsd --threads 1 (--threads $KVSD_THREADS when set) or redis-server --save '' --appendonly no on a free port of
#       127.0.0.1 (pinned to CPU with taskset when given); sets $port and $pid and returns once
#       the server answers PING (exits 1 after 10 s).

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_start() {
	_pin=""
	[ -n "${3:-}" ] && _pin="taskset -c $3"
	port=$(free_port)
	if [ "$1" = kvsd ]; then
		$_pin "$2" --port "$port" --bind 127.0.0.1 --threads "${KVSD_THREADS:-1}" --save '' >/dev/null 2>&1 &
	else
		$_pin redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			>/dev/null 2>&1 &
	fi
	pid=$!
	_i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || { echo "$1 did not start" >&2; exit 1; }
		sleep 0.1
	done
}
