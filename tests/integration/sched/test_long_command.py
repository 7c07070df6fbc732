#!/usr/bin/env python3
"""Regression test for issue 10, defect 3 (latency part): "while a long
multi-key command runs, clients whose connection belongs to that worker get no
answer at all" and "the worker reaches quiescent points often enough that
reclamation never stalls".

Each scenario starts kvsd with --threads 2 (KVSD_EXTRA_ARGS is appended, so
`meson test --setup nosteal` runs the same with --work-stealing no), opens the
long client and then PINGERS pinger connections — with round-robin placement
both workers own pingers, so some share the long client's worker whatever the
order; with conn-assign single every connection is on worker 0 — and while the
long client's task runs, every pinger sends PING every 10 ms. Every PING must
be answered within PING_BOUND_S, and the long task must have lasted at least
4 x PING_BOUND_S (so on the old code, where a stuck worker's other connections
waited for the whole task, the bound is certainly broken).

  - keys_rr / keys_single: the long task is a pipeline of KEYS over 100k keys
    (calibrated to last about 2 s; one task, since run-budget-commands is
    raised), round-robin and single placement. Not the issue's MSET: its
    quadratic cost is being fixed separately (after which it is no longer
    long), and an MSET that lands on worker 1 still spins (defect 2);
  - epoch: INFO's ebr_epoch advances while a pipeline of long commands runs
    on one connection (quiescent states between commands);
  - timeout_after_long_command: with `timeout 1`, a client is not closed for
    idleness just after a 2 s command answered (a reply counts as interaction);
  - flood_threads1 / flood_threads2: regression "a pipelined flood stalls every
    client" (found by the torture client): one client pipelines a million
    INCRs, each run of it short (run-budget-commands) but re-queued through
    the worker's inbox at once, so its worker never polled its event loop and
    every other client it owned waited for the whole flood (about 1 s per
    million INCRs; with --threads 1 every client). Same bound.

PING_BOUND_S: the issue asks for 100 ms. A guest notices a stuck worker
after at most about 7 ms (worker.c: STALL_NS + WATCH_NS), and the worst PING
of a run on a quiet 2-core machine is 8-20 ms. The round trip is measured to
the kernel's arrival stamp of the reply (SO_TIMESTAMPNS), so this client's
own scheduling delays do not count; but the server's threads share 2 cores
with the long command, this client and other tests (meson runs tests in
parallel; sanitizer builds are 2-10x slower), and a runnable thread can wait
several scheduler periods (CFS: ~24 ms each with 2 CPUs) — on a machine
shared by several builds (load average 11) a worst case near 235 ms was seen
once without the kernel stamps. 250 ms is 2.5x the goal and still 4x below
the shortest long task the test accepts; the old code failed it by seconds.

Usage: test_long_command.py [scenario...]
"""

import os
import select
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'py'))
import harness  # noqa: E402
from harness import encode  # noqa: E402

PING_BOUND_S = 0.250
PINGERS = 6
PING_EVERY_S = 0.010
NKEYS = 100000

failures = []


def check(what, ok, detail=''):
    harness.log('%s %s %s' % ('ok  ' if ok else 'FAIL', what, detail))
    if not ok:
        failures.append(what)
    return ok


def info_workers(c):
    """INFO kvsd worker lines as a list of dicts of ints."""
    out = []
    for line in c.cmd('INFO', 'kvsd').decode().split('\r\n'):
        if line.startswith('worker') and ':' in line and 'tasks=' in line:
            out.append({k: int(v) for k, v in
                        (kv.split('=') for kv in line.split(':', 1)[1].split(','))})
    return out


def ebr_epoch(c):
    for line in c.cmd('INFO', 'kvsd').decode().split('\r\n'):
        if line.startswith('ebr_epoch:'):
            return int(line.split(':', 1)[1])
    return None


def fill(c, n):
    step = 20000
    for base in range(0, n, step):
        k = min(step, n - base)
        c.send(b''.join(encode('SET', 'key:%07d' % i, 'v') for i in range(base, base + k)))
        for r in c.read_replies(k):
            if r != b'+OK\r\n':
                raise RuntimeError('fill: %r' % r)


# Linux: SO_TIMESTAMPNS (asm-generic/socket.h; Python does not name it). Each
# reply is stamped by the kernel when it reaches our socket, so the measured
# time is the server's, without this process's own scheduling delays.
SO_TIMESTAMPNS = 35


