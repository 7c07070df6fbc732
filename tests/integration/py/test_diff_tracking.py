#!/usr/bin/env python3
"""Differential test of client-side caching (issue 17) against redis-server 7.0.

CLIENT TRACKING ON/OFF with every option (REDIRECT, PREFIX, BCAST, OPTIN,
OPTOUT, NOLOOP) and every error Redis gives, CLIENT CACHING, CLIENT GETREDIR,
CLIENT TRACKINGINFO, CLIENT INFO's flags (t R B) and redir=, RESET; the
invalidations: RESP3 pushes, messages on __redis__:invalidate to a RESP2
redirect client, tracking-redir-broken, FLUSHDB/FLUSHALL's null, BCAST's
per-prefix batches, NOLOOP, OPTIN/OPTOUT with CLIENT CACHING, reads inside
MULTI and scripts, writes inside EXEC and scripts, expiry;
tracking-table-max-keys; INFO's tracking_* fields. Byte for byte, but for
client ids (each side's own id is substituted) and the key
tracking-table-max-keys evicts (Redis picks it at random).

Usage: test_diff_tracking.py   (environment: see harness.py)
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

RESP = [2]


def hello(p):
    if RESP[0] == 3:
        p.c('HELLO', '3', cmp=test_diff.hello_eq)


def resp3(p):
    p.c('HELLO', '3', cmp=test_diff.hello_eq)


def ids(p):
    """Each side's CLIENT ID of pair p: (kvsd's, redis's)."""
    ra, rb = p.c('CLIENT', 'ID', cmp=test_diff.same_type_byte)
    return int(harness.parse(ra)), int(harness.parse(rb))


def each(p, args_a, args_b, n=1, cmp=test_diff.exact):
    """Sends args_a to kvsd and args_b to redis (commands naming a client
    id), reads n replies of each and compares them."""
    for cl, args in ((p.a, args_a), (p.b, args_b)):
        cl.send(encode(*args))
    ra = p._read('a', p.a, n)
    rb = p._read('b', p.b, n)
    for x, y in zip(ra, rb):
        p.d.count += 1
        if not (x is not None and y is not None and cmp(x, y)):
            p.d.report(list(args_b), x, y)
    return ra, rb


def id_norm(ida, idb):
    """Compares after writing each side's client id as <id>."""
    def f(a, b):
        return re.sub(rb':%d\r\n' % ida, b':<id>\r\n', a) == \
            re.sub(rb':%d\r\n' % idb, b':<id>\r\n', b)
    return f


def client_info_fields(p, what):
    """CLIENT INFO: flags= and (redir=-1 or not) equal."""
    ra, rb = p.c('CLIENT', 'INFO', cmp=lambda a, b: True)

    def f(r):
        v = harness.parse(r)
        if isinstance(v, bytes) and r[:1] == b'=':
            v = v[4:]
        d = dict(kv.split('=', 1) for kv in v.decode().split() if '=' in kv)
        return d.get('flags'), d.get('redir') == '-1', d.get('redir') == '0'
    p.d.count += 1
    if f(ra) != f(rb):
        p.d.report(['CLIENT', 'INFO', what], ra, rb)


def info_tracking(p):
    """INFO's tracking_* fields, equal on both."""
    vals = []
    for cl in (p.a, p.b):
        r = harness.parse(cl.cmd('INFO', 'everything'))
        lines = r.decode().split('\r\n') if isinstance(r, bytes) else []
        vals.append([ln for ln in lines if ln.startswith('tracking_')])
    p.d.count += 1
    if vals[0] != vals[1]:
        p.d.report(['INFO', '(tracking_*)'], repr(vals[0]).encode(), repr(vals[1]).encode())


def quiet(p):
    """Nothing was queued for p: its next reply is PING's."""
    p.c('PING')


