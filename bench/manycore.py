#!/usr/bin/env python3
"""manycore.py — the measured inputs of kvsd's many-core throughput model, and the model's
predictions at 8, 16 and 64 workers (docs/BENCHMARKS.md "Many cores, on paper").

What it measures, all on this machine, in one run:
  1. Server CPU-seconds per request (utime+stime from /proc / requests served, INFO
     total_commands_processed) for kvsd --threads 1, kvsd --threads 2 and redis-server, under
     the same kvsd-loadgen load (--ratio 1:10 GET/SET, --keys, 64 B values; closed loop with -c
     connections, or open loop with --rate).
  2. Per request at 1 and 2 workers, from INFO kvsd: map CAS retries (put_cas_retries), hot-key
     fallbacks, transaction conflicts, steals, failed steal searches, parks, wake-ups.
  3. (--callgrind, on by default) kvsd --threads 2 under valgrind --tool=callgrind
     --dump-instr=yes with --callgrind-requests requests: instructions per request and
     atomic read-modify-writes executed per request (every lock-prefixed instruction and every
     xchg with memory, in kvsd and in the libraries it calls — libevent's and libc's mutexes
     count), with the functions that execute most of them. Each RMW on a line that another
     core wrote last is one cache-line transfer; the RMWs on per-worker lines (statistics) are
     not. The script cannot tell which is which from counts, so it reports the total as an
     upper bound on transfers and names the functions: the reader (and the model below) takes
     the shared ones.

The model (Amdahl/USL-style, per request; stated so that a larger machine can refute it):
    c(N) = c1 * (1 + sigma * (N - 1)) + S * T * (N - 1) / N      CPU-seconds per request
    X(N) = min(N / c(N), 1 / (G * T))                             requests/s
  c1     CPU per request with one worker (measured, 1.)
  S      atomic RMWs per request on lines that other workers also write (3., the "shared"
         functions); with N workers a line was last written by another one with probability
         (N - 1) / N, and each such RMW costs one cache-line transfer, T (default 80 ns, a
         same-socket transfer; --t-xfer-ns 150 for across sockets): the coherency term. It is
         bounded, not USL's kappa*N*(N-1): kvsd's shared lines are per key, per connection or
         per queue, not one line that all N workers pass around on every request.
  G      RMWs per request on words that every worker writes (the scheduler's eventcount and
         searching count): those serialize, so throughput is at most 1 / (G * T).
  sigma  contention (USL's sigma, Amdahl's serial fraction): whatever the 2-worker CPU per
         request adds beyond the coherency term: c2 = c1 * (1 + sigma) + S * T / 2, floored
         at 0; extrapolated linearly in N as USL does.
  The table gives two cases: S as classified (per-worker functions excluded, --private-fn)
  and every RMW a transfer (upper bound on coherency cost). seq_cst fences (lock or (%rsp))
  are counted apart: a barrier, not a transfer.
  Assumptions: the clients and the kernel's loopback/NIC scale with the cores (clients on other
  machines); every worker busy (closed loop; with an open loop below saturation c2 includes
  parks and wake-ups, which inflate sigma); parks, steals and CAS retries per request at N as
  at 2; no NUMA, SMT or memory-bandwidth limit; uniform keys (a zipf hot key adds shared
  transfers per request, visible as put_cas_retries/put_hot_fallbacks). Only a machine with
  8-64 cores can check it: run this script there and compare X(N) with measured throughput.

Usage: bench/manycore.py [--build DIR] [--duration S] [-c N] [--rate R] [--keys N]
                         [--no-callgrind] [--callgrind-requests N] [--t-xfer-ns NS] [--json F]
Short functional check: bench/manycore.py --duration 1 --callgrind-requests 2000
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

PEERS = [
    ("Dragonfly, 64 vCPU (c6gn.16xlarge), published", "about 25x Redis throughput"),
    ("Valkey 8 with 8 I/O threads, published", "about 1.19M SET/s"),
]
# Functions whose atomic RMWs touch lines that stay with one worker in a balanced run
# (round-robin connections, no steals): the thread's own descriptor (glibc's async-cancel
# bookkeeping around each system call), the thread's EBR record, the worker's statistics,
# its own deque's take, the task word of a connection its own loop scheduled, its event
# base's lock (libevent; shared only when another thread wakes the base). Everything else is
# counted as shared: the map's CAS and the database's counters, inboxes, steals. Adjust with
# --private-fn; the upper bound treats every RMW as a transfer.
# Functions whose RMWs hit words that every worker writes (the scheduler's eventcount and
# searching count): a serialization point, at most one transfer per T_XFER.
GLOBAL_FN = ["park_", "start_searching", "stop_searching", "watcher"]
PRIVATE_FN_DEFAULT = ["asynccancel", "ebr_", "worker_main", "conn_task_run", "conn_run",
                      "wsq_take", "pthread_mutex", "conn_flush", "stats", "wctx", "quiescent"]


def info(port, section):
    out = {}
    for line in benchlib.info_text(port, section).splitlines():
        if ":" not in line or line.startswith("#"):
            continue
        k, v = line.split(":", 1)
        if k.startswith("worker") and k[6:7].isdigit():
            for kv in v.split(","):
                n, x = kv.split("=")
                out[n] = out.get(n, 0) + int(x)
        elif re.fullmatch(r"-?\d+", v):
            out[k] = int(v)
    return out


def wait_ready(port, proc, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            sys.exit("server exited early")
        try:
            if benchlib.command(port, "PING").startswith(b"+PONG"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("server did not start")


def server_argv(args, kind, port):
    if kind == "redis":
        return ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    return [os.path.join(args.build, "server", "kvsd"), "--port", str(port), "--save", "",
            "--loglevel", "warning", "--threads", kind[-1]]


def loadgen_argv(args, port, measure):
    argv = [os.path.join(args.build, "loadgen", "kvsd-loadgen"), "-p", str(port), "-c",
            str(args.c), "--ratio", "1:10", "--keys", str(args.keys), "-d", "64"]
    if measure == "prefill":
        return argv + ["--prefill", "--requests", "1"]
    if isinstance(measure, int):
        return argv + ["--requests", str(measure)]
    if args.rate:
        argv += ["--rate", str(args.rate)]
    return argv + ["--duration", str(args.duration)]


def cpu_per_request(args, kind):
    """kind: kvsd1, kvsd2 or redis. Returns a dict of per-request figures."""
    port = benchlib.free_port()
    proc = subprocess.Popen(server_argv(args, kind, port), stdout=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        subprocess.run(loadgen_argv(args, port, "prefill"), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s0 = info(port, "stats")
        k0 = info(port, "kvsd") if kind != "redis" else {}
        cpu0 = benchlib.cpu_seconds(proc.pid)
        subprocess.run(loadgen_argv(args, port, "run"), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        cpu1 = benchlib.cpu_seconds(proc.pid)
        s1 = info(port, "stats")
        k1 = info(port, "kvsd") if kind != "redis" else {}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    n = s1["total_commands_processed"] - s0["total_commands_processed"] - 2  # INFO, INFO
    r = {"requests": n, "cpu_s": cpu1 - cpu0, "cpu_us_per_req": 1e6 * (cpu1 - cpu0) / max(n, 1)}
    for k in ("put_cas_retries", "put_hot_fallbacks", "txn_conflicts", "tasks", "steals",
              "failed_steals", "parks", "wakeups", "guest_polls"):
        if k in k1:
            r[k + "_per_req"] = (k1[k] - k0.get(k, 0)) / max(n, 1)
    return r


def maps_of(pid):
    """{path: base address} of the file mappings of a running process (offset 0)."""
    out = {}
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and p[5].startswith("/") and int(p[2], 16) == 0:
                out.setdefault(p[5], int(p[0].split("-")[0], 16))
    return out


def atomic_addrs(path):
    """{address: "rmw" or "fence"} of the atomic read-modify-write instructions of an ELF
    object, at the addresses objdump prints (the object's own virtual addresses)."""
    out = {}
    dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                          text=True).stdout
    for line in dump.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(.*)", line)
        if not m:
            continue
        ins = m.group(2)
        if ins.startswith("lock ") or (ins.startswith("xchg") and "(" in ins):
            # lock or $0,(%rsp) is how compilers write a seq_cst fence: a full barrier on a
            # stack line, never a transfer
            fence = ins.startswith("lock or") and "(%rsp)" in ins
            out[int(m.group(1), 16)] = "fence" if fence else "rmw"
    return out


