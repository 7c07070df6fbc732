#!/usr/bin/env python3
"""Throughput of one server, of three shards behind twemproxy, and of a three-master cluster
driven by kvsd-loadgen --cluster, for kvsd and for redis-server in the same run (issue 18).

Every server process (the shards, nutcracker) runs on core 0, kvsd with --threads 1; the
client, kvsd-loadgen, runs on core 1 (--cpu 1) in every topology, so the three topologies
differ only in what stands between the client and the data:

  direct     kvsd-loadgen -> one server
  twemproxy  kvsd-loadgen -> nutcracker (fnv1a_64, ketama, one connection per shard) -> 3 shards
  cluster    kvsd-loadgen --cluster -> 3 masters (CLUSTER SLOTS, requests routed by slot)

On two cores no speed-up is expected (all servers share core 0): the figures show what a
request costs in each topology. The workload is kvsd-loadgen's GET/SET 1:10 over --keys keys
(64-byte values, --prefill first, not measured); direct and twemproxy use -c CONNS
connections, cluster -c CONNS/3 per master (the same total). The servers take turns, run by
run, each run on freshly started servers; the table shows medians, the ratio kvsd/redis per
topology, each topology against direct for the same server, and the servers' CPU share
(shards and nutcracker together).

kvsd's cluster mode: each master gets --kvsd-cluster-args (placeholders: {i} the node's index,
{port} its port, {ports} the three ports comma-separated, {dir} a scratch directory, {src}
the source tree, {map} a static slot map of the three nodes in docs/CLUSTER.md's format
with redis-cli --cluster create's default ranges), default "--cluster-enabled yes
--cluster-config-file {map}". When kvsd refuses to start with them, or its cluster_state is
not ok, the kvsd cluster row is skipped with a message (the redis rows still run).

Usage: python3 bench/scaleout.py [--duration S] [--runs R] [--pipeline 1,16] [--conns N]
         [--keys N] [--topologies direct,twemproxy,cluster] [--kvsd-cluster-args ARGS]
         [--kvsd BIN] [--redis BIN] [--loadgen BIN] [--smoke]
"""

import argparse
import json
import os
import random
import shlex
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


class Skip(Exception):
    pass


