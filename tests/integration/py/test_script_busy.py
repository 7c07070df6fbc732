#!/usr/bin/env python3
"""busy-reply-threshold, -BUSY and SCRIPT KILL (issue 16), kvsd against redis-server 7.0.

On each server (busy-reply-threshold 100 ms): a script that loops forever
makes other clients' commands on the key it read answer -BUSY, SCRIPT KILL
stops it (the script's client gets Redis's kill error), then SCRIPT KILL
answers -NOTBUSY; a script that wrote before looping is -UNKILLABLE and its
write stays once it ends; lua-time-limit is busy-reply-threshold's alias.
The replies of both servers are compared (the script's sha in the kill
error included).

Then kvsd alone (--threads 2, eight clients, so that some share the busy
script's worker): while an optimistic script is busy, commands on keys it
has not touched are served (GET, SET, PING) and those on keys it read, its
writes' keys, whole-database writes and other scripts get -BUSY, every
client within its socket timeout; a killed script does not leave its
worker's next script exclusive; a busy script that wrote lands whole (its
keys answer -BUSY or the final value, never the half-way one) while other
keys are written meanwhile; while a script runs exclusively (it
called PING, a command with effects outside the keys) every command
without allow-busy gets -BUSY, as in Redis.

Last, kvsd --threads 1 against redis-server: with one worker only the
reserve guest thread (net/worker.c) can answer while the script runs. A
read-only script that runs exclusively gets another client's PING and GET
Redis's -BUSY bytes, SCRIPT KILL stops it (same kill error), the server
then serves normally; a subscriber gets what a busy script published while
it still runs; kvsd alone: `while true do end` (optimistic, no key)
lets PING be served and SCRIPT KILL through. Every client has a socket timeout, so a server that cannot
answer (kvsd before the reserve guest) fails the test instead of hanging it.

Usage: test_script_busy.py   (environment: see harness.py)
"""

import os
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LOOP = "redis.call('get', 'x') local i = 0 while true do i = i + 1 end"
# writes, then runs a while (about a second of plain Lua), then returns
WRITE_LOOP = ("redis.call('set', 'w', 'done') redis.call('get', 'x') "
              "local i = 0 while i < 6e7 do i = i + 1 end return 1")
# kvsd alone: reads k1 and k2, loops until killed (it wrote nothing: SCRIPT
# KILL stops it)
NARROW = "redis.call('get', 'k1') redis.call('get', 'k2') local i = 0 while true do i = i + 1 end"
# writes, loops (%d iterations), writes again: sum goes 5 then back to 0
WROTE = ("redis.call('set', 'w2', 'a') redis.call('incrby', 'sum', 5) "
         "local i = 0 while i < %d do i = i + 1 end "
         "redis.call('set', 'w2', 'b') redis.call('incrby', 'sum', -5) "
         "return redis.call('get', 'sum')")
# PING has effects outside the keys: the script runs exclusively
EXCL = "redis.call('ping') local i = 0 while true do i = i + 1 end"
# publishes, then loops until killed (PUBLISH is no write: SCRIPT KILL stops it)
PUB_LOOP = "redis.call('publish', 'bch', 'm') local i = 0 while true do i = i + 1 end"
BUSY = b'-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n'


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
    out.append(b.cmd('MGET', 'y', 'x'))
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


def check(what, got, want):
    if got != want:
        harness.log('test_script_busy: %s: got %s, want %s'
                    % (what, harness.escape(got), harness.escape(want)))
        return 1
    return 0


