#!/usr/bin/env python3
"""What delays kvsd's worker during a BGSAVE (issue 15: p99 during a save on ext4 against tmpfs),
from the kernel's scheduler trace. Needs root and tracefs (/sys/kernel/tracing).

kvsd (--threads 1, pinned to core 0 with its saver thread, --dir a fresh directory under --dir,
default /tmp) is filled with --keys strings as bench/persist.py fills it (redis-cli --pipe);
kvsd-loadgen on core 1 runs bench/persist.py's load (50 clients, 80/20 GET/SET). Then two
windows of --seconds each, traced with ftrace (an instance of its own, "kvsd-save-trace":
sched_switch and the worker's sched_waking; raw_syscalls of the saver thread, named
rdb-bgsave): "quiet" (no save) and "saving" (BGSAVE back to back).

Printed per window:
- the worker's wake-up delays (from sched_waking to the switch that runs it: a request that
  arrives, or the end of a loan of its core to the saver, concurrency/lend.h);
- what ran on core 0 while the worker was runnable, by who it was: the saver in user mode
  or inside a given system call, other kvsd threads (by name), kernel threads (kworker, jbd2,
  ksoftirqd) or other processes (by name; this script pins itself to core 1). On a kernel
  that does not preempt in kernel mode (preempt=none) a saver inside a system call keeps
  the core until the call returns or reaches a cond_resched(): that time is charged to the
  call;
- the saver's stretches of CPU inside each system call with no switch between (entry or a
  switch back in, to the exit or a switch out): how long one call can hold the core. These
  are the saver's own CPU, not the machine's load (other processes only stretch them when
  the hypervisor takes the vCPU);
- the machine's nr_dirty / nr_writeback peaks (/proc/vmstat, sampled every 10 ms), the
  worker's runqueue wait and context switches (/proc schedstat and status), and INFO kvsd's
  saver CPU and loans.

Usage: bench/save-trace.py [--keys N] [--seconds S] [--dir PATH] [--kvsd-arg ARG]...
Env: KVSD_BIN (build/server/kvsd), LOADGEN_BIN (build/loadgen/kvsd-loadgen).
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import persist  # noqa: E402

TRACE = "/sys/kernel/tracing/instances/kvsd-save-trace"
SAVER = "rdb-bgsave"  # the BGSAVE thread's name (server/persist_srv.c)
SYSCALLS = {0: "read", 1: "write", 3: "close", 9: "mmap", 11: "munmap", 12: "brk",
            28: "madvise", 74: "fsync", 75: "fdatasync", 82: "rename", 202: "futex",
            221: "fadvise64", 257: "openat", 277: "sync_file_range"}
KTHREADS = ("kworker", "jbd2", "ksoftirqd", "rcu", "migration", "kcompactd", "kswapd")
LINE = re.compile(r"^\s*(.*?)-(\d+)\s+\(\s*(\d+|-+)\)\s+\[(\d+)\].*?\s(\d+\.\d+):\s(\w+):\s(.*)$")
SWITCH = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> "
                    r"next_comm=(.*?) next_pid=(\d+)")


def tw(f, v):
    with open(os.path.join(TRACE, f), "w") as fh:
        fh.write(v)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] if v else 0


def trace(pid, worker, seconds):
    """Traces core 0 for seconds; returns the trace's lines."""
    tw("tracing_on", "0")
    tw("trace", "")
    tw("buffer_size_kb", "65536")
    tw("options/record-tgid", "1")
    tw("events/sched/sched_switch/enable", "1")
    tw("events/sched/sched_waking/filter", "pid == %s" % worker)
    tw("events/sched/sched_waking/enable", "1")
    for e in ("sys_enter", "sys_exit"):
        tw("events/raw_syscalls/%s/filter" % e, 'comm == "%s"' % SAVER)
        tw("events/raw_syscalls/%s/enable" % e, "1")
    tw("tracing_on", "1")
    time.sleep(seconds)
    tw("tracing_on", "0")
    with open(os.path.join(TRACE, "trace")) as f:
        lines = f.read().splitlines()
    for e in ("sched/sched_switch", "sched/sched_waking", "raw_syscalls/sys_enter",
              "raw_syscalls/sys_exit"):
        tw("events/%s/enable" % e, "0")
        tw("events/%s/filter" % e, "0")
    tw("trace", "")
    return lines