def sec_errors(d, p):
    d.section = 'errors RESP%d' % RESP[0]
    hello(p)
    p.c('CLIENT', 'TRACKING')
    p.c('CLIENT', 'TRACKING', 'maybe')
    p.c('CLIENT', 'TRACKING', 'ON', 'bogus')
    p.c('CLIENT', 'TRACKING', 'maybe', 'BCAST')
    p.c('CLIENT', 'TRACKING', 'ON', 'REDIRECT')
    p.c('CLIENT', 'TRACKING', 'ON', 'PREFIX')
    p.c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', 'abc')
    p.c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '999999')
    p.c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '0')
    p.c('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '-5')
    other = d.pair()
    oa, ob = ids(other)
    each(p, ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', oa, 'REDIRECT', oa],
         ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', ob, 'REDIRECT', ob])
    p.c('CLIENT', 'TRACKING', 'ON', 'PREFIX', 'a')
    p.c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTIN')
    p.c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTOUT')
    p.c('CLIENT', 'TRACKING', 'ON', 'OPTIN', 'OPTOUT')
    p.c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'ab', 'PREFIX', 'a')
    p.c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'bc', 'PREFIX', 'b', 'PREFIX', 'x')
    # 7.0.15 answers an overlap found past the first prefix with the error
    # and then +OK: tracking is on, with every prefix
    p.raw(encode('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'a', 'PREFIX', 'b', 'PREFIX',
                 'bc'), n=2)
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'OFF')
    p.c('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'x', 'PREFIX', 'x')
    p.c('CLIENT', 'TRACKING', 'OFF', 'PREFIX', 'a')
    p.c('CLIENT', 'TRACKING', 'OFF', 'BCAST', 'OPTIN', 'OPTOUT')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'GETREDIR')
    p.c('CLIENT', 'CACHING')
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('CLIENT', 'CACHING', 'no')
    p.c('CLIENT', 'CACHING', 'maybe')
    p.c('CLIENT', 'GETREDIR', 'x')
    p.c('CLIENT', 'TRACKINGINFO', 'x')
    # prefixes against the ones registered
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'user:', 'prefix', 'obj')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'user:1')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'o')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'user:')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'abc')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('CLIENT', 'TRACKING', 'on', 'optin')
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('CLIENT', 'GETREDIR')
    client_info_fields(p, 'bcast')
    info_tracking(p)
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('CLIENT', 'TRACKINGINFO')
    info_tracking(p)
    # OPTIN / OPTOUT
    p.c('CLIENT', 'TRACKING', 'on', 'optin')
    p.c('CLIENT', 'CACHING', 'no')
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'on', 'optout')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast')
    p.c('CLIENT', 'TRACKING', 'on', 'optin', 'noloop')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('CLIENT', 'TRACKING', 'on', 'optout')
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('CLIENT', 'CACHING', 'no')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('CLIENT', 'TRACKINGINFO')
    client_info_fields(p, 'optout')
    each(p, ['CLIENT', 'TRACKING', 'on', 'REDIRECT', oa], ['CLIENT', 'TRACKING', 'on',
                                                         'REDIRECT', ob])
    ra, rb = each(p, ['CLIENT', 'GETREDIR'], ['CLIENT', 'GETREDIR'], cmp=id_norm(oa, ob))
    each(p, ['CLIENT', 'TRACKINGINFO'], ['CLIENT', 'TRACKINGINFO'], cmp=id_norm(oa, ob))
    p.c('RESET')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'GETREDIR')
    client_info_fields(p, 'after reset')
    other.close()
    info_tracking(p)


