#!/usr/bin/env python3
"""Differential test of the list commands (issue 14) against redis-server 7.0.

LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with COUNT) LLEN LRANGE LINDEX LSET
LINSERT LREM LTRIM LPOS (RANK COUNT MAXLEN) LMOVE RPOPLPUSH LMPOP, SORT /
SORT_RO over lists and SORT ... STORE, and the generic commands on lists
(TYPE, OBJECT ENCODING, COPY, RENAME, DEL, EXPIRE, DEBUG DIGEST-VALUE and
DIGEST, MULTI/EXEC, CONFIG GET/SET list-max-listpack-size and
list-compress-depth): valid and invalid arguments, RESP2 and RESP3, every
reply byte-identical. Both servers run with --enable-debug-command yes.

Encoding thresholds: list-max-listpack-size set to entry counts (4, 1, 0)
and byte sizes (-1, -2, -5), lists filled to just below, at and just above
the limit and then read back whole, edited in the middle (LSET, LINSERT,
LREM) and popped down: kvsd changes its internal encoding there (a packed
blob to a tree of chunks) while OBJECT ENCODING answers quicklist on both.

Also a seeded random stream of list commands mixed with string and hash
commands on a few keys (so WRONGTYPE paths and keys that appear and vanish
are crossed), compared reply by reply, LRANGE 0 -1 and DEBUG DIGEST-VALUE of
every key checked after each batch.

The same stream again with list-compress-depth 1 and 2 on both servers,
longer lists of compressible elements (so kvsd holds many inner chunks
LZF-compressed and redis-server compresses its inner nodes, with small and
default node sizes), plus DUMP payloads of each server RESTOREd on both,
MEMORY USAGE (an integer on both), and, after the stream, kvsd's MEMORY
USAGE of a long compressible list checked to shrink with compression on.

Usage: test_diff_list.py [--seed N] [--count N]   (environment: see harness.py)
"""

import argparse
import os
import random
import socket
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact  # noqa: E402

I64MAX = '9223372036854775807'
I64MIN = '-9223372036854775808'
DEBUG_ON = ['--enable-debug-command', 'yes']


def as_map(a, b):
    """CONFIG GET with a pattern: the same pairs in any order (Redis's
    follow its dict), the same reply type byte."""
    if a[:1] != b[:1]:
        return False
    va, vb = harness.parse(a), harness.parse(b)
    if not isinstance(va, list) or not isinstance(vb, list):
        return a == b
    if a[:1] == b'%':      # RESP3 map: a list of pairs
        return sorted(va) == sorted(vb)
    return sorted(zip(va[0::2], va[1::2])) == sorted(zip(vb[0::2], vb[1::2]))


