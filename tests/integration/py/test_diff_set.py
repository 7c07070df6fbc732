#!/usr/bin/env python3
"""Differential test of the set commands (issue 13) against redis-server 7.0.

SADD SREM SCARD SMEMBERS SISMEMBER SMISMEMBER SRANDMEMBER SPOP SMOVE SINTER
SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN: valid and
invalid arguments, wrong types, RESP2 and RESP3, the intset/hashtable
conversion just below, at and above set-max-intset-entries (512) and with
a non-integer member, SPOP COUNT shrinking a hashtable back to an intset, the
SSCAN full-iteration property, and random command streams over sets and
strings.

Replies are compared byte for byte where Redis defines the order: an
intset (Redis's OBJECT ENCODING of the key says so), and the results Redis
builds into a fresh intset (SUNION/SDIFF of integers only, at most 512);
elsewhere as multisets (a hashtable's order is Redis's dict order).
Random picks (SRANDMEMBER, SPOP) are checked by their properties against
the state both servers share, and SPOP's effect is then applied to
redis-server the way Redis itself would have built the result, so the two
stay in step, encodings included. OBJECT ENCODING is compared whenever kvsd
reports types (TYPE of a set answers "set").

Usage: test_diff_set.py [seed]   (environment: see harness.py)
"""

import os
import random
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import parse, Err  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact, sorted_array  # noqa: E402

LIMIT = 512


def scan_shape(a, b):
    """SSCAN of a hashtable: cursors are each server's own; both answer
    [cursor, array]."""
    va, vb = parse(a), parse(b)
    return (isinstance(va, list) and len(va) == 2 and isinstance(va[0], bytes)
            and va[0].isdigit() and isinstance(va[1], list) and isinstance(vb, list))


def is_int(m):
    """Redis's string2ll on a member (bytes)."""
    s = m.decode('latin-1') if isinstance(m, bytes) else m
    if not s or len(s) >= 21:
        return False
    if s == '0':
        return True
    body = s[1:] if s[0] == '-' else s
    if not body or not body[0] in '123456789' or not body.isdigit() or not body.isascii():
        return False
    v = int(s)
    return -2**63 <= v < 2**63


