#!/usr/bin/env python3
"""Differential test: what already existed learns hashes, sets and sorted sets
(issue 13) and lists (issue 14), against redis-server 7.0.

- WRONGTYPE: every string, bitmap and HyperLogLog command that reads a value,
  on a hash, a set and a sorted set, with the argument errors Redis checks
  first (and MGET's nil, LCS's own error); SET / MSET / SETNX / GETSET /
  BITOP's destination replacing a value of any type.
- TYPE, OBJECT ENCODING (listpack / intset / hashtable / skiplist around the
  thresholds), OBJECT FREQ/IDLETIME, SCAN ... TYPE (unknown names match
  nothing), EXISTS, DEL, UNLINK, DBSIZE, RENAME/RENAMENX, MOVE, COPY (REPLACE,
  DB: a deep copy, the source unchanged after the copy is written), EXPIRE /
  PEXPIRE / PERSIST / TTL, FLUSHALL, INFO keyspace, MEMORY USAGE (an integer),
  DEBUG OBJECT's encoding, DEBUG DIGEST and DIGEST-VALUE (identical digests of
  the same dataset, every encoding, with and without TTLs).
- SORT / SORT_RO over sets and sorted sets: numeric and ALPHA, ASC/DESC,
  LIMIT (negative, past the end), BY key patterns, BY nosort (a sorted set's
  own order with LIMIT), BY / GET hash fields (`w_*->f`), GET # and keys,
  missing keys and fields, the conversion error, STORE of an empty result,
  SORT_RO STORE, WRONGTYPE.
- CONFIG GET / SET of the encoding thresholds and their *-ziplist-* aliases.
RESP2 and RESP3 where replies differ (SORT, CONFIG GET, COPY, DEBUG DIGEST).
Where Redis's order is undefined (hashtable sets) arrays are compared as
multisets.

SORT ... STORE of a non-empty result writes a list (every source type).

kvsd only: eviction under each of the eight maxmemory policies with typed keys present
(keys are evicted, kvsd keeps serving, used_memory ends under the limit);
FLUSHALL and expiry of a large typed key.

Usage: test_diff_keyspace_types.py   (environment: see harness.py)
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import parse  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact, sorted_array, both_integer, info_sections  # noqa: E402

DEBUG = ('--enable-debug-command', 'yes')
I64MIN = '-9223372036854775808'


def keyspace_eq(a, b):
    """INFO keyspace: the same db lines with keys= and expires= (avg_ttl is a
    sampled estimate on both servers)."""
    sa, sb = info_sections(a), info_sections(b)
    if sa is None or sb is None:
        return False

    def strip(secs):
        ks = secs.get('keyspace', {})
        return {k: re.sub(r',avg_ttl=\d+', '', v) for k, v in ks.items()}
    return strip(sa) == strip(sb)


def as_map(a, b):
    """CONFIG GET: the same name/value pairs in any order (RESP2 flat array or
    RESP3 map)."""
    va, vb = parse(a), parse(b)
    if not (isinstance(va, list) and isinstance(vb, list)) or a[:1] != b[:1]:
        return a == b
    if a[:1] == b'%':    # RESP3: a list of pairs
        return sorted(va) == sorted(vb)
    return sorted(zip(va[::2], va[1::2])) == sorted(zip(vb[::2], vb[1::2]))


def debug_encoding(a, b):
    """DEBUG OBJECT: the same encoding: field (addresses and sizes differ)."""
    ea = re.search(rb'encoding:(\S+)', a)
    eb = re.search(rb'encoding:(\S+)', b)
    return ea is not None and eb is not None and ea.group(1) == eb.group(1)


# ---------------------------------------------------------------- datasets

def load_types(p, big=False):
    """h (hash), s (set of strings), si (set of integers), z (zset), l (list);
    with big the hashtable / skiplist encodings and kvsd's large list too."""
    p.c('HSET', 'h', 'f1', 'v1', 'f2', '2', 'num', '10')
    p.c('RPUSH', 'l', 'a', '10', '', '-3', 'b', 'a')
    p.c('SADD', 's', 'a', 'b', 'c', '10', '-3')
    p.c('SADD', 'si', '3', '1', '2', '-7', '100')
    p.c('ZADD', 'z', '1', 'one', '2', 'two', '2.5', 'x', '-1', 'neg', '1', 'uno')
    if big:
        p.c('HSET', 'hbig', *[x for i in range(600) for x in ('f%d' % i, 'v%d' % i)])
        p.c('SADD', 'sbig', *['m%d' % i for i in range(600)])
        p.c('SADD', 'sibig', *[str(i * 3) for i in range(600)])
        p.c('ZADD', 'zbig', *[x for i in range(200) for x in (str(i * 0.5), 'e%d' % i)])
        p.c('HSET', 'hlong', 'f', 'x' * 100)
        p.c('ZADD', 'zlong', '1', 'y' * 100)
        p.c('RPUSH', 'lbig', *['item-%d' % i for i in range(3000)])
        p.c('RPUSH', 'llong', 'z' * 10000, 'short')


