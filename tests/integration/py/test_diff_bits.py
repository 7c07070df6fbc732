#!/usr/bin/env python3
"""Differential test of issue 12's bitmap and string commands: kvsd against
redis-server 7.0, reply bytes compared exactly (test_diff.py's Differ/Pair).

Covers SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO LCS SUBSTR:
valid and invalid arguments, offsets at and past the limits (with
proto-max-bulk-len lowered to 1 MB on both servers so the boundary is cheap
to reach; then at the default 512 MB, where 2^32 is the first bad offset),
BITFIELD's overflow modes at the edges of every width, BYTE/BIT ranges with
negative indexes, LCS on seeded random strings with every option, and the
replies that differ in RESP3 (HELLO 3).

Usage: test_diff_bits.py [--seed N]
"""

import argparse
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_diff  # noqa: E402
from test_diff import Differ, Mismatch  # noqa: E402

I64MAX = 2**63 - 1
I64MIN = -2**63


def sec_arity(d, p):
    d.section = 'arity'
    for name in ('SETBIT', 'GETBIT', 'BITCOUNT', 'BITPOS', 'BITOP', 'BITFIELD',
                 'BITFIELD_RO', 'LCS', 'SUBSTR'):
        for n in range(0, 3):
            p.c(name, *['__a%d' % i for i in range(n)])


def sec_setbit_getbit(d, p):
    d.section = 'setbit/getbit'
    p.c('FLUSHALL')
    for off in ('0', '7', '8', '100', '-1', 'abc', '', '1.5', ' 1', '01',
                '+1', '4294967296', str(I64MAX), '#1'):
        for v in ('1', '0', '2', '-1', 'x', ''):
            p.c('SETBIT', 'b', off, v)
        p.c('GETBIT', 'b', off)
    # the last valid offset at the default limit: read only (a SETBIT there
    # makes a 512 MB string; the growth limit is tested at 1 MB below)
    p.c('GETBIT', 'b', '4294967295')
    p.c('SETBIT', 'b', '4294967295', '2')
    p.c('GET', 'b')
    p.c('STRLEN', 'b')
    p.c('SETBIT', 'b', '7', '1')
    p.c('SETBIT', 'b', '7', '1')       # unchanged
    p.c('SETBIT', 'b', '7', '0')
    p.c('GET', 'b')
    p.c('SETBIT', 'nb', '100', '0')    # creates the key, zeros
    p.c('GET', 'nb')
    p.c('GETBIT', 'nokey', '0')
    p.c('GETBIT', 'nokey', '-1')
    p.c('SET', 's', 'foobar')
    for off in range(0, 60, 3):
        p.c('GETBIT', 's', str(off))
    p.c('SET', 'i', '12345')           # an int-encoded value in Redis
    p.c('GETBIT', 'i', '2')
    p.c('SETBIT', 'i', '3', '1')
    p.c('GET', 'i')
    # TTL survives SETBIT
    p.c('SET', 't', 'x', 'EX', '1000')
    p.c('SETBIT', 't', '100', '1')
    p.c('TTL', 't')
    # the proto-max-bulk-len boundary, at 1 MB
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '1mb')
    last = 8 * 1024 * 1024 - 1
    for off in (last, last + 1, last + 8):
        p.c('SETBIT', 'big', str(off), '1')
        p.c('GETBIT', 'big', str(off))
    p.c('STRLEN', 'big')
    p.c('BITCOUNT', 'big')
    p.c('DEL', 'big')
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '512mb')
    for off in ('4294967296', '4294967295000'):
        p.c('SETBIT', 'big', off, '1')
        p.c('GETBIT', 'big', off)
    p.c('EXISTS', 'big')


