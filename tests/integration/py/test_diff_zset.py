#!/usr/bin/env python3
"""Differential test of the single-key sorted-set commands: kvsd against
redis-server 7.0, reply bytes compared exactly (test_diff.py's Differ).

ZADD (NX XX GT LT CH INCR and their errors) ZINCRBY ZREM ZCARD ZCOUNT
ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT
WITHSCORES) ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
ZREVRANGEBYLEX ZREMRANGEBY* ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZSCAN:
 - fixed cases: every option and error combination, scores 0, -0, 1e308,
   inf, 1.5e-7, 3.0000000000000004, integers > 2^53, NaN, unparsable ones;
 - the listpack/skiplist conversions at 128/129 entries and 64/65-byte
   members, by ZADD and by ZRANGESTORE both ways, seen through what differs
   between the encodings in Redis's replies (a listpack stores -0 as 0;
   ZSCAN COUNT 1 answers a listpack whole with cursor 0) and, once kvsd
   answers OBJECT ENCODING for sorted sets, through OBJECT ENCODING;
 - random command streams over sorted sets and strings, valid and invalid,
   in RESP2 and RESP3 (every reply exact but the random picks, which are
   checked by their properties, and a skiplist's ZSCAN order);
 - pops that leave stale by-member records (kvsd's deferred deletes): every
   way a popped member can be asked for, and a pop / re-add stream;
 - bad input: huge counts, a 1M-argument ZADD.

Usage: test_diff_zset.py [--seed N] [--count N]
Exit status 0 when no reply differs and kvsd survived.
"""

import argparse
import os
import random
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, parse  # noqa: E402
import test_diff  # noqa: E402
from test_diff import Differ, Mismatch  # noqa: E402

BATCH = 200
I64MAX = '9223372036854775807'
I64MIN = '-9223372036854775808'

SCORES = ['0', '-0', '1', '-1', '1.5', '2', '1e308', '-1e308', 'inf', '-inf', '+inf',
          '1.5e-7', '3.0000000000000004', '9007199254740993', '18014398509481984',
          '0.1', '1e-320', '5', '-5', '100', '4503599627370497', '1e17', '123456789012345678']
BAD_SCORES = ['nan', 'abc', '', ' 1', '1 ', '1e400', '1e-400', '-nan', '1x', b'1\x002']
RANGE_ITEMS = ['-inf', '+inf', 'inf', '(1', '(-inf', '0', '1', '2', '(2', '1.5', '-0',
               '(0', '5', '100', '', ' 1', 'abc', '(', 'nan', '1e400', '(1e400', b'1\x00x']
LEX_ITEMS = ['-', '+', '[a', '(a', '[b', '(c', '[j', '(zz', '[', '(', 'a', '', '+x', b'-\x00y',
             '[aa', '(ab']
MEMBERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', '', 'aa', 'ab', b'b\x00c', '1',
           '10', '-1', 'x' * 64, 'y' * 65]
KEYS = ['z0', 'z1', 'z2', 'big', 'lx', 'lx2', 's', 'nokey']
LEXKEYS = ['lx', 'lx2']


def pipeline(p, cmds, cmp=test_diff.exact):
    for i in range(0, len(cmds), BATCH):
        chunk = cmds[i:i + BATCH]
        p.raw(b''.join(encode(*c) for c in chunk), len(chunk), cmp=cmp)


# ---------------------------------------------------------------- comparators

def _pairs(v):
    """Flat [m, s, m, s] or RESP3 [[m, s], ...] -> list of (m, s)."""
    if v and isinstance(v[0], list):
        return [tuple(x) for x in v]
    return list(zip(v[0::2], v[1::2]))


def zscan_cmp(a, b):
    """One ZSCAN step. A listpack answers whole (cursor 0) in order, so the
    bytes are equal; a skiplist's cursor and order are its own (Redis's dict
    buckets, kvsd's member hash order), and may finish in one step or not
    on either side: then both finished with the same pairs as a multiset,
    or the step is not comparable (full_scan compares whole scans)."""
    if a == b:
        return True
    va, vb = parse(a), parse(b)
    if not (isinstance(va, list) and isinstance(vb, list) and len(va) == 2):
        return False
    if va[0] == b'0' and vb[0] == b'0':
        return sorted(_pairs(va[1])) == sorted(_pairs(vb[1]))
    return isinstance(va[1], list) and len(va[1]) % 2 == 0


def full_scan(d, p, key, count='3'):
    """ZSCAN key to the end on each server: the same pairs as a multiset
    (an element present throughout is returned at least once: duplicates
    are dropped, as a SCAN user does)."""
    out = []
    for cl in (p.a, p.b):
        cursor, seen, steps = b'0', set(), 0
        while True:
            r = parse(cl.cmd('ZSCAN', key, cursor, 'COUNT', count))
            if not isinstance(r, list):
                seen = r
                break
            cursor = r[0]
            seen |= set(_pairs(r[1]))
            steps += 1
            if cursor == b'0' or steps > 100000:
                break
        out.append(seen)
    d.count += 1
    if out[0] != out[1]:
        d.report(['ZSCAN', key, '... (whole scan)'], repr(out[0])[:300].encode(),
                 repr(out[1])[:300].encode())


def randmember_cmp(args):
    """ZRANDMEMBER: the same shape; a positive count gives distinct members."""
    withscores = len(args) == 4
    try:
        count = int(args[2]) if len(args) >= 3 else None
    except ValueError:
        count = None

    def f(a, b):
        if a[:1] != b[:1]:
            return False
        if a[:1] == b'-' or a in (b'$-1\r\n', b'_\r\n') or b in (b'$-1\r\n', b'_\r\n'):
            return a == b
        if a[:1] == b'$':
            return True
        va, vb = parse(a), parse(b)
        if len(va) != len(vb):
            return False
        if count is not None and count > 0:
            if withscores:
                ms = [x[0] for x in va] if va and isinstance(va[0], list) else va[0::2]
            else:
                ms = va
            return len(set(ms)) == len(ms)
        return True
    return f


# ---------------------------------------------------------------- fixed cases