class SetDiff:
    def __init__(self, d, p, rng):
        self.d, self.p, self.rng = d, p, rng
        self.kvsd_types = None
        self.resp3 = False

    # redis-side facts (the reference), not compared
    def r(self, *args):
        return parse(self.p.b.cmd(*args))

    def enc(self, key):
        return self.r('OBJECT', 'ENCODING', key)

    def card(self, key):
        return self.r('SCARD', key) if self.r('TYPE', key) == 'set' else 0

    def members(self, key):
        if self.r('TYPE', key) != 'set':
            return []
        return self.r('SMEMBERS', key)

    def check_enc(self, key):
        if self.kvsd_types is None:
            self.p.b.cmd('SADD', '__probe', '1')
            self.p.a.cmd('SADD', '__probe', '1')
            self.kvsd_types = parse(self.p.a.cmd('TYPE', '__probe')) == 'set'
            self.p.a.cmd('DEL', '__probe')
            self.p.b.cmd('DEL', '__probe')
            if not self.kvsd_types:
                harness.log('diff-set: kvsd has no TYPE for sets yet: '
                            'OBJECT ENCODING not compared (order checks still are)')
        if self.kvsd_types:
            self.p.c('OBJECT', 'ENCODING', key)

    def members_cmp(self, key):
        """SMEMBERS of key: exact for an intset, else as a multiset."""
        return exact if self.enc(key) == b'intset' else sorted_array

    def smembers(self, key):
        self.p.c('SMEMBERS', key, cmp=self.members_cmp(key))

    def built_cmp(self, reply):
        """A result Redis built into a fresh intset: exact when it stayed one."""
        vals = parse(reply)
        if isinstance(vals, list) and len(vals) <= LIMIT and all(is_int(v) for v in vals):
            return exact
        return sorted_array

    def sinter_cmp(self, keys):
        """SINTER replies in the order of its smallest set (first on ties)."""
        best = None
        for k in keys:
            c = self.card(k)
            if c == 0:
                return exact
            if best is None or c < best[0]:
                best = (c, k)
        return exact if self.enc(best[1]) == b'intset' else sorted_array

    def sunion_like(self, *args):
        ra, rb = self.p.send_both(harness.encode(*args), 1, list(args), check=False)
        cmp = self.built_cmp(rb[0]) if rb[0][:1] in (b'*', b'~') else exact
        self.d.count += 1
        if not cmp(ra[0], rb[0]):
            self.d.report(list(args), ra[0], rb[0])

    # ---- random picks, by property, then redis brought in step
    def srandmember(self, key, count=None):
        mem = set(self.members(key))
        args = ['SRANDMEMBER', key] + ([] if count is None else [count])
        ra, rb = self.p.send_both(harness.encode(*args), 1, args, check=False)
        a, b = ra[0], rb[0]
        self.d.count += 1
        ok = True
        if isinstance(parse(b), Err) or b in (b'$-1\r\n', b'_\r\n', b'*0\r\n'):
            ok = a == b
        elif count is None:
            ok = a[:1] == b'$' and parse(a) in mem
        else:
            n = int(count)
            va = parse(a)
            ok = a[:1] == b'*' and isinstance(va, list) and all(v in mem for v in va)
            if ok and n > 0:
                ok = len(va) == min(n, len(mem)) and len(set(va)) == len(va)
            elif ok:
                ok = len(va) == -n
        if not ok:
            self.d.report(args, a, b)

    def spop(self, key, count=None):
        before = self.members(key)
        mem = set(before)
        enc = self.enc(key) if mem else None
        pttl = self.r('PTTL', key)
        args = ['SPOP', key] + ([] if count is None else [count])
        # kvsd runs the command; redis only checks errors / empty answers
        a = self.p.a.cmd(*args)
        self.d.count += 1
        n = None
        if count is not None:
            try:
                n = int(count)
            except ValueError:
                n = None
        bad_count = count is not None and (n is None or n < 0 or not is_int(count))
        if bad_count or not mem or n == 0:
            b = self.p.b.cmd(*args)
            if a != b:
                self.d.report(args, a, b)
            return
        va = parse(a)
        if count is None:
            ok = a[:1] == b'$' and va in mem
            popped = [va] if ok else []
        else:
            want = min(n, len(mem))
            ok = (a[:1] == (b'~' if self.resp3 else b'*') and isinstance(va, list) and len(va) == want
                  and len(set(va)) == want and all(v in mem for v in va))
            popped = va if ok else []
            if ok and n >= len(mem):
                # case 1: the whole set, in the order of the set Redis builds
                vals = sorted(mem, key=lambda m: int(m)) if (
                    len(mem) <= LIMIT and all(is_int(m) for m in mem)) else None
                if vals is not None and va != vals:
                    ok = False
        if not ok:
            self.d.report(args, a, b'<a member / members of the set>')
            return
        remaining = [m for m in before if m not in set(popped)]
        case3 = count is not None and n < len(mem) and (len(mem) - n) * 5 <= n
        if not remaining:
            self.p.b.cmd('DEL', key)
        elif case3:
            # Redis builds a new set of the remaining members (setTypeCreate
            # + setTypeAdd), keeping the TTL (dbOverwrite)
            self.p.b.cmd('DEL', key)
            self.p.b.cmd('SADD', key, *remaining)
            if isinstance(pttl, int) and pttl > 0:
                self.p.b.cmd('PEXPIRE', key, str(pttl))
        else:
            self.p.b.cmd('SREM', key, *popped)
        if case3 and remaining and enc is not None:
            self.check_enc(key)
        self.smembers(key)

    def sscan_all(self, key, count='10', match=None):
        """SSCAN until cursor 0: every member exactly once for an intset (one
        call), at least once for a hashtable, nothing else."""
        mem = set(self.members(key))
        cur, seen, calls = b'0', [], 0
        while True:
            args = ['SSCAN', key, cur, 'COUNT', count] + (['MATCH', match] if match else [])
            r = parse(self.p.a.cmd(*args))
            calls += 1
            if not isinstance(r, list) or len(r) != 2:
                self.d.report(args, repr(r).encode(), b'<scan reply>')
                return
            cur = r[0]
            seen += r[1]
            if cur == b'0' or calls > 100000:
                break
        self.d.count += 1
        import fnmatch
        want = {m for m in mem if match is None or fnmatch.fnmatchcase(m.decode('latin-1'),
                                                                         match)}
        ok = set(seen) == want and calls <= 100000
        if self.enc(key) == b'intset':
            ok = ok and calls == 1 and len(seen) == len(want)
        if not ok:
            self.d.report(['SSCAN-ALL', key, count, match or ''],
                          ('%d calls, %d seen' % (calls, len(seen))).encode(),
                          ('%d members' % len(want)).encode())