def sec_default(d, p):
    """Default mode: RESP3 pushes to the reader, after its own write's reply."""
    d.section = 'default mode'
    resp3(p)
    w = d.pair()
    p.c('CLIENT', 'TRACKING', 'on')
    client_info_fields(p, 'on')
    p.c('GET', 'k1')
    p.c('MGET', 'k2', 'k3')
    info_tracking(p)
    w.c('SET', 'k1', 'v')
    p.raw(b'', n=1)             # >2 invalidate [k1]
    w.c('MSET', 'k2', 'a', 'k3', 'b', 'k4', 'c')
    p.raw(b'', n=2)             # k2, k3: one push each
    w.c('SET', 'k1', 'again')   # no longer tracked: nothing
    quiet(p)
    # own writes: the push follows the write's reply
    p.c('GET', 'k1')
    p.raw(encode('INCR', 'k1'), n=1)
    p.c('GET', 'k1')
    p.raw(encode('APPEND', 'k1', 'x'), n=2)
    # a write that changes nothing invalidates nothing
    p.c('GET', 'k1')
    w.c('SETNX', 'k1', 'no')
    quiet(p)
    w.c('DEL', 'k1')
    p.raw(b'', n=1)
    # stores: only the destination; RENAME: both
    w.c('SADD', 's1', 'a', 'b')
    w.c('SADD', 's2', 'b', 'c')
    p.c('SISMEMBER', 's1', 'a')
    p.c('SCARD', 's2')
    p.c('EXISTS', 'dst')
    w.c('SINTERSTORE', 'dst', 's1', 's2')
    p.raw(b'', n=1)
    quiet(p)
    w.c('RENAME', 's1', 's3')
    p.raw(b'', n=1)             # s1
    p.c('TYPE', 's3')
    w.c('RENAME', 's3', 's1')
    p.raw(b'', n=1)             # s3
    quiet(p)
    w.c('HSET', 'h', 'f', 'v')
    p.c('HGET', 'h', 'f')
    w.c('HINCRBY', 'h', 'n', '1')
    p.raw(b'', n=1)
    p.c('LRANGE', 'l', '0', '-1')
    w.c('RPUSH', 'l', 'a', 'b')
    p.raw(b'', n=1)
    p.c('ZSCORE', 'z', 'm')
    w.c('ZADD', 'z', '1', 'm')
    p.raw(b'', n=1)
    # expiry (lazy or active: one invalidation either way)
    w.c('SET', 'e', 'v', 'PX', '50')
    p.c('GET', 'e')
    time.sleep(0.3)
    w.c('GET', 'e')
    p.raw(b'', n=1)
    # NOLOOP: own writes are not announced, others' are
    p.c('CLIENT', 'TRACKING', 'on', 'noloop')
    p.c('GET', 'n1')
    p.c('SET', 'n1', 'mine')
    quiet(p)
    p.c('GET', 'n1')
    w.c('SET', 'n1', 'theirs')
    p.raw(b'', n=1)
    info_tracking(p)
    # FLUSHDB / FLUSHALL: a null, to every tracking client, NOLOOP or not
    p.c('GET', 'f')
    w.c('FLUSHDB')
    p.raw(b'', n=1)
    p.c('FLUSHALL')
    p.raw(b'', n=1)
    info_tracking(p)
    p.c('CLIENT', 'TRACKING', 'off')
    w.c('SET', 'k1', 'x')
    quiet(p)
    w.close()


def sec_multi_script(d, p):
    d.section = 'multi and scripts'
    resp3(p)
    w = d.pair()
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('MULTI')
    p.c('GET', 'm1')
    p.c('GET', 'm2')
    p.c('EXEC')
    w.c('MSET', 'm1', '1', 'm2', '2')
    p.raw(b'', n=2)
    # a write in EXEC: the push follows EXEC's reply
    p.c('GET', 'm1')
    p.raw(encode('MULTI') + encode('SET', 'm1', 'x') + encode('EXEC'), n=4)
    # reads in scripts are the caller's
    p.c('EVAL', "return redis.call('GET', KEYS[1])", '1', 'sc')
    w.c('SET', 'sc', '1')
    p.raw(b'', n=1)
    p.c('EVAL_RO', "return redis.call('GET', KEYS[1])", '1', 'sc')
    w.c('SET', 'sc', '2')
    p.raw(b'', n=1)
    # a write in a script announces after the script
    p.c('GET', 'sc')
    w.c('EVAL', "redis.call('SET', KEYS[1], 'x') return 1", '1', 'sc')
    p.raw(b'', n=1)
    quiet(p)
    p.c('FLUSHALL')
    p.raw(b'', n=1)
    w.close()


def sec_blocked(d, p):
    """Keys changed by serving a blocked client (BLPOP's source, BLMOVE's
    destination) are invalidated."""
    d.section = 'blocked clients'
    resp3(p)
    w = d.pair()
    b = d.pair()
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('LRANGE', 'bl', '0', '-1')
    p.c('LRANGE', 'bdst', '0', '-1')
    b.send_both(encode('BLMOVE', 'bl', 'bdst', 'LEFT', 'RIGHT', '0'), 0, ['BLMOVE'])
    time.sleep(0.2)
    w.c('LPUSH', 'bl', 'x')
    b.raw(b'', n=1)
    p.raw(b'', n=2)             # bl (the push), bdst (the move)
    quiet(p)
    p.c('LRANGE', 'bdst', '0', '-1')
    b.send_both(encode('BLPOP', 'bl2', '0'), 0, ['BLPOP'])
    time.sleep(0.2)
    w.c('RPUSH', 'bl2', 'y')
    b.raw(b'', n=1)
    quiet(p)
    p.c('FLUSHALL')
    p.raw(b'', n=1)
    b.close()
    w.close()


