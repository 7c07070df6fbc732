#!/usr/bin/env python3
"""Differential test of the blocking commands (issue 14) against redis-server 7.0.

BZPOPMIN BZPOPMAX BZMPOP, and BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP once kvsd
has lists: argument errors (timeouts: not a float, negative, out of range),
the immediate (non-blocking) paths, MULTI (a blocking command answers as on
a timeout), serving order with two or three blocked clients (each is known
to be blocked, through INFO blocked_clients, before the next blocks or the
push comes), multi-key waits, a MULTI/EXEC push that wakes waiters only
once complete, BLMOVE chains, CLIENT UNBLOCK (TIMEOUT / ERROR), the 'b' flag
of CLIENT LIST and INFO's blocked_clients / clients_in_timeout_table, all in
RESP2 and RESP3. No timing: every blocked client is woken by a push or
CLIENT UNBLOCK, never by its timeout.

Usage: test_diff_blocking.py   (environment: see harness.py)
"""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact  # noqa: E402

RESP = [2]


def info_field(cl, name):
    r = cl.cmd('INFO', 'clients')
    text = harness.parse(r)
    if isinstance(text, bytes):
        text = text.decode()
    m = re.search(r'^%s:(\d+)' % name, text, re.M)
    return int(m.group(1)) if m else None


class Side:
    """Clients of one server that block."""

    def __init__(self, server):
        self.server = server
        self.ctl = server.client(timeout=10)
        self.cls = []

    def hello3(self, cl):
        cl.cmd('HELLO', '3')


class Blockers:
    """The same blocked clients on both servers: block(i, cmd) sends cmd on
    client i of each and waits until each server counts it blocked;
    reply(i) reads and compares what client i got."""

    def __init__(self, d, p, n):
        self.d, self.p = d, p
        self.a = [d.sa.client(timeout=10) for _ in range(n)]
        self.b = [d.sb.client(timeout=10) for _ in range(n)]
        if RESP[0] == 3:
            for cl in self.a + self.b:
                cl.cmd('HELLO', '3')
        self.blocked = 0

    def ids(self, i):
        return (harness.parse(self.a[i].cmd('CLIENT', 'ID')),
                harness.parse(self.b[i].cmd('CLIENT', 'ID')))

    def wait_count(self, n):
        """Both servers count n blocked clients (bounded wait; the count is
        what is checked, not how long it took)."""
        for side, srv in (('kvsd', self.p.a), ('redis', self.p.b)):
            for _ in range(500):
                if info_field(srv, 'blocked_clients') == n:
                    break
                time.sleep(0.01)
            else:
                self.d.count += 1
                self.d.report(['INFO blocked_clients == %d' % n],
                              str(info_field(self.p.a, 'blocked_clients')).encode(),
                              str(info_field(self.p.b, 'blocked_clients')).encode())
                raise OSError('%s never counted %d blocked clients' % (side, n))

    def block(self, i, *cmd):
        self.a[i].send(encode(*cmd))
        self.b[i].send(encode(*cmd))
        self.blocked += 1
        self.wait_count(self.blocked)

    def reply(self, i, what):
        ra = self.a[i].read_reply()
        rb = self.b[i].read_reply()
        self.d.count += 1
        if ra != rb:
            self.d.report([what], ra, rb)
        self.blocked -= 1
        return ra, rb

    def still_blocked(self, i, what):
        """Client i has no reply yet: PING queued behind its command is
        not answered, and the server still counts it."""
        self.d.count += 1
        na = info_field(self.p.a, 'blocked_clients')
        nb = info_field(self.p.b, 'blocked_clients')
        if na != nb or na != self.blocked:
            self.d.report([what + ' (blocked count)'], str(na).encode(), str(nb).encode())

    def close(self):
        for cl in self.a + self.b:
            cl.close()


# ---------------------------------------------------------------- sections

TIMEOUTS_BAD = ['x', '', '1x', ' 1', '1 ', 'nan', '-1', '-inf', 'inf',
                '1e400', '-1e400', '9223372036854775807', '9223372036854776']
# accepted (checked inside MULTI, where they do not block): truncated to 0 ms
# (forever), hexadecimal, huge
TIMEOUTS_ODD = ['-0.001', '0x10', '1e-400', '0.0001', '-0', '+1', '1e3', '.5',
                '9223372036854775.807', '3.0e-2']


