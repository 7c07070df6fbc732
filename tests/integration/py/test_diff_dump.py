#!/usr/bin/env python3
"""Differential test of DUMP and RESTORE (issue 15) against redis-server 7.0.

(a) Interop both ways on a seeded random dataset of every type in its
    compact and large encodings (strings: int, short, LZF-compressible,
    incompressible; hashes, sets, sorted sets, lists): both servers get the
    same writes; each key is DUMPed on one server and RESTOREd on the other
    under a new name (with a TTL on some), and the restored key must equal
    the original there: TYPE, every element / score, OBJECT ENCODING, PTTL
    within a tolerance.
(b) Arguments and errors, byte-identical replies in RESP2 and RESP3: nil for
    a missing key, BUSYKEY, REPLACE, ABSTTL in the past (deletes the key it
    replaces), TTL errors, IDLETIME / FREQ validation and their exclusion,
    syntax errors, a wrong checksum or version, a well-framed payload holding
    malformed data, truncated payloads, and a client blocked in BLPOP woken
    by a RESTOREd list. redis-server runs with sanitize-dump-payload yes:
    kvsd always validates a payload that deeply. Bit-flipped payloads of
    every encoding are a kvsd-only check (refused or restored, never a
    crash).
(c) The payload bytes themselves, where Redis's are determined by the value:
    strings (int, raw, LZF), intsets, listpack hashes and sorted sets must be
    byte-identical to redis-server's DUMP; the other encodings (hashtable,
    skiplist, quicklist) only interoperate (their order or node layout is the
    server's own), and how many of those happen to match is logged.

Usage: test_diff_dump.py [--seed N]   (environment: see harness.py)
"""

import argparse
import os
import random
import socket
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, parse  # noqa: E402
import test_diff  # noqa: E402

# ---------------------------------------------------------------- CRC-64 (Redis's)

_POLY = 0x95ac9329ac4bc9b5
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc64(data):
    crc = 0
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def frame(value, version=10):
    """A DUMP payload around an RDB value (type byte + payload)."""
    body = value + version.to_bytes(2, 'little')
    return body + crc64(body).to_bytes(8, 'little')


# ---------------------------------------------------------------- dataset

def rand_str(rng, n, alphabet='abcdefghijklmnopqrstuvwxyz0123456789'):
    return ''.join(rng.choice(alphabet) for _ in range(n))


