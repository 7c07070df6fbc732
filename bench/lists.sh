#!/usr/bin/env bash
# Lists per core (issue 14): kvsd vs redis-server, one core each, the same redis-benchmark in
# the same run.
#
# Starts kvsd (--threads 1) and redis-server (--save '' --appendonly no) on free loopback ports,
# both pinned with taskset to core 0; redis-benchmark (--threads 1) is pinned to core 1. Each
# run is ONE invocation:
#   redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100 -n N -c 50 -P 16 --threads 1 --csv
# redis-benchmark runs its tests in a fixed order (LPUSH, RPUSH, LPOP, RPOP, then LRANGE_100's
# own LPUSH fill and LRANGE_100), so the N LPOPs and N RPOPs pop the 2N elements the pushes
# left on mylist: they pop elements, not nil. The script checks it: each run starts from
# FLUSHALL and must end with LLEN mylist = N (only LRANGE's fill left), which holds only if
# every pop took an element. For each server it runs --runs times, alternating which goes
# first, and prints per test the median requests/s of each, their ratio, each server's CPU
# share during that test (its CPU time read as each test's CSV row arrives) and the per-core
# ratio (req/s / CPU share, kvsd over redis: issue 14 asks >= 1.2x), and the CPU shares of
# the whole invocation (server and client).
#
# Usage: bench/lists.sh [--runs N] [--requests N] [--quick]
#   --runs N       runs per server (default 5)
#   --requests N   requests per test per run (default 1000000)
#   --quick        1 run of 20000 requests: checks the script, measures nothing
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# BENCH_CORES (default "0,1": server core, client core). Run it on an otherwise idle machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
-h | --help)
	sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
for tool in taskset stdbuf redis-benchmark python3; do
	command -v "$tool" >/dev/null || {
		echo "lists.sh: $tool not found (run scripts/setup.sh)" >&2
		exit 1
	}
done

export KVSD_BIN="${KVSD_BIN:-$root/build/server/kvsd}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}"
export BENCH_ROOT="$root"
exec python3 - "$@" <<'PY'
import argparse, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.join(os.environ["BENCH_ROOT"], "bench"))
import benchlib  # noqa: E402

ap = argparse.ArgumentParser(prog="lists.sh")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--requests", type=int, default=1000000)
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
if args.quick:
    args.runs, args.requests = 1, 20000

CLIENTS, PIPELINE = 50, 16
TESTS = ["LPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE_100 (first 100 elements)"]
srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
ARGS = ["-t", "lpush,rpush,lpop,rpop,lrange_100", "-n", str(args.requests), "-c", str(CLIENTS),
        "-P", str(PIPELINE), "--threads", "1", "--csv"]
procs = []


def run(server):
    """One invocation: ({test: requests/s}, {test: server CPU share during that test},
    server CPU share, client CPU share). redis-benchmark's stdout is line-buffered (stdbuf
    -oL) so each CSV row arrives as its test ends: the server's CPU time read at each row
    splits the run into its tests (LRANGE_100's fill has a row of its own)."""
    if benchlib.command(server["port"], "FLUSHALL") != b"+OK\r\n":
        sys.exit("FLUSHALL failed on %s" % server["name"])
    cmd = ["taskset", "-c", cli_core, "stdbuf", "-oL", "redis-benchmark", "-p",
           str(server["port"])] + ARGS
    pid = server["proc"].pid
    s0, t0 = benchlib.cpu_seconds(pid), time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out, share, last = [], {}, (s0, t0)
    for raw in p.stdout:
        line = raw.decode(errors="replace")
        out.append(line)
        cols = [c.strip('"') for c in line.strip().split(",")]
        if len(cols) > 1 and cols[0] != "test":
            now = (benchlib.cpu_seconds(pid), time.monotonic())
            if now[1] > last[1]:
                share[cols[0]] = (now[0] - last[0]) / (now[1] - last[1])
            last = now
    out = "".join(out)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    s1 = benchlib.cpu_seconds(pid)
    if os.waitstatus_to_exitcode(status) != 0 or "ERR" in out:
        sys.exit("redis-benchmark failed against %s:\n%s" % (server["name"], out))
    rps = {}
    for line in out.splitlines():
        cols = [c.strip('"') for c in line.split(",")]
        if len(cols) > 1 and cols[0] in TESTS:
            rps[cols[0]] = float(cols[1])
    if len(rps) != len(TESTS) or any(t not in share for t in TESTS):
        sys.exit("missing rows in redis-benchmark's output:\n%s" % out)
    llen = benchlib.command(server["port"], "LLEN", "mylist")
    if llen != b":%d\r\n" % args.requests:
        sys.exit("%s: LLEN mylist is %r after the run, want %d: the pops did not all take an "
                 "element" % (server["name"], llen, args.requests))
    return rps, share, (s1 - s0) / wall, (ru.ru_utime + ru.ru_stime) / wall


def main():
    kvsd_bin, redis_bin = os.environ["KVSD_BIN"], os.environ["REDIS_BIN"]
    print("machine: %s" % benchlib.machine())
    print("kvsd:   %s" % benchlib.server_command(kvsd_bin, srv_core))
    print("redis:  %s" % benchlib.server_command(redis_bin, srv_core))
    print("client: taskset -c %s redis-benchmark -p PORT %s" % (cli_core, " ".join(ARGS)))
    print("%d run(s) per server, alternating which goes first" % args.runs, flush=True)
    servers = [benchlib.start("kvsd", kvsd_bin, srv_core, procs),
               benchlib.start("redis", redis_bin, srv_core, procs)]
    res = {"kvsd": [], "redis": []}
    for i in range(args.runs):
        for s in (servers if i % 2 == 0 else servers[::-1]):
            res[s["name"]].append(run(s))
        print("  run %d done" % (i + 1), file=sys.stderr, flush=True)
    print()
    print("| test | kvsd req/s | redis req/s | kvsd/redis | kvsd CPU | redis CPU | "
          "per core kvsd/redis |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in TESTS:
        k = statistics.median(x[0][t] for x in res["kvsd"])
        r = statistics.median(x[0][t] for x in res["redis"])
        # per core: requests per server CPU-second, each run's own, then the median
        kc = statistics.median(x[1][t] for x in res["kvsd"])
        rc = statistics.median(x[1][t] for x in res["redis"])
        kpc = statistics.median(x[0][t] / max(x[1][t], 1e-9) for x in res["kvsd"])
        rpc = statistics.median(x[0][t] / max(x[1][t], 1e-9) for x in res["redis"])
        print("| %s | %.0f | %.0f | %.2fx | %.0f%% | %.0f%% | %.2fx |"
              % (t.split()[0], k, r, k / r, 100 * kc, 100 * rc, kpc / rpc))
    cpu = {n: [statistics.median(x[i] for x in res[n]) for i in (2, 3)] for n in res}
    print("(medians of %d run(s), -n %d -c %d -P %d; CPU: each server's CPU share during "
          "that test; per core: (req/s / CPU share) kvsd over redis, issue 14 asks >= 1.2x; "
          "over a whole invocation: kvsd %.0f%%, redis %.0f%%, client %.0f%% / %.0f%%)"
          % (args.runs, args.requests, CLIENTS, PIPELINE, 100 * cpu["kvsd"][0],
             100 * cpu["redis"][0], 100 * cpu["kvsd"][1], 100 * cpu["redis"][1]))


try:
    main()
finally:
    benchlib.stop(procs)
PY