def sec_bitcount(d, p):
    d.section = 'bitcount'
    p.c('FLUSHALL')
    p.c('SET', 's', 'foobar\xff\x00\x81 hello world, a longer string of bits')
    p.c('SET', 'e', '')
    rng = random.Random(7)
    for key in ('s', 'e', 'nokey'):
        p.c('BITCOUNT', key)
        for start, end in ((0, 0), (1, 1), (0, -1), (-1, -1), (-2, -1),
                           (-1, -2), (5, 2), (-100, 100), (100, 200),
                           (3, -3), (0, 10**12), (-10**12, -1)):
            p.c('BITCOUNT', key, str(start), str(end))
            for unit in ('BYTE', 'BIT', 'bit', 'byte', 'nibble'):
                p.c('BITCOUNT', key, str(start), str(end), unit)
        for _ in range(40):
            a, b = rng.randint(-400, 400), rng.randint(-400, 400)
            p.c('BITCOUNT', key, str(a), str(b), 'BIT')
        for bad in (['0'], ['x', '1'], ['0', 'x'], ['0', '1', 'BIT', 'x'],
                    ['', ''], [str(I64MAX), str(I64MIN)], ['0', '-1', 'BIT', 'BIT'],
                    ['9223372036854775808', '1']):
            p.c('BITCOUNT', key, *bad)
    p.c('SET', 'i', '-1234567')
    p.c('BITCOUNT', 'i', '1', '3')
    p.c('BITCOUNT', 'i', '3', '20', 'BIT')


def sec_bitpos(d, p):
    d.section = 'bitpos'
    p.c('FLUSHALL')
    p.c('SET', 'z', '\x00\x00\x00')
    p.c('SET', 'o', '\xff\xff\xff')
    p.c('SET', 'm', '\x00\xff\xf0\x0f\x00\x01')
    p.c('SET', 'e', '')
    for key in ('z', 'o', 'm', 'e', 'nokey'):
        for bit in ('0', '1'):
            p.c('BITPOS', key, bit)
            for rg in (['0'], ['1'], ['-1'], ['2', '-1'], ['0', '0'], ['-2', '-1'],
                       ['5', '2'], ['100'], ['-100', '100'], ['1', '1'],
                       ['0', '-1', 'BYTE'], ['7', '15', 'BIT'], ['8', '8', 'BIT'],
                       ['-9', '-1', 'BIT'], ['3', '3', 'BIT'], ['0', '100', 'bit'],
                       ['12', '28', 'BIT'], ['1', '6', 'BIT'], ['0', '-1', 'x'],
                       ['x'], ['0', 'x'], ['0', '1', 'BIT', 'x']):
                p.c('BITPOS', key, bit, *rg)
    for bit in ('2', '-1', 'x', ''):
        p.c('BITPOS', 'm', bit)
        p.c('BITPOS', 'nokey', bit)
    rng = random.Random(11)
    raw = bytes(rng.choice((0, 0xff, rng.randrange(256))) for _ in range(64))
    p.c('SET', 'r', raw)
    for _ in range(200):
        bit = rng.choice('01')
        a, b = rng.randint(-600, 600), rng.randint(-600, 600)
        unit = rng.choice(['BIT', 'BYTE', None])
        args = ['BITPOS', 'r', bit, str(a), str(b)] + ([unit] if unit else [])
        p.c(*args)
        p.c('BITPOS', 'r', bit, str(a))


def sec_bitop(d, p):
    d.section = 'bitop'
    p.c('FLUSHALL')
    p.c('SET', 'a', 'foobar')
    p.c('SET', 'b', 'abcdef-longer-value-with-more-than-32-bytes-in-it!')
    p.c('SET', 'c', '\xff\x00\x0f')
    p.c('SET', 'e', '')
    for op in ('AND', 'OR', 'XOR', 'and', 'or', 'xor'):
        p.c('BITOP', op, 'd', 'a', 'b')
        p.c('GET', 'd')
        p.c('BITOP', op, 'd', 'a', 'b', 'c', 'nokey')
        p.c('GET', 'd')
        p.c('BITOP', op, 'd', 'a')
        p.c('GET', 'd')
        p.c('BITOP', op, 'd', 'b', 'b', 'b')
        p.c('GET', 'd')
    p.c('BITOP', 'NOT', 'd', 'b')
    p.c('GET', 'd')
    p.c('BITOP', 'NOT', 'd', 'a', 'b')
    p.c('BITOP', 'NOT', 'd')
    p.c('BITOP', 'NAND', 'd', 'a')
    p.c('BITOP', 'ANDX', 'd', 'a')
    p.c('BITOP', '', 'd', 'a')
    p.c('BITOP', 'AND', 'd')
    # empty result deletes the destination
    p.c('SET', 'd', 'x', 'EX', '100')
    p.c('BITOP', 'OR', 'd', 'nokey', 'e')
    p.c('EXISTS', 'd')
    p.c('BITOP', 'NOT', 'd', 'nokey')
    p.c('EXISTS', 'd')
    # the destination loses its TTL; a source may be the destination
    p.c('SET', 'd', 'zz', 'EX', '100')
    p.c('BITOP', 'XOR', 'd', 'd', 'a')
    p.c('TTL', 'd')
    p.c('GET', 'd')
    p.c('BITOP', 'AND', 'a', 'a')
    p.c('GET', 'a')


