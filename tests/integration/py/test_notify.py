#!/usr/bin/env python3
"""Keyspace notifications (issue 17) against redis-server 7.0.

notify-keyspace-events: CONFIG SET/GET of flag strings (Redis's canonical
form, its error text). Then, per command family (generic, strings, lists,
sets, hashes, sorted sets, new keys, keymiss, MULTI/EXEC, scripts) and with
several flag subsets, the same commands run on both servers while a
subscriber on __key*__:* listens: the message sequences (channel, payload)
must be equal. A PUBLISH from the writing connection ends each run (the
subscriber reads until it), so no timing is involved. Expiry: lazy (active
expiry off) compared exactly; active expiry compared as sets, waited for
with a bound. Eviction: victims differ between servers, so each server's
"evicted" events are checked against its own INFO evicted_keys and shape.

Usage: test_notify.py   (environment: see harness.py)
"""

import os
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402

END = b'__keyend__:x'   # matches __key*__:* (the sentinel channel)
FAIL = []


def check(what, a, b):
    if a != b:
        FAIL.append(what)
        harness.log('MISMATCH %s\n  kvsd : %r\n  redis: %r' % (what, a, b))


def read_events(sub, until=END):
    """(channel, payload) of every pmessage before the sentinel."""
    out = []
    for _ in range(100000):
        r = sub.read_reply()
        if r is None:
            raise RuntimeError('subscriber closed')
        v = harness.parse(r)
        if not isinstance(v, list) or len(v) != 4:
            raise RuntimeError('unexpected frame %r' % r)
        ch, msg = bytes(v[2]), bytes(v[3])
        if ch == until:
            return out
        out.append((ch.decode('latin-1'), msg.decode('latin-1')))
    raise RuntimeError('no sentinel')


def run(server, flags, cmds, setup=()):
    """Runs setup (no notifications), then cmds with flags; returns the
    events and the replies."""
    c = server.client()
    sub = server.client()
    try:
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')
        c.cmd('FLUSHALL')
        for s in setup:
            c.cmd(*s)
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', flags)
        sub.send(encode('PSUBSCRIBE', '__key*__:*'))
        sub.read_reply()
        replies = [c.cmd(*x) for x in cmds]
        c.cmd('PUBLISH', END, 'end')
        ev = read_events(sub)
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')
        return ev, replies
    finally:
        c.close()
        sub.close()


def diff(sa, sb, name, flags, cmds, setup=()):
    ea, ra = run(sa, flags, cmds, setup)
    eb, rb = run(sb, flags, cmds, setup)
    if ea != eb:
        for x, y, cmd in zip(ra, rb, cmds):
            if x != y:
                harness.log('  reply differs for %r: %r vs %r' % (cmd, x, y))
    check('%s [%s]' % (name, flags), ea, eb)


# DUMP payloads (Redis 7.0's RDB 10 format) of the string "v" and the list [a, b]
DUMP_V = b'\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce'
DUMP_LIST = b'\x12\x01\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\n\x00h\xeb\n\x89\x13A\xbb\xb1'

