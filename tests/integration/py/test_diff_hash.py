#!/usr/bin/env python3
"""Differential test of the hash commands (issue 13) against redis-server 7.0.

HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN: valid and invalid arguments, RESP2
and RESP3. Replies of a listpack-encoded hash must be byte-identical (both
servers reply in insertion order); replies of a hashtable-encoded one are
compared as multisets (Redis's dict order is not kvsd's tree order); random
picks are checked by their properties on both servers. Which encoding a key
has is tracked by a model of Redis 7.0's conversion rules, and probed with
HSCAN ... COUNT 1 (a listpack answers everything with cursor 0, a hashtable
does not) at 511/512/513 fields and 64/65-byte strings.

Also: a seeded random command stream over a few hashes and a string key,
HSCAN's full-iteration guarantee on a large hash with writes between the
calls, a MULTI/EXEC that writes a large hash, TTLs kept across writes, and
bad input (HINCRBY overflow; a 1M-argument HSET while another client is
served).

Usage: test_diff_hash.py [--seed N] [--count N]   (environment: see harness.py)
"""

import argparse
import os
import random
import socket
import sys
import threading

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, parse, Err  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact, int_close, sorted_array  # noqa: E402

I64MAX = '9223372036854775807'
I64MIN = '-9223372036854775808'
HALF = '4611686018427387903'     # LONG_MAX / 2
RESP = [2]                       # the protocol of the pair in use


# ---------------------------------------------------------------- comparators

def _pairs(v):
    """HGETALL / HRANDFIELD WITHVALUES / HSCAN elements as a sorted list of
    (field, value): a RESP3 map or nested pairs, or a RESP2 flat array."""
    if v and isinstance(v[0], tuple):
        return sorted(v)
    if v and isinstance(v[0], list):
        return sorted(tuple(x) for x in v)
    return sorted(zip(v[0::2], v[1::2]))


def pairs_multiset(a, b):
    """The same pairs in any order, with the same reply type byte."""
    if a[:1] != b[:1]:
        return False
    va, vb = parse(a), parse(b)
    if not isinstance(va, list) or not isinstance(vb, list):
        return a == b
    return _pairs(va) == _pairs(vb)


def randfield_props(model, count, withvalues):
    """HRANDFIELD key count [WITHVALUES]: both replies have Redis's shape and
    length, name only fields of the hash (with their values), and a positive
    count gives distinct fields."""
    def check(r, resp3):
        v = parse(r)
        if not isinstance(v, list):
            return False
        size = len(model)
        n = min(count, size) if count >= 0 else -count
        if size == 0:
            n = 0
        if withvalues and resp3:
            if len(v) != n or any(not isinstance(x, list) or len(x) != 2 for x in v):
                return False
            pairs = [tuple(x) for x in v]
        elif withvalues:
            if len(v) != 2 * n:
                return False
            pairs = list(zip(v[0::2], v[1::2]))
        else:
            if len(v) != n:
                return False
            pairs = [(f, model.get(f)) for f in v]
        for f, val in pairs:
            if f not in model or model[f] != val:
                return False
        if count > 0 and len({f for f, _ in pairs}) != len(pairs):
            return False
        return True

    def f(a, b):
        if a[:1] != b[:1] or a[:1] != b'*':
            return False
        return check(a, RESP[0] == 3) and check(b, RESP[0] == 3)
    return f


def scan_probe_listpack(r):
    """Whether HSCAN key 0 COUNT 1 answered like a listpack (cursor 0)."""
    v = parse(r)
    return isinstance(v, list) and v[0] == b'0'


# ---------------------------------------------------------------- sections

def big(n, prefix='f', vlen=3):
    out = []
    for i in range(n):
        out += ['%s%d' % (prefix, i), ('v%d' % i).ljust(vlen, 'x')]
    return out


