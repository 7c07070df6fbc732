#!/usr/bin/env python3
"""Functional tests of blocked clients on kvsd (issue 14), one per process:

  timeout-precision  blocking pops with timeouts from 20 ms to 300 ms: none answers
                     before its deadline; 9 in 10 answer within 10 ms after it and
                     all within 100 ms (release build; 250 ms / 2.5 s under
                     sanitizers), and blocked_clients /
                     clients_in_timeout_table go back to 0.
  shutdown           clients blocked when SHUTDOWN (and SIGTERM) comes: as redis-server
                     7.0, each is closed without a reply, after the replies of the commands
                     it pipelined before the blocking one; kvsd exits 0.
  qbuf-limit         a blocked client is still read: past client-query-buffer-limit it is
                     closed, as by redis-server.
  idle-cpu           10,000 blocked clients (maxclients raised): kvsd's CPU use over 2 s
                     (utime + stime from /proc) stays under 1% (release build).

Usage: test_blocking.py NAME   (environment: see harness.py)
"""

import os
import resource
import socket
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402


class Fail(Exception):
    pass


def blocked(cl):
    r = harness.parse(cl.cmd('INFO', 'clients'))
    text = r.decode() if isinstance(r, bytes) else r
    out = {}
    for ln in text.splitlines():
        if ':' in ln:
            k, v = ln.split(':', 1)
            out[k] = v
    return int(out['blocked_clients']), int(out['clients_in_timeout_table'])


def wait_blocked(cl, n, what):
    for _ in range(2000):
        if blocked(cl)[0] == n:
            return
        time.sleep(0.005)
    raise Fail('%s: blocked_clients never reached %d (%r)' % (what, n, blocked(cl)))


def t_timeout_precision():
    bound = 0.250 if harness.sanitized() else 0.010
    with harness.kvsd_server() as s:
        ctl = s.client()
        late = []
        for rnd in range(3):
            timeouts = [0.02 + 0.28 * i / 9 for i in range(10)]
            cls = [s.client() for _ in timeouts]
            starts = []
            for cl, t in zip(cls, timeouts):
                cmd = ('BZPOPMIN', 'none%d' % rnd, '%.3f' % t) if rnd != 1 else \
                      ('BLPOP', 'none', 'other', '%.3f' % t)
                starts.append(time.monotonic())
                cl.send(encode(*cmd))
            for cl, t, t0 in zip(cls, timeouts, starts):
                r = cl.read_reply()
                dt = time.monotonic() - t0
                if r not in (b'*-1\r\n',):
                    raise Fail('timeout reply %r' % r)
                # deadlines are taken when the server reads the command, after t0
                if dt < round(t, 3) - 0.0005:
                    raise Fail('answered %.1f ms before its %.0f ms deadline'
                               % ((t - dt) * 1000, t * 1000))
                late.append(dt - t)
                cl.close()
        late.sort()
        harness.log('timeout lateness over %d timeouts: median %.2f ms, p90 %.2f ms, '
                    'max %.2f ms (bound %.0f ms)' % (len(late), late[len(late) // 2] * 1000,
                                                     late[int(len(late) * 0.9)] * 1000,
                                                     late[-1] * 1000, bound * 1000))
        # 9 in 10 within the bound and none far beyond it: the rest is the
        # shared 2-core machine's scheduling (parallel tests), not the timer
        if late[int(len(late) * 0.9) - 1] > bound or late[-1] > 10 * bound:
            raise Fail('timeouts fired late: %r ms' % [round(x * 1000, 2) for x in late])
        if blocked(ctl) != (0, 0):
            raise Fail('after the timeouts INFO says %r' % (blocked(ctl),))
        ctl.close()


def t_shutdown():
    """Both servers: a pipelined PING's reply, then EOF with nothing more."""
    for mk in (harness.redis_server, harness.kvsd_server):
        s = mk().start()
        name = s.name
        ctl = s.client()
        cls = []
        for i in range(3):
            cl = s.client()
            cl.send(encode('PING') + encode('BLPOP' if i else 'BZPOPMIN', 'k%d' % i, '0')
                    + encode('PING'))
            cls.append(cl)
        wait_blocked(ctl, 3, name)
        try:
            ctl.send(encode('SHUTDOWN', 'NOSAVE'))
        except OSError:
            pass
        for cl in cls:
            data, eof = cl.read_until_eof(10.0)
            if data != b'+PONG\r\n' or not eof:
                raise Fail('%s: a client blocked at SHUTDOWN got %r (eof %s)' % (name, data, eof))
        code = s.proc.wait(20)
        s.stop()
        if code != 0:
            raise Fail('%s exited %s' % (name, code))
    # SIGTERM with a blocked client: same, and exit 0 (kvsd)
    s = harness.kvsd_server().start()
    cl, ctl = s.client(), s.client()
    cl.send(encode('BRPOP', 'q', '0'))
    wait_blocked(ctl, 1, 'kvsd')
    code = s.stop()
    data, eof = cl.read_until_eof(5.0)
    if code != 0 or data != b'' or not eof:
        raise Fail('SIGTERM with a blocked client: exit %s, client got %r eof %s'
                   % (code, data, eof))


def t_qbuf_limit():
    """A blocked client is still read: past client-query-buffer-limit it is
    closed (both servers), and the other clients go on."""
    for mk in (harness.redis_server, harness.kvsd_server):
        with mk() as s:
            ctl = s.client()
            ctl.cmd('CONFIG', 'SET', 'client-query-buffer-limit', '1mb')
            cl = s.client()
            cl.send(encode('BLPOP', 'q', '0'))
            wait_blocked(ctl, 1, s.name)
            # an unfinished 4 MB bulk, pipelined behind the blocked command
            try:
                cl.send(b'*2\r\n$4\r\nECHO\r\n$4194304\r\n' + b'x' * (2 << 20))
            except OSError:
                pass
            data, eof = cl.read_until_eof(10.0)
            if data != b'' or not eof:
                raise Fail('%s: over the query buffer limit while blocked: %r eof %s'
                           % (s.name, data[:50], eof))
            wait_blocked(ctl, 0, s.name)
            if ctl.cmd('PING') != b'+PONG\r\n':
                raise Fail('%s: PING after' % s.name)


def proc_cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)


