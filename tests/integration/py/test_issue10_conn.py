#!/usr/bin/env python3
"""Regression tests for issue 10's defects 8, 10 and 12 (connections, MONITOR,
transactions, protocol limits, shutdown), each checked against redis-server 7.0
where Redis's behaviour is the specification.

Usage: test_issue10_conn.py DEFECT
  DEFECT is one of the names in TESTS below (meson runs each as its own test,
  named after the defect). Exit status 0 when it passes.
Environment: see harness.py (KVSD_BIN, KVSD_EXTRA_ARGS, REDIS_BIN).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, encode, escape  # noqa: E402


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def both(extra_kvsd=(), extra_redis=()):
    """(kvsd, redis) servers, started."""
    return (harness.kvsd_server(list(extra_kvsd)).start(),
            harness.redis_server(list(extra_redis)).start())


def pipeline(c, cmds):
    c.send(b''.join(encode(*a) for a in cmds))
    return c.read_replies(len(cmds))


def info_field(c, section, field):
    r = harness.parse(c.cmd('INFO', section)).decode()
    m = re.search(r'(?:^|[,\r\n])' + re.escape(field) + r'=?:?([^,\r\n]*)', r)
    return m.group(1) if m else None


# ------------------------------------------------------------------ defect 8

def avg_ttl(c):
    """INFO keyspace's avg_ttl of db0 (None without a db0 line)."""
    r = harness.parse(c.cmd('INFO', 'keyspace')).decode()
    m = re.search(r'db0:keys=\d+,expires=\d+,avg_ttl=(\d+)', r)
    return int(m.group(1)) if m else None


def wait_avg_ttl(c, pred, what, timeout=10.0):
    deadline = time.time() + timeout
    v = None
    while time.time() < deadline:
        v = avg_ttl(c)
        if v is not None and pred(v):
            return v
        time.sleep(0.05)
    raise Fail('avg_ttl never became %s (last %r)' % (what, v))


def defect8_avg_ttl_flush():
    """After FLUSHALL / FLUSHDB of keys with a long TTL, keys set with EX 10
    report an avg_ttl of at most 10 s, as Redis (which resets the estimate
    when the db is emptied), not a blend dominated by the flushed keys."""
    k, r = both()
    try:
        for flush in ('FLUSHALL', 'FLUSHDB'):
            for srv in (k, r):
                with srv.client() as c:
                    c.cmd('FLUSHALL')
                    pipeline(c, [('SET', 'old:%d' % i, 'v', 'EX', 100000)
                                 for i in range(200)])
                    # the active expiry cycle (hz 10) samples them
                    wait_avg_ttl(c, lambda v: v > 90000000, '> 90000000 ms')
                    check(c.cmd(flush) == b'+OK\r\n', flush)
                    pipeline(c, [('SET', 'new:%d' % i, 'v', 'EX', 10)
                                 for i in range(200)])
                    now = avg_ttl(c)
                    check(now is not None and now <= 10000,
                          '%s: avg_ttl=%r right after %s and SET EX 10 (want <= 10000)'
                          % (srv.name, now, flush))
                    v = wait_avg_ttl(c, lambda v: v > 0, '> 0')
                    check(v <= 10000, '%s: avg_ttl=%d after %s and SET EX 10 (want <= 10000)'
                          % (srv.name, v, flush))
                    # and again a moment later (more samples averaged in)
                    time.sleep(0.5)
                    v = avg_ttl(c)
                    check(v is not None and v <= 10000,
                          '%s: avg_ttl=%r 0.5 s later (want <= 10000)' % (srv.name, v))
                    harness.log('%s %s: avg_ttl %d ms' % (srv.name, flush, v))
            # keys whose TTL is removed: no TTL key left, no average (Redis)
            for srv in (k, r):
                with srv.client() as c:
                    c.cmd('FLUSHALL')
                    c.cmd('SET', 'p', 'v', 'EX', 100000)
                    wait_avg_ttl(c, lambda v: v > 90000000, '> 90000000 ms')
                    c.cmd('PERSIST', 'p')
                    time.sleep(0.3)
                    c.cmd('SET', 'q', 'v', 'EX', 10)
                    v = wait_avg_ttl(c, lambda v: v > 0, '> 0')
                    check(v <= 10000, '%s: avg_ttl=%d after PERSIST of the only TTL key '
                          'and SET EX 10 (want <= 10000)' % (srv.name, v))
    finally:
        k.stop()
        r.stop()


TESTS = {
    'defect8_avg_ttl_flush': defect8_avg_ttl_flush,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        sys.stderr.write('usage: %s {%s}\n' % (sys.argv[0], '|'.join(sorted(TESTS))))
        return 2
    name = sys.argv[1]
    try:
        TESTS[name]()
    except Fail as e:
        harness.log('FAIL %s: %s' % (name, e))
        return 1
    harness.log('ok %s' % name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