def sec_basic(d, p):
    d.section = 'basic'
    p.c('FLUSHALL')
    p.c('HSET', 'h', 'a', '1', 'b', '2', 'c', '3')
    p.c('HSET', 'h', 'a', '10', 'd', '4')
    p.c('HSETNX', 'h', 'a', 'x')
    p.c('HSETNX', 'h', 'e', '5')
    p.c('HSETNX', 'new', 'f', 'v')
    p.c('HMSET', 'h', 'f', '6', 'g', '')
    p.c('HGET', 'h', 'a')
    p.c('HGET', 'h', 'zz')
    p.c('HGET', 'nokey', 'a')
    p.c('HMGET', 'h', 'a', 'zz', 'g', 'b')
    p.c('HMGET', 'nokey', 'a', 'b')
    p.c('HLEN', 'h')
    p.c('HLEN', 'nokey')
    p.c('HSTRLEN', 'h', 'a')
    p.c('HSTRLEN', 'h', 'g')
    p.c('HSTRLEN', 'h', 'zz')
    p.c('HSTRLEN', 'nokey', 'a')
    p.c('HEXISTS', 'h', 'a')
    p.c('HEXISTS', 'h', 'zz')
    p.c('HEXISTS', 'nokey', 'a')
    for c in ('HKEYS', 'HVALS', 'HGETALL'):
        p.c(c, 'h')
        p.c(c, 'nokey')
    p.c('HDEL', 'h', 'b', 'zz', 'b')
    p.c('HDEL', 'h', 'zz')
    p.c('HDEL', 'nokey', 'a')
    p.c('HSET', 'h', 'b', 'again')   # re-added: goes last
    p.c('HGETALL', 'h')
    p.c('HDEL', 'new', 'f')
    p.c('EXISTS', 'new')
    # empty fields and values, binary bytes
    p.c('HSET', 'bin', '', '', b'\x00\xff', b'\r\n')
    p.c('HGETALL', 'bin')
    p.c('HGET', 'bin', '')
    p.c('HSTRLEN', 'bin', b'\x00\xff')
    # repeated fields in one HSET: the last value wins, counted once
    p.c('HSET', 'rep', 'x', '1', 'x', '2', 'y', '3', 'x', '4')
    p.c('HGETALL', 'rep')


