#!/usr/bin/env python3
"""test_prefetch: pipelined batches that net shows the server before they run
(net_opts.prefetch: server/prefetch.c walks the large collections' trees for
the members the next requests name) answer exactly what redis-server answers.

- diff: random pipelines of 2-24 commands on a large hash, set and sorted set
  (the member commands the hint knows: HSET HGET HDEL HEXISTS HSTRLEN HINCRBY
  HMGET SADD SREM SISMEMBER SMISMEMBER ZADD ZSCORE ZINCRBY ZREM ZRANK
  ZREVRANK ZMSCORE ZPOPMIN ZPOPMAX), mixed with what makes a hint wrong: DEL
  and re-creation of the keys, a key turned into a string (WRONGTYPE),
  SELECT of another database in the middle, ZADD with options, commands of
  more than eight arguments and inline commands (both end a look-ahead),
  MULTI/EXEC. Each pipeline goes out in one write to both servers; the
  replies are compared byte for byte (every one of these replies has an
  order Redis defines).
- spop: pipelines of SPOP on a large set (the hint foresees the worker's
  random picks from a copy of its generator): every reply is a distinct
  member that was in the set and is gone after, SCARD fell by as many.
- counters: INFO kvsd worker0 lookaheads / peeked grew during the pipelines
  (each look-ahead shows 2-16 requests; most were used: lookaheads_used),
  a hashtable hash below the walked size is looked at but not walked, and
  the counters do not move for requests sent
  one at a time (pipeline 1 never pays for a look-ahead); pipelined GETs,
  which the hint has no use for, back off (a few look-aheads in 640 GETs).
"""
import random
import re
import sys

import harness
from harness import encode

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1913
BATCHES = 300
NFIELD = 40000  # above the trees prefetch.c walks (PF_MIN_ELEMS, 32768)
NZ = 40000
NSPOP = 40000


def build():
    """The three large keys (hashtable, hashtable, skiplist) in db 0."""
    cmds = [('DEL', 'pf:h', 'pf:s', 'pf:z')]
    cmds += [('HSET', 'pf:h') + tuple(x for i in range(j, j + 100)
                                      for x in ('f%d' % i, 'v%d' % i))
             for j in range(0, NFIELD, 100)]
    cmds += [('SADD', 'pf:s') + tuple('m%d' % i for i in range(j, j + 100))
             for j in range(0, NFIELD, 100)]
    cmds += [('ZADD', 'pf:z') + tuple(x for i in range(j, j + 100)
                                      for x in ('%d' % (i % 37), 'z%d' % i))
             for j in range(0, NZ, 100)]
    return cmds


def one(rng):
    """A random command of the mix."""
    f = 'f%d' % rng.randrange(NFIELD + 50)
    m = 'm%d' % rng.randrange(NFIELD + 50)
    z = 'z%d' % rng.randrange(NZ + 20)
    r = rng.random()
    if r < 0.02:
        return ('DEL', rng.choice(['pf:h', 'pf:s', 'pf:z']))
    if r < 0.03:
        return ('SET', rng.choice(['pf:h', 'pf:s', 'pf:z']), 'now-a-string')
    if r < 0.04:
        return ('SELECT', rng.choice(['0', '1']))
    if r < 0.05:
        return ('PING',)  # sent inline: ends a look-ahead
    if r < 0.06:
        return ('HMGET', 'pf:h') + tuple('f%d' % rng.randrange(NFIELD) for _ in range(9))
    if r < 0.07:
        return ('ZADD', 'pf:z', rng.choice(['NX', 'XX', 'GT', 'CH']), '%d' % rng.randrange(50), z)
    if r < 0.08:
        return ('MULTI',) if rng.random() < 0.5 else ('EXEC',)
    pool = [
        ('HSET', 'pf:h', f, 'x%d' % rng.randrange(1000)), ('HGET', 'pf:h', f),
        ('HDEL', 'pf:h', f), ('HEXISTS', 'pf:h', f), ('HSTRLEN', 'pf:h', f),
        ('HINCRBY', 'pf:h', 'n%d' % rng.randrange(20), '3'), ('HMGET', 'pf:h', f, 'f1'),
        ('SADD', 'pf:s', m), ('SREM', 'pf:s', m), ('SISMEMBER', 'pf:s', m),
        ('SMISMEMBER', 'pf:s', m, 'm2'),
        ('ZADD', 'pf:z', '%d' % rng.randrange(-5, 60), z), ('ZADD', 'pf:z', 'nan', z),
        ('ZSCORE', 'pf:z', z), ('ZINCRBY', 'pf:z', '1.5', z), ('ZREM', 'pf:z', z),
        ('ZRANK', 'pf:z', z), ('ZREVRANK', 'pf:z', z), ('ZMSCORE', 'pf:z', z, 'z1'),
        ('ZPOPMIN', 'pf:z'), ('ZPOPMIN', 'pf:z'), ('ZPOPMAX', 'pf:z'),
        ('HGET', 'pf:s', f), ('SISMEMBER', 'pf:h', m),  # WRONGTYPE
    ]
    return rng.choice(pool)