def sec_errors(d, p):
    """Argument errors and timeouts that fail to parse: answered at once."""
    d.section = 'errors'
    p.c('FLUSHALL')
    for t in TIMEOUTS_BAD:
        for cmd in (['BZPOPMIN', 'z', t], ['BZPOPMAX', 'z1', 'z2', t],
                    ['BZMPOP', t, '1', 'z', 'MIN']):
            p.c(*cmd)
    for args in ([], ['z'], ['0']):
        p.c('BZPOPMIN', *args)
        p.c('BZPOPMAX', *args)
    for args in ([], ['0'], ['0', '1'], ['0', '1', 'z'], ['0', '0', 'z', 'MIN'],
                 ['0', '-1', 'z', 'MIN'], ['0', 'x', 'z', 'MIN'], ['0', '2', 'z', 'MIN'],
                 ['0', '1', 'z', 'MID'], ['0', '1', 'z', 'MIN', 'COUNT'],
                 ['0', '1', 'z', 'MIN', 'COUNT', '0'], ['0', '1', 'z', 'MIN', 'COUNT', '-1'],
                 ['0', '1', 'z', 'MIN', 'COUNT', 'x'],
                 ['0', '1', 'z', 'MIN', 'COUNT', '1', 'COUNT', '1'],
                 ['0', '1', 'z', 'MIN', 'foo'], ['x', '1', 'z', 'MIN'],
                 ['-1', '1', 'z', 'MIN'], ['0', '99999999999999999999', 'z', 'MIN'],
                 ['0', '9223372036854775807', 'z', 'MIN']):
        p.c('BZMPOP', *args)
    # wrong type: an error whatever the timeout
    p.c('SET', 's', 'v')
    p.c('BZPOPMIN', 's', '0')
    p.c('BZPOPMIN', 'nokey', 's', '0')
    p.c('BZMPOP', '0', '2', 'nokey', 's', 'MAX')
    p.c('BZPOPMIN', 's', '-1')   # the timeout is parsed first
    # CLIENT UNBLOCK's own errors and nobody to unblock
    for args in (['x'], ['1', 'foo'], ['x', 'foo'], ['1', 'TIMEOUT', 'x'], ['999999'],
                 ['999999', 'ERROR'], ['999999', 'timeout'], ['-1'],
                 ['99999999999999999999']):
        p.c('CLIENT', 'UNBLOCK', *args)
    p.c('CLIENT', 'UNBLOCK')
    p.c('client', 'unblock', '1', 'error', 'x')
    p.c('CLIENT', 'HELP', cmp=help_unblock)


def help_unblock(a, b):
    """CLIENT HELP: the same UNBLOCK lines (kvsd lists only the subcommands
    it has)."""
    def lines(r):
        v = harness.parse(r)
        i = v.index('UNBLOCK <clientid> [TIMEOUT|ERROR]')
        return v[i:i + 2]
    return lines(a) == lines(b)