GENERIC = [
    ('SET', 'a', '1'), ('SET', 'b', '2'), ('DEL', 'a', 'nope', 'b'),
    ('SET', 'k', 'v'), ('EXPIRE', 'k', '100'), ('PEXPIRE', 'k', '100000'),
    ('EXPIREAT', 'k', '4000000000'), ('PERSIST', 'k'), ('PERSIST', 'k'),
    ('EXPIRE', 'nope', '10'), ('RENAME', 'k', 'k2'), ('SET', 'k3', 'x'),
    ('RENAME', 'k2', 'k3'), ('RENAMENX', 'k3', 'k3'), ('RENAMENX', 'k3', 'k4'),
    ('SET', 'z', '1'), ('RENAMENX', 'k4', 'z'), ('COPY', 'z', 'z2'),
    ('COPY', 'z', 'z2'), ('COPY', 'z', 'z2', 'REPLACE'), ('COPY', 'z', 'zz', 'DB', '1'),
    ('MOVE', 'z2', '2'), ('MOVE', 'nope', '2'), ('UNLINK', 'z', 'k4'),
    ('SET', 'd', 'v'), ('EXPIRE', 'd', '-1'), ('SET', 'd', 'v'), ('PEXPIREAT', 'd', '1'),
    ('RPUSH', 'src', '3', '1', '2'), ('SORT', 'src', 'STORE', 'dst'),
    ('SORT', 'src', 'STORE', 'dst'), ('SORT', 'nope', 'STORE', 'dst'),
    ('SET', 'r', 'v'), ('DUMP', 'r'), ('RESTORE', 'r2', '0', DUMP_V), ('RESTORE', 'r2', '0', DUMP_V),
    ('RESTORE', 'r2', '0', DUMP_V, 'REPLACE'), ('RESTORE', 'rl', '100000', DUMP_LIST),
    ('SET', 'g', 'v'), ('GETDEL', 'g'), ('GETDEL', 'g'),
    ('SET', 'g', 'v'), ('GETEX', 'g', 'EX', '100'), ('GETEX', 'g', 'PERSIST'),
    ('GETEX', 'g'), ('SWAPDB', '0', '1'), ('SWAPDB', '0', '1'), ('FLUSHDB',),
]

STRINGS = [
    ('SET', 's', 'v'), ('SET', 's', 'w', 'EX', '100'), ('SET', 's', 'x', 'KEEPTTL'),
    ('SET', 's', 'y', 'NX'), ('SET', 's', 'y', 'XX', 'PX', '100000'), ('SET', 's', 'z', 'GET'),
    ('SETNX', 's', 'a'), ('SETNX', 's2', 'a'), ('SETEX', 's3', '100', 'v'),
    ('PSETEX', 's4', '100000', 'v'), ('GETSET', 's', 'q'), ('GETSET', 'n1', 'q'),
    ('MSET', 'm1', 'a', 'm2', 'b', 'm1', 'c'), ('MSETNX', 'm3', 'a', 'm1', 'b'),
    ('MSETNX', 'm3', 'a', 'm4', 'b'), ('SETRANGE', 's', '5', 'xx'), ('SETRANGE', 'r1', '2', 'ab'),
    ('SETRANGE', 's', '0', ''), ('APPEND', 's', 'tail'), ('APPEND', 'ap', 'x'),
    ('INCR', 'i'), ('DECR', 'i'), ('INCRBY', 'i', '10'), ('DECRBY', 'i', '3'),
    ('INCRBYFLOAT', 'f', '1.5'), ('INCR', 's'), ('SETBIT', 'bits', '7', '1'),
    ('SETBIT', 'bits', '7', '1'), ('BITFIELD', 'bf', 'SET', 'u8', '0', '200'),
    ('BITFIELD', 'bf', 'GET', 'u8', '0'), ('BITOP', 'AND', 'bo', 'bits', 'bf'),
    ('BITOP', 'AND', 'bo', 'nope1', 'nope2'), ('PFADD', 'hll', 'a', 'b'), ('PFADD', 'hll', 'a'),
    ('PFADD', 'hll2', 'c'), ('PFMERGE', 'hll3', 'hll', 'hll2'), ('GET', 's'), ('STRLEN', 's'),
]

