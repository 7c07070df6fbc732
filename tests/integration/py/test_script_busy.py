#!/usr/bin/env python3
"""busy-reply-threshold, -BUSY and SCRIPT KILL (issue 16), kvsd against redis-server 7.0.

On each server (busy-reply-threshold 100 ms): a script that loops forever
makes other clients' commands answer -BUSY, SCRIPT KILL stops it (the
script's client gets Redis's kill error), then SCRIPT KILL answers -NOTBUSY;
a script that wrote before looping is -UNKILLABLE and its write stays
once it ends; lua-time-limit is busy-reply-threshold's alias. The replies
of both servers are compared (the script's sha in the kill error included).

Usage: test_script_busy.py   (environment: see harness.py)
"""

import os
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LOOP = 'local i = 0 while true do i = i + 1 end'
# writes, then runs a while (about a second of plain Lua), then returns
WRITE_LOOP = "redis.call('set', 'w', 'done') local i = 0 while i < 6e7 do i = i + 1 end return 1"


def busy_until(cl, deadline):
    """Sends GET until it answers -BUSY (the script crossed the threshold)."""
    while time.time() < deadline:
        r = cl.cmd('GET', 'x')
        if r.startswith(b'-BUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


def run(srv):
    out = []
    a = srv.client(timeout=30)
    b = srv.client(timeout=30)
    out.append(b.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100'))
    out.append(b.cmd('CONFIG', 'GET', 'lua-time-limit'))
    out.append(b.cmd('SCRIPT', 'KILL'))
    a.send(harness.encode('EVAL', LOOP, '0'))
    out.append(busy_until(b, time.time() + 10))
    out.append(b.cmd('SET', 'x', '1'))
    out.append(b.cmd('PING'))
    out.append(b.cmd('SCRIPT', 'KILL'))
    out.append(a.read_reply())
    out.append(b.cmd('SCRIPT', 'KILL'))
    out.append(b.cmd('GET', 'x'))
    a.send(harness.encode('EVAL', WRITE_LOOP, '0'))
    out.append(busy_until(b, time.time() + 10))
    out.append(b.cmd('SCRIPT', 'KILL'))
    out.append(a.read_reply())
    out.append(b.cmd('GET', 'w'))
    out.append(b.cmd('SCRIPT', 'KILL'))
    a.close()
    b.close()
    return out


def main():
    rc = 0
    results = []
    for srv in (harness.redis_server(), harness.kvsd_server()):
        try:
            srv.start()
            results.append(run(srv))
        except Exception as e:  # noqa: BLE001 - any failure fails the test
            harness.log('test_script_busy: %s: %r' % (srv.name, e))
            rc = 1
            results.append([])
        finally:
            code = srv.stop()
            if srv.name == 'kvsd' and code != 0:
                harness.log('test_script_busy: kvsd exited with %s' % code)
                rc = 1
    want, got = results
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            harness.log('MISMATCH step %d\n   kvsd : %s\n   redis: %s'
                        % (i, harness.escape(g), harness.escape(w)))
            rc = 1
    if len(want) != len(got):
        rc = 1
    harness.log('test_script_busy: %d steps compared, %s' % (len(got), 'FAIL' if rc else 'ok'))
    return rc


if __name__ == '__main__':
    sys.exit(main())