def wire(cmds):
    out = b''
    for c in cmds:
        out += b'PING\r\n' if c == ('PING',) else encode(*c)
    return out


def pipeline(c, cmds):
    """The replies to cmds sent in one write, each as bytes."""
    c.send(wire(cmds))
    return [c.read_reply() for _ in cmds]


def prefetch_counts(c, used=False):
    """INFO kvsd worker0's (lookaheads, peeked), or with used lookaheads_used too."""
    info = c.cmd('INFO', 'kvsd').decode()
    m = re.search(r'worker0:[^\r]*lookaheads=(\d+),peeked=(\d+),lookaheads_used=(\d+)',
                  info)
    return tuple(int(x) for x in m.groups()[:3 if used else 2])


def diff(k, r, fails):
    rng = random.Random(SEED)
    with k.client() as ck, r.client() as cr:
        for cl in (ck, cr):
            pipeline(cl, build())
        for b in range(BATCHES):
            if b % 40 == 39:  # the keys large again, whatever the mix did
                cmds = [('DISCARD',), ('SELECT', '0')] + build()
            else:
                cmds = [one(rng) for _ in range(rng.randrange(2, 25))]
            got, want = pipeline(ck, cmds), pipeline(cr, cmds)
            for i, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    fails.append('batch %d (seed %d) command %d %r: kvsd %s, redis %s'
                                 % (b, SEED, i, cmds[i], harness.escape(g),
                                    harness.escape(w)))
                    return


def spop(k, fails):
    with k.client() as c:
        pipeline(c, [('DEL', 'pf:sp')] + [('SADD', 'pf:sp') + tuple(
            'p%d' % i for i in range(j, j + 100)) for j in range(0, NSPOP, 100)])
        members = {b'p%d' % i for i in range(NSPOP)}
        for _ in range(20):
            got = pipeline(c, [('SPOP', 'pf:sp')] * 16)
            popped = [harness.parse(g) for g in got]
            if len(set(popped)) != 16 or not set(popped) <= members:
                fails.append('SPOP pipeline: %r' % popped[:4])
                return
            members -= set(popped)
            gone = pipeline(c, [('SISMEMBER', 'pf:sp', p) for p in popped])
            if any(g != b':0\r\n' for g in gone):
                fails.append('SPOP: popped members still in the set')
                return
        card = harness.parse(c.cmd('SCARD', 'pf:sp'))
        if card != len(members):
            fails.append('SCARD after 320 pops: %r, want %d' % (card, len(members)))


def counters(k, fails):
    with k.client() as c:
        la, pk, used = prefetch_counts(c, used=True)
        if la == 0 or not 2 * la <= pk <= 16 * la:
            fails.append('after the pipelines: lookaheads=%d peeked=%d' % (la, pk))
        # the diff's and spop's pipelines name large keys: most look-aheads walk
        if not la // 2 <= used <= la:
            fails.append('after the pipelines: %d of %d look-aheads used' % (used, la))
        # a hashtable hash below PF_MIN_ELEMS: looked at, not walked
        pipeline(c, [('DEL', 'pf:small')] + [('HSET', 'pf:small') + tuple(
            x for i in range(j, j + 100) for x in ('f%d' % i, 'v')) for j in range(0, 1000, 100)])
        la1, _, used1 = prefetch_counts(c, used=True)
        for _ in range(10):
            pipeline(c, [('HSET', 'pf:small', 'f%d' % i, 'w') for i in range(64)])
        la2, _, used2 = prefetch_counts(c, used=True)
        if la2 == la1 or used2 != used1:
            fails.append('pipelined HSETs to a small hash: lookaheads %d -> %d, used %d -> %d'
                         % (la1, la2, used1, used2))
        la, pk = prefetch_counts(c)
        for i in range(100):
            c.cmd('HGET', 'pf:h', 'f%d' % i)
        la2, pk2 = prefetch_counts(c)
        if (la2, pk2) != (la, pk):
            fails.append('pipeline 1 looked ahead: %d -> %d' % (la, la2))
        # a pipeline the hint has no use for (GETs): after a look-ahead that
        # found nothing, the connection skips the next NET_PEEK_BACKOFF (15),
        # so 640 GETs cost a few look-aheads, not one per 16 requests (40)
        for _ in range(10):
            pipeline(c, [('GET', 'pf:str%d' % i) for i in range(64)])
        la3, _ = prefetch_counts(c)
        if not 1 <= la3 - la2 <= 6:
            fails.append('640 pipelined GETs: %d look-aheads (backoff: 1-6)' % (la3 - la2))


def main():
    fails = []
    with harness.redis_server() as r, harness.kvsd_server(['--threads', '1']) as k:
        diff(k, r, fails)
        spop(k, fails)
        counters(k, fails)
    for f in fails:
        print('FAIL', f)
    print('prefetch: %s' % ('FAILED' if fails else 'ok'))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
