#!/usr/bin/env python3
"""One hot sorted set: 50 clients doing ZINCRBY on one 100-member key (issue 13's hot-key
figure), kvsd (--threads 2, every worker contending for the key) vs redis-server, with
kvsd-loadgen's --command; prints the median requests/s of each and kvsd's CAS retries and
hot-key fallbacks per request (INFO `# Kvsd`: put_cas_retries, put_hot_fallbacks).

Nothing is pinned: on a 2-core machine the two kvsd workers and the load generator share the
cores, so the figure shows contention, not per-core speed.

Usage: bench/hotkey.py [--runs N] [--seconds S] [--threads T] [--pipeline P]
Env: KVSD_BIN, REDIS_BIN, LOADGEN_BIN as bench/types.py.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kvsd_counters(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "kvsd"], capture_output=True,
                         text=True).stdout
    d = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
    return int(d.get("put_cas_retries", 0)), int(d.get("put_hot_fallbacks", 0))


def run(server, seconds, pipeline):
    rep = benchlib.loadgen(server, ["--command", "ZINCRBY hot 1 m:__rand_int__", "--keys", 100,
                                    "--dist", "uniform", "-c", 50, "-P", pipeline, "--threads",
                                    1, "--duration", seconds])
    return rep["ops_per_sec"], rep["requests"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pipeline", type=int, default=1)
    a = ap.parse_args()
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    procs = []
    try:
        servers = [benchlib.start("kvsd", kvsd, "0-1", procs, ["--threads", str(a.threads)]),
                   benchlib.start("redis", redis, "0-1", procs)]
        res = {"kvsd": [], "redis": []}
        retries = fallbacks = requests = 0
        for r in range(a.runs):
            for s in (servers if r % 2 == 0 else servers[::-1]):
                before = kvsd_counters(s["port"]) if s["name"] == "kvsd" else None
                rps, n = run(s, a.seconds, a.pipeline)
                res[s["name"]].append(rps)
                if before:
                    after = kvsd_counters(s["port"])
                    retries += after[0] - before[0]
                    fallbacks += after[1] - before[1]
                    requests += n
    finally:
        benchlib.stop(procs)
    k, rd = statistics.median(res["kvsd"]), statistics.median(res["redis"])
    print("hot ZINCRBY, 50 clients, pipeline %d: kvsd (--threads %d) %.0f req/s, redis %.0f "
          "req/s, ratio %.2fx; kvsd CAS retries %.4f and hot-key fallbacks %.4f per request "
          "(%d requests; medians of %d runs)"
          % (a.pipeline, a.threads, k, rd, k / rd, retries / max(requests, 1),
             fallbacks / max(requests, 1), requests, a.runs))


if __name__ == "__main__":
    main()
