#!/usr/bin/env python3
"""Differential test of Pub/Sub (issue 17) against redis-server 7.0.

SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE / SSUBSCRIBE /
SUNSUBSCRIBE confirmations, PUBLISH / SPUBLISH receiver counts and the
message frames the subscribers get, glob patterns as Redis matches them,
PUBSUB's subcommands, the RESP2 subscribed-mode errors and PING, RESP3
pushes mixed with ordinary replies, RESET, CLIENT REPLY OFF, MULTI, CLIENT
INFO's sub/psub/ssub and flag P, INFO's pubsub counters: byte for byte, in
RESP2 and RESP3. Where Redis's order comes from its hash tables (UNSUBSCRIBE
with no argument, several patterns matching one message, PUBSUB CHANNELS),
the replies are compared as multisets.

Usage: test_diff_pubsub.py   (environment: see harness.py)
"""

import os
import random
import re
import socket
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402
import test_diff  # noqa: E402

RESP = [2]


def hello(p):
    if RESP[0] == 3:
        p.c('HELLO', '3', cmp=test_diff.hello_eq)


def multiset(p, data, n, what):
    """Sends data to both, reads n replies each, compares them as multisets
    of frames (their order is Redis's hash order)."""
    ra, rb = p.send_both(data, n, what, check=False)
    p.d.count += 1
    if sorted(x or b'' for x in ra) != sorted(x or b'' for x in rb):
        p.d.report(what, b' | '.join(x or b'<none>' for x in ra),
                   b' | '.join(x or b'<none>' for x in rb))


def unsub_all(p, cmd, n):
    """UNSUBSCRIBE-like with no argument: n confirmations whose channel
    order is Redis's dict order; the counts run down in order."""
    ra, rb = p.send_both(encode(cmd), n, [cmd], check=False)
    p.d.count += 1

    def shape(rs):
        names, counts = [], []
        for r in rs:
            v = harness.parse(r) if r else None
            if not isinstance(v, list) or len(v) != 3:
                return ('bad', r)
            names.append(v[1])
            counts.append(v[2])
        return (r[:1] if rs and rs[0] else b'', sorted(names, key=repr), counts)
    if shape(ra) != shape(rb):
        p.d.report([cmd], b' | '.join(x or b'<none>' for x in ra),
                   b' | '.join(x or b'<none>' for x in rb))


def sec_basic(d, p):
    d.section = 'basic RESP%d' % RESP[0]
    hello(p)
    p.c('UNSUBSCRIBE')
    p.c('PUNSUBSCRIBE')
    p.c('SUNSUBSCRIBE')
    p.c('UNSUBSCRIBE', 'nope')
    p.c('SUBSCRIBE')
    p.c('PSUBSCRIBE')
    p.c('SSUBSCRIBE')
    p.raw(encode('SUBSCRIBE', 'a', 'b', 'a'), n=3)
    p.c('PING')
    p.c('PING', 'hello')
    p.c('PING', 'a', 'b')
    p.c('GET', 'k')
    p.c('SET', 'k', 'v')
    p.c('CLIENT', 'ID', cmp=test_diff.same_type_byte)
    p.c('CONFIG', 'GET', 'maxmemory-policy')
    p.c('PUBSUB', 'NUMSUB', 'a', 'b', 'c')
    p.c('NOSUCHCMD')
    p.raw(encode('PSUBSCRIBE', 'x*', 'y?'), n=2)
    p.c('UNSUBSCRIBE', 'a')
    p.c('UNSUBSCRIBE', 'a')
    unsub_all(p, 'UNSUBSCRIBE', 1)
    unsub_all(p, 'PUNSUBSCRIBE', 2)
    p.c('GET', 'k')
    p.raw(encode('SSUBSCRIBE', 's1', 's2'), n=2)
    p.c('GET', 'k')
    p.c('UNSUBSCRIBE')
    p.c('SUBSCRIBE', 'z')
    p.c('SUNSUBSCRIBE', 's1')
    unsub_all(p, 'SUNSUBSCRIBE', 1)
    p.c('GET', 'k')
    p.c('UNSUBSCRIBE')
    p.c('GET', 'k')
    p.c('PING')
    p.c('DEL', 'k')


def sec_unsub_many(d, p):
    d.section = 'unsubscribe all RESP%d' % RESP[0]
    hello(p)
    chans = ['c%d' % i for i in range(12)]
    p.raw(encode('SUBSCRIBE', *chans), n=len(chans))
    p.raw(encode('PSUBSCRIBE', 'p1', 'p2', 'p3'), n=3)
    unsub_all(p, 'UNSUBSCRIBE', len(chans))
    unsub_all(p, 'PUNSUBSCRIBE', 3)
    p.c('PING')