def gen_dataset(rng):
    """(key, kind, [commands]) for every type and encoding."""
    ds = []
    # strings
    for i, v in enumerate(['0', '-1', '127', '-128', '32767', '2147483647', '-2147483648',
                           '2147483648', '9223372036854775807', '007', '', 'x',
                           'hello world', 'a' * 25, 'ab' * 300, rand_str(rng, 30),
                           rand_str(rng, 5000), ('xyz' * 40) + rand_str(rng, 8)]):
        ds.append(('s:%d' % i, 'string', [['SET', 's:%d' % i, v]]))
    for i in range(6):
        n = rng.choice([1, 3, 10, 100])
        ds.append(('sr:%d' % i, 'string', [['SET', 'sr:%d' % i, rand_str(rng, n)]]))

    def ints(n, lo, hi):
        return [str(x) for x in rng.sample(range(lo, hi), n)]
    # sets: intsets of each width, a large int set, string sets
    ds.append(('set:i16', 'intset', [['SADD', 'set:i16'] + ints(20, -1000, 1000)]))
    ds.append(('set:i32', 'intset', [['SADD', 'set:i32'] + ints(20, -10**6, 10**6) +
                                     ['100000']]))
    ds.append(('set:i64', 'intset', [['SADD', 'set:i64'] + ints(5, 0, 100) +
                                     ['-9223372036854775808', '9223372036854775807']]))
    ds.append(('set:ibig', 'set', [['SADD', 'set:ibig'] + ints(600, 0, 100000)]))
    ds.append(('set:str', 'set', [['SADD', 'set:str'] +
                                  [rand_str(rng, rng.randint(1, 30)) for _ in range(15)]]))
    ds.append(('set:strbig', 'set', [['SADD', 'set:strbig'] +
                                     [rand_str(rng, 12) for _ in range(700)]]))
    # hashes
    for name, n, vl in (('hash:small', 10, 8), ('hash:ints', 20, 0), ('hash:big', 600, 10),
                        ('hash:long', 5, 80)):
        args = ['HSET', name]
        for i in range(n):
            args += ['f%d' % i, str(rng.randint(-10**12, 10**12)) if vl == 0 or i % 4 == 0
                     else rand_str(rng, rng.randint(1, vl))]
        kind = 'hash-lp' if n <= 512 and vl <= 64 else 'hash'
        ds.append((name, kind, [args]))
    # sorted sets
    def score():
        return rng.choice([str(rng.randint(-1000, 1000)), repr(rng.uniform(-1e6, 1e6)),
                           '1e300', '-0.5', '3.0', 'inf', '-inf', '0'])
    for name, n, ml in (('zset:small', 10, 8), ('zset:big', 300, 10), ('zset:long', 4, 70),
                        ('zset:intm', 20, 0)):
        args = ['ZADD', name]
        for i in range(n):
            args += [score(), str(i * 37 - 100) if ml == 0 else
                     'm%d-' % i + rand_str(rng, rng.randint(0, ml))]
        kind = 'zset-lp' if n <= 128 and ml <= 64 else 'zset'
        ds.append((name, kind, [args]))
    # lists: small, many nodes, big elements, int elements
    ds.append(('list:small', 'list', [['RPUSH', 'list:small'] +
                                      [rand_str(rng, rng.randint(0, 20)) for _ in range(10)]]))
    ds.append(('list:ints', 'list', [['RPUSH', 'list:ints'] +
                                     [str(rng.randint(-10**15, 10**15)) for _ in range(50)]]))
    ds.append(('list:big', 'list', [['RPUSH', 'list:big'] +
                                    [rand_str(rng, rng.randint(1, 40)) for _ in range(3000)]]))
    ds.append(('list:fat', 'list', [['RPUSH', 'list:fat'] +
                                    [rand_str(rng, 3000) for _ in range(8)]]))
    ds.append(('list:lpush', 'list', [['LPUSH', 'list:lpush'] +
                                      [str(i) for i in range(40)]]))
    return ds


def contents(cl, key):
    """(type, canonical content) of key on one server (RESP2 client)."""
    t = parse(cl.cmd('TYPE', key))
    if t == 'string':
        return t, parse(cl.cmd('GET', key))
    if t == 'hash':
        v = parse(cl.cmd('HGETALL', key))
        return t, sorted(zip(v[0::2], v[1::2]))
    if t == 'set':
        return t, sorted(parse(cl.cmd('SMEMBERS', key)))
    if t == 'zset':
        return t, parse(cl.cmd('ZRANGE', key, '0', '-1', 'WITHSCORES'))
    if t == 'list':
        return t, parse(cl.cmd('LRANGE', key, '0', '-1'))
    return t, None


def pttl(cl, key):
    return int(parse(cl.cmd('PTTL', key)))


# ---------------------------------------------------------------- (a) and (c)

BYTE_IDENTICAL = ('string', 'intset', 'hash-lp', 'zset-lp')


