#!/usr/bin/env python3
"""The saver's CPU per key of a BGSAVE on an idle kvsd, for two or more kvsd binaries side by
side (issue 15): each kvsd --threads 1 pinned to the server core is filled with bench/persist.py's
dataset (--keys strings of 16-100 B, 10% with a TTL), then BGSAVEs go round the servers
--rounds times (A, B, A, B, ...: a machine whose load changes meanwhile shifts every binary
alike), each measured on the saver's own CPU clock (INFO kvsd rdb_saver_cpu_us, and its system
part rdb_saver_sys_us). Prints each binary's saver CPU per key per save, and the medians.

Usage: bench/save-cpu.py [--keys N] [--rounds N] --kvsd BIN --kvsd BIN [...]
Env: LOADGEN_BIN (build/loadgen/kvsd-loadgen), BENCH_CORES ("0,1": server core, fill core).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import persist  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--kvsd", action="append", default=[], required=True)
    opts = ap.parse_args()
    cores = os.environ.get("BENCH_CORES", "0,1").split(",")
    lg = os.environ.get("LOADGEN_BIN", os.path.join(persist.ROOT, "build/loadgen/kvsd-loadgen"))
    print("machine: %s" % benchlib.machine())
    procs, dirs, servers = [], [], []
    try:
        for b in opts.kvsd:
            d = tempfile.mkdtemp(prefix="kvsd-save-cpu-")
            dirs.append(d)
            s = benchlib.start("kvsd", b, cores[0], procs, ["--dir", d, "--save", ""])
            persist.fill(lg, s["port"], cores[1], opts.keys, "pipe")
            servers.append(s)
        per = [[] for _ in servers]
        for r in range(opts.rounds):
            for i, s in enumerate(servers):
                k0 = persist.info(s["port"], "kvsd")
                persist.timed_save(s["port"])
                k1 = persist.info(s["port"], "kvsd")
                cpu = int(k1["rdb_saver_cpu_us"]) - int(k0["rdb_saver_cpu_us"])
                sys_ = int(k1.get("rdb_saver_sys_us", 0)) - int(k0.get("rdb_saver_sys_us", 0))
                per[i].append(cpu * 1000 / opts.keys)
                print("round %d %s: saver CPU %.0f ns per key (system %.0f)" % (
                    r + 1, opts.kvsd[i], cpu * 1000 / opts.keys, sys_ * 1000 / opts.keys))
        for i, b in enumerate(opts.kvsd):
            print("%s: median %.0f ns per key (min %.0f, max %.0f)" % (
                b, statistics.median(per[i]), min(per[i]), max(per[i])))
    finally:
        benchlib.stop(procs)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
