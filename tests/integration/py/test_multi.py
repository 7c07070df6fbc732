#!/usr/bin/env python3
"""MULTI/EXEC/DISCARD/WATCH/UNWATCH and atomic multi-key commands: kvsd's
reply bytes against redis-server 7.0's, scenario by scenario.

Each scenario is a list of steps run on fresh connections to both servers
(after FLUSHALL): (client, command...) sends a command on client 0, 1, ...
and records its reply; ('sleep', seconds) waits; ('nocmp', client, cmd...)
sends a command whose reply legitimately differs (HELLO) and records only its
type byte. Every recorded reply must match byte for byte. A final part checks
kvsd alone: isolation of MSET / RENAME / MULTI seen by a concurrent reader.

Usage: test_multi.py [--keep-going]
Environment: see harness.py (KVSD_BIN, KVSD_EXTRA_ARGS, REDIS_BIN).
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, escape  # noqa: E402

S = [
    # basics and every reply path
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'INCR', 'a'), (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'EXEC')],
    [(0, 'EXEC'), (0, 'DISCARD'), (0, 'UNWATCH')],
    [(0, 'MULTI'), (0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'EXEC'), (0, 'GET', 'a')],
    [(0, 'MULTI'), (0, 'WATCH', 'a'), (0, 'SET', 'a', '1'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'DISCARD'), (0, 'GET', 'a'), (0, 'EXEC')],
    # queue-time errors abort EXEC; runtime errors are per-command replies
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'NOSUCHCMD', 'x'), (0, 'EXEC'), (0, 'GET', 'a')],
    [(0, 'MULTI'), (0, 'GET'), (0, 'SET', 'a', 'b'), (0, 'EXEC'), (0, 'EXISTS', 'a')],
    [(0, 'MULTI'), (0, 'MSET', 'a'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'CLIENT', 'NOSUCH'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SHUTDOWN', 'NOSAVE'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'NOSUCHCMD'), (0, 'DISCARD'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SET', 'a', 'x'), (0, 'INCR', 'a'), (0, 'LPUSHX_NOPE'), (0, 'EXEC')],
    [(0, 'SET', 'a', 'x'), (0, 'MULTI'), (0, 'INCR', 'a'), (0, 'SET', 'b', '2'),
     (0, 'MSET', 'a', '1', 'b'), (0, 'GET', 'b'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SET', 'k', 'v', 'EX', '100'), (0, 'TTL', 'k'),
     (0, 'GETSET', 'k', 'w'), (0, 'GETDEL', 'k'), (0, 'EXISTS', 'k'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'RENAME', 'a', 'b'), (0, 'MGET', 'a', 'b'),
     (0, 'RENAMENX', 'b', 'b'), (0, 'DEL', 'a', 'b', 'c'), (0, 'DBSIZE'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'PING'), (0, 'ECHO', 'hi'), (0, 'SELECT', '0'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'FLUSHALL'), (0, 'SET', 'b', '2'),
     (0, 'EXEC'), (0, 'MGET', 'a', 'b')],
    # RESET and QUIT while queueing
    [(0, 'MULTI'), (0, 'SET', 'a', '1'), (0, 'RESET'), (0, 'EXEC'), (0, 'GET', 'a')],
    [(0, 'WATCH', 'a'), (0, 'RESET'), (1, 'SET', 'a', '2'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'MULTI'), (0, 'PING'), (0, 'QUIT')],
    # WATCH
    [(0, 'WATCH'), (0, 'UNWATCH', 'x')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (0, 'MULTI'), (0, 'INCR', 'a'), (0, 'EXEC'),
     (0, 'GET', 'a')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'SET', 'a', '2'), (0, 'MULTI'),
     (0, 'SET', 'a', '3'), (0, 'EXEC'), (0, 'GET', 'a')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'SET', 'a', '1'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'WATCH', 'a'), (1, 'SET', 'a', '2'), (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'WATCH', 'a'), (1, 'SET', 'a', '2'), (1, 'DEL', 'a'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'SETNX', 'a', '2'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'GET', 'a'), (1, 'EXISTS', 'a'),
     (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (0, 'UNWATCH'), (1, 'SET', 'a', '2'),
     (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a', 'b', 'a'), (1, 'SET', 'b', '2'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (0, 'SET', 'a', '5'), (0, 'MULTI'),
     (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (0, 'MULTI'), (0, 'PING'), (0, 'DISCARD'),
     (1, 'SET', 'a', '2'), (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'RENAME', 'a', 'b'), (0, 'MULTI'),
     (0, 'PING'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'EXPIRE', 'a', '100'), (0, 'MULTI'),
     (0, 'PING'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'MSET', 'x', '1', 'a', '2'), (0, 'MULTI'),
     (0, 'PING'), (0, 'EXEC')],
    # WATCH and expiry / FLUSHALL / FLUSHDB
    [(0, 'SET', 'a', '1', 'PX', '50'), (0, 'WATCH', 'a'), ('sleep', 0.15), (0, 'MULTI'),
     (0, 'PING'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1', 'PX', '50'), (0, 'WATCH', 'a'), ('sleep', 0.15), (1, 'GET', 'a'),
     (0, 'MULTI'), (0, 'PING'), (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'FLUSHALL'), (0, 'MULTI'), (0, 'PING'),
     (0, 'EXEC')],
    [(0, 'SET', 'a', '1'), (0, 'WATCH', 'a'), (1, 'FLUSHDB'), (0, 'MULTI'), (0, 'PING'),
     (0, 'EXEC')],
    [(0, 'SET', 'b', '1'), (0, 'WATCH', 'a'), (1, 'FLUSHALL'), (0, 'MULTI'), (0, 'PING'),
     (0, 'EXEC')],
    # RESP3: a watch failure is a null (_)
    [('nocmp', 0, 'HELLO', '3'), (0, 'SET', 'a', '1'), (0, 'WATCH', 'a'),
     (1, 'SET', 'a', '2'), (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC'),
     (0, 'MULTI'), (0, 'GET', 'a'), (0, 'EXEC')],
    # multi-key commands' replies
    [(0, 'MSET', 'a', '1', 'b', '2', 'a', '3'), (0, 'MGET', 'a', 'b'),
     (0, 'MSETNX', 'c', '1', 'a', '2'), (0, 'MSETNX', 'c', '1', 'd', '2', 'c', '3'),
     (0, 'MGET', 'a', 'b', 'c', 'd'), (0, 'MSET', 'a'), (0, 'MSET', 'a', '1', 'b'),
     (0, 'MSETNX', 'a', '1', 'b')],
    [(0, 'SET', 'a', '1'), (0, 'RENAME', 'a', 'b'), (0, 'MGET', 'a', 'b'),
     (0, 'RENAME', 'a', 'b'), (0, 'RENAME', 'b', 'b'), (0, 'SET', 'c', '3'),
     (0, 'RENAMENX', 'b', 'c'), (0, 'RENAMENX', 'b', 'd'), (0, 'RENAMENX', 'd', 'd'),
     (0, 'MGET', 'b', 'c', 'd'), (0, 'SET', 'e', '1', 'EX', '100'), (0, 'RENAME', 'e', 'f'),
     (0, 'TTL', 'f'), (0, 'DEL', 'c', 'd', 'f', 'zz'), (0, 'UNLINK', 'x', 'b'),
     (0, 'DBSIZE')],
]


def run(server, scenario):
    with Client(server.port) as admin:
        admin.cmd('FLUSHALL')
    clients = {}
    out = []
    try:
        for step in scenario:
            if step[0] == 'sleep':
                time.sleep(step[1])
                continue
            nocmp = step[0] == 'nocmp'
            if nocmp:
                step = step[1:]
            c = clients.get(step[0])
            if c is None:
                c = clients[step[0]] = Client(server.port)
            r = c.cmd(*step[1:])
            out.append(r[:1] if (nocmp and r) else r)
    finally:
        for c in clients.values():
            c.close()
    return out


def isolation(port):
    """kvsd only: a reader never sees half of MSET / RENAME / MULTI."""
    stop = threading.Event()
    bad = []

    def writer(first):
        with Client(port) as c:
            i = 0
            while not stop.is_set():
                i += 1
                v = str(i)
                if first:  # one writer: p and q only grow
                    c.cmd('MSET', 'p', v, 'q', v)
                c.cmd('RENAME', 'r1', 'r2')
                c.cmd('RENAME', 'r2', 'r1')
                c.send(harness.encode('MULTI') + harness.encode('SET', 'm1', v) +
                       harness.encode('SET', 'm2', v) + harness.encode('EXEC'))
                c.read_replies(4)

    def reader():
        with Client(port) as c:
            while not stop.is_set():
                c.send(harness.encode('MULTI') + harness.encode('MGET', 'p', 'q') +
                       harness.encode('MGET', 'm1', 'm2') +
                       harness.encode('EXISTS', 'r1', 'r2') + harness.encode('EXEC'))
                r = c.read_replies(5)[-1]
                vals = harness.parse(r)
                if vals[0][0] != vals[0][1] or vals[1][0] != vals[1][1] or vals[2] != 1:
                    bad.append(vals)
                # single-key reads in sequence: q is never older than p read first
                p = c.cmd('GET', 'p')
                q = c.cmd('GET', 'q')
                if int(harness.parse(q)) < int(harness.parse(p)):
                    bad.append(('p-then-q', p, q))

    with Client(port) as c:
        c.cmd('MSET', 'p', '0', 'q', '0', 'm1', '0', 'm2', '0', 'r1', 'x')
    ts = [threading.Thread(target=writer, args=(i == 0,)) for i in range(2)] + \
        [threading.Thread(target=reader) for _ in range(2)]
    for t in ts:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in ts:
        t.join()
    return bad


def main():
    keep_going = '--keep-going' in sys.argv
    failures = 0
    with harness.kvsd_server() as k, harness.redis_server() as r:
        for i, sc in enumerate(S):
            a, b = run(k, sc), run(r, sc)
            if a != b:
                failures += 1
                harness.log(f'scenario {i} differs: {sc}')
                for x, y in zip(a, b):
                    mark = '  ' if x == y else '!!'
                    harness.log(f'  {mark} kvsd {escape(x)}  redis {escape(y)}')
                if not keep_going:
                    break
        # isolation is a property of kvsd's map (storage/kvmap.h); with
        # --map urcu multi-key commits are serialised but not isolated
        urcu = 'urcu' in os.environ.get('KVSD_EXTRA_ARGS', '')
        bad = [] if urcu else isolation(k.port)
        if bad:
            failures += 1
            harness.log(f'isolation violated ({len(bad)} times), e.g. {bad[:3]}')
    harness.log(f'{len(S)} scenarios, {failures} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