def sec_interop(d, rng):
    d.section = 'interop'
    a = d.sa.client()
    b = d.sb.client()
    ds = gen_dataset(rng)
    p = d.pair()
    p.c('FLUSHALL')
    for key, kind, cmds in ds:
        for c in cmds:
            p.c(*c)
        if rng.random() < 0.3:
            p.c('PEXPIRE', key, str(rng.randint(100000, 10**7)), cmp=test_diff.exact)
    same, only = {}, {}
    for key, kind, _ in ds:
        # the two servers hold the same thing in the same encoding
        p.c('OBJECT', 'ENCODING', key)
        da = parse(a.cmd('DUMP', key))
        db = parse(b.cmd('DUMP', key))
        if not isinstance(da, bytes) or not isinstance(db, bytes):
            d.report(['DUMP', key], repr(da).encode(), repr(db).encode())
            continue
        if kind in BYTE_IDENTICAL:
            d.count += 1
            if da != db:
                d.report(['DUMP', key, '(bytes)'], da, db)
        else:
            (same if da == db else only).setdefault(kind, []).append(key)
        for src, dst, payload, label in ((a, b, da, 'kvsd->redis'), (b, a, db, 'redis->kvsd')):
            ttl = pttl(src, key)
            args = ['RESTORE', 'r:' + key, str(max(ttl, 0)), payload, 'REPLACE']
            r = dst.cmd(*args)
            d.count += 1
            if r != b'+OK\r\n':
                d.report(args[:3] + ['<payload>', label], r, b'+OK\r\n')
                continue
            d.count += 1
            want, got = contents(dst, key), contents(dst, 'r:' + key)
            if want != got:
                d.report(['RESTORE', key, label, 'contents'], repr(got).encode()[:2000],
                         repr(want).encode()[:2000])
            d.count += 1
            ea = dst.cmd('OBJECT', 'ENCODING', key)
            eb = dst.cmd('OBJECT', 'ENCODING', 'r:' + key)
            if ea != eb:
                d.report(['OBJECT ENCODING after RESTORE', key, label], eb, ea)
            d.count += 1
            t_new = pttl(dst, 'r:' + key)
            if (ttl < 0) != (t_new < 0) or abs(t_new - ttl) > 2000:
                d.report(['PTTL after RESTORE', key, label], str(t_new).encode(),
                         str(ttl).encode())
    harness.log('diff-dump: byte-identical by rule: %s' % ', '.join(BYTE_IDENTICAL))
    harness.log('diff-dump: others identical here: %s; interoperate only: %s' % (
        sorted((k, len(v)) for k, v in same.items()),
        sorted((k, len(v)) for k, v in only.items())))
    p.close()
    a.close()
    b.close()


# ---------------------------------------------------------------- (b)

