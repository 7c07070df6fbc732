#!/usr/bin/env python3
"""Redis's serving order for blocked clients (issue 14), against redis-server 7.0.

In Redis the clients blocked on a key are served, first blocked first, right
after the command or transaction that pushed, before any other command
runs. kvsd serves a push at the end of its command on its own worker, and a
guard (server/blocking.h) makes every other command on a key with waiters
run after that serve. The same commands go to kvsd and redis-server and the
replies must be the same:
 - order: transactions pushing to several keys that a multi-key waiter and
   a single-key waiter wait on (ready keys served in the order they became
   ready; the multi-key waiter, blocked first, is not passed by), pops and
   reads after a push inside the same EXEC (before the serve), a later
   blocking command on a key whose waiters were owed the elements;
 - racing: consumers blocked one after the other (each known blocked, via
   INFO blocked_clients, before the next), then a producer's pipeline of
   pushes that exactly feeds them and another connection's pipeline of
   non-blocking pops and reads (LPOP, RPOP, LMPOP, LMOVE, MULTI/LPOP/EXEC,
   LLEN, LRANGE, EXISTS, TYPE) sent at the same moment: whatever the
   interleaving, by Redis's rule the consumers get the elements in blocking
   order and the other connection never gets nor sees one, so the replies
   are deterministic and must match.
RESP2. No timing in the checks: waits are bounded and only for blocked
counts.

Usage: test_diff_fifo.py   (environment: see harness.py)
"""

import os
import random
import socket
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402
import test_diff  # noqa: E402
from test_diff_blocking import Blockers  # noqa: E402

ROUNDS = 12 if harness.sanitized() else 40


def sec_exec_order(d, p):
    """Transactions that push several keys: ready keys in push order."""
    d.section = 'exec-order'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 3)
    try:
        # k1 then k2: the multi-key waiter takes k1's, the other k2's
        bl.block(0, 'BLPOP', 'k1', 'k2', '0')
        bl.block(1, 'BLPOP', 'k2', '0')
        p.c('MULTI')
        p.c('RPUSH', 'k1', 'x')
        p.c('RPUSH', 'k2', 'y')
        p.c('EXEC')
        bl.reply(0, 'BLPOP k1 k2 (EXEC pushed k1, k2)')
        bl.reply(1, 'BLPOP k2 (EXEC pushed k1, k2)')
        p.c('EXISTS', 'k1', 'k2')
        # k2 then k1: the multi-key waiter, first on k2, takes k2's; k1's stays
        bl.block(0, 'BLPOP', 'k1', 'k2', '0')
        bl.block(1, 'BLPOP', 'k2', '0')
        p.c('MULTI')
        p.c('RPUSH', 'k2', 'y')
        p.c('RPUSH', 'k1', 'x')
        p.c('EXEC')
        bl.reply(0, 'BLPOP k1 k2 (EXEC pushed k2, k1)')
        bl.still_blocked(1, 'BLPOP k2')
        p.c('LRANGE', 'k1', '0', '-1')
        p.c('RPUSH', 'k2', 'z')
        bl.reply(1, 'BLPOP k2 (then pushed)')
        p.c('DEL', 'k1')
        # pops and reads inside the pushing EXEC come before the serve
        bl.block(0, 'BLPOP', 'k', '0')
        bl.block(1, 'BRPOP', 'k', '0')
        p.c('MULTI')
        p.c('RPUSH', 'k', 'a', 'b', 'c')
        p.c('LPOP', 'k')
        p.c('LLEN', 'k')
        p.c('LRANGE', 'k', '0', '-1')
        p.c('EXEC')
        bl.reply(0, 'BLPOP k (after EXEC)')
        bl.reply(1, 'BRPOP k (after EXEC)')
        p.c('EXISTS', 'k')
        # a later blocking command does not pass the waiters
        bl.block(0, 'BLPOP', 'k', '0')
        p.c('RPUSH', 'k', 'a', 'b')
        bl.reply(0, 'BLPOP k')
        p.c('BLPOP', 'k', '0')
        p.c('EXISTS', 'k')
        # a waiter on several keys, pushed one after the other
        bl.block(0, 'BRPOP', 'm1', 'm2', '0')
        bl.block(1, 'BLPOP', 'm2', '0')
        bl.block(2, 'BLPOP', 'm1', '0')
        p.c('RPUSH', 'm2', 'u')
        p.c('RPUSH', 'm1', 'v')
        bl.reply(0, 'BRPOP m1 m2 (m2 pushed first)')
        bl.reply(2, 'BLPOP m1')
        bl.still_blocked(1, 'BLPOP m2')
        p.c('RPUSH', 'm2', 'w')
        bl.reply(1, 'BLPOP m2')
    finally:
        bl.close()


