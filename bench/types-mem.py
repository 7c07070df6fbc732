#!/usr/bin/env python3
"""Memory of hashes, sets and sorted sets: kvsd vs redis-server 7.0, same data in both.

Issue 13's four datasets, each loaded through `redis-cli --pipe` from one generated RESP file
into a fresh server (kvsd --threads 1; redis-server --save '' --appendonly no):
  hashes10   N hashes of 10 short fields (f0..f9 -> 8-byte values)    per hash
  sets5      N sets of 5 integers                                      per set
  zset       one sorted set of N members ("m:" + 12 digits)            per member
  hashbig    one hash of N fields ("f:" + 12 digits -> 8-byte values) per field
and issue 14's two list datasets:
  list       one list of N 16-byte items (RPUSH, 100 per command)     per item
  lists10    N/10 lists of 10 16-byte items ("l:" + 12 digits)         per list
(issue 14's figures: redis-server 7.0.15 takes 18.2 B per item of a 1M-item list and 361 B
per 10-item list; kvsd's targets are <= 1.0x and <= 0.8x: `--only list,lists10`.)
It prints, per dataset, used_memory growth (INFO memory) and RSS growth per unit for both
servers, medians of --runs runs, and the kvsd/redis ratios, plus each server's OBJECT
ENCODING of one key (the comparison is only fair when both chose the same encoding class).

Usage: bench/types-mem.py [--n N] [--runs R] [--only NAME,...]   (default: issue 13's four)
Env: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resp(*argv):
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def gen(name, n, f):
    """Writes the dataset to f; returns (commands, units, a sample key)."""
    if name == "hashes10":
        for i in range(n):
            args = [b"HSET", b"h:%012d" % i]
            for j in range(10):
                args += [b"f%d" % j, b"v%07d" % j]
            f.write(resp(*args))
        return n, n, b"h:%012d" % 0
    if name == "sets5":
        for i in range(n):
            f.write(resp(b"SADD", b"s:%012d" % i, *[b"%d" % (i * 5 + j) for j in range(5)]))
        return n, n, b"s:%012d" % 0
    if name == "zset":
        cmds = 0
        for base in range(0, n, 100):
            args = [b"ZADD", b"z"]
            for i in range(base, min(n, base + 100)):
                args += [b"%d" % ((i * 7919) % n), b"m:%012d" % i]
            f.write(resp(*args))
            cmds += 1
        return cmds, n, b"z"
    if name == "hashbig":
        cmds = 0
        for base in range(0, n, 100):
            args = [b"HSET", b"H"]
            for i in range(base, min(n, base + 100)):
                args += [b"f:%012d" % i, b"v%07d" % (i % 10000000)]
            f.write(resp(*args))
            cmds += 1
        return cmds, n, b"H"
    if name == "list":
        cmds = 0
        for base in range(0, n, 100):
            f.write(resp(b"RPUSH", b"L", *[b"%016d" % i for i in range(base, min(n, base + 100))]))
            cmds += 1
        return cmds, n, b"L"
    if name == "lists10":
        for i in range(n // 10):
            f.write(resp(b"RPUSH", b"l:%012d" % i, *[b"%016d" % (i * 10 + j) for j in range(10)]))
        return n // 10, n // 10, b"l:%012d" % 0
    raise SystemExit("unknown dataset " + name)


def info_int(port, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "memory"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    raise SystemExit("no %s in INFO memory" % field)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(binary, path, cmds, units, sample):
    procs = []
    try:
        srv = benchlib.start(os.path.basename(binary), binary, "0", procs)
        port, pid = srv["port"], srv["proc"].pid
        u0, r0 = info_int(port, "used_memory"), rss_bytes(pid)
        with open(path, "rb") as f:
            out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                                 capture_output=True, text=True).stdout
        if "errors: 0, replies: %d" % cmds not in out:
            raise SystemExit("load failed on %s: %s" % (binary, out))
        time.sleep(1)  # let deferred frees and the allocator settle
        u1, r1 = info_int(port, "used_memory"), rss_bytes(pid)
        enc = subprocess.run(["redis-cli", "-p", str(port), "OBJECT", "ENCODING", sample],
                             capture_output=True, text=True).stdout.strip()
        return (u1 - u0) / units, (r1 - r0) / units, enc
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="hashes10,sets5,zset,hashbig")
    a = ap.parse_args()
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.only.split(","):
            path = os.path.join(tmp, name + ".resp")
            with open(path, "wb") as f:
                cmds, units, sample = gen(name, a.n, f)
            k, r = [], []
            for run in range(a.runs):
                k.append(measure(kvsd, path, cmds, units, sample))
                r.append(measure(redis, path, cmds, units, sample))
                print("  %s run %d: kvsd used %.1f rss %.1f (%s) | redis used %.1f rss %.1f (%s)"
                      % (name, run + 1, k[-1][0], k[-1][1], k[-1][2], r[-1][0], r[-1][1],
                         r[-1][2]), file=sys.stderr)
            ku = statistics.median(x[0] for x in k)
            kr = statistics.median(x[1] for x in k)
            ru = statistics.median(x[0] for x in r)
            rr = statistics.median(x[1] for x in r)
            print("%-9s n=%d  used_memory B/unit: kvsd %.1f redis %.1f ratio %.3f | "
                  "RSS B/unit: kvsd %.1f redis %.1f ratio %.3f | encodings %s / %s"
                  % (name, a.n, ku, ru, ku / ru, kr, rr, kr / rr, k[0][2], r[0][2]))


if __name__ == "__main__":
    main()