def sec_many_channels(d, p):
    """One client with thousands of channels and shard channels: random
    SUBSCRIBE / UNSUBSCRIBE churn with repeats (the per-client index, its
    growth and its deletions), each confirmation compared, then an
    SUNSUBSCRIBE of everything."""
    d.section = 'many channels RESP%d' % RESP[0]
    hello(p)
    rnd = random.Random(1234)
    names = ['m%d' % rnd.randrange(4000) for _ in range(3000)]
    for cmd in ('SUBSCRIBE', 'SSUBSCRIBE'):
        for i in range(0, len(names), 500):
            batch = names[i:i + 500]
            p.raw(encode(cmd, *batch), n=len(batch))
    shard = set(names)
    for _ in range(4):
        gone = rnd.sample(names, 400) + ['m%d' % rnd.randrange(4000) for _ in range(50)]
        p.raw(encode('UNSUBSCRIBE', *gone), n=len(gone))
        p.raw(encode('SUNSUBSCRIBE', *gone[:200]), n=200)
        shard -= set(gone[:200])
        back = rnd.sample(names, 300)
        p.raw(encode('SUBSCRIBE', *back), n=len(back))
    p.raw(encode('PING'), n=1)
    unsub_all(p, 'SUNSUBSCRIBE', len(shard))
    p.c('PING')


def sec_messages(d, p):
    d.section = 'messages RESP%d' % RESP[0]
    hello(p)
    pub = d.pair()
    pub.c('PUBLISH', 'news', 'nobody')
    p.raw(encode('SUBSCRIBE', 'news', 'other'), n=2)
    p.c('PSUBSCRIBE', 'n*')
    pub.c('PUBLISH', 'news', 'hello')   # 2: the channel and the pattern
    p.raw(b'', n=2)
    pub.c('PUBLISH', 'nothing', 'x')    # the pattern only
    p.raw(b'', n=1)
    pub.c('PUBLISH', 'other', b'bin\x00ary\r\n')
    p.raw(b'', n=1)
    pub.c('PUBLISH', 'news', '')
    p.raw(b'', n=2)
    # messages precede the reply of the next command, and a client publishing
    # to itself gets its message before PUBLISH's reply
    pub.c('PUBLISH', 'other', 'before ping')
    p.raw(b'', n=1)
    p.c('PING')
    if RESP[0] == 3:
        p.raw(encode('PUBLISH', 'other', 'to myself'), n=2)
        p.c('GET', 'k')
    p.c('PUNSUBSCRIBE', 'n*')
    pub.c('PUBLISH', 'news', 'after punsubscribe')
    p.raw(b'', n=1)
    p.c('UNSUBSCRIBE', 'news')
    pub.c('PUBLISH', 'news', 'after unsubscribe')
    pub.c('PUBLISH', 'other', 'still')
    p.raw(b'', n=1)
    # shard channels: SPUBLISH reaches SSUBSCRIBE only, PUBLISH does not
    p.c('SSUBSCRIBE', 'news')
    pub.c('SPUBLISH', 'news', 'sharded')
    p.raw(b'', n=1)
    pub.c('SPUBLISH', 'other', 'not to channel subscribers')
    pub.c('PUBLISH', 'other', 'channel')
    p.raw(b'', n=1)
    # a large message
    big = 'x' * 100000
    pub.c('PUBLISH', 'other', big)
    p.raw(b'', n=1)
    p.c('RESET')
    pub.c('PUBLISH', 'other', 'after reset')
    pub.c('SPUBLISH', 'news', 'after reset')
    p.c('PING')
    p.c('GET', 'k')
    pub.close()


# (pattern, channels) — every channel published once per pattern set
PATTERNS = ['h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', 'h[b-a]llo', '*',
            '\\*', 'a\\', '[', '[a-', 'x[]]y', '*o', 'H*', 'h\\?llo', '[!a]b', 'a*b*c',
            '**x', '?', '']
CHANNELS = ['hello', 'hallo', 'hxllo', 'hllo', 'heeello', 'hbllo', '*', 'a', 'a\\',
            '[', '[a-', 'x]y', 'x[]y', 'H', 'h?llo', 'h\\?llo', '!b', 'ab', 'abc',
            'aXbYc', 'x', '', 'HELLO']


def sec_patterns(d, p):
    d.section = 'patterns RESP%d' % RESP[0]
    hello(p)
    pub = d.pair()
    p.raw(encode('PSUBSCRIBE', *PATTERNS), n=len(PATTERNS))
    pub.c('PUBSUB', 'NUMPAT')
    for ch in CHANNELS:
        ra, rb = pub.c('PUBLISH', ch, 'm-' + ch)
        n = harness.parse(rb) if rb and rb.startswith(b':') else 0
        if n:
            multiset(p, b'', n, ['(messages of)', ch])
    p.c('PING')
    unsub_all(p, 'PUNSUBSCRIBE', len(PATTERNS))
    pub.close()


