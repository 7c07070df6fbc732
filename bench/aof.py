#!/usr/bin/env python3
"""SET throughput with the AOF on, kvsd against redis-server with the same appendfsync
setting, in the same run (issue 15's "SET throughput per core with appendfsync always /
everysec / no").

Each server runs alone on core 0 (kvsd --threads 1), with appendonly yes, the given
appendfsync and a fresh directory; redis-benchmark runs on core 1 (-t set, 50 clients,
pipeline 1, random keys from -r 100000, 64-byte values). The servers take turns, run by run;
the table shows the median requests/s of the runs and kvsd's ratio to redis-server.

Usage: python3 bench/aof.py [--requests N] [--runs R] [--modes always,everysec,no]
                            [--kvsd BIN] [--redis BIN] [--kvsd-args "ARGS"]

--kvsd-args: more kvsd arguments, e.g. "--aof-group-wait-us 0" to turn the group wait of
appendfsync always off (an A/B of the same binary).
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_run(name, binary, mode, requests, more=()):
    d = tempfile.mkdtemp(prefix="bench-aof-")
    procs = []
    try:
        extra = ["--dir", d, "--appendonly", "yes", "--appendfsync", mode] + list(more)
        srv = benchlib.start(name, binary, "0", procs, extra)
        rps, srv_cpu, _ = benchlib.redis_benchmark(
            srv, "1", ["-t", "set", "-c", "50", "-P", "1", "-r", "100000", "-d", "64",
                       "-n", str(requests)], "SET")
        return rps, srv_cpu
    finally:
        benchlib.stop(procs)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--modes", default="always,everysec,no")
    ap.add_argument("--kvsd", default=os.path.join(ROOT, "build", "server", "kvsd"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--kvsd-args", default="", help="more kvsd arguments")
    a = ap.parse_args()
    more = a.kvsd_args.split()
    print("machine: %s" % benchlib.machine())
    print("kvsd:  %s" % benchlib.server_command(a.kvsd, "0", ["--appendonly", "yes"] + more))
    print("redis: %s" % benchlib.server_command(a.redis, "0", ["--appendonly", "yes"]))
    print("client: taskset -c 1 redis-benchmark -t set -c 50 -P 1 -r 100000 -d 64 -n %d"
          % a.requests)
    print("%-9s %14s %14s %7s   (medians of %d runs; server CPU share)"
          % ("fsync", "kvsd SET/s", "redis SET/s", "ratio", a.runs))
    for mode in a.modes.split(","):
        km, rm, kc, rc = benchlib.alternate(
            a.runs, lambda: one_run("kvsd", a.kvsd, mode, a.requests, more),
            lambda: one_run("redis-server", a.redis, mode, a.requests))
        print("%-9s %14.0f %14.0f %6.2fx   (cpu %.2f / %.2f)"
              % (mode, km, rm, km / rm, kc, rc))


if __name__ == "__main__":
    main()
