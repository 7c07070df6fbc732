#!/usr/bin/env python3
"""Pub/Sub figures against redis-server in the same run (issue 17).

Servers on core 0 (kvsd --threads 1, and kvsd --threads 2 on --cores2), clients on core 1,
one server at a time, the servers taking turns run by run; tables show medians and kvsd's
ratios (raw, and per server CPU second = "per core").

1. fan-out: kvsd-loadgen --pubsub (or --psubscribe), 1 publisher (-P 8, -d 64), 100 and
   1,000 subscribers on one channel (patterns: each subscriber PSUBSCRIBEs 'lgps:000000*'):
   messages delivered per second (all subscribers), publish-to-receive p50/p99, server CPU
   share. Runs with lost/duplicate/out-of-order messages are reported, not hidden.
2. PUBLISH with 0 subscribers: redis-benchmark -c 50 -P 16 PUBLISH ch <64 B>.
3. memory: 1,000 subscribers that never read (SO_RCVBUF 4 KB), one publisher streaming 1 KB
   messages on their channel, both servers with client-output-buffer-limit pubsub 4mb 1mb
   60: the server's VmRSS (/proc/PID/status) before and after each step of --rss-steps
   messages, how many subscribers the server disconnected (1,000 - PUBSUB NUMSUB) and the
   others' omem (CLIENT LIST: what the limit compares); CONFIG GET shows the limit applied.

Usage: python3 bench/pubsub.py [--duration S] [--runs R] [--only fanout,publish,rss]
         [--subs 100,1000] [--pub-rate R] [--rss-steps 250,1000,2000,4000,5000,6000] [--kvsd BIN]
         [--redis BIN] [--loadgen BIN] [--cores2 0,2]
A smoke run: --duration 0.5 --runs 1 --subs 20 --publish-requests 20000 --rss-subs 50
"""

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBUF = ["--client-output-buffer-limit", "pubsub 4mb 1mb 60"]


