#!/usr/bin/env python3
"""Persistence figures (issue 15): latency during BGSAVE vs outside it, peak memory during a
save, and save and load times, for kvsd (forkless snapshot) and redis-server (fork) in the
same run.

Each server runs pinned to the server core (kvsd --threads 1: its saver thread shares that
core, as redis-server's forked child does), with --dir a fresh temporary directory and no
save rules. It is filled with --keys strings key:000000000000.. of 16-100 bytes (kvsd-loadgen
--prefill), 10% of them with a one-day TTL. Then, per run:
  save:    BGSAVE on the quiet server, timed (INFO persistence until rdb_bgsave_in_progress:0)
  quiet:   kvsd-loadgen -c 50 --ratio 1:4 (20% SET, 80% GET) -d 16-100 for the window
  saving:  the same load while BGSAVE runs back to back for the whole window, each one
           timed from BGSAVE to rdb_bgsave_in_progress:0 (the time a save takes under a
           saturating load; kvsd: with the loans of the worker's core to its starving
           saver, INFO kvsd rdb_saver_lends, _lends_used, _lent_us, rdb_saver_cpu_us,
           counted over the window, and bgsave-cpu-percent, settable with --kvsd-arg); the
           server's peak RSS over the phase (VmHWM; for redis-server the parent's, plus the
           child's copy-on-write size that it reports as rdb_last_cow_size)
Both windows carry the same sampler (this script, pinned to the client core: every 50 ms
the server's RSS, /proc/vmstat and INFO persistence on one connection kept open), so the
save is all that differs between them. (Before 2026-12-07 the sampler ran while saving only,
unpinned, every 10 ms on a new connection each time: on the server's core, ahead of its
worker, in the saving window alone; figures taken before then carry that.)
  load:    SAVE, restart on the same directory, time until PING answers +PONG (with
           --load-threads N: kvsd restarted with --threads N on N cores, redis-server on the
           same cores; kvsd decodes a large file on every worker)
Fill (--fill): "pipe" (default) streams pipelined SETs (SET key val, every 10th with PX one day)
through `redis-cli --pipe`, the same bytes to both servers: 10M keys fill in about a minute;
"loadgen" is the older kvsd-loadgen --prefill + PEXPIRE pass. Datasets live in a fresh
directory under --dir (default $TMPDIR or /tmp; the filesystem is printed): save and load
time are measured with the file on that disk (--drop-caches: drop the page cache before each
load, needs root; off by default as it slows every other process on the machine).
--no-latency skips the quiet/saving windows (save and load time only: the 10M-key figures).
The window is --seconds, or longer if one save takes longer (at least two saves fit in it).
It prints p50/p99/p99.9/max of both phases for both servers, kvsd's p99 ratio saving/quiet
(goal <= 1.5), its peak RSS over the pre-save RSS against the bytes written during the save
(goal: peak <= pre + overwritten + 64 MB), redis-server's latest_fork_usec and
rdb_last_cow_size, and medians over --runs. Per phase it also prints the worker's (the server's
busiest thread's) CPU, runqueue wait and voluntary / involuntary context switches
(/proc/PID/task/*/schedstat and status), and, while saving, the machine's nr_dirty peak over its
value at the start and nr_writeback peak (/proc/vmstat, sampled every 50 ms).
--servers kvsd (or redis) measures one server only (A/B runs of two kvsd builds via KVSD_BIN).

Usage: bench/persist.py [--keys N] [--seconds S] [--runs N] [--quick] [--fill pipe|loadgen]
                        [--load-threads N] [--no-latency] [--dir PATH] [--drop-caches]
                        [--servers both|kvsd|redis] [--kvsd-arg ARG]...
  e.g. the 10M figures: bench/persist.py --keys 10000000 --runs 3 --no-latency --load-threads 2
Env: KVSD_BIN (build/server/kvsd), REDIS_BIN (redis-server), LOADGEN_BIN
     (build/loadgen/kvsd-loadgen), BENCH_CORES ("0,1": server core, client core).
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = 50
SAMPLE_S = 0.05  # the sampler's period: a save's time is known to +-50 ms
VALUE = "16-100"


def parse_info(r):
    """INFO's reply bytes as a dict of its fields."""
    out = {}
    for line in r.decode(errors="replace").split("\r\n"):
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def info(port, section="persistence"):
    return parse_info(benchlib.command(port, "INFO", section))