def bindable(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def cluster_ports():
    """Three ports P with P+10000 (Redis's cluster bus) free too, P <= 55525, never 6379."""
    rng = random.Random()
    for _ in range(1000):
        base = rng.randrange(20000, 55500)
        ports = [base, base + 1, base + 2]
        if 6379 not in ports and all(bindable(p) and bindable(p + 10000) for p in ports):
            return ports
    sys.exit("no free ports for a cluster")


def start_on(name, binary, port, procs, extra):
    """Like benchlib.start, on a given port (cluster nodes must know each other's ports).
    Raises Skip when the server exits (e.g. refuses an option)."""
    cmd = ["taskset", "-c", "0", binary, "--port", str(port), "--bind", "127.0.0.1",
           "--loglevel", "warning"]
    if os.path.basename(binary) == "redis-server":
        cmd += ["--save", "", "--appendonly", "no"]
    else:
        cmd += ["--threads", "1", "--save", ""]
    cmd += list(extra)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    procs.append(p)
    deadline = time.time() + 10
    while True:
        try:
            if benchlib.command(port, "PING").startswith(b"+PONG"):
                return {"name": name, "proc": p, "port": port}
        except OSError:
            pass
        if p.poll() is not None:
            raise Skip("%s %s exited: %s" % (name, " ".join(extra),
                                             p.stderr.read().decode()[-300:].strip()))
        if time.time() > deadline:
            sys.exit("%s did not start" % name)
        time.sleep(0.05)


def start_nutcracker(shards, procs, d):
    port, stats = benchlib.free_port(), benchlib.free_port()
    conf = os.path.join(d, "nutcracker.yml")
    with open(conf, "w") as f:
        f.write("bench:\n  listen: 127.0.0.1:%d\n  hash: fnv1a_64\n  distribution: ketama\n"
                "  redis: true\n  server_connections: 1\n  preconnect: true\n  servers:\n"
                % port)
        for i, s in enumerate(shards):
            f.write("   - 127.0.0.1:%d:1 shard%d\n" % (s["port"], i))
    p = subprocess.Popen(["taskset", "-c", "0", "nutcracker", "-c", conf, "-s", str(stats),
                          "-a", "127.0.0.1", "-o", os.path.join(d, "nutcracker.log")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    procs.append(p)
    deadline = time.time() + 10
    while True:
        try:
            if benchlib.command(port, "PING").startswith(b"+PONG"):
                return {"name": "nutcracker", "proc": p, "port": port}
        except OSError:
            pass
        if p.poll() is not None or time.time() > deadline:
            sys.exit("nutcracker did not start (see %s)" % conf)
        time.sleep(0.05)


def cluster_ok(port):
    try:
        info = benchlib.command(port, "CLUSTER", "INFO")
    except OSError:
        return False
    return b"cluster_state:ok" in info


def slot_map(d, ports):
    """kvsd's static slot map (docs/CLUSTER.md: "<40-hex id> <ip>:<port> <first>-<last>")."""
    path = os.path.join(d, "cluster-map.conf")
    ranges = ["0-5460", "5461-10922", "10923-16383"]
    with open(path, "w") as f:
        for i, (port, r) in enumerate(zip(ports, ranges)):
            f.write("%040x 127.0.0.1:%d %s\n" % (0xb0 + i, port, r))
    return path


def start_cluster(kind, binary, procs, d, kvsd_args):
    ports = cluster_ports()
    srvs = []
    for i, port in enumerate(ports):
        if kind == "redis":
            extra = ["--cluster-enabled", "yes", "--cluster-config-file",
                     os.path.join(d, "nodes-%d.conf" % port), "--dir", d]
        else:
            extra = shlex.split(kvsd_args.format(i=i, port=port,
                                                 ports=",".join(map(str, ports)), dir=d,
                                                 src=ROOT, map=slot_map(d, ports)))
        srvs.append(start_on(kind, binary, port, procs, extra))
    if kind == "redis":
        r = subprocess.run(["redis-cli", "--cluster", "create"] +
                           ["127.0.0.1:%d" % p for p in ports] + ["--cluster-yes"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        if r.returncode != 0:
            sys.exit("redis-cli --cluster create failed:\n" + r.stdout)
    deadline = time.time() + 20
    while not all(cluster_ok(p) for p in ports):
        if time.time() > deadline:
            raise Skip("%s: cluster_state is not ok on every node (CLUSTER INFO: %r)" %
                       (kind, benchlib.command(ports[0], "CLUSTER", "INFO")[:80]))
        time.sleep(0.1)
    return srvs


def loadgen(a, port, conns, pipeline, cluster):
    out = tempfile.mktemp(prefix="bench-scaleout-", suffix=".json")
    cmd = [a.loadgen, "-p", str(port), "--cpu", "1", "-c", str(conns), "-P", str(pipeline),
           "--keys", str(a.keys), "--prefill", "--duration", str(a.duration), "--json", out]
    if cluster:
        cmd.insert(1, "--cluster")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=a.duration * 4 + 120)
    if r.returncode != 0:
        sys.exit("kvsd-loadgen failed: %s\n%s" % (" ".join(cmd), r.stdout[-2000:]))
    with open(out) as f:
        res = json.load(f)
    os.unlink(out)
    if res["errors"]:
        sys.exit("kvsd-loadgen saw %d errors (%s): %s" % (res["errors"], " ".join(cmd),
                                                         res["error_texts"]))
    return res


def one_run(a, kind, binary, topology, pipeline):
    """Fresh servers for one topology; returns (ops/s, servers' CPU share)."""
    d = tempfile.mkdtemp(prefix="bench-scaleout-")
    procs = []
    try:
        if topology == "direct":
            srvs = [benchlib.start(kind, binary, "0", procs)]
            port, conns = srvs[0]["port"], a.conns
        elif topology == "twemproxy":
            srvs = [benchlib.start(kind, binary, "0", procs) for _ in range(3)]
            srvs.append(start_nutcracker(srvs, procs, d))
            port, conns = srvs[-1]["port"], a.conns
        else:
            srvs = start_cluster(kind, binary, procs, d, a.kvsd_cluster_args)
            port, conns = srvs[0]["port"], max(1, a.conns // 3)
        pids = [s["proc"].pid for s in srvs]
        c0, t0 = sum(benchlib.cpu_seconds(p) for p in pids), time.monotonic()
        res = loadgen(a, port, conns, pipeline, topology == "cluster")
        cpu = (sum(benchlib.cpu_seconds(p) for p in pids) - c0) / (time.monotonic() - t0)
        return res["ops_per_sec"], cpu
    finally:
        benchlib.stop(procs)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pipeline", default="1,16")
    ap.add_argument("--conns", type=int, default=48)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--topologies", default="direct,twemproxy,cluster")
    ap.add_argument("--kvsd-cluster-args",
                    default="--cluster-enabled yes --cluster-config-file {map}")
    ap.add_argument("--kvsd", default=os.path.join(ROOT, "build", "server", "kvsd"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--loadgen", default=os.path.join(ROOT, "build", "loadgen", "kvsd-loadgen"))
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny run that only checks the script works")
    a = ap.parse_args()
    if a.smoke:
        a.duration, a.runs, a.keys, a.conns, a.pipeline = 0.3, 1, 1000, 6, "4"
    for tool in ("nutcracker", "redis-cli", "taskset"):
        if not shutil.which(tool):
            sys.exit("%s is not installed (scripts/setup.sh installs it)" % tool)
    print("machine: %s" % benchlib.machine())
    print("servers (shards, nutcracker) on core 0, kvsd --threads 1; kvsd-loadgen --cpu 1")
    print("client: kvsd-loadgen -c %d (cluster: -c %d per master) --keys %d --prefill "
          "--duration %g, GET/SET 1:10, 64-byte values"
          % (a.conns, max(1, a.conns // 3), a.keys, a.duration))
    print("kvsd cluster nodes: %s" % a.kvsd_cluster_args)
    topologies = a.topologies.split(",")
    for pipeline in [int(x) for x in a.pipeline.split(",")]:
        print("\n-P %d   %-10s %12s %12s %7s %14s %14s   (medians of %d runs; servers' CPU)"
              % (pipeline, "topology", "kvsd ops/s", "redis ops/s", "ratio", "kvsd vs direct",
                 "redis vs direct", a.runs))
        direct = {}
        for topo in topologies:
            k, r = [], []
            skipped = None
            for _ in range(a.runs):
                if skipped is None:
                    try:
                        k.append(one_run(a, "kvsd", a.kvsd, topo, pipeline))
                    except Skip as e:
                        skipped = str(e)
                r.append(one_run(a, "redis", a.redis, topo, pipeline))
            rm, rc = statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)
            if topo == "direct":
                direct["redis"] = rm
            rvs = "%13.2fx" % (rm / direct["redis"]) if "redis" in direct else "%14s" % "-"
            if skipped is not None:
                print("       %-10s %12s %12.0f %7s %14s %s   (cpu - / %.2f)"
                      % (topo, "skipped", rm, "-", "-", rvs, rc))
                print("       kvsd %s skipped: %s" % (topo, skipped))
                continue
            km, kc = statistics.median(x[0] for x in k), statistics.median(x[1] for x in k)
            if topo == "direct":
                direct["kvsd"] = km
            kvs = "%13.2fx" % (km / direct["kvsd"]) if "kvsd" in direct else "%14s" % "-"
            print("       %-10s %12.0f %12.0f %6.2fx %s %s   (cpu %.2f / %.2f)"
                  % (topo, km, rm, km / rm, kvs, rvs, kc, rc))


if __name__ == "__main__":
    main()