LISTS = [
    ('LPUSH', 'l', 'a', 'b'), ('RPUSH', 'l', 'c'), ('LPUSHX', 'nope', 'x'),
    ('RPUSHX', 'l', 'd'), ('LPUSHX', 'l', 'e'), ('LINSERT', 'l', 'BEFORE', 'c', 'x'),
    ('LINSERT', 'l', 'BEFORE', 'zz', 'x'), ('LSET', 'l', '0', 'E'), ('LREM', 'l', '0', 'x'),
    ('LREM', 'l', '0', 'nothing'), ('LTRIM', 'l', '0', '2'), ('LPOP', 'l'), ('RPOP', 'l'),
    ('LPOP', 'l', '5'), ('LPOP', 'l'), ('RPUSH', 'l', '1', '2', '3', '4'),
    ('LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'), ('LMOVE', 'l', 'l2', 'RIGHT', 'LEFT'),
    ('RPOPLPUSH', 'l', 'l'), ('RPOPLPUSH', 'l', 'l3'), ('RPOPLPUSH', 'l', 'l3'),
    ('RPOPLPUSH', 'nope', 'l3'), ('LMPOP', '2', 'nope', 'l2', 'RIGHT', 'COUNT', '5'),
    ('LMPOP', '1', 'l3', 'LEFT'), ('BLPOP', 'nope', 'l3', '1'), ('BRPOP', 'l3', '0.1'),
    ('RPUSH', 'l4', 'a'), ('BLMOVE', 'l4', 'l5', 'LEFT', 'LEFT', '1'),
    ('BRPOPLPUSH', 'l5', 'l4', '1'), ('BLMPOP', '1', '2', 'l4', 'l5', 'RIGHT'),
    ('RPUSH', 'l6', 'a', 'b'), ('LTRIM', 'l6', '5', '6'), ('RPUSH', 'l7', 'a', 'b'),
    ('LTRIM', 'l7', '0', '-1'), ('LRANGE', 'l7', '0', '-1'),
]

SETS = [
    ('SADD', 's', 'a', 'b', 'c'), ('SADD', 's', 'a'), ('SREM', 's', 'zz'), ('SREM', 's', 'a'),
    ('SPOP', 's'), ('SADD', 's', 'x', 'y', 'z'), ('SPOP', 's', '2'), ('SPOP', 's', '0'),
    ('SPOP', 's', '10'), ('SADD', 's1', 'a', 'b'), ('SADD', 's2', 'b', 'c'),
    ('SMOVE', 's1', 's2', 'a'), ('SMOVE', 's1', 's2', 'zz'), ('SMOVE', 's1', 's3', 'b'),
    ('SMOVE', 's2', 's2', 'a'), ('SINTERSTORE', 'd', 's2', 's3'),
    ('SUNIONSTORE', 'd', 's2', 's3'), ('SDIFFSTORE', 'd', 's2', 's2'),
    ('SDIFFSTORE', 'd', 's2', 's2'), ('SINTERSTORE', 'd2', 's2', 'nope'), ('SREM', 's3', 'b'),
    ('SMEMBERS', 's2'),
]

HASHES = [
    ('HSET', 'h', 'a', '1', 'b', '2'), ('HSET', 'h', 'a', '1'), ('HMSET', 'h', 'c', '3'),
    ('HSETNX', 'h', 'a', '9'), ('HSETNX', 'h', 'z', '9'), ('HDEL', 'h', 'nope'),
    ('HDEL', 'h', 'a', 'b'), ('HINCRBY', 'h', 'n', '5'), ('HINCRBYFLOAT', 'h', 'f', '1.5'),
    ('HINCRBY', 'h2', 'n', '1'), ('HDEL', 'h2', 'n'), ('HGET', 'h', 'c'), ('HGETALL', 'h'),
]

ZSETS = [
    ('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'), ('ZADD', 'z', '1', 'a'),
    ('ZADD', 'z', 'INCR', '5', 'a'), ('ZADD', 'z', 'NX', '9', 'a'), ('ZADD', 'z', 'XX', 'CH', '7', 'a'),
    ('ZINCRBY', 'z', '1', 'b'), ('ZREM', 'z', 'nope'), ('ZREM', 'z', 'c'),
    ('ZADD', 'z', '4', 'd', '5', 'e', '6', 'f'), ('ZREMRANGEBYSCORE', 'z', '100', '200'),
    ('ZREMRANGEBYSCORE', 'z', '4', '4'), ('ZREMRANGEBYRANK', 'z', '0', '0'),
    ('ZADD', 'lex', '0', 'a', '0', 'b'), ('ZREMRANGEBYLEX', 'lex', '[a', '[a'),
    ('ZREMRANGEBYLEX', 'lex', '-', '+'), ('ZPOPMIN', 'z'), ('ZPOPMAX', 'z', '2'),
    ('ZADD', 'y', '1', 'a', '2', 'b'), ('ZADD', 'x', '1', 'b', '3', 'c'),
    ('ZUNIONSTORE', 'u', '2', 'x', 'y'), ('ZINTERSTORE', 'u', '2', 'x', 'y'),
    ('ZDIFFSTORE', 'u', '2', 'x', 'x'), ('ZDIFFSTORE', 'u', '2', 'x', 'x'),
    ('ZRANGESTORE', 'r', 'x', '0', '-1'), ('ZMPOP', '2', 'nope', 'y', 'MAX'),
    ('BZPOPMIN', 'y', '1'), ('BZPOPMAX', 'x', '1'), ('BZMPOP', '1', '1', 'x', 'MIN', 'COUNT', '9'),
    ('ZPOPMIN', 'r', '10'), ('ZSCORE', 'u', 'a'),
]