def sec_errors(d, p):
    d.section = 'errors'
    p.c('FLUSHALL')
    p.c('SET', 's', 'str')
    p.c('HSET', 'h', 'n', '5', 't', 'text', 'f', '1.5', 'big', I64MAX, 'small', I64MIN)
    # arity
    for args in (['HSET'], ['HSET', 'h'], ['HSET', 'h', 'f'], ['HSET', 'h', 'f', 'v', 'g'],
                 ['HMSET', 'h', 'f'], ['HMSET', 'h', 'f', 'v', 'g'], ['HSETNX', 'h', 'f'],
                 ['HSETNX', 'h', 'f', 'v', 'x'], ['HGET', 'h'], ['HGET', 'h', 'f', 'g'],
                 ['HMGET', 'h'], ['HDEL', 'h'], ['HLEN'], ['HLEN', 'h', 'x'],
                 ['HSTRLEN', 'h'], ['HEXISTS', 'h'], ['HKEYS'], ['HKEYS', 'h', 'x'],
                 ['HVALS'], ['HGETALL', 'h', 'x'], ['HINCRBY', 'h', 'f'],
                 ['HINCRBY', 'h', 'f', '1', '2'], ['HINCRBYFLOAT', 'h', 'f'],
                 ['HRANDFIELD'], ['HSCAN', 'h'], ['HSCAN']):
        p.c(*args)
    # WRONGTYPE everywhere
    for args in (['HSET', 's', 'f', 'v'], ['HMSET', 's', 'f', 'v'], ['HSETNX', 's', 'f', 'v'],
                 ['HGET', 's', 'f'], ['HMGET', 's', 'f'], ['HDEL', 's', 'f'], ['HLEN', 's'],
                 ['HSTRLEN', 's', 'f'], ['HEXISTS', 's', 'f'], ['HKEYS', 's'], ['HVALS', 's'],
                 ['HGETALL', 's'], ['HINCRBY', 's', 'f', '1'], ['HINCRBYFLOAT', 's', 'f', '1'],
                 ['HRANDFIELD', 's'], ['HRANDFIELD', 's', '0'], ['HRANDFIELD', 's', '2'],
                 ['HRANDFIELD', 's', 'x', 'WITHVALUES'], ['HSCAN', 's', '0'],
                 ['HSCAN', 's', 'x'], ['HSCAN', 's', '0', 'COUNT', '0']):
        p.c(*args)
    p.c('GET', 's')
    # HINCRBY
    for args in (['n', '3'], ['n', '-10'], ['new', '7'], ['n', 'abc'], ['n', '1.5'],
                 ['n', ''], ['n', I64MAX], ['n', '9223372036854775808'], ['t', '1'],
                 ['f', '1'], ['big', '1'], ['big', '0'], ['big', '-1'], ['small', '-1'],
                 ['small', '1'], ['small', I64MIN], ['n', ' 1'], ['n', '+1'], ['n', '01']):
        p.c('HINCRBY', 'h', *args)
    p.c('HSET', 'h', 'lead0', '010', 'sp', ' 1', 'neg0', '-0')
    for f in ('lead0', 'sp', 'neg0'):
        p.c('HINCRBY', 'h', f, '1')
    # HINCRBYFLOAT: errors and Redis's human-friendly formatting
    for args in (['f', '0.1'], ['f', '0.2'], ['n', '1e20'], ['x1', '1.5e-10'], ['x2', '-0'],
                 ['x3', '3.0'], ['x3', '7.50'], ['x4', '5.0e3'], ['x5', '1e-300'],
                 ['x6', '1e308'], ['x6', '1e308'], ['x7', '-1e308'], ['x8', '0x10'],
                 ['x9', '  1'], ['x9', '1 '], ['x9', '1.0e'], ['x9', 'abc'], ['x9', ''],
                 ['x9', 'inf'], ['x9', '-inf'], ['x9', '+inf'], ['x9', 'nan'], ['x9', 'infinity'],
                 ['t', '1'], ['big', '1'], ['small', '-1.5'], ['n', '-1e4000'],
                 ['x10', '1.7976931348623157e308'], ['x11', '123456789012345678901234567890']):
        p.c('HINCRBYFLOAT', 'h', *args)
    p.c('HSET', 'h', 'hinf', 'inf', 'hnan', 'nan', 'hsp', ' 2', 'hhex', '0x1p3')
    for f in ('hinf', 'hnan', 'hsp', 'hhex'):
        p.c('HINCRBYFLOAT', 'h', f, '1')
    p.c('HGETALL', 'h', cmp=pairs_multiset)
    # HRANDFIELD argument errors (count read first, then options, then range)
    for args in (['x'], ['1.5'], [''], [I64MIN], [I64MIN, 'WITHVALUES'], ['-' + I64MAX],
                 ['9223372036854775808'], ['1', 'withvalue'], ['1', 'withvalues', 'x'],
                 ['x', 'WITHVALUES'], ['-' + HALF, 'WITHVALUES'], ['-4611686018427387904', 'WITHVALUES'],
                 ['4611686018427387904', 'WITHVALUES'], [I64MAX, 'WITHVALUES'], ['0'],
                 ['0', 'WITHVALUES'], [I64MAX], ['1', 'WiThVaLuEs']):
        p.c('HRANDFIELD', 'nokey', *args)
    p.c('HRANDFIELD', 'nokey')
    p.c('HSET', 'lp', 'n', '5', 't', 'text', 'x1', '1', 'x2', '2', 'y', '3')
    p.c('HRANDFIELD', 'lp', '0')
    p.c('HRANDFIELD', 'lp', I64MAX, cmp=exact)      # count >= size: the whole listpack
    p.c('HRANDFIELD', 'lp', '100', 'WITHVALUES')
    p.c('HRANDFIELD', 'lp', '5', 'WITHVALUES')
    # HSCAN argument errors
    for cur in ('abc', ' 1', '1 ', '1x', '18446744073709551616', '-18446744073709551616'):
        p.c('HSCAN', 'lp', cur)
    for opts in (['COUNT', '0'], ['COUNT', '-1'], ['COUNT', 'x'], ['COUNT'], ['MATCH'],
                 ['FOO', 'bar'], ['TYPE', 'string'], ['NOVALUES'], ['COUNT', '1', 'MATCH'],
                 ['count', '1', 'match', 'x*'], ['MATCH', '*', 'COUNT', '100']):
        p.c('HSCAN', 'lp', '0', *opts)
        p.c('HSCAN', 'nokey', '0', *opts)
    p.c('HSCAN', 'lp', '')
    p.c('HSCAN', 'lp', '+0')
    p.c('HSCAN', 'lp', '12345', 'COUNT', '1')   # a listpack ignores the cursor
    p.c('HSCAN', 'lp', '-1')
    p.c('HSCAN', 'lp', '0', 'MATCH', 'x[0-9]*')
    p.c('HSCAN', 'lp', '0', 'MATCH', '*', 'COUNT', '1')


