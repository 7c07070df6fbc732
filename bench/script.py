#!/usr/bin/env python3
"""EVALSHA per core against redis-server in the same run (issue 16's figures).

Three scripts, each loaded with SCRIPT LOAD on both servers, then driven by redis-benchmark
(core 1, 50 clients, pipeline 16, keys from -r 100000) against one server at a time (core 0,
kvsd --threads 1):
  get      return redis.call('GET', KEYS[1])
  unlock   compare-and-delete lock release (the key never holds the token: GET + compare)
  bucket   a token bucket over two keys: HMGET, refill, HSET, PEXPIRE
The servers take turns, run by run; the table shows medians and kvsd's ratio.

--threads2: the scaling figures instead. Both servers and the client are unpinned on cores
0,1 (taskset -c 0,1), kvsd with --threads 2, and each script runs twice: over disjoint keys
(-r 100000, as above) and on one hot key (every EVALSHA names the same key or keys, so every
kvsd script conflicts with the other worker's). redis-server runs the same on its one thread.

Usage: python3 bench/script.py [--requests N] [--runs R] [--kvsd BIN] [--redis BIN] [--threads2]
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPTS = {
    "get": ("return redis.call('GET', KEYS[1])", 1, []),
    "unlock": ("if redis.call('GET', KEYS[1]) == ARGV[1] then "
               "return redis.call('DEL', KEYS[1]) else return 0 end", 1, ["token"]),
    "bucket": ("local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts') "
               "local now = tonumber(ARGV[1]) local tokens = tonumber(b[1]) or 10 "
               "local ts = tonumber(b[2]) or now "
               "tokens = math.min(10, tokens + (now - ts) / 100) "
               "local ok = 0 if tokens >= 1 then tokens = tokens - 1 ok = 1 end "
               "redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now) "
               "redis.call('PEXPIRE', KEYS[1], 60000) "
               "redis.call('INCR', KEYS[2]) return ok", 2, ["1000"]),
}


def one_run(name, binary, which, requests, threads2=False, hot=False):
    procs = []
    try:
        if threads2:
            # unpinned on both cores; kvsd's later --threads overrides start()'s 1
            extra = ["--threads", "2"] if name == "kvsd" else []
            srv = benchlib.start(name, binary, "0,1", procs, extra)
        else:
            srv = benchlib.start(name, binary, "0", procs)
        body, nkeys, args = SCRIPTS[which]
        sha = benchlib.command(srv["port"], "SCRIPT", "LOAD", body).split(b"\r\n")[1].decode()
        if hot:
            keys = ["k:hot", "n:hot"][:nkeys]
        else:
            keys = ["k:__rand_int__", "n:__rand_int__"][:nkeys]
        cmd = ["EVALSHA", sha, str(nkeys)] + keys + args
        # redis-benchmark names the row of an arbitrary command by the command line
        rps, cpu, _ = benchlib.redis_benchmark(
            srv, "0,1" if threads2 else "1",
            ["-c", "50", "-P", "16", "-r", "100000", "-n", str(requests)] + cmd,
            " ".join(cmd))
        return rps, cpu
    finally:
        benchlib.stop(procs)


def scaling(a):
    """--threads2: disjoint keys vs one hot key, kvsd --threads 2 vs redis-server, 2 cores."""
    print("machine: %s" % benchlib.machine())
    print("kvsd:  %s" % benchlib.server_command(a.kvsd, "0,1", ["--threads", "2"])
          .replace("--threads 1 ", ""))
    print("redis: %s" % benchlib.server_command(a.redis, "0,1"))
    print("client: taskset -c 0,1 redis-benchmark -c 50 -P 16 -r 100000 -n %d EVALSHA <sha> "
          "<k:__rand_int__ | k:hot> ..." % a.requests)
    print("%-8s %-9s %14s %14s %7s   (medians of %d runs; server CPU share, of 2.0)"
          % ("script", "keys", "kvsd/s", "redis/s", "ratio", a.runs))
    for which in a.scripts.split(","):
        rows = {}
        for hot in (False, True):
            km, rm, kc, rc = benchlib.alternate(
                a.runs, lambda: one_run("kvsd", a.kvsd, which, a.requests, True, hot),
                lambda: one_run("redis-server", a.redis, which, a.requests, True, hot))
            rows[hot] = km
            print("%-8s %-9s %14.0f %14.0f %6.2fx   (cpu %.2f / %.2f)"
                  % (which, "hot" if hot else "disjoint", km, rm, km / rm, kc, rc))
        print("%-8s kvsd hot/disjoint: %.2fx" % (which, rows[True] / rows[False]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scripts", default="get,unlock,bucket")
    ap.add_argument("--kvsd", default=os.path.join(ROOT, "build", "server", "kvsd"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--threads2", action="store_true",
                    help="kvsd --threads 2 vs redis-server on 2 cores, disjoint keys vs one hot key")
    a = ap.parse_args()
    if a.threads2:
        scaling(a)
        return
    print("machine: %s" % benchlib.machine())
    print("kvsd:  %s" % benchlib.server_command(a.kvsd, "0"))
    print("redis: %s" % benchlib.server_command(a.redis, "0"))
    print("client: taskset -c 1 redis-benchmark -c 50 -P 16 -r 100000 -n %d EVALSHA <sha> ..."
          % a.requests)
    print("%-8s %14s %14s %7s   (medians of %d runs; server CPU share)"
          % ("script", "kvsd/s", "redis/s", "ratio", a.runs))
    for which in a.scripts.split(","):
        km, rm, kc, rc = benchlib.alternate(
            a.runs, lambda: one_run("kvsd", a.kvsd, which, a.requests),
            lambda: one_run("redis-server", a.redis, which, a.requests))
        print("%-8s %14.0f %14.0f %6.2fx   (cpu %.2f / %.2f)"
              % (which, km, rm, km / rm, kc, rc))


if __name__ == "__main__":
    main()