def sec_fixed(d, p):
    d.section = 'fixed'
    cmds = [
        ['DEL', 'z'],
        ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'],
        ['ZADD', 'z', '1.5', 'x', '-0', 'y', '3.0000000000000004', 'w', '1e308', 'big',
         'inf', 'pinf', '-inf', 'ninf', '1.5e-7', 'tiny', '9007199254740993', 'i53'],
        ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
        ['ZSCORE', 'z', 'y'], ['ZSCORE', 'z', 'tiny'], ['ZSCORE', 'z', 'i53'],
        ['ZADD', 'z', 'nan', 'q'], ['ZADD', 'z', 'XX', 'NX', '1', 'a'],
        ['ZADD', 'z', 'GT', 'LT', '1', 'a'], ['ZADD', 'z', 'NX', 'GT', '1', 'a'],
        ['ZADD', 'z', 'NX', 'LT', '1', 'a'], ['ZADD', 'z', 'XX', 'GT', 'ch', '9', 'a'],
        ['ZADD', 'z', 'INCR', '1', 'a', '2', 'b'], ['ZADD', 'z', 'INCR', 'inf', 'pinf'],
        ['ZADD', 'z', 'INCR', '-inf', 'pinf'], ['ZINCRBY', 'z', '-inf', 'pinf'],
        ['ZINCRBY', 'z', 'abc', 'a'], ['ZINCRBY', 'z', 'nan', 'a'], ['ZADD', 'z'],
        ['ZINCRBY', 'z', 'nx', 'a'], ['ZINCRBY', 'z', 'INCR', 'a'], ['ZINCRBY', 'z', 'Gt', 'a'],
        ['ZINCRBY', 'z', 'ch\x00x', 'a'], ['ZINCRBY', 'z', '1', 'nx'], ['ZINCRBY', 's', 'xx', 'a'],
        ['ZADD', 'z', '1'], ['ZADD', 'z', 'nx'], ['ZADD', 'z', '1', 'a', '2'],
        ['ZADD', 'z', 'ch', '5', 'a', '6', 'new'], ['ZADD', 'z', 'incr', 'nx', '5', 'a'],
        ['ZADD', 'z', 'incr', 'xx', '5', 'nosuch'], ['ZADD', 'z', 'gt', 'ch', '0', 'a', '10', 'b'],
        ['ZADD', 'z', 'lt', 'incr', '-1', 'a'], ['ZADD', 'z', 'gt', 'incr', '-1', 'a'],
        ['ZADD', 'z', 'xx', '1', 'newx'], ['ZADD', 'nokey', 'xx', '1', 'a'], ['EXISTS', 'nokey'],
        ['ZADD', 'z', 'abc', 'a', 'nan', 'b'], ['ZADD', 'z', '1', 'dup', '2', 'dup'],
        ['ZADD', 'z', 'CH', '1', 'dup', '1', 'dup'],
        ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
        ['ZRANK', 'z', 'a'], ['ZREVRANK', 'z', 'a'], ['ZRANK', 'z', 'nosuch'],
        ['ZRANK', 'nokey', 'a'], ['ZRANK', 'z', 'a', 'withscore'],
        ['ZCOUNT', 'z', '-inf', '+inf'], ['ZCOUNT', 'z', '(1', '3'], ['ZCOUNT', 'z', 'abc', '3'],
        ['ZCOUNT', 'z', '', '3'], ['ZCOUNT', 'z', ' 1', '3'], ['ZCOUNT', 'z', '3', '1'],
        ['ZCOUNT', 'z', '(1', '(1'], ['ZCOUNT', 'nokey', '1', 'x'], ['ZCOUNT', 'nokey', '1', '2'],
        ['ZLEXCOUNT', 'z', '-', '+'], ['ZLEXCOUNT', 'z', '[a', '(c'], ['ZLEXCOUNT', 'z', 'a', 'c'],
        ['ZLEXCOUNT', 'z', '+', '-'], ['ZLEXCOUNT', 'z', '-', '-'],
        ['ZRANGE', 'z', '0', '-1', 'BYSCORE'],
        ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '1', '2', 'WITHSCORES'],
        ['ZRANGE', 'z', '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', '1', '2', 'WITHSCORES'],
        ['ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '1'], ['ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '-1'],
        ['ZRANGE', 'z', '-', '+', 'BYLEX', 'WITHSCORES'], ['ZRANGE', 'z', '-', '+', 'BYLEX', 'LIMIT', '2', '3'],
        ['ZRANGE', 'z', '0', '-1', 'REV'], ['ZRANGE', 'z', '0', '-1', 'REV', 'REV'],
        ['ZRANGE', 'z', '0', '-1', 'BYSCORE', 'BYLEX'], ['ZRANGE', 'z', '0', '-1', 'LIMIT', '1'],
        ['ZRANGE', 'z', '(1', '5', 'BYSCORE', 'LIMIT', '-1', '5'],
        ['ZRANGE', 'z', '1', '5', 'BYSCORE', 'LIMIT', '0', '-1'],
        ['ZRANGE', 'z', '1', '5', 'BYSCORE', 'LIMIT', '0', '0'],
        ['ZRANGE', 'z', '1', '5', 'BYSCORE', 'LIMIT', 'x', '0'],
        ['ZRANGE', 'z', 'a', 'b'], ['ZRANGE', 'z', '0', I64MAX], ['ZRANGE', 'z', I64MIN, '-1'],
        ['ZRANGE', 'z', '-1', '-2'], ['ZRANGE', 'z', '100', '200'],
        ['ZRANGE', 'z', '1', '5', 'BYSCORE', 'LIMIT', '0', I64MAX],
        ['ZRANGE', 'z', '1', '5', 'BYSCORE', 'LIMIT', I64MAX, '1'],
        ['ZREVRANGE', 'z', '0', '2', 'WITHSCORES'], ['ZREVRANGE', 'z', '0', '2', 'REV'],
        ['ZRANGEBYSCORE', 'z', '-inf', 'inf', 'WITHSCORES', 'LIMIT', '2', '100'],
        ['ZRANGEBYSCORE', 'z', '1', '2', 'BYSCORE'], ['ZREVRANGEBYSCORE', 'z', 'inf', '-inf'],
        ['ZREVRANGEBYSCORE', 'z', '-inf', 'inf'], ['ZRANGEBYLEX', 'z', '-', '+'],
        ['ZREVRANGEBYLEX', 'z', '+', '-'], ['ZREVRANGEBYLEX', 'z', '+', '-', 'LIMIT', '1', '1'],
        ['ZRANGEBYLEX', 'z', '-', '+', 'WITHSCORES'], ['ZRANGEBYLEX', 'z', 'a', '+'],
        ['ZMSCORE', 'z', 'a', 'b', 'nosuch'], ['ZMSCORE', 'nokey', 'a'], ['ZMSCORE', 'z'],
        ['ZCARD', 'z'], ['ZCARD', 'nokey'],
        ['SET', 's', 'foo'], ['ZADD', 's', '1', 'a'], ['ZADD', 's', 'abc', 'a'],
        ['ZRANGE', 's', '0', '-1'], ['ZRANGE', 's', 'a', 'b'], ['ZSCORE', 's', 'a'],
        ['ZCARD', 's'], ['ZRANK', 's', 'a'], ['ZCOUNT', 's', '0', '1'], ['ZCOUNT', 's', 'x', '1'],
        ['ZINCRBY', 's', '1', 'a'], ['ZREM', 's', 'a'], ['ZMSCORE', 's', 'a'],
        ['ZREMRANGEBYRANK', 's', '0', '1'], ['ZRANDMEMBER', 's'], ['ZRANDMEMBER', 's', '1'],
        ['ZSCAN', 's', '0'], ['ZPOPMIN', 's'], ['ZPOPMIN', 's', '0'], ['ZLEXCOUNT', 's', '-', '+'],
        ['ZPOPMIN', 'z'], ['ZPOPMAX', 'z', '2'], ['ZPOPMIN', 'z', '0'], ['ZPOPMIN', 'z', '-1'],
        ['ZPOPMIN', 'z', 'abc'], ['ZPOPMIN', 'z', '1', '2'], ['ZPOPMIN', 'nokey'],
        ['ZPOPMIN', 'nokey', '3'], ['ZPOPMAX', 'nokey', '0'],
        ['ZMPOP', '1', 'z', 'MIN'], ['ZMPOP', '2', 'nokey', 'z', 'MAX', 'COUNT', '2'],
        ['ZMPOP', '0', 'z', 'MIN'], ['ZMPOP', 'abc', 'z', 'MIN'], ['ZMPOP', '-1', 'z', 'MIN'],
        ['ZMPOP', '1', 'z', 'foo'], ['ZMPOP', '5', 'z', 'MIN'], ['ZMPOP', '1', 'z', 'MIN', 'COUNT', '0'],
        ['ZMPOP', '1', 'z', 'MIN', 'COUNT'], ['ZMPOP', '1', 'z', 'MIN', 'COUNT', '1', 'COUNT', '1'],
        ['ZMPOP', '1', 'z', 'MIN', 'COUNT', 'x'], ['ZMPOP', '1', 'z', 'MIN', 'foo'],
        ['ZMPOP', '2', 's', 'z', 'MIN'], ['ZMPOP', '2', 'z', 's', 'MIN'],
        ['ZMPOP', '2', 'nokey', 'nokey2', 'MIN'], ['ZMPOP', I64MAX, 'z', 'MIN'],
        ['ZMPOP', '1', 'z', 'max', 'count', I64MAX],
        ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
        ['ZRANDMEMBER', 'nokey'], ['ZRANDMEMBER', 'nokey', '5'], ['ZRANDMEMBER', 'z', '0'],
        ['ZRANDMEMBER', 'z', '1', 'foo'], ['ZRANDMEMBER', 'z', I64MIN], ['ZRANDMEMBER', 'z', 'abc'],
        ['ZRANDMEMBER', 'z', I64MAX, 'WITHSCORES'], ['ZRANDMEMBER', 'z', '100', 'WITHSCORES'],
        ['ZRANDMEMBER', 'z', '100'], ['ZRANDMEMBER', 'z', '-4611686018427387904', 'WITHSCORES'],
        ['ZRANDMEMBER', 'z', '4611686018427387904', 'WITHSCORES'],
        ['ZRANDMEMBER', 'z', '1', 'withscores', 'x'], ['ZRANDMEMBER', 'z', '0', 'WITHSCORES'],
        ['ZREM', 'z', 'a', 'b', 'nosuch'], ['ZREM', 'nokey', 'a'],
        ['ZADD', 'r', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'f'],
        ['ZREMRANGEBYLEX', 'r', '[b', '(d'], ['ZREMRANGEBYRANK', 'r', '0', '0'],
        ['ZREMRANGEBYSCORE', 'r', '(0', '1'], ['ZREMRANGEBYSCORE', 'r', 'abc', '1'],
        ['ZREMRANGEBYLEX', 'r', 'a', 'b'], ['ZREMRANGEBYRANK', 'r', 'a', '1'],
        ['ZREMRANGEBYRANK', 'r', '5', '1'], ['ZREMRANGEBYRANK', 'nokey', '0', '1'],
        ['ZRANGE', 'r', '0', '-1'], ['ZREMRANGEBYRANK', 'r', '0', '-1'], ['EXISTS', 'r'],
        ['ZADD', 'src', '1', 'a', '2', 'b', '3', 'c'], ['ZRANGESTORE', 'dst', 'src', '0', '-1'],
        ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'], ['ZRANGESTORE', 'dst', 'src', '0', '1', 'WITHSCORES'],
        ['ZRANGESTORE', 'dst', 'src', '(1', '+inf', 'BYSCORE', 'LIMIT', '0', '1'],
        ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
        ['ZRANGESTORE', 'dst', 'src', '+', '-', 'BYLEX', 'REV'], ['ZRANGE', 'dst', '0', '-1'],
        ['ZRANGESTORE', 'dst', 'src', '5', '10'], ['EXISTS', 'dst'],
        ['ZRANGESTORE', 'dst', 'nokey', '0', '-1'], ['ZRANGESTORE', 'dst', 's', '0', '-1'],
        ['SET', 'dst2', 'x'], ['EXPIRE', 'dst2', '1000'],
        ['ZRANGESTORE', 'dst2', 'src', '0', '0'], ['TTL', 'dst2'], ['ZRANGE', 'dst2', '0', '-1'],
        ['ZADD', 'src', 'XX', '5', 'a'], ['EXPIRE', 'src', '1000'], ['ZADD', 'src', '9', 'q'],
        ['TTL', 'src'], ['ZPOPMIN', 'src'], ['TTL', 'src'],
        ['ZSCAN', 'src', '0'], ['ZSCAN', 'src', '0', 'MATCH', 'a*'], ['ZSCAN', 'src', '0', 'COUNT', '0'],
        ['ZSCAN', 'src', 'abc'], ['ZSCAN', 'nokey', '0'], ['ZSCAN', 'src', '0', 'TYPE', 'zset'],
        ['ZSCAN', 'src', '0', 'COUNT'], ['ZSCAN', 'src', '0', 'NOVALUES'],
        ['ZSCAN', 'src', '-1'], ['ZSCAN', 'src', '18446744073709551616'],
    ]
    pipeline(p, cmds)