STRING_READERS = [
    ('GET', '{k}'), ('GETSET', '{k}', 'v'), ('SET', '{k}', 'v', 'GET'),
    ('SET', '{k}', 'v', 'NX', 'GET'), ('SET', '{k}', 'v', 'XX', 'GET'),
    ('SET', '{k}', 'v', 'EX', '0', 'GET'), ('GETDEL', '{k}'), ('GETEX', '{k}'),
    ('GETEX', '{k}', 'EX', '0'), ('GETEX', '{k}', 'EX', 'abc'), ('GETEX', '{k}', 'PERSIST'),
    ('GETEX', '{k}', 'BAD'), ('GETRANGE', '{k}', '0', '-1'), ('GETRANGE', '{k}', 'a', '1'),
    ('SUBSTR', '{k}', '0', '1'), ('STRLEN', '{k}'), ('APPEND', '{k}', 'x'),
    ('APPEND', '{k}', ''), ('INCR', '{k}'), ('DECR', '{k}'), ('INCRBY', '{k}', '2'),
    ('INCRBY', '{k}', 'x'), ('DECRBY', '{k}', '2'), ('DECRBY', '{k}', I64MIN),
    ('INCRBYFLOAT', '{k}', '1.5'), ('INCRBYFLOAT', '{k}', 'abc'),
    ('SETRANGE', '{k}', '0', 'x'), ('SETRANGE', '{k}', '0', ''), ('SETRANGE', '{k}', '-1', 'x'),
    ('SETRANGE', '{k}', 'a', 'x'), ('MGET', '{k}'), ('MGET', 'nokey', '{k}', 'str'),
    ('LCS', '{k}', 'str'), ('LCS', 'str', '{k}'), ('LCS', '{k}', 'nokey', 'LEN'),
    ('LCS', '{k}', 'str', 'BAD'), ('SETBIT', '{k}', '0', '1'), ('SETBIT', '{k}', 'x', '1'),
    ('SETBIT', '{k}', '0', '2'), ('GETBIT', '{k}', '0'), ('GETBIT', '{k}', 'x'),
    ('BITCOUNT', '{k}'), ('BITCOUNT', '{k}', '0', '-1'), ('BITCOUNT', '{k}', 'x', 'y'),
    ('BITPOS', '{k}', '1'), ('BITPOS', '{k}', '2'), ('BITPOS', '{k}', '0', '1', '2', 'BIT'),
    ('BITOP', 'AND', 'dst', 'str', '{k}'), ('BITOP', 'NOT', 'dst', '{k}'),
    ('BITOP', 'OR', 'dst', '{k}', 'nokey'),
    ('BITFIELD', '{k}', 'GET', 'u8', '0'), ('BITFIELD', '{k}', 'SET', 'u8', '0', '1'),
    ('BITFIELD', '{k}', 'GET', 'u99', '0'), ('BITFIELD_RO', '{k}', 'GET', 'u8', '0'),
    ('BITFIELD_RO', '{k}', 'SET', 'u8', '0', '1'),
    ('PFADD', '{k}', 'a'), ('PFADD', '{k}'), ('PFCOUNT', '{k}'), ('PFCOUNT', 'nokey', '{k}'),
    ('PFMERGE', '{k}', 'nokey'), ('PFMERGE', 'dst', '{k}'), ('PFDEBUG', 'GETREG', '{k}'),
    ('PFDEBUG', 'ENCODING', '{k}'),
]


def sec_wrongtype(d, p):
    d.section = 'wrongtype'
    for k in ('h', 's', 'si', 'z', 'l'):
        p.c('FLUSHALL')
        load_types(p)
        p.c('SET', 'str', 'hello')
        for cmd in STRING_READERS:
            p.c(*[a.replace('{k}', k) for a in cmd])
            p.c('TYPE', k)          # nothing above may have replaced it ...
        p.c('TYPE', 'dst')          # ... and BITOP's destination was not written
        p.c('GET', 'str')


def sec_overwrite(d, p):
    """Commands that write a string replace a value of any type, as Redis."""
    d.section = 'overwrite'
    writes = [
        ('SET', '{k}', 'v'), ('SET', '{k}', 'v', 'NX'), ('SET', '{k}', 'v', 'XX'),
        ('SET', '{k}', 'v', 'KEEPTTL'), ('SETEX', '{k}', '100', 'v'),
        ('PSETEX', '{k}', '100000', 'v'), ('SETNX', '{k}', 'v'), ('MSET', '{k}', 'v', 'o', '1'),
        ('MSETNX', '{k}', 'v', 'o2', '1'), ('BITOP', 'OR', '{k}', 'str'),
        ('BITOP', 'OR', '{k}', 'nokey'),
    ]
    for w in writes:
        for k in ('h', 's', 'si', 'z', 'l'):
            p.c('FLUSHALL')
            load_types(p)
            p.c('SET', 'str', 'abc')
            p.c('EXPIRE', k, '1000')
            p.c(*[a.replace('{k}', k) for a in w])
            p.c('TYPE', k)
            p.c('OBJECT', 'ENCODING', k)
            p.c('TTL', k)
            p.c('EXISTS', 'o', 'o2')


