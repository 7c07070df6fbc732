#!/usr/bin/env python3
"""What one SET costs with the AOF on, kvsd against redis-server with the same appendfsync
setting, in load-independent figures (issue 15's AOF figure; bench/aof.py measures the
throughput itself on a quiet machine).

For each server and mode (off: appendonly no; no / everysec / always: appendonly yes with
that appendfsync), each server started on a free loopback port with a fresh --dir (kvsd
--threads 1), 2,000 warm-up SETs, then the measured load

    redis-benchmark -t set -c 50 -P 1 -r 100000 -d 64 -n N

and, per SET:

  ir     instructions (callgrind Ir, every thread of the server; counters zeroed with
         callgrind_control -z after the warm-up, dumped with -d after the load), the timer
         callbacks left out (kvsd's cron_cb, redis's serverCron, inclusive: their work
         grows with the wall time, which valgrind and the fsyncs stretch)
  sys    system calls at full speed, counted by perf stat's syscall tracepoints on every
         thread of the server (-t): all, read, write (write + sendto + writev; kvsd's
         eventfd wake-ups are writes), epoll_wait, futex; SETs per fdatasync (the group
         commit's size) and context switches per SET; for kvsd also, from INFO kvsd's
         aof_gc_* counters, the fdatasyncs its worker ran itself and the AOF thread's waits
         and wake-up signals per SET
  strace, group, ctx (optional) the same through strace -c -f (which slows the server about
         tenfold, so whatever happens per millisecond, as everysec's and no's gathering
         wake-ups, counts more per SET), fdatasyncs through strace --seccomp-bpf, and
         context switches from /proc/PID/task/*/status

The group size and the context switches depend on the fsync latency against the arrival
rate, so they are properties of the disk and the machine's load as well; Ir and the system
calls per SET (but futex) are not.

Usage: python3 bench/aof-cost.py [--requests N] [--modes off,no,everysec,always]
                                 [--what ir,sys,strace,group,ctx] [--servers kvsd,redis]
                                 [--kvsd BIN] [--redis BIN]
Needs valgrind (ir), perf with syscall tracepoints (sys: root), strace (strace, group).
"""

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU = None  # --cpu: the server's core (sys runs), as bench/aof.py pins it


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=120).stdout


def server_argv(name, binary, mode, port, d):
    aof = ["--appendonly", "no"] if mode == "off" else \
        ["--appendonly", "yes", "--appendfsync", mode]
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d]
    if name == "kvsd":
        argv += ["--threads", "1", "--enable-debug-command", "local"]
    return argv + aof


def bench(port, n, quiet=True):
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-c", "50", "-P", "1",
                    "-r", "100000", "-d", "64", "-n", str(n), "-q"],
                   stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.DEVNULL,
                   timeout=1800, check=True)


class Server:
    def __init__(self, name, binary, mode, prefix=()):
        self.dir = tempfile.mkdtemp(prefix="aof-cost-")
        self.port = free_port()
        self.name = name
        pin = ["taskset", "-c", CPU] if CPU and not prefix else []
        argv = pin + list(prefix) + server_argv(name, binary, mode, self.port, self.dir)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if cli(self.port, "ping").strip() == "PONG":
                break
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: %s" % (name, open(self.log.name).read()[-2000:]))
            time.sleep(0.1)
        else:
            raise RuntimeError("%s did not start" % name)

    def pid(self):
        """The server's own pid (the child of valgrind / strace when run under them)."""
        if self.proc.args[0] in ("valgrind", "strace"):
            for _ in range(50):
                out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                     text=True).stdout.split()
                if out:
                    return int(out[0])
                time.sleep(0.1)
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            cli(self.port, "shutdown", "nosave")
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ctx_switches(pid):
    total = 0
    for st in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            for line in open(st):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


TIMERS = ("cron_cb", "serverCron")