def sec_scores(d, p):
    d.section = 'scores'
    cmds = [['DEL', 'sc', 'scb']]
    for i, s in enumerate(SCORES + BAD_SCORES):
        cmds.append(['ZADD', 'sc', s, 'm%d' % i])
        cmds.append(['ZSCORE', 'sc', 'm%d' % i])
        cmds.append(['ZINCRBY', 'sc', s, 'inc'])
        cmds.append(['ZADD', 'scb', s, 'x' * 70 + str(i)])    # a skiplist from the start
        cmds.append(['ZSCORE', 'scb', 'x' * 70 + str(i)])
    cmds += [['ZRANGE', 'sc', '0', '-1', 'WITHSCORES'], ['ZRANGE', 'scb', '0', '-1', 'WITHSCORES'],
             ['ZSCAN', 'sc', '0'], ['ZADD', 'sc', '0', 'zero'], ['ZADD', 'sc', '-0', 'zero'],
             ['ZSCORE', 'sc', 'zero'], ['ZADD', 'sc', 'CH', '-0', 'zero'], ['ZSCORE', 'sc', 'zero'],
             ['ZADD', 'scb', '-0', 'zero'], ['ZSCORE', 'scb', 'zero'],
             ['ZADD', 'scb', 'CH', '0', 'zero'], ['ZSCORE', 'scb', 'zero'],
             ['ZINCRBY', 'scb', '-0', 'zero'], ['ZSCORE', 'scb', 'zero'],
             ['ZADD', 'scb', '-inf', 'ni'], ['ZINCRBY', 'scb', '+inf', 'ni'],
             ['ZINCRBY', 'scb', '1e308', 'm1'], ['ZINCRBY', 'scb', '1e308', 'm1'],
             ['ZINCRBY', 'scb', '1e308', 'm1'], ['ZSCORE', 'scb', 'm1']]
    for lo in RANGE_ITEMS:
        for hi in ('+inf', '(1.5', '1e308', 'inf', '-0', lo):
            cmds.append(['ZCOUNT', 'sc', lo, hi])
            cmds.append(['ZRANGEBYSCORE', 'sc', lo, hi, 'WITHSCORES'])
            cmds.append(['ZREVRANGEBYSCORE', 'scb', hi, lo, 'WITHSCORES', 'LIMIT', '1', '3'])
    pipeline(p, cmds)