def sec_errors(d, p):
    d.section = 'errors'
    p.c('FLUSHALL')
    hello = frame(b'\x00\x05hello')
    p.c('DUMP', 'nokey')
    p.c('DUMP')
    p.c('DUMP', 'a', 'b')
    p.c('RESTORE', 'k', '0')
    p.c('SET', 'str', 'hello')
    p.c('DUMP', 'str')
    p.c('SET', 'n', '12345')
    p.c('DUMP', 'n')
    p.c('RESTORE', 'k', '0', hello)
    p.c('GET', 'k')
    p.c('PTTL', 'k')
    p.c('RESTORE', 'k', '0', hello)                       # BUSYKEY
    p.c('RESTORE', 'k', '-1', hello)                      # BUSYKEY comes first
    p.c('RESTORE', 'k', '0', hello, 'REPLACE')
    p.c('RESTORE', 'k2', '-1', hello)
    p.c('RESTORE', 'k2', 'abc', hello)
    p.c('RESTORE', 'k2', '1.5', hello)
    p.c('RESTORE', 'k2', '0', hello, 'NOPE')
    p.c('RESTORE', 'k2', '0', hello, 'IDLETIME')
    p.c('RESTORE', 'k2', '0', hello, 'IDLETIME', '-1')
    p.c('RESTORE', 'k2', '0', hello, 'IDLETIME', 'x')
    p.c('RESTORE', 'k2', '0', hello, 'FREQ', '256')
    p.c('RESTORE', 'k2', '0', hello, 'FREQ', '-1')
    p.c('RESTORE', 'k2', '0', hello, 'FREQ', 'x')
    p.c('RESTORE', 'k2', '0', hello, 'FREQ')
    p.c('RESTORE', 'k2', '0', hello, 'IDLETIME', '1', 'FREQ', '1')
    p.c('RESTORE', 'k2', '0', hello, 'FREQ', '1', 'IDLETIME', '1')
    p.c('RESTORE', 'k2', '0', hello, 'IDLETIME', '10', 'REPLACE', 'ABSTTL')
    p.c('EXISTS', 'k2')
    p.c('RESTORE', 'k3', '0', hello, 'FREQ', '5')
    p.c('OBJECT', 'FREQ', 'k3')
    p.c('RESTORE', 'i1', '0', hello, 'IDLETIME', '1000')
    p.c('OBJECT', 'IDLETIME', 'i1', cmp=test_diff.int_close(2))
    p.c('RESTORE', 'k3', '0', hello, 'replace', 'absttl', 'freq', '0')
    # checksums, versions, framing
    p.c('RESTORE', 'k4', '0', hello[:-1] + bytes([hello[-1] ^ 1]))
    p.c('RESTORE', 'k4', '0', frame(b'\x00\x05hello', version=11))
    p.c('RESTORE', 'k4', '0', frame(b'\x00\x05hello', version=9))
    p.c('GET', 'k4')
    p.c('RESTORE', 'k5', '0', hello[:9])
    p.c('RESTORE', 'k5', '0', '')
    p.c('RESTORE', 'k5', '0', 'x' * 10)
    for bad in (b'\x63', b'\x00', b'\x00\x06hello', b'\x02\x00', b'\x02\x02\x01a\x01a',
                b'\x04\x01\x01a', b'\x0b\x04\x01\x00\x00\x00', b'\x00\xc3\x05\x64\x00\x00\x00',
                b'\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x04\x00',
                b'\x12\x01\x03\x07\x07\x00\x00\x00\x00\x00\xff', b''):
        p.c('RESTORE', 'k6', '0', frame(bad))
    p.c('EXISTS', 'k6')
    # TTLs: relative, absolute in the future, absolute in the past
    p.c('RESTORE', 't1', '100000', hello)
    p.c('PTTL', 't1', cmp=test_diff.int_close(50))
    p.c('RESTORE', 't2', '4102444800000', hello, 'ABSTTL')
    p.c('PEXPIRETIME', 't2')
    p.c('RESTORE', 't3', '1', hello, 'ABSTTL')
    p.c('EXISTS', 't3')
    p.c('RESTORE', 't1', '1', hello, 'ABSTTL', 'REPLACE')  # deletes t1
    p.c('EXISTS', 't1')
    p.c('RESTORE', 't4', '9223372036854775807', hello)     # overflows into the past
    p.c('EXISTS', 't4')
    # FREQ under an LFU policy, IDLETIME ignored there (and the reverse)
    p.c('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu')
    p.c('RESTORE', 'f1', '0', hello, 'FREQ', '100')
    p.c('OBJECT', 'FREQ', 'f1')
    p.c('RESTORE', 'f2', '0', hello, 'IDLETIME', '100')
    p.c('OBJECT', 'FREQ', 'f2')
    p.c('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    # inside MULTI / EXEC, and over a key of another type
    p.c('MULTI')
    p.c('RESTORE', 'mx', '0', hello)
    p.c('DUMP', 'mx')
    p.c('RESTORE', 'mx', '0', hello)
    p.c('EXEC')
    p.c('SADD', 'other', 'a')
    p.c('RESTORE', 'other', '0', frame(b'\x04\x01\x01a\x01b'), 'REPLACE')
    p.c('TYPE', 'other')
    # a restored key keeps its type against other commands
    p.c('RESTORE', 'h', '0', frame(b'\x04\x01\x01a\x01b'))
    p.c('TYPE', 'h')
    p.c('HGETALL', 'h')
    p.c('OBJECT', 'ENCODING', 'h')
    p.c('GET', 'h')
    # payloads both servers wrote, cut short (re-framed: a valid checksum)
    p.c('RPUSH', 'l', 'a', 'b', '1', '2')
    p.c('SADD', 'si', '1', '2', '3')
    p.c('ZADD', 'z', '1', 'a', '2.5', 'b')
    p.c('HSET', 'hh', 'f', 'v', 'g', '7')
    for key in ('l', 'si', 'z', 'str', 'hh'):
        pa = parse(p.a.cmd('DUMP', key))
        for cut in (1, 3, len(pa) - 11):
            p.c('RESTORE', 'cut', '0', frame(pa[:-10][:cut]))


def sec_flips(d, rng):
    """kvsd only: random bit flips in re-framed payloads of every encoding are
    refused with Bad data format or restored, and kvsd keeps serving; what a
    restored corrupt value holds is then readable in full. (Not compared with
    redis-server: which corruptions a server can detect is its own.)"""
    d.section = 'flips'
    a = d.sa.client()
    ds = gen_dataset(rng)
    for key, _, cmds in ds:
        for c in cmds:
            a.cmd(*c)
    for key, kind, _ in ds:
        pa = parse(a.cmd('DUMP', key))[:-10]
        for _ in range(30):
            body = bytearray(pa)
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
            r = a.cmd('RESTORE', 'flip', '0', frame(bytes(body)), 'REPLACE')
            d.count += 1
            if r not in (b'+OK\r\n', b'-ERR Bad data format\r\n'):
                d.report(['RESTORE', '<flipped %s>' % key], r, b'+OK or Bad data format')
            elif r == b'+OK\r\n':
                contents(a, 'flip')
    d.count += 1
    if a.cmd('PING') != b'+PONG\r\n':
        d.report(['PING after flips'], b'?', b'+PONG')
    a.close()


def sec_thresholds(d):
    """A compact payload restored under lower limits converts as Redis's
    loader converts it (and a large one under higher limits stays large,
    except where Redis's loader re-packs: ZSET_2 and the SET/HASH forms)."""
    d.section = 'thresholds'
    p = d.pair()
    p.c('FLUSHALL')
    p.c('HSET', 'h', *[x for i in range(10) for x in ('f%d' % i, str(i))])
    p.c('SADD', 's', *[str(i) for i in range(10)])
    p.c('ZADD', 'z', *[x for i in range(10) for x in (str(i), 'm%d' % i)])
    p.c('RPUSH', 'l', *[str(i) for i in range(100)])
    p.c('HSET', 'hb', *[x for i in range(600) for x in ('f%d' % i, str(i))])
    p.c('SADD', 'sb', *[str(i) for i in range(600)])
    p.c('ZADD', 'zb', *[x for i in range(200) for x in (str(i), 'm%d' % i)])
    payload = {k: parse(p.b.cmd('DUMP', k)) for k in ('h', 's', 'z', 'l', 'hb', 'sb', 'zb')}
    for limits in (('4', '4', '4', '2'), ('1000', '1000', '1000', '-5')):
        p.c('CONFIG', 'SET', 'hash-max-listpack-entries', limits[0])
        p.c('CONFIG', 'SET', 'set-max-intset-entries', limits[1])
        p.c('CONFIG', 'SET', 'zset-max-listpack-entries', limits[2])
        p.c('CONFIG', 'SET', 'list-max-listpack-size', limits[3])
        for k, v in payload.items():
            p.c('RESTORE', 'r' + k, '0', v, 'REPLACE')
            p.c('OBJECT', 'ENCODING', 'r' + k)
        if limits[1] == '1000':   # intsets again: byte-identical
            p.c('DUMP', 'rs')
            p.c('DUMP', 'rsb')
    p.c('CONFIG', 'SET', 'hash-max-listpack-entries', '512')
    p.c('CONFIG', 'SET', 'set-max-intset-entries', '512')
    p.c('CONFIG', 'SET', 'zset-max-listpack-entries', '128')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '-2')
    p.close()