def sec_generic(d, p, big):
    d.section = 'generic big=%s' % big
    p.c('FLUSHALL')
    load_types(p, big)
    p.c('SET', 'str', '1')
    keys = ['h', 's', 'si', 'z', 'l'] + (['hbig', 'sbig', 'sibig', 'zbig', 'hlong', 'zlong',
                                          'lbig', 'llong'] if big else [])
    for k in keys + ['str', 'nokey']:
        p.c('TYPE', k)
        p.c('OBJECT', 'ENCODING', k)
        p.c('OBJECT', 'REFCOUNT', k)
        p.c('OBJECT', 'IDLETIME', k, cmp=test_diff.int_close(2))
        p.c('OBJECT', 'FREQ', k)
        p.c('DEBUG', 'OBJECT', k, cmp=debug_encoding if k != 'nokey' else exact)
        p.c('MEMORY', 'USAGE', k, cmp=both_integer if k != 'nokey' else exact)
        p.c('MEMORY', 'USAGE', k, 'SAMPLES', '0', cmp=both_integer if k != 'nokey' else exact)
        p.c('DEBUG', 'DIGEST-VALUE', k)
    p.c('DEBUG', 'DIGEST-VALUE', *keys)
    p.c('DEBUG', 'DIGEST')
    p.c('EXISTS', *keys)
    p.c('DBSIZE')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    for t in ('hash', 'set', 'zset', 'string', 'HASH', 'ZSet', 'none', 'list', 'foo', ''):
        p.c('SCAN', '0', 'COUNT', '1000', 'TYPE', t, cmp=sorted_array_scan)
        p.c('SCAN', '0', 'COUNT', '1000', 'MATCH', '*big', 'TYPE', t, cmp=sorted_array_scan)
    # TTLs: kept by every command that moves or re-times a value
    for k in keys:
        p.c('EXPIRE', k, '1000')
        p.c('TTL', k)
        p.c('PEXPIRE', k, '2000000', 'GT')
        p.c('EXPIRE', k, '10', 'GT')
        p.c('TTL', k)
    p.c('DEBUG', 'DIGEST')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    for k in keys:
        p.c('PERSIST', k)
        p.c('TTL', k)
        p.c('OBJECT', 'ENCODING', k)
    p.c('DEBUG', 'DIGEST')
    p.c('EXPIRE', 'h', '1000')
    # RENAME / RENAMENX keep type, encoding, contents and TTL
    p.c('RENAME', 'h', 'h2')
    p.c('TYPE', 'h')
    p.c('TTL', 'h2')
    p.c('HGETALL', 'h2')
    p.c('RENAMENX', 'h2', 's')
    p.c('RENAMENX', 'h2', 'h')
    p.c('HGET', 'h', 'f1')
    p.c('RENAME', 'z', 's')         # replaces a value of another type
    p.c('TYPE', 's')
    p.c('ZRANGE', 's', '0', '-1', 'WITHSCORES')
    p.c('RENAME', 's', 's')
    p.c('DEBUG', 'DIGEST')
    if big:
        p.c('RENAME', 'zbig', 'zbig2')
        p.c('OBJECT', 'ENCODING', 'zbig2')
        p.c('ZRANGE', 'zbig2', '0', '5', 'WITHSCORES')
        p.c('ZADD', 'zbig2', '7', 'new')    # the renamed lineage is still writable
        p.c('ZSCORE', 'zbig2', 'new')
        p.c('RENAME', 'sbig', 'sbig2')
        p.c('SCARD', 'sbig2')
        p.c('SISMEMBER', 'sbig2', 'm599')
        p.c('RENAME', 'lbig', 'lbig2')
        p.c('OBJECT', 'ENCODING', 'lbig2')
        p.c('LPUSH', 'lbig2', 'new')    # the renamed lineage is still writable
        p.c('LRANGE', 'lbig2', '0', '3')
        p.c('LINDEX', 'lbig2', '2000')
        p.c('DEBUG', 'DIGEST')
    # MOVE between databases
    p.c('MOVE', 'si', '3')
    p.c('EXISTS', 'si')
    p.c('SELECT', '3')
    p.c('TYPE', 'si')
    p.c('SMEMBERS', 'si')
    p.c('OBJECT', 'ENCODING', 'si')
    p.c('MOVE', 'si', '0')
    p.c('SELECT', '0')
    if big:
        p.c('MOVE', 'hbig', '2')
        p.c('SELECT', '2')
        p.c('HLEN', 'hbig')
        p.c('HGET', 'hbig', 'f599')
        p.c('HSET', 'hbig', 'f599', 'changed')
        p.c('HGET', 'hbig', 'f599')
        p.c('SELECT', '0')
        p.c('MOVE', 'llong', '2')
        p.c('SELECT', '2')
        p.c('LRANGE', 'llong', '1', '1')
        p.c('RPUSH', 'llong', 'more')
        p.c('SELECT', '0')
        p.c('INFO', 'keyspace', cmp=keyspace_eq)
    # COPY: a deep copy; writing the copy leaves the source alone
    p.c('COPY', 'si', 'si2')
    p.c('COPY', 'si', 'si2')
    p.c('SADD', 'si2', '999')
    p.c('SCARD', 'si')
    p.c('SCARD', 'si2')
    p.c('COPY', 'h', 'str', 'REPLACE')
    p.c('TYPE', 'str')
    p.c('HSET', 'str', 'f1', 'other')
    p.c('HGET', 'h', 'f1')
    p.c('HGET', 'str', 'f1')
    p.c('COPY', 'l', 'l2')
    p.c('RPUSH', 'l2', 'copy-only')
    p.c('LRANGE', 'l', '0', '-1')
    p.c('LRANGE', 'l2', '0', '-1')
    p.c('EXPIRE', 's', '500')
    p.c('COPY', 's', 'z5', 'DB', '5')
    p.c('SELECT', '5')
    p.c('TTL', 'z5')
    p.c('ZRANGE', 'z5', '0', '-1', 'WITHSCORES')
    p.c('OBJECT', 'ENCODING', 'z5')
    p.c('SELECT', '0')
    if big:
        for src in ('hbig', 'sbig2', 'sibig', 'zbig2', 'lbig2'):
            if src == 'hbig':
                continue   # moved to database 2 above
            p.c('COPY', src, src + 'c')
            p.c('OBJECT', 'ENCODING', src + 'c')
            p.c('DEBUG', 'DIGEST-VALUE', src, src + 'c')
        p.c('SREM', 'sibigc', '0', '3', '6')
        p.c('SCARD', 'sibig')
        p.c('SCARD', 'sibigc')
        p.c('ZREM', 'zbig2c', 'e0')
        p.c('ZCARD', 'zbig2')
        p.c('ZCARD', 'zbig2c')
        p.c('LPOP', 'lbig2c', '5')
        p.c('LLEN', 'lbig2')
        p.c('LLEN', 'lbig2c')
        p.c('LINDEX', 'lbig2', '0')
        p.c('DEBUG', 'DIGEST')
    p.c('DEBUG', 'DIGEST')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    # DEL / UNLINK of every type
    p.c('DEL', 'h', 'si', 'nokey', 'si2')
    p.c('UNLINK', *keys)
    p.c('DBSIZE')
    p.c('FLUSHALL')
    p.c('DBSIZE')
    p.c('DEBUG', 'DIGEST')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)