def sec_basic(d, p):
    d.section = 'basic'
    p.c('FLUSHALL')
    p.c('LPUSH', 'l', 'a', 'b', 'c')
    p.c('RPUSH', 'l', 'x', 'y', 'z')
    p.c('LRANGE', 'l', '0', '-1')
    p.c('LLEN', 'l')
    p.c('LLEN', 'nokey')
    p.c('LPUSHX', 'nokey', 'a')
    p.c('RPUSHX', 'nokey', 'a', 'b')
    p.c('EXISTS', 'nokey')
    p.c('LPUSHX', 'l', 'h1', 'h2')
    p.c('RPUSHX', 'l', 't1')
    for a, b in (('0', '-1'), ('0', '0'), ('-1', '-1'), ('2', '4'), ('-3', '-1'),
                 ('5', '2'), ('-100', '100'), ('100', '200'), ('-100', '-50'),
                 ('3', '-5'), (I64MIN, I64MAX), ('0', I64MIN)):
        p.c('LRANGE', 'l', a, b)
    p.c('LRANGE', 'nokey', '0', '-1')
    for i in ('0', '1', '-1', '-2', '8', '9', '-9', '-10', '100', I64MIN, I64MAX):
        p.c('LINDEX', 'l', i)
    p.c('LINDEX', 'nokey', '0')
    p.c('LPOP', 'l')
    p.c('RPOP', 'l')
    p.c('LPOP', 'l', '2')
    p.c('RPOP', 'l', '2')
    p.c('LPOP', 'l', '0')
    p.c('RPOP', 'l', '0')
    p.c('LPOP', 'nokey')
    p.c('LPOP', 'nokey', '1')
    p.c('LPOP', 'nokey', '0')
    p.c('RPOP', 'nokey', '3')
    p.c('LRANGE', 'l', '0', '-1')
    p.c('RPOP', 'l', '100')
    p.c('EXISTS', 'l')
    p.c('RPUSH', 'l', 'only')
    p.c('LPOP', 'l', '5')
    p.c('EXISTS', 'l')
    # binary, empty and integer-looking elements
    p.c('RPUSH', 'bin', '', b'\x00\xff', b'\r\n', '12', '-7', I64MAX, '007', ' 1')
    p.c('LRANGE', 'bin', '0', '-1')
    p.c('LPOS', 'bin', '')
    p.c('LPOS', 'bin', b'\x00\xff')
    p.c('LINDEX', 'bin', '0')
    # LSET
    p.c('RPUSH', 's', 'a', 'b', 'c')
    p.c('LSET', 's', '0', 'A')
    p.c('LSET', 's', '-1', 'C')
    p.c('LSET', 's', '1', '')
    p.c('LRANGE', 's', '0', '-1')
    p.c('LSET', 's', '3', 'x')
    p.c('LSET', 's', '-4', 'x')
    p.c('LSET', 'nokey', '0', 'x')
    p.c('LSET', 'nokey', 'abc', 'x')
    p.c('LSET', 's', 'abc', 'x')
    # LINSERT
    p.c('LINSERT', 's', 'BEFORE', 'A', 'first')
    p.c('LINSERT', 's', 'after', 'C', 'last')
    p.c('LINSERT', 's', 'After', '', 'mid')
    p.c('LINSERT', 's', 'BEFORE', 'zz', 'x')
    p.c('LINSERT', 'nokey', 'BEFORE', 'a', 'x')
    p.c('LINSERT', 's', 'middle', 'a', 'x')
    p.c('LINSERT', 'nokey', 'middle', 'a', 'x')
    p.c('LRANGE', 's', '0', '-1')
    # LREM
    p.c('RPUSH', 'r', 'a', 'b', 'a', 'c', 'a', 'b', 'a')
    p.c('LREM', 'r', '2', 'a')
    p.c('LRANGE', 'r', '0', '-1')
    p.c('LREM', 'r', '-1', 'b')
    p.c('LRANGE', 'r', '0', '-1')
    p.c('LREM', 'r', '0', 'a')
    p.c('LREM', 'r', '0', 'zz')
    p.c('LREM', 'nokey', '0', 'a')
    p.c('LREM', 'r', 'x', 'a')
    p.c('LREM', 'r', '0', 'b')
    p.c('LREM', 'r', '0', 'c')
    p.c('EXISTS', 'r')
    # LTRIM
    for a, b in (('1', '-2'), ('0', '-1'), ('-100', '100'), ('1', '1'), ('5', '3')):
        p.c('DEL', 't')
        p.c('RPUSH', 't', '1', '2', '3', '4', '5', '6')
        p.c('LTRIM', 't', a, b)
        p.c('LRANGE', 't', '0', '-1')
        p.c('EXISTS', 't')
    p.c('LTRIM', 'nokey', '0', '1')
    p.c('LTRIM', 't', 'a', '1')
    p.c('LTRIM', 't', '1', 'b')