POOL = [b'0', b'1', b'2', b'3', b'-1', b'7', b'10', b'42', b'100', b'-100', b'32767',
        b'32768', b'-32768', b'-32769', b'2147483647', b'2147483648', b'-2147483649',
        b'9223372036854775807', b'-9223372036854775808', b'9223372036854775808',
        b'-0', b'007', b'+5', b' 1', b'1 ', b'1e3', b'0x10', b'a', b'b', b'c', b'foo',
        b'', b'x' * 70, b'\x00\xff', b'\xc3\xa9']


def member(rng):
    if rng.random() < 0.5:
        return str(rng.randint(-40, 40)).encode()
    return rng.choice(POOL)


def sec_basic(sd):
    d, p = sd.d, sd.p
    d.section = 'basic'
    p.c('FLUSHALL')
    p.c('SADD', 's', '3', '1', '2', '-5', '100000')
    sd.smembers('s')
    sd.check_enc('s')
    for a in (['SADD', 's'], ['SADD'], ['SREM', 's'], ['SCARD'], ['SCARD', 's', 'x'],
              ['SISMEMBER', 's'], ['SMISMEMBER', 's'], ['SMEMBERS'], ['SMEMBERS', 's', 't'],
              ['SRANDMEMBER'], ['SPOP'], ['SMOVE', 's', 't'], ['SINTER'], ['SINTERCARD', '1'],
              ['SINTERSTORE', 'd'], ['SUNION'], ['SUNIONSTORE', 'd'], ['SDIFF'],
              ['SDIFFSTORE', 'd'], ['SSCAN', 's'], ['SRANDMEMBER', 's', '1', '2'],
              ['SPOP', 's', '1', '2']):
        p.c(*a)
    p.c('SADD', 's', '3', '3', '4')
    p.c('SCARD', 's')
    p.c('SCARD', 'nokey')
    p.c('SISMEMBER', 's', '3')
    p.c('SISMEMBER', 's', '03')
    p.c('SISMEMBER', 's', 'x')
    p.c('SISMEMBER', 'nokey', 'x')
    p.c('SMISMEMBER', 's', '1', 'x', '3', '-5', '')
    p.c('SMISMEMBER', 'nokey', '1', '2')
    p.c('SREM', 's', '1', 'nope', '1')
    p.c('SREM', 'nokey', '1')
    sd.smembers('s')
    p.c('SADD', 's', 'a')
    sd.check_enc('s')
    sd.smembers('s')
    p.c('SREM', 's', 'a')
    sd.check_enc('s')       # stays hashtable
    sd.smembers('s')
    p.c('SREM', 's', '2', '3', '4', '-5', '100000')
    p.c('EXISTS', 's')
    # wrong types everywhere
    p.c('SET', 'str', 'v')
    p.c('SADD', 'ss', '1')
    for a in (['SADD', 'str', '1'], ['SREM', 'str', '1'], ['SCARD', 'str'],
              ['SISMEMBER', 'str', '1'], ['SMISMEMBER', 'str', '1'], ['SMEMBERS', 'str'],
              ['SRANDMEMBER', 'str'], ['SRANDMEMBER', 'str', '2'], ['SPOP', 'str'],
              ['SPOP', 'str', '2'], ['SPOP', 'str', '-1'], ['SMOVE', 'str', 'ss', '1'],
              ['SMOVE', 'ss', 'str', '1'], ['SMOVE', 'nokey', 'str', '1'],
              ['SMOVE', 'str', 'nokey', '1'], ['SMOVE', 'ss', 'str', 'nomember'],
              ['SINTER', 'ss', 'str'], ['SINTER', 'nokey', 'str'], ['SINTERCARD', '2', 'ss',
                                                                    'str'],
              ['SINTERSTORE', 'd', 'ss', 'str'], ['SUNION', 'str', 'ss'],
              ['SUNIONSTORE', 'd', 'nokey', 'str'], ['SDIFF', 'ss', 'str'],
              ['SDIFF', 'nokey', 'str'], ['SDIFFSTORE', 'd', 'ss', 'str'],
              ['SSCAN', 'str', '0'], ['SSCAN', 'str', 'x']):
        p.c(*a)
    # string commands meeting a set (they learn types on the keyspace branch)
    sd.check_enc('ss')
    if sd.kvsd_types:
        for a in (['GET', 'ss'], ['APPEND', 'ss', 'x'], ['INCR', 'ss'], ['STRLEN', 'ss'],
                  ['GETRANGE', 'ss', '0', '1'], ['SETRANGE', 'ss', '0', 'x'], ['GETDEL', 'ss'],
                  ['GETSET', 'ss', 'x'], ['MGET', 'ss', 'str'], ['TYPE', 'ss'],
                  ['OBJECT', 'ENCODING', 'ss']):
            p.c(*a)
    p.c('SET', 'ss', 'now a string')   # SET overwrites any type
    p.c('GET', 'ss')
    p.c('SADD', 'ss', '1')