def raise_fd_limit(need):
    """Servers, loadgen and the RSS clients inherit this: 1,000+ connections each."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(hard, max(need, soft))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < need:
        print("warning: fd limit %d < %d needed (raise the hard limit: ulimit -Hn)"
              % (want, need))


def servers(a):
    """(label, binary, core, extra) of the compared servers."""
    return [("kvsd-1w", a.kvsd, "0", []),
            ("kvsd-2w", a.kvsd, a.cores2, ["--threads", "2"]),
            ("redis", a.redis, "0", [])]


def fanout_once(a, label, binary, core, extra, subs, pattern):
    procs = []
    fd, out = tempfile.mkstemp(prefix="pubsub-bench-", suffix=".json")
    os.close(fd)
    try:
        srv = benchlib.start(label, binary, core, procs, extra)
        cmd = ["taskset", "-c", "1", a.loadgen, "-p", str(srv["port"]),
               "--psubscribe" if pattern else "--pubsub", "--subscribers", str(subs),
               "--publishers", "1", "-P", str(a.pipeline), "-d", str(a.size), "-t", "1",
               "--duration", str(a.duration), "--warmup", str(a.warmup), "--json", out]
        if a.pub_rate > 0:
            cmd += ["--rate", str(a.pub_rate)]
        pid = srv["proc"].pid
        c0, t0 = benchlib.cpu_seconds(pid), time.monotonic()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        cpu = (benchlib.cpu_seconds(pid) - c0) / (time.monotonic() - t0)
        if p.returncode != 0:
            sys.exit("kvsd-loadgen failed against %s:\n%s%s" % (label, p.stdout, p.stderr))
        with open(out) as f:
            ps = json.load(f)["pubsub"]
        bad = {k: ps[k] for k in ("lost", "duplicates", "out_of_order", "unexpected",
                                  "subscribers_disconnected") if ps[k]}
        if bad:
            print("  warning: %s %d subs %s: %r" % (label, subs,
                                                     "patterns" if pattern else "channel", bad))
        return {"rate": ps["delivered_per_sec"], "p50": ps["latency"]["p50_us"],
                "p99": ps["latency"]["p99_us"], "cpu": cpu,
                "pub": ps["published_measured"] / max(ps["delivery_s"], 1e-9)}
    finally:
        benchlib.stop(procs)
        os.unlink(out)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def fanout(a):
    print("\n1. fan-out: taskset -c 1 kvsd-loadgen --pubsub|--psubscribe --subscribers N "
          "--publishers 1 -P %d -d %d -t 1 --duration %g --warmup %g%s"
          % (a.pipeline, a.size, a.duration, a.warmup,
             " --rate %g" % a.pub_rate if a.pub_rate > 0 else " (closed loop)"))
    print("%-9s %-6s %-8s %12s %10s %10s %6s %12s" % ("mode", "subs", "server", "msgs/s",
                                                     "p50 us", "p99 us", "cpu", "msgs/cpu-s"))
    for pattern in (False, True):
        for subs in [int(x) for x in a.subs.split(",")]:
            res = {s[0]: [] for s in servers(a)}
            for _ in range(a.runs):
                for label, binary, core, extra in servers(a):
                    res[label].append(fanout_once(a, label, binary, core, extra, subs,
                                                  pattern))
            m = {}
            for label in res:
                r = res[label]
                m[label] = (med(r, "rate"), med(r, "cpu"))
                print("%-9s %-6d %-8s %12.0f %10.1f %10.1f %6.2f %12.0f"
                      % ("patterns" if pattern else "channel", subs, label, med(r, "rate"),
                         med(r, "p50"), med(r, "p99"), med(r, "cpu"),
                         med(r, "rate") / max(med(r, "cpu"), 1e-9)))
            rr, rc = m["redis"]
            for label in ("kvsd-1w", "kvsd-2w"):
                kr, kc = m[label]
                print("%-9s %-6d %-8s ratio %.2fx, per core %.2fx"
                      % ("", subs, label, kr / rr, (kr / max(kc, 1e-9)) / (rr / max(rc, 1e-9))))


def publish(a):
    payload = "x" * a.size
    args = ["-c", "50", "-P", "16", "-n", str(a.publish_requests), "PUBLISH", "ch", payload]
    print("\n2. PUBLISH, 0 subscribers: taskset -c 1 redis-benchmark -c 50 -P 16 -n %d "
          "PUBLISH ch <%d B>" % (a.publish_requests, a.size))

    def one(label, binary, core, extra):
        procs = []
        try:
            srv = benchlib.start(label, binary, core, procs, extra)
            rps, cpu, _ = benchlib.redis_benchmark(srv, "1", args, "PUBLISH ch " + payload)
            return rps, cpu
        finally:
            benchlib.stop(procs)

    km, rm, kc, rc = benchlib.alternate(a.runs, lambda: one("kvsd", a.kvsd, "0", []),
                                        lambda: one("redis", a.redis, "0", []))
    print("kvsd %.0f/s (cpu %.2f)  redis %.0f/s (cpu %.2f)  ratio %.2fx, per core %.2fx"
          % (km, kc, rm, rc, km / rm, (km / max(kc, 1e-9)) / (rm / max(rc, 1e-9))))


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def numsub(port, ch):
    r = benchlib.command(port, "PUBSUB", "NUMSUB", ch)
    return int(r.split(b"\r\n")[-2][1:])


def subscriber_omem(port):
    """(median, max) omem of the subscribed clients CLIENT LIST shows."""
    om = []
    for line in benchlib.bulk_reply(port, "CLIENT", "LIST").splitlines():
        if " sub=1 " in line:
            for kv in line.split():
                if kv.startswith("omem="):
                    om.append(int(kv[5:]))
    om.sort()
    return (om[len(om) // 2], om[-1]) if om else (0, 0)


def rss_once(a, label, binary):
    """RSS after each step of the 1 KB stream to a-rss-subs subscribers that never read."""
    procs, subs = [], []
    ch = b"rss"
    try:
        srv = benchlib.start(label, binary, "0", procs, OBUF)
        pid, port = srv["proc"].pid, srv["port"]
        conf = benchlib.bulk_reply(port, "CONFIG", "GET", "client-output-buffer-limit").split("\r\n")[-2]
        print("%-8s client-output-buffer-limit: %s" % (label, conf))
        for _ in range(a.rss_subs):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nrss\r\n")
            subs.append(s)
        for s in subs:  # the confirmation, then never read again
            s.settimeout(10)
            got = b""
            while got.count(b"\r\n") < 6:
                got += s.recv(256)
        time.sleep(0.2)
        base = vmrss_kb(pid)
        pub = socket.create_connection(("127.0.0.1", port), timeout=30)
        msg = b"*3\r\n$7\r\nPUBLISH\r\n$3\r\nrss\r\n$1024\r\n" + b"m" * 1024 + b"\r\n"
        sent, rows = 0, []
        for step in [int(x) for x in a.rss_steps.split(",")]:
            while sent < step:
                n = min(100, step - sent)
                pub.sendall(msg * n)
                got = b""
                while got.count(b"\r\n") < n:
                    chunk = pub.recv(65536)
                    if not chunk:
                        sys.exit("%s closed the publisher's connection" % label)
                    got += chunk
                sent += n
            time.sleep(a.settle)
            rows.append((step, vmrss_kb(pid), a.rss_subs - numsub(port, ch),
                         subscriber_omem(port)))
        pub.close()
        return base, rows
    finally:
        for s in subs:
            s.close()
        benchlib.stop(procs)


def rss(a):
    print("\n3. memory: %d subscribers that never read (SO_RCVBUF 4096), 1 KB messages, "
          "client-output-buffer-limit pubsub 4mb 1mb 60; VmRSS %g s after each step"
          % (a.rss_subs, a.settle))
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem = f.read().split()
        print("(the kernel's send buffers, outside RSS, hold the first part of each "
              "subscriber's backlog: net.ipv4.tcp_wmem = %s)" % " ".join(wmem))
    except OSError:
        pass
    res = {}
    for label, binary in (("kvsd-1w", a.kvsd), ("redis", a.redis)):
        base, rows = rss_once(a, label, binary)
        res[label] = rows
        print("%-8s baseline (subscribed) %8.1f MB" % (label, base / 1024))
        for step, kb, gone, (om_med, om_max) in rows:
            print("%-8s after %6d messages %8.1f MB  (+%.1f MB)  disconnected %d  "
                  "omem of the others: median %d max %d"
                  % (label, step, kb / 1024, (kb - base) / 1024, gone, om_med, om_max))
    print("(a subscriber is disconnected once its omem, what its socket did not take, "
          "reaches the 4 MiB hard limit: the kernel's share per socket decides at which "
          "step, and under net.ipv4.tcp_mem pressure 1,000 sockets get ~1.1 MB each: "
          "redis-server 7.0.15 reached omem 4,182,816 at 5,000 and closed all 1,000 by 5,050)")
    for (step, kk, kg, _), (_, rk, rg, _) in zip(res["kvsd-1w"], res["redis"]):
        print("after %6d messages: redis RSS / kvsd RSS = %.1fx  (disconnected %d / %d)"
              % (step, rk / max(kk, 1), rg, kg))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="fanout,publish,rss")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--subs", default="100,1000")
    ap.add_argument("--pipeline", type=int, default=8)
    ap.add_argument("--pub-rate", type=float, default=0,
                    help="PUBLISHes/s for the fan-out runs (open loop; latency at a fixed "
                    "load); 0: closed loop, -P in flight (the default: throughput)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--publish-requests", type=int, default=2000000)
    ap.add_argument("--rss-subs", type=int, default=1000)
    ap.add_argument("--rss-steps", default="250,1000,2000,4000,5000,6000")
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--cores2", default="0,2" if (os.cpu_count() or 1) > 2 else "0",
                    help="cores of kvsd --threads 2 (default 0,2; 0 on a 2-CPU machine)")
    ap.add_argument("--kvsd", default=os.path.join(ROOT, "build", "server", "kvsd"))
    ap.add_argument("--loadgen", default=os.path.join(ROOT, "build", "loadgen", "kvsd-loadgen"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    a = ap.parse_args()
    raise_fd_limit(2 * max([int(x) for x in a.subs.split(",")] + [a.rss_subs]) + 256)
    print("machine: %s" % benchlib.machine())
    print("kvsd-1w: %s" % benchlib.server_command(a.kvsd, "0"))
    print("kvsd-2w: %s" % benchlib.server_command(a.kvsd, a.cores2, ["--threads", "2"]))
    print("redis:   %s" % benchlib.server_command(a.redis, "0"))
    print("(medians of %d runs, servers by turns; cpu = server CPU share of the wall time)"
          % a.runs)
    only = a.only.split(",")
    if "fanout" in only:
        fanout(a)
    if "publish" in only:
        publish(a)
    if "rss" in only:
        rss(a)


if __name__ == "__main__":
    main()