def sec_immediate(d, p):
    """Keys that hold something: answered at once, as ZPOP* would."""
    d.section = 'immediate'
    p.c('FLUSHALL')
    p.c('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4.5', 'd', '-inf', 'm', '+inf', 'M')
    p.c('BZPOPMIN', 'z', '0')
    p.c('BZPOPMAX', 'z', '0')
    p.c('BZPOPMIN', 'nokey', 'z', '0.5')
    p.c('BZPOPMAX', 'nokey', 'z', 'nokey2', '1e3')
    p.c('BZMPOP', '0', '2', 'nokey', 'z', 'MIN')
    p.c('BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '2')
    p.c('BZMPOP', '0.01', '1', 'z', 'min', 'count', '100')
    p.c('EXISTS', 'z')
    p.c('ZADD', 'z', '1', 'a')
    p.c('BZPOPMIN', 'z', 's', '0')       # z first: popped, s never looked at
    p.c('SET', 's', 'v')
    p.c('ZADD', 'z2', '7', 'x')
    p.c('BZPOPMIN', 'z2', 's', '0')
    p.c('BZPOPMIN', 'z2', 's', '0')      # z2 gone: s is a string
    p.c('ZADD', 'big', *[x for i in range(200) for x in (str(i), 'm%03d' % i)])
    p.c('BZMPOP', '0', '1', 'big', 'MAX', 'COUNT', '150')
    p.c('OBJECT', 'ENCODING', 'big')
    p.c('BZPOPMIN', 'big', '0')
    p.c('ZCARD', 'big')
    p.c('ZADD', 'ttl', '1', 'a', '2', 'b')
    p.c('EXPIRE', 'ttl', '1000')
    p.c('BZPOPMIN', 'ttl', '0')
    p.c('TTL', 'ttl')


def sec_multi(d, p):
    """Inside MULTI a blocking command does not block: it answers as on a
    timeout (null array), even with timeout 0."""
    d.section = 'multi'
    p.c('FLUSHALL')
    p.c('MULTI')
    p.c('BZPOPMIN', 'z', '0')
    p.c('BZPOPMAX', 'z', 'z2', '0')
    p.c('BZMPOP', '0', '1', 'z', 'MIN')
    p.c('ZADD', 'z', '1', 'a', '2', 'b')
    p.c('BZPOPMIN', 'z', '0')
    p.c('BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '5')
    p.c('BZPOPMIN', 'z', '0')
    p.c('EXEC')
    p.c('MULTI')
    p.c('BZPOPMIN', 'z', '-1')
    p.c('EXEC')
    p.c('MULTI')
    p.c('CLIENT', 'UNBLOCK', '99999')
    p.c('EXEC')
    p.c('MULTI')
    for t in TIMEOUTS_ODD + TIMEOUTS_BAD[:3]:
        p.c('BZPOPMIN', 'none', t)
    p.c('EXEC')


def sec_order(d, p):
    """Three clients blocked on one key in turn are served first come, first
    served; a multi-element push serves as many as it brings."""
    d.section = 'order'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 3)
    try:
        bl.block(0, 'BZPOPMIN', 'k', '0')
        bl.block(1, 'BZPOPMAX', 'k', '0')
        bl.block(2, 'BZMPOP', '0', '1', 'k', 'MIN', 'COUNT', '5')
        p.c('CLIENT', 'LIST', cmp=flags_of_blocked(3))
        p.c('ZADD', 'k', '1', 'a', '2', 'b')
        bl.reply(0, 'first BZPOPMIN k')
        bl.reply(1, 'second BZPOPMAX k')
        bl.still_blocked(2, 'third BZMPOP k')
        p.c('EXISTS', 'k')
        p.c('ZADD', 'k', '3', 'c', '4', 'd', '5', 'e')
        bl.reply(2, 'third BZMPOP k COUNT 5')
        p.c('EXISTS', 'k')
        # two keys: the one that is written serves
        bl.block(0, 'BZPOPMIN', 'k1', 'k2', '0')
        bl.block(1, 'BZPOPMIN', 'k2', 'k1', '0')
        p.c('ZADD', 'k2', '1', 'x')
        bl.reply(0, 'BZPOPMIN k1 k2 (k2 written)')
        p.c('ZADD', 'k1', '1', 'y', '2', 'z')
        bl.reply(1, 'BZPOPMIN k2 k1 (k1 written)')
        p.c('ZRANGE', 'k1', '0', '-1')
        # a string under the key does not serve; a zset later does
        bl.block(0, 'BZPOPMIN', 'w', '0')
        p.c('SET', 'w', 'str')
        bl.still_blocked(0, 'BZPOPMIN w after SET w')
        p.c('DEL', 'w')
        p.c('ZADD', 'w', '1', 'one')
        bl.reply(0, 'BZPOPMIN w after ZADD w')
    finally:
        bl.close()


def sec_exec(d, p):
    """A MULTI/EXEC serves only once it is complete: the waiter gets what
    the transaction left; a key created and emptied inside it serves
    nobody."""
    d.section = 'exec'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 2)
    try:
        bl.block(0, 'BZPOPMIN', 'q', '0')
        p.c('MULTI')
        p.c('ZADD', 'q', '5', 'a')
        p.c('ZADD', 'q', '1', 'b')
        p.c('ZREM', 'q', 'b')
        p.c('ZADD', 'q', '3', 'c')
        p.c('EXEC')
        bl.reply(0, 'BZPOPMIN q after EXEC')
        p.c('ZRANGE', 'q', '0', '-1', 'WITHSCORES')
        bl.block(1, 'BZPOPMIN', 'e', '0')
        p.c('MULTI')
        p.c('ZADD', 'e', '1', 'a')
        p.c('ZREM', 'e', 'a')
        p.c('EXEC')
        bl.still_blocked(1, 'BZPOPMIN e after create-and-delete EXEC')
        p.c('ZADD', 'e', '9', 'z')
        bl.reply(1, 'BZPOPMIN e')
        p.c('EXISTS', 'e')
    finally:
        bl.close()