def sec_args(sd):
    d, p = sd.d, sd.p
    d.section = 'args'
    p.c('FLUSHALL')
    p.c('SADD', 's', '1', '2', '3')
    for c in ('abc', '-1', '1.5', '', ' 1', '9223372036854775808', '-9223372036854775808'):
        p.c('SPOP', 'nokey', c)
        p.c('SPOP', 's', c)
    for c in ('abc', '1.5', '', '-9223372036854775808', '9223372036854775808'):
        p.c('SRANDMEMBER', 's', c)
        p.c('SRANDMEMBER', 'nokey', c)
    p.c('SRANDMEMBER', 'nokey', '-5')
    p.c('SRANDMEMBER', 's', '0')
    p.c('SRANDMEMBER', 's', '-0')
    p.c('SPOP', 's', '0')
    p.c('SPOP', 'nokey')
    p.c('SRANDMEMBER', 'nokey')
    p.c('SRANDMEMBER', 's', '3')
    p.c('SRANDMEMBER', 's', '9223372036854775807')   # whole set, ascending
    for a in (['0', 's'], ['x', 's'], ['-1', 's'], ['3', 's'], ['2', 's'], ['1', 's', 'limit'],
              ['1', 's', 'limit', '-1'], ['1', 's', 'limit', 'x'], ['1', 's', 'foo'],
              ['1', 's', 'LIMIT', '0'], ['1', 's', 'limit', '1'], ['1', 's', 'limit', '2',
                                                                  'limit', '1'],
              ['1', 's', 's', 'limit', '1'], ['2', 's', 'nokey'], ['2', 's', 's'],
              ['9223372036854775807', 's'], ['1', 's', 'limit', '9223372036854775808'],
              ['1', 'nokey', 'limit', 'x']):
        p.c('SINTERCARD', *a)
    for a in (['x'], [' 1'], ['-1'], ['+0'], ['18446744073709551615'],
              ['18446744073709551616'], ['0', 'count', '0'], ['0', 'count', 'x'],
              ['0', 'count', '-1'], ['0', 'match'], ['0', 'type', 'set'], ['0', 'foo', 'bar'],
              ['0', 'count', '1', 'match', '1*'], ['0', 'MATCH', '*'], ['0', 'match', '[12]'],
              ['7', 'count', '1000000000000']):
        p.c('SSCAN', 's', *a)
        p.c('SSCAN', 'nokey', *a)