READS = [
    ('GET', 'nope'), ('SET', 'k', 'v'), ('GET', 'k'), ('MGET', 'k', 'n1', 'n2'),
    ('EXISTS', 'n3'), ('TYPE', 'n4'), ('LRANGE', 'n5', '0', '-1'), ('HGET', 'n6', 'f'),
    ('SMEMBERS', 'n7'), ('ZRANGE', 'n8', '0', '-1'), ('STRLEN', 'n9'), ('TTL', 'n10'),
    ('SET', 'k2', 'v'), ('INCR', 'n11'),
    # the keys write commands read (Redis's lookupKeyRead), the numkeys forms
    ('SADD', 'st', 'a'), ('SUNIONSTORE', 'd', 'st', 'm1', 'm2'), ('SINTERSTORE', 'd', 'm1'),
    ('SDIFFSTORE', 'd', 'm1', 'st'), ('ZUNIONSTORE', 'd', '2', 'm1', 'm2'),
    ('ZINTERSTORE', 'd', '1', 'm1'), ('ZDIFFSTORE', 'd', '1', 'm1'),
    ('ZRANGESTORE', 'd', 'm1', '0', '-1'), ('SORT', 'm1', 'STORE', 'd'), ('SORT', 'm1'),
    ('BITOP', 'AND', 'd', 'm1', 'k'), ('PFMERGE', 'd', 'm1'), ('COPY', 'm1', 'd'),
    ('GETDEL', 'm1'), ('GETEX', 'm1'), ('BITFIELD', 'm1', 'GET', 'u8', '0'),
    ('BITFIELD', 'm2', 'SET', 'u8', '0', '1'), ('SINTERCARD', '1', 'm1'),
    ('ZUNION', '2', 'm1', 'm3'), ('ZINTER', '1', 'm1'), ('ZDIFF', '1', 'm1'),
    ('RENAME', 'm4', 'd'), ('LPOP', 'm4'), ('OBJECT', 'ENCODING', 'm4'),
]

MULTI = [
    ('MULTI',), ('SET', 'a', '1'), ('LPUSH', 'l', 'x'), ('INCR', 'a'), ('DEL', 'l'),
    ('SADD', 's', 'm'), ('EXEC',),
    ('MULTI',), ('SET', 'a', '2'), ('DISCARD',),
    ('WATCH', 'w'), ('SET', 'w', '1'), ('MULTI',), ('SET', 'b', '1'), ('EXEC',),
    ('MULTI',), ('HSET', 'h', 'f', 'v'), ('LPOP', 'nope'), ('INCR', 'h'), ('HDEL', 'h', 'f'),
    ('EXEC',),
]

SCRIPTS = [
    ('EVAL', "redis.call('set', KEYS[1], 'v'); redis.call('rpush', KEYS[2], 'a', 'b'); "
     "redis.call('lpop', KEYS[2]); return redis.call('del', KEYS[1], KEYS[2])", '2', 'a', 'b'),
    ('EVAL', "redis.call('hset', KEYS[1], 'f', 1); redis.call('hincrby', KEYS[1], 'f', 2); "
     "return redis.call('expire', KEYS[1], 100)", '1', 'h'),
    ('EVAL', "redis.call('sadd', KEYS[1], 'x'); return redis.call('get', KEYS[2])", '2', 's', 'nope'),
]


