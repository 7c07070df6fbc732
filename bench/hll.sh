#!/usr/bin/env bash
# PFADD and PFCOUNT, kvsd vs redis-server, one core each, same redis-benchmark in the same run.
#
# Both servers (kvsd --threads 1; redis-server --save '' --appendonly no) are pinned with
# taskset to one core, redis-benchmark (--threads 1, -c 50, pipeline 16) to the other. Tests:
#   PFADD   over 1k elements (-r 1000: a sparse HLL) and 1M elements (-r 1000000: it turns
#           dense), each run starting from a deleted key, so runs include the additions that
#           change registers (kvsd copies the HLL then) and the many that change nothing;
#   PFCOUNT of the 1k and of the 1M key (after their PFADD runs: the cached value), and of
#           both keys at once (the union is computed every time: no cache).
# Each test runs N times per server, alternating which goes first; prints the median
# requests/s of each, the ratio kvsd/redis, each process's CPU share of the wall time, and
# the server CPU time per request (the figure least disturbed by other load on the machine:
# when a server's CPU share is well below 100%, requests/s says more about the machine).
#
# Usage: bench/hll.sh [--runs N] [--requests N] [--quick]
#   --runs N      runs per server and test (default 3)
#   --requests N  requests per run (default 2000000; PFCOUNT of two keys: a tenth)
#   --quick       1 run of 200000 requests: checks the script, indicative only
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# BENCH_CORES (default "0,1": server core, client core). Run it on an idle machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
-h | --help)
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
for tool in taskset redis-benchmark python3; do
	command -v "$tool" >/dev/null || {
		echo "hll.sh: $tool not found (run scripts/setup.sh)" >&2
		exit 1
	}
done
export KVSD_BIN="${KVSD_BIN:-$root/build/server/kvsd}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}"
export BENCH_DIR="$root/bench"
exec python3 - "$@" <<'PY'
import argparse, os, statistics, subprocess, sys, time

sys.path.insert(0, os.environ["BENCH_DIR"])
import benchlib  # noqa: E402
from benchlib import command, cpu_seconds  # noqa: E402

ap = argparse.ArgumentParser(prog="hll.sh")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--requests", type=int, default=2000000)
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
if args.quick:
    args.runs, args.requests = 1, 200000

CLIENTS, PIPELINE = 50, 16
# name, redis-benchmark command, -r range, delete the key first, share of --requests
TESTS = [
    ("PFADD 1k", ["PFADD", "hll:1k", "ele:__rand_int__"], 1000, "hll:1k", 1),
    ("PFADD 1M", ["PFADD", "hll:1m", "ele:__rand_int__"], 1000000, "hll:1m", 1),
    ("PFCOUNT 1k", ["PFCOUNT", "hll:1k"], 0, None, 1),
    ("PFCOUNT 1M", ["PFCOUNT", "hll:1m"], 0, None, 1),
    ("PFCOUNT 1k+1M", ["PFCOUNT", "hll:1k", "hll:1m"], 0, None, 10),
]
srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
procs = []


def start(name, binary):
    return benchlib.start(name, binary, srv_core, procs)


def bench(server, argv, rng, requests):
    cmd = ["taskset", "-c", cli_core, "redis-benchmark", "-p", str(server["port"]),
           "-n", str(requests), "-c", str(CLIENTS), "-P", str(PIPELINE), "--threads", "1",
           "--csv"]
    if rng:
        cmd += ["-r", str(rng)]
    cmd += argv
    pid = server["proc"].pid
    s0, t0 = cpu_seconds(pid), time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = p.stdout.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    s1 = cpu_seconds(pid)
    if os.waitstatus_to_exitcode(status) != 0 or "ERR" in out:
        sys.exit("redis-benchmark failed against %s:\n%s" % (server["name"], out))
    rps = None
    for line in out.splitlines():
        cols = [c.strip('"') for c in line.split(",")]
        if len(cols) > 1 and cols[0].upper().startswith(argv[0]):
            rps = float(cols[1])
    if rps is None:
        sys.exit("no result in redis-benchmark's output:\n%s" % out)
    return rps, (s1 - s0) / wall, (ru.ru_utime + ru.ru_stime) / wall


def main():
    ver = subprocess.run([os.environ["REDIS_BIN"], "--version"], capture_output=True,
                         text=True).stdout.strip()
    print("kvsd:  %s --threads 1, core %s" % (os.environ["KVSD_BIN"], srv_core))
    print("redis: %s, core %s" % (ver, srv_core))
    print("redis-benchmark --threads 1 -c %d -P %d, core %s; %d run(s) per server, alternating"
          % (CLIENTS, PIPELINE, cli_core, args.runs))
    servers = [start("kvsd", os.environ["KVSD_BIN"]), start("redis", os.environ["REDIS_BIN"])]
    rows = []
    for name, argv, rng, fresh, share in TESTS:
        n = max(10000, args.requests // share)
        res = {"kvsd": [], "redis": []}
        for run in range(args.runs):
            for s in (servers if run % 2 == 0 else servers[::-1]):
                if fresh:
                    command(s["port"], "DEL", fresh)
                res[s["name"]].append(bench(s, argv, rng, n))
        med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
        rows.append((name, n, med))
        print("  %-14s kvsd %.0f, redis %.0f requests/s" % (name, med["kvsd"][0], med["redis"][0]),
              flush=True)
    for s in servers:
        print("  %s: PFCOUNT hll:1m = %s" % (s["name"], command(s["port"], "PFCOUNT", "hll:1m")
                                              .strip().decode()))
    print()
    print("| test | requests/run | kvsd req/s | redis req/s | kvsd/redis | kvsd CPU | redis CPU |"
          " client CPU (vs kvsd / vs redis) | server CPU us/req kvsd / redis (ratio) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, med in rows:
        k, r = med["kvsd"], med["redis"]
        ku, ru = 1e6 * k[1] / k[0], 1e6 * r[1] / r[0]
        print("| %s | %d | %.0f | %.0f | %.2fx | %.0f%% | %.0f%% | %.0f%% / %.0f%% |"
              " %.2f / %.2f (%.2fx) |" % (
                  name, n, k[0], r[0], k[0] / r[0], 100 * k[1], 100 * r[1], 100 * k[2],
                  100 * r[2], ku, ru, ru / ku))


try:
    main()
finally:
    benchlib.stop(procs)
PY