def sec_pubsub_cmd(d, p):
    d.section = 'PUBSUB RESP%d' % RESP[0]
    hello(p)
    subs = [d.pair() for _ in range(3)]
    for s in subs:
        hello(s)
    subs[0].raw(encode('SUBSCRIBE', 'alpha', 'beta', 'gamma'), n=3)
    subs[1].raw(encode('SUBSCRIBE', 'alpha', 'delta'), n=2)
    subs[1].raw(encode('PSUBSCRIBE', 'al*', 'be*'), n=2)
    subs[2].raw(encode('PSUBSCRIBE', 'al*'), n=1)
    subs[2].raw(encode('SSUBSCRIBE', 'sh1', 'sh2'), n=2)
    # CLIENT INFO's sub= psub= ssub= and flags (RESP3: allowed while subscribed)
    if RESP[0] == 3:
        def fields(r):
            return re.findall(rb'(?:flags|sub|psub|ssub|multi)=\S*', r)
        for s in subs:
            s.c('CLIENT', 'INFO', cmp=lambda a, b: fields(a) == fields(b))
    p.c('PUBSUB', 'CHANNELS', cmp=test_diff.sorted_array)
    p.c('PUBSUB', 'CHANNELS', 'a*', cmp=test_diff.sorted_array)
    p.c('PUBSUB', 'CHANNELS', '*ta', cmp=test_diff.sorted_array)
    p.c('PUBSUB', 'CHANNELS', 'zz*')
    p.c('PUBSUB', 'CHANNELS', 'a', 'b')
    p.c('PUBSUB', 'NUMSUB')
    p.c('PUBSUB', 'NUMSUB', 'alpha', 'beta', 'delta', 'nope', 'alpha')
    p.c('PUBSUB', 'NUMPAT')
    p.c('PUBSUB', 'NUMPAT', 'x')
    p.c('PUBSUB', 'SHARDCHANNELS', cmp=test_diff.sorted_array)
    p.c('PUBSUB', 'SHARDCHANNELS', 'sh1')
    p.c('PUBSUB', 'SHARDCHANNELS', 'a', 'b')
    p.c('PUBSUB', 'SHARDNUMSUB', 'sh1', 'sh2', 'alpha')
    p.c('PUBSUB', 'SHARDNUMSUB')
    p.c('PUBSUB', 'HELP')
    p.c('PUBSUB', 'help', 'x')
    p.c('PUBSUB', 'FOO')
    p.c('PUBSUB')
    p.c('PUBLISH', 'alpha', 'x')
    p.c('PUBLISH', 'beta', 'x')
    p.c('SPUBLISH', 'sh1', 'x')
    p.c('PUBLISH', 'sh1', 'x')
    p.c('PUBLISH', 'a')
    p.c('SPUBLISH', 'a', 'b', 'c')
    info = p.c('INFO', 'stats', cmp=lambda a, b: True)
    for name in ('pubsub_channels', 'pubsub_patterns', 'pubsubshard_channels'):
        got = [re.search(('^%s:(\\d+)' % name).encode(), x, re.M) for x in info]
        d.count += 1
        if None in got or got[0].group(1) != got[1].group(1):
            d.report(['INFO', name], got[0] and got[0].group(0) or b'<missing>',
                     got[1] and got[1].group(0) or b'<missing>')
    nlines = lambda a, b: a.count(b'\n') == b.count(b'\n')  # noqa: E731
    p.c('CLIENT', 'LIST', 'TYPE', 'pubsub', cmp=nlines)
    p.c('CLIENT', 'LIST', 'TYPE', 'normal', cmp=nlines)
    # CLIENT KILL TYPE pubsub closes the three subscribers (each sees EOF)
    p.c('CLIENT', 'KILL', 'TYPE', 'pubsub')
    for s in subs:
        xa, ca = s.a.read_until_eof(3.0)
        xb, cb = s.b.read_until_eof(3.0)
        d.count += 1
        if (xa, ca) != (xb, cb):
            d.report(['(killed subscriber: then EOF)'], xa + (b'<EOF>' if ca else b'<open>'),
                     xb + (b'<EOF>' if cb else b'<open>'))
        s.close()
    # the subscribers are gone: every registration with them
    p.c('PUBSUB', 'NUMSUB', 'alpha', 'beta', 'delta')
    p.c('PUBSUB', 'SHARDNUMSUB', 'sh1')