def sorted_array_scan(a, b):
    """SCAN reply: cursor 0 on both, the same keys in any order."""
    va, vb = parse(a), parse(b)
    if not (isinstance(va, list) and isinstance(vb, list)):
        return a == b
    return va[0] == vb[0] and sorted(va[1]) == sorted(vb[1])


def sec_digest(d, p):
    """Digests of every encoding, built in different orders on the two sides
    would still match (an xor per element); here: the same commands."""
    d.section = 'digest'
    p.c('FLUSHALL')
    p.c('DEBUG', 'DIGEST')
    p.c('HSET', 'h', 'a', '1')
    p.c('DEBUG', 'DIGEST')
    p.c('DEBUG', 'DIGEST-VALUE', 'h')
    p.c('SADD', 's', '1', '2', '3')
    p.c('DEBUG', 'DIGEST-VALUE', 's')
    p.c('SADD', 's', 'x')
    p.c('DEBUG', 'DIGEST-VALUE', 's')
    p.c('ZADD', 'z', '1.5', 'a', '-0.1', 'b', 'inf', 'c', '-inf', 'd', '3', 'e',
        '0.30000000000000004', 'f', '1e300', 'g', '123456789012345678', 'h')
    p.c('DEBUG', 'DIGEST-VALUE', 'z')
    p.c('ZADD', 'zl', *[x for i in range(130) for x in (str(i / 7.0), 'm%d' % i)])
    p.c('DEBUG', 'DIGEST-VALUE', 'zl')
    p.c('OBJECT', 'ENCODING', 'zl')
    p.c('HSET', 'hl', *[x for i in range(513) for x in ('k%d' % i, str(i))])
    p.c('DEBUG', 'DIGEST-VALUE', 'hl')
    p.c('RPUSH', 'l', 'b', 'a', '1')
    p.c('DEBUG', 'DIGEST-VALUE', 'l')
    p.c('RPUSH', 'l2', 'a', 'b', '1')    # the same elements in another order
    p.c('DEBUG', 'DIGEST-VALUE', 'l2')
    p.c('RPUSH', 'll', *['e%d' % i for i in range(1000)])
    p.c('DEBUG', 'DIGEST-VALUE', 'll')
    p.c('EXPIRE', 'hl', '100')
    p.c('DEBUG', 'DIGEST-VALUE', 'hl')
    p.c('SELECT', '9')
    p.c('SADD', 'inother', 'x')
    p.c('SELECT', '0')
    p.c('DEBUG', 'DIGEST')


def cmp_nosort():
    """Marks a SORT case whose order is a set's own (BY without '*' sticks)."""