def sec_optin_optout(d, p):
    d.section = 'optin optout'
    resp3(p)
    w = d.pair()
    p.c('CLIENT', 'TRACKING', 'on', 'optin')
    p.c('GET', 'o1')
    w.c('SET', 'o1', 'x')
    quiet(p)                    # not cached: no push
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('GET', 'o1')
    w.c('SET', 'o1', 'y')
    p.raw(b'', n=1)
    # CACHING lasts one command; CLIENT subcommands keep it
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('PING')
    p.c('GET', 'o2')
    w.c('SET', 'o2', 'x')
    quiet(p)
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'ID', cmp=test_diff.same_type_byte)
    p.c('GET', 'o2')
    w.c('SET', 'o2', 'y')
    p.raw(b'', n=1)
    # and a whole transaction
    p.c('CLIENT', 'CACHING', 'yes')
    p.c('MULTI')
    p.c('GET', 'o3')
    p.c('GET', 'o4')
    p.c('EXEC')
    w.c('MSET', 'o3', '1', 'o4', '1')
    p.raw(b'', n=2)
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('CLIENT', 'TRACKING', 'on', 'optout')
    p.c('GET', 'o5')
    w.c('SET', 'o5', 'x')
    p.raw(b'', n=1)
    p.c('CLIENT', 'CACHING', 'no')
    p.c('GET', 'o5')
    w.c('SET', 'o5', 'y')
    quiet(p)
    p.c('GET', 'o5')
    w.c('SET', 'o5', 'z')
    p.raw(b'', n=1)
    p.c('CLIENT', 'TRACKING', 'off')
    w.close()


def sec_bcast(d, p):
    d.section = 'bcast RESP%d' % RESP[0]
    resp3(p)
    w = d.pair()
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'a', 'prefix', 'b')
    client_info_fields(p, 'bcast')
    info_tracking(p)
    p.c('GET', 'a1')            # BCAST: reads are not remembered
    info_tracking(p)
    w.c('MSET', 'a1', '1', 'b1', '2', 'c1', '3', 'a2', '4')
    p.raw(b'', n=2)             # [a1 a2], [b1]
    w.c('SET', 'c2', 'x')
    quiet(p)
    p.c('SET', 'a3', 'mine')    # not NOLOOP: the push follows the reply
    p.raw(b'', n=1)
    p.c('CLIENT', 'TRACKING', 'on', 'bcast', 'noloop', 'prefix', 'c')
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('MSET', 'a4', '1', 'c3', '2')
    quiet(p)
    w.c('DEL', 'a4', 'c3')
    p.raw(b'', n=2)
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('CLIENT', 'TRACKING', 'on', 'bcast')
    p.c('CLIENT', 'TRACKINGINFO')
    info_tracking(p)
    w.c('SET', 'anything', '1')
    p.raw(b'', n=1)
    w.c('FLUSHALL')
    p.raw(b'', n=1)
    p.c('CLIENT', 'TRACKING', 'off')
    info_tracking(p)
    w.close()


