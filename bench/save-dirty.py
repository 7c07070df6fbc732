#!/usr/bin/env python3
"""Load-independent figures of a BGSAVE's write-out and memory (issue 15:
rdb-save-incremental-fsync), for kvsd, with the setting yes and no in turn.

kvsd (--threads 1, --save '', --dir a fresh directory under --dir, default
/tmp) is filled with --keys strings of --value bytes through `redis-cli
--pipe`. Then, --runs times for each setting (yes, no, yes, no, ...):
  BGSAVE on the idle server; while it runs, /proc/meminfo (Dirty, Writeback,
  Cached) and kvsd's VmRSS are sampled every 5 ms. With --overwrite K, the
  save is stretched with rdb-key-save-delay (--delay, a negative value: 1 us
  every -N keys) and K pipelined SETs overwrite existing keys (same value
  size) while it runs, so the RSS it costs is measured against a fixed
  number of overwritten bytes rather than a load.
Printed per save: the file size, the save's wall time (noisy on a shared
machine), the incremental syncs kvsd logged, the peak of Dirty+Writeback
over its value before the save (system-wide: other writers add to it), the
growth of the page cache (Cached) at the end of the save, and kvsd's RSS
before, at its peak and after.

Usage: bench/save-dirty.py [--keys N] [--value B] [--runs N] [--overwrite K]
                           [--delay D] [--dir PATH]
Env: KVSD_BIN (build/server/kvsd).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KVSD = os.environ.get("KVSD_BIN", os.path.join(HERE, "..", "build", "server", "kvsd"))
sys.path.insert(0, HERE)
from benchlib import free_port  # noqa: E402


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + [str(a) for a in args],
                          capture_output=True, text=True, check=True).stdout.strip()


def meminfo():
    m = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            m[k] = int(v.split()[0])  # kB
    return m


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def resp_sets(first, n, value):
    out = bytearray()
    for i in range(first, first + n):
        k = b"key:%d" % i
        out += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(value), value)
    return bytes(out)


def pipe(port, data):
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                   capture_output=True, check=True)


def one_save(port, pid, logf, setting, a):
    cli(port, "CONFIG", "SET", "rdb-save-incremental-fsync", setting)
    cli(port, "CONFIG", "SET", "rdb-key-save-delay", a.delay if a.overwrite else 0)
    ow = resp_sets(0, a.overwrite, b"y" * a.value) if a.overwrite else None
    m0 = meminfo()
    base = m0["Dirty"] + m0["Writeback"]
    r0 = rss_kb(pid)
    peak_dirty, peak_rss = base, r0
    logpos = os.path.getsize(logf)
    t0 = time.monotonic()
    cli(port, "BGSAVE")
    th = None
    if ow:
        th = threading.Thread(target=pipe, args=(port, ow))
        th.start()
    while True:
        m = meminfo()
        peak_dirty = max(peak_dirty, m["Dirty"] + m["Writeback"])
        peak_rss = max(peak_rss, rss_kb(pid))
        if "rdb_bgsave_in_progress:0" in cli(port, "INFO", "persistence"):
            break
        time.sleep(0.005)
    secs = time.monotonic() - t0
    m1 = meminfo()
    if th:
        th.join()
    with open(logf) as f:
        f.seek(logpos)
        syncs = [l for l in f.read().splitlines() if "background save:" in l]
    line = syncs[-1].split("background save:")[1].strip() if syncs else "?"
    return {"setting": setting, "secs": secs, "log": line,
            "dirty_peak_mb": (peak_dirty - base) / 1024,
            "cached_growth_mb": (m1["Cached"] - m0["Cached"]) / 1024,
            "rss0_mb": r0 / 1024, "rss_peak_mb": peak_rss / 1024,
            "rss1_mb": rss_kb(pid) / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--value", type=int, default=100)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--overwrite", type=int, default=0)
    ap.add_argument("--delay", type=int, default=-20)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="save-dirty-", dir=a.dir)
    port = free_port()
    logf = os.path.join(d, "kvsd.log")
    p = subprocess.Popen([KVSD, "--port", str(port), "--bind", "127.0.0.1", "--threads", "1",
                          "--save", "", "--dir", d, "--loglevel", "verbose",
                          "--logfile", logf])
    try:
        for _ in range(100):
            try:
                cli(port, "PING")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.05)
        st = subprocess.run(["stat", "-f", "-c", "%T", d], capture_output=True, text=True)
        print("dir %s (%s), %d keys of %d B" % (d, st.stdout.strip(), a.keys, a.value))
        chunk = 200000
        for i in range(0, a.keys, chunk):
            pipe(port, resp_sets(i, min(chunk, a.keys - i), b"x" * a.value))
        print("| incremental | save s | kvsd log | dirty+wb peak MB | cached growth MB |"
              " RSS before MB | RSS peak MB | RSS after MB |")
        print("|---|---:|---|---:|---:|---:|---:|---:|")
        for _ in range(a.runs):
            for setting in ("yes", "no"):
                r = one_save(port, p.pid, logf, setting, a)
                print("| %s | %.2f | %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
                    r["setting"], r["secs"], r["log"], r["dirty_peak_mb"],
                    r["cached_growth_mb"], r["rss0_mb"], r["rss_peak_mb"], r["rss1_mb"]))
                sys.stdout.flush()
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
