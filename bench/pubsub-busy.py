#!/usr/bin/env python3
"""Publish-to-receive latency of one subscriber while the server is saturated by other
clients (issue 17): a PUBLISH's wake-up of its subscriber must not wait behind a load that
never lets the worker run dry (net/worker.c: deferred wake-ups, defer_age).

The server on core 0 (kvsd --threads T, or redis-server), `redis-benchmark -c C -P P -t get`
on core 1 as the load; one subscriber and one publisher connection; every 0.2 s one PUBLISH,
timed from its send to its own reply (the publisher's wait behind the load) and from that
reply to the subscriber's receipt (the wake-up's wait). Prints median and worst per server.

Usage: python3 bench/pubsub-busy.py [--kvsd BIN ...] [--threads 1,2] [--clients 1000]
       [--pipeline 64] [--messages 10] [--no-redis]
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port  # noqa: E402


def one(cmd, port, a):
    srv = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    load = None
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        sub = socket.create_connection(("127.0.0.1", port))
        sub.settimeout(10)
        sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        sub.recv(100)
        pub = socket.create_connection(("127.0.0.1", port))
        pub.settimeout(10)
        load = subprocess.Popen(["taskset", "-c", "1", "redis-benchmark", "-p", str(port),
                                 "-c", str(a.clients), "-P", str(a.pipeline), "-n", "1000000000",
                                 "-q", "-t", "get"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        lat = []
        for _ in range(a.messages):
            t0 = time.time()
            pub.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nx\r\n")
            pub.recv(100)
            t1 = time.time()
            try:
                sub.recv(100)  # one small message: one segment
                lat.append(((time.time() - t0) * 1000, (t1 - t0) * 1000))
            except socket.timeout:
                lat.append((float("inf"), (t1 - t0) * 1000))
            time.sleep(0.2)
        return lat
    finally:
        if load:
            load.kill()
            load.wait()
        srv.kill()
        srv.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvsd", action="append")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--pipeline", type=int, default=64)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--no-redis", action="store_true")
    a = ap.parse_args()
    runs = []
    for b in a.kvsd or ["build/server/kvsd"]:
        for t in a.threads.split(","):
            port = free_port()
            runs.append(("%s --threads %s" % (b, t),
                         [b, "--port", str(port), "--bind", "127.0.0.1", "--threads", t,
                          "--save", ""], port))
    if not a.no_redis:
        port = free_port()
        runs.append(("redis-server", ["redis-server", "--port", str(port), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no"], port))
    print("load: taskset -c 1 redis-benchmark -c %d -P %d -t get; %d PUBLISHes, 0.2 s apart"
          % (a.clients, a.pipeline, a.messages))
    for label, cmd, port in runs:
        lat = one(cmd, port, a)
        rep = [x[1] for x in lat]
        gap = [x[0] - x[1] for x in lat]
        print("%-34s reply median %7.1f worst %7.1f ms; reply to receipt median %7.1f worst %7.1f ms"
              % (label, statistics.median(rep), max(rep), statistics.median(gap), max(gap)))


if __name__ == "__main__":
    main()