def flags_of_blocked(n):
    """CLIENT LIST: as many lines with flag b (cmd=the blocking command) on
    both servers."""
    def f(a, b):
        def count(r):
            v = harness.parse(r)
            text = v.decode() if isinstance(v, bytes) else str(v)
            return sorted(re.search(r' cmd=(\S+)', ln).group(1) for ln in text.splitlines()
                          if re.search(r' flags=\S*b', ln))
        ca, cb = count(a), count(b)
        return len(ca) == n and ca == cb
    return f


def sec_unblock(d, p):
    """CLIENT UNBLOCK: 1 and the timeout reply (or -UNBLOCKED) for a blocked
    client; 0 for one that is not (any more)."""
    d.section = 'unblock'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 2)
    try:
        for reason in ([], ['TIMEOUT'], ['ERROR'], ['error'], ['timeout']):
            ia, ib = bl.ids(0)
            bl.block(0, 'BZPOPMIN', 'u', '100')
            p.c('INFO', 'clients', cmp=timeout_table(1))
            ra = p.a.cmd('CLIENT', 'UNBLOCK', str(ia), *reason)
            rb = p.b.cmd('CLIENT', 'UNBLOCK', str(ib), *reason)
            d.count += 1
            if ra != rb:
                d.report(['CLIENT UNBLOCK id'] + reason, ra, rb)
            bl.reply(0, 'BZPOPMIN u after CLIENT UNBLOCK %s' % reason)
            ra = p.a.cmd('CLIENT', 'UNBLOCK', str(ia), *reason)
            rb = p.b.cmd('CLIENT', 'UNBLOCK', str(ib), *reason)
            d.count += 1
            if ra != rb:
                d.report(['CLIENT UNBLOCK id (again)'] + reason, ra, rb)
            # the unblocked client goes on with its pipeline
            ra, rb = bl.a[0].cmd('PING'), bl.b[0].cmd('PING')
            d.count += 1
            if ra != rb:
                d.report(['PING after unblock'], ra, rb)
        # the pipeline after a blocked command waits for it
        for cl in (bl.a[1], bl.b[1]):
            cl.send(encode('BZMPOP', '0', '1', 'pp', 'MAX') + encode('ECHO', 'after'))
        bl.blocked += 1
        bl.wait_count(1)
        p.c('ZADD', 'pp', '1', 'a', '2', 'b')
        bl.reply(1, 'BZMPOP pp (pipelined)')
        bl.blocked += 1
        bl.reply(1, 'ECHO after (pipelined behind it)')
        p.c('INFO', 'clients', cmp=timeout_table(0))
    finally:
        bl.close()


def timeout_table(n):
    def f(a, b):
        va = re.findall(rb'(blocked_clients|clients_in_timeout_table):(\d+)', a)
        vb = re.findall(rb'(blocked_clients|clients_in_timeout_table):(\d+)', b)
        return va == vb and len(va) == 2 and int(va[1][1]) == n
    return f


def sec_disconnect(d, p):
    """A blocked client that disconnects is never served: the element stays
    for the next waiter."""
    d.section = 'disconnect'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 2)
    try:
        bl.block(0, 'BZPOPMIN', 'dk', '0')
        bl.block(1, 'BZPOPMIN', 'dk', '0')
        bl.a[0].close()
        bl.b[0].close()
        bl.blocked -= 1
        bl.wait_count(1)
        p.c('ZADD', 'dk', '1', 'a')
        bl.reply(1, 'BZPOPMIN dk (the first waiter left)')
        p.c('EXISTS', 'dk')
    finally:
        bl.close()


# ---------------------------------------------------------------- lists