def sec_store(sd):
    d, p = sd.d, sd.p
    d.section = 'store'
    p.c('FLUSHALL')
    p.c('SADD', 'a', '1', '2', '3', '4', '5')
    p.c('SADD', 'b', '4', '5', '6', 'x')
    p.c('SADD', 'c', '5', '4', 'y')
    p.c('SET', 'str', 'v')
    p.c('SET', 'dst', 'old string')
    p.c('EXPIRE', 'dst', '1000')
    p.c('SINTERSTORE', 'dst', 'a', 'b')
    p.c('TTL', 'dst')              # setKey drops the TTL
    sd.check_enc('dst')
    sd.smembers('dst')
    p.c('SINTERSTORE', 'dst', 'a', 'nokey')
    p.c('EXISTS', 'dst')
    p.c('SUNIONSTORE', 'str', 'a', 'b')   # overwrites a string
    sd.check_enc('str')
    sd.smembers('str')
    p.c('SUNIONSTORE', 'dst', 'a', 'c')
    sd.check_enc('dst')
    sd.smembers('dst')
    p.c('SUNIONSTORE', 'dst', 'a')
    sd.check_enc('dst')
    sd.smembers('dst')
    p.c('SDIFFSTORE', 'dst', 'a', 'b', 'c')
    sd.check_enc('dst')
    sd.smembers('dst')
    p.c('SDIFFSTORE', 'dst', 'a', 'a')
    p.c('EXISTS', 'dst')
    p.c('SDIFFSTORE', 'dst', 'nokey', 'a')
    p.c('SDIFFSTORE', 'a', 'a', 'b')      # dst is a source
    sd.smembers('a')
    p.c('SINTERSTORE', 'b', 'b', 'c')
    sd.smembers('b')
    for k in (['a', 'b'], ['b', 'a'], ['a', 'c', 'b'], ['nokey', 'a'], ['a', 'nokey'],
              ['c', 'c']):
        sd.sunion_like('SUNION', *k)
        sd.sunion_like('SDIFF', *k)
        p.c('SINTER', *k, cmp=sd.sinter_cmp(k))
        p.c('SINTERCARD', str(len(k)), *k)
    # SMOVE
    p.c('SADD', 'm1', '1', '2', 'z')
    p.c('SADD', 'm2', '10')
    p.c('EXPIRE', 'm2', '1000')
    p.c('SMOVE', 'm1', 'm2', '1')
    p.c('SMOVE', 'm1', 'm2', '1')
    p.c('SMOVE', 'm1', 'm2', 'z')
    sd.check_enc('m2')
    sd.smembers('m2')
    p.c('TTL', 'm2')
    p.c('SMOVE', 'm1', 'm1', '2')
    p.c('SMOVE', 'm1', 'm1', '3')
    p.c('SMOVE', 'm1', 'new', '2')
    p.c('EXISTS', 'm1')
    sd.smembers('new')
    p.c('SMOVE', 'new', 'new2', '2')
    p.c('EXISTS', 'new')
    p.c('SADD', 'm2', '2')
    p.c('SMOVE', 'new2', 'm2', '2')
    p.c('EXISTS', 'new2')


def sec_thresholds(sd):
    d, p = sd.d, sd.p
    d.section = 'thresholds'
    p.c('FLUSHALL')
    for n in (LIMIT - 1, LIMIT, LIMIT + 1):
        k = 'n%d' % n
        p.c('SADD', k, *[str(i * 7 - 1000) for i in range(n)])
        sd.check_enc(k)
        sd.smembers(k)
        p.c('SCARD', k)
        p.c('SADD', k, str(n * 7))          # one more
        sd.check_enc(k)
        sd.smembers(k)
    p.c('SADD', 'i', *[str(i) for i in range(LIMIT)])
    p.c('SADD', 'i', 'str')                 # a non-integer converts
    sd.check_enc('i')
    p.c('SREM', 'i', 'str')
    sd.check_enc('i')
    # results Redis builds as a fresh set: intset when they fit
    p.c('SADD', 'big', *[str(i) for i in range(LIMIT + 100)])
    p.c('SADD', 'few', *[str(i) for i in range(0, 2000, 3)])
    for op in ('SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE'):
        for keys in (['big', 'few'], ['few', 'big'], ['big', 'i'], ['big'], ['i', 'big']):
            p.c(op, 'r', *keys)
            sd.check_enc('r')
            sd.smembers('r')
    for keys in (['big', 'few'], ['few', 'big'], ['big', 'i']):
        sd.sunion_like('SUNION', *keys)
        sd.sunion_like('SDIFF', *keys)
        p.c('SINTER', *keys, cmp=sd.sinter_cmp(keys))
    # width upgrades: members read back exactly
    p.c('SADD', 'w', '1', '-1')
    for v in ('32767', '-32768', '32768', '-2147483648', '2147483647', '2147483648',
              '-9223372036854775808', '9223372036854775807'):
        p.c('SADD', 'w', v)
        sd.smembers('w')
        p.c('SISMEMBER', 'w', v)
    p.c('SREM', 'w', '9223372036854775807', '-9223372036854775808', '2147483648')
    sd.smembers('w')
    p.c('SISMEMBER', 'w', '2147483648')
    p.c('SISMEMBER', 'w', '70000')
    # SPOP COUNT shrinking a hashtable of integers back to an intset (case 3)
    for size, cnt in ((600, 550), (600, 590), (600, 100), (600, 599), (600, 600), (20, 19)):
        p.c('DEL', 'sp')
        p.c('SADD', 'sp', *[str(i) for i in range(size)])
        p.c('EXPIRE', 'sp', '1000')
        sd.spop('sp', str(cnt))
        p.c('TTL', 'sp')
        sd.check_enc('sp')
        p.c('SCARD', 'sp')
    p.c('DEL', 'sp')
    p.c('SADD', 'sp', 'x', *[str(i) for i in range(100)])   # hashtable by a string
    sd.spop('sp', '90')
    sd.check_enc('sp')
    # SSCAN full iteration
    for k in ('big', 'few', 'n511', 'i'):
        for cnt in ('1', '7', '1000'):
            sd.sscan_all(k, cnt)
        sd.sscan_all(k, '5', '1*')
    p.c('SSCAN', 'few', '0', cmp=scan_shape)
    p.c('SSCAN', 'few', '0', 'MATCH', '*9*', 'COUNT', '1', cmp=scan_shape)


