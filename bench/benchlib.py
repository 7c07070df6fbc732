"""Shared pieces of the kvsd-vs-redis benchmark scripts (bench/*.sh run python3 with
bench/ on sys.path): free ports, a process's CPU time, one-shot commands, and starting a
server pinned to a core the way every comparison starts both servers.

Each server is kvsd --threads 1 or redis-server --save '' --appendonly no, on a free
loopback port, pinned with taskset; start() returns once it answers PING."""

import os
import socket
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    """utime + stime of a running process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def command(port, *argv):
    """Sends one command on a new connection; returns the first bytes of the reply."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"*%d\r\n" % len(argv) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a if isinstance(a, bytes) else a.encode()) for a in argv))
    r = c.recv(4096)
    c.close()
    return r


def start(name, binary, core, procs, extra=()):
    """Starts a server pinned to core; appends its Popen to procs (the caller stops them)."""
    port = free_port()
    cmd = ["taskset", "-c", core, binary, "--port", str(port), "--bind", "127.0.0.1",
           "--loglevel", "warning"]
    if os.path.basename(binary) == "redis-server":
        cmd += ["--save", "", "--appendonly", "no"]
    else:
        cmd += ["--threads", "1"]
    cmd += list(extra)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    procs.append(p)
    deadline = time.time() + 10
    while True:
        try:
            if command(port, "PING").startswith(b"+PONG"):
                break
        except OSError:
            pass
        if p.poll() is not None or time.time() > deadline:
            sys.exit("%s (%s) did not start: %s" % (name, binary, p.stderr.read().decode()[-500:]))
        time.sleep(0.05)
    return {"name": name, "proc": p, "port": port}


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