def sec_list_errors(d, p):
    d.section = 'list-errors'
    p.c('FLUSHALL')
    for t in TIMEOUTS_BAD:
        for cmd in (['BLPOP', 'l', t], ['BRPOP', 'l1', 'l2', t], ['BLMPOP', t, '1', 'l', 'LEFT'],
                    ['BLMOVE', 'l', 'd', 'LEFT', 'RIGHT', t], ['BRPOPLPUSH', 'l', 'd', t]):
            p.c(*cmd)
    for name in ('BLPOP', 'BRPOP'):
        for args in ([], ['l'], ['0']):
            p.c(name, *args)
    for args in ([], ['0'], ['0', '1'], ['0', '1', 'l'], ['0', '0', 'l', 'LEFT'],
                 ['0', '-1', 'l', 'LEFT'], ['0', 'x', 'l', 'LEFT'], ['0', '2', 'l', 'LEFT'],
                 ['0', '1', 'l', 'UP'], ['0', '1', 'l', 'LEFT', 'COUNT'],
                 ['0', '1', 'l', 'LEFT', 'COUNT', '0'], ['0', '1', 'l', 'RIGHT', 'COUNT', '-5'],
                 ['0', '1', 'l', 'LEFT', 'COUNT', '1', 'COUNT', '1'],
                 ['0', '1', 'l', 'LEFT', 'foo'], ['x', '1', 'l', 'LEFT'], ['-1', '1', 'l', 'LEFT'],
                 ['0', '99999999999999999999', 'l', 'LEFT']):
        p.c('BLMPOP', *args)
    for args in ([], ['a', 'b', 'LEFT', 'RIGHT'], ['a', 'b', 'UP', 'RIGHT', '0'],
                 ['a', 'b', 'LEFT', 'DOWN', '0'], ['a', 'b', 'UP', 'RIGHT', 'x'],
                 ['a', 'b', 'LEFT', 'RIGHT', '0', 'x']):
        p.c('BLMOVE', *args)
    for args in ([], ['a'], ['a', 'b'], ['a', 'b', '0', 'x']):
        p.c('BRPOPLPUSH', *args)
    p.c('SET', 's', 'v')
    p.c('BLPOP', 's', '0')
    p.c('BRPOP', 'nokey', 's', '0')
    p.c('BLMPOP', '0', '2', 'nokey', 's', 'RIGHT')
    p.c('BLMOVE', 's', 'd', 'LEFT', 'LEFT', '0')
    p.c('BRPOPLPUSH', 's', 'd', '0')
    p.c('RPUSH', 'l', 'a')
    p.c('BLMOVE', 'l', 's', 'LEFT', 'LEFT', '0')   # destination of another type
    p.c('BRPOPLPUSH', 'l', 's', '0')
    p.c('LRANGE', 'l', '0', '-1')


def sec_list_immediate(d, p):
    d.section = 'list-immediate'
    p.c('FLUSHALL')
    p.c('RPUSH', 'l', 'a', 'b', 'c', 'd', 'e', 'f')
    p.c('BLPOP', 'l', '0')
    p.c('BRPOP', 'l', '0')
    p.c('BLPOP', 'nokey', 'l', '0.5')
    p.c('BLMPOP', '0', '2', 'nokey', 'l', 'RIGHT', 'COUNT', '2')
    p.c('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', '10')
    p.c('EXISTS', 'l')
    p.c('RPUSH', 'src', '1', '2', '3')
    p.c('BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0')
    p.c('BLMOVE', 'src', 'src', 'LEFT', 'RIGHT', '0')
    p.c('BRPOPLPUSH', 'src', 'dst', '0')
    p.c('LRANGE', 'src', '0', '-1')
    p.c('LRANGE', 'dst', '0', '-1')
    p.c('BRPOPLPUSH', 'src', 'dst', '0')
    p.c('EXISTS', 'src')
    p.c('RPUSH', 'ttl', 'x', 'y')
    p.c('PEXPIRE', 'ttl', '100000000')
    p.c('BLPOP', 'ttl', '0')
    p.c('TTL', 'ttl')
    p.c('OBJECT', 'ENCODING', 'ttl')


def sec_list_multi(d, p):
    d.section = 'list-multi'
    p.c('FLUSHALL')
    p.c('MULTI')
    p.c('BLPOP', 'l', '0')
    p.c('BRPOP', 'l', 'l2', '0')
    p.c('BLMPOP', '0', '1', 'l', 'LEFT')
    p.c('BLMOVE', 'l', 'd', 'LEFT', 'LEFT', '0')
    p.c('BRPOPLPUSH', 'l', 'd', '0')
    p.c('RPUSH', 'l', 'a', 'b', 'c')
    p.c('BLPOP', 'l', '0')
    p.c('BLMOVE', 'l', 'd', 'RIGHT', 'LEFT', '0')
    p.c('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', '9')
    p.c('BRPOPLPUSH', 'l', 'd', '0')
    p.c('EXEC')
    p.c('LRANGE', 'd', '0', '-1')


