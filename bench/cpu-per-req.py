#!/usr/bin/env python3
"""Server CPU time per request at pipeline 1 (issue 19's first goal: redis/kvsd >= 1.2x for GET
and SET), kvsd --threads 1 vs redis-server --save '' --appendonly no, each pinned to core 0,
redis-benchmark on core 1, 50 connections, -P 1, 64-byte values (-d 64, keyspace of 100k keys
with -r so GETs hit after the SET run).

Per run and server: the server's utime + stime (/proc/PID/stat) over the redis-benchmark run,
divided by the requests; runs alternate kvsd / redis, and the medians of --runs N are printed
as microseconds per request (user, system, total) and redis/kvsd (> 1: kvsd spends less).
For kvsd it also prints, from INFO kvsd worker0 / worker0_io, the system calls per request by
kind (reads, of which EAGAIN, writes, epoll_waits = polls + parks) and wake-ups per request, so
the CPU figure can be explained by counts (redis-server has no such counters: strace -c -f -p
gives its counts, see docs/BENCHMARKS.md).

For both servers it also prints context switches per request (voluntary: the server slept,
mostly in a blocking epoll_wait; involuntary: preempted), summed over the process's threads from
/proc/PID/task/*/status. With --perf it counts, for both servers, system calls per request by
kind with `perf stat -e` on the syscall tracepoints attached to the server (in-kernel counting:
unlike strace it does not stop the server at each call, so it does not change the batching):
all system calls, epoll_wait (+ epoll_pwait, epoll_pwait2), read (+ recvfrom), write (+ sendto).

Batched sends and reads (io-uring yes, net/uring.h, net/task.c's read-ahead): the counters
include ring_submits (io_uring_enter calls), ring_sends (sends made through the ring, also
counted in writes) and ring_reads (reads made through the ring, also counted in reads); "sys" is
the socket and loop system calls per request from the counters: reads + writes - ring_reads -
ring_sends + ring_submits + epoll_waits. With --uring-ab a second kvsd with --io-uring no runs in the same alternation
(row kvsd-send), so the two are compared under the same load.

With --cpu-quota PCT every server is capped at PCT% of its core (CFS bandwidth control,
benchlib.cpu_quota; root). One redis-benchmark core cannot saturate a server core at pipeline
1 on a machine where the server keeps up: it then wakes per request or two and finds ~1
connection ready per pass, which no batching can help. Capped below the client's rate, both
servers are saturated, each pass finds the connections that became ready meanwhile, and the
CPU per request is that of a busy server; requests/s over the cap (printed per test) is the
per-core throughput.

Tests besides redis-benchmark's (get, set, lpush, ...): kvsd-loadgen's workloads, as
loadgen/compare.sh names them, run by kvsd-loadgen (one thread, 50 connections, 100,000 keys,
64-byte values, -P as given, --requests N): zipf (--ratio 1:10 --dist zipf:0.99), cache
(--workload cache --dist zipf:0.99), lg-get (--ratio 0:1), lg-set (--ratio 1:0). With any of
them every server is first prefilled with kvsd-loadgen's 100,000 keys, the same names
redis-benchmark -r 100000 uses. Every row also prints tcp_segs: TCP segments in and out per
request over the run (/proc/net/snmp, the whole machine's: run it on a quiet one). Loopback
counts each segment twice, sent and received, so 4.0 is one segment each way per request (the
reply carries the ACK of the request).

Usage: bench/cpu-per-req.py [--runs N] [-n REQUESTS] [--tests get,set,zipf,cache] [--cores 0,1]
       [--perf] [--uring-ab] [-P PIPELINE] [--cpu-quota PCT]
Env: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server), LOADGEN_BIN
(default build/loadgen/kvsd-loadgen).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_split(pid):
    """(utime, stime) of a running process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / benchlib.HZ, int(fields[12]) / benchlib.HZ