def served(server, flags, block, push):
    """A client blocks with `block`; another runs each of `push`; the events
    (the push's, then the served pop's)."""
    c = server.client()
    b = server.client()
    sub = server.client()
    try:
        c.cmd('FLUSHALL')
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', flags)
        sub.send(encode('PSUBSCRIBE', '__key*__:*'))
        sub.read_reply()
        for blk, p in zip(block, push):
            b.send(encode(*blk))
            for _ in range(200):   # bounded wait until it is blocked
                info = c.cmd('INFO', 'clients').decode()
                if 'blocked_clients:1' in info:
                    break
                time.sleep(0.01)
            c.cmd(*p)
            b.read_reply()
        c.cmd('PUBLISH', END, 'end')
        ev = read_events(sub)
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')
        return ev
    finally:
        c.close()
        b.close()
        sub.close()


def sec_served(sa, sb):
    block = [('BLPOP', 'bl', '5'), ('BRPOP', 'bl', '5'), ('BLMOVE', 'bl', 'bd', 'LEFT', 'RIGHT', '5'),
             ('BRPOPLPUSH', 'bl', 'bd', '5'), ('BZPOPMIN', 'bz', '5'),
             ('BLMPOP', '5', '1', 'bl', 'LEFT', 'COUNT', '1')]
    push = [('RPUSH', 'bl', 'a'), ('RPUSH', 'bl', 'c'), ('LPUSH', 'bl', 'x'),
            ('LPUSH', 'bl', 'y'), ('ZADD', 'bz', '1', 'm'), ('RPUSH', 'bl', 'q')]
    for flags in ('KEA', 'KEAn'):
        check('served pops [%s]' % flags, served(sa, flags, block, push),
              served(sb, flags, block, push))


def sec_config(sa, sb):
    words = ['KEA', 'AKE', 'gx$K', 'KEAnm', 'Kn', 'Ag$lshzxetdKEmn', 'E', 'g$lshzxetd', 'mK',
             'lE', 'nE', 'zhsE', 'xyz', 'KEA!', '']
    for w in words:
        got = []
        for s in (sa, sb):
            with s.client() as c:
                got.append((c.cmd('CONFIG', 'SET', 'notify-keyspace-events', w),
                            c.cmd('CONFIG', 'GET', 'notify-keyspace-events')))
        check('config %r' % w, got[0], got[1])
    for s in (sa, sb):
        with s.client() as c:
            c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')


def sec_lazy_expiry(sa, sb):
    setup = [('DEBUG', 'SET-ACTIVE-EXPIRE', '0'), ('SET', 'e1', 'v', 'PX', '1'),
             ('SET', 'e2', 'v', 'PX', '1'), ('SET', 'e3', 'v', 'PX', '1'),
             ('HSET', 'e4', 'f', 'v'), ('PEXPIRE', 'e4', '1'), ('SET', 'e5', 'v', 'PX', '1'),
             ('DEBUG', 'SLEEP', '0.05')]
    cmds = [('GET', 'e1'), ('SET', 'e2', 'new'), ('HSET', 'e4', 'g', 'w'), ('DEL', 'e3'),
            ('EXISTS', 'e5')]
    for flags in ('KEA', 'Ex', 'KExn', 'Kxm', 'KEAnm'):
        diff(sa, sb, 'lazy expiry', flags, cmds, setup)
    for s in (sa, sb):
        with s.client() as c:
            c.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', '1')


def sec_active_expiry(sa, sb):
    got = []
    n = 20
    for s in (sa, sb):
        c = s.client()
        sub = s.client()
        c.cmd('FLUSHALL')
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', 'KEx')
        sub.send(encode('PSUBSCRIBE', '__key*__:*'))
        sub.read_reply()
        for i in range(n):
            c.cmd('SET', 'ax%d' % i, 'v', 'PX', '20')
        ev = []
        sub.sock.settimeout(5.0)
        for _ in range(2 * n):   # bounded: the subscriber's timeout ends a stall
            try:
                r = sub.read_reply()
            except OSError:
                break
            if r is None:
                break
            v = harness.parse(r)
            ev.append((bytes(v[2]).decode(), bytes(v[3]).decode()))
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')
        c.close()
        sub.close()
        got.append(sorted(ev))
    check('active expiry (as sets)', got[0], got[1])