def sec_config(sd):
    """set-max-intset-entries at run time (the config row comes with the
    keyspace branch; without it kvsd answers an empty CONFIG GET)."""
    d, p = sd.d, sd.p
    d.section = 'config'
    if parse(p.a.cmd('CONFIG', 'GET', 'set-max-intset-entries')) == []:
        harness.log('diff-set: kvsd has no set-max-intset-entries yet: section skipped')
        return
    p.c('FLUSHALL')
    p.c('CONFIG', 'SET', 'set-max-intset-entries', '4')
    p.c('CONFIG', 'GET', 'set-max-intset-entries')
    p.c('SADD', 'a', '4', '3', '2', '1')
    sd.check_enc('a')
    sd.smembers('a')
    p.c('SADD', 'a', '5')
    sd.check_enc('a')
    p.c('SADD', 'b', '1', '2')
    for op in ('SUNIONSTORE', 'SINTERSTORE', 'SDIFFSTORE'):
        for keys in (['a', 'b'], ['b', 'a'], ['a']):
            p.c(op, 'r', *keys)
            sd.check_enc('r')
            sd.smembers('r')
    p.c('SADD', 'c', *[str(i) for i in range(12)])
    sd.spop('c', '10')              # case 3: two left, rebuilt as an intset
    sd.check_enc('c')
    p.c('CONFIG', 'SET', 'set-max-intset-entries', '0')
    p.c('SADD', 'z', '1')
    sd.check_enc('z')
    p.c('CONFIG', 'SET', 'set-max-intset-entries', '512')
    p.c('SADD', 'y', '1')
    sd.check_enc('y')