def sec_sort(d, p):
    d.section = 'sort'
    p.c('FLUSHALL')
    p.c('SADD', 'n', '3', '1', '10', '-2', '2.5', '007')
    p.c('SADD', 'a', 'banana', 'apple', 'cherry', 'Apple', '10', '9')
    p.c('SADD', 'e')
    p.c('ZADD', 'z', '3', 'c', '1', 'a', '2', 'b', '2', 'bb', '5', 'e')
    p.c('ZADD', 'zn', '3', '30', '1', '100', '2', '20')
    for k, ids in (('n', ['3', '1', '10', '-2', '2.5', '007']),
                   ('z', ['c', 'a', 'b', 'bb', 'e'])):
        for i, m in enumerate(ids):
            p.c('SET', 'w_%s' % m, str((i * 7) % 5))
            p.c('SET', 'o_%s' % m, 'obj-%s' % m)
            p.c('HSET', 'hw_%s' % m, 'f', str(10 - i), 'name', 'N%s' % m)
    p.c('SADD', 'words', 'c', 'a', 'b', 'bb', 'e')
    cases = [
        ('n',), ('n', 'DESC'), ('n', 'ASC'), ('n', 'LIMIT', '0', '2'),
        ('n', 'LIMIT', '1', '3', 'DESC'), ('n', 'LIMIT', '-5', '2'), ('n', 'LIMIT', '2', '-1'),
        ('n', 'LIMIT', '100', '5'), ('n', 'LIMIT', '0', '0'), ('n', 'LIMIT', '5', '1'),
        ('a',), ('a', 'ALPHA'), ('a', 'ALPHA', 'DESC'), ('a', 'ALPHA', 'LIMIT', '1', '2'),
        ('e',), ('nokey',), ('nokey', 'LIMIT', '0', '1', 'GET', '#'),
        ('z',), ('z', 'ALPHA'), ('z', 'ALPHA', 'DESC'), ('zn',), ('zn', 'DESC'),
        ('z', 'BY', 'nosort'), ('z', 'BY', 'nosort', 'DESC'),
        ('z', 'BY', 'nosort', 'LIMIT', '1', '2'), ('z', 'BY', 'nosort', 'DESC', 'LIMIT', '1', '2'),
        ('z', 'BY', 'nosort', 'LIMIT', '4', '10'), ('z', 'BY', 'nosort', 'LIMIT', '9', '1'),
        ('z', 'BY', 'nosort', 'GET', '#', 'GET', 'o_*'),
        ('z', 'BY', 'w_*'), ('z', 'BY', 'w_*', 'DESC'), ('z', 'BY', 'w_*', 'ALPHA'),
        ('z', 'BY', 'w_*', 'LIMIT', '1', '2'), ('z', 'BY', 'hw_*->f'),
        ('z', 'BY', 'hw_*->f', 'GET', 'hw_*->name', 'GET', '#'),
        ('z', 'BY', 'hw_*->missing', 'ALPHA'), ('z', 'BY', 'hw_*->name', 'ALPHA', 'DESC'),
        ('z', 'BY', 'nokey_*', 'ALPHA'), ('z', 'BY', 'nokey_*'),
        ('n', 'BY', 'w_*'), ('n', 'BY', 'w_*', 'DESC', 'GET', 'o_*', 'GET', '#'),
        ('n', 'BY', 'hw_*->f', 'GET', 'hw_*->f'), ('n', 'GET', 'nokey_*'),
        ('n', 'GET', 'o_*', 'GET', 'hw_*->name', 'GET', 'hw_*->', 'GET', 'w_*->f'),
        ('n', 'GET', 'fixed'), ('n', 'GET', '#', 'GET', '#'), ('n', 'BY', 'w_*->'),
        ('n', 'BY', 'nosort', 'BY', 'w_*', cmp_nosort), ('n', 'BY', 'w_*', 'BY', 'nosort',
                                                         cmp_nosort),
        ('n', 'GET', '#\x00x'), ('z', 'BY', 'w_*\x00->f'), ('z', 'GET', 'hw_*->f\x00g'),
        ('words', 'BY', 'w_*', 'GET', 'o_*'), ('words', 'ALPHA', 'GET', 'hw_*->name'),
        ('words', 'BY', 'hw_*->f', 'GET', '#'),
        # errors
        ('a',), ('a', 'BY', 'w_*'), ('z', 'BY', 'hw_*->name'), ('n', 'LIMIT', '1'),
        ('n', 'LIMIT', 'x', '1'), ('n', 'LIMIT', '1', 'x'), ('n', 'BAD'), ('n', 'GET'),
        ('n', 'BY'), ('n', 'STORE'), ('w_c',), ('hw_c',), ('w_c', 'BAD'), ('nokey', 'BAD'),
        ('hw_c', 'LIMIT', '0', '1'),
        # STORE of an empty result: the destination is deleted, 0
        ('e', 'STORE', 'w_c'), ('nokey', 'STORE', 'w_a'), ('n', 'LIMIT', '0', '0', 'STORE', 'o_c'),
        ('a', 'STORE', 'x'),
    ]
    # ALPHA by values that are all missing compare equal: the order is then
    # the sort's own (undefined), so those compare as multisets
    unordered = {('z', 'BY', 'hw_*->missing', 'ALPHA'), ('z', 'BY', 'nokey_*', 'ALPHA')}
    for c in cases:
        cmp = sorted_array if c in unordered or c[-1] is cmp_nosort else exact
        c = tuple(x for x in c if x is not cmp_nosort)
        p.c('SORT', *c, cmp=cmp)
        p.c('SORT_RO', *c, cmp=cmp)
        p.c('EXISTS', 'w_c', 'w_a', 'o_c', 'x')
    # a set in hashtable encoding: its nosort order is Redis's dict order
    p.c('SADD', 'big', *[str(i) for i in range(600)])
    p.c('SORT', 'big', 'BY', 'nosort', cmp=sorted_array)
    p.c('SORT', 'big', 'LIMIT', '590', '20')
    p.c('SORT', 'big', 'DESC', 'LIMIT', '0', '3')
    p.c('SORT', 'big', 'ALPHA', 'LIMIT', '0', '5')
    p.c('SADD', 'smallint', '5', '3', '9')
    p.c('SORT', 'smallint', 'BY', 'nosort')   # intset: ascending on both
    p.c('ZADD', 'zbig', *[x for i in range(200) for x in (str(i % 13), 'm%03d' % i)])
    p.c('SORT', 'zbig', 'BY', 'nosort', 'LIMIT', '100', '5')
    p.c('SORT', 'zbig', 'BY', 'nosort', 'DESC', 'LIMIT', '0', '7')
    p.c('SORT', 'zbig', 'ALPHA', 'LIMIT', '10', '3')
    # lists: their own order with BY nosort (DESC reverses it), STORE of
    # every source type writes a list over whatever the destination held
    p.c('RPUSH', 'l', '3', '1', '10', '-2', '2.5', '007', '1')
    p.c('RPUSH', 'lbig', *[str((i * 37) % 1000) for i in range(2000)])
    for c in (('l',), ('l', 'DESC'), ('l', 'ALPHA'), ('l', 'BY', 'nosort'),
              ('l', 'BY', 'nosort', 'DESC'), ('l', 'BY', 'nosort', 'LIMIT', '2', '3'),
              ('l', 'BY', 'nosort', 'DESC', 'LIMIT', '1', '2'), ('l', 'BY', 'w_*'),
              ('l', 'GET', '#', 'GET', 'o_*'), ('lbig', 'LIMIT', '1000', '5'),
              ('lbig', 'BY', 'nosort', 'LIMIT', '1500', '4'), ('lbig', 'DESC', 'LIMIT', '0', '3')):
        p.c('SORT', *c)
        p.c('SORT_RO', *c)
    p.c('SET', 'dst', 'string')
    p.c('EXPIRE', 'dst', '1000')
    for c in (('n', 'STORE', 'dst'), ('z', 'BY', 'nosort', 'STORE', 'dst'),
              ('a', 'ALPHA', 'STORE', 'dst'), ('l', 'DESC', 'STORE', 'dst'),
              ('n', 'GET', 'o_*', 'GET', '#', 'GET', 'nokey_*', 'STORE', 'dst'),
              ('big', 'BY', 'nosort', 'STORE', 'dst'), ('lbig', 'STORE', 'dst'),
              ('l', 'STORE', 'l'), ('l', 'LIMIT', '0', '0', 'STORE', 'dst')):
        p.c('SORT', *c)
        p.c('TYPE', 'dst')
        p.c('TTL', 'dst')
        p.c('LRANGE', 'dst', '0', '20')
        p.c('LLEN', 'dst')
        p.c('OBJECT', 'ENCODING', 'dst')
    p.c('LRANGE', 'l', '0', '-1')