class Pingers:
    """PINGERS connections, each sending PING every PING_EVERY_S with at most
    one outstanding, from one thread (select), recording every round trip:
    from just before send() to the kernel's arrival stamp of the reply."""

    def __init__(self, s):
        self.conns = [s.client() for _ in range(PINGERS)]
        for c in self.conns:
            c.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.worst = 0.0
        self.count = 0
        self.late = 0
        self.bad = []

    @staticmethod
    def _recv(sock):
        """(bytes, arrival time as time.time(), or None if not stamped)"""
        data, anc, _, _ = sock.recvmsg(1 << 16, socket.CMSG_SPACE(16))
        for level, kind, d in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(d) >= 16:
                sec, nsec = struct.unpack('qq', d[:16])
                return data, sec + nsec / 1e9
        return data, None

    def run_until(self, done):
        socks = {c.sock: c for c in self.conns}
        sent = {c.sock: None for c in self.conns}  # (wall, monotonic) of the send
        next_at = {c.sock: time.monotonic() for c in self.conns}
        while True:
            now = time.monotonic()
            finished = done.is_set()
            if finished and all(v is None for v in sent.values()):
                return
            for k, c in socks.items():
                if sent[k] is None and not finished and now >= next_at[k]:
                    sent[k] = (time.time(), time.monotonic())
                    c.send(b'*1\r\n$4\r\nPING\r\n')
                    next_at[k] = now + PING_EVERY_S
                elif sent[k] is not None and now - sent[k][1] > 5 * PING_BOUND_S + 5:
                    self.bad.append('no reply for %.1f s' % (now - sent[k][1]))
                    return
            r, _, _ = select.select(list(socks), [], [], PING_EVERY_S / 2)
            for k in r:
                c = socks[k]
                data, arrived = self._recv(k)
                if not data:
                    self.bad.append('EOF')
                    return
                if arrived is None:
                    arrived = time.time()
                c.buf += data
                while harness.reply_end(c.buf, 0):
                    rep = c.read_reply()
                    if sent[k] is None:
                        self.bad.append('unexpected reply %r' % rep)
                        return
                    dt = arrived - sent[k][0]
                    sent[k] = None
                    self.count += 1
                    self.worst = max(self.worst, dt)
                    if dt > PING_BOUND_S:
                        self.late += 1
                    if rep != b'+PONG\r\n':
                        self.bad.append(repr(rep))

    def close(self):
        for c in self.conns:
            c.close()


def pipelined_task(name, long_c, unit, n, pingers, min_task_s, what='commands',
                   join_s=60):
    """Sends n copies of the encoded command `unit` on long_c as one pipeline
    (one task) while the pingers ping, and checks that every reply came and
    was not an error. If the task came out shorter than min_task_s (the
    machine was busier while the caller timed the command than while it
    ran), it runs again with more copies, up to 3 times and 1000 copies:
    every PING of every attempt counts. Then checks that the task was long
    enough and that every PING was answered within PING_BOUND_S. Returns
    (seconds the last attempt took, copies)."""
    took = [0.0]
    for attempt in range(3):
        done = threading.Event()
        replies = [None]

        def run_long():
            t0 = time.monotonic()
            try:
                long_c.send(unit * n)
                replies[0] = long_c.read_replies(n)
            finally:
                took[0] = time.monotonic() - t0
                done.set()

        th = threading.Thread(target=run_long, daemon=True)
        th.start()
        time.sleep(0.05)  # the long task is running before the first PING
        pingers.run_until(done)
        th.join(join_s)
        ok_replies = replies[0] is not None and len(replies[0]) == n and \
            all(r is not None and not r.startswith(b'-') for r in replies[0])
        check('%s: long task answered' % name, ok_replies)
        if took[0] >= min_task_s or n >= 1000 or not ok_replies:
            break
        harness.log('info %s: the task took %.2f s, shorter than %.1f s: again, longer'
                    % (name, took[0], min_task_s))
        n = min(1000, int(n * 2 * min_task_s / max(took[0], 0.1)) + 1)
    check('%s: the task was long (>= %.1f s)' % (name, min_task_s),
          took[0] >= min_task_s, '(%.2f s, %d %s)' % (took[0], n, what))
    check('%s: every PING answered' % name, not pingers.bad and pingers.count > 0,
          '(%d PINGs; %s)' % (pingers.count, pingers.bad[:3]))
    check('%s: every PING within %d ms' % (name, PING_BOUND_S * 1000),
          pingers.late == 0,
          '(worst %.1f ms, %d late of %d)' % (pingers.worst * 1000, pingers.late,
                                               pingers.count))
    return took[0], n