def ir_totals(path):
    """The dump's total Ir, and the inclusive Ir of the timer callbacks (kvsd's
    cron_cb, redis's serverCron): their work grows with the wall time, which
    valgrind and the fsyncs stretch, so it is left out of both servers'
    figures, as bench/script-ir.sh does."""
    total = timers = 0
    fn, after_call = None, False
    for line in open(path):
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
        elif line.startswith("fn="):
            fn = line[3:].strip()
        elif line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if fn in TIMERS:
                f = line.split()
                timers += int(f[1]) if len(f) > 1 else 0
            after_call = False
    return total, timers


def measure_ir(name, binary, mode, n):
    tmp = tempfile.mkdtemp(prefix="aof-cg-")
    out = os.path.join(tmp, "cg.out")
    s = Server(name, binary, mode, ["valgrind", "--tool=callgrind", "--compress-strings=no",
                                    "--compress-pos=no", "--callgrind-out-file=" + out])
    try:
        bench(s.port, 2000)
        subprocess.run(["callgrind_control", "-z", str(s.proc.pid)], capture_output=True,
                       check=True, timeout=120)
        bench(s.port, n)
        subprocess.run(["callgrind_control", "-d", str(s.proc.pid)], capture_output=True,
                       check=True, timeout=120)
        dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
        # the dump covers every thread (one file: no --separate-threads)
        total, timers = ir_totals(dumps[-1])
        return (total - timers) / n
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def parse_strace_c(path):
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            calls[f[-1]] = int(f[3])
        elif len(f) >= 4 and f[-1] == "total":
            calls["total"] = int(f[2]) if re.match(r"^[0-9.]+$", f[0]) else 0
    return calls


def measure_strace(name, binary, mode, n):
    s = Server(name, binary, mode)
    out = os.path.join(s.dir, "strace.out")
    try:
        bench(s.port, 2000)
        st = subprocess.Popen(["strace", "-c", "-f", "-p", str(s.pid()), "-o", out],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        bench(s.port, n)
        time.sleep(0.3)
        st.send_signal(signal.SIGINT)
        st.wait(timeout=60)
        c = parse_strace_c(out)
        tot = sum(v for k, v in c.items() if k != "total")
        return {
            "all": tot / n,
            "read": c.get("read", 0) / n,
            "write": (c.get("write", 0) + c.get("sendto", 0) + c.get("writev", 0)) / n,
            "epoll": (c.get("epoll_wait", 0) + c.get("epoll_pwait", 0)) / n,
            "futex": c.get("futex", 0) / n,
            "fdatasync": (c.get("fdatasync", 0) + c.get("fsync", 0)) / n,
        }
    finally:
        s.stop()


def measure_group(name, binary, mode, n):
    """SETs per fdatasync, counted by strace (seccomp-bpf: the server stops only at them)."""
    tmp = tempfile.mkdtemp(prefix="aof-grp-")
    out = os.path.join(tmp, "strace.out")
    s = Server(name, binary, mode, ["strace", "-f", "--seccomp-bpf", "-e",
                                    "trace=fdatasync,fsync", "-c", "-o", out])
    try:
        bench(s.port, n)
        s.stop()
        # every fdatasync of the server's life: the load's, plus the few of its start-up
        # and shutdown (no warm-up here)
        c = parse_strace_c(out)
        return c.get("fdatasync", 0) + c.get("fsync", 0)
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def measure_ctx(name, binary, mode, n):
    """Context switches per SET, the server's threads summed (a run with no tracer: ptrace
    adds switches of its own)."""
    s = Server(name, binary, mode)
    try:
        bench(s.port, 2000)
        c0 = ctx_switches(s.pid())
        bench(s.port, n)
        return (ctx_switches(s.pid()) - c0) / n
    finally:
        s.stop()


PERF_EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_read", "syscalls:sys_enter_write",
               "syscalls:sys_enter_sendto", "syscalls:sys_enter_writev",
               "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_futex",
               "syscalls:sys_enter_fdatasync", "syscalls:sys_enter_fsync", "context-switches"]