def sec_redirect(d, p):
    """RESP2 tracking through a redirect client subscribed to
    __redis__:invalidate; redirect to RESP3; the redirect client gone."""
    d.section = 'redirect'
    w = d.pair()
    # RESP2 without a redirect: accepted, and nothing can be sent
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('GET', 'r0')
    w.c('SET', 'r0', 'x')
    quiet(p)
    p.c('CLIENT', 'TRACKINGINFO')
    p.c('CLIENT', 'TRACKING', 'off')
    r = d.pair()
    ra_id, rb_id = ids(r)
    r.c('SUBSCRIBE', '__redis__:invalidate')
    each(p, ['CLIENT', 'TRACKING', 'on', 'REDIRECT', ra_id],
         ['CLIENT', 'TRACKING', 'on', 'REDIRECT', rb_id])
    client_info_fields(p, 'redirect')
    p.c('GET', 'r1')
    w.c('SET', 'r1', 'x')
    r.raw(b'', n=1)
    p.c('GET', 'r1')
    p.c('SET', 'r1', 'mine')    # the tracking client's own write
    r.raw(b'', n=1)
    w.c('FLUSHDB')
    r.raw(b'', n=1)             # the null, as the tracking client's RESP2
    # BCAST through the redirect
    each(p, ['CLIENT', 'TRACKING', 'off'], ['CLIENT', 'TRACKING', 'off'])
    each(p, ['CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'q', 'REDIRECT', ra_id],
         ['CLIENT', 'TRACKING', 'on', 'bcast', 'prefix', 'q', 'REDIRECT', rb_id])
    w.c('MSET', 'q1', '1', 'q2', '2', 'z', '3')
    r.raw(b'', n=1)
    p.c('CLIENT', 'TRACKING', 'off')
    # a redirect client in RESP2 that is not subscribed gets nothing
    r.c('UNSUBSCRIBE')
    each(p, ['CLIENT', 'TRACKING', 'on', 'REDIRECT', ra_id],
         ['CLIENT', 'TRACKING', 'on', 'REDIRECT', rb_id])
    p.c('GET', 'r2')
    w.c('SET', 'r2', 'x')
    quiet(r)
    # a RESP3 redirect client gets pushes
    resp3(r)
    p.c('GET', 'r2')
    w.c('SET', 'r2', 'y')
    r.raw(b'', n=1)
    # the redirect client disconnects: RESP2 tracking is silent, RESP3 gets
    # tracking-redir-broken at each invalidation
    r.close()
    time.sleep(0.2)
    p.c('GET', 'r3')
    w.c('SET', 'r3', 'x')
    quiet(p)
    each(p, ['CLIENT', 'TRACKINGINFO'], ['CLIENT', 'TRACKINGINFO'], cmp=id_norm(ra_id, rb_id))
    client_info_fields(p, 'broken')
    resp3(p)
    p.c('GET', 'r3')
    w.c('SET', 'r3', 'y')
    ra, rb = p._read('a', p.a, 1), p._read('b', p.b, 1)
    p.d.count += 1
    if not id_norm(ra_id, rb_id)(ra[0], rb[0]):
        p.d.report(['(tracking-redir-broken)'], ra[0], rb[0])
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('FLUSHALL')
    w.close()


def sec_max_keys(d, p):
    d.section = 'tracking-table-max-keys'
    resp3(p)
    p.c('FLUSHALL')
    p.c('CONFIG', 'GET', 'tracking-table-max-keys')
    p.c('CONFIG', 'SET', 'tracking-table-max-keys', '2')
    p.c('CLIENT', 'TRACKING', 'on')
    p.c('GET', 'x1')
    p.c('GET', 'x2')
    p.c('GET', 'x3')

    def one_of(a, b):
        keys = [b'x1', b'x2', b'x3']
        return a.startswith(b'>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\n') and \
            b.startswith(b'>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\n') and \
            a[-4:-2] in keys and b[-4:-2] in keys
    p.raw(encode('PING'), n=1, cmp=one_of)  # the eviction's invalidation
    p.raw(b'', n=1)                          # PONG
    info_tracking(p)
    p.c('CONFIG', 'SET', 'tracking-table-max-keys', '0')
    p.c('GET', 'x4')
    p.c('GET', 'x5')
    info_tracking(p)
    p.c('CONFIG', 'SET', 'tracking-table-max-keys', '1000000')
    p.c('CLIENT', 'TRACKING', 'off')
    p.c('FLUSHALL')
    p.quiet('FLUSHALL with tracking off: no invalidation')
    info_tracking(p)


SECTIONS = [sec_default, sec_multi_script, sec_blocked, sec_optin_optout, sec_bcast, sec_redirect,
            sec_max_keys]


def main():
    servers = test_diff.start_pair('diff-tracking', kvsd_args=['--threads', '2'])
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        for resp in (2, 3):
            RESP[0] = resp
            p = d.pair()
            sec_errors(d, p)
            p.close()
        for sec in SECTIONS:
            p = d.pair()
            sec(d, p)
            p.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-tracking: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-tracking', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