def sec_conversions(d, p, probe_encoding):
    d.section = 'conversions'
    p.c('FLUSHALL')

    def state(key, listpack):
        """The model says key is (not) a listpack: Redis's OBJECT ENCODING
        agrees (checks the model), kvsd's HSCAN ... COUNT 1 answers like
        one (cursor 0 with every field) or not (a hashtable of 2+ fields
        answers one field and a cursor), and the replies agree."""
        want = b'listpack' if listpack else b'hashtable'
        enc = parse(p.b.cmd('OBJECT', 'ENCODING', key))
        d.count += 1
        if enc != want:
            d.report(['OBJECT ENCODING', key, '(redis vs the model)'], want, enc)
        ra, rb = p.c('HSCAN', key, '0', 'COUNT', '1',
                     cmp=exact if listpack else (lambda a, b: True))
        d.count += 1
        if scan_probe_listpack(ra) != listpack:
            d.report(['HSCAN', key, '0', 'COUNT', '1', '(kvsd: expected %s)' % want.decode()],
                     ra, rb)
        if probe_encoding:
            p.c('OBJECT', 'ENCODING', key)
        p.c('HGETALL', key, cmp=exact if listpack else pairs_multiset)
        p.c('HLEN', key)

    # entry count: 511, 512 stay; 513 converts (in one HSET and one at a time)
    for n in (511, 512, 513):
        key = 'n%d' % n
        p.c('HSET', key, *big(n))
        state(key, n <= 512)
    p.c('HSET', 'grow', *big(512))
    state('grow', True)
    p.c('HSET', 'grow', 'f0', 'updated')      # an update does not add
    state('grow', True)
    p.c('HSETNX', 'grow', 'f1', 'x')
    state('grow', True)
    p.c('HINCRBY', 'grow', 'extra', '1')       # the 513th field converts
    state('grow', False)
    p.c('HDEL', 'grow', *['f%d' % i for i in range(500)])
    state('grow', False)                       # never back to listpack
    p.c('HSET', 'grow2', *big(512))
    p.c('HSETNX', 'grow2', 'new', 'x')
    state('grow2', False)
    p.c('HSET', 'grow3', *big(512))
    p.c('HINCRBYFLOAT', 'grow3', 'new', '1.5')
    state('grow3', False)
    # a repeated field does not count twice
    p.c('HSET', 'dup', *(['same', 'v'] * 600))
    state('dup', True)
    # string lengths: 64 stays, 65 converts (field or value, any command)
    for what in ('field', 'value'):
        for ln in (64, 65):
            key = '%s%d' % (what, ln)
            s = 'y' * ln
            args = [s, 'v'] if what == 'field' else ['k', s]
            p.c('HSET', key, 'a', '1', *args)
            state(key, ln <= 64)
    p.c('HSET', 'nx', 'a', '1')
    p.c('HSETNX', 'nx', 'a', 'z' * 65)          # the field exists: no write, no conversion
    state('nx', True)
    p.c('HSETNX', 'nx', 'b', 'z' * 65)
    state('nx', False)
    p.c('HSET', 'incf', 'a', '1')
    p.c('HINCRBY', 'incf', 'q' * 65, '1')        # a long field converts HINCRBY too
    state('incf', False)
    p.c('HSET', 'incv', 'a', '1', 'b', '2')
    p.c('HINCRBYFLOAT', 'incv', 'a', '1e80')     # a long result converts
    state('incv', False)
    p.c('HSET', 'hm', 'a', '1', 'd', '4')
    p.c('HMSET', 'hm', 'b', '2', 'c', 'w' * 65)
    state('hm', False)
    # a conversion keeps every field: HDEL down to one, then to none
    p.c('HDEL', 'hm', 'a', 'b')
    state('hm', False)
    p.c('HDEL', 'hm', 'c', 'd')
    p.c('EXISTS', 'hm')
    # config thresholds (the *-ziplist-* aliases too), once kvsd has them
    if parse(p.a.cmd('CONFIG', 'GET', 'hash-max-listpack-entries')) == []:
        harness.log('diff-hash: kvsd has no hash-max-listpack-* config yet; '
                    'threshold changes not tested')
        return
    p.c('CONFIG', 'SET', 'hash-max-listpack-entries', '4')
    p.c('HSET', 'cfg', *big(4))
    state('cfg', True)
    p.c('HSET', 'cfg', 'more', '1')
    state('cfg', False)
    p.c('CONFIG', 'SET', 'hash-max-ziplist-value', '3')
    p.c('HSET', 'cfg2', 'abc', '1')
    state('cfg2', True)
    p.c('HSET', 'cfg2', 'abcd', '1')
    state('cfg2', False)
    p.c('CONFIG', 'SET', 'hash-max-listpack-entries', '512')
    p.c('CONFIG', 'SET', 'hash-max-listpack-value', '64')


