#!/usr/bin/env bash
# kvsd vs redis-server, one core each, measured by the same redis-benchmark in the same run.
#
# Starts kvsd (--threads 1) and redis-server (--save '' --appendonly no) on free loopback ports,
# both pinned with taskset to core 0; redis-benchmark (--threads 1) is pinned to core 1. The
# keyspace (-r 100000, values of 64 bytes) is filled first so GETs hit. For GET and SET at
# pipeline 1 and 16 (-c 50) it runs each server N times, alternating which goes first, and
# prints the median requests/s of each, the ratio kvsd/redis, and each process's CPU share of
# the wall time (utime+stime from /proc, or wait4 for the client). A row where redis-benchmark
# itself used >= 95% of its core is labelled client-bound: the server figure is a lower bound.
#
# Usage: bench/vs-redis.sh [--runs N] [--requests N] [--seconds S] [--quick]
#   --runs N       runs per server and test (default 5)
#   --requests N   requests per run (default: calibrated on redis-server for ~S seconds per run)
#   --seconds S    target length of one run when calibrating (default 4)
#   --quick        1 run of a fixed small size per test: checks the script, measures nothing
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# KVSD_BUILD_DIR (default build, for the build type shown), BENCH_CORES (default "0,1": server
# core, client core). Run it on an otherwise idle machine; it takes about 3 minutes.
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
		echo "vs-redis.sh: $tool not found (run scripts/setup.sh)" >&2
		exit 1
	}
done

export KVSD_BIN="${KVSD_BIN:-$root/build/server/kvsd}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}"
export KVSD_BUILD_DIR="${KVSD_BUILD_DIR:-build}"
export BENCH_ROOT="$root"
exec python3 - "$@" <<'PY'
import argparse, json, os, socket, statistics, subprocess, sys

sys.path.insert(0, os.path.join(os.environ["BENCH_ROOT"], "bench"))
import benchlib  # noqa: E402

ap = argparse.ArgumentParser(prog="vs-redis.sh")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--requests", type=int, default=0)
ap.add_argument("--seconds", type=float, default=4.0)
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
if args.quick:
    args.runs = 1

CLIENTS, SIZE, KEYSPACE = 50, 64, 100000
TESTS = [("get", 1), ("get", 16), ("set", 1), ("set", 16)]
cores = os.environ.get("BENCH_CORES", "0,1").split(",")
srv_core, cli_core = cores[0], cores[1]
procs = []


def start(name, binary):
    server = benchlib.start(name, binary, srv_core, procs)
    fill(server["port"])
    return server


def fill(port):
    """SET every key of the keyspace once, so that GETs hit (redis-benchmark's key names)."""
    value = b"x" * SIZE
    c = socket.create_connection(("127.0.0.1", port))
    batch = 1000
    for base in range(0, KEYSPACE, batch):
        out = bytearray()
        for i in range(base, base + batch):
            key = b"key:%012d" % i
            out += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, SIZE, value)
        c.sendall(out)
        got = b""
        while got.count(b"\r\n") < batch:
            chunk = c.recv(65536)
            if not chunk:
                sys.exit("server closed the connection while filling the keyspace")
            got += chunk
        if got != b"+OK\r\n" * batch:
            sys.exit("unexpected reply while filling the keyspace: %r" % got[:200])
    c.close()


def bench(server, test, pipeline, requests):
    """One redis-benchmark run: (requests/s, server CPU share, client CPU share)."""
    return benchlib.redis_benchmark(server, cli_core, [
        "-t", test, "-n", requests, "-c", CLIENTS, "-d", SIZE, "-P", pipeline,
        "--threads", "1", "-r", KEYSPACE], test)


def buildtype():
    try:
        info = os.path.join(os.environ["BENCH_ROOT"], os.environ["KVSD_BUILD_DIR"],
                            "meson-info", "intro-buildoptions.json")
        for o in json.load(open(info)):
            if o["name"] == "buildtype":
                return o["value"]
    except (OSError, ValueError, KeyError):
        pass
    return "unknown"


def main():
    kvsd_bin, redis_bin = os.environ["KVSD_BIN"], os.environ["REDIS_BIN"]
    print("kvsd:  %s (buildtype %s), --threads 1, core %s" % (kvsd_bin, buildtype(), srv_core))
    ver = subprocess.run([redis_bin, "--version"], capture_output=True, text=True).stdout.strip()
    print("redis: %s (%s), core %s" % (redis_bin, ver, srv_core))
    print("redis-benchmark --threads 1 -c %d -d %d -r %d, core %s; %d run(s) per server, "
          "alternating" % (CLIENTS, SIZE, KEYSPACE, cli_core, args.runs))
    servers = [start("kvsd", kvsd_bin), start("redis", redis_bin)]
    rows = []
    for test, pipeline in TESTS:
        if args.requests:
            n = args.requests
        elif args.quick:
            n = 20000 if pipeline == 1 else 100000
        else:
            rps, _, _ = bench(servers[1], test, pipeline, 50000 if pipeline == 1 else 300000)
            n = max(10000, int(rps * args.seconds) // 10000 * 10000)
        res = {"kvsd": [], "redis": []}
        for run in range(args.runs):
            order = servers if run % 2 == 0 else servers[::-1]
            for s in order:
                res[s["name"]].append(bench(s, test, pipeline, n))
        med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
        rows.append((test.upper(), pipeline, n, med))
        print("  %s -P %-2d: kvsd %.0f, redis %.0f requests/s" %
              (test.upper(), pipeline, med["kvsd"][0], med["redis"][0]), flush=True)

    print()
    print("| test | pipeline | requests/run | kvsd req/s | redis req/s | kvsd/redis | kvsd CPU | "
          "redis CPU | client CPU (vs kvsd / vs redis) | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for test, pipeline, n, med in rows:
        k, r = med["kvsd"], med["redis"]
        note = []
        if k[2] >= 0.95:
            note.append("client-bound (kvsd)")
        if r[2] >= 0.95:
            note.append("client-bound (redis)")
        print("| %s | %d | %d | %.0f | %.0f | %.2fx | %.0f%% | %.0f%% | %.0f%% / %.0f%% | %s |" %
              (test, pipeline, n, k[0], r[0], k[0] / r[0], 100 * k[1], 100 * r[1],
               100 * k[2], 100 * r[2], ", ".join(note)))
    print("(medians of %d run(s); CPU = share of one core over the run's wall time)" % args.runs)


try:
    main()
finally:
    benchlib.stop(procs)
PY