def sec_list_order(d, p):
    """FCFS on a list key; a multi-element push serves as many as it brings,
    in pop order of each waiter's end."""
    d.section = 'list-order'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 3)
    try:
        bl.block(0, 'BLPOP', 'k', '0')
        bl.block(1, 'BRPOP', 'k', '0')
        bl.block(2, 'BLMPOP', '0', '1', 'k', 'LEFT', 'COUNT', '3')
        p.c('CLIENT', 'LIST', cmp=flags_of_blocked(3))
        p.c('LPUSH', 'k', 'a', 'b', 'c', 'd', 'e')
        bl.reply(0, 'BLPOP k')
        bl.reply(1, 'BRPOP k')
        bl.reply(2, 'BLMPOP k LEFT COUNT 3')
        p.c('EXISTS', 'k')
        bl.block(0, 'BRPOP', 'm1', 'm2', '0')
        bl.block(1, 'BLPOP', 'm2', 'm1', '0')
        p.c('RPUSH', 'm1', 'x')
        bl.reply(0, 'BRPOP m1 m2 (m1 written)')
        p.c('RPUSH', 'm2', 'y', 'z')
        bl.reply(1, 'BLPOP m2 m1 (m2 written)')
        p.c('LRANGE', 'm2', '0', '-1')
        # the same key twice: queued once
        bl.block(0, 'BLPOP', 'dup', 'dup', '0')
        bl.block(1, 'BLMPOP', '0', '3', 'dup', 'other', 'dup', 'RIGHT', 'COUNT', '5')
        p.c('RPUSH', 'dup', '1', '2', '3')
        bl.reply(0, 'BLPOP dup dup')
        bl.reply(1, 'BLMPOP dup other dup')
        p.c('EXISTS', 'dup')
        # a zset waiter and a list waiter on one key: only the matching type serves
        bl.block(0, 'BZPOPMIN', 'mix', '0')
        bl.block(1, 'BLPOP', 'mix', '0')
        p.c('RPUSH', 'mix', 'v')
        bl.reply(1, 'BLPOP mix (behind a BZPOPMIN waiter)')
        bl.still_blocked(0, 'BZPOPMIN mix')
        p.c('ZADD', 'mix', '1', 'w')
        bl.reply(0, 'BZPOPMIN mix')
    finally:
        bl.close()


def sec_list_exec(d, p):
    d.section = 'list-exec'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 2)
    try:
        bl.block(0, 'BLPOP', 'q', '0')
        bl.block(1, 'BLPOP', 'q', '0')
        p.c('MULTI')
        p.c('RPUSH', 'q', 'a')
        p.c('RPUSH', 'q', 'b', 'c')
        p.c('LPOP', 'q')
        p.c('EXEC')
        bl.reply(0, 'BLPOP q after EXEC (first)')
        bl.reply(1, 'BLPOP q after EXEC (second)')
        p.c('EXISTS', 'q')
        bl.block(0, 'BLPOP', 'e', '0')
        p.c('MULTI')
        p.c('RPUSH', 'e', 'a')
        p.c('RPOP', 'e')
        p.c('EXEC')
        bl.still_blocked(0, 'BLPOP e after create-and-delete EXEC')
        p.c('LPUSH', 'e', 'z')
        bl.reply(0, 'BLPOP e')
        # a large COUNT served at once (a large list, long elements)
        bl.block(1, 'BLMPOP', '0', '1', 'big', 'RIGHT', 'COUNT', '1000')
        p.c('RPUSH', 'big', *[('e%d-' % i) + 'x' * (i % 97) for i in range(700)])
        bl.reply(1, 'BLMPOP big COUNT 1000 (700 pushed)')
        bl.block(0, 'BZMPOP', '0', '1', 'bigz', 'MAX', 'COUNT', '300')
        p.c('ZADD', 'bigz', *[x for i in range(200) for x in (str(i), 'm%d' % i + 'y' * (i % 50))])
        bl.reply(0, 'BZMPOP bigz COUNT 300 (200 added)')
    finally:
        bl.close()