def sec_hashtable_reads(d, p):
    d.section = 'hashtable-reads'
    p.c('FLUSHALL')
    p.c('HSET', 'H', *big(700, vlen=5))
    p.c('HLEN', 'H')
    p.c('HGET', 'H', 'f399')
    p.c('HMGET', 'H', 'f0', 'nope', 'f699')
    p.c('HSTRLEN', 'H', 'f12')
    p.c('HEXISTS', 'H', 'f699')
    p.c('HKEYS', 'H', cmp=sorted_array)
    p.c('HVALS', 'H', cmp=sorted_array)
    p.c('HGETALL', 'H', cmp=pairs_multiset)
    p.c('HRANDFIELD', 'H', '700', cmp=sorted_array)
    p.c('HRANDFIELD', 'H', '1000', 'WITHVALUES', cmp=pairs_multiset)
    model = {('f%d' % i).encode(): ('v%d' % i).ljust(5, 'x').encode() for i in range(700)}
    for count in (1, 2, 10, 233, 234, 500, 699, -1, -5, -2000):
        p.c('HRANDFIELD', 'H', str(count), cmp=randfield_props(model, count, False))
        p.c('HRANDFIELD', 'H', str(count), 'WITHVALUES',
            cmp=randfield_props(model, count, True))
    ra, rb = p.c('HRANDFIELD', 'H', cmp=lambda a, b: a[:1] == b[:1] == b'$')
    for r in (ra, rb):
        if parse(r) not in model:
            d.report(['HRANDFIELD', 'H', '(a field of H)'], ra, rb)
    # small listpack hash: random picks by properties too
    p.c('HSET', 'L', 'a', '1', 'b', '2', 'c', '3', 'd', '4')
    lmodel = {b'a': b'1', b'b': b'2', b'c': b'3', b'd': b'4'}
    for count in (1, 2, 3, 4, 5, -1, -3, -50):
        p.c('HRANDFIELD', 'L', str(count), cmp=randfield_props(lmodel, count, False))
        p.c('HRANDFIELD', 'L', str(count), 'WITHVALUES',
            cmp=randfield_props(lmodel, count, True))
    # HSCAN of a hashtable: a full iteration returns every field once or more
    for sa_cl, name in ((p.a, 'kvsd'), (p.b, 'redis')):
        got = scan_all(sa_cl, 'H', ['COUNT', '7'])
        if got is None or set(got) != set(model.items()):
            d.report(['HSCAN full iteration', name], repr(got)[:200].encode(), b'')
        got = scan_all(sa_cl, 'H', ['MATCH', 'f1*', 'COUNT', '3'])
        want = {(k, v) for k, v in model.items() if k.startswith(b'f1')}
        if got is None or set(got) != want:
            d.report(['HSCAN MATCH full iteration', name], repr(got)[:200].encode(), b'')


def scan_all(cl, key, opts, limit=100000):
    cur, seen = b'0', []
    for _ in range(limit):
        r = parse(cl.cmd('HSCAN', key, cur, *opts))
        if not isinstance(r, list):
            return None
        cur = r[0]
        seen += list(zip(r[1][0::2], r[1][1::2]))
        if cur == b'0':
            return seen
    return None