def sec_blocked(d):
    """A client blocked on a list is served by a RESTORE that creates it."""
    d.section = 'blocked'
    p = d.pair()
    p.c('DEL', 'bl')
    # QUICKLIST_2, one packed node: a 10-byte listpack holding "x"
    pl = frame(b'\x12\x01\x02\x0a' + b'\x0a\x00\x00\x00\x01\x00\x81x\x02\xff')
    w = d.pair()
    for cl in (w.a, w.b):
        cl.send(encode('BLPOP', 'bl', '5'))
    p.c('RESTORE', 'bl', '0', pl)
    ra = w.a.read_reply()
    rb = w.b.read_reply()
    d.count += 1
    if ra != rb:
        d.report(['BLPOP woken by RESTORE'], ra, rb)
    p.c('EXISTS', 'bl')
    w.close()
    p.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '1515')))
    args = ap.parse_args()
    # kvsd always checks a payload as deeply as Redis does with
    # sanitize-dump-payload yes (not Redis's default, which lets a
    # malformed listpack become a key)
    servers = test_diff.start_pair('diff-dump', None, ['--sanitize-dump-payload', 'yes'])
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    harness.log('diff-dump: seed %d' % args.seed)
    try:
        sec_interop(d, random.Random(args.seed))
        p = d.pair()
        for resp in (2, 3):
            if resp == 3:
                p.close()
                p = d.pair()
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            sec_errors(d, p)
        p.close()
        sec_blocked(d)
        sec_thresholds(d)
        sec_flips(d, random.Random(args.seed + 1))
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-dump: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-dump', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