def kvsd_narrow(srv):
    """kvsd only: which commands a busy script makes answer -BUSY."""
    rc = 0
    ctl = srv.client(timeout=30)
    rc |= check('config', ctl.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100'), b'+OK\r\n')
    # eight clients connected first: with two workers some share the script's
    clients = [srv.client(timeout=20) for _ in range(8)]
    for c in clients:
        rc |= check('ping before', c.cmd('PING'), b'+PONG\r\n')
    a = srv.client(timeout=30)
    a.send(harness.encode('EVAL', NARROW, '0'))
    rc |= check('busy', busy_key(ctl, 'k1', time.time() + 10), BUSY)
    for i, c in enumerate(clients):
        mine = 'other%d' % i
        rc |= check('set other', c.cmd('SET', mine, 'v%d' % i), b'+OK\r\n')
        rc |= check('get other', c.cmd('GET', mine), b'$2\r\nv%d\r\n' % i)
        rc |= check('ping', c.cmd('PING'), b'+PONG\r\n')
        rc |= check('get read key', c.cmd('GET', 'k1'), BUSY)
        rc |= check('set read key', c.cmd('SET', 'k2', 'x'), BUSY)
        rc |= check('mset with one', c.cmd('MSET', mine, 'w', 'k1', 'x'), BUSY)
        rc |= check('flushall', c.cmd('FLUSHALL'), BUSY)
        rc |= check('eval', c.cmd('EVAL', 'return 1', '0'), BUSY)
    rc |= check('kill', ctl.cmd('SCRIPT', 'KILL'), b'+OK\r\n')
    r = a.read_reply()
    rc |= check('killed', r[:45], b'-ERR Script killed by user with SCRIPT KILL..')
    rc |= check('after', ctl.cmd('EXISTS', 'k1', 'k2', 'other0'), b':1\r\n')
    # the worker's next script starts optimistic again (a killed attempt
    # once left its transaction bound to run exclusively)
    a.send(harness.encode('EVAL', NARROW, '0'))
    rc |= check('busy again', busy_key(ctl, 'k1', time.time() + 10), BUSY)
    rc |= check('served again', clients[0].cmd('GET', 'other0'), b'$2\r\nv0\r\n')
    rc |= check('kill again', ctl.cmd('SCRIPT', 'KILL'), b'+OK\r\n')
    rc |= check('killed again', a.read_reply()[:45], b'-ERR Script killed by user with SCRIPT KILL..')
    # a script that wrote: its keys wait, the others are served meanwhile,
    # and nobody sees half of it. Its loop is sized to run about 1.5 s here.
    t = time.time()
    a.cmd('EVAL', 'local i = 0 while i < 1e7 do i = i + 1 end', '0')
    n = int(min(max(1e7 * 1.5 / max(time.time() - t, 1e-3), 1e7), 2e9))
    a.send(harness.encode('EVAL', WROTE % n, '0'))
    rc |= check('busy wrote', busy_key(ctl, 'w2', time.time() + 10), BUSY)
    seen_busy = 0
    for i, c in enumerate(clients):
        rc |= check('served while wrote', c.cmd('INCR', 'ctr'), b':%d\r\n' % (i + 1))
        r = c.cmd('GET', 'sum')
        seen_busy += r == BUSY
        if r not in (BUSY, b'$1\r\n0\r\n'):
            rc |= check('half a script', r, b'-BUSY or 0')
    rc |= check('some busy', b'%d' % min(seen_busy, 1), b'1')
    rc |= check('wrote reply', a.read_reply(), b'$1\r\n0\r\n')
    rc |= check('wrote whole', ctl.cmd('MGET', 'w2', 'sum', 'ctr'),
                b'*3\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\n8\r\n')
    # exclusive: everything waits
    a.send(harness.encode('EVAL', EXCL, '0'))
    rc |= check('busy excl', busy_key(ctl, 'other0', time.time() + 10), BUSY)
    for c in clients:
        rc |= check('excl get', c.cmd('GET', 'other1'), BUSY)
        rc |= check('excl set', c.cmd('SET', 'fresh', '1'), BUSY)
    rc |= check('kill excl', ctl.cmd('SCRIPT', 'KILL'), b'+OK\r\n')
    r = a.read_reply()
    rc |= check('killed excl', r[:45], b'-ERR Script killed by user with SCRIPT KILL..')
    rc |= check('after excl', ctl.cmd('EXISTS', 'fresh'), b':0\r\n')
    for c in clients + [a, ctl]:
        c.close()
    return rc


def run_single(srv):
    """One worker (kvsd --threads 1) or redis-server: -BUSY and SCRIPT KILL
    reach the server while a script loops."""
    out = []
    a = srv.client(timeout=30)
    b = srv.client(timeout=5)
    out.append(b.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100'))
    out.append(b.cmd('SET', 'x', '1'))
    a.send(harness.encode('EVAL', EXCL, '0'))
    out.append(busy_ping(b, time.time() + 10))
    out.append(b.cmd('PING'))
    out.append(b.cmd('GET', 'x'))
    out.append(srv.client(timeout=5).cmd('PING'))  # a new connection too
    out.append(b.cmd('SCRIPT', 'KILL'))
    out.append(a.read_reply())
    out.append(b.cmd('PING'))
    out.append(b.cmd('INCR', 'x'))
    out.append(a.cmd('GET', 'x'))
    out.append(b.cmd('SCRIPT', 'KILL'))
    if not srv.redis:
        # kvsd only (Redis answers -BUSY to everything): a script that
        # touched nothing leaves PING served, and SCRIPT KILL stops it
        a.send(harness.encode('EVAL', 'while true do end', '0'))
        r = busy_eval(b, time.time() + 10)
        if r != BUSY or b.cmd('PING') != b'+PONG\r\n' or \
           b.cmd('SCRIPT', 'KILL') != b'+OK\r\n' or \
           not (a.read_reply() or b'').startswith(b'-ERR Script killed by user') or \
           a.cmd('PING') != b'+PONG\r\n':
            out.append(b'<kvsd: optimistic busy script not served/killed>')
    a.close()
    b.close()
    return out


def run_pub_busy(srv):
    """A message the busy script published reaches its subscriber while the
    script still runs (Redis writes it from processEventsWhileBlocked; in
    kvsd --threads 1 the subscriber's wake-up is deferred on the stuck worker
    0, and the reserve guest must take it; with --threads 2 the same, and the
    other worker must take it: net/worker.c, take_deferred)."""
    out = []
    a = srv.client(timeout=30)
    b = srv.client(timeout=5)
    s = srv.client(timeout=5)
    out.append(b.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100'))
    out.append(s.cmd('SUBSCRIBE', 'bch'))
    a.send(harness.encode('EVAL', PUB_LOOP, '0'))
    out.append(s.read_reply())
    out.append(kill_when_busy(b, time.time() + 10))
    out.append(a.read_reply())
    out.append(b.cmd('PUBLISH', 'bch', 'after'))
    out.append(s.read_reply())
    for cl in (a, b, s):
        cl.close()
    return out


def closed_reply(cl):
    """What a command's reply was: its bytes, or <closed> when the server
    closed the connection without one."""
    try:
        r = cl.read_reply()
    except (OSError, EOFError, RuntimeError):
        return b'<closed>'
    return r if r else b'<closed>'


def run_shutdown(srv):
    """A script that wrote and never ends: SHUTDOWN gets -BUSY, SCRIPT KILL
    -UNKILLABLE, and SHUTDOWN NOSAVE ends the process with neither client
    answered."""
    out = []
    a = srv.client(timeout=30)
    b = srv.client(timeout=5)
    out.append(b.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100'))
    a.send(harness.encode('EVAL', "redis.call('set', 'w', '1') " + EXCL, '0'))
    out.append(busy_key(b, 'w', time.time() + 10))
    out.append(b.cmd('SHUTDOWN'))
    out.append(b.cmd('SCRIPT', 'KILL'))
    b.send(harness.encode('SHUTDOWN', 'NOSAVE'))
    out.append(closed_reply(b))
    out.append(closed_reply(a))
    deadline = time.time() + 10
    while srv.alive() and time.time() < deadline:
        time.sleep(0.05)
    out.append(b'<exited>' if not srv.alive() else b'<still running>')
    a.close()
    b.close()
    return out


def kill_when_busy(cl, deadline):
    """SCRIPT KILL until it finds the script busy (kvsd answers -NOTBUSY
    until busy-reply-threshold has passed)."""
    while time.time() < deadline:
        r = cl.cmd('SCRIPT', 'KILL')
        if not r.startswith(b'-NOTBUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


def busy_ping(cl, deadline):
    """Sends PING until it answers -BUSY (the script crossed the threshold)."""
    while time.time() < deadline:
        r = cl.cmd('PING')
        if r.startswith(b'-BUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


def busy_eval(cl, deadline):
    """Sends EVAL until it answers -BUSY (another script is busy)."""
    while time.time() < deadline:
        r = cl.cmd('EVAL', 'return 1', '0')
        if r.startswith(b'-BUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


def busy_key(cl, key, deadline):
    """Sends GET key until it answers -BUSY (the script crossed the threshold)."""
    while time.time() < deadline:
        r = cl.cmd('GET', key)
        if r.startswith(b'-BUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


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
    srv = harness.kvsd_server(['--threads', '2'])
    try:
        srv.start()
        rc |= kvsd_narrow(srv)
    except Exception as e:  # noqa: BLE001 - any failure fails the test
        harness.log('test_script_busy: narrow: %r' % (e,))
        rc = 1
    finally:
        code = srv.stop()
        if code != 0:
            harness.log('test_script_busy: kvsd exited with %s' % code)
            rc = 1
    harness.log('test_script_busy: kvsd narrowed -BUSY %s' % ('FAIL' if rc else 'ok'))
    rc |= single()
    return rc


def single():
    """kvsd --threads 1 against redis-server (run_single), then SHUTDOWN
    during a script that wrote (run_shutdown), kvsd with 1 and 2 workers."""
    rc = compare('--threads 1', run_single, [harness.redis_server(),
                                             harness.kvsd_server(['--threads', '1'])])
    # with two workers and stealing on the wake-up is deferred on the stuck
    # worker as well (any subscriber's), and the idle worker's guest poll
    # must take it
    for t in ('1', '2'):
        rc |= compare('publish while busy --threads ' + t, run_pub_busy,
                      [harness.redis_server(), harness.kvsd_server(['--threads', t])])
    for t in ('1', '2'):
        rc |= compare('shutdown --threads ' + t, run_shutdown,
                      [harness.redis_server(), harness.kvsd_server(['--threads', t])])
    return rc


def compare(what, fn, servers):
    """fn on redis-server then kvsd: the same steps."""
    rc = 0
    results = []
    for srv in servers:
        try:
            srv.start()
            results.append(fn(srv))
        except Exception as e:  # noqa: BLE001 - any failure fails the test
            harness.log('test_script_busy: %s: %s: %r' % (what, srv.name, e))
            rc = 1
            results.append([])
        finally:
            srv.stop()
    want, got = results
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            harness.log('MISMATCH %s step %d\n   kvsd : %s\n   redis: %s'
                        % (what, i, harness.escape(g), harness.escape(w)))
            rc = 1
    if len(want) != len(got):
        rc = 1
    harness.log('test_script_busy: %s, %d steps compared, %s'
                % (what, len(got), 'FAIL' if rc else 'ok'))
    return rc


if __name__ == '__main__':
    sys.exit(main())