def minor_faults(pid):
    """Minor page faults of the process so far (/proc/PID/stat minflt)."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def ctx_switches(pid):
    """(voluntary, involuntary) context switches summed over the threads of pid."""
    vol = inv = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        inv += int(line.split()[1])
        except OSError:
            pass  # the thread ended meanwhile
    return vol, inv


PERF_EVENTS = {
    "sys": ["raw_syscalls:sys_enter"],
    "epoll": ["syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_epoll_pwait",
              "syscalls:sys_enter_epoll_pwait2"],
    "rd": ["syscalls:sys_enter_read", "syscalls:sys_enter_recvfrom"],
    "wr": ["syscalls:sys_enter_write", "syscalls:sys_enter_sendto"],
}


def perf_start(pid):
    events = ",".join(e for es in PERF_EVENTS.values() for e in es)
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", events, "-p", str(pid)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def perf_stop(p):
    """Stops perf stat (SIGINT prints its counts); returns {kind: count}."""
    p.send_signal(2)
    err = p.communicate(timeout=30)[1]
    counts = {}
    for line in err.splitlines():
        cols = line.split(",")
        if len(cols) > 2 and cols[0].strip().isdigit():
            counts[cols[2]] = int(cols[0])
    return {k: sum(counts.get(e, 0) for e in es) for k, es in PERF_EVENTS.items()}


# kvsd-loadgen workloads (loadgen/compare.sh's), by test name
LOADGEN_TESTS = {
    "zipf": ["--ratio", "1:10", "--dist", "zipf:0.99"],
    "cache": ["--workload", "cache", "--dist", "zipf:0.99"],
    "lg-get": ["--ratio", "0:1"],
    "lg-set": ["--ratio", "1:0"],
}


def tcp_segments():
    """InSegs + OutSegs of the machine's TCP so far (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    head, vals = rows[0], rows[1]
    return int(vals[head.index("InSegs")]) + int(vals[head.index("OutSegs")])


def client_run(server, core, test, n, pipeline):
    """One client run: redis-benchmark, or kvsd-loadgen for a LOADGEN_TESTS name. Returns
    (requests made, requests/s)."""
    if test in LOADGEN_TESTS:
        rep = benchlib.loadgen(server, ["-t", 1, "-c", 50, "--keys", 100000, "-d", 64,
                                        "-P", pipeline, "--requests", n]
                               + LOADGEN_TESTS[test], core=core)
        return rep["requests"], rep["ops_per_sec"]
    cmd = ["taskset", "-c", core, "redis-benchmark", "-p", str(server["port"]), "-c", "50",
           "-P", str(pipeline), "-d", "64", "-r", "100000", "-n", str(n), "-t", test, "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("redis-benchmark failed against %s: %s" % (server["name"], r.stdout + r.stderr))
    m = re.findall(r"([0-9.]+) requests per second", r.stdout)
    return n, float(m[-1]) if m else float("nan")


def kvsd_io(port):
    """Sums of worker0's scheduler and I/O counters (INFO kvsd), as a dict."""
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "kvsd"], capture_output=True,
                         text=True).stdout
    d = {}
    for line in out.splitlines():
        if re.match(r"worker\d+(_io)?:", line):
            for kv in line.split(":", 1)[1].strip().split(","):
                k, v = kv.split("=")
                d[k] = d.get(k, 0) + int(v)
    return d