def _edges(bits, sign):
    if sign:
        lo, hi = -2**(bits - 1), 2**(bits - 1) - 1
    else:
        lo, hi = 0, 2**bits - 1
    vals = {lo, hi, lo + 1, hi - 1, 0, 1, -1, I64MAX, I64MIN, hi + 1, lo - 1}
    return sorted(v for v in vals if I64MIN <= v <= I64MAX)


def sec_bitfield(d, p):
    d.section = 'bitfield'
    p.c('FLUSHALL')
    # types and offsets
    for t in ('i1', 'i8', 'i63', 'i64', 'i65', 'u1', 'u63', 'u64', 'u0', 'i0',
              'x8', 'I8', 'U8', 'i', 'u', '', 'i-1', 'i08', 'i 8', 'u8\x00x',
              'i9223372036854775807', 'i18446744073709551616'):
        p.c('BITFIELD', 'f', 'GET', t, '0')
        p.c('BITFIELD_RO', 'f', 'GET', t, '0')
    for off in ('0', '#0', '#1', '#-1', '-1', '#', '##1', 'x', '4294967295',
                '4294967296', '#536870911', '#536870912', '#9223372036854775807',
                '#4611686018427387904', '#1152921504606846976', str(I64MAX)):
        for t in ('u8', 'i64', 'i1'):
            p.c('BITFIELD', 'f', 'GET', t, off)
    p.c('EXISTS', 'f')
    # syntax: counts and words
    for args in (['GET'], ['GET', 'u8'], ['SET', 'u8', '0'], ['INCRBY', 'u8', '0'],
                 ['OVERFLOW'], ['OVERFLOW', 'foo'], ['OVERFLOW', 'WRAP'],
                 ['FOO', 'u8', '0'], ['GET', 'u8', '0', 'GET'],
                 ['SET', 'u8', '0', 'x'], ['SET', 'u8', '0', '1.5'],
                 ['INCRBY', 'u8', '0', '9223372036854775808'],
                 ['GET', 'u8', '0', 'OVERFLOW', 'sat', 'GET', 'u8', '8'],
                 ['get', 'u8', '0', 'set', 'u8', '0', '5', 'incrby', 'u8', '0', '1'],
                 ['SET', 'u99', '0', 'x'], ['SET', 'u8', 'x', 'x'],
                 ['OVERFLOW', 'FAIL', 'OVERFLOW', 'bad', 'SET', 'u8', '0', '1']):
        p.c('BITFIELD', 'f', *args)
        p.c('BITFIELD_RO', 'f', *args)
        p.c('GET', 'f')
    p.c('BITFIELD', 'f')
    p.c('BITFIELD_RO', 'f')
    p.c('BITFIELD_RO', 'f', 'SET', 'u8', '0', '1')
    p.c('BITFIELD_RO', 'f', 'GET', 'u8', '0', 'INCRBY', 'u8', '0', '1')
    p.c('BITFIELD', 'nokey', 'GET', 'u8', '0')
    p.c('EXISTS', 'nokey')
    # every overflow mode at the edges, signed and unsigned
    p.c('FLUSHALL')
    for sign in (1, 0):
        for bits in (1, 2, 7, 8, 9, 16, 31, 32, 33, 62, 63, 64):
            if not sign and bits == 64:
                continue
            t = ('i' if sign else 'u') + str(bits)
            vals = _edges(bits, sign)
            for ow in ('WRAP', 'SAT', 'FAIL'):
                for v in vals:
                    p.c('BITFIELD', 'ov', 'OVERFLOW', ow, 'SET', t, '3', str(v),
                        'GET', t, '3')
                    for inc in (1, -1, 2, -2, I64MAX, I64MIN, 2**(bits - 1)):
                        p.c('BITFIELD', 'ov', 'OVERFLOW', ow, 'INCRBY', t, '3',
                            str(inc), 'GET', t, '3')
                p.c('GET', 'ov')
    # #-offsets, several ops, unaligned fields, past the end
    p.c('FLUSHALL')
    p.c('SET', 'g', 'hello world')
    for t in ('u8', 'i8', 'u5', 'i13', 'i64', 'u63'):
        for off in ('0', '3', '#1', '#2', '80', '85', '#20', '200'):
            p.c('BITFIELD', 'g', 'GET', t, off)
            p.c('BITFIELD_RO', 'g', 'GET', t, off)
    p.c('BITFIELD', 'g', 'SET', 'i8', '#0', '65', 'GET', 'u8', '#0',
        'INCRBY', 'u4', '100', '3', 'GET', 'u8', '96', 'SET', 'i64', '#3', '-2',
        'OVERFLOW', 'FAIL', 'INCRBY', 'i64', '#3', str(I64MIN), 'GET', 'i64', '#3')
    p.c('GET', 'g')
    p.c('BITFIELD', 'g', 'OVERFLOW', 'FAIL', 'SET', 'u2', '200', '7')
    p.c('GET', 'g')   # grown although the write failed
    p.c('SET', 'g', 'x', 'EX', '100')
    p.c('BITFIELD', 'g', 'INCRBY', 'u8', '0', '1')
    p.c('TTL', 'g')
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '1mb')
    for off in ('8388607', '8388600', '8388608', '#1048575', '#1048576'):
        p.c('BITFIELD', 'h', 'SET', 'u8', off, '255', 'GET', 'u8', off)
        p.c('STRLEN', 'h')
    p.c('DEL', 'h')
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '512mb')


