#!/usr/bin/env bash
# Server-level memory per key: load the same N distinct keys (16-byte keys
# "key:" + 12 digits, 64-byte values) from one generated RESP file through
# `redis-cli --pipe` into kvsd and into redis-server 7.0, and print each
# server's RSS growth per key and the kvsd/redis ratio (issue target: <= 0.6).
#
# With --dbs D the keys are spread over databases 0..D-1 (SELECT before each
# share): issue 12's "memory per key with 16 databases in use".
#
# Usage: bench/mem-per-key.sh [--keys N] [--runs R] [--dbs D]
#        (defaults: 1000000 keys, 3 runs, 1 database)
# Env: KVSD_BIN (default build/server/kvsd), KVSD_ARGS (extra kvsd flags, e.g. "--map urcu").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
keys=1000000
runs=3
dbs=1
while [ $# -gt 0 ]; do
	case "$1" in
	--keys) keys="$2"; shift 2 ;;
	--runs) runs="$2"; shift 2 ;;
	--dbs) dbs="$2"; shift 2 ;;
	*) echo "usage: $0 [--keys N] [--runs R] [--dbs D]" >&2; exit 2 ;;
	esac
done
kvsd="${KVSD_BIN:-build/server/kvsd}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kvsd-mem.XXXXXX")"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

python3 - "$keys" "$dbs" > "$work/load.resp" <<'PY'
import sys
n, dbs = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
val = b"v" * 64
for i in range(n):
    if dbs > 1 and i % ((n + dbs - 1) // dbs) == 0:
        d = b"%d" % (i // ((n + dbs - 1) // dbs))
        out.write(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(d), d))
    k = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$64\r\n" + val + b"\r\n")
PY
selects=$(( dbs > 1 ? dbs : 0 ))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

measure() { # name cmd... -> prints bytes per key
	local port
	port="$(free_port)"
	"$@" --port "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	local before after
	before="$(rss_kb "$pid")"
	redis-cli -p "$port" --pipe < "$work/load.resp" > "$work/pipe.out"
	grep -q "errors: 0, replies: $((keys + selects))" "$work/pipe.out" ||
		{ cat "$work/pipe.out" >&2; exit 1; }
	local total
	total="$(redis-cli -p "$port" info keyspace | sed -n 's/^db[0-9]*:keys=\([0-9]*\),.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')"
	[ "$total" = "$keys" ] || { echo "key count mismatch: $total" >&2; exit 1; }
	sleep 1
	after="$(rss_kb "$pid")"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
	awk -v a="$after" -v b="$before" -v k="$keys" 'BEGIN { printf "%.1f\n", (a - b) * 1024 / k }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

k_all=(); r_all=()
for run in $(seq "$runs"); do
	# shellcheck disable=SC2086
	k_all+=("$(measure "$kvsd" --threads 1 --loglevel warning --save '' ${KVSD_ARGS:-})")
	r_all+=("$(measure redis-server --save '' --appendonly no --loglevel warning)")
	echo "run $run: kvsd ${k_all[-1]} B/key, redis ${r_all[-1]} B/key" >&2
done
k="$(printf '%s\n' "${k_all[@]}" | median)"
r="$(printf '%s\n' "${r_all[@]}" | median)"
printf 'dbs=%d  ' "$dbs"
printf 'keys=%d  kvsd=%s B/key  redis-server=%s B/key  ratio=%.3f  (medians of %d runs; RSS growth)\n' \
	"$keys" "$k" "$r" "$(awk -v a="$k" -v b="$r" 'BEGIN { print a / b }')" "$runs"