# ---------------------------------------------------------------- encodings

def probe_encoding(p):
    """Whether kvsd answers OBJECT ENCODING for a sorted set."""
    p.a.cmd('ZADD', 'probe', '1', 'a')
    r = p.a.cmd('OBJECT', 'ENCODING', 'probe')
    p.a.cmd('DEL', 'probe')
    return r == b'$8\r\nlistpack\r\n'


def sec_conversion(d, p):
    d.section = 'conversion'
    enc = probe_encoding(p)
    if not enc:
        harness.log('diff-zset: kvsd has no OBJECT ENCODING for sorted sets yet: '
                    'encodings checked through -0 and ZSCAN only')

    def look(k):
        out = [['ZSCORE', k, 'm0'], ['ZSCAN', k, '0', 'COUNT', '1'], ['ZCARD', k],
               ['ZRANGE', k, '0', '-1', 'WITHSCORES']]
        if enc:
            out.append(['OBJECT', 'ENCODING', k])
        looked.append(k)
        return out

    looked = []

    cmds = [['FLUSHALL']]
    # by entries: 128 stays a listpack, the 129th converts; member m0 has -0
    for n in (127, 128, 129, 130):
        k = 'e%d' % n
        cmds.append(['ZADD', k, '-0', 'm0'] + sum([[str(i), 'm%d' % i] for i in range(1, n)], []))
        cmds += look(k)
    cmds.append(['ZADD', 'e128', '-0', 'extra'])        # the 129th one
    cmds.append(['ZSCORE', 'e128', 'extra'])
    cmds += look('e128')
    cmds.append(['ZADD', 'e128', '-0', 'extra2'])
    cmds.append(['ZSCORE', 'e128', 'extra2'])
    # by member length: 64 fits, 65 converts
    for ln in (63, 64, 65):
        k = 'v%d' % ln
        cmds.append(['ZADD', k, '-0', 'm0', '1', 'q' * ln])
        cmds += look(k)
        cmds.append(['ZADD', k, '-0', 'late'])
        cmds.append(['ZSCORE', k, 'late'])
    cmds.append(['ZADD', 'first65', '-0', 'q' * 65, '-0', 'm0'])
    cmds += look('first65')
    # removals never convert back; ZRANGESTORE results small enough do
    cmds += [['ZREMRANGEBYRANK', 'e130', '0', '-3'], ['ZADD', 'e130', '-0', 'm0']]
    cmds += look('e130')
    for n in (127, 128, 129):
        cmds.append(['ZRANGESTORE', 'st%d' % n, 'e130', '0', str(n - 1)])
        cmds += look('st%d' % n)
    cmds.append(['ZADD', 'sk', '-0', 'm0'] + sum([['-0', 'n%d' % i] for i in range(200)], []))
    for n in (1, 127, 128, 129, 150):
        cmds.append(['ZRANGESTORE', 'ss%d' % n, 'sk', '0', str(n - 1)])
        cmds += look('ss%d' % n)
        cmds.append(['ZRANGESTORE', 'sr%d' % n, 'sk', '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT',
                     '0', str(n)])
        cmds += look('sr%d' % n)
    cmds.append(['ZADD', 'lv', '-0', 'm0', '-0', 'q' * 65])
    cmds.append(['ZRANGESTORE', 'lvs', 'lv', '0', '0'])
    cmds += look('lvs')
    cmds.append(['ZRANGESTORE', 'lvs', 'lv', '0', '-1'])
    cmds += look('lvs')
    pipeline(p, cmds, cmp=conv_cmp)
    for k in sorted(set(looked)):
        full_scan(d, p, k)