def one_run(server, core, test, n, kvsd, perf, pipeline=1):
    """Runs the client once (client_run); returns (user us/req, system us/req, kvsd counters/req or
    None, {context switches and perf counts}/req)."""
    pid = server["proc"].pid
    before = kvsd_io(server["port"]) if kvsd else None
    pp = perf_start(pid) if perf else None
    if pp:
        time.sleep(0.3)  # perf attaches before the run starts
    v0, i0 = ctx_switches(pid)
    f0 = minor_faults(pid)
    g0 = tcp_segments()
    u0, s0 = cpu_split(pid)
    t0 = time.monotonic()
    n, rps = client_run(server, core, test, n, pipeline)
    wall = time.monotonic() - t0
    u1, s1 = cpu_split(pid)
    g1 = tcp_segments()
    v1, i1 = ctx_switches(pid)
    extra = {"vcsw": (v1 - v0) / n, "icsw": (i1 - i0) / n,
             "minflt": (minor_faults(pid) - f0) / n, "tcp_segs": (g1 - g0) / n}
    extra["rps"] = rps
    extra["share"] = (u1 - u0 + s1 - s0) / wall
    if pp:
        extra.update({k: v / n for k, v in perf_stop(pp).items()})
    per = None
    if kvsd:
        after = kvsd_io(server["port"])
        per = {k: (after[k] - before.get(k, 0)) / n for k in after}
    return (u1 - u0) * 1e6 / n, (s1 - s0) * 1e6 / n, per, extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-n", type=int, default=1000000, help="requests per run")
    ap.add_argument("--tests", default="get,set")
    ap.add_argument("--cores", default="0,1", help="server core, client core")
    ap.add_argument("--perf", action="store_true",
                    help="also count system calls per request with perf stat (root)")
    ap.add_argument("-P", "--pipeline", type=int, default=1,
                    help="redis-benchmark -P (default 1, issue 19's setting)")
    ap.add_argument("--uring-ab", action="store_true",
                    help="also run kvsd --io-uring no in the same alternation")
    ap.add_argument("--cpu-quota", type=float, default=0,
                    help="cap every server at this percent of its core (root)")
    a = ap.parse_args()
    srv_core, cli_core = a.cores.split(",")
    kvsd_bin = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis_bin = os.environ.get("REDIS_BIN", "redis-server")
    print("machine: %s" % benchlib.machine())
    print("kvsd:  %s" % benchlib.server_command(kvsd_bin, srv_core))
    print("redis: %s" % benchlib.server_command(redis_bin, srv_core))
    lg_tests = [t for t in a.tests.split(",") if t in LOADGEN_TESTS]
    print("client: taskset -c %s redis-benchmark -c 50 -P %d -d 64 -r 100000 -n %d -t TEST"
          % (cli_core, a.pipeline, a.n))
    if lg_tests:
        print("client for %s: taskset -c %s kvsd-loadgen -t 1 -c 50 --keys 100000 -d 64 -P %d "
              "--requests %d + the workload's options" % (",".join(lg_tests), cli_core,
                                                           a.pipeline, a.n))
    procs = []
    uncap = []
    try:
        k = benchlib.start("kvsd", kvsd_bin, srv_core, procs)
        r = benchlib.start("redis", redis_bin, srv_core, procs)
        kvsds = [("kvsd", k)]
        if a.uring_ab:
            print("kvsd-send: the kvsd command with --io-uring no")
            kvsds.append(("kvsd-send", benchlib.start("kvsd-send", kvsd_bin, srv_core, procs,
                                                      ["--io-uring", "no"])))
        if a.cpu_quota:
            print("cap: every server at %g%% of core %s (CFS bandwidth control)"
                  % (a.cpu_quota, srv_core))
            for s in [x[1] for x in kvsds] + [r]:
                uncap.append(benchlib.cpu_quota(s["proc"].pid, a.cpu_quota))
        # the GET runs read what a SET run wrote: fill them first (kvsd-loadgen's prefill
        # writes every one of the 100,000 keys, redis-benchmark's -r draws most of them)
        for s in [x[1] for x in kvsds] + [r]:
            if lg_tests:
                benchlib.loadgen(s, ["--prefill", "--keys", 100000, "-d", 64, "--requests", 1,
                                     "-c", 50], core=cli_core)
            else:
                subprocess.run(["redis-benchmark", "-p", str(s["port"]), "-c", "50", "-P", "16",
                                "-d", "64", "-r", "100000", "-n", "200000", "-t", "set", "-q"],
                               capture_output=True, check=True)
        print("%-9s %8s %8s %8s  %8s %8s %8s  %8s  %s" % (
            "test", "k_user", "k_sys", "k_us", "r_user", "r_sys", "r_us", "redis/kvsd",
            "kvsd per request"))
        for test in a.tests.split(","):
            kr = {name: [] for name, _ in kvsds}
            rr = []
            for _ in range(a.runs):
                for name, srv in kvsds:
                    kr[name].append(one_run(srv, cli_core, test, a.n, True, a.perf, a.pipeline))
                rr.append(one_run(r, cli_core, test, a.n, False, a.perf, a.pipeline))
                time.sleep(0.2)
            ru = statistics.median(x[0] for x in rr)
            rs = statistics.median(x[1] for x in rr)
            rt = statistics.median(x[0] + x[1] for x in rr)
            for name, _ in kvsds:
                runs = kr[name]
                ku = statistics.median(x[0] for x in runs)
                ks = statistics.median(x[1] for x in runs)
                kt = statistics.median(x[0] + x[1] for x in runs)
                keys = ["reads", "reads_eagain", "writes", "writes_eagain", "polls", "parks",
                        "wakeups", "steals", "tasks", "ring_submits", "ring_sends", "ring_reads"]
                per = {key: statistics.median(x[2].get(key, 0) for x in runs) for key in keys}
                per["epoll_waits"] = per["polls"] + per["parks"]
                per["sys"] = statistics.median(
                    x[2].get("reads", 0) + x[2].get("writes", 0) - x[2].get("ring_reads", 0) -
                    x[2].get("ring_sends", 0) + x[2].get("ring_submits", 0) +
                    x[2].get("polls", 0) + x[2].get("parks", 0)
                    for x in runs)
                desc = " ".join("%s=%.3f" % (key, per[key]) for key in
                                ["sys", "reads", "reads_eagain", "writes", "ring_submits",
                                 "ring_sends", "ring_reads", "epoll_waits", "parks", "wakeups",
                                 "steals", "tasks"])
                ratio = rt / kt if kt > 0 else float("nan")
                label = test if name == "kvsd" else "%s/%s" % (test, name)
                print("%-9s %8.2f %8.2f %8.2f  %8.2f %8.2f %8.2f  %8.2fx  %s" % (
                    label, ku, ks, kt, ru, rs, rt, ratio, desc))
            if a.cpu_quota:
                rps = {name: statistics.median(x[3]["rps"] for x in runs)
                       for name, runs in list(kr.items()) + [("redis", rr)]}
                print("     per core at the %g%% cap (req/s / %g): %s" % (
                    a.cpu_quota, a.cpu_quota / 100, " ".join(
                        "%s=%.0f" % (name, v * 100 / a.cpu_quota) for name, v in rps.items())
                    + " kvsd/redis=%.2fx" % (rps["kvsd"] / rps["redis"])))
                print("     CPU share of the core (a share well under the cap: not saturated, "
                      "the rate is the client's): %s" % " ".join(
                          "%s=%.0f%%" % (name, 100 * statistics.median(x[3]["share"] for x in runs))
                          for name, runs in list(kr.items()) + [("redis", rr)]))
            ekeys = ["vcsw", "icsw", "minflt", "tcp_segs"] + (list(PERF_EVENTS) if a.perf else [])
            for name, runs in list(kr.items()) + [("redis", rr)]:
                print("     %-9s per request: %s" % (name, " ".join(
                    "%s=%.3f" % (key, statistics.median(x[3][key] for x in runs))
                    for key in ekeys)))
        print("(microseconds of server CPU per request, medians of %d alternating runs)"
              % a.runs)
    finally:
        benchlib.stop(procs)
        for f in uncap:
            f()


if __name__ == "__main__":
    main()