def callgrind(args, tmp):
    port = benchlib.free_port()
    out = os.path.join(tmp, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-pos=no",
         "--compress-strings=no", "--callgrind-out-file=" + out]
        + server_argv(args, "kvsd2", port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc, timeout=120)
        maps = maps_of(proc.pid)
        subprocess.run(loadgen_argv(args, port, "prefill"), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # zero the counters after the fill, so that only the measured requests count
        subprocess.run(["callgrind_control", "--zero", str(proc.pid)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s0 = info(port, "stats")
        subprocess.run(loadgen_argv(args, port, args.callgrind_requests), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s1 = info(port, "stats")
        maps.update({k: v for k, v in maps_of(proc.pid).items() if k not in maps})
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    n = s1["total_commands_processed"] - s0["total_commands_processed"] - 1
    atomics = {}
    for path in maps:
        if os.path.basename(path).startswith(("vgpreload", "ld-linux")) or "valgrind" in path:
            continue
        atomics[path] = atomic_addrs(path)
    ir = 0
    rmw = 0
    fences = 0
    by_fn = collections.Counter()
    fn = "?"
    ob = None
    skip_next = False
    files = [f for f in os.listdir(tmp) if f.startswith("callgrind.out")]
    for name in files:
        with open(os.path.join(tmp, name)) as f:
            for line in f:
                if line.startswith("ob="):
                    ob = line[3:].strip()
                    continue
                if line.startswith("fn="):
                    fn = line[3:].strip()
                    continue
                if line.startswith("calls="):
                    skip_next = True  # the next cost line is the call's inclusive cost
                    continue
                if not line.startswith("0x"):
                    continue
                if skip_next:
                    skip_next = False
                    continue
                p = line.split()
                if len(p) < 3:
                    continue
                cost = int(p[2])
                ir += cost
                a = int(p[0], 16)
                mine = atomics.get(ob, {})
                # callgrind gives a position-independent object's addresses either as its own
                # virtual addresses or as mapped ones (base + vaddr): try both
                kind = mine.get(a) or mine.get(a - maps.get(ob, 0))
                # an instruction's Ir is its execution count
                if kind == "fence":
                    fences += cost
                elif kind == "rmw":
                    rmw += cost
                    by_fn[fn] += cost
    return {"requests": n, "ir_per_req": ir / max(n, 1), "atomic_rmw_per_req": rmw / max(n, 1),
            "seq_cst_fences_per_req": fences / max(n, 1),
            "rmw_by_fn_per_req": {k: v / max(n, 1) for k, v in by_fn.most_common()}}


def model(c1, c2, shared, glob, t_xfer_ns):
    """Per-request CPU at N workers and throughput (see the module comment):
    c(N) = c1 * (1 + sigma * (N - 1)) + shared * T * (N - 1) / N;
    X(N) = min(N / c(N), 1 / (glob * T))."""
    t = t_xfer_ns * 1e-3  # microseconds
    sigma = max(0.0, (c2 - c1 - shared * t / 2) / c1) if c1 else 0.0
    pred = {}
    for n in (1, 2, 8, 16, 64):
        c = c1 * (1 + sigma * (n - 1)) + shared * t * (n - 1) / n
        x = n / (c * 1e-6)
        if glob > 0:
            x = min(x, 1 / (glob * t * 1e-6))
        pred[n] = x
    return sigma, pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("-c", type=int, default=50, help="loadgen connections")
    ap.add_argument("--rate", type=int, default=0, help="open loop at this rate (0: closed)")
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--callgrind-requests", type=int, default=20000)
    ap.add_argument("--t-xfer-ns", type=float, default=80.0)
    ap.add_argument("--private-fn", action="append", default=None,
                    help="substring of a function whose RMWs touch per-worker lines only")
    ap.add_argument("--json")
    args = ap.parse_args()
    private = args.private_fn or PRIVATE_FN_DEFAULT
    res = {"machine": benchlib.machine() if hasattr(benchlib, "machine") else None}
    for kind in ("kvsd1", "kvsd2", "redis"):
        res[kind] = cpu_per_request(args, kind)
        print("%-6s %s" % (kind, " ".join("%s=%.4g" % kv for kv in res[kind].items())),
              flush=True)
    shared = None
    glob = 0.0
    if not args.no_callgrind:
        with tempfile.TemporaryDirectory() as tmp:
            res["callgrind"] = cg = callgrind(args, tmp)
        priv = sum(v for k, v in cg["rmw_by_fn_per_req"].items()
                   if any(p in k for p in private))
        shared = cg["atomic_rmw_per_req"] - priv
        glob = sum(v for k, v in cg["rmw_by_fn_per_req"].items() if any(p in k for p in GLOBAL_FN))
        print("callgrind kvsd --threads 2, %d requests: %.0f Ir/request, %.2f atomic RMWs/request "
              "(%.2f in per-worker functions %s: shared estimate %.2f)" %
              (cg["requests"], cg["ir_per_req"], cg["atomic_rmw_per_req"], priv, private, shared))
        print("    %.2f seq_cst fences/request (not transfers); %.3f RMW/request on words every "
              "worker writes (%s)" % (cg["seq_cst_fences_per_req"], glob, GLOBAL_FN))
        for k, v in list(cg["rmw_by_fn_per_req"].items())[:20]:
            print("    %6.3f RMW/request  %-40s %s" %
                  (v, k, "per-worker" if any(p in k for p in private) else
                   "global" if any(p in k for p in GLOBAL_FN) else "shared"))
    c1 = res["kvsd1"]["cpu_us_per_req"]
    c2 = res["kvsd2"]["cpu_us_per_req"]
    cr = res["redis"]["cpu_us_per_req"]
    if min(c1, c2, cr) <= 0:
        sys.exit("a server used no measurable CPU (clock ticks are 1/%d s): run longer "
                 "(--duration)" % benchlib.HZ)
    total = res["callgrind"]["atomic_rmw_per_req"] if "callgrind" in res else 0.0
    cases = [("shared estimate", shared or 0.0), ("every RMW a transfer", total)]
    res["model"] = {"c1_us": c1, "c2_us": c2, "redis_us": cr, "t_xfer_ns": args.t_xfer_ns,
                    "cases": {}}
    preds = []
    for label, rmw in cases:
        sigma, pred = model(c1, c2, rmw, glob, args.t_xfer_ns)
        preds.append(pred)
        res["model"]["cases"][label] = {"rmw_per_req": rmw, "global_rmw_per_req": glob,
                                        "sigma": sigma, "predicted_req_per_s": pred}
        print("# model, %s: c1=%.3f us, c2=%.3f us/request (c2/c1=%.3f), %.2f transfers/request"
              " x %.0f ns, %.3f global RMW/request -> sigma=%.4f" %
              (label, c1, c2, c2 / c1 if c1 else 0, rmw, args.t_xfer_ns, glob, sigma))
    print("# redis-server: %.3f us/request -> %.0f requests/s on one core" %
          (cr, 1e6 / cr if cr else 0))
    print("| workers | kvsd requests/s (shared estimate) | vs redis-server | "
          "kvsd requests/s (every RMW a transfer) | vs redis-server |")
    print("|---:|---:|---:|---:|---:|")
    for n in preds[0]:
        print("| %d | %.0f | %.1fx | %.0f | %.1fx |" %
              (n, preds[0][n], preds[0][n] * cr * 1e-6, preds[1][n], preds[1][n] * cr * 1e-6))
    for who, what in PEERS:
        print("# peer: %s: %s" % (who, what))
    print("# A model from 1 and 2 workers on this machine, not a measurement: run this script on "
          "an 8-64 core machine and compare.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