def analyse(lines, pid, worker):
    tgid = {}
    for ln in lines:
        m = LINE.match(ln)
        if m:
            tgid[m.group(2)] = m.group(3)
    insys, kstart = {}, {}
    stretch = collections.defaultdict(list)  # syscall -> the saver's stretches in it, us
    charged = collections.defaultdict(list)  # who ran -> us per wake-up it delayed
    delays = []
    waking, cur, since, acc = None, None, None, collections.Counter()

    def who(comm, tid):
        if comm == SAVER:
            nr = insys.get(tid)
            return "saver in " + ("user mode" if nr is None else SYSCALLS.get(nr, str(nr)))
        if tgid.get(tid) == str(pid):
            return "kvsd thread " + comm  # kvsd-w<i>, kvsd-reserve, kvsd (main)
        if comm.startswith("swapper"):
            return "idle"
        for k in KTHREADS:
            if comm.startswith(k):
                return "kernel thread " + k
        return "other process " + comm

    for ln in lines:
        m = LINE.match(ln)
        if not m:
            continue
        tid, cpu, ts, ev, rest = m.group(2), int(m.group(4)), float(m.group(5)), m.group(6), \
            m.group(7)
        if ev in ("sys_enter", "sys_exit"):
            if waking is not None and cur is not None and cur[1] == tid and cpu == 0:
                acc[who(*cur)] += (ts - since) * 1e6
                since = ts
            nr = int(re.search(r"NR (\d+)", rest).group(1))
            if ev == "sys_enter":
                insys[tid], kstart[tid] = nr, ts
            else:
                if kstart.get(tid) is not None:
                    stretch[nr].append((ts - kstart[tid]) * 1e6)
                insys.pop(tid, None)
                kstart.pop(tid, None)
        elif ev == "sched_waking":
            if waking is None:
                waking, since, acc = ts, ts, collections.Counter()
        elif ev == "sched_switch" and cpu == 0:
            s = SWITCH.search(rest)
            if not s:
                continue
            prev, prev_tid, nxt, nxt_tid = s.group(1), s.group(2), s.group(4), s.group(5)
            if waking is not None and cur is not None:
                acc[who(*cur)] += (ts - since) * 1e6
            if prev == SAVER and kstart.get(prev_tid) is not None:
                stretch[insys.get(prev_tid)].append((ts - kstart[prev_tid]) * 1e6)
                kstart[prev_tid] = None
            if nxt == SAVER and nxt_tid in insys:
                kstart[nxt_tid] = ts
            cur, since = (nxt, nxt_tid), ts
            if nxt_tid == worker and waking is not None:
                delays.append((ts - waking) * 1e6)
                for k, v in acc.items():
                    charged[k].append(v)
                waking = None
    return delays, charged, stretch


