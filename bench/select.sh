#!/usr/bin/env bash
# A SELECT-switching workload, kvsd vs redis-server, one core each, the same kvsd-loadgen in
# the same run.
#
# Both servers (kvsd --threads 1; redis-server --save '' --appendonly no) are pinned with
# taskset to one core, kvsd-loadgen (1 thread, -c 50, pipeline 16) to the other. Each
# operation (SET:GET 1:1, 100,000 keys, 64-byte values, uniform) goes to a database drawn
# uniformly from 0..15 and is preceded by a SELECT whenever the connection is elsewhere
# (kvsd-loadgen --dbs 16: 15 in 16 operations carry one). A first unmeasured run fills the
# databases. Each test runs N times per server, alternating which goes first; prints the
# median operations/s (SELECTs not counted), the ratio kvsd/redis, CPU shares, and the
# server CPU time per operation (the figure least disturbed by other load on the machine).
#
# Usage: bench/select.sh [--runs N] [--seconds S] [--quick]
#   --runs N      runs per server (default 5)
#   --seconds S   measured seconds per run (default 5; 1 s of warm-up first)
#   --quick       1 run of 1 s: checks the script, indicative only
# Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN (default redis-server),
# LOADGEN_BIN (default build/loadgen/kvsd-loadgen), BENCH_CORES (default "0,1": server core,
# client core). Run it on an idle machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
-h | --help)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac
export KVSD_BIN="${KVSD_BIN:-$root/build/server/kvsd}"
export REDIS_BIN="${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}"
export LOADGEN_BIN="${LOADGEN_BIN:-$root/build/loadgen/kvsd-loadgen}"
export BENCH_DIR="$root/bench"
for tool in taskset python3 "$KVSD_BIN" "$REDIS_BIN" "$LOADGEN_BIN"; do
	command -v "$tool" >/dev/null || {
		echo "select.sh: $tool not found (build first; run scripts/setup.sh)" >&2
		exit 1
	}
done
exec python3 - "$@" <<'PY'
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.environ["BENCH_DIR"])
import benchlib  # noqa: E402
from benchlib import cpu_seconds  # noqa: E402

ap = argparse.ArgumentParser(prog="select.sh")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--seconds", type=float, default=5.0)
ap.add_argument("--quick", action="store_true")
args = ap.parse_args()
if args.quick:
    args.runs, args.seconds = 1, 1.0

srv_core, cli_core = os.environ.get("BENCH_CORES", "0,1").split(",")
LG = ["-c", "50", "-P", "16", "--dbs", "16", "--ratio", "1:1", "--keys", "100000",
      "-d", "64", "--dist", "uniform"]
procs = []


def run(server, seconds, warmup):
    """One kvsd-loadgen run: (ops/s, server CPU share, client CPU share, selects)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as js:
        cmd = [os.environ["LOADGEN_BIN"], "-p", str(server["port"]), "--cpu", cli_core,
               "--duration", str(seconds), "--warmup", str(warmup), "--json", js.name] + LG
        pid = server["proc"].pid
        s0, t0 = cpu_seconds(pid), time.monotonic()
        p = subprocess.run(["taskset", "-c", cli_core] + cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        s1 = cpu_seconds(pid)
        if p.returncode != 0:
            sys.exit("kvsd-loadgen failed against %s:\n%s%s" % (server["name"], p.stdout,
                                                                 p.stderr))
        r = json.load(open(js.name))
    if r.get("errors"):
        sys.exit("kvsd-loadgen saw errors against %s: %s" % (server["name"], r["error_texts"]))
    return r["ops_per_sec"], (s1 - s0) / wall, r["loadgen_cpu"], r["selects"]


def main():
    ver = subprocess.run([os.environ["REDIS_BIN"], "--version"], capture_output=True,
                         text=True).stdout.strip()
    print("kvsd:  %s --threads 1, core %s" % (os.environ["KVSD_BIN"], srv_core))
    print("redis: %s, core %s" % (ver, srv_core))
    print("kvsd-loadgen %s, core %s; %d run(s) of %.0f s per server, alternating"
          % (" ".join(LG), cli_core, args.runs, args.seconds))
    servers = [benchlib.start("kvsd", os.environ["KVSD_BIN"], srv_core, procs),
               benchlib.start("redis", os.environ["REDIS_BIN"], srv_core, procs)]
    for s in servers:
        run(s, 1.0, 0)  # fills the sixteen databases
    res = {"kvsd": [], "redis": []}
    for i in range(args.runs):
        for s in (servers if i % 2 == 0 else servers[::-1]):
            res[s["name"]].append(run(s, args.seconds, 1.0))
    med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in res.items()}
    k, r = med["kvsd"], med["redis"]
    for s in servers:
        info = benchlib.command(s["port"], "INFO", "keyspace").decode(errors="replace")
        print("  %s: %d databases hold keys" % (s["name"], info.count("\r\ndb")))
    print()
    print("| test | kvsd ops/s | redis ops/s | kvsd/redis | kvsd CPU | redis CPU | client CPU "
          "(vs kvsd / vs redis) | server CPU us/op kvsd / redis (ratio) | SELECTs per op |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ku, ru = 1e6 * k[1] / k[0], 1e6 * r[1] / r[0]
    print("| SET:GET 1:1 over 16 databases, -P 16 | %.0f | %.0f | %.2fx | %.0f%% | %.0f%% | "
          "%.0f%% / %.0f%% | %.2f / %.2f (%.2fx) | %.2f |" % (
              k[0], r[0], k[0] / r[0], 100 * k[1], 100 * r[1], 100 * k[2], 100 * r[2],
              ku, ru, ru / ku, k[3] / (k[0] * args.seconds)))
    print("(medians of %d run(s); CPU = share of one core over the run's wall time)" % args.runs)


try:
    main()
finally:
    benchlib.stop(procs)
PY
