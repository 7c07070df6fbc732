#!/usr/bin/env python3
"""kvsd against kvsd: server CPU per request of the writes to one large collection (issue 13's
redis-benchmark tests) for two or more kvsd binaries, in alternating order.

Per round and binary: a fresh kvsd --threads 1 --save '' pinned to core 0, its three keys filled
as bench/types.py fills them (myhash, myset, myzset with --fill members "element:" + 12 digits,
benchlib.fill_big_collections), then for each test
  redis-benchmark -t TEST -r 1000000 -P 16 -c 50 --threads 1 -n REQUESTS   (core 1)
and the server's utime + stime over that run (/proc/PID/stat) divided by REQUESTS. Rounds
alternate the binaries' order. Prints the median microseconds per request of each binary and
each one's ratio to the first (> 1: it spends less), with every round's figure.

CPU per request rather than requests/s: at pipeline 16 a faster kvsd makes redis-benchmark the
bottleneck (types.py prints the server's CPU share for that reason), and a binary's figure is
independent of how fast the client happens to run in its minutes.

Usage: bench/coll-ab.py BIN1,BIN2[,...] [--tests hset,sadd,spop,zadd,zpopmin] [--rounds N]
       [--requests N] [--fill N]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def one_round(binary, tests, requests, nfill):
    procs = []
    try:
        srv = benchlib.start(os.path.basename(binary), binary, "0", procs)
        benchlib.fill_big_collections(srv["port"], nfill).close()
        out = {}
        for t in tests:
            c0 = benchlib.cpu_seconds(srv["proc"].pid)
            subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(srv["port"]),
                            "-t", t, "-r", "1000000", "-P", "16", "-c", "50", "--threads", "1",
                            "-n", str(requests), "-q"], capture_output=True, check=True)
            out[t] = 1e6 * (benchlib.cpu_seconds(srv["proc"].pid) - c0) / requests
        return out
    finally:
        benchlib.stop(procs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bins")
    ap.add_argument("--tests", default="hset,sadd,spop,zadd,zpopmin")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=500000)
    ap.add_argument("--fill", type=int, default=2000000)
    a = ap.parse_args()
    bins = a.bins.split(",")
    tests = a.tests.split(",")
    if any(t in ("spop", "zpopmin") for t in tests) and a.requests >= a.fill:
        sys.exit("--requests must stay under --fill (a pop run would empty its key)")
    print(benchlib.machine())
    res = {b: {t: [] for t in tests} for b in bins}
    for r in range(a.rounds):
        for b in (bins if r % 2 == 0 else bins[::-1]):
            for t, us in one_round(b, tests, a.requests, a.fill).items():
                res[b][t].append(us)
    print("| test | " + " | ".join("%s us" % os.path.basename(b) for b in bins) + " | " +
          " | ".join("%s / %s" % (os.path.basename(bins[0]), os.path.basename(b))
                     for b in bins[1:]) + " | rounds |")
    print("|---|" + "---:|" * (2 * len(bins) - 1) + "---|")
    for t in tests:
        med = [statistics.median(res[b][t]) for b in bins]
        rounds = "; ".join(",".join("%.2f" % x for x in res[b][t]) for b in bins)
        print("| %s | %s | %s | %s |" % (
            t.upper(), " | ".join("%.2f" % m for m in med),
            " | ".join("%.2fx" % (med[0] / m) for m in med[1:]), rounds))
    print("(kvsd CPU microseconds per request, medians of %d rounds, %d requests, pipeline 16, "
          "50 connections; server core 0, client core 1)" % (a.rounds, a.requests))


if __name__ == "__main__":
    main()
