#!/usr/bin/env python3
"""steal-e2e.py — the end-to-end case where work stealing should win: one connection floods one
worker with pipelined heavy commands while other clients on the same worker wait.

kvsd runs with --threads 2 --conn-assign single (every connection is owned by worker 0, whose
event loop sees all readiness). The flooder is kvsd-loadgen -c 1 -P DEPTH, closed loop, sending
SINTERCARD 2 s1 s2 over two SETSIZE-member sets (tens of microseconds each, a one-line reply).
The waiting clients are kvsd-loadgen -c CLIENTS in open loop at RATE PING/s in total (latency
from the intended send time, so a stall is not hidden by coordinated omission). Their p99 is
the figure: stealing on vs off, kvsd restarted for each, modes alternating, medians of --runs.
It also prints the flooder's throughput and the workers' steals, parks and guest polls (INFO
kvsd) per waiting request, and the floods handed to a parked worker (hand-offs), so a result
can be explained.

Usage: bench/steal-e2e.py [--build DIR] [--runs N] [--duration S] [--depth P] [--clients C]
                          [--rate R] [--setsize N] [--budget N] [--kvsd-arg=ARG ...]
--kvsd-arg adds one kvsd argument to both modes (repeat it: --kvsd-arg=--io-uring --kvsd-arg=no
runs both without the ring, for an A/B against the default).
The rate must stay well below what the waiting clients can get through: each connection has one
PING outstanding, and if it is answered only every few milliseconds, 2000/s over 4 connections
builds a backlog that the open-loop latency then reports as seconds.

What it shows (docs/BENCHMARKS.md, 2026-12-07): with stealing on, the owner of every
connection hands the flood to the parked worker 1 the first time it yields its budget
(net/worker.c: worker_yield_home), worker 1 keeps it, and the waiting clients' p99 is ~0.2 ms
against ~1.3 ms with stealing off (there worker 0 polls its loop before each ~1 ms flood
slice; before that poll, ~4.6 ms). Before the hand-off the flood moved only when a thief
happened to find it queued, which made runs bimodal. With --kvsd-arg=--conn-assign
--kvsd-arg=round-robin: ~1.3 ms on against 1.2-5 ms off.

A benchmark, not a test: no assertion on the figures (it exits 1 only if a run fails or the
waiting clients see errors). The lead runs the real figures; small runs check that it works:
    bench/steal-e2e.py --runs 1 --duration 1
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def info_workers(port):
    """{'worker0': {'tasks': .., 'steals': ..}, ...} from INFO kvsd."""
    out = {}
    for line in benchlib.info_text(port, "kvsd").splitlines():
        if line.startswith("worker") and line[6:7].isdigit() and ":" in line:
            name, rest = line.split(":", 1)
            if not name[6:].isdigit():
                continue  # worker<i>_io: system calls, not the scheduler's line
            out[name] = {k: int(v) for k, v in (kv.split("=") for kv in rest.split(","))}
    return out


def fill(port, setsize):
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    for name, step in ((b"s1", 1), (b"s2", 2)):
        members = [b"m%d" % (i * step) for i in range(setsize)]
        for k in range(0, setsize, 1000):
            benchlib.send_pipeline(c, [[b"SADD", name] + members[k:k + 1000]])
    c.close()


def one_run(args, steal, tmp):
    port = benchlib.free_port()
    extra = ["--threads", "2", "--conn-assign", "single", "--work-stealing", steal,
             "--run-budget-commands", str(args.budget)] + args.kvsd_arg
    kvsd = subprocess.Popen([os.path.join(args.build, "server", "kvsd"), "--port", str(port),
                             "--save", "", "--appendonly", "no", "--loglevel", "warning"] + extra,
                            stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if benchlib.command(port, "PING").startswith(b"+PONG"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            sys.exit("kvsd did not start")
        fill(port, args.setsize)
        loadgen = os.path.join(args.build, "loadgen", "kvsd-loadgen")
        fjson = os.path.join(tmp, "flood.json")
        wjson = os.path.join(tmp, "wait.json")
        flood = subprocess.Popen(
            [loadgen, "-p", str(port), "-c", "1", "-P", str(args.depth), "--command",
             "SINTERCARD 2 s1 s2", "--duration", str(args.duration + 1.0), "--json", fjson],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # the flood is under way before the waiting clients start
        before = info_workers(port)
        cpu0 = benchlib.cpu_seconds(kvsd.pid)
        w = subprocess.run(
            [loadgen, "-p", str(port), "-c", str(args.clients), "--rate", str(args.rate),
             "--command", "PING", "--duration", str(args.duration), "--json", wjson],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu1 = benchlib.cpu_seconds(kvsd.pid)
        after = info_workers(port)
        flood.wait(timeout=args.duration + 30)
        if w.returncode != 0 or flood.returncode != 0:
            sys.exit("kvsd-loadgen failed (waiting %d, flooder %d)" %
                     (w.returncode, flood.returncode))
        with open(wjson) as f:
            wr = json.load(f)
        with open(fjson) as f:
            fr = json.load(f)
        if wr["errors"] or fr["errors"]:
            sys.exit("errors: waiting %d, flooder %d" % (wr["errors"], fr["errors"]))
        delta = {k: sum(after[n].get(k, 0) - before[n].get(k, 0) for n in after)
                 for k in ("tasks", "steals", "failed_steals", "parks", "guest_polls",
                           "handoffs")}
        n = max(wr["requests"], 1)
        res = {"steal": steal, "p99_us": wr["p99_us"], "p50_us": wr["p50_us"],
               "max_us": wr["max_us"], "waiting_requests": wr["requests"],
               "flood_ops_per_sec": fr["ops_per_sec"],
               "kvsd_cpu": (cpu1 - cpu0) / args.duration,
               "steals_per_wait_req": delta["steals"] / n,
               "guest_polls_per_wait_req": delta["guest_polls"] / n,
               "parks_per_wait_req": delta["parks"] / n,
               "handoffs": delta["handoffs"]}
        print("steal=%-3s waiting p50=%.0f us p99=%.0f us max=%.0f us (%d req) | flood %.0f "
              "SINTERCARD/s | kvsd CPU %.0f%% | per waiting request: steals %.2f, guest polls "
              "%.3f, parks %.2f; hand-offs %d" % (steal, res["p50_us"], res["p99_us"],
                                                  res["max_us"],
                                    res["waiting_requests"], res["flood_ops_per_sec"],
                                    100 * res["kvsd_cpu"], res["steals_per_wait_req"],
                                    res["guest_polls_per_wait_req"], res["parks_per_wait_req"],
                                    res["handoffs"]),
              flush=True)
        return res
    finally:
        kvsd.terminate()
        kvsd.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--depth", type=int, default=64, help="flooder's pipeline depth")
    ap.add_argument("--clients", type=int, default=4, help="waiting connections")
    ap.add_argument("--rate", type=int, default=200, help="waiting clients' PING/s in total")
    ap.add_argument("--setsize", type=int, default=2000)
    ap.add_argument("--budget", type=int, default=64, help="run-budget-commands")
    ap.add_argument("--json", help="write the runs and medians here")
    ap.add_argument("--kvsd-arg", action="append", default=[],
                    help="one more kvsd argument (repeat: --kvsd-arg=--io-uring --kvsd-arg=no)")
    args = ap.parse_args()
    runs = {"yes": [], "no": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.runs):
            for steal in (("yes", "no") if k % 2 == 0 else ("no", "yes")):
                runs[steal].append(one_run(args, steal, tmp))
    med = {s: {key: statistics.median(r[key] for r in runs[s])
               for key in ("p99_us", "p50_us", "flood_ops_per_sec", "steals_per_wait_req")}
           for s in runs}
    ratio = med["no"]["p99_us"] / med["yes"]["p99_us"] if med["yes"]["p99_us"] else 0
    print("# medians of %d runs: waiting clients' p99 stealing on %.0f us, off %.0f us: off/on = "
          "%.2fx (higher is better for stealing); p50 on %.0f us, off %.0f us; flooder %.0f vs "
          "%.0f SINTERCARD/s (on vs off)" %
          (args.runs, med["yes"]["p99_us"], med["no"]["p99_us"], ratio, med["yes"]["p50_us"],
           med["no"]["p50_us"], med["yes"]["flood_ops_per_sec"], med["no"]["flood_ops_per_sec"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "medians": med, "p99_off_over_on": ratio},
                      f, indent=1)


if __name__ == "__main__":
    main()