def sec_bitfield_random(d, p, seed):
    d.section = 'bitfield random'
    rng = random.Random(seed)
    p.c('FLUSHALL')
    for _ in range(600):
        args = []
        for _ in range(rng.randint(1, 5)):
            if rng.random() < 0.2:
                args += ['OVERFLOW', rng.choice(['WRAP', 'SAT', 'FAIL'])]
            sign = rng.random() < 0.5
            bits = rng.randint(1, 64 if sign else 63)
            t = ('i' if sign else 'u') + str(bits)
            off = str(rng.randint(0, 200)) if rng.random() < 0.7 \
                else '#%d' % rng.randint(0, 6)
            op = rng.choice(['GET', 'SET', 'INCRBY'])
            if op == 'GET':
                args += ['GET', t, off]
            else:
                v = rng.choice([rng.randint(-2**(bits), 2**bits),
                                rng.randint(I64MIN, I64MAX), rng.randint(-3, 3)])
                args += [op, t, off, str(v)]
        p.c('BITFIELD', rng.choice(['r1', 'r2']), *args)
    p.c('GET', 'r1')
    p.c('GET', 'r2')


def rand_str(rng, n, alphabet):
    return ''.join(rng.choice(alphabet) for _ in range(n))


def sec_lcs(d, p, seed):
    d.section = 'lcs'
    p.c('FLUSHALL')
    p.c('MSET', 'k1', 'ohmytext', 'k2', 'mynewtext')
    opts = [[], ['LEN'], ['IDX'], ['IDX', 'WITHMATCHLEN'],
            ['IDX', 'MINMATCHLEN', '4'], ['IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN'],
            ['WITHMATCHLEN'], ['MINMATCHLEN', '2'], ['idx', 'minmatchlen', '-5'],
            ['LEN', 'MINMATCHLEN', '3'], ['LEN', 'WITHMATCHLEN']]
    bad = [['LEN', 'IDX'], ['IDX', 'LEN'], ['MINMATCHLEN'], ['MINMATCHLEN', 'x'],
           ['IDX', 'MINMATCHLEN'], ['FOO'], ['IDX', 'FOO'], ['LEN', 'LEN', 'IDX']]
    for o in opts + bad:
        p.c('LCS', 'k1', 'k2', *o)
        p.c('LCS', 'k1', 'nokey', *o)
        p.c('LCS', 'nokey', 'nokey2', *o)
        p.c('LCS', 'k1', 'k1', *o)
    rng = random.Random(seed)
    for n in range(120):
        alpha = rng.choice(['ab', 'abc', 'ACGT', 'abcdefghij', '\x00\xff'])
        a = rand_str(rng, rng.randint(0, 60), alpha)
        b = rand_str(rng, rng.randint(0, 60), alpha)
        p.c('MSET', 'x', a, 'y', b)
        o = rng.choice(opts)
        p.c('LCS', 'x', 'y', *o)
        if n % 10 == 0:
            for o in opts:
                p.c('LCS', 'x', 'y', *o)
    a = rand_str(rng, 600, 'ACGT')
    b = rand_str(rng, 700, 'ACGT')
    p.c('MSET', 'x', a, 'y', b)
    for o in opts:
        p.c('LCS', 'x', 'y', *o)
    # the transient-memory check against proto-max-bulk-len (1 MB):
    # (alen + 1) * (blen + 1) * 4 bytes
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '1mb')
    for la, lb in ((511, 511), (511, 512), (512, 512), (1023, 255), (1024, 255),
                   (1048575, 0)):
        p.c('MSET', 'x', 'a' * la, 'y', 'b' * lb)
        p.c('LCS', 'x', 'y', 'LEN')
        p.c('LCS', 'x', 'y', 'IDX')
    p.c('CONFIG', 'SET', 'proto-max-bulk-len', '512mb')