def sec_config(d, p):
    d.section = 'config'
    names = ['hash-max-listpack-entries', 'hash-max-listpack-value', 'set-max-intset-entries',
             'zset-max-listpack-entries', 'zset-max-listpack-value', 'hash-max-ziplist-entries',
             'hash-max-ziplist-value', 'zset-max-ziplist-entries', 'zset-max-ziplist-value']
    for n in names:
        p.c('CONFIG', 'GET', n)
        p.c('CONFIG', 'GET', n.upper())
    # (patterns that match no parameter kvsd lacks)
    p.c('CONFIG', 'GET', '[hz]*ziplist*', cmp=as_map)
    p.c('CONFIG', 'GET', '*ziplist*', cmp=as_map)
    p.c('CONFIG', 'GET', 'list-*', cmp=as_map)
    p.c('CONFIG', 'GET', '*set-max-*', cmp=as_map)
    p.c('CONFIG', 'GET', 'hash-max-*', cmp=as_map)
    p.c('CONFIG', 'GET', '[hz]*-max-listpack-*', cmp=as_map)
    p.c('CONFIG', 'GET', 'HASH-MAX-ZIPLIST-ENTRIES', 'Set-Max-Intset-Entries', cmp=as_map)
    p.c('CONFIG', 'GET', 'hash-max-ziplist-entries', 'hash-max-listpack-entries', cmp=as_map)
    p.c('CONFIG', 'GET', 'hash-max-ziplist-entries', 'hash-max-ziplist-entries', cmp=as_map)
    for n in names:
        for v in ('-1', '0', 'abc', '1k', '1kb', '9999999999999999999', '4294967296', '1gb',
                  '3', ''):
            p.c('CONFIG', 'SET', n, v)
            p.c('CONFIG', 'SET', n.upper(), v)
            p.c('CONFIG', 'GET', n)
    p.c('CONFIG', 'SET', 'hash-max-ziplist-entries', '1', 'hash-max-listpack-entries', '2')
    p.c('CONFIG', 'SET', 'zset-max-ziplist-entries', '4', 'set-max-intset-entries', '2')
    p.c('CONFIG', 'GET', 'zset-max-listpack-entries')
    # the thresholds take effect at once
    p.c('FLUSHALL')
    p.c('CONFIG', 'SET', 'hash-max-listpack-entries', '2', 'hash-max-listpack-value', '4',
        'set-max-intset-entries', '2', 'zset-max-listpack-entries', '2',
        'zset-max-listpack-value', '4')
    p.c('HSET', 'h', 'a', '1', 'b', '2')
    p.c('OBJECT', 'ENCODING', 'h')
    p.c('HSET', 'h', 'c', '3')
    p.c('OBJECT', 'ENCODING', 'h')
    p.c('HSET', 'h2', 'a', '12345')
    p.c('OBJECT', 'ENCODING', 'h2')
    p.c('SADD', 's', '1', '2')
    p.c('OBJECT', 'ENCODING', 's')
    p.c('SADD', 's', '3')
    p.c('OBJECT', 'ENCODING', 's')
    p.c('ZADD', 'z', '1', 'a', '2', 'b')
    p.c('OBJECT', 'ENCODING', 'z')
    p.c('ZADD', 'z', '3', 'c')
    p.c('OBJECT', 'ENCODING', 'z')
    p.c('ZADD', 'z2', '1', 'abcde')
    p.c('OBJECT', 'ENCODING', 'z2')
    p.c('DEBUG', 'DIGEST')
    p.c('CONFIG', 'SET', 'hash-max-ziplist-entries', '512', 'hash-max-ziplist-value', '64',
        'set-max-intset-entries', '512', 'zset-max-ziplist-entries', '128',
        'zset-max-ziplist-value', '64')
    for n in names:
        p.c('CONFIG', 'GET', n)