def sec_lpos(d, p):
    d.section = 'lpos'
    p.c('FLUSHALL')
    p.c('RPUSH', 'l', 'a', 'b', 'c', '1', '2', '3', 'c', 'c')
    for opts in ([], ['RANK', '1'], ['RANK', '2'], ['RANK', '3'], ['RANK', '4'],
                 ['RANK', '-1'], ['RANK', '-3'], ['RANK', '-4'], ['COUNT', '0'],
                 ['COUNT', '2'], ['COUNT', '10'], ['RANK', '2', 'COUNT', '0'],
                 ['RANK', '-1', 'COUNT', '2'], ['MAXLEN', '3'], ['MAXLEN', '4'],
                 ['COUNT', '0', 'MAXLEN', '7'], ['RANK', '-1', 'MAXLEN', '1'],
                 ['RANK', '-1', 'MAXLEN', '2', 'COUNT', '0'], ['MAXLEN', '0'],
                 ['rank', '1', 'count', '1', 'maxlen', '0'], ['RANK', '1', 'RANK', '2'],
                 ['RANK', I64MAX], ['RANK', I64MIN], ['COUNT', I64MAX]):
        p.c('LPOS', 'l', 'c', *opts)
    p.c('LPOS', 'l', 'zz')
    p.c('LPOS', 'l', 'zz', 'COUNT', '0')
    p.c('LPOS', 'nokey', 'a')
    p.c('LPOS', 'nokey', 'a', 'COUNT', '1')
    # errors
    for opts in (['RANK', '0'], ['RANK', 'x'], ['COUNT', '-1'], ['COUNT', 'x'],
                 ['MAXLEN', '-1'], ['MAXLEN', 'x'], ['RANK'], ['COUNT'], ['FOO', '1'],
                 ['RANK', '0', 'COUNT', '-1'], ['COUNT', '-1', 'RANK', '0'],
                 ['RANK', '1', 'FOO']):
        p.c('LPOS', 'l', 'c', *opts)
        p.c('LPOS', 'nokey', 'c', *opts)
    p.c('SET', 'str', 'v')
    p.c('LPOS', 'str', 'c')
    p.c('LPOS', 'str', 'c', 'RANK', '0')


def sec_move_mpop(d, p):
    d.section = 'move-mpop'
    p.c('FLUSHALL')
    p.c('RPUSH', 'a', '1', '2', '3')
    for w1 in ('LEFT', 'RIGHT'):
        for w2 in ('LEFT', 'RIGHT'):
            p.c('LMOVE', 'a', 'b', w1, w2)
            p.c('LRANGE', 'a', '0', '-1')
            p.c('LRANGE', 'b', '0', '-1')
    p.c('LMOVE', 'b', 'b', 'LEFT', 'RIGHT')
    p.c('LRANGE', 'b', '0', '-1')
    p.c('LMOVE', 'b', 'b', 'right', 'left')
    p.c('LRANGE', 'b', '0', '-1')
    p.c('LMOVE', 'nokey', 'b', 'LEFT', 'LEFT')
    p.c('LMOVE', 'a', 'b', 'UP', 'LEFT')
    p.c('LMOVE', 'a', 'b', 'LEFT', 'DOWN')
    p.c('LMOVE', 'nokey', 'b', 'UP', 'LEFT')
    p.c('SET', 'str', 'v')
    p.c('LMOVE', 'str', 'b', 'LEFT', 'LEFT')
    p.c('LMOVE', 'b', 'str', 'LEFT', 'LEFT')
    p.c('LMOVE', 'nokey', 'str', 'LEFT', 'LEFT')
    p.c('LRANGE', 'b', '0', '-1')
    p.c('RPOPLPUSH', 'b', 'c')
    p.c('RPOPLPUSH', 'c', 'c')
    p.c('RPOPLPUSH', 'nokey', 'c')
    p.c('RPOPLPUSH', 'str', 'c')
    p.c('RPOPLPUSH', 'c', 'str')
    # emptying the source deletes it
    p.c('RPUSH', 'one', 'x')
    p.c('LMOVE', 'one', 'two', 'LEFT', 'RIGHT')
    p.c('EXISTS', 'one')
    p.c('LRANGE', 'two', '0', '-1')
    # LMPOP
    p.c('DEL', 'a', 'b', 'c')
    p.c('RPUSH', 'b', '1', '2', '3', '4', '5')
    p.c('LMPOP', '2', 'a', 'b', 'LEFT')
    p.c('LMPOP', '2', 'a', 'b', 'RIGHT', 'COUNT', '2')
    p.c('LMPOP', '2', 'a', 'b', 'right', 'count', '10')
    p.c('LMPOP', '2', 'a', 'b', 'LEFT')
    p.c('LMPOP', '1', 'a', 'LEFT')
    p.c('RPUSH', 'b', 'x')
    p.c('LMPOP', '3', 'a', 'str', 'b', 'LEFT')
    p.c('LMPOP', '2', 'a', 'b', 'LEFT')
    for args in (['0', 'a', 'LEFT'], ['-1', 'a', 'LEFT'], ['x', 'a', 'LEFT'],
                 ['2', 'a', 'LEFT'], ['1', 'a', 'UP'], ['1', 'a', 'LEFT', 'COUNT'],
                 ['1', 'a', 'LEFT', 'COUNT', '0'], ['1', 'a', 'LEFT', 'COUNT', '-1'],
                 ['1', 'a', 'LEFT', 'COUNT', 'x'], ['1', 'a', 'LEFT', 'COUNT', '1', 'COUNT', '1'],
                 ['1', 'a', 'LEFT', 'FOO'], ['3', 'a', 'b', 'LEFT'],
                 ['1', 'a', 'b', 'LEFT'], [I64MAX, 'a', 'LEFT'],
                 ['2147483648', 'a', 'LEFT'], ['1', 'a', 'LEFT', 'COUNT', I64MAX]):
        p.c('LMPOP', *args)


