"""Shared pieces of the kvsd-vs-redis benchmark scripts (bench/*.sh run python3 with
bench/ on sys.path): free ports, a process's CPU time, one-shot commands, and starting a
server pinned to a core the way every comparison starts both servers.

Each server is kvsd --threads 1 or redis-server --save '' --appendonly no, on a free
loopback port, pinned with taskset; start() returns once it answers PING."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def resp(*argv):
    """One command (str or bytes arguments) as a RESP array of bulk strings."""
    return b"*%d\r\n" % len(argv) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a if isinstance(a, bytes) else a.encode()) for a in argv)


def command(port, *argv, timeout=10):
    """Sends one command on a new connection; returns the first bytes of the reply."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.sendall(resp(*argv))
    r = c.recv(4096)
    c.close()
    return r


def bulk_reply(port, *argv, timeout=30):
    """One command's whole reply on a new connection, decoded: a bulk string (INFO, CLIENT
    LIST) read to its announced length, or a short array of two bulks (CONFIG GET's pair)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.sendall(resp(*argv))
    data = b""
    while True:
        chunk = c.recv(1 << 16)
        if not chunk:
            break
        data += chunk
        if data.startswith(b"$") and b"\r\n" in data:
            hdr = data.index(b"\r\n")
            if len(data) >= hdr + 2 + int(data[1:hdr]) + 2:
                break
        elif data.startswith(b"*") and data.endswith(b"\r\n") and data.count(b"\r\n") >= 5:
            break
    c.close()
    return data.decode(errors="replace")


def info_text(port, section, timeout=30):
    """INFO <section>'s whole bulk reply, decoded."""
    return bulk_reply(port, "INFO", section, timeout=timeout)


def fill_big_collections(port, n):
    """redis-benchmark's three collection keys, pipelined: myhash, myset and myzset with n
    members `element:` + 12 digits each (zset scores 0..n-1), as its -r runs meet them."""
    c = socket.create_connection(("127.0.0.1", port))
    for base in range(0, n, 1000):
        ids = range(base, min(n, base + 1000))
        send_pipeline(c, [
            [b"HSET", b"myhash"] + [x for i in ids for x in (b"element:%012d" % i, b"xxx")],
            [b"SADD", b"myset"] + [b"element:%012d" % i for i in ids],
            [b"ZADD", b"myzset"] + [x for i in ids for x in (b"%d" % i, b"element:%012d" % i)]])
    return c


def send_pipeline(c, cmds):
    """Sends cmds (lists of bytes arguments) on socket c as one pipeline and reads their replies,
    which must be one line each (integers, statuses): exits on an error reply or a closed
    connection. For pipelined fills."""
    out = bytearray()
    for argv in cmds:
        out += b"*%d\r\n" % len(argv)
        for a in argv:
            out += b"$%d\r\n%s\r\n" % (len(a), a)
    c.sendall(out)
    got = b""
    while got.count(b"\r\n") < len(cmds):
        chunk = c.recv(1 << 16)
        if not chunk:
            sys.exit("server closed the connection while filling")
        got += chunk
    if got[:1] == b"-" or b"\r\n-" in got:
        sys.exit("error while filling: %r" % got[:200])


def loadgen(server, args, core=None, binary=None):
    """One kvsd-loadgen run against server (start()'s dict) with args (anything str() takes),
    under `taskset -c core` when core is given, its --json in a temporary file. Returns the
    report (the JSON as a dict); exits naming the server if the run failed or saw errors.
    binary: default LOADGEN_BIN, else build/loadgen/kvsd-loadgen."""
    binary = binary or os.environ.get("LOADGEN_BIN",
                                      os.path.join(ROOT, "build/loadgen/kvsd-loadgen"))
    fd, out = tempfile.mkstemp(prefix="kvsd-loadgen-", suffix=".json")
    os.close(fd)
    cmd = (["taskset", "-c", core] if core else []) + [
        binary, "-p", str(server["port"]), "--json", out] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("kvsd-loadgen failed against %s: %s" % (server["name"], p.stderr[-500:]))
        with open(out) as f:
            rep = json.load(f)
    finally:
        os.unlink(out)
    if rep["errors"]:
        sys.exit("kvsd-loadgen saw %d errors against %s: %r"
                 % (rep["errors"], server["name"], rep.get("error_texts")))
    return rep


def start(name, binary, core, procs, extra=(), timeout=10):
    """Starts a server pinned to core; appends its Popen to procs (the caller stops them).
    Returns once it answers PING with +PONG (a server still loading its data answers -LOADING),
    within timeout seconds."""
    port = free_port()
    cmd = ["taskset", "-c", core, binary, "--port", str(port), "--bind", "127.0.0.1",
           "--loglevel", "warning"]
    if os.path.basename(binary) == "redis-server":
        cmd += ["--save", "", "--appendonly", "no"]
    else:
        cmd += ["--threads", "1", "--save", ""]
    cmd += list(extra)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    procs.append(p)
    deadline = time.time() + timeout
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