def consumer_cmd(rng, i):
    k = rng.randrange(6)
    if k == 0:
        return ['BLPOP', 'q', '0']
    if k == 1:
        return ['BRPOP', 'q', '0']
    if k == 2:
        return ['BLPOP', 'never%d' % i, 'q', '0']
    if k == 3:
        return ['BLMPOP', '0', '1', 'q', rng.choice(['LEFT', 'RIGHT']), 'COUNT',
                str(rng.randrange(1, 3))]
    if k == 4:
        return ['BLMOVE', 'q', 'dst%d' % i, 'RIGHT', 'LEFT', '0']
    return ['BRPOPLPUSH', 'q', 'dst%d' % i, '0']


RACER = [['LPOP', 'q'], ['RPOP', 'q'], ['LMPOP', '1', 'q', 'LEFT', 'COUNT', '2'],
         ['LMOVE', 'q', 'racer', 'LEFT', 'RIGHT'], ['RPOPLPUSH', 'q', 'racer'],
         ['MULTI'], ['LPOP', 'q'], ['EXEC'],
         ['LLEN', 'q'], ['LRANGE', 'q', '0', '-1'], ['EXISTS', 'q'], ['TYPE', 'q']]


def sec_racing(d, p):
    """Pushes racing non-blocking pops and reads from another connection."""
    d.section = 'racing'
    p.c('FLUSHALL')
    rng = random.Random(14)
    for rnd in range(ROUNDS):
        nc = rng.randrange(1, 4)
        bl = Blockers(d, p, nc)
        try:
            for i in range(nc):
                cmd = consumer_cmd(rng, i)
                bl.block(i, *cmd)
            # one element per push: each push serves the first waiter left
            # (a BLMPOP COUNT 2 too takes the one there is), none is left over
            pushes = [[rng.choice(['LPUSH', 'RPUSH']), 'q', 'r%d.%d' % (rnd, j)]
                      for j in range(nc)]
            pdata = b''.join(encode(*c) for c in pushes)
            rcmds = [rng.choice(RACER[:5] + RACER[8:]) for _ in range(8)]
            rcmds += RACER[5:8]
            rdata = b''.join(encode(*c) for c in rcmds)
            ra, rb = d.sa.client(timeout=10), d.sb.client(timeout=10)
            pa, pb = d.sa.client(timeout=10), d.sb.client(timeout=10)
            try:
                # the producer and the racer at the same moment, on each server
                for x, data in ((pa, pdata), (ra, rdata), (pb, pdata), (rb, rdata)):
                    x.send(data)
                for what, cmds, a, b in (('producer', pushes, pa, pb),
                                         ('racer', rcmds, ra, rb)):
                    for c in cmds:
                        xa, xb = a.read_reply(), b.read_reply()
                        d.count += 1
                        if xa != xb:
                            d.report(['round %d %s:' % (rnd, what)] + c, xa, xb)
                for i in range(nc):
                    bl.reply(i, 'round %d consumer %d' % (rnd, i))
            finally:
                for x in (ra, rb, pa, pb):
                    x.close()
            p.c('LRANGE', 'q', '0', '-1')
            p.c('DEL', 'q', 'racer', *['dst%d' % i for i in range(nc)])
        finally:
            bl.close()


def main():
    servers = test_diff.start_pair('diff-fifo')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        for sec in (sec_exec_order, sec_racing):
            sec(d, p)
        p.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-fifo: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-fifo', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