def sec_errors(d, p):
    d.section = 'errors'
    p.c('FLUSHALL')
    p.c('SET', 's', 'str')
    p.c('RPUSH', 'l', 'a', 'b')
    for args in (['LPUSH'], ['LPUSH', 'l'], ['RPUSH', 'l'], ['LPUSHX', 'l'], ['RPUSHX'],
                 ['LPOP'], ['LPOP', 'l', '1', '2'], ['RPOP', 'l', '1', 'x'], ['LLEN'],
                 ['LLEN', 'l', 'x'], ['LRANGE', 'l', '0'], ['LRANGE', 'l', '0', '1', '2'],
                 ['LINDEX', 'l'], ['LINDEX', 'l', '0', '1'], ['LSET', 'l', '0'],
                 ['LINSERT', 'l', 'BEFORE', 'a'], ['LREM', 'l', '0'], ['LTRIM', 'l', '0'],
                 ['LPOS', 'l'], ['LMOVE', 'l', 'm', 'LEFT'], ['RPOPLPUSH', 'l'],
                 ['LMPOP', '1', 'l'], ['LMPOP', '1']):
        p.c(*args)
    for args in (['LPUSH', 's', 'x'], ['RPUSH', 's', 'x'], ['LPUSHX', 's', 'x'],
                 ['RPUSHX', 's', 'x'], ['LPOP', 's'], ['RPOP', 's', '2'], ['LPOP', 's', '0'],
                 ['LLEN', 's'], ['LRANGE', 's', '0', '-1'], ['LINDEX', 's', '0'],
                 ['LSET', 's', '0', 'x'], ['LINSERT', 's', 'BEFORE', 'a', 'b'],
                 ['LREM', 's', '0', 'a'], ['LTRIM', 's', '0', '1'], ['LPOS', 's', 'a'],
                 ['LMOVE', 's', 'l', 'LEFT', 'LEFT'], ['RPOPLPUSH', 's', 'l'],
                 ['LMPOP', '1', 's', 'LEFT'],
                 # which error wins: arguments before the key's type
                 ['LRANGE', 's', 'x', '1'], ['LINDEX', 's', 'x'], ['LSET', 's', 'x', 'v'],
                 ['LREM', 's', 'x', 'a'], ['LTRIM', 's', 'x', '1'],
                 ['LINSERT', 's', 'nowhere', 'a', 'b'], ['LPOP', 's', '-1'],
                 ['LPOP', 's', 'x'], ['LMOVE', 's', 'l', 'X', 'LEFT']):
        p.c(*args)
    for c in ('LPOP', 'RPOP'):
        for n in ('-1', 'x', '', '1.5', I64MAX, '9223372036854775808', ' 1'):
            p.c(c, 'l', n)
            p.c(c, 'nokey', n)
    for i in ('x', '1.5', '', '9223372036854775808'):
        p.c('LINDEX', 'l', i)
        p.c('LINDEX', 'nokey', i)
        p.c('LRANGE', 'l', i, '1')
        p.c('LRANGE', 'nokey', '0', i)
    p.c('GET', 's')
    p.c('LRANGE', 'l', '0', '-1')