def sec_eviction(sa, sb):
    shapes = []
    for s in (sa, sb):
        c = s.client()
        sub = s.client()
        c.cmd('FLUSHALL')
        c.cmd('CONFIG', 'RESETSTAT')
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', 'KEe')
        sub.send(encode('PSUBSCRIBE', '__key*__:*'))
        sub.read_reply()
        used = int(dict(l.split(':', 1) for l in c.cmd('INFO', 'memory').decode().split('\r\n')
                        if ':' in l)['used_memory'])
        c.cmd('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random')
        c.cmd('CONFIG', 'SET', 'maxmemory', str(used + 200000))
        for i in range(400):
            c.cmd('SET', 'ev%d' % i, 'x' * 2000)
        c.cmd('CONFIG', 'SET', 'maxmemory', '0')
        c.cmd('PUBLISH', END, 'end')
        ev = read_events(sub)
        info = c.cmd('INFO', 'stats').decode()
        evicted = int(dict(l.split(':', 1) for l in info.split('\r\n') if ':' in l)['evicted_keys'])
        c.cmd('CONFIG', 'SET', 'notify-keyspace-events', '')
        c.close()
        sub.close()
        keys_space = [m for ch, m in ev if ch.startswith('__keyspace@0__:')]
        keys_event = [m for ch, m in ev if ch == '__keyevent@0__:evicted']
        ok = (evicted > 0 and len(keys_event) == evicted and
              keys_space == ['evicted'] * evicted and len(ev) == 2 * evicted and
              all(k.startswith('ev') for k in keys_event) and
              len(set(keys_event)) == evicted)
        harness.log('  %s: %d evicted, %d events' % (s.name, evicted, len(ev)))
        shapes.append(ok)
    check('eviction shape', shapes, [True, True])


def main():
    sb = harness.redis_server(['--enable-debug-command', 'yes'])
    sa = harness.kvsd_server(['--threads', '2', '--enable-debug-command', 'yes'])
    try:
        sb.start()
        sa.start()
    except RuntimeError as e:
        harness.log('notify: cannot start servers: %s' % e)
        return 1
    t0 = time.time()
    try:
        sec_config(sa, sb)
        families = [('generic', GENERIC, ['KEA', 'Kg', 'E$', 'KEAn']),
                    ('strings', STRINGS, ['KEA', 'K$', 'Eg', 'KEAn']),
                    ('lists', LISTS, ['KEA', 'Kl', 'Eg', 'KEAn']),
                    ('sets', SETS, ['KEA', 'Es', 'KEAn']),
                    ('hashes', HASHES, ['KEA', 'Kh', 'KEAn']),
                    ('zsets', ZSETS, ['KEA', 'Ez', 'KEAn']),
                    ('keymiss', READS, ['Km', 'KEm', 'KEAnm']),
                    ('multi', MULTI, ['KEA', 'KEAn']),
                    ('scripts', SCRIPTS, ['KEA', 'KEAnm']),
                    ('no K/E', STRINGS, ['A', 'Anm'])]
        for name, cmds, flag_sets in families:
            for flags in flag_sets:
                diff(sa, sb, name, flags, cmds)
        sec_served(sa, sb)
        sec_lazy_expiry(sa, sb)
        sec_active_expiry(sa, sb)
        sec_eviction(sa, sb)
    except (OSError, RuntimeError) as e:
        harness.log('notify: aborted: %r' % e)
        FAIL.append('aborted')
    alive = sa.alive()
    code = sa.stop()
    sb.stop()
    if not alive or code != 0:
        harness.log('notify: kvsd died or exited with %s' % code)
        FAIL.append('exit')
    harness.log('notify: %.1f s, %d failures' % (time.time() - t0, len(FAIL)))
    return 1 if FAIL else 0


if __name__ == '__main__':
    sys.exit(main())