def long_task_with_pingers(name, extra, min_task_s):
    """Runs a pipeline of KEYS on one connection (one task) while the pingers
    ping. The pipeline is sized from a timed KEYS; if the machine was busier
    while timing it than while running it, the task comes out shorter than
    min_task_s and runs again, longer (every PING of every attempt counts).
    Returns the INFO worker lines before and after."""
    with harness.kvsd_server(['--threads', '2'] + extra) as s:
        admin = s.client(timeout=120)
        fill(admin, NKEYS)
        unit, n = keys_task(s, admin)
        long_c = s.client(timeout=300)
        pingers = Pingers(s)
        for p in pingers.conns:  # every connection attached and idle
            if p.cmd('PING') != b'+PONG\r\n':
                raise RuntimeError('pinger not ready')
        before = info_workers(admin)
        pipelined_task(name, long_c, unit, n, pingers, min_task_s, 'KEYS')
        after = info_workers(admin)
        if before and after:
            polled = sum(a.get('polled_by_guest', 0) - b.get('polled_by_guest', 0)
                         for a, b in zip(after, before))
            harness.log('info %s: loops polled by a guest during the task: %d' % (name, polled))
        pingers.close()
        long_c.close()
        admin.close()
        return before, after


def keys_task(s, admin, secs=2.0):
    """(one KEYS request, how many of them in a pipeline last about secs); the
    pipeline is one task (run-budget-commands raised)."""
    admin.cmd('CONFIG', 'SET', 'run-budget-commands', '1000')
    one = 1.0
    for _ in range(3):  # the fastest of three: a busy machine only lengthens the task
        t0 = time.monotonic()
        admin.cmd('KEYS', 'key:*x')
        one = min(one, max(time.monotonic() - t0, 0.001))
    return encode('KEYS', 'key:*x'), int(min(max(secs / one, 4), 1000))


def t_keys_rr():
    before, after = long_task_with_pingers('keys_rr', [], 4 * PING_BOUND_S)
    # with both workers owning pingers, the stuck worker's were served by a guest
    polled = sum(a.get('polled_by_guest', 0) - b.get('polled_by_guest', 0)
                 for a, b in zip(after, before))
    check('keys_rr: INFO counts guest polls', polled > 0, '(%d)' % polled)


def t_keys_single():
    long_task_with_pingers('keys_single', ['--conn-assign', 'single'], 4 * PING_BOUND_S)


def t_epoch():
    """ebr_epoch advances while one connection runs a pipeline of long commands
    (each a KEYS walk of the whole map); a writer keeps retiring values. The
    epoch is sampled for 1 s while the pipeline runs (a pipeline that ends
    sooner runs again, longer)."""
    with harness.kvsd_server(['--threads', '2']) as s:
        admin = s.client(timeout=120)
        fill(admin, NKEYS)
        unit, n = keys_task(s, admin, 3.0)
        long_c = s.client(timeout=300)
        long_c.cmd('PING')
        for attempt in range(3):
            done = threading.Event()

            def run_long():
                try:
                    long_c.send(unit * n)
                    long_c.read_replies(n)
                finally:
                    done.set()
            th = threading.Thread(target=run_long, daemon=True)
            th.start()
            time.sleep(0.2)
            e0 = ebr_epoch(admin)
            t0 = time.monotonic()
            e1 = e0
            while not done.is_set() and time.monotonic() - t0 < 1.0:
                admin.cmd('SET', 'churn', 'x' * 1000)
                e1 = ebr_epoch(admin)
                time.sleep(0.02)
            still_running = not done.is_set()
            th.join(60)
            if still_running or n >= 1000:
                break
            n = min(1000, 3 * n)
        check('epoch: the pipeline was still running after 1 s', still_running)
        check('epoch: ebr_epoch advances during a pipeline of long commands',
              e1 is not None and e0 is not None and e1 >= e0 + 2, '(%s -> %s)' % (e0, e1))
        long_c.close()
        admin.close()