def sec_generic(d, p):
    d.section = 'generic'
    p.c('FLUSHALL')
    p.c('RPUSH', 'l', 'a', 'b', 'c', '1', '2')
    p.c('TYPE', 'l')
    p.c('OBJECT', 'ENCODING', 'l')
    p.c('DEBUG', 'DIGEST-VALUE', 'l')
    p.c('DEBUG', 'DIGEST')
    p.c('COPY', 'l', 'l2')
    p.c('COPY', 'l', 'l2')
    p.c('COPY', 'l', 'l2', 'REPLACE')
    p.c('LPUSH', 'l2', 'new')
    p.c('LRANGE', 'l', '0', '-1')
    p.c('LRANGE', 'l2', '0', '-1')
    p.c('RENAME', 'l2', 'l3')
    p.c('LRANGE', 'l3', '0', '-1')
    p.c('TYPE', 'l2')
    p.c('EXPIRE', 'l3', '1000')
    p.c('LPUSH', 'l3', 'x')
    p.c('RPOP', 'l3')
    p.c('LSET', 'l3', '0', 'y')
    p.c('LINSERT', 'l3', 'AFTER', 'y', 'z')
    p.c('LREM', 'l3', '1', 'a')
    p.c('LTRIM', 'l3', '0', '-2')
    p.c('TTL', 'l3')
    p.c('LMOVE', 'l3', 'l3', 'LEFT', 'RIGHT')
    p.c('TTL', 'l3')
    p.c('PERSIST', 'l3')
    p.c('TTL', 'l3')
    p.c('DEBUG', 'DIGEST-VALUE', 'l', 'l3', 'nokey')
    p.c('DEBUG', 'DIGEST')
    p.c('MEMORY', 'USAGE', 'nokey')
    p.c('DEL', 'l', 'l3')
    p.c('DBSIZE')
    # MULTI/EXEC
    p.c('MULTI')
    p.c('RPUSH', 'm', 'a', 'b')
    p.c('LPUSH', 'm', 'z')
    p.c('LMOVE', 'm', 'n', 'LEFT', 'LEFT')
    p.c('LRANGE', 'm', '0', '-1')
    p.c('LPOP', 'm', '5')
    p.c('LLEN', 'm')
    p.c('LMPOP', '2', 'm', 'n', 'RIGHT')
    p.c('EXEC')
    p.c('LRANGE', 'n', '0', '-1')
    p.c('MULTI')
    p.c('LPUSH', 'n', 'x')
    p.c('LPOP', 'n', 'x')
    p.c('EXEC')
    p.c('LRANGE', 'n', '0', '-1')
    # DEBUG DIGEST-VALUE across encodings (a large list on kvsd)
    p.c('RPUSH', 'big', *['elem-%d' % i for i in range(2000)])
    p.c('DEBUG', 'DIGEST-VALUE', 'big')
    p.c('COPY', 'big', 'big2')
    p.c('DEBUG', 'DIGEST-VALUE', 'big2')
    p.c('RENAME', 'big2', 'big3')
    p.c('LINDEX', 'big3', '1500')
    p.c('OBJECT', 'ENCODING', 'big3')
    p.c('DEBUG', 'DIGEST')
    p.c('CONFIG', 'GET', 'list-*', cmp=as_map)
    p.c('CONFIG', 'SET', 'list-compress-depth', '2')
    p.c('CONFIG', 'GET', 'list-compress-depth')
    p.c('CONFIG', 'SET', 'list-compress-depth', '-1')
    p.c('CONFIG', 'SET', 'list-compress-depth', '0')
    p.c('CONFIG', 'SET', 'list-max-ziplist-size', '7')
    p.c('CONFIG', 'GET', 'list-max-listpack-size')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', 'x')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '2147483648')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '-2147483648')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '-2')