def sec_substr(d, p):
    d.section = 'substr'
    p.c('FLUSHALL')
    p.c('SET', 's', 'This is a string')
    for a, b in ((0, 3), (-3, -1), (0, -1), (10, 100), (5, 3), (-1, -5),
                 (-100, 5), (100, 200)):
        p.c('SUBSTR', 's', str(a), str(b))
        p.c('SUBSTR', 'nokey', str(a), str(b))
    p.c('SUBSTR', 's', 'x', '1')
    p.c('SUBSTR', 's', '1', '')
    p.c('SET', 'i', '12345')
    p.c('SUBSTR', 'i', '1', '2')


def sec_resp3(d):
    d.section = 'resp3'
    p = d.pair()
    p.c('HELLO', '3', cmp=lambda a, b: a[:1] == b[:1])
    p.c('FLUSHALL')
    p.c('MSET', 'k1', 'ohmytext', 'k2', 'mynewtext')
    for o in ([], ['LEN'], ['IDX'], ['IDX', 'WITHMATCHLEN', 'MINMATCHLEN', '2']):
        p.c('LCS', 'k1', 'k2', *o)
        p.c('LCS', 'k1', 'nokey', *o)
    p.c('BITFIELD', 'f', 'OVERFLOW', 'FAIL', 'SET', 'u8', '0', '300',
        'GET', 'u8', '0', 'INCRBY', 'i8', '0', '-1')
    p.c('BITFIELD_RO', 'f', 'GET', 'u8', '0')
    p.c('BITFIELD', 'f')
    p.c('SETBIT', 'f', '3', '1')
    p.c('BITCOUNT', 'f')
    p.c('BITPOS', 'f', '1')
    p.c('SUBSTR', 'nokey', '0', '1')
    p.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int,
                    default=int(os.environ.get('DIFF_SEED', '20261203')))
    args = ap.parse_args()
    servers = test_diff.start_pair('diff-bits')
    if servers is None:
        return 1
    sa, sb = servers
    harness.log('diff-bits: kvsd port %d, redis port %d, seed %d'
                % (sa.port, sb.port, args.seed))
    d = Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        sec_arity(d, p)
        sec_setbit_getbit(d, p)
        sec_bitcount(d, p)
        sec_bitpos(d, p)
        sec_bitop(d, p)
        sec_bitfield(d, p)
        sec_bitfield_random(d, p, args.seed)
        sec_lcs(d, p, args.seed)
        sec_substr(d, p)
        p.close()
        sec_resp3(d)
    except Mismatch:
        pass
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-bits: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-bits', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