def redis_benchmark(server, core, args, test):
    """One redis-benchmark run pinned to core against server (benchlib.start's dict), with
    the given arguments (-t/-n/-c/-P/...; --csv is added): returns (requests/s of the row
    named test, the server's CPU share of the wall time, the client's)."""
    cmd = ["taskset", "-c", core, "redis-benchmark", "-p", str(server["port"]), "--csv"]
    cmd += [str(a) for a in args]
    pid = server["proc"].pid
    s0, t0 = cpu_seconds(pid), time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = p.stdout.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    s1 = cpu_seconds(pid)
    if p.returncode != 0 or "ERR" in out:
        sys.exit("redis-benchmark failed against %s:\n%s" % (server["name"], out))
    rps = None
    for line in out.splitlines():
        cols = [c.strip('"') for c in line.split(",")]
        if len(cols) > 1 and cols[0].lower() == test.lower():
            rps = float(cols[1])
    if rps is None:
        sys.exit("no result in redis-benchmark's output:\n%s" % out)
    return rps, (s1 - s0) / wall, (ru.ru_utime + ru.ru_stime) / wall


def machine():
    """One line describing the machine: CPU model, online CPUs, kernel, redis-server version."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    redis = subprocess.run(["redis-server", "--version"], capture_output=True,
                           text=True).stdout.split()
    ver = next((w[2:] for w in redis if w.startswith("v=")), "?")
    return "%s, %d online CPUs, Linux %s, redis-server %s" % (model, os.cpu_count(),
                                                             os.uname().release, ver)


def server_command(binary, core, extra=()):
    """The command line start() runs (for printing; the port is chosen at start)."""
    cmd = ["taskset", "-c", core, binary, "--port", "PORT", "--bind", "127.0.0.1",
           "--loglevel", "warning"]
    if os.path.basename(binary) == "redis-server":
        cmd += ["--save", "''", "--appendonly", "no"]
    else:
        cmd += ["--threads", "1", "--save", "''"]
    return " ".join(cmd + list(extra))


def alternate(runs, kvsd_run, redis_run):
    """Runs kvsd_run() and redis_run() by turns, runs times each; each returns (rate, server CPU
    share). Returns the medians: (kvsd rate, redis rate, kvsd CPU share, redis CPU share)."""
    import statistics
    k, r = [], []
    for _ in range(runs):
        k.append(kvsd_run())
        r.append(redis_run())
    return (statistics.median(x[0] for x in k), statistics.median(x[0] for x in r),
            statistics.median(x[1] for x in k), statistics.median(x[1] for x in r))


def cpu_quota(pid, percent, period_us=10000):
    """Caps process pid (all its threads, and any it starts later) at `percent` of one core
    with the kernel's CFS bandwidth control: per period_us it may run quota = percent% of it,
    then waits for the next period. A server capped below what its client can drive is
    saturated, so its requests/s at the cap, divided by the cap, is its throughput per core,
    free of the sleep and wake-up costs a server that keeps up with its client pays per
    batch. Uses cgroup v1's cpu controller (/sys/fs/cgroup/cpu) or cgroup v2's cpu.max; needs
    root. Returns a function that removes the group (call it after the process exited)."""
    d = cpu_quota_group(pid, percent, period_us)

    def remove():
        for _ in range(100):
            try:
                os.rmdir(d)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)  # the process is still exiting
    return remove


def cpu_quota_group(pid, percent, period_us=10000):
    """cpu_quota's work: makes the group, moves pid into it, returns the group's directory
    (for a shell caller, which removes it with rmdir: `benchlib.py cap PID PERCENT`)."""
    quota = int(period_us * percent / 100)
    v1 = "/sys/fs/cgroup/cpu"
    if os.path.isfile(os.path.join(v1, "cpu.cfs_quota_us")):
        d = os.path.join(v1, "kvsd-bench-%d" % pid)
        os.mkdir(d)
        for f, v in (("cpu.cfs_period_us", period_us), ("cpu.cfs_quota_us", quota)):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(str(v))
    else:
        root = "/sys/fs/cgroup"
        with open(os.path.join(root, "cgroup.subtree_control"), "w") as fh:
            fh.write("+cpu")
        d = os.path.join(root, "kvsd-bench-%d" % pid)
        os.mkdir(d)
        with open(os.path.join(d, "cpu.max"), "w") as fh:
            fh.write("%d %d" % (quota, period_us))
    with open(os.path.join(d, "cgroup.procs"), "w") as fh:
        fh.write(str(pid))  # the whole process: every thread it has and will start
    return d


def thread_cpu(pid):
    """{tid: CPU ns} of pid's threads (schedstat's first field)."""
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                out[t] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


if __name__ == "__main__":
    # shell scripts' entry (loadgen/compare.sh): benchlib.py cap PID PERCENT prints the group
    if len(sys.argv) == 4 and sys.argv[1] == "cap":
        print(cpu_quota_group(int(sys.argv[2]), float(sys.argv[3])))
    else:
        sys.exit("usage: benchlib.py cap PID PERCENT")