def conv_cmp(a, b):
    """Exact, but for the ZSCAN steps (zscan_cmp): the encodings are seen
    through -0 (and OBJECT ENCODING), whole scans through full_scan."""
    if a.startswith(b'*2\r\n$') and b.startswith(b'*2\r\n$'):
        return zscan_cmp(a, b)
    return a == b


# ---------------------------------------------------------------- random streams

class Gen:
    def __init__(self, rnd):
        self.r = rnd

    def key(self):
        return self.r.choice(KEYS)

    def member(self):
        return self.r.choice(MEMBERS)

    def score(self):
        r = self.r.random()
        if r < 0.05:
            return self.r.choice(BAD_SCORES)
        if r < 0.5:
            return self.r.choice(SCORES)
        return str(self.r.randint(-20, 20))

    def ritem(self):
        return self.r.choice(RANGE_ITEMS) if self.r.random() < 0.6 else str(self.r.randint(-20, 20))

    def litem(self):
        return self.r.choice(LEX_ITEMS)

    def idx(self):
        return str(self.r.choice([0, 1, 2, -1, -2, 5, 50, -100, 200]))

    def opts(self, store=False):
        out = []
        for _ in range(self.r.choice([0, 0, 1, 2, 3])):
            c = self.r.random()
            if c < 0.3 and not store:
                out.append('WITHSCORES')
            elif c < 0.6:
                out += ['LIMIT', self.r.choice(['0', '1', '2', '-1', 'x']),
                        self.r.choice(['-1', '0', '1', '3', '100'])]
            elif c < 0.75:
                out.append('REV')
            elif c < 0.9:
                out.append(self.r.choice(['BYSCORE', 'BYLEX']))
            else:
                out.append('bogus')
        return out

    def cmd(self):
        """A random command. Lex ranges go to lx (every score 0) and lx2
        (any scores, but always a listpack: short members, few of them),
        never to a skiplist with mixed scores, where what Redis answers
        depends on its skiplist's random levels."""
        r = self.r
        k = self.key()
        c = r.randrange(30)
        if c in (10, 15, 19):
            k = r.choice(LEXKEYS)
        if k == 'lx' and c == 6:
            k = 'z0'
        if k in LEXKEYS and c == 16:
            k = 'z1'
        lexkey = k == 'lx'
        if c < 6:
            opts = [o for o in ('NX', 'XX', 'GT', 'LT', 'CH', 'INCR') if r.random() < 0.12]
            pairs = []
            for _ in range(r.choice([1, 1, 2, 3, 8])):
                m = self.member()
                if k == 'lx2' and len(m) > 64:
                    m = 'y'
                pairs += ['0' if lexkey else self.score(), m]
            return ['ZADD', k] + opts + pairs
        if c == 6:
            m = self.member()
            return ['ZINCRBY', k, self.score(), 'y' if k == 'lx2' and len(m) > 64 else m]
        if c == 7:
            return ['ZREM', k] + [self.member() for _ in range(r.choice([1, 2, 3]))]
        if c == 8:
            return r.choice([['ZCARD', k], ['ZSCORE', k, self.member()],
                             ['ZMSCORE', k, self.member(), self.member()],
                             ['ZRANK', k, self.member()], ['ZREVRANK', k, self.member()]])
        if c == 9:
            return ['ZCOUNT', k, self.ritem(), self.ritem()]
        if c == 10:
            return ['ZLEXCOUNT', k, self.litem(), self.litem()]
        if c in (11, 12):
            o = self.opts()
            if 'BYLEX' in o:
                return ['ZRANGE', r.choice(LEXKEYS), self.litem(), self.litem()] + o
            if 'BYSCORE' in o:
                return ['ZRANGE', k, self.ritem(), self.ritem()] + o
            return ['ZRANGE', k, self.idx(), self.idx()] + o
        if c == 13:
            return ['ZREVRANGE', k, self.idx(), self.idx()] + (['WITHSCORES'] if r.random() < .5 else [])
        if c == 14:
            return [r.choice(['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE']), k, self.ritem(), self.ritem()] + \
                self.opts()
        if c == 15:
            return [r.choice(['ZRANGEBYLEX', 'ZREVRANGEBYLEX']), k, self.litem(), self.litem()] + \
                self.opts()
        if c == 16:
            src = self.key()
            o = self.opts(store=True)
            if 'BYLEX' in o:
                src = r.choice(LEXKEYS)
                a = [self.litem(), self.litem()]
            elif 'BYSCORE' in o:
                a = [self.ritem(), self.ritem()]
            else:
                a = [self.idx(), self.idx()]
            return ['ZRANGESTORE', k, src] + a + o
        if c == 17:
            return ['ZREMRANGEBYRANK', k, self.idx(), self.idx()]
        if c == 18:
            return ['ZREMRANGEBYSCORE', k, self.ritem(), self.ritem()]
        if c == 19:
            return ['ZREMRANGEBYLEX', k, self.litem(), self.litem()]
        if c == 20:
            return [r.choice(['ZPOPMIN', 'ZPOPMAX']), k] + r.choice([[], ['1'], ['3'], ['0'], ['-1']])
        if c == 21:
            ks = [self.key() for _ in range(r.choice([1, 2, 3]))]
            return ['ZMPOP', str(len(ks))] + ks + [r.choice(['MIN', 'MAX'])] + \
                r.choice([[], ['COUNT', '2'], ['COUNT', '0'], ['COUNT', '100']])
        if c == 22:
            return ['ZRANDMEMBER', k] + r.choice([[], ['0'], ['3'], ['-3'], ['100'], ['5', 'WITHSCORES'],
                                                  ['-5', 'WITHSCORES'], ['100', 'WITHSCORES']])
        if c == 23:
            return ['ZSCAN', k, '0'] + r.choice([[], ['COUNT', '1'], ['MATCH', '*a*'], ['COUNT', '1000']])
        if c == 24:
            return r.choice([['SET', k, 'v'], ['DEL', k], ['EXPIRE', k, '1000'], ['TTL', k]])
        if c == 25:
            # fill big past the listpack limit
            return ['ZADD', 'big'] + sum([[str(r.randint(-50, 50)), 'b%d' % r.randrange(400)]
                                          for _ in range(r.choice([10, 60, 150]))], [])
        return ['ZRANGE', k, '0', '-1', 'WITHSCORES']