def measure_perf(name, binary, mode, n):
    """System calls (and context switches) per SET at full speed, counted by
    perf stat's syscall tracepoints on every thread of the server."""
    s = Server(name, binary, mode)
    out = os.path.join(s.dir, "perf.out")
    try:
        bench(s.port, 2000)
        gc0 = gc_counters(s)
        tids = ",".join(os.path.basename(t) for t in glob.glob("/proc/%d/task/*" % s.pid()))
        st = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-t", tids, "-e",
                               ",".join(PERF_EVENTS)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        bench(s.port, n)
        st.send_signal(signal.SIGINT)
        st.wait(timeout=60)
        gc1 = gc_counters(s)
        c = {}
        for line in open(out):
            f = line.strip().split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                c[f[2]] = float(f[0])
        g = lambda e: c.get(e, 0.0) / n  # noqa: E731
        fs = c.get("syscalls:sys_enter_fdatasync", 0) + c.get("syscalls:sys_enter_fsync", 0)
        return {
            "all": g("raw_syscalls:sys_enter"),
            "read": g("syscalls:sys_enter_read"),
            "write": g("syscalls:sys_enter_write") + g("syscalls:sys_enter_sendto") +
            g("syscalls:sys_enter_writev"),
            "epoll": g("syscalls:sys_enter_epoll_wait"),
            "futex": g("syscalls:sys_enter_futex"),
            "group": n / fs if fs else None,
            "cs": g("context-switches"),
            "gc": {k: (gc1[k] - gc0.get(k, 0)) / n for k in gc1},
        }
    finally:
        s.stop()


def gc_counters(s):
    """kvsd's group-commit counters (INFO kvsd's aof_gc_*), {} for redis-server."""
    out = {}
    for line in cli(s.port, "info", "kvsd").splitlines():
        if line.startswith("aof_gc_") and ":" in line:
            k, v = line.strip().split(":", 1)
            out[k[7:]] = int(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--modes", default="off,no,everysec,always")
    ap.add_argument("--what", default="ir,sys")
    ap.add_argument("--servers", default="kvsd,redis")
    ap.add_argument("--cpu", help="pin the server to this core (taskset -c) for sys runs")
    ap.add_argument("--kvsd", default=os.path.join(ROOT, "build", "server", "kvsd"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    a = ap.parse_args()
    global CPU
    CPU = a.cpu
    what = a.what.split(",")
    bins = {"kvsd": a.kvsd, "redis": a.redis}
    print("client: redis-benchmark -t set -c 50 -P 1 -r 100000 -d 64 -n %d (after 2,000 "
          "warm-up SETs); kvsd --threads 1" % a.requests)
    for mode in a.modes.split(","):
        for name in a.servers.split(","):
            row = ["%-8s %-6s" % (mode, name)]
            if "ir" in what:
                row.append("Ir/SET %7.0f" % measure_ir(name, bins[name], mode, a.requests))
            if "strace" in what:
                r = measure_strace(name, bins[name], mode, a.requests)
                row.append("syscalls/SET %.2f (read %.2f write %.2f epoll %.2f futex %.2f "
                           "fdatasync %.3f)" % (r["all"], r["read"], r["write"], r["epoll"],
                                                r["futex"], r["fdatasync"]))
            if "sys" in what:
                r = measure_perf(name, bins[name], mode, a.requests)
                row.append("syscalls/SET %.2f (read %.2f write %.2f epoll %.2f futex %.3f) "
                           "SETs/fdatasync %s ctxsw/SET %.3f"
                           % (r["all"], r["read"], r["write"], r["epoll"], r["futex"],
                              "%.1f" % r["group"] if r["group"] else "-", r["cs"]))
                gc = r["gc"]
                if gc:
                    # per SET: fdatasyncs run by the worker itself, the AOF
                    # thread's waits for work and the signals that woke it
                    row.append("inline-fsyncs %.3f aof-thread-waits %.3f signals %.3f"
                               % (gc.get("inline_commits", 0), gc.get("thread_waits", 0),
                                  gc.get("thread_signals", 0)))
            if "group" in what:
                fs = measure_group(name, bins[name], mode, a.requests)
                row.append("SETs/fdatasync %s" % ("%.1f" % (a.requests / fs) if fs else "-"))
            if "ctx" in what:
                row.append("ctxsw/SET %.3f" % measure_ctx(name, bins[name], mode, a.requests))
            print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