def sec_multi(d, p):
    d.section = 'multi'
    p.c('FLUSHALL')
    load_types(p)
    p.c('MULTI')
    p.c('TYPE', 'h')
    p.c('GET', 'h')
    p.c('SET', 'h', 'now-a-string')
    p.c('TYPE', 'h')
    p.c('COPY', 'z', 'z2')
    p.c('RENAME', 's', 's2')
    p.c('SORT', 'si')
    p.c('RPUSH', 'l', 'x')
    p.c('LMOVE', 'l', 'h', 'LEFT', 'LEFT')   # h holds a string by now: WRONGTYPE
    p.c('LMOVE', 'l', 'l3', 'LEFT', 'RIGHT')
    p.c('SORT', 'l', 'ALPHA', 'STORE', 'l4')
    p.c('EXEC')
    p.c('LRANGE', 'l', '0', '-1')
    p.c('LRANGE', 'l3', '0', '-1')
    p.c('LRANGE', 'l4', '0', '-1')
    p.c('ZRANGE', 'z2', '0', '-1', 'WITHSCORES')
    p.c('SMEMBERS', 's2', cmp=sorted_array)
    p.c('DEBUG', 'DIGEST')


# ---------------------------------------------------------------- kvsd only

def expect(d, what, ok, detail=''):
    d.count += 1
    if not ok:
        d.report(what, ('%r' % (detail,)).encode(), b'(expected)')


def info_field(c, name):
    m = re.search(rb'\r\n' + name.encode() + rb':(\d+)', c.cmd('INFO', 'all'))
    return int(m.group(1)) if m else None


N_EVICT = 2500   # rounds of five keys (about 6 KB a round; the limit is 2 MB)