def t_timeout_after_long_command():
    """With `timeout 1`, a client whose command ran for 2 s is not idle when its
    reply leaves: as in Redis (writing a reply is an interaction), it is not
    closed 0.5 s later. (kvsd counted only reads, so the guest-run cron could
    close a client right after a long command: found by stress_guest.)"""
    # the timeout is set after the fill and the calibration: on a loaded machine
    # (sanitized build, parallel tests) this script itself can pause for a second
    # between two batches, and the server then rightly closes admin as idle
    with harness.kvsd_server(['--threads', '2']) as s:
        admin = s.client(timeout=120)
        fill(admin, NKEYS)
        unit, n = keys_task(s, admin, 3.0)
        check('timeout: CONFIG SET timeout 1', admin.cmd('CONFIG', 'SET', 'timeout', '1') == b'+OK\r\n')
        c = s.client(timeout=300)
        c.send(unit * n)
        reps = c.read_replies(n)
        check('timeout: long pipeline answered', len(reps) == n and all(reps))
        time.sleep(0.5)
        r = None
        try:
            r = c.cmd('PING')
        except OSError:
            pass
        check('timeout: the client is not idle right after its reply', r == b'+PONG\r\n',
              repr(r))
        c.close()
        admin.close()


def flood(name, extra, n=1000000):
    """One client sends n INCRs in one write and reads the replies while the
    pingers ping; every PING within PING_BOUND_S. The flood must last at
    least twice that bound to mean anything: on a machine fast enough to
    answer n sooner, it runs again with twice as many (at most 8n)."""
    while True:
        took = flood_once(name, extra, n)
        if took >= 2 * PING_BOUND_S or n >= 8000000:
            break
        print('%s: %d INCRs took %.2f s, under %.1f s: again with %d' %
            (name, n, took, 2 * PING_BOUND_S, 2 * n))
        n *= 2
    check('%s: the flood was long (>= %.1f s)' % (name, 2 * PING_BOUND_S),
          took >= 2 * PING_BOUND_S, '(%.2f s)' % took)


def flood_once(name, extra, n):
    """One flood of n INCRs (flood()); returns how long it took."""
    with harness.kvsd_server(extra) as s:
        flood_c = s.client(timeout=120)
        flood_c.cmd('PING')
        pingers = Pingers(s)
        for p in pingers.conns:
            if p.cmd('PING') != b'+PONG\r\n':
                raise RuntimeError('pinger not ready')
        done = threading.Event()
        got = [0]
        took = [0.0]

        def run_flood():
            t0 = time.monotonic()
            # the server stops reading a client whose replies pile up
            # (client-output-pause-limit): send from a thread, read here
            sender = threading.Thread(
                target=flood_c.sock.sendall, args=(encode('INCR', 'flood') * n,),
                daemon=True)
            try:
                sender.start()
                lines = 0
                while lines < n:
                    data = flood_c.sock.recv(1 << 20)
                    if not data:
                        break
                    lines += data.count(b'\n')  # one per reply; a CRLF may split across reads
                got[0] = lines
                sender.join(10)
            finally:
                took[0] = time.monotonic() - t0
                done.set()

        th = threading.Thread(target=run_flood, daemon=True)
        th.start()
        time.sleep(0.05)
        pingers.run_until(done)
        th.join(60)
        check('%s: every INCR answered' % name, got[0] == n, '(%d of %d)' % (got[0], n))
        check('%s: every PING answered' % name, not pingers.bad and pingers.count > 0,
              '(%d PINGs; %s)' % (pingers.count, pingers.bad[:3]))
        check('%s: every PING within %d ms' % (name, PING_BOUND_S * 1000),
              pingers.late == 0,
              '(worst %.1f ms, %d late of %d)' % (pingers.worst * 1000, pingers.late,
                                                   pingers.count))
        pingers.close()
        flood_c.close()
    return took[0]


def t_flood_threads1():
    flood('flood_threads1', ['--threads', '1'])


def t_flood_threads2():
    flood('flood_threads2', ['--threads', '2'])


TESTS = {
    'keys_rr': t_keys_rr,
    'keys_single': t_keys_single,
    'epoch': t_epoch,
    'timeout_after_long_command': t_timeout_after_long_command,
    'flood_threads1': t_flood_threads1,
    'flood_threads2': t_flood_threads2,
}


def main():
    return harness.run_all(TESTS, failures, check, 'long-command')


if __name__ == '__main__':
    sys.exit(main())