def report(name, seconds, delays, charged, stretch, extra):
    print("%s: %d worker wake-ups in %.1f s; delay us p50 %.0f, p99 %.0f, p99.9 %.0f, max %.0f; "
          "over 1 ms: %d" % (name, len(delays), seconds, pct(delays, .5), pct(delays, .99),
                             pct(delays, .999), max(delays or [0]),
                             sum(1 for d in delays if d > 1000)))
    print("  %s" % extra)
    print("  %-36s %7s %9s %8s %8s %8s" % ("ran while the worker was runnable", "times",
                                           "total ms", "p50 us", "p99 us", "max us"))
    for k, v in sorted(charged.items(), key=lambda kv: -sum(kv[1])):
        print("  %-36s %7d %9.1f %8.0f %8.0f %8.0f" % (k, len(v), sum(v) / 1000, pct(v, .5),
                                                       pct(v, .99), max(v)))
    if stretch:
        print("  %-36s %7s %9s %8s %8s %8s" % ("saver's CPU stretches in a syscall", "count",
                                               "total ms", "p50 us", "p99 us", "max us"))
        for nr, v in sorted(stretch.items(), key=lambda kv: -max(kv[1])):
            print("  %-36s %7d %9.1f %8.0f %8.0f %8.0f" % (
                SYSCALLS.get(nr, str(nr)), len(v), sum(v) / 1000, pct(v, .5), pct(v, .99),
                max(v)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--kvsd-arg", action="append", default=[])
    args = ap.parse_args()
    # this script's own threads (the vmstat sampler) stay on the client core, off the traced one
    os.sched_setaffinity(0, {1})
    if not os.path.isdir("/sys/kernel/tracing/events"):
        sys.exit("needs tracefs at /sys/kernel/tracing (and root)")
    root = os.path.dirname(HERE)
    kvsd = os.environ.get("KVSD_BIN", os.path.join(root, "build/server/kvsd"))
    lg = os.environ.get("LOADGEN_BIN", os.path.join(root, "build/loadgen/kvsd-loadgen"))
    d = tempfile.mkdtemp(prefix="kvsd-save-trace-", dir=args.dir)
    fs = subprocess.run(["df", "-T", d], capture_output=True, text=True).stdout.split("\n")
    print("kvsd %s, %d keys, dataset under %s (%s), kernel %s" % (
        kvsd, args.keys, d, " ".join((fs[1] if len(fs) > 1 else "?").split()[:2]),
        os.uname().release))
    procs = []
    if not os.path.isdir(TRACE):
        os.mkdir(TRACE)
    try:
        s = benchlib.start("kvsd", kvsd, "0", procs, ["--dir", d] + args.kvsd_arg)
        port, pid = s["port"], s["proc"].pid
        persist.pipe_fill(port, "1", args.keys)
        load = subprocess.Popen(["taskset", "-c", "1", lg, "-p", str(port)] + persist.lat_args(
            args.keys, 2 * args.seconds + 8), stdout=subprocess.DEVNULL)
        time.sleep(1)
        a = benchlib.thread_cpu(pid)
        time.sleep(0.5)
        b = benchlib.thread_cpu(pid)
        worker = max(b, key=lambda t: b[t] - a.get(t, 0))
        for saving in (False, True):
            stop = threading.Event()
            peak = {"nr_dirty": 0, "nr_writeback": 0}

            def saver():
                # one connection kept open, as bench/persist.py's sampler: a new one per
                # poll showed up as kvsd's main thread accepting on the traced core
                poll = persist.Poller(port)
                while not stop.is_set():
                    if not poll.call("BGSAVE").startswith(b"+Background saving started"):
                        sys.exit("BGSAVE refused")
                    while poll.info().get("rdb_bgsave_in_progress") != "0":
                        vm = persist.vmstat()
                        for k in peak:
                            peak[k] = max(peak[k], vm.get(k, 0))
                        time.sleep(0.01)
                poll.close()
            t = threading.Thread(target=saver) if saving else None
            if t:
                t.start()
                time.sleep(0.5)
            kv0, t0 = persist.info(port, "kvsd"), persist.tasks(pid)
            lines = trace(pid, worker, args.seconds)
            kv1, wk = persist.info(port, "kvsd"), persist.worker_delta(t0, persist.tasks(pid))
            stop.set()
            if t:
                t.join()
                persist.wait_saved(port)

            def kvd(f):
                return int(kv1.get(f, "0") or 0) - int(kv0.get(f, "0") or 0)
            extra = ("worker: run %.0f ms, runqueue wait %.1f ms, %d voluntary and %d "
                     "involuntary switches" % (wk.get("run_ms", 0), wk.get("rq_wait_ms", 0),
                                               wk.get("vol_cs", 0), wk.get("invol_cs", 0)))
            if saving:
                extra += ("; saver CPU %.0f ms, %d loans (%.0f ms); machine's peaks nr_dirty "
                          "%.1f MB, nr_writeback %.1f MB" % (
                              kvd("rdb_saver_cpu_us") / 1000, kvd("rdb_saver_lends"),
                              kvd("rdb_saver_lent_us") / 1000, peak["nr_dirty"] * 4096 / 2**20,
                              peak["nr_writeback"] * 4096 / 2**20))
            report("saving" if saving else "quiet", args.seconds,
                   *analyse(lines, pid, worker), extra)
        load.wait()
    finally:
        benchlib.stop(procs)
        shutil.rmtree(d, ignore_errors=True)
        try:
            tw("tracing_on", "0")
            os.rmdir(TRACE)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