def check_eviction(d):
    """Each maxmemory policy with hashes, sets and sorted sets present: writes
    past the limit evict keys (typed ones included under allkeys-*), kvsd keeps
    answering, and used_memory ends under the limit."""
    for policy in ('allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru',
                   'volatile-lfu', 'volatile-random', 'volatile-ttl', 'noeviction'):
        d.section = 'eviction %s (kvsd only)' % policy
        c = d.sa.client(timeout=30.0)
        c.cmd('CONFIG', 'SET', 'maxmemory', '0')
        c.cmd('FLUSHALL')
        # (memory a FLUSHALL frees comes back once reclamation runs, which
        # the writes below drive: the limit is over the settled figure and
        # the writes are several times the limit)
        base = settled_memory(c)
        limit = base + 2 * 1024 * 1024
        ev0 = info_field(c, 'evicted_keys')
        c.cmd('CONFIG', 'SET', 'maxmemory-policy', policy)
        c.cmd('CONFIG', 'SET', 'maxmemory', str(limit))
        errors = 0
        for i in range(N_EVICT):
            vol = ['EX', '10000'] if i % 2 else []
            cmds = [('HSET', 'h%d' % i, *[x for j in range(20) for x in ('f%d' % j, 'v' * 40)]),
                    ('SADD', 's%d' % i, *['m%d-%s' % (j, 'x' * 30) for j in range(20)]),
                    ('ZADD', 'z%d' % i, *[x for j in range(20) for x in (str(j), 'e' * 30 + str(j))]),
                    ('RPUSH', 'l%d' % i, *['e%d-%s' % (j, 'x' * 30) for j in range(20)]),
                    ('SET', 'str%d' % i, 'y' * 2000, *vol)]
            if i % 2:
                cmds += [('EXPIRE', 'h%d' % i, '10000'), ('EXPIRE', 's%d' % i, '10000'),
                         ('EXPIRE', 'z%d' % i, '10000'), ('EXPIRE', 'l%d' % i, '10000')]
            # a round's commands in one write (one round trip, not up to nine:
            # the server still runs and answers them one by one, in order)
            c.send(b''.join(harness.encode(*cmd) for cmd in cmds))
            for cmd in cmds:
                r = c.read_reply()
                if r is None:
                    raise OSError('kvsd closed the connection')
                if r.startswith(b'-'):
                    errors += 1
                    if not r.startswith(b'-OOM'):
                        expect(d, list(cmd[:2]), False, r)
        n = parse(c.cmd('DBSIZE'))
        evicted = info_field(c, 'evicted_keys')
        used = info_field(c, 'used_memory')
        expect(d, ['PING'], c.cmd('PING') == b'+PONG\r\n')
        if policy == 'noeviction':
            expect(d, ['noeviction refuses writes'], errors > 0, errors)
        else:
            expect(d, ['keys evicted'], evicted - ev0 > 0, (ev0, evicted))
            expect(d, ['DBSIZE < keys written'], isinstance(n, int) and n < 5 * N_EVICT,
                   (n, used, limit))
        expect(d, ['used_memory under maxmemory'], used is not None and used <= limit * 1.05,
               (used, limit))
        types = set()
        for k in parse(c.cmd('KEYS', '*'))[:200]:
            types.add(parse(c.cmd('TYPE', k)))
        if policy.startswith('allkeys'):
            expect(d, ['typed keys remain'], bool(types & {'hash', 'set', 'zset', 'list'}),
                   types)
        c.cmd('CONFIG', 'SET', 'maxmemory', '0')
        c.cmd('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
        c.cmd('FLUSHALL')
        c.close()


def settled_memory(c):
    """used_memory once freeing in the background is over: five readings
    over half a second within 16 KB of each other (at most 10 s)."""
    vals = [info_field(c, 'used_memory')]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.1)
        vals = (vals + [info_field(c, 'used_memory')])[-5:]
        if len(vals) == 5 and max(vals) - min(vals) <= 16384:
            break
    return vals[-1]


def check_large_flush_expire(d):
    """A large typed key goes away with FLUSHALL and with its TTL; memory comes
    back and the server keeps answering meanwhile."""
    d.section = 'large flush/expire (kvsd only)'
    c = d.sa.client(timeout=60.0)
    c.cmd('FLUSHALL')
    for name, mk in (('S', lambda i: ('SADD', 'big', *['m%d' % j for j in range(i, i + 1000)])),
                     ('H', lambda i: ('HSET', 'big', *[x for j in range(i, i + 1000)
                                                       for x in ('f%d' % j, 'v')])),
                     ('Z', lambda i: ('ZADD', 'big', *[x for j in range(i, i + 1000)
                                                       for x in (str(j), 'm%d' % j)])),
                     ('L', lambda i: ('RPUSH', 'big', *['m%d-%s' % (j, 'x' * 20) for j in range(i, i + 1000)]))):
        for how in ('flushall', 'expire'):
            base = settled_memory(c)
            for i in range(0, 100000, 1000):
                c.cmd(*mk(i))
            grown = info_field(c, 'used_memory')
            size = parse(c.cmd('MEMORY', 'USAGE', 'big', 'SAMPLES', '0'))
            expect(d, [name, how, 'MEMORY USAGE'], isinstance(size, int) and size > 1000000,
                   size)
            if how == 'flushall':
                expect(d, [name, 'FLUSHALL'], c.cmd('FLUSHALL') == b'+OK\r\n')
            else:
                c.cmd('PEXPIRE', 'big', '50')
                time.sleep(0.2)
            expect(d, [name, how, 'gone'], c.cmd('EXISTS', 'big') == b':0\r\n')
            expect(d, [name, how, 'PING'], c.cmd('PING') == b'+PONG\r\n')
            # the key's memory comes back (at least half of what MEMORY
            # USAGE counted), within 5 s
            deadline = time.monotonic() + 5
            used = info_field(c, 'used_memory')
            while used > grown - size // 2 and time.monotonic() < deadline:
                time.sleep(0.01)
                used = info_field(c, 'used_memory')
            expect(d, [name, how, 'memory back'], used <= grown - size // 2,
                   (base, grown, size, used))
    c.close()


def main():
    servers = test_diff.start_pair('diff-keyspace-types', DEBUG, DEBUG)
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        sec_wrongtype(d, p)
        sec_overwrite(d, p)
        sec_generic(d, p, False)
        sec_generic(d, p, True)
        sec_digest(d, p)
        sec_sort(d, p)
        sec_multi(d, p)
        sec_config(d, p)
        p.close()
        p = d.pair()
        p.c('HELLO', '3', cmp=test_diff.hello_eq)
        sec_generic(d, p, True)
        sec_sort(d, p)
        sec_config(d, p)
        p.close()
        check_eviction(d)
        check_large_flush_expire(d)
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-keyspace-types: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-keyspace-types', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