def sec_thresholds(d, p):
    d.section = 'thresholds'
    for fill, sizes in (('4', [3, 4, 5]), ('1', [1, 2]), ('0', [1, 2]),
                        ('-1', [70, 71, 72]), ('-2', [150, 151, 152]), ('-5', [1150, 1200])):
        p.c('FLUSHALL')
        p.c('CONFIG', 'SET', 'list-max-listpack-size', fill)
        for n in sizes:
            key = 'k%d' % n
            # 50-byte items: a listpack entry of 52 bytes
            p.c('RPUSH', key, *[('%d-' % i).ljust(50, 'x') for i in range(n)])
            p.c('OBJECT', 'ENCODING', key)
            p.c('LRANGE', key, '0', '-1')
            p.c('LINDEX', key, str(n // 2))
            p.c('LSET', key, str(n // 2), 'set')
            p.c('LINSERT', key, 'BEFORE', 'set', 'ins')
            p.c('LPUSH', key, 'head')
            p.c('LREM', key, '0', 'ins')
            p.c('LPOS', key, 'set')
            p.c('OBJECT', 'ENCODING', key)
            p.c('DEBUG', 'DIGEST-VALUE', key)
            p.c('LPOP', key, str(n // 2))
            p.c('LRANGE', key, '0', '-1')
            p.c('RPOP', key, str(n))
            p.c('EXISTS', key)
        # integers: the listpack encodes them short
        p.c('RPUSH', 'ints', *[str(i * 1000) for i in range(300)])
        p.c('LRANGE', 'ints', '-3', '-1')
        p.c('OBJECT', 'ENCODING', 'ints')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '-2')


def sec_sort(d, p):
    d.section = 'sort'
    p.c('FLUSHALL')
    p.c('RPUSH', 'l', '3', '1', '2', '10', '-5')
    p.c('SORT', 'l')
    p.c('SORT', 'l', 'DESC')
    p.c('SORT', 'l', 'ALPHA')
    p.c('SORT', 'l', 'LIMIT', '1', '2')
    p.c('SORT_RO', 'l')
    p.c('SORT', 'l', 'BY', 'nosort')
    p.c('SORT', 'l', 'STORE', 'dst')
    p.c('LRANGE', 'dst', '0', '-1')
    p.c('TYPE', 'dst')
    p.c('SORT', 'l', 'LIMIT', '0', '0', 'STORE', 'dst')
    p.c('EXISTS', 'dst')
    p.c('SORT', 'nokey', 'STORE', 'dst')
    p.c('SET', 'dst', 'v')
    p.c('SORT', 'l', 'STORE', 'dst')
    p.c('TYPE', 'dst')
    p.c('SORT_RO', 'l', 'STORE', 'dst')
    p.c('RPUSH', 'words', 'b', 'a', 'c')
    p.c('SORT', 'words')
    p.c('SORT', 'words', 'ALPHA', 'STORE', 'w2')
    p.c('LRANGE', 'w2', '0', '-1')
    p.c('SADD', 'set', '5', '3', '9')
    p.c('SORT', 'set', 'STORE', 'fromset')
    p.c('LRANGE', 'fromset', '0', '-1')
    p.c('ZADD', 'z', '1', 'x', '2', 'y')
    p.c('SORT', 'z', 'BY', 'nosort', 'ALPHA', 'STORE', 'fromz')
    p.c('LRANGE', 'fromz', '0', '-1')
    p.c('MSET', 'w_1', '3', 'w_3', '1', 'w_2', '2', 'o_1', 'one', 'o_2', 'two')
    p.c('RPUSH', 'ids', '1', '2', '3')
    p.c('SORT', 'ids', 'BY', 'w_*', 'GET', '#', 'GET', 'o_*', 'STORE', 'got')
    p.c('LRANGE', 'got', '0', '-1')
    p.c('SORT', 'ids', 'STORE')
    p.c('SORT', 'l', 'STORE', 'l')
    p.c('LRANGE', 'l', '0', '-1')


def ql_compressed(a, b):
    """DEBUG OBJECT of a list: the same ql_compressed field (the rest differs:
    addresses, kvsd's serialized length and node sizes)."""
    def field(r):
        v = harness.parse(r)
        if not isinstance(v, str):
            return None
        for w in v.split():
            if w.startswith('ql_compressed:'):
                return w
        return None
    return field(a) is not None and field(a) == field(b)


def expect(d, what, ok, detail=''):
    d.count += 1
    if not ok:
        d.report(what, ('%r' % (detail,)).encode(), b'(expected)')


def sec_config_effects(d, p):
    """The list settings take effect at once: list-compress-depth in DEBUG
    OBJECT's ql_compressed (against redis-server); list-max-listpack-size
    (and its alias) in kvsd's MEMORY USAGE, where a list that outgrows one
    node becomes a tree of chunks (Redis answers quicklist either way)."""
    d.section = 'config-effects'
    p.c('FLUSHALL')
    for depth in ('1', '0'):
        p.c('CONFIG', 'SET', 'list-compress-depth', depth)
        p.c('RPUSH', 'c' + depth, 'a', 'b')
        p.c('DEBUG', 'OBJECT', 'c' + depth, cmp=ql_compressed)
    c = d.sa.client(timeout=10.0)
    sizes = {}
    for name, fill in (('list-max-listpack-size', '-2'), ('list-max-listpack-size', '1'),
                       ('list-max-ziplist-size', '-2'), ('list-max-ziplist-size', '1')):
        c.cmd('CONFIG', 'SET', name, fill)
        key = 'm%s%s' % (name[10:14], fill)
        c.cmd('RPUSH', key, 'a', 'b')
        sizes[(name, fill)] = harness.parse(c.cmd('MEMORY', 'USAGE', key))
    for name in ('list-max-listpack-size', 'list-max-ziplist-size'):
        small, big = sizes[(name, '-2')], sizes[(name, '1')]
        expect(d, ['MEMORY USAGE after CONFIG SET', name],
               isinstance(small, int) and isinstance(big, int) and big >= small + 512,
               (small, big))
    c.cmd('CONFIG', 'SET', 'list-max-listpack-size', '-2')
    c.close()


# ---------------------------------------------------------------- random

ELEMS = ['a', 'b', 'c', '', '1', '42', '-7', 'x' * 30, 'y' * 70]


def rnd_elem(rng):
    if rng.random() < 0.1:
        return ''.join(rng.choice('ab') for _ in range(rng.randint(1, 200)))
    return rng.choice(ELEMS)


def rnd_idx(rng):
    return str(rng.choice([0, 1, 2, -1, -2, 5, -5, 20, -20, 100, 1000]) + rng.randint(-2, 2))


def comp_elem(rng):
    """An element of the compression runs: mostly compressible."""
    if rng.random() < 0.6:
        return 'job:%d:payload-payload-payload' % rng.randint(0, 30)
    return rnd_elem(rng)


def cross_restore(p, k, k2):
    """k's DUMP payload from each server RESTOREd (as k2) on both."""
    for side in (p.a, p.b):
        payload = harness.parse(side.cmd('DUMP', k))
        if isinstance(payload, bytes):
            p.c('RESTORE', k2, '0', payload, 'REPLACE')
            p.c('LRANGE', k2, '0', '-1')


def mem_usage_eq(a, b):
    """MEMORY USAGE: the same reply type (sizes differ between servers)."""
    return a[:1] == b[:1] and (a[:1] != b':' or harness.parse(a) > 0)


def sec_compress_memory(d, p):
    """kvsd's MEMORY USAGE of a 10k-element compressible list built with
    list-compress-depth 0 and then 1: smaller compressed (Redis's shrinks
    too, and LRANGE / DEBUG DIGEST-VALUE stay equal on both servers)."""
    d.section = 'compress-memory'
    p.c('FLUSHALL')
    usage = {}
    for depth in ('0', '1'):
        p.c('CONFIG', 'SET', 'list-compress-depth', depth)
        key = 'mem' + depth
        for j in range(0, 10000, 500):
            p.c('RPUSH', key, *['job:%d:payload-payload-payload' % ((j + m) % 31)
                                for m in range(500)])
        ra, rb = p.c('MEMORY', 'USAGE', key, cmp=mem_usage_eq)
        usage[depth] = (harness.parse(ra), harness.parse(rb))
        p.c('DEBUG', 'DIGEST-VALUE', key)
        p.c('LRANGE', key, '4990', '5010')
    harness.log('diff-list: MEMORY USAGE of 10k compressible items, depth 0 / 1: '
                'kvsd %d / %d, redis %d / %d' % (usage['0'][0], usage['1'][0],
                                                 usage['0'][1], usage['1'][1]))
    expect(d, ['MEMORY USAGE kvsd depth 1 < half of depth 0'],
           usage['1'][0] * 2 < usage['0'][0], usage)
    p.c('CONFIG', 'SET', 'list-compress-depth', '0')


def sec_random(d, p, rng, count, depth=None):
    d.section = 'random' if depth is None else 'random-compress-%s' % depth
    p.c('FLUSHALL')
    keys = ['k1', 'k2', 'k3', 'h', 's']
    el = rnd_elem if depth is None else comp_elem
    sizes = [1, 1, 2, 3, 10, 60] if depth is None else [1, 2, 10, 60, 150, 300]
    p.c('CONFIG', 'SET', 'list-max-listpack-size', rng.choice(['-2', '-1', '8', '3']))
    if depth is not None:
        p.c('CONFIG', 'SET', 'list-compress-depth', depth)
    for i in range(count):
        k = rng.choice(keys)
        k2 = rng.choice(keys)
        r = rng.random()
        if depth is not None and r < 0.03:
            cross_restore(p, k, k2)
            continue
        if depth is not None and r < 0.05:
            p.c('MEMORY', 'USAGE', k, cmp=mem_usage_eq)
            continue
        if r < 0.20:
            n = rng.choice(sizes)
            p.c(rng.choice(['LPUSH', 'RPUSH', 'LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX']), k,
                *[el(rng) for _ in range(n)])
        elif r < 0.32:
            args = [rng.choice(['LPOP', 'RPOP']), k]
            if rng.random() < 0.5:
                args.append(str(rng.choice([0, 1, 2, 5, 50])))
            p.c(*args)
        elif r < 0.40:
            p.c('LRANGE', k, rnd_idx(rng), rnd_idx(rng))
        elif r < 0.44:
            p.c('LINDEX', k, rnd_idx(rng))
        elif r < 0.48:
            p.c('LSET', k, rnd_idx(rng), el(rng))
        elif r < 0.52:
            p.c('LINSERT', k, rng.choice(['BEFORE', 'AFTER']), el(rng), el(rng))
        elif r < 0.56:
            p.c('LREM', k, str(rng.randint(-3, 3)), el(rng))
        elif r < 0.59:
            p.c('LTRIM', k, rnd_idx(rng), rnd_idx(rng))
        elif r < 0.63:
            args = ['LPOS', k, el(rng)]
            for opt in ('RANK', 'COUNT', 'MAXLEN'):
                if rng.random() < 0.3:
                    args += [opt, str(rng.choice([-2, -1, 1, 2, 0, 3]))]
            p.c(*args)
        elif r < 0.68:
            p.c('LMOVE', k, k2, rng.choice(['LEFT', 'RIGHT']), rng.choice(['LEFT', 'RIGHT']))
        elif r < 0.70:
            p.c('RPOPLPUSH', k, k2)
        elif r < 0.74:
            ks = rng.sample(keys, rng.randint(1, 3))
            args = ['LMPOP', str(len(ks))] + ks + [rng.choice(['LEFT', 'RIGHT'])]
            if rng.random() < 0.5:
                args += ['COUNT', str(rng.choice([1, 2, 7]))]
            p.c(*args)
        elif r < 0.77:
            p.c('LLEN', k)
        elif r < 0.80:
            p.c('SET', k, el(rng))
        elif r < 0.83:
            p.c('HSET', k, el(rng), el(rng))
        elif r < 0.85:
            p.c('DEL', k)
        elif r < 0.87:
            p.c('GET', k)
        elif r < 0.89:
            p.c('TYPE', k)
        elif r < 0.91:
            p.c('OBJECT', 'ENCODING', k)
        elif r < 0.93:
            p.c('SORT', k, 'ALPHA', 'LIMIT', '0', '5')
        elif r < 0.95:
            p.c('COPY', k, k2, 'REPLACE')
        elif r < 0.97:
            p.c('RENAME', k, k2)
        else:
            p.c('DEBUG', 'DIGEST-VALUE', k)
        if i % 50 == 49:
            for key in keys:
                p.c('TYPE', key)
                p.c('LRANGE', key, '0', '-1')
                p.c('DEBUG', 'DIGEST-VALUE', key)
    p.c('DEBUG', 'DIGEST')
    p.c('CONFIG', 'SET', 'list-max-listpack-size', '-2')
    if depth is not None:
        p.c('CONFIG', 'SET', 'list-compress-depth', '0')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '1414')))
    ap.add_argument('--count', type=int, default=3000)
    args = ap.parse_args()
    servers = test_diff.start_pair('diff-list', DEBUG_ON, DEBUG_ON)
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    harness.log('diff-list: seed %d' % args.seed)
    try:
        p = d.pair()
        for resp in (2, 3):
            if resp == 3:
                p.close()
                p = d.pair()
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            sec_basic(d, p)
            sec_lpos(d, p)
            sec_move_mpop(d, p)
            sec_errors(d, p)
            sec_generic(d, p)
            sec_thresholds(d, p)
            sec_config_effects(d, p)
            sec_sort(d, p)
            sec_random(d, p, random.Random(args.seed + resp),
                       args.count if resp == 2 else args.count // 3)
            if resp == 2:
                sec_compress_memory(d, p)
                for depth in ('1', '2'):
                    sec_random(d, p, random.Random(args.seed + 10 + int(depth)),
                               args.count // 2, depth=depth)
        p.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-list: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-list', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
