#!/usr/bin/env python3
"""Keyspace notifications under concurrency (issue 17), kvsd only.

Writers on both workers (kvsd --threads 2) each cycle their own key through
SET, APPEND, SETRANGE, and run MULTI/EXEC transactions and scripts that all
touch the same shared keys, so attempts conflict and run again. Two
subscribers (one per worker, with luck) on __keyspace@0__:* must each get:
every own-key event in the writer's order; for the shared keys exactly one
event per committed write (the final counter value) — none from a dropped
attempt, none lost.

Usage: test_notify_stress.py   (environment: see harness.py)
"""

import os
import sys
import threading

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402

END = b'__keyspace@0__:__end__'
WRITERS = 4
ROUNDS = 150 if harness.sanitized() else 600
CYCLE = ['set', 'append', 'setrange']


def writer(port, i, errors):
    try:
        with harness.Client(port, timeout=60) as c:
            k = 'own%d' % i
            for n in range(ROUNDS):
                c.cmd('SET', k, 'v')
                c.cmd('APPEND', k, 'x')
                c.cmd('SETRANGE', k, '0', 'w')
                if n % 3 == 0:
                    c.send(encode('MULTI') + encode('INCR', 'shared') +
                           encode('RPUSH', 'list%d' % i, 'x') + encode('EXEC'))
                    r = c.read_replies(4)
                    if not r[3] or not r[3].startswith(b'*2'):
                        errors.append('EXEC %r' % r)
                if n % 5 == 0:
                    c.cmd('EVAL', "return redis.call('incr', KEYS[1])", '1', 'shared2')
    except OSError as e:
        errors.append('writer %d: %r' % (i, e))


def subscriber(port, out, ready):
    try:
        with harness.Client(port, timeout=120) as s:
            s.send(encode('PSUBSCRIBE', '__keyspace@0__:*'))
            s.read_reply()
            ready.release()
            for _ in range(10 ** 7):
                r = s.read_reply()
                if r is None:
                    out.append(None)
                    return
                v = harness.parse(r)
                ch = bytes(v[2])
                if ch == END:
                    return
                out.append((ch.decode(), bytes(v[3]).decode()))
    except OSError as e:
        out.append(('error', repr(e)))


def check(events, vals):
    fails = []
    if None in events:
        return ['subscriber closed']
    pos = {}
    counts = {}
    for ch, ev in events:
        key = ch.split(':', 1)[1]
        counts[(key, ev)] = counts.get((key, ev), 0) + 1
        if key.startswith('own'):
            n = pos.get(key, 0)
            if ev != CYCLE[n % 3]:
                fails.append('%s: event %d is %s, expected %s' % (key, n, ev, CYCLE[n % 3]))
                break
            pos[key] = n + 1
    for i in range(WRITERS):
        if pos.get('own%d' % i) != 3 * ROUNDS:
            fails.append('own%d: %r events, expected %d' % (i, pos.get('own%d' % i), 3 * ROUNDS))
        want = len(range(0, ROUNDS, 3))
        if counts.get(('list%d' % i, 'rpush')) != want:
            fails.append('list%d: %r rpush events, expected %d' %
                         (i, counts.get(('list%d' % i, 'rpush')), want))
    if counts.get(('shared', 'incrby')) != vals[0]:
        fails.append('shared: %r events, value %d' % (counts.get(('shared', 'incrby')), vals[0]))
    if counts.get(('shared2', 'incrby')) != vals[1]:
        fails.append('shared2: %r events, value %d' % (counts.get(('shared2', 'incrby')), vals[1]))
    return fails


def main():
    srv = harness.kvsd_server(['--threads', '2'])
    try:
        srv.start()
    except RuntimeError as e:
        harness.log('notify-stress: cannot start kvsd: %s' % e)
        return 1
    fails = []
    try:
        with srv.client() as c:
            c.cmd('CONFIG', 'SET', 'notify-keyspace-events', 'K$lg')
            outs = [[], []]
            ready = threading.Semaphore(0)
            subs = [threading.Thread(target=subscriber, args=(srv.port, o, ready)) for o in outs]
            for t in subs:
                t.start()
            for _ in subs:
                ready.acquire()
            errors = []
            ws = [threading.Thread(target=writer, args=(srv.port, i, errors))
                  for i in range(WRITERS)]
            for t in ws:
                t.start()
            for t in ws:
                t.join()
            c.cmd('PUBLISH', END, 'end')
            for t in subs:
                t.join(120)
            vals = [int(harness.parse(c.cmd('GET', k))) for k in ('shared', 'shared2')]
            fails += errors
            for j, o in enumerate(outs):
                for f in check(o, vals):
                    fails.append('subscriber %d: %s' % (j, f))
            harness.log('notify-stress: %d writers x %d rounds, %d + %d events, shared=%d '
                        'shared2=%d' % (WRITERS, ROUNDS, len(outs[0]), len(outs[1]), *vals))
    except (OSError, RuntimeError, ValueError, TypeError) as e:
        fails.append('aborted: %r' % e)
    alive = srv.alive()
    code = srv.stop()
    if not alive or code != 0:
        fails.append('kvsd died or exited with %s' % code)
    for f in fails[:20]:
        harness.log('FAIL ' + f)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