def sec_blmove(d, p):
    """BLMOVE / BRPOPLPUSH served, chaining to the destination's waiters;
    a destination of another type answers WRONGTYPE and keeps the element."""
    d.section = 'blmove'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 3)
    try:
        bl.block(0, 'BLMOVE', 'src', 'mid', 'RIGHT', 'LEFT', '0')
        bl.block(1, 'BRPOPLPUSH', 'mid', 'dst', '0')
        bl.block(2, 'BLPOP', 'dst', '0')
        p.c('LPUSH', 'src', 'x')
        bl.reply(0, 'BLMOVE src mid')
        bl.reply(1, 'BRPOPLPUSH mid dst (chained)')
        bl.reply(2, 'BLPOP dst (chained twice)')
        for k in ('src', 'mid', 'dst'):
            p.c('EXISTS', k)
        # a ring: a -> b, b -> a
        bl.block(0, 'BLMOVE', 'ra', 'rb', 'LEFT', 'LEFT', '0')
        bl.block(1, 'BLMOVE', 'rb', 'ra', 'LEFT', 'RIGHT', '0')
        p.c('RPUSH', 'ra', 'r1', 'r2')
        bl.reply(0, 'BLMOVE ra rb')
        bl.reply(1, 'BLMOVE rb ra')
        p.c('LRANGE', 'ra', '0', '-1')
        p.c('LRANGE', 'rb', '0', '-1')
        # a rotation: the element stays in the key for the next waiter
        bl.block(0, 'BLMOVE', 'rot', 'rot', 'LEFT', 'RIGHT', '0')
        bl.block(1, 'BLPOP', 'rot', '0')
        p.c('RPUSH', 'rot', 'r')
        bl.reply(0, 'BLMOVE rot rot')
        bl.reply(1, 'BLPOP rot (after the rotation)')
        p.c('EXISTS', 'rot')
        # wrong destination type when served
        p.c('SET', 'str', 'v')
        bl.block(0, 'BLMOVE', 'w', 'str', 'LEFT', 'LEFT', '0')
        bl.block(1, 'BLPOP', 'w', '0')
        p.c('RPUSH', 'w', 'elem')
        bl.reply(0, 'BLMOVE w str (WRONGTYPE destination)')
        bl.reply(1, 'BLPOP w (the element stayed)')
        # the timeout reply, through CLIENT UNBLOCK
        for cmd in (('BLMOVE', 'none', 'd', 'LEFT', 'LEFT', '0'), ('BRPOPLPUSH', 'none', 'd', '0'),
                    ('BLPOP', 'none', '0'), ('BLMPOP', '0', '1', 'none', 'LEFT')):
            ia, ib = bl.ids(2)
            bl.block(2, *cmd)
            p.a.cmd('CLIENT', 'UNBLOCK', str(ia))
            p.b.cmd('CLIENT', 'UNBLOCK', str(ib))
            bl.reply(2, '%s unblocked (timeout reply)' % cmd[0])
    finally:
        bl.close()


def stats_of(names):
    """INFO commandstats: calls / failed / rejected of the named commands."""
    def rows(r):
        out = {}
        for m in re.finditer(rb'cmdstat_([a-z|]+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,'
                             rb'rejected_calls=(\d+),failed_calls=(\d+)', r):
            if m.group(1).decode() in names:
                out[m.group(1)] = m.group(2, 3, 4)
        return out

    def f(a, b):
        return rows(a) == rows(b)
    return f


def sec_stats(d, p):
    """commandstats count a blocked command once it is answered (Redis's
    updateStatsOnUnblock): nothing while it waits; an -UNBLOCKED answer is a
    failed call."""
    d.section = 'stats'
    p.c('FLUSHALL')
    names = ('bzpopmin', 'blpop', 'blmove', 'zadd', 'rpush')
    bl = Blockers(d, p, 1)
    try:
        p.c('CONFIG', 'RESETSTAT')
        bl.block(0, 'BZPOPMIN', 'st', '0')
        p.c('INFO', 'commandstats', cmp=stats_of(names))
        p.c('ZADD', 'st', '1', 'a')
        bl.reply(0, 'BZPOPMIN st')
        p.c('INFO', 'commandstats', cmp=stats_of(names))
        ia, ib = bl.ids(0)
        bl.block(0, 'BLPOP', 'st2', '0')
        p.a.cmd('CLIENT', 'UNBLOCK', str(ia), 'ERROR')
        p.b.cmd('CLIENT', 'UNBLOCK', str(ib), 'ERROR')
        bl.reply(0, 'BLPOP st2 (unblocked with an error)')
        bl.block(0, 'BLMOVE', 'st3', 'd', 'LEFT', 'LEFT', '0')
        p.c('RPUSH', 'st3', 'x')
        bl.reply(0, 'BLMOVE st3 d')
        p.c('BLPOP', 'd', '0')
        p.c('INFO', 'commandstats', cmp=stats_of(names))
    finally:
        bl.close()