def sec_modes(d, p):
    d.section = 'modes RESP%d' % RESP[0]
    hello(p)
    # MULTI: SUBSCRIBE queued, its confirmations inside EXEC's reply
    p.c('MULTI')
    p.c('SUBSCRIBE', 'm1')
    p.c('PUBLISH', 'm1', 'queued')
    p.c('EXEC')
    p.c('PING')
    p.c('RESET')
    # CLIENT REPLY OFF: confirmations and messages still arrive
    p.c('CLIENT', 'REPLY', 'SKIP')
    p.c('SUBSCRIBE', 'r1')
    p.c('PING')
    p.c('RESET')
    # RESET leaves subscribed mode, without confirmations
    p.raw(encode('SUBSCRIBE', 'x', 'y'), n=2)
    p.c('RESET')
    p.c('GET', 'k')
    p.c('PUBSUB', 'NUMSUB', 'x', 'y')
    # QUIT is allowed in subscribed mode
    p.c('SUBSCRIBE', 'q')
    p.c('QUIT')


def sec_limits(d, p):
    """client-output-buffer-limit pubsub: a subscriber that does not read is
    disconnected once its pending messages pass the hard limit; the publisher
    is answered all along."""
    d.section = 'output limit RESP%d' % RESP[0]
    if RESP[0] == 3:
        return  # the protocol makes no difference here: once is enough
    hello(p)
    p.c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 0 0')
    p.c('CONFIG', 'GET', 'client-output-buffer-limit')
    sub = d.pair()
    hello(sub)
    sub.c('SUBSCRIBE', 'flood')
    payload = 'x' * 100000
    for cl in (p.a, p.b):
        # 30 MB: beyond what the loopback socket buffers absorb, then the limit
        for _ in range(300):
            r = cl.cmd('PUBLISH', 'flood', payload)
            if not r or not r.startswith(b':'):
                d.report(['PUBLISH', 'flood', '(100 KB)'], r or b'<none>', b':<n>')
                break
    closed = []
    for cl in (sub.a, sub.b):
        _, c = cl.read_until_eof(10.0)
        closed.append(c)
    d.count += 1
    if closed != [True, True]:
        d.report(['(flooded subscriber closed)'], repr(closed[0]).encode(),
                 repr(closed[1]).encode())
    sub.close()
    p.c('PUBSUB', 'NUMSUB', 'flood')
    p.c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60')


def sec_own_push(d, p):
    """RESP3: a client's own messages come before the reply of the command that published
    them: from a script (EVAL, FCALL; redis.call still returns PUBLISH's count), inside
    MULTI, and under CLIENT REPLY OFF / SKIP, which swallow the reply but not the push."""
    if RESP[0] != 3:
        return
    d.section = 'own pushes RESP3'
    hello(p)
    p.raw(encode('SUBSCRIBE', 'me'), n=1)
    p.c('PSUBSCRIBE', 'm*')
    p.raw(encode('EVAL', "redis.call('PUBLISH', 'me', 'e1') return 5", '0'), n=3)
    p.raw(encode('EVAL', "return redis.call('PUBLISH', 'me', 'e2')", '0'), n=3)
    p.raw(encode('EVAL', "redis.call('PUBLISH', 'me', 'a') redis.call('SPUBLISH', 'me', 'b') "
                 "return {1, 2}", '0'), n=3)
    p.raw(encode('EVAL', "redis.call('PUBLISH', 'me', 'a') return redis.error_reply('x')",
                 '0'), n=3)
    p.raw(encode('EVAL', "redis.call('PUBLISH', 'me', 'a') error('boom')", '0'), n=3)
    p.raw(encode('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=ownpush\nredis.register_function("
                 "'f', function() return redis.call('PUBLISH', 'me', 'fc') end)"), n=1)
    p.raw(encode('FCALL', 'f', '0'), n=3)
    p.c('FUNCTION', 'DELETE', 'ownpush')
    p.raw(encode('MULTI') + encode('EVAL', "return redis.call('PUBLISH', 'me', 'm')", '0') +
          encode('PUBLISH', 'me', 'n') + encode('EXEC'), n=4)
    p.raw(encode('CLIENT', 'REPLY', 'OFF') + encode('PUBLISH', 'me', 'off') +
          encode('GET', 'k') + encode('EVAL', "redis.call('PUBLISH', 'me', 'eo') return 1",
                                      '0') + encode('CLIENT', 'REPLY', 'ON'), n=5)
    p.raw(encode('CLIENT', 'REPLY', 'SKIP') + encode('PUBLISH', 'me', 'skip') +
          encode('PING'), n=3)
    p.c('PING')


SECTIONS = [sec_basic, sec_unsub_many, sec_many_channels, sec_messages, sec_patterns, sec_pubsub_cmd, sec_modes,
            sec_limits, sec_own_push]


def main():
    servers = test_diff.start_pair('diff-pubsub', kvsd_args=['--threads', '2'])
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        for resp in (2, 3):
            RESP[0] = resp
            for sec in SECTIONS:
                p = d.pair()
                sec(d, p)
                p.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-pubsub: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-pubsub', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
