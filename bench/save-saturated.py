#!/usr/bin/env python3
"""How long a kvsd BGSAVE takes while its only worker core never idles, and what share of the
core its idle-class saver gets (issue 15; concurrency/lend.h, bgsave-cpu-percent).

bench/persist.py's saturating phase (50 clients of 80/20 GET/SET) saturates kvsd only when the
client has a core of its own; on a shared machine the client is starved and kvsd idles, so
the saver runs in idle time and the loans are not exercised. Here the load is 50 clients of
pipelined SINTERCARDs of two 6,000-member sets (about a millisecond of server work per
command, a few bytes of client work), which keeps the worker busy whatever the client gets.
For each binary (--kvsd, repeatable: old and new one after the other): kvsd --threads 1
pinned to the server core, --keys strings filled as bench/persist.py fills them, one BGSAVE
on the quiet server, then --saves BGSAVEs under the load, each timed (BGSAVE to
rdb_bgsave_in_progress:0) with the saver thread's CPU time (/proc/PID/task/TID/schedstat,
sampled every 20 ms: the new thread of the save) against the wall time and against kvsd's
own CPU time (all threads), and INFO kvsd's loan counters over the save.

Usage: bench/save-saturated.py [--keys N] [--saves N] [--kvsd BIN]... [--kvsd-arg ARG]...
                               [--load sintercard|getset] [--set-members N] [--pipeline N]
  e.g. bench/save-saturated.py --keys 1000000 --kvsd /tmp/old/kvsd --kvsd build/server/kvsd
Env: LOADGEN_BIN (build/loadgen/kvsd-loadgen), BENCH_CORES ("0,1": server core, client core).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import persist  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SET_N = 6000  # members per set (--set-members)


def one_save(port, pid):
    """One BGSAVE under the running load: (seconds, saver CPU s, kvsd CPU s, loan deltas)."""
    kv0 = persist.info(port, "kvsd")
    before = set(benchlib.thread_cpu(pid))
    c0 = benchlib.cpu_seconds(pid)
    t0 = time.monotonic()
    persist.bgsave(port)
    saver = {}
    while persist.info(port).get("rdb_bgsave_in_progress") != "0":
        for t, ns in benchlib.thread_cpu(pid).items():
            if t not in before:
                saver[t] = ns
        time.sleep(0.02)
    dt = time.monotonic() - t0
    cpu = benchlib.cpu_seconds(pid) - c0
    kv1 = persist.info(port, "kvsd")
    loans = {k[len("rdb_saver_"):]: int(kv1[k]) - int(kv0.get(k, "0"))
             for k in kv1 if k.startswith("rdb_saver_")}
    if persist.info(port).get("rdb_last_bgsave_status") != "ok":
        sys.exit("BGSAVE failed")
    return dt, sum(saver.values()) / 1e9, cpu, loans


def load_args(opts):
    """The load: SINTERCARDs (a millisecond of server work each), or bench/persist.py's
    80/20 GET/SET pipelined 16 deep (short requests: loans of LEND_NS, as under persist.py's
    load on a quiet machine, where an unpipelined client keeps up)."""
    if opts.load == "getset":
        return ["-c", "50", "-P", "16", "--ratio", "1:4", "--keys", str(opts.keys), "-d",
                persist.VALUE]
    return ["-c", "50", "-P", str(opts.pipeline), "--command", "SINTERCARD 2 s:a s:b"]


def run(binary, lg, cores, opts):
    d = tempfile.mkdtemp(prefix="kvsd-save-saturated-", dir=opts.dir)
    procs = []
    try:
        s = benchlib.start("kvsd", binary, cores[0], procs, ["--dir", d, "--save", ""] +
                           opts.kvsd_arg)
        port, pid = s["port"], s["proc"].pid
        persist.fill(lg, port, cores[1], opts.keys, "pipe")
        n = opts.set_members
        for k, off in (("s:a", 0), ("s:b", n // 2)):
            for b in range(0, n, 500):
                benchlib.command(port, "SADD", k,
                                 *["m%d" % m for m in range(off + b, off + min(b + 500, n))])
        kv0 = persist.info(port, "kvsd")
        t0 = time.monotonic()
        persist.bgsave(port)
        persist.wait_saved(port)
        quiet = time.monotonic() - t0
        kv1 = persist.info(port, "kvsd")
        qcpu = int(kv1.get("rdb_saver_cpu_us", 0)) - int(kv0.get("rdb_saver_cpu_us", 0))
        qsys = int(kv1.get("rdb_saver_sys_us", 0)) - int(kv0.get("rdb_saver_sys_us", 0))
        print("%s: quiet BGSAVE %.2f s; saver CPU %.3f s (system %.3f s), %.0f ns per key" % (
            binary, quiet, qcpu / 1e6, qsys / 1e6, qcpu * 1000 / opts.keys))
        load = subprocess.Popen(["taskset", "-c", cores[1], lg, "-p", str(port)] +
                                load_args(opts) + ["--duration", "3600"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            for i in range(opts.saves):
                dt, saver, cpu, l = one_save(port, pid)
                print("  under load: BGSAVE %.2f s; saver CPU %.2f s = %.1f%% of the wall time, "
                      "%.1f%% of kvsd's CPU time (%.2f s); loans %d, used %d, overrun %s, lent "
                      "%.0f ms, of it %s ms in the saver's CPU" % (
                          dt, saver, 100 * saver / dt, 100 * saver / max(cpu, 1e-9), cpu,
                          l.get("lends", 0), l.get("lends_used", 0),
                          l.get("lends_overrun", "n/a"), l.get("lent_us", 0) / 1000,
                          "%.0f" % (l["lent_cpu_us"] / 1000) if "lent_cpu_us" in l else "n/a"))
                if "wanted_us" in l:
                    print("    lent %.1f%% of the %.2f s it wanted; loans asked %.0f ms (%.0f us "
                          "each), lasted %.0f us each; saver CPU %.0f ns per key (system "
                          "%.2f s), preempted %d times" % (
                              100 * l["lent_us"] / max(1, l["wanted_us"]), l["wanted_us"] / 1e6,
                              l["asked_us"] / 1000, l["asked_us"] / max(1, l["lends"]),
                              l["lent_us"] / max(1, l["lends"]),
                              l["cpu_us"] * 1000 / opts.keys, l["sys_us"] / 1e6,
                              l["preempted"]))
        finally:
            load.terminate()
            load.wait()
    finally:
        benchlib.stop(procs)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--saves", type=int, default=2)
    ap.add_argument("--kvsd", action="append", default=[],
                    help="a kvsd binary (repeat: each is run in turn); default build/server/kvsd")
    ap.add_argument("--kvsd-arg", action="append", default=[],
                    help="one more argument for kvsd (repeat), e.g. "
                    "--kvsd-arg=--bgsave-cpu-percent --kvsd-arg=35")
    ap.add_argument("--dir", default=None, help="parent directory of the datasets")
    ap.add_argument("--load", choices=("sintercard", "getset"), default="sintercard",
                    help="the saturating load (see load_args)")
    ap.add_argument("--set-members", type=int, default=SET_N,
                    help="members of each SINTERCARD set (fewer: shorter tasks, loans of "
                    "bgsave-cpu-slice-us as under short requests)")
    ap.add_argument("--pipeline", type=int, default=2, help="SINTERCARDs per client round trip")
    opts = ap.parse_args()
    bins = opts.kvsd or [os.path.join(ROOT, "build/server/kvsd")]
    lg = os.environ.get("LOADGEN_BIN", os.path.join(ROOT, "build/loadgen/kvsd-loadgen"))
    cores = os.environ.get("BENCH_CORES", "0,1").split(",")
    print("machine: %s" % benchlib.machine())
    print("load: taskset -c %s kvsd-loadgen %s (sets of %d members); kvsd --threads 1 on "
          "core %s %s; %d keys" % (cores[1], " ".join(load_args(opts)), opts.set_members, cores[0],
                                   " ".join(opts.kvsd_arg), opts.keys))
    for b in bins:
        run(b, lg, cores, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