def cmp_for(cmd):
    name = cmd[0].upper()
    if name == 'ZRANDMEMBER':
        return randmember_cmp(cmd)
    if name == 'ZSCAN':
        return zscan_cmp
    return test_diff.exact


def sec_random(d, p, seed, count, proto):
    d.section = 'random-resp%d' % proto
    rnd = random.Random(seed * 10 + proto)
    g = Gen(rnd)
    p.c('FLUSHALL')
    if proto == 3:
        p.c('HELLO', '3', cmp=lambda a, b: a[:1] == b[:1])
    for i in range(count):
        cmd = g.cmd()
        p.c(*cmd, cmp=cmp_for(cmd))
        if i % 500 == 499:
            for k in KEYS:
                p.c('ZRANGE', k, '0', '-1', 'WITHSCORES')
                full_scan(d, p, k, count=rnd.choice(['1', '10']))
    if proto == 3:
        p.c('HELLO', '2', cmp=lambda a, b: a[:1] == b[:1])


def sec_config(d, p):
    """zset-max-listpack-entries / -value (and the *-ziplist-* aliases) at
    run time, once kvsd has the config rows: the thresholds move, an
    existing listpack over a lowered limit stays one until a member is
    added (zsetAdd converts on insertion only), 0 entries means skiplist at
    once, and ZRANGESTORE results follow the new limits."""
    d.section = 'config'
    r = p.a.cmd('CONFIG', 'SET', 'zset-max-listpack-entries', '128')
    if r != b'+OK\r\n':
        harness.log('diff-zset: kvsd has no zset-max-listpack-entries yet: config section skipped')
        return
    enc = probe_encoding(p)

    def look(k):
        out = [['ZSCORE', k, 'm0'], ['ZCARD', k], ['ZRANGE', k, '0', '-1', 'WITHSCORES']]
        if enc:
            out.append(['OBJECT', 'ENCODING', k])
        return out

    cmds = [['FLUSHALL'], ['ZADD', 'c6', '-0', 'm0', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
            ['CONFIG', 'SET', 'zset-max-listpack-entries', '4'],
            ['CONFIG', 'SET', 'zset-max-ziplist-value', '8']]
    cmds += look('c6')
    cmds += [['ZADD', 'c6', '9', 'a'], ['ZINCRBY', 'c6', '1', 'b'], ['ZREM', 'c6', 'c']]
    cmds += look('c6')                           # updates and removals: still a listpack
    cmds += [['ZADD', 'c6', '-0', 'new']]
    cmds += look('c6')                           # an insertion: converts
    for n in (3, 4, 5):
        cmds.append(['ZADD', 'n%d' % n] + sum([['-0', 'm%d' % i] for i in range(n)], []))
        cmds += look('n%d' % n)
        cmds.append(['ZRANGESTORE', 'r%d' % n, 'c6', '0', str(n - 1)])
        cmds += look('r%d' % n)
        cmds.append(['ZRANGESTORE', 's%d' % n, 'c6', '-inf', '+inf', 'BYSCORE', 'LIMIT', '0', str(n)])
        cmds += look('s%d' % n)
    for ln in (8, 9):
        cmds.append(['ZADD', 'v%d' % ln, '-0', 'm0', '-0', 'q' * ln])
        cmds += look('v%d' % ln)
    cmds += [['CONFIG', 'SET', 'zset-max-listpack-entries', '0']]
    cmds += [['ZADD', 'z0', '-0', 'm0']] + look('z0')
    cmds += [['ZRANGESTORE', 'z0s', 'c6', '0', '0']] + look('z0s')
    cmds += [['CONFIG', 'SET', 'zset-max-ziplist-entries', '128'],
             ['CONFIG', 'SET', 'zset-max-listpack-value', '64'],
             ['CONFIG', 'GET', 'zset-max-*']]
    cmds += [['ZRANGESTORE', 'back', 'c6', '0', '-1']] + look('back')
    pipeline(p, cmds, cmp=lambda a, b: a == b or (a[:1] == b[:1] == b'*' and
                                                 sorted(parse(a)) == sorted(parse(b))))


def sec_lex_big(d, p):
    """Lex ranges over a skiplist whose scores are all equal (what they are
    meant for): ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX."""
    d.section = 'lex-big'
    rnd = random.Random(7)
    words = sorted({'%s%d' % (rnd.choice('abcdefgh'), rnd.randrange(1000)) for _ in range(400)})
    cmds = [['DEL', 'lb'], ['ZADD', 'lb'] + sum([['0', w] for w in words], [])]
    items = LEX_ITEMS + ['[%s' % w for w in words[::40]] + ['(%s' % w for w in words[5::40]]
    for _ in range(300):
        lo, hi = rnd.choice(items), rnd.choice(items)
        lim = rnd.choice([[], ['LIMIT', '0', '5'], ['LIMIT', '3', '-1'], ['LIMIT', '390', '20']])
        cmds += [['ZRANGEBYLEX', 'lb', lo, hi] + lim, ['ZREVRANGEBYLEX', 'lb', hi, lo] + lim,
                 ['ZLEXCOUNT', 'lb', lo, hi], ['ZRANGE', 'lb', hi, lo, 'BYLEX', 'REV'] + lim]
    for _ in range(10):
        cmds += [['ZREMRANGEBYLEX', 'lb', rnd.choice(items), rnd.choice(items)], ['ZCARD', 'lb']]
    cmds.append(['ZRANGE', 'lb', '0', '-1'])
    pipeline(p, cmds)


def sec_multi(d, p):
    d.section = 'multi'
    cmds = [['FLUSHALL'], ['MULTI'], ['ZADD', 'm', '1', 'a', '2', 'b'], ['ZINCRBY', 'm', '5', 'a'],
            ['ZRANGESTORE', 'm2', 'm', '0', '-1'], ['ZPOPMIN', 'm'], ['ZADD', 'm', 'nan', 'x'],
            ['ZMPOP', '2', 'm', 'm2', 'MAX', 'COUNT', '5'], ['ZRANGE', 'm2', '0', '-1', 'WITHSCORES'],
            ['EXEC'], ['ZRANGE', 'm', '0', '-1', 'WITHSCORES'],
            ['MULTI'], ['ZADD', 'mb'] + sum([[str(i), 'e%d' % i] for i in range(300)], []),
            ['ZREM', 'mb', 'e5'], ['ZINCRBY', 'mb', '-1', 'e7'], ['ZRANGE', 'mb', '0', '9', 'WITHSCORES'],
            ['ZREMRANGEBYSCORE', 'mb', '100', '200'], ['ZCARD', 'mb'], ['EXEC'],
            ['ZRANGE', 'mb', '0', '-1', 'WITHSCORES']]
    pipeline(p, cmds)


def sec_popped_lengths(d, p):
    """ZPOPMIN / ZPOPMAX / BZPOPMIN / ZMPOP of members on both sides of the
    length a popped member is copied into the stack for (ZSET_POPPED_LOCAL,
    32 bytes) and of the skiplist's 64/65-byte limit, one at a time and with
    COUNT, in a listpack and in a skiplist."""
    d.section = 'popped-lengths'
    lens = [0, 1, 31, 32, 33, 40, 64, 65, 200]
    cmds = [['FLUSHALL']]
    for key, pad in (('pl', 0), ('ps', 130)):     # listpack; skiplist (> 128 members)
        args = ['ZADD', key]
        for i, n in enumerate(lens):
            args += [str(i), chr(ord('a') + i) * n]
        for i in range(pad):
            args += [str(1000 + i), 'pad%d' % i]
        cmds.append(args)
        cmds.append(['OBJECT', 'ENCODING', key])
        for _ in range(3):
            cmds += [['ZPOPMIN', key], ['ZPOPMIN', key, '1']]
        cmds += [['BZPOPMIN', key, '0'], ['ZMPOP', '1', key, 'MIN'], ['ZPOPMIN', key, '2'],
                 ['ZPOPMAX', key], ['ZPOPMAX', key, '1'], ['BZPOPMAX', key, '0'],
                 ['ZADD', key, '-1', 'q' * 32, '-2', 'r' * 33], ['ZPOPMIN', key],
                 ['ZPOPMIN', key], ['ZCARD', key]]
    pipeline(p, cmds)


def sec_popped_stale(d, p):
    """Pops from the low end of a skiplist leave the popped members' by-member
    records for a later sweep (storage/tzset.h, "Deferred deletes"): every
    command that finds a member by name must still see them gone. Pops one
    at a time and with COUNT, ZREMRANGEBYRANK/BYSCORE from rank 0, then each
    popped member through ZSCORE ZMSCORE ZRANK ZREVRANK ZREM ZADD (XX, NX,
    CH, INCR) ZINCRBY, whole ZSCANs, DEBUG DIGEST-VALUE, COPY, RENAME,
    ZUNIONSTORE / ZINTER / ZDIFF, MULTI; then a random stream that pops,
    re-adds popped members and reads them, down to an empty key."""
    d.section = 'popped-stale'
    rnd = random.Random(19)
    mem = ['m%03d' % i for i in range(400)]
    cmds = [['FLUSHALL'], ['ZADD', 'pq'] + sum([[str(i), m] for i, m in enumerate(mem)], []),
            ['OBJECT', 'ENCODING', 'pq']]
    cmds += [['ZPOPMIN', 'pq'] for _ in range(60)]
    cmds += [['BZPOPMIN', 'pq', '0'], ['ZMPOP', '1', 'pq', 'MIN'], ['ZPOPMIN', 'pq', '1']]
    gone = mem[:63]
    for m in gone:
        cmds += [['ZSCORE', 'pq', m], ['ZRANK', 'pq', m], ['ZREVRANK', 'pq', m],
                 ['ZMSCORE', 'pq', m, 'm200', m]]
    cmds += [['ZCARD', 'pq'], ['ZRANGE', 'pq', '0', '4', 'WITHSCORES'], ['ZCOUNT', 'pq', '-inf', '70'],
             ['ZRANGEBYSCORE', 'pq', '-inf', '70'], ['DEBUG', 'DIGEST-VALUE', 'pq']]
    pipeline(p, cmds)
    full_scan(d, p, 'pq', '7')
    cmds = []
    for m in gone[:10]:
        cmds += [['ZREM', 'pq', m], ['ZADD', 'pq', 'XX', '5', m], ['ZADD', 'pq', 'XX', 'CH', '5', m],
                 ['ZSCORE', 'pq', m]]
    cmds += [['ZADD', 'pq', '3', 'm003'], ['ZADD', 'pq', 'NX', '1000', 'm010'],
             ['ZINCRBY', 'pq', '2', 'm020'], ['ZADD', 'pq', 'INCR', '5', 'm030'],
             ['ZADD', 'pq', 'GT', '1', 'm031'], ['ZADD', 'pq', 'LT', 'CH', '-1', 'm032'],
             ['ZSCORE', 'pq', 'm003'], ['ZRANK', 'pq', 'm003'], ['ZSCORE', 'pq', 'm010'],
             ['ZSCORE', 'pq', 'm020'], ['ZSCORE', 'pq', 'm030'], ['ZSCORE', 'pq', 'm031'],
             ['ZSCORE', 'pq', 'm032'], ['ZCARD', 'pq'], ['ZRANGE', 'pq', '0', '9', 'WITHSCORES'],
             ['ZPOPMIN', 'pq', '30'], ['ZREMRANGEBYRANK', 'pq', '0', '9'],
             ['ZREMRANGEBYSCORE', 'pq', '-inf', '130'], ['ZCARD', 'pq'],
             ['ZRANGE', 'pq', '0', '4', 'WITHSCORES'], ['DEBUG', 'DIGEST-VALUE', 'pq']]
    cmds += [['ZSCORE', 'pq', m] for m in mem[:140]]
    cmds += [['COPY', 'pq', 'pq2'], ['ZSCORE', 'pq2', 'm050'], ['ZSCORE', 'pq2', 'm300'],
             ['RENAME', 'pq2', 'pq3'], ['ZSCORE', 'pq3', 'm050'], ['ZRANK', 'pq3', 'm300'],
             ['ZADD', 'other', '1', 'm050', '2', 'm300', '3', 'm001'],
             ['ZUNIONSTORE', 'u', '2', 'pq', 'other'], ['ZRANGE', 'u', '0', '5', 'WITHSCORES'],
             ['ZCARD', 'u'], ['ZINTER', '2', 'pq', 'other', 'WITHSCORES'],
             ['ZDIFF', '2', 'other', 'pq', 'WITHSCORES'], ['ZINTERCARD', '2', 'pq', 'other'],
             ['MULTI'], ['ZPOPMIN', 'pq'], ['ZSCORE', 'pq', 'm141'], ['ZPOPMIN', 'pq'],
             ['ZADD', 'pq', '0', 'm141'], ['ZSCORE', 'pq', 'm141'], ['EXEC']]
    pipeline(p, cmds)
    full_scan(d, p, 'pq', '5')
    # a stream: pops, re-adds of popped members, reads of both kinds
    cmds = [['DEL', 'rq'], ['ZADD', 'rq'] + sum([[str(i), 'r%d' % i] for i in range(300)], [])]
    for _ in range(3000):
        m = 'r%d' % rnd.randrange(400)
        k = rnd.random()
        if k < 0.35:
            cmds.append(['ZPOPMIN', 'rq'] + ([str(rnd.randrange(1, 4))] if rnd.random() < 0.2 else []))
        elif k < 0.5:
            cmds.append(['ZADD', 'rq', str(rnd.randrange(-50, 400)), m])
        elif k < 0.7:
            cmds.append(['ZSCORE', 'rq', m])
        elif k < 0.8:
            cmds.append(['ZRANK', 'rq', m])
        elif k < 0.85:
            cmds.append(['ZREM', 'rq', m])
        elif k < 0.9:
            cmds.append(['ZINCRBY', 'rq', '1', m])
        elif k < 0.95:
            cmds.append(['ZADD', 'rq', 'XX', 'CH', '7', m])
        else:
            cmds.append(['ZCARD', 'rq'])
    cmds += [['ZRANGE', 'rq', '0', '-1', 'WITHSCORES'], ['DEBUG', 'DIGEST-VALUE', 'rq']]
    pipeline(p, cmds)
    full_scan(d, p, 'rq', '11')
    pipeline(p, [['ZPOPMIN', 'rq', '1000'], ['EXISTS', 'rq'], ['ZSCORE', 'rq', 'r1']])


def slow_cmds(d, cmds):
    """Commands that may take seconds each (on a 1M-member set, more under
    sanitizers or a loaded machine), on their own connections with a long
    timeout; each reply compared. cmds: (raw bytes, what) pairs."""
    ca, cb = d.sa.client(timeout=300), d.sb.client(timeout=300)
    try:
        for data, what in cmds:
            ra, rb = ca.raw(data), cb.raw(data)
            d.count += 1
            if ra != rb:
                d.report(what, ra, rb)
    finally:
        ca.close()
        cb.close()


def sec_bad_input(d, p):
    d.section = 'bad-input'
    n = 500000                      # a 1M-argument ZADD (plus the name and key)
    args = ['ZADD', 'huge']
    for i in range(n):
        args += [str(i % 1000), 'member:%d' % i]
    cmds = [(encode(*args), ['ZADD', 'huge', '<1M arguments>'])]
    for c in (['ZCARD', 'huge'], ['ZRANGE', 'huge', '0', '5', 'WITHSCORES'],
              ['ZRANGE', 'huge', '-3', '-1', 'WITHSCORES'], ['ZCOUNT', 'huge', '10', '(20'],
              ['ZRANK', 'huge', 'member:123457'], ['ZSCORE', 'huge', 'member:499999'],
              ['ZRANGEBYSCORE', 'huge', '999', '+inf', 'LIMIT', '490', '3'],
              ['ZPOPMIN', 'huge', '3'], ['ZPOPMAX', 'huge', '3'],
              ['ZREMRANGEBYSCORE', 'huge', '5', '994'], ['ZCARD', 'huge'],
              ['ZADD', 'huge', 'nan', 'x'], ['ZINCRBY', 'huge', 'nan', 'x'],
              ['ZRANGE', 'huge', '0', I64MAX, 'LIMIT', '0', I64MAX],
              ['ZRANGE', 'huge', '0', '-1', 'BYSCORE', 'LIMIT', '0', I64MAX],
              ['ZRANDMEMBER', 'huge', '-9223372036854775807', 'WITHSCORES'],
              ['ZPOPMIN', 'huge', I64MAX], ['EXISTS', 'huge'],
              ['ZPOPMIN', 'huge', '9223372036854775808'],
              ['ZMPOP', '1', 'huge', 'MIN', 'COUNT', '-5']):
        cmds.append((encode(*c), c))
    # a 1M-argument ZADD that fails on its last score: nothing added
    args = ['ZADD', 'huge2']
    for i in range(n - 1):
        args += [str(i), 'm%d' % i]
    args += ['nan', 'last']
    cmds.append((encode(*args), ['ZADD', 'huge2', '<1M arguments, the last score NaN>']))
    cmds.append((encode('EXISTS', 'huge2'), ['EXISTS', 'huge2']))
    slow_cmds(d, cmds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '13')))
    ap.add_argument('--count', type=int, default=6000)
    args = ap.parse_args()
    servers = test_diff.start_pair('diff-zset')
    if servers is None:
        return 1
    sa, sb = servers
    harness.log('diff-zset: kvsd port %d, redis port %d, seed %d' % (sa.port, sb.port, args.seed))
    d = Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        for proto in (2, 3):
            if proto == 3:
                p.c('HELLO', '3', cmp=lambda a, b: a[:1] == b[:1])
            d.section = 'fixed-resp%d' % proto
            p.c('FLUSHALL')
            sec_fixed(d, p)
            sec_scores(d, p)
            if proto == 3:
                p.c('HELLO', '2', cmp=lambda a, b: a[:1] == b[:1])
        sec_conversion(d, p)
        sec_config(d, p)
        sec_lex_big(d, p)
        sec_multi(d, p)
        sec_popped_lengths(d, p)
        sec_popped_stale(d, p)
        sec_random(d, p, args.seed, args.count, 2)
        sec_random(d, p, args.seed, args.count, 3)
        sec_bad_input(d, p)
        p.close()
    except Mismatch:
        pass
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-zset: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-zset', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