class Poller:
    """One connection kept open for the sampler's INFO polls and BGSAVEs: the old sampler's
    new connection per poll (100 a second) made the server accept and close them, in the
    saving window only."""

    def __init__(self, port):
        self.c = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.c.makefile("rb")

    def call(self, *argv):
        self.c.sendall(benchlib.resp(*argv))
        head = self.f.readline()
        if head.startswith(b"$"):
            n = int(head[1:])
            return self.f.read(n + 2)[:-2] if n >= 0 else b""
        return head

    def info(self, section="persistence"):
        return parse_info(self.call("INFO", section))

    def close(self):
        self.f.close()
        self.c.close()


def vmstat():
    """nr_dirty and nr_writeback of the whole machine, in pages."""
    out = {}
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                k, v = line.split()
                if k in ("nr_dirty", "nr_writeback"):
                    out[k] = int(v)
    except OSError:
        pass
    return out


def tasks(pid):
    """Per thread of pid: run ns, runqueue-wait ns (/proc schedstat), voluntary and involuntary
    context switches (status)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                run, wait = (int(x) for x in f.read().split()[:2])
            vol = invol = 0
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol = int(line.split()[1])
            out[t] = (run, wait, vol, invol)
        except (OSError, ValueError):
            pass
    return out


def worker_delta(before, after):
    """The busiest thread's (the worker's, kvsd --threads 1; redis-server's main thread) run
    ms, runqueue-wait ms, voluntary and involuntary switches between two tasks() samples."""
    best = None
    for t, a in after.items():
        b = before.get(t)
        if b is None:
            continue
        d = tuple(x - y for x, y in zip(a, b))
        if best is None or d[0] > best[0]:
            best = d
    if best is None:
        return {}
    return {"run_ms": best[0] / 1e6, "rq_wait_ms": best[1] / 1e6, "vol_cs": best[2],
            "invol_cs": best[3]}


def rss_kb(pid, field="VmRSS:"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak(pid):
    """Restarts the process's peak RSS (VmHWM) from its RSS now; False where the kernel
    refuses (then the 50 ms samples of VmRSS are the peak)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def loadgen(binary, port, core, args, out):
    cmd = ["taskset", "-c", core, binary, "-p", str(port), "--json", out] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("kvsd-loadgen failed: %s %s" % (" ".join(cmd), p.stderr[-500:]))
    with open(out) as f:
        rep = json.load(f)
    os.unlink(out)
    return rep


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def pipe_fill(port, core, keys):
    """SET key:%012d (16-100 B of random letters; every 10th key with PX one day) for every
    key, streamed through redis-cli --pipe (the same bytes for both servers)."""
    import random
    rng = random.Random(15)
    pool = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                 for _ in range(8192))
    cli = shutil.which("redis-cli") or "redis-cli"
    p = subprocess.Popen(["taskset", "-c", core, cli, "-p", str(port), "--pipe"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunk = []
    px = b"86400000"
    for i in range(keys):
        n = 16 + (i * 7919) % 85
        o = (i * 131) % (len(pool) - 100)
        k = b"key:%012d" % i
        if i % 10 == 0:
            chunk.append(resp(b"SET", k, pool[o:o + n], b"PX", px))
        else:
            chunk.append(resp(b"SET", k, pool[o:o + n]))
        if len(chunk) == 10000:
            p.stdin.write(b"".join(chunk))
            chunk = []
    p.stdin.write(b"".join(chunk))
    p.stdin.close()
    out = p.stdout.read().decode(errors="replace")
    if p.wait() != 0 or "errors: 0" not in out:
        sys.exit("redis-cli --pipe failed: %s" % out[-500:])


def fill(lg, port, core, keys, how="loadgen"):
    if how == "pipe":
        pipe_fill(port, core, keys)
        return
    tmp = "/tmp/kvsd-persist-fill-%d.json" % os.getpid()
    loadgen(lg, port, core, ["--prefill", "--keys", str(keys), "-d", VALUE, "--requests", "1",
                             "-c", "1"], tmp)
    ttl = max(1, keys // 10)
    loadgen(lg, port, core, ["--command", "PEXPIRE key:__rand_int__ 86400000", "--dist",
                             "sequential", "--keys", str(ttl), "--requests", str(ttl), "-c",
                             "1", "-P", "64"], tmp)


def wait_saved(port, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if info(port).get("rdb_bgsave_in_progress") == "0":
            return
        time.sleep(0.005)
    sys.exit("BGSAVE did not finish in %d s" % timeout)


def bgsave(port):
    r = benchlib.command(port, "BGSAVE")
    if not r.startswith(b"+Background saving started"):
        sys.exit("BGSAVE refused: %r" % r)


def timed_save(port):
    t0 = time.monotonic()
    bgsave(port)
    wait_saved(port)
    dt = time.monotonic() - t0
    if info(port).get("rdb_last_bgsave_status") != "ok":
        sys.exit("BGSAVE failed")
    return dt


def lat_args(keys, seconds):
    return ["-c", str(CLIENTS), "--ratio", "1:4", "--keys", str(keys), "-d", VALUE,
            "--duration", "%g" % seconds]


def phase(lg, server, core, keys, seconds, saving):
    port, pid = server["port"], server["proc"].pid
    out = "/tmp/kvsd-persist-bench-%d.json" % os.getpid()
    stop = threading.Event()
    samples = {"peak_kb": 0, "saves": 0, "save_times": [], "unfinished_s": 0.0,
               "dirty_peak": 0, "wb_peak": 0}
    pre_kb = rss_kb(pid)
    vm0 = vmstat()
    t0s = tasks(pid)
    kv0 = info(port, "kvsd") if saving else {}

    # The sampler runs in both phases alike (RSS, vmstat and INFO persistence every
    # SAMPLE_S on one connection kept open); while saving it also starts BGSAVE after BGSAVE.
    # Only what differs between the phases is then the save. The peak RSS is the kernel's
    # high-water mark (VmHWM, restarted here), not the samples' maximum.
    poll = Poller(port)
    hwm = reset_peak(pid)

    def sampler():
        t0, busy = None, False
        if saving:
            time.sleep(0.3)
        while not stop.is_set():
            if saving and not busy:
                r = poll.call("BGSAVE")
                if not r.startswith(b"+Background saving started"):
                    sys.exit("BGSAVE refused: %r" % r)
                t0, busy = time.monotonic(), True
            samples["peak_kb"] = max(samples["peak_kb"], rss_kb(pid))
            vm = vmstat()
            samples["dirty_peak"] = max(samples["dirty_peak"], vm.get("nr_dirty", 0))
            samples["wb_peak"] = max(samples["wb_peak"], vm.get("nr_writeback", 0))
            done = poll.info().get("rdb_bgsave_in_progress") == "0"
            if busy and done:
                samples["saves"] += 1
                # each BGSAVE's time from start to end, all of it under the load
                samples["save_times"].append(time.monotonic() - t0)
                busy = False
                continue
            time.sleep(SAMPLE_S)
        if busy:
            samples["unfinished_s"] = time.monotonic() - t0  # cut by the window's end
            wait_saved(port)

    t = threading.Thread(target=sampler)
    t.start()
    rep = loadgen(lg, port, core, lat_args(keys, seconds), out)
    wk = worker_delta(t0s, tasks(pid))
    stop.set()
    t.join()
    poll.close()
    if hwm:
        samples["peak_kb"] = max(samples["peak_kb"], rss_kb(pid, "VmHWM:"))
    res = {k: rep[k] for k in ("p50_us", "p99_us", "p999_us", "max_us", "ops_per_sec")}
    res["sets"] = rep["per_type"].get("SET", {}).get("requests", 0)
    res["requests"] = rep["ops_per_sec"] * seconds
    res["worker"] = wk
    if saving:
        pi = info(port)
        st = info(port, "stats")
        kv = info(port, "kvsd")  # redis-server: an empty section

        def kvd(f):  # kvsd's counter over the window
            return int(kv.get(f, "0") or 0) - int(kv0.get(f, "0") or 0)
        res.update(pre_kb=pre_kb, peak_kb=samples["peak_kb"], saves=samples["saves"],
                   fork_usec=int(st.get("latest_fork_usec", "0") or 0),
                   cow_bytes=int(pi.get("rdb_last_cow_size", "0") or 0),
                   save_times=samples["save_times"], unfinished_s=samples["unfinished_s"],
                   lends=kvd("rdb_saver_lends"), lends_used=kvd("rdb_saver_lends_used"),
                   lent_us=kvd("rdb_saver_lent_us"), saver_cpu_us=kvd("rdb_saver_cpu_us"),
                   lent_cpu_us=kvd("rdb_saver_lent_cpu_us"),
                   asked_us=kvd("rdb_saver_asked_us"), wanted_us=kvd("rdb_saver_wanted_us"),
                   saver_sys_us=kvd("rdb_saver_sys_us"), preempted=kvd("rdb_saver_preempted"),
                   dirty_peak_mb=(samples["dirty_peak"] - vm0.get("nr_dirty", 0)) * 4096 / 1048576,
                   wb_peak_mb=samples["wb_peak"] * 4096 / 1048576)
    return res


def drop_caches():
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as e:
        sys.exit("--drop-caches: %s" % e)


def load_time(name, binary, core, dirpath, threads=1, drop=False):
    procs = []
    extra = ["--dir", dirpath, "--save", ""]
    if name == "kvsd":
        extra += ["--threads", str(threads)]
    if drop:
        drop_caches()
    t0 = time.monotonic()
    s = benchlib.start(name, binary, core, procs, extra, timeout=600)
    # start() returns on the first +PONG: a loading server answers -LOADING
    dt = time.monotonic() - t0
    keys = benchlib.command(s["port"], "DBSIZE")
    benchlib.stop(procs)
    return dt, keys


def run_server(name, binary, lg, cores, keys, seconds, opts):
    core_s, core_c = cores[0], cores[1]
    d = tempfile.mkdtemp(prefix="kvsd-persist-bench-", dir=opts.dir)
    procs = []
    try:
        s = benchlib.start(name, binary, core_s, procs, ["--dir", d, "--save", ""] +
                           (opts.kvsd_arg if name == "kvsd" else []))
        t0 = time.monotonic()
        fill(lg, s["port"], core_c, keys, opts.fill)
        fill_s = time.monotonic() - t0
        save_s = timed_save(s["port"])
        window = max(seconds, 2 * save_s + 1)
        quiet = saving = None
        if not opts.no_latency:
            quiet = phase(lg, s, core_c, keys, window, False)
            saving = phase(lg, s, core_c, keys, window, True)
            # a BGSAVE of the saving phase may still run: SAVE waits for it
            r = benchlib.command(s["port"], "SAVE", timeout=600)
            if not r.startswith(b"+OK"):
                sys.exit("SAVE failed on %s: %r" % (name, r))
        benchlib.stop(procs)
        procs = []
        rdb = os.path.getsize(os.path.join(d, "dump.rdb"))
        # the load: on --load-threads cores (the server core first, then the others)
        lcores = ",".join(cores[:max(1, opts.load_threads)])
        load_s, dbsize = load_time(name, binary, lcores, d, opts.load_threads, opts.drop_caches)
        return {"save_s": save_s, "window_s": window, "quiet": quiet, "saving": saving,
                "load_s": load_s, "dbsize": dbsize.decode().strip().lstrip(":"), "fill_s": fill_s,
                "rdb_bytes": rdb}
    finally:
        benchlib.stop(procs)
        shutil.rmtree(d, ignore_errors=True)


def med(rs, *path):
    vals = []
    for r in rs:
        v = r
        for p in path:
            v = v[p]
        vals.append(v)
    return statistics.median(vals)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="100k keys, 3 s, one run")
    ap.add_argument("--fill", choices=("pipe", "loadgen"), default="pipe")
    ap.add_argument("--load-threads", type=int, default=1,
                    help="kvsd's --threads for the load (on as many cores of BENCH_CORES)")
    ap.add_argument("--no-latency", action="store_true",
                    help="save and load time only (no quiet/saving windows)")
    ap.add_argument("--dir", default=None, help="parent directory of the datasets")
    ap.add_argument("--drop-caches", action="store_true",
                    help="drop the page cache before each load (root)")
    ap.add_argument("--servers", choices=("both", "kvsd", "redis"), default="both",
                    help="measure only one server (the other's figures and ratios are left out)")
    ap.add_argument("--kvsd-arg", action="append", default=[],
                    help="one more argument for kvsd (repeat), e.g. "
                    "--kvsd-arg=--rdb-save-incremental-fsync --kvsd-arg=no")
    args = ap.parse_args()
    if args.quick:
        args.keys, args.seconds, args.runs = 100000, 3, 1
    kvsd = os.environ.get("KVSD_BIN", os.path.join(ROOT, "build/server/kvsd"))
    redis = os.environ.get("REDIS_BIN", "redis-server")
    lg = os.environ.get("LOADGEN_BIN", os.path.join(ROOT, "build/loadgen/kvsd-loadgen"))
    cores = os.environ.get("BENCH_CORES", "0,1").split(",")
    # This script's own threads (the sampler) stay off the server's core: unpinned, the
    # scheduler ran the old sampler (100 polls a second, saving phase only) there, ahead of
    # the worker (bench/save-trace.py: python3 on core 0 22-36 times a second, p50 98-170 us)
    os.sched_setaffinity(0, {int(cores[1])})
    print("machine: %s" % benchlib.machine())
    print("servers: %s" % benchlib.server_command(kvsd, cores[0], ["--dir", "TMP", "--save",
                                                                     "''"] + args.kvsd_arg))
    print("         %s --dir TMP" % benchlib.server_command(redis, cores[0]))
    print("load:    taskset -c %s kvsd-loadgen -p PORT %s" % (cores[1], " ".join(
        lat_args(args.keys, args.seconds))))
    print("sampler: this script on core %s, RSS and INFO persistence every %d ms on one "
          "connection in both phases; peak RSS from VmHWM" % (cores[1], SAMPLE_S * 1000))
    if args.load_threads > len(cores):
        sys.exit("--load-threads %d needs as many cores in BENCH_CORES (%s)" % (
            args.load_threads, ",".join(cores)))
    ddir = args.dir or tempfile.gettempdir()
    fs = subprocess.run(["df", "-T", ddir], capture_output=True, text=True).stdout.split("\n")
    print("datasets under %s (%s)" % (ddir, " ".join((fs[1] if len(fs) > 1 else "?").split()[:2])))
    print("restart: kvsd --threads %d, both servers on cores %s%s" % (
        args.load_threads, ",".join(cores[:args.load_threads]),
        ", page cache dropped first" if args.drop_caches else ""))
    print("keys %d (16-100 B, 10%% with a TTL), fill %s, %d run(s)" % (args.keys, args.fill,
                                                                       args.runs))
    res = {"kvsd": [], "redis": []}
    names = ("kvsd", "redis") if args.servers == "both" else (args.servers,)
    for i in range(args.runs):
        order = [(n, b) for n, b in (("kvsd", kvsd), ("redis", redis)) if n in names]
        if i % 2:
            order.reverse()
        for name, binary in order:
            r = run_server(name, binary, lg, cores, args.keys, args.seconds, args)
            res[name].append(r)
            print("run %d %-5s fill %.1f s, save %.2f s, load %.2f s (dbsize %s, dump.rdb %.1f "
                  "MB)%s" % (i + 1, name, r["fill_s"], r["save_s"], r["load_s"], r["dbsize"],
                             r["rdb_bytes"] / 1048576, "" if args.no_latency else
                             ", window %.1f s, BGSAVEs under load %d%s" % (
                                 r["window_s"], r["saving"]["saves"],
                                 "" if name != "kvsd" else
                                 " (saver starving: %d loans of the worker's core, %d used, "
                                 "%.0f ms lent; saver CPU %.2f s, %.1f%% of the window)" % (
                                     r["saving"]["lends"], r["saving"]["lends_used"],
                                     r["saving"]["lent_us"] / 1000,
                                     r["saving"]["saver_cpu_us"] / 1e6,
                                     r["saving"]["saver_cpu_us"] / 1e4 / r["window_s"]))))
            if not args.no_latency:
                print("      %-5s p99 quiet %d us, saving %d us: %.2f; ops/s quiet %.0f, saving "
                      "%.0f" % (name, r["quiet"]["p99_us"], r["saving"]["p99_us"],
                                r["saving"]["p99_us"] / max(1e-9, r["quiet"]["p99_us"]),
                                r["quiet"]["ops_per_sec"], r["saving"]["ops_per_sec"]))
    if "kvsd" in names and not args.no_latency:
        print()
        print("kvsd's loans while saving (counters over the window, and the saves' ends after "
              "it; per run):")
        for i, r in enumerate(res["kvsd"]):
            sv, q = r["saving"], r["quiet"]
            nsaves = sv["saves"] + (1 if sv["unfinished_s"] else 0)
            wq, ws = q.get("worker", {}), sv.get("worker", {})

            def per_op(ph, w):
                return w.get("run_ms", 0) * 1000 / max(1, ph["requests"])
            print("run %d: wanted %.1f s, lent %.1f s (%.1f%% of it; asked %.1f s, loans "
                  "%.0f us on average); saver CPU in loans %.1f s (%.0f%% of lent), in all "
                  "%.2f s (%.1f%% of wanted; system %.2f s; preempted %d times), %.2f s per "
                  "save (%d); worker CPU per request quiet %.2f us, saving %.2f us" % (
                      i + 1, sv["wanted_us"] / 1e6, sv["lent_us"] / 1e6,
                      100 * sv["lent_us"] / max(1, sv["wanted_us"]), sv["asked_us"] / 1e6,
                      sv["lent_us"] / max(1, sv["lends"]), sv["lent_cpu_us"] / 1e6,
                      100 * sv["lent_cpu_us"] / max(1, sv["lent_us"]), sv["saver_cpu_us"] / 1e6,
                      100 * sv["saver_cpu_us"] / max(1, sv["wanted_us"]),
                      sv["saver_sys_us"] / 1e6, sv["preempted"],
                      sv["saver_cpu_us"] / 1e6 / max(1, nsaves), nsaves, per_op(q, wq),
                      per_op(sv, ws)))
            # where the worker's wall time went in each phase: serving, waiting for its
            # core, lending it, and idle (no request to serve: the client's side of the
            # closed loop; a loan that stalls every client leaves the worker idle after it)
            w_s = r["window_s"]
            print("       worker's time, quiet: run %.1f s, runqueue %.1f s, idle %.1f s; saving: "
                  "run %.1f s, runqueue %.1f s, lent %.1f s, idle %.1f s (of %.1f s)" % (
                      wq.get("run_ms", 0) / 1e3, wq.get("rq_wait_ms", 0) / 1e3,
                      w_s - (wq.get("run_ms", 0) + wq.get("rq_wait_ms", 0)) / 1e3,
                      ws.get("run_ms", 0) / 1e3, ws.get("rq_wait_ms", 0) / 1e3,
                      sv["lent_us"] / 1e6, w_s - (ws.get("run_ms", 0) + ws.get(
                          "rq_wait_ms", 0)) / 1e3 - sv["lent_us"] / 1e6, w_s))
    print()
    both = len(names) == 2
    if args.no_latency:
        for name in names:
            print("%-6s save %.2f s; load %.2f s" % (name, med(res[name], "save_s"),
                                                     med(res[name], "load_s")))
        if both:
            print("ratios kvsd/redis: save time %.2f, load time %.2f (below 1 = kvsd faster; "
                  "load speed-up redis/kvsd %.2fx)" % (
                      med(res["kvsd"], "save_s") / med(res["redis"], "save_s"),
                      med(res["kvsd"], "load_s") / med(res["redis"], "load_s"),
                      med(res["redis"], "load_s") / med(res["kvsd"], "load_s")))
        return 0
    print("%-6s %-7s %9s %9s %9s %9s %10s" % ("server", "phase", "p50 us", "p99 us",
                                              "p99.9 us", "max us", "ops/s"))
    for name in names:
        for ph in ("quiet", "saving"):
            print("%-6s %-7s %9.0f %9.0f %9.0f %9.0f %10.0f" % (
                name, ph, med(res[name], ph, "p50_us"), med(res[name], ph, "p99_us"),
                med(res[name], ph, "p999_us"), med(res[name], ph, "max_us"),
                med(res[name], ph, "ops_per_sec")))
    print()
    # the worker's scheduling in each phase (its own /proc counters: the time it waited on
    # the runqueue for its core, and how often it was switched out while runnable)
    print("%-6s %-7s %9s %12s %9s %9s" % ("server", "phase", "run ms", "rq wait ms",
                                          "vol cs", "invol cs"))
    for name in names:
        for ph in ("quiet", "saving"):
            w = [r[ph]["worker"] for r in res[name] if r[ph].get("worker")]
            if w:
                print("%-6s %-7s %9.0f %12.1f %9.0f %9.0f" % (
                    name, ph, statistics.median(x["run_ms"] for x in w),
                    statistics.median(x["rq_wait_ms"] for x in w),
                    statistics.median(x["vol_cs"] for x in w),
                    statistics.median(x["invol_cs"] for x in w)))
    print()
    for name in names:
        rs = res[name]
        ratio = med(rs, "saving", "p99_us") / max(1e-9, med(rs, "quiet", "p99_us"))
        pre = med(rs, "saving", "pre_kb") / 1024
        peak = med(rs, "saving", "peak_kb") / 1024
        # bytes written during the window: SETs x (entry header + key + mean value)
        over = med(rs, "saving", "sets") * (16 + 16 + 58) / 1048576
        print("%-6s p99 saving/quiet %.2f; RSS pre %.0f MB, peak %.0f MB (+%.0f MB; SETs wrote "
              "~%.0f MB); save %.2f s; load %.2f s; while saving, machine's nr_dirty peak "
              "+%.1f MB over the start, nr_writeback peak %.1f MB" % (
                  name, ratio, pre, peak, peak - pre, over, med(rs, "save_s"),
                  med(rs, "load_s"), med(rs, "saving", "dirty_peak_mb"),
                  med(rs, "saving", "wb_peak_mb")))
    print("BGSAVE under the saturating load (each from BGSAVE to its end; medians over runs "
          "of each run's median):")
    under = {}
    for name in names:
        rs = res[name]
        done = [statistics.median(r["saving"]["save_times"]) for r in rs
                if r["saving"]["save_times"]]
        cut = max(r["saving"]["unfinished_s"] for r in rs)
        if done:
            under[name] = statistics.median(done)
            print("%-6s %.2f s (%s finished in the window%s)" % (
                name, under[name], "+".join(str(len(r["saving"]["save_times"])) for r in rs),
                "" if not cut else "; one still running after %.1f s at its end" % cut))
        else:
            print("%-6s none finished in the %.0f s window (one still running after %.1f s: "
                  "use a longer --seconds)" % (name, med(rs, "window_s"), cut))
    if len(under) == 2:
        print("ratio kvsd/redis, BGSAVE under load: %.2f (below 1 = kvsd's save ends sooner)" % (
            under["kvsd"] / under["redis"]))
    if "redis" in names:
        print("redis  latest_fork_usec %d, rdb_last_cow_size %.1f MB" % (
            med(res["redis"], "saving", "fork_usec"),
            med(res["redis"], "saving", "cow_bytes") / 1048576))
    if both:
        print("ratios kvsd/redis: save time %.2f, load time %.2f (below 1 = kvsd faster)" % (
            med(res["kvsd"], "save_s") / med(res["redis"], "save_s"),
            med(res["kvsd"], "load_s") / med(res["redis"], "load_s")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