def sec_keyspace(d, p):
    """Waiters per database; keys created by RENAME, MOVE, LMOVE and SORT ...
    STORE serve them; CLIENT KILL of a waiter leaves the element."""
    d.section = 'keyspace'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 2)
    try:
        for cl in (bl.a[0], bl.b[0]):
            cl.cmd('SELECT', '2')
        bl.block(0, 'BLPOP', 'k', '0')
        p.c('RPUSH', 'k', 'in-db0')
        bl.still_blocked(0, 'BLPOP k in db 2 after a push in db 0')
        p.c('MOVE', 'k', '2')
        bl.reply(0, 'BLPOP k in db 2 (MOVE from db 0)')
        for cl in (bl.a[0], bl.b[0]):
            cl.cmd('SELECT', '0')
        bl.block(0, 'BLPOP', 'rn', '0')
        p.c('RPUSH', 'tmp', 'r')
        p.c('RENAME', 'tmp', 'rn')
        bl.reply(0, 'BLPOP rn (RENAME)')
        bl.block(0, 'BRPOP', 'mv', '0')
        p.c('RPUSH', 'src', 'm1', 'm2')
        p.c('LMOVE', 'src', 'mv', 'LEFT', 'RIGHT')
        bl.reply(0, 'BRPOP mv (LMOVE)')
        bl.block(0, 'BLPOP', 'sorted', '0')
        p.c('RPUSH', 'nums', '3', '1', '2')
        p.c('SORT', 'nums', 'STORE', 'sorted')
        bl.reply(0, 'BLPOP sorted (SORT STORE)')
        p.c('LRANGE', 'sorted', '0', '-1')
        # SWAPDB brings a list into the waiter's database
        bl.block(0, 'BLPOP', 'sw', '0')
        p.c('SELECT', '5')
        p.c('RPUSH', 'sw', 'from-db5')
        p.c('SELECT', '0')
        p.c('SWAPDB', '0', '5')
        bl.reply(0, 'BLPOP sw (SWAPDB 0 5)')
        p.c('SWAPDB', '0', '5')
        ia, ib = bl.ids(0)
        bl.block(0, 'BLPOP', 'kk', '0')
        bl.block(1, 'BLPOP', 'kk', '0')
        ra = p.a.cmd('CLIENT', 'KILL', 'ID', str(ia))
        rb = p.b.cmd('CLIENT', 'KILL', 'ID', str(ib))
        d.count += 1
        if ra != rb:
            d.report(['CLIENT KILL ID <blocked>'], ra, rb)
        bl.blocked -= 1
        bl.wait_count(1)
        p.c('RPUSH', 'kk', 'one')
        bl.reply(1, 'BLPOP kk (the first waiter was killed)')
        p.c('EXISTS', 'kk')
    finally:
        bl.close()


def sec_reply_modes(d, p):
    """CLIENT REPLY OFF / SKIP before a blocking command: its answer, given
    when a push serves it, is dropped too (a blocked client keeps its reply
    flags until answered); the next command is answered."""
    d.section = 'reply-modes'
    p.c('FLUSHALL')
    bl = Blockers(d, p, 1)
    try:
        for a, b in zip(bl.a, bl.b):
            a.send(encode('CLIENT', 'REPLY', 'SKIP'))
            b.send(encode('CLIENT', 'REPLY', 'SKIP'))
        bl.block(0, 'BLPOP', 'q', '0')
        p.c('RPUSH', 'q', 'x', 'y')
        bl.a[0].send(encode('PING', 'after-skip'))
        bl.b[0].send(encode('PING', 'after-skip'))
        bl.reply(0, 'CLIENT REPLY SKIP; BLPOP q (served); PING: only the PING answers')
        for a, b in zip(bl.a, bl.b):
            a.send(encode('CLIENT', 'REPLY', 'OFF'))
            b.send(encode('CLIENT', 'REPLY', 'OFF'))
        bl.block(0, 'BZPOPMIN', 'z', '0')
        p.c('ZADD', 'z', '1', 'm')
        bl.a[0].send(encode('CLIENT', 'REPLY', 'ON'))
        bl.b[0].send(encode('CLIENT', 'REPLY', 'ON'))
        bl.reply(0, 'CLIENT REPLY OFF; BZPOPMIN z (served); CLIENT REPLY ON: only +OK')
        p.c('LRANGE', 'q', '0', '-1')
        p.c('EXISTS', 'z')
    finally:
        bl.close()


SECTIONS = [sec_errors, sec_immediate, sec_multi, sec_order, sec_exec, sec_unblock,
            sec_disconnect, sec_list_errors, sec_list_immediate, sec_list_multi,
            sec_list_order, sec_list_exec, sec_blmove, sec_stats,
            sec_keyspace, sec_reply_modes]


def main():
    servers = test_diff.start_pair('diff-blocking')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        for resp in (2, 3):
            p = d.pair()
            RESP[0] = resp
            if resp == 3:
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            for sec in SECTIONS:
                sec(d, p)
            p.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-blocking: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-blocking', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
