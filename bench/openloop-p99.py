#!/usr/bin/env python3
"""GET latency at a fixed open-loop rate: issue 19's no-regression condition ("GET p99 at a
fixed open-loop rate, 70% of redis-server's maximum, stays <= redis-server's").

kvsd (--threads 1) and redis-server on the server core, prefilled with --keys keys of 64
bytes; kvsd-loadgen (one thread, 50 connections, pipeline 1, uniform GETs) on the client
core. First redis-server's closed-loop GET maximum (median of --runs runs), then, by turns
(the order alternating per round), an open-loop run at --fraction of it against each server:
latency from each request's intended send time (coordinated omission corrected). Prints every
run's p50 / p99 / p99.9 and the medians, and the kvsd/redis p99 ratio of the medians
(<= 1.0: kvsd's p99 is no worse).

Usage: bench/openloop-p99.py [--runs N] [--seconds S] [--fraction F] [--keys N]
Env: KVSD_BIN, REDIS_BIN, LOADGEN_BIN; SERVER_CPU (0), CLIENT_CPU (1).
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")


def loadgen(server, keys, args):
    """One kvsd-loadgen run (GET only, uniform keys) with args added; returns its report."""
    return benchlib.loadgen(server, ["-c", 50, "--threads", 1, "--cpu", CLIENT_CPU, "--ratio",
                                     "0:1", "--dist", "uniform", "--keys", keys] + args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--fraction", type=float, default=0.7)
    ap.add_argument("--keys", type=int, default=100000)
    a = ap.parse_args()
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    print("machine: %s" % benchlib.machine())
    print("servers: %s | %s" % (benchlib.server_command(kvsd, SERVER_CPU),
                                benchlib.server_command(redis, SERVER_CPU)))
    procs = []
    try:
        servers = [benchlib.start("kvsd", kvsd, SERVER_CPU, procs),
                   benchlib.start("redis", redis, SERVER_CPU, procs)]
        for s in servers:   # prefill (not measured)
            loadgen(s, a.keys, ["--prefill", "--requests", "1000"])
        peaks = [loadgen(servers[1], a.keys, ["--duration", 3])["ops_per_sec"]
                 for _ in range(a.runs)]
        peak = statistics.median(peaks)
        rate = int(peak * a.fraction)
        print("redis-server closed-loop GET maximum: %s ops/s, median %.0f; open-loop rate "
              "%.0f%% of it: %d/s, %g s per run (1 s warm-up)"
              % (" ".join("%.0f" % p for p in peaks), peak, 100 * a.fraction, rate, a.seconds))
        res = {"kvsd": [], "redis": []}
        for r in range(a.runs):
            for s in (servers if r % 2 == 0 else servers[::-1]):
                rep = loadgen(s, a.keys, ["--rate", rate, "--warmup", 1, "--duration",
                                          a.seconds])
                res[s["name"]].append(rep)
    finally:
        benchlib.stop(procs)
    med = {}
    for name in ("kvsd", "redis"):
        reps = res[name]
        for key in ("p50_us", "p99_us", "p999_us", "ops_per_sec"):
            med[(name, key)] = statistics.median(x[key] for x in reps)
        print("%-6s p99 us: %s | median p50 %.0f, p99 %.0f, p99.9 %.0f us, %.0f ops/s"
              % (name, " ".join("%.0f" % x["p99_us"] for x in reps), med[(name, "p50_us")],
                 med[(name, "p99_us")], med[(name, "p999_us")], med[(name, "ops_per_sec")]))
    print("kvsd/redis median p99: %.2f (<= 1.00: kvsd's GET p99 no worse at this rate)"
          % (med[("kvsd", "p99_us")] / med[("redis", "p99_us")]))


if __name__ == "__main__":
    main()
