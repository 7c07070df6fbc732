#!/usr/bin/env python3
"""Job queue (issue 14): P producers LPUSH unique jobs, C consumers BRPOP them, for (P, C) in
{1, 8, 50}^2: jobs/s and push-to-pop latency p50/p99, kvsd vs redis-server in the same run,
and kvsd again with work stealing off (--work-stealing no; CONFIG SET work-stealing no at run
time is the same switch).

Each server is started once, pinned with taskset to the server CPUs (default core 0): kvsd
with --threads T (default 2: a consumer parked on one worker is woken by a producer on the
other, which is the cross-worker wake-up the issue is about; work stealing only matters with
more than one worker), redis-server --save '' --appendonly no. The load generator is
build/bench/queue-bench (bench/queue_bench.c: one thread and one hiredis connection per
producer and consumer, job = "P:SEQ:T_NS:" padded to --size bytes, latency = consumer's
CLOCK_MONOTONIC after BRPOP minus the producer's before LPUSH), pinned to the client CPUs
(default core 1). For every cell it runs each server --runs times, alternating which goes
first, and prints medians and the kvsd/redis ratios. A run in which a job was lost, popped
twice, or a command failed stops the script (queue-bench exits 2).

Producers run closed loop (as fast as LPUSH answers), so with P >> C the list grows and the
latency includes the time jobs wait in it: compare servers cell by cell, not cells.

Usage: bench/queue.py [--runs N] [--jobs N] [--pc 1,8,50] [--servers kvsd,kvsd-nosteal,redis]
                      [--kvsd-threads T] [--quick]
Env: KVSD_BIN (build/server/kvsd), REDIS_BIN (redis-server), QUEUE_BIN
     (build/bench/queue-bench), BENCH_CORES ("0,1": server CPU list, client CPU list;
     e.g. "0-1,2-3" on a bigger machine).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_queue(binary, server, cli_core, p, c, jobs, size):
    out = "/tmp/kvsd-queue-bench-%d.json" % os.getpid()
    cmd = ["taskset", "-c", cli_core, binary, "-p", str(server["port"]), "--producers", str(p),
           "--consumers", str(c), "--jobs", str(jobs), "--size", str(size), "--json", out]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit("queue-bench failed against %s (exit %d):\n%s%s"
                 % (server["name"], r.returncode, r.stdout, r.stderr[-2000:]))
    with open(out) as f:
        rep = json.load(f)
    os.unlink(out)
    return rep["jobs_per_sec"], rep["latency"]["p50_us"], rep["latency"]["p99_us"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=200000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--pc", default="1,8,50", help="values of P and of C")
    ap.add_argument("--servers", default="kvsd,kvsd-nosteal,redis")
    ap.add_argument("--kvsd-threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="1 run of 2000 jobs per cell: checks the script, measures nothing")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.jobs = 1, 2000
    values = [int(x) for x in a.pc.split(",")]
    names = a.servers.split(",")
    srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    qb = os.environ.get("QUEUE_BIN", os.path.join(ROOT, "build/bench/queue-bench"))
    kextra = ["--threads", str(a.kvsd_threads), "--maxclients", "10000"]
    spec = {"kvsd": (kvsd, kextra),
            "kvsd-nosteal": (kvsd, kextra + ["--work-stealing", "no"]),
            "redis": (redis, [])}
    print("machine: %s" % benchlib.machine())
    for n in names:
        print("%-13s %s" % (n + ":", benchlib.server_command(spec[n][0], srv_core, spec[n][1])))
    print("client:       taskset -c %s %s -p PORT --producers P --consumers C --jobs %d "
          "--size %d --json FILE" % (cli_core, qb, a.jobs, a.size))
    sys.stdout.flush()
    procs = []
    rows = []
    try:
        servers = [benchlib.start(n, spec[n][0], srv_core, procs, spec[n][1]) for n in names]
        for p in values:
            for c in values:
                res = {n: [] for n in names}
                for run in range(a.runs):
                    order = servers if run % 2 == 0 else servers[::-1]
                    for s in order:
                        res[s["name"]].append(run_queue(qb, s, cli_core, p, c, a.jobs, a.size))
                med = {n: [statistics.median(x[i] for x in res[n]) for i in range(3)]
                       for n in names}
                rows.append((p, c, med))
                print("  P=%d C=%d done" % (p, c), file=sys.stderr, flush=True)
    finally:
        benchlib.stop(procs)

    def ratio(med, i, num, den):
        if num in med and den in med and med[den][i]:
            return "%.2fx" % (med[num][i] / med[den][i])
        return "-"

    head = ["P", "C"]
    for label in ("jobs/s", "p50 us", "p99 us"):
        head += ["%s %s" % (n, label) for n in names]
        if "kvsd" in names and "redis" in names:
            head.append("kvsd/redis " + label.split()[0])
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for p, c, med in rows:
        cols = [str(p), str(c)]
        for i, fmt in ((0, "%.0f"), (1, "%.1f"), (2, "%.1f")):
            cols += [fmt % med[n][i] for n in names]
            if "kvsd" in names and "redis" in names:
                cols.append(ratio(med, i, "kvsd", "redis"))
        print("| " + " | ".join(cols) + " |")
    print("(medians of %d run(s) of %d jobs of %d B per cell; servers on CPU %s, kvsd --threads "
          "%d; clients on CPU %s; jobs/s higher is better, latency lower is better)"
          % (a.runs, a.jobs, a.size, srv_core, a.kvsd_threads, cli_core))


if __name__ == "__main__":
    main()