def t_idle_cpu():
    n = 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = n + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        harness.log('idle-cpu: SKIP (hard RLIMIT_NOFILE %d < %d)' % (hard, need))
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY
                                                else max(need, min(hard, 2 * need)), hard))
    with harness.kvsd_server(['--maxclients', str(n + 100)]) as s:
        ctl = s.client()
        socks = []
        try:
            for i in range(n):
                sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
                sk.sendall(encode('BLPOP' if i % 2 else 'BZPOPMIN', 'idle:%d' % i, '0'))
                socks.append(sk)
            wait_blocked(ctl, n, 'kvsd')
            time.sleep(0.5)             # let the connection storm's work settle
            hz = os.sysconf('SC_CLK_TCK')
            t0, c0 = time.monotonic(), proc_cpu_ticks(s.proc.pid)
            time.sleep(2.0)
            t1, c1 = time.monotonic(), proc_cpu_ticks(s.proc.pid)
            pct = 100.0 * (c1 - c0) / hz / (t1 - t0)
            harness.log('idle-cpu: %d blocked clients, kvsd CPU %.2f%% over %.1f s'
                        % (n, pct, t1 - t0))
            if pct >= 1.0 and not harness.sanitized():
                raise Fail('kvsd used %.2f%% CPU with %d idle blocked clients' % (pct, n))
            # they are all still blocked, and a push still wakes one
            if blocked(ctl)[0] != n:
                raise Fail('blocked clients went away: %r' % (blocked(ctl),))
            ctl.cmd('ZADD', 'idle:0', '1', 'm')
            socks[0].settimeout(10)
            r = socks[0].recv(100)
            if not r.startswith(b'*3\r\n$6\r\nidle:0\r\n'):
                raise Fail('the woken client got %r' % r)
        finally:
            for sk in socks:
                sk.close()
        wait_blocked(ctl, 0, 'kvsd after closing them')
        ctl.close()


TESTS = {'timeout-precision': t_timeout_precision, 'shutdown': t_shutdown,
         'idle-cpu': t_idle_cpu, 'qbuf-limit': t_qbuf_limit}

if __name__ == '__main__':
    sys.exit(harness.run_one(TESTS, (Fail, OSError, RuntimeError)))