def sec_scan_concurrent(d):
    """HSCAN over a large hash while another client adds and deletes other
    fields between the calls: every field present throughout is returned
    (both servers)."""
    d.section = 'hscan-concurrent'
    for srv, name in ((d.sa, 'kvsd'), (d.sb, 'redis')):
        cl, w = srv.client(), srv.client()
        cl.cmd('DEL', 'S')
        cl.cmd('HSET', 'S', *big(3000, prefix='keep:'))
        cl.cmd('HSET', 'S', *big(500, prefix='tmp:'))
        cur, seen, j, calls = b'0', set(), 0, 0
        while True:
            r = parse(cl.cmd('HSCAN', 'S', cur, 'COUNT', '20'))
            cur = r[0]
            seen.update(r[1][0::2])
            calls += 1
            w.cmd('HSET', 'S', *big(15, prefix='new%d:' % j))
            w.cmd('HDEL', 'S', *['tmp:%d' % (j * 5 + k) for k in range(5)])
            j += 1
            if cur == b'0' or calls > 100000:
                break
        missing = [i for i in range(3000) if ('keep:%d' % i).encode() not in seen]
        d.count += 1
        if missing or cur != b'0':
            d.report(['HSCAN under writes', name, '%d missing' % len(missing)],
                     repr(missing[:10]).encode(), b'')
        cl.close()
        w.close()


def sec_multi_ttl(d, p):
    d.section = 'multi-ttl'
    p.c('FLUSHALL')
    p.c('MULTI')
    p.c('HSET', 'M', *big(600))
    p.c('HINCRBY', 'M', 'f1', '5')
    p.c('HDEL', 'M', 'f2', 'f3')
    p.c('HSET', 'M', 'f2', 'back')
    p.c('HLEN', 'M')
    p.c('HGET', 'M', 'f2')
    p.c('EXEC')
    p.c('HGETALL', 'M', cmp=pairs_multiset)
    p.c('MULTI')
    p.c('HSET', 'M2', 'a', '1')
    p.c('HSET', 'M2', *big(520))
    p.c('HDEL', 'M2', *['f%d' % i for i in range(520)])
    p.c('HGETALL', 'M2')
    p.c('EXEC')
    # TTLs survive every kind of write, conversions included
    p.c('HSET', 'T', 'a', '1')
    p.c('EXPIRE', 'T', '1000')
    p.c('HSET', 'T', 'b', '2')
    p.c('TTL', 'T', cmp=int_close(1))
    p.c('HINCRBY', 'T', 'a', '1')
    p.c('HINCRBYFLOAT', 'T', 'a', '0.5')
    p.c('HSETNX', 'T', 'c', '3')
    p.c('HDEL', 'T', 'b')
    p.c('TTL', 'T', cmp=int_close(1))
    p.c('HSET', 'T', 'long', 'z' * 100)
    p.c('TTL', 'T', cmp=int_close(1))
    p.c('HSET', 'T', *big(600))
    p.c('HDEL', 'T', 'f0')
    p.c('TTL', 'T', cmp=int_close(1))
    p.c('HDEL', 'T', 'a', 'c', 'long', *['f%d' % i for i in range(600)])
    p.c('EXISTS', 'T')
    p.c('HSET', 'T', 'x', '1')
    p.c('TTL', 'T')                  # a new key: no TTL


def sec_watch_docs(d, p):
    """WATCH sees every write of a hash and nothing that writes nothing;
    COMMAND INFO / DOCS / GETKEYS of every hash command."""
    d.section = 'watch-docs'
    p.c('FLUSHALL')
    p2 = d.pair()
    p.c('HSET', 'W', 'a', '1')
    for other in (['HSET', 'W', 'a', '1'], ['HDEL', 'W', 'nope'], ['HSETNX', 'W', 'a', '2'],
                  ['HINCRBY', 'W', 'a', '0'], ['HDEL', 'W', 'a'], ['HSET', 'W', 'a', '1'],
                  ['HGETALL', 'W'], ['HINCRBY', 'W', 'a', 'x']):
        p.c('WATCH', 'W')
        p2.c(*other)
        p.c('MULTI')
        p.c('HGET', 'W', 'a')
        p.c('EXEC')
    p2.close()
    for c in ('HSET', 'HSETNX', 'HMSET', 'HGET', 'HMGET', 'HDEL', 'HLEN', 'HSTRLEN', 'HEXISTS',
              'HKEYS', 'HVALS', 'HGETALL', 'HINCRBY', 'HINCRBYFLOAT', 'HRANDFIELD', 'HSCAN'):
        p.c('COMMAND', 'INFO', c)
        p.c('COMMAND', 'DOCS', c)
    p.c('COMMAND', 'GETKEYS', 'HSET', 'k', 'f', 'v')
    p.c('COMMAND', 'GETKEYS', 'HSCAN', 'k', '0', 'MATCH', 'x')
    p.c('COMMAND', 'GETKEYSANDFLAGS', 'HINCRBY', 'k', 'f', '1')
    p.c('COMMAND', 'GETKEYSANDFLAGS', 'HMGET', 'k', 'f')


