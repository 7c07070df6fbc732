#!/usr/bin/env python3
"""Mixed workload (issue 13): 80% string GET/SET + 20% hash/set/sorted-set commands from 50
clients, against kvsd and redis-server in the same run. Issue 13 asks that kvsd's GET p99 in
the mixed run stay within 10% of its GET p99 in the string-only run; this script prints that
comparison (and redis-server's, and the kvsd/redis ratios).

Both servers run pinned to the server core (default 0; kvsd --threads 1 unless
--kvsd-threads), and are filled once: key:000000000000.. (--keys strings of 64 bytes, the
names kvsd-loadgen uses), and --keys each of h:N (hash of 10 fields f0..f9), s:N (set of the
integers 0..4), z:N (sorted set of 20 members m0..m19). kvsd-loadgen (--threads 1, pinned to
the client core) then runs, per server and run, alternating which server goes first:
  string-only: kvsd-loadgen -c 50 --ratio 1:10 --keys K --duration S
  mixed:       the same + --mix for each of MIX below (20% in all), so GET/SET keep 80% of the
               requests with the same 1:10 split; GET's latency row is GETs alone.
--rate OPS runs both open loop at the same offered load (latency from the intended send
time); the default is closed loop. It prints medians of --runs runs.

Usage: bench/mixed.py [--runs N] [--seconds S] [--keys K] [--rate OPS] [--quick]
Env: KVSD_BIN (build/server/kvsd), REDIS_BIN (redis-server), LOADGEN_BIN
     (build/loadgen/kvsd-loadgen), BENCH_CORES ("0,1": server core, client core).
"""
import argparse
import os
import socket
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = 50
# (percent of all requests, template); 20% in all. Writes keep the collections' sizes:
# HSET rewrites field f3, ZADD rescores member m7; SADD adds key-space integers (a few
# thousand per run over all the sets).
MIX = [
    (3, "HSET h:__rand_int__ f3 v__rand_int__"),
    (4, "HGET h:__rand_int__ f7"),
    (2, "SADD s:__rand_int__ __rand_int__"),
    (3, "SISMEMBER s:__rand_int__ 3"),
    (2, "ZADD z:__rand_int__ __rand_int__ m7"),
    (3, "ZSCORE z:__rand_int__ m7"),
    (3, "ZRANGE z:__rand_int__ 0 9 WITHSCORES"),
]


def fill(port, keys):
    c = socket.create_connection(("127.0.0.1", port))

    for base in range(0, keys, 500):
        cmds = []
        for i in range(base, min(keys, base + 500)):
            cmds.append([b"SET", b"key:%012d" % i, b"x" * 64])
            cmds.append([b"HSET", b"h:%012d" % i] +
                        [x for j in range(10) for x in (b"f%d" % j, b"v%d" % j)])
            cmds.append([b"SADD", b"s:%012d" % i] + [b"%d" % j for j in range(5)])
            cmds.append([b"ZADD", b"z:%012d" % i] +
                        [x for j in range(20) for x in (b"%d" % j, b"m%d" % j)])
        benchlib.send_pipeline(c, cmds)
    c.close()


def loadgen_args(a, mixed):
    args = ["-c", str(CLIENTS), "--threads", "1", "--ratio", "1:10", "--keys", str(a.keys),
            "--duration", str(a.seconds)]
    if a.rate:
        args += ["--rate", str(a.rate)]
    if mixed:
        for w, t in MIX:
            args += ["--mix", "%g:%s" % (w, t)]
    return args


def loadgen(binary, server, core, args):
    rep = benchlib.loadgen(server, args, core=core, binary=binary)
    return rep["per_type"]["GET"]["p99_us"], rep["ops_per_sec"]


def quote(args):
    return " ".join("'%s'" % x if " " in x else x for x in args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--rate", type=float, default=0, help="open loop at OPS requests/s")
    ap.add_argument("--kvsd-threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true",
                    help="1 run of 1 s over 2000 keys: checks the script, measures nothing")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.seconds, a.keys = 1, 1, 2000
    srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    lg = os.environ.get("LOADGEN_BIN", os.path.join(ROOT, "build/loadgen/kvsd-loadgen"))
    kextra = ["--threads", str(a.kvsd_threads)] if a.kvsd_threads != 1 else []
    print("machine: %s" % benchlib.machine())
    print("kvsd:        %s" % benchlib.server_command(kvsd, srv_core, kextra))
    print("redis:       %s" % benchlib.server_command(redis, srv_core))
    for name, mixed in (("string-only", False), ("mixed", True)):
        print("%-12s taskset -c %s %s -p PORT --json FILE %s"
              % (name + ":", cli_core, lg, quote(loadgen_args(a, mixed))))
    sys.stdout.flush()
    procs = []
    res = {"kvsd": {"string": [], "mixed": []}, "redis": {"string": [], "mixed": []}}
    try:
        servers = [benchlib.start("kvsd", kvsd, srv_core, procs, kextra),
                   benchlib.start("redis", redis, srv_core, procs)]
        for s in servers:
            fill(s["port"], a.keys)
        for run in range(a.runs):
            for s in (servers if run % 2 == 0 else servers[::-1]):
                res[s["name"]]["string"].append(loadgen(lg, s, cli_core, loadgen_args(a, False)))
                res[s["name"]]["mixed"].append(loadgen(lg, s, cli_core, loadgen_args(a, True)))
            print("  run %d done" % (run + 1), file=sys.stderr, flush=True)
    finally:
        benchlib.stop(procs)
    med = {n: {k: [statistics.median(x[i] for x in v) for i in range(2)] for k, v in r.items()}
           for n, r in res.items()}
    print()
    print("| server | GET p99 string-only us | GET p99 mixed us | mixed/string-only | "
          "ops/s string-only | ops/s mixed |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in ("kvsd", "redis"):
        m = med[n]
        print("| %s | %.1f | %.1f | %.3f | %.0f | %.0f |"
              % (n, m["string"][0], m["mixed"][0], m["mixed"][0] / m["string"][0],
                 m["string"][1], m["mixed"][1]))
    k, r = med["kvsd"], med["redis"]
    print("| kvsd/redis | %.2fx | %.2fx | | %.2fx | %.2fx |"
          % (k["string"][0] / r["string"][0], k["mixed"][0] / r["mixed"][0],
             k["string"][1] / r["string"][1], k["mixed"][1] / r["mixed"][1]))
    ratio = k["mixed"][0] / k["string"][0]
    print("issue 13: kvsd GET p99 mixed / string-only = %.3f (bound <= 1.10: %s)"
          % (ratio, "within" if ratio <= 1.10 else "OUTSIDE"))
    print("(medians of %d run(s) of %g s, %d clients, %s; server core %s, client core %s; "
          "latency ratios lower is better, ops/s higher)"
          % (a.runs, a.seconds, CLIENTS, "open loop at %g ops/s" % a.rate if a.rate
             else "closed loop", srv_core, cli_core))


if __name__ == "__main__":
    main()