def sec_random(sd, steps):
    d, p, rng = sd.d, sd.p, sd.rng
    d.section = 'random'
    p.c('FLUSHALL')
    keys = ['s0', 's1', 's2', 's3', 'k']
    for i in range(steps):
        k = rng.choice(keys)
        k2 = rng.choice(keys)
        ms = [member(rng) for _ in range(rng.randint(1, 6))]
        op = rng.randrange(24)
        if op < 5:
            p.c('SADD', k, *ms)
        elif op == 5:
            p.c('SREM', k, *ms)
        elif op == 6:
            p.c('SCARD', k)
        elif op == 7:
            p.c('SISMEMBER', k, ms[0])
        elif op == 8:
            p.c('SMISMEMBER', k, *ms)
        elif op == 9:
            if sd.r('TYPE', k) in ('set', 'none'):
                sd.smembers(k)
            else:
                p.c('SMEMBERS', k)
        elif op == 10:
            ks = rng.sample(keys, rng.randint(1, 3))
            tset = all(sd.r('TYPE', x) in ('set', 'none') for x in ks)
            p.c('SINTER', *ks, cmp=sd.sinter_cmp(ks) if tset else exact)
        elif op == 11:
            sd.sunion_like(rng.choice(['SUNION', 'SDIFF']),
                           *rng.sample(keys, rng.randint(1, 3)))
        elif op == 12:
            ks = rng.sample(keys, rng.randint(1, 3))
            p.c('SINTERCARD', str(len(ks)), *ks,
                *(['LIMIT', str(rng.randint(0, 3))] if rng.random() < 0.5 else []))
        elif op == 13:
            dst = rng.choice(keys)
            p.c(rng.choice(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), dst,
                *rng.sample(keys, rng.randint(1, 3)))
        elif op == 14:
            p.c('SMOVE', k, k2, ms[0])
        elif op == 15:
            sd.srandmember(k, rng.choice([None, '1', '2', '5', '-3', '100', '0', 'x']))
        elif op == 16:
            if sd.r('TYPE', k) in ('set', 'none'):
                sd.spop(k, rng.choice([None, '1', '2', '5', '0', '-1', 'x', '100']))
            else:
                p.c('SPOP', k)
        elif op == 17:
            p.c('SET', k, ms[0])
        elif op == 18:
            if sd.kvsd_types or sd.r('TYPE', k) != 'set':
                p.c('GET', k)
        elif op == 19:
            p.c('DEL', k)
        elif op == 20:
            p.c('TYPE', k) if sd.kvsd_types else None
        elif op == 21:
            p.c('EXPIRE', k, '1000')
            p.c('TTL', k)
        elif op == 22:
            if sd.r('TYPE', k) == 'set':
                sd.check_enc(k)
        else:
            p.c('EXISTS', k, k2)
        if i % 50 == 0:
            for x in keys:
                if sd.r('TYPE', x) == 'set':
                    sd.smembers(x)


def sec_multi(sd):
    d, p = sd.d, sd.p
    d.section = 'multi'
    p.c('FLUSHALL')
    p.c('SADD', 'a', '1', '2', 'x')
    p.c('MULTI')
    p.c('SADD', 'a', '3')
    p.c('SMOVE', 'a', 'b', 'x')
    p.c('SINTERSTORE', 'c', 'a', 'b')
    p.c('SUNIONSTORE', 'c', 'a', 'b')
    p.c('SCARD', 'c')
    p.c('SPOP', 'b', '5')
    p.c('EXEC')
    sd.smembers('c')
    p.c('EXISTS', 'b')


def sec_spop_lengths(sd):
    """SPOP of one member on both sides of the bytes a popped member is kept
    in without a heap copy (ML_LOCAL: a length word and 40 bytes), alone in
    its set so the pick is determined, with and without COUNT; and a set of
    several long members emptied one by one (the count of replies)."""
    d, p = sd.d, sd.p
    d.section = 'spop-lengths'
    p.c('FLUSHALL')
    for n in (0, 1, 39, 40, 41, 48, 100, 300):
        m = 'm' * n
        p.c('SADD', 'one', m)
        p.c('SPOP', 'one')
        p.c('SADD', 'one', m)
        p.c('SPOP', 'one', '1')
        p.c('SADD', 'one', m, '12')
        p.c('SREM', 'one', '12')
        p.c('SPOP', 'one')
        p.c('EXISTS', 'one')
    many = ['a' * 40, 'b' * 41, 'c' * 39, 'd' * 100]
    bulks = {b'$%d\r\n%s\r\n' % (len(m), m.encode()) for m in many}
    p.c('SADD', 'many', *many)
    for _ in range(5):     # the fifth finds no key: both answer nil
        p.c('SCARD', 'many')
        p.c('SPOP', 'many', cmp=lambda a, b: a == b or (a in bulks and b in bulks))


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else random.randrange(1 << 30)
    harness.log('diff-set: seed %d' % seed)
    servers = test_diff.start_pair('diff-set')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        for proto in ('2', '3'):
            p = d.pair()
            if proto == '3':
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            sd = SetDiff(d, p, random.Random(seed + int(proto)))
            sd.resp3 = proto == '3'
            sec_basic(sd)
            sec_args(sd)
            sec_store(sd)
            sec_multi(sd)
            sec_spop_lengths(sd)
            if proto == '2':
                sec_thresholds(sd)
                sec_config(sd)
            sec_random(sd, 1500)
            p.close()
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-set: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-set', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