def sec_random(d, p, rng, count):
    """Random commands over hashes (small and large field spaces) and a
    string key; the model tracks each hash's fields in insertion order and
    its encoding by Redis 7.0's rules, and picks the comparator."""
    d.section = 'random'
    p.c('FLUSHALL')
    p.c('SET', 'str', 'x')
    model = {}          # key -> [dict field -> value, is_hashtable]
    keys = ['h0', 'h1', 'h2', 'str']
    spaces = {'h0': 12, 'h1': 40, 'h2': 700}

    def field(k):
        return 'f%d' % rng.randrange(spaces.get(k, 5))

    def value():
        r = rng.random()
        if r < 0.03:
            return 'L' * rng.choice((64, 65, 70))
        if r < 0.5:
            return str(rng.randrange(-1000, 1000))
        return 'v%d' % rng.randrange(100)

    def lp(k):
        return k not in model or not model[k][1]

    def setf(k, f, v):
        m = model.setdefault(k, [{}, False])
        if not m[1] and (len(f) > 64 or len(v) > 64):
            m[1] = True
        m[0][f.encode()] = v.encode()
        if not m[1] and len(m[0]) > 512:
            m[1] = True

    for _ in range(count):
        k = rng.choice(keys)
        op = rng.randrange(17)
        if k == 'str':
            # WRONGTYPE for every command
            op = rng.randrange(16)
        if op == 0:
            n = rng.choice((1, 2, 3, 40)) if k != 'h2' else rng.choice((1, 5, 200))
            args = []
            for _ in range(n):
                args += [field(k), value()]
            ra, rb = p.c('HSET', k, *args)
            if k != 'str':
                pairs = list(zip(args[0::2], args[1::2]))
                # hashTypeTryConversion looks at every argument first
                m = model.setdefault(k, [{}, False])
                if any(len(a) > 64 for a in args):
                    m[1] = True
                for f, v in pairs:
                    setf(k, f, v)
        elif op == 1:
            f, v = field(k), value()
            ra, rb = p.c('HSETNX', k, f, v)
            if k != 'str' and parse(rb) == 1:
                setf(k, f, v)
        elif op == 2:
            p.c('HGET', k, field(k))
        elif op == 3:
            p.c('HMGET', k, field(k), field(k), field(k))
        elif op == 4:
            fs = [field(k) for _ in range(rng.choice((1, 3, 30)))]
            ra, rb = p.c('HDEL', k, *fs)
            if k in model:
                for f in fs:
                    model[k][0].pop(f.encode(), None)
                if not model[k][0]:
                    del model[k]
        elif op == 5:
            p.c('HLEN', k)
        elif op == 6:
            p.c('HSTRLEN', k, field(k))
        elif op == 7:
            p.c('HEXISTS', k, field(k))
        elif op in (8, 9, 10):
            c = ('HKEYS', 'HVALS', 'HGETALL')[op - 8]
            cmp = exact if lp(k) else (pairs_multiset if c == 'HGETALL' else sorted_array)
            p.c(c, k, cmp=cmp)
        elif op == 11:
            f = field(k)
            ra, rb = p.c('HINCRBY', k, f, str(rng.choice((1, -7, 1000, 2 ** 62))))
            v = parse(rb)
            if k != 'str' and isinstance(v, int):
                setf(k, f, str(v))
        elif op == 12:
            f = field(k)
            ra, rb = p.c('HINCRBYFLOAT', k, f, rng.choice(('0.5', '-1.25', '1e3', '3')))
            v = parse(rb)
            if k != 'str' and isinstance(v, bytes):
                setf(k, f, v.decode())
        elif op == 13:
            cnt = rng.choice((1, 3, 20, -4, -30, 1000))
            wv = rng.random() < 0.5
            hm = model.get(k, [{}, False])[0]
            args = [str(cnt)] + (['WITHVALUES'] if wv else [])
            cmp = randfield_props(hm, cnt, wv) if k != 'str' else exact
            if k != 'str' and cnt >= len(hm) and cnt > 1:
                cmp = exact if lp(k) else (pairs_multiset if wv else sorted_array)
            p.c('HRANDFIELD', k, *args, cmp=cmp)
        elif op == 14:
            if lp(k):
                p.c('HSCAN', k, '0', *rng.choice(([], ['MATCH', 'f1*'], ['COUNT', '2'])))
        elif op == 15:
            p.c('HRANDFIELD', k, cmp=lambda a, b: a[:1] == b[:1])
        else:
            p.c('EXISTS', k)


