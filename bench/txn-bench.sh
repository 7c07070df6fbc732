#!/bin/sh
# bench/txn-bench.sh — transactions' cost to everyone else, and their own rate.
#
# Starts kvsd (KVSD_BIN, default build/server/kvsd) on a free loopback port and
# runs redis-benchmark (short, bounded runs):
#  1. GET/SET single-key throughput alone;
#  2. the same while a concurrent transactional load runs: MSET of two keys
#     (each a transaction committed by one multi-word CAS) from 4 clients;
#  3. transactions/s: MSET of 2 random keys (low contention) and MSET of 2 hot
#     keys from 8 clients (every commit races), and MSETNX on existing keys
#     (a read-only validation MWCAS).
# Prints requests/s per line. On a machine with few cores the background load
# competes for CPU, so compare (2) with (2b), an equal non-transactional load.
# Usage: bench/txn-bench.sh [requests=100000]
set -eu
N=${1:-100000}
BIN=${KVSD_BIN:-build/server/kvsd}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --port "$PORT" --bind 127.0.0.1 --threads 2 --loglevel warning --save '' &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for i in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
rb() { redis-benchmark -p "$PORT" -q "$@" | tr '\r' '\n' | grep -E 'requests per second'; }
echo "== 1. single-key alone"
rb -t get,set -n "$N" -c 8 -r 100000 -d 64
echo "== 2. single-key with concurrent MSET transactions (4 clients)"
redis-benchmark -p "$PORT" -q -n $((N * 4)) -c 4 -r 100000 MSET k:__rand_int__ v k2:__rand_int__ v >/dev/null 2>&1 &
BG=$!
sleep 0.3
rb -t get,set -n "$N" -c 8 -r 100000 -d 64
kill $BG 2>/dev/null || true; wait $BG 2>/dev/null || true
echo "== 2b. the same with a concurrent non-transactional load (SET, 4 clients): the CPU baseline"
redis-benchmark -p "$PORT" -q -n $((N * 4)) -c 4 -r 100000 SET k:__rand_int__ v >/dev/null 2>&1 &
BG=$!
sleep 0.3
rb -t get,set -n "$N" -c 8 -r 100000 -d 64
kill $BG 2>/dev/null || true; wait $BG 2>/dev/null || true
echo "== 3. transactions/s"
printf 'MSET 2 random keys, 8 clients: '; rb -n "$N" -c 8 -r 100000 MSET a:__rand_int__ v b:__rand_int__ v
printf 'MSET 2 hot keys, 8 clients:    '; rb -n "$N" -c 8 MSET hot1 v hot2 v
printf 'SET 1 hot key, 8 clients:      '; rb -n "$N" -c 8 SET hot1 v
printf 'MSETNX 2 hot keys (validate only), 8 clients: '; rb -n "$N" -c 8 MSETNX hot1 v hot2 v
