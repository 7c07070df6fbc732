#!/usr/bin/env python3
"""Hashes, sets and sorted sets per core: kvsd vs redis-server 7.0 in the same run.

Both servers run pinned to core 0 (kvsd --threads 1); the client is pinned to core 1. Each
server is filled first with the keys redis-benchmark's tests use (myhash, myset, myzset with
--fill members "element:" + 12 digits, so SPOP/ZPOPMIN never run dry and writes hit large
collections), and with --small-keys small collections for the read tests. Then, alternating
which server goes first, --runs runs of:
  redis-benchmark -t hset,sadd,spop,zadd,zpopmin -r 1000000 -P 16 -c 50 --threads 1
(SPOP and ZPOPMIN refuse to run when --requests x --runs would empty their key: the fill is
the members they pop, and a run against an empty key measures nothing.)
and, with kvsd-loadgen's --command templates (same load generator against both servers):
  HGET, SISMEMBER, ZSCORE, ZRANGE 0 9 WITHSCORES, ZINCRBY.
It prints the median requests/s of each server, the ratio, and each side's CPU share.

Usage: bench/types.py [--runs N] [--requests N] [--fill N] [--quick]
Env: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
     LOADGEN_BIN (default build/loadgen/kvsd-loadgen), BENCH_CORES (default "0,1").
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = 50


def fill(port, nfill, nsmall):
    """Pipelined fill: the benchmark's three big keys and nsmall small ones of each type."""
    c = benchlib.fill_big_collections(port, nfill)
    for base in range(0, nsmall, 500):
        cmds = []
        for i in range(base, min(nsmall, base + 500)):
            cmds.append([b"HSET", b"h:%012d" % i] +
                        [x for j in range(10) for x in (b"f%d" % j, b"v%d" % j)])
            cmds.append([b"SADD", b"s:%012d" % i] + [b"%d" % j for j in range(5)])
            cmds.append([b"ZADD", b"z:%012d" % i] +
                        [x for j in range(20) for x in (b"%d" % j, b"m%d" % j)])
        benchlib.send_pipeline(c, cmds)
    c.close()


LOADGEN = [
    ("HGET", "HGET h:__rand_int__ f3"),
    ("SISMEMBER", "SISMEMBER s:__rand_int__ 3"),
    ("ZSCORE", "ZSCORE z:__rand_int__ m7"),
    ("ZRANGE 0 9 WITHSCORES", "ZRANGE z:__rand_int__ 0 9 WITHSCORES"),
    ("ZINCRBY", "ZINCRBY z:__rand_int__ 1 m__rand_int__"),
]


def loadgen(server, core, template, keys, seconds):
    binary = os.environ.get("LOADGEN_BIN", os.path.join(ROOT, "build/loadgen/kvsd-loadgen"))
    out = "/tmp/kvsd-types-bench-%d.json" % os.getpid()
    cmd = ["taskset", "-c", core, binary, "-p", str(server["port"]), "--command", template,
           "--keys", str(keys), "-c", str(CLIENTS), "-P", "16", "--threads", "1",
           "--duration", str(seconds), "--json", out]
    pid = server["proc"].pid
    s0, t0 = benchlib.cpu_seconds(pid), time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    s1 = benchlib.cpu_seconds(pid)
    if p.returncode != 0:
        sys.exit("kvsd-loadgen failed against %s: %s" % (server["name"], p.stderr[-500:]))
    with open(out) as f:
        rep = json.load(f)
    os.unlink(out)
    if rep["errors"]:
        sys.exit("kvsd-loadgen saw %d errors against %s: %r"
                 % (rep["errors"], server["name"], rep.get("error_texts")))
    return rep["ops_per_sec"], (s1 - s0) / wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2000000)
    ap.add_argument("--fill", type=int, default=2000000)
    ap.add_argument("--small-keys", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--only", default="",
                    help="comma-separated subset of hset,sadd,spop,zadd,zpopmin and the "
                         "loadgen names (HGET, SISMEMBER, ZSCORE, ZRANGE, ZINCRBY)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    only = set(x.strip().lower() for x in a.only.split(",") if x.strip())
    if a.quick:
        a.runs, a.requests, a.fill, a.small_keys, a.seconds = 1, 50000, 20000, 1000, 1
    srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    procs = []
    try:
        servers = [benchlib.start("kvsd", kvsd, srv_core, procs),
                   benchlib.start("redis", redis, srv_core, procs)]
        for s in servers:
            fill(s["port"], a.fill, a.small_keys)
        rows = []
        for test in ("hset", "sadd", "spop", "zadd", "zpopmin"):
            if only and test not in only:
                continue
            if test in ("spop", "zpopmin") and a.requests * a.runs > a.fill:
                sys.exit("%s would empty its key: --requests x --runs must stay under --fill"
                         % test)
            res = {"kvsd": [], "redis": []}
            for run in range(a.runs):
                for s in (servers if run % 2 == 0 else servers[::-1]):
                    res[s["name"]].append(benchlib.redis_benchmark(
                        s, cli_core, ["-t", test, "-n", a.requests, "-c", CLIENTS, "-P", 16,
                                      "--threads", 1, "-r", 1000000], test))
            rows.append(("redis-benchmark " + test.upper(), res))
            print("  %s done" % test, file=sys.stderr, flush=True)
        for name, template in LOADGEN:
            if only and name.split()[0].lower() not in only:
                continue
            res = {"kvsd": [], "redis": []}
            for run in range(a.runs):
                for s in (servers if run % 2 == 0 else servers[::-1]):
                    res[s["name"]].append(loadgen(s, cli_core, template, a.small_keys,
                                                  a.seconds))
            rows.append(("kvsd-loadgen " + name, res))
            print("  %s done" % name, file=sys.stderr, flush=True)
    finally:
        benchlib.stop(procs)
    print("| test | kvsd req/s | redis req/s | kvsd/redis | kvsd CPU | redis CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, res in rows:
        k = [statistics.median(x[i] for x in res["kvsd"]) for i in range(2)]
        r = [statistics.median(x[i] for x in res["redis"]) for i in range(2)]
        print("| %s | %.0f | %.0f | %.2fx | %.0f%% | %.0f%% |"
              % (name, k[0], r[0], k[0] / r[0], 100 * k[1], 100 * r[1]))
    print("(medians of %d run(s), pipeline 16, %d connections; server on core %s, client on "
          "core %s)" % (a.runs, CLIENTS, srv_core, cli_core))


if __name__ == "__main__":
    main()