def sec_bad_input(d):
    """A 1M-argument HSET (500k pairs) and HINCRBY overflows on kvsd: handled,
    and another client is served meanwhile."""
    d.section = 'bad-input'
    cl, other = d.sa.client(timeout=120), d.sa.client(timeout=60)
    n = 500000
    parts = [b'*%d\r\n$4\r\nHSET\r\n$3\r\nbig\r\n' % (2 + 2 * n)]
    for i in range(n):
        f = b'field:%d' % i
        parts.append(b'$%d\r\n%s\r\n$1\r\nv\r\n' % (len(f), f))
    data = b''.join(parts)
    box = {}

    def run():
        try:
            cl.send(data)
            box['r'] = cl.read_reply()
        except (OSError, harness.ProtocolError) as e:
            box['r'] = repr(e).encode()
    t = threading.Thread(target=run)
    t.start()
    pong = other.cmd('PING')
    t.join(120)
    d.count += 2
    if pong != b'+PONG\r\n':
        d.report(['PING beside a 1M-argument HSET'], pong, b'+PONG\r\n')
    if box.get('r') != b':%d\r\n' % n:
        d.report(['HSET big (500k pairs)'], box.get('r'), b':%d\r\n' % n)
    for cmd, want in ((('HLEN', 'big'), b':%d\r\n' % n),
                      (('HGET', 'big', 'field:499999'), b'$1\r\nv\r\n'),
                      (('HINCRBY', 'big', 'field:7', '1'),
                       b'-ERR hash value is not an integer\r\n'),
                      (('HSET', 'big', 'ctr', I64MAX), b':1\r\n'),
                      (('HINCRBY', 'big', 'ctr', '1'),
                       b'-ERR increment or decrement would overflow\r\n'),
                      (('DEL', 'big'), b':1\r\n'),
                      (('PING',), b'+PONG\r\n')):
        r = other.cmd(*cmd)
        d.count += 1
        if r != want:
            d.report(list(cmd), r, want)
    cl.close()
    other.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '1313')))
    ap.add_argument('--count', type=int, default=3000)
    args = ap.parse_args()
    servers = test_diff.start_pair('diff-hash')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    harness.log('diff-hash: seed %d' % args.seed)
    try:
        p = d.pair()
        # OBJECT ENCODING is compared once kvsd reports a hash's encoding
        p.a.cmd('HSET', 'probe', 'a', '1')
        probe = p.a.cmd('OBJECT', 'ENCODING', 'probe') == b'$8\r\nlistpack\r\n'
        if not probe:
            harness.log('diff-hash: kvsd does not report hash encodings yet; '
                        'encodings probed with HSCAN only')
        for resp in (2, 3):
            if resp == 3:
                p.close()
                p = d.pair()
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
                RESP[0] = 3
            sec_basic(d, p)
            sec_errors(d, p)
            sec_conversions(d, p, probe)
            sec_hashtable_reads(d, p)
            sec_multi_ttl(d, p)
            sec_watch_docs(d, p)
            sec_random(d, p, random.Random(args.seed + resp),
                       args.count if resp == 2 else args.count // 3)
        p.close()
        sec_scan_concurrent(d)
        sec_bad_input(d)
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-hash: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-hash', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
