#!/usr/bin/env python3
"""Differential test of Redis 7.0 functions (issue 16) against redis-server 7.0.

FUNCTION LOAD (metadata, engine and name errors, redis.register_function in
both call forms and every error it raises, the load API's restrictions,
REPLACE, collisions), FUNCTION LIST (LIBRARYNAME, WITHCODE), DELETE, FLUSH,
STATS, KILL, HELP, DUMP and RESTORE (policies, bad payloads), FCALL and
FCALL_RO (reply conversions, errors naming the function, flags, keys and
args, MULTI), in RESP2 and RESP3, reply bytes compared exactly. Then, kvsd
against redis-server as peers: FUNCTION DUMP payloads restored on the other
server, an RDB file saved by one loaded by the other (FUNCTION LIST
compared), and, kvsd only, a library loaded on one connection is callable
at once on every other connection (workers), and libraries and a function's
writes survive an AOF restart (with and without the RDB preamble) and an
RDB restart.

Usage: test_diff_function.py   (environment: see harness.py)
"""

import os
import shutil
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_diff  # noqa: E402

REG = "redis.register_function('%s', function(keys, args) %s end)\n"


def lib(name, *fns):
    """A library named name registering fns: (fname, body) pairs."""
    return '#!lua name=%s\n' % name + ''.join(REG % f for f in fns)


LIB1 = ('#!lua name=lib1\n'
        "redis.register_function('f1', function(keys, args) return {keys, args} end)\n"
        "redis.register_function{function_name='ro1', callback=function(keys, args)\n"
        "  return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n"
        "redis.register_function{function_name='w1', callback=function(keys, args)\n"
        "  return redis.call('set', keys[1], args[1]) end,\n"
        "  flags={'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}\n"
        "redis.register_function('incr2', function(keys, args)\n"
        "  redis.call('incr', keys[1]) return redis.call('incr', keys[1]) end)\n")

LOAD_ERRORS = [
    '', 'return 1', '#!lua', '#!lua\n' + REG % ('f', 'return 1'),
    '#!lua name=\n' + REG % ('f', 'return 1'),
    '#!lua name=a-b\n' + REG % ('f', 'return 1'),
    '#!lua name=x name=y\n' + REG % ('f', 'return 1'),
    '#!lua foo=bar\n' + REG % ('f', 'return 1'),
    '#!lua name=x foo=bar\n' + REG % ('f', 'return 1'),
    '#!python name=x\n' + REG % ('f', 'return 1'),
    '#! name=x\n' + REG % ('f', 'return 1'),
    '#!lua name=x\nreturn 1',
    '#!lua name=x\nreturn 1 +',
    '#!lua name=x\n\nlocal a = \n',
    "#!lua name=x\nredis.call('set','a','b')",
    "#!lua name=x\nredis.pcall('set','a','b')",
    "#!lua name=x\nredis.setresp(3)",
    "#!lua name=x\nlocal n = string.len('x')",
    "#!lua name=x\nlocal n = KEYS",
    "#!lua name=x\na = 1",
    "#!lua name=x\nredis.x = 1",
    "#!lua name=x\nerror('boom')",
    "#!lua name=x\nerror({err='MY own'})",
    "#!lua name=x\nerror()",
    "#!lua name=x\nredis.register_function('f')",
    "#!lua name=x\nredis.register_function()",
    "#!lua name=x\nredis.register_function('f', function() end, 3)",
    "#!lua name=x\nredis.register_function(1, 2)",
    "#!lua name=x\nredis.register_function({}, function() end)",
    "#!lua name=x\nredis.register_function('a b', function() end)",
    "#!lua name=x\nredis.register_function('', function() end)",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f'}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=1}",
    "#!lua name=x\nredis.register_function{function_name=function() end, callback=1}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end,"
    " flags='no-writes'}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end,"
    " flags={'bad'}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end,"
    " flags={1}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end,"
    " description={}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end,"
    " other=1}",
    "#!lua name=x\nredis.register_function{'f', function() end}",
    "#!lua name=x\n" + REG % ('f', 'return 1') + REG % ('f', 'return 2'),
    "#!lua name=x\n" + REG % ('f1', 'return 1'),
    "#!lua name=x\n" + REG % ('F1', 'return 1'),
    "#!lua name=lib1\n" + REG % ('zz', 'return 1'),
]

# (expression) returned by function c<i> of library conv
RETURNS = [
    "1", "-3", "3.99", "'hello'", "''", "true", "false", "nil", "{}", "{1,2,{3,'x'}}",
    "{1,nil,3}", "{ok='fine'}", "{err='bad thing'}", "{err='-X y'}",
    "redis.error_reply('MY boom')", "redis.status_reply('PONG')", "{double=3.5}",
    "{map={a=1}}", "{set={a=true}}", "{big_number='123456789012345678901'}",
    "redis.REDIS_VERSION", "#keys + 10 * #args", "type(KEYS)", "type(ARGV)",
    "type(redis.call)", "type(redis.register_function)", "type(string.len)",
    "type(cjson)", "redis.register_function('y', function() end)",
    "redis.call('set', keys[1], 'v')", "redis.call('get', keys[1])",
    "redis.call('nosuch')", "redis.pcall('incr', 'fs')", "redis.call('incr', 'fs')",
    "redis.call('fcall', 'c1', 0)", "redis.call('function', 'list')",
    "error('boom')", "error({err='OWN e'})", "nosuch.x",
    "(function() x = 1 end)()",
    "redis.setresp(3) return redis.call('hgetall', 'fh')",
    "redis.call('hset', 'fh', 'a', '1') return redis.call('hgetall', 'fh')",
    "math.random(100)", "cjson.encode({1,2})", "redis.sha1hex('x')",
]


def conv_lib():
    return '#!lua name=conv\n' + ''.join(
        REG % ('c%d' % i, e if 'return' in e else 'return ' + e) for i, e in enumerate(RETURNS))


def sec_load(d, p):
    d.section = 'load errors'
    p.c('FUNCTION', 'FLUSH')
    p.c('FUNCTION', 'LOAD', LIB1)
    for code in LOAD_ERRORS:
        p.c('FUNCTION', 'LOAD', code)
    p.c('FUNCTION', 'LOAD', LIB1)
    p.c('FUNCTION', 'LOAD', 'REPLACE', LIB1)
    p.c('FUNCTION', 'LOAD', 'replace', LIB1)
    p.c('FUNCTION', 'LOAD', 'BAD', LIB1)
    p.c('FUNCTION', 'LOAD', 'REPLACE')
    p.c('FUNCTION', 'LOAD')
    p.c('FUNCTION', 'LOAD', 'REPLACE', 'REPLACE', LIB1)
    p.c('FUNCTION', 'LOAD', 'REPLACE', lib('other', ('f1', 'return 1')))
    p.c('FUNCTION', 'LOAD', '#!LUA name=up\n' + REG % ('upf', 'return 1'))
    p.c('FUNCTION', 'LOAD', '#!lua NAME=up2\n' + REG % ('upf2', 'return 1'))
    p.c('FUNCTION', 'LOAD', "#!lua name=logs\nredis.log(redis.LOG_NOTICE, 'loading', "
        "redis.REDIS_VERSION, redis.REDIS_VERSION_NUM)\n" + REG % ('lf', 'return 1'))
    p.c('FCALL', 'upf', '0')
    p.c('FCALL', 'UPF', '0')
    p.c('FCALL', 'lf', '0')
    for name in ('up', 'up2', 'logs'):
        p.c('FUNCTION', 'DELETE', name)
    p.c('FUNCTION', 'LOAD', "#!lua name=slow\nwhile true do end")


def sec_list(d, p):
    d.section = 'list'
    p.c('FUNCTION', 'FLUSH')
    p.c('FUNCTION', 'LIST', cmp=list_eq)
    p.c('FUNCTION', 'LOAD', LIB1)
    p.c('FUNCTION', 'LIST', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'WITHCODE', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'withcode', 'LIBRARYNAME', 'lib*', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'lib1', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'LIB1', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'nomatch*', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'WITHCODE', 'WITHCODE', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'a', 'LIBRARYNAME', 'b', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'bad', cmp=list_eq)
    p.c('FUNCTION', 'STATS')
    p.c('FUNCTION', 'LOAD', lib('second', ('s1', 'return 1'), ('s2', 'return 2')))
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'second', cmp=list_eq)
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'sec?nd', 'WITHCODE', cmp=list_eq)
    p.c('FUNCTION', 'LIST', cmp=list_eq)
    p.c('FUNCTION', 'STATS')
    p.c('FUNCTION', 'STATS', 'x')
    p.c('FUNCTION', 'DELETE', 'second')
    p.c('FUNCTION', 'DELETE', 'second')
    p.c('FUNCTION', 'DELETE', 'LIB1')
    p.c('FUNCTION', 'DELETE')
    p.c('FUNCTION', 'DELETE', 'a', 'b')
    p.c('FUNCTION', 'KILL')
    p.c('FUNCTION', 'KILL', 'x')
    p.c('FUNCTION', 'HELP')
    p.c('FUNCTION', 'NOSUCH')
    p.c('FUNCTION')
    p.c('FUNCTION', 'FLUSH', 'bad')
    p.c('FUNCTION', 'FLUSH', 'sync', 'async')
    p.c('FUNCTION', 'FLUSH', 'ASYNC')
    p.c('FUNCTION', 'LIST', cmp=list_eq)
    p.c('FUNCTION', 'FLUSH', 'sync')
    p.c('FUNCTION', 'STATS')


def sec_fcall(d, p):
    d.section = 'fcall'
    p.c('FUNCTION', 'FLUSH')
    p.c('FLUSHALL')
    p.c('FUNCTION', 'LOAD', LIB1)
    p.c('FUNCTION', 'LOAD', conv_lib())
    p.c('SET', 'fs', 'notanumber')
    for i in range(len(RETURNS)):
        p.c('FCALL', 'c%d' % i, '1', 'fk', 'a1', 'a2')
    for i in range(len(RETURNS)):
        p.c('FCALL_RO', 'c%d' % i, '0')
    p.c('FCALL', 'f1', '2', 'k1', 'k2', 'a1', 'a2', 'a3')
    p.c('FCALL', 'f1', '0')
    p.c('FCALL', 'F1', '0', 'x')
    p.c('FCALL', 'f1', '3', 'k1')
    p.c('FCALL', 'f1', '-1')
    p.c('FCALL', 'f1', 'x')
    p.c('FCALL', 'f1', '1.5', 'a', 'b')
    p.c('FCALL', 'nosuch', '0')
    p.c('FCALL', 'nosuch', 'x')
    p.c('FCALL', 'f1')
    p.c('FCALL')
    p.c('FCALL', 'w1', '1', 'wk', 'val')
    p.c('FCALL', 'ro1', '1', 'wk')
    p.c('FCALL_RO', 'ro1', '1', 'wk')
    p.c('FCALL_RO', 'w1', '1', 'wk', 'val2')
    p.c('FCALL_RO', 'f1', '0')
    p.c('FCALL', 'incr2', '1', 'cnt')
    p.c('GET', 'cnt')
    p.c('FUNCTION', 'LOAD', lib('rofn', ('rw', "return redis.call('set', 'x', 1)")).replace(
        "function(keys, args) return redis.call('set', 'x', 1) end)",
        "function(keys, args) return redis.call('set', 'x', 1) end, 'desc')"))
    p.c('FUNCTION', 'LOAD', "#!lua name=rofn\nredis.register_function{function_name='rw', "
        "callback=function() return redis.call('set', 'x', 1) end, flags={'no-writes'}}\n"
        "redis.register_function{function_name='rp', callback=function() "
        "return redis.pcall('set', 'x', 1) end, flags={'NO-WRITES'}}")
    p.c('FCALL', 'rw', '0')
    p.c('FCALL', 'rp', '0')
    p.c('FCALL_RO', 'rw', '0')
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'rofn', cmp=list_eq)
    d.section = 'fcall multi'
    p.c('MULTI')
    p.c('FCALL', 'w1', '1', 'mk', 'm')
    p.c('FCALL', 'ro1', '1', 'mk')
    p.c('FCALL', 'c%d' % RETURNS.index("error('boom')"), '0')
    p.c('FCALL', 'nosuch', '0')
    p.c('EXEC')
    p.c('MULTI')
    p.c('FUNCTION', 'LOAD', lib('inmulti', ('im', 'return 7')))
    p.c('FCALL', 'im', '0')
    p.c('EXEC')
    p.c('FUNCTION', 'DELETE', 'inmulti')
    p.c('EVAL', "return redis.call('fcall', 'f1', 0)", '0')
    p.c('EVAL', "return redis.call('function', 'list')", '0')


def sec_dump(d, p):
    d.section = 'dump restore'
    p.c('FUNCTION', 'FLUSH')
    p.c('FUNCTION', 'DUMP')
    p.c('FUNCTION', 'LOAD', LIB1)
    ra, rb = p.c('FUNCTION', 'DUMP')
    dump = harness.parse(rb)
    p.c('FUNCTION', 'RESTORE', dump)
    p.c('FUNCTION', 'RESTORE', dump, 'APPEND')
    p.c('FUNCTION', 'RESTORE', dump, 'REPLACE')
    p.c('FUNCTION', 'RESTORE', dump, 'FLUSH')
    p.c('FUNCTION', 'RESTORE', dump, 'bad')
    p.c('FUNCTION', 'RESTORE', dump, 'FLUSH', 'x')
    p.c('FUNCTION', 'RESTORE', b'x' + dump)
    p.c('FUNCTION', 'RESTORE', dump[:-1])
    p.c('FUNCTION', 'RESTORE', b'short')
    p.c('FUNCTION', 'RESTORE', b'')
    p.c('FUNCTION', 'RESTORE')
    bad = bytearray(dump)
    bad[3] ^= 1
    p.c('FUNCTION', 'RESTORE', bytes(bad))
    p.c('FUNCTION', 'FLUSH')
    p.c('FUNCTION', 'RESTORE', dump)
    p.c('FUNCTION', 'LIST', 'WITHCODE', cmp=list_eq)
    p.c('FUNCTION', 'DELETE', 'lib1')
    p.c('FUNCTION', 'LOAD', lib('clash', ('w1', 'return 1')))
    p.c('FUNCTION', 'RESTORE', dump)
    p.c('FUNCTION', 'RESTORE', dump, 'REPLACE')
    p.c('FUNCTION', 'LIST', 'LIBRARYNAME', 'lib1', cmp=list_eq)
    p.c('FUNCTION', 'RESTORE', dump, 'FLUSH')
    p.c('FUNCTION', 'LIST', 'WITHCODE', cmp=list_eq)
    # a payload of another RDB type, of a too new version, with two libraries
    p.c('FUNCTION', 'LOAD', lib('twob', ('t2', 'return 2')))
    ra, rb = p.c('FUNCTION', 'DUMP', cmp=lambda a, b: len(a) == len(b))
    two = harness.parse(rb)
    p.c('FUNCTION', 'FLUSH')
    p.c('FUNCTION', 'RESTORE', two)
    p.c('FUNCTION', 'LIST', cmp=list_eq)
    p.c('FUNCTION', 'RESTORE', two, 'REPLACE')
    # which of the two existing libraries is named depends on Redis's hash order
    p.c('FUNCTION', 'RESTORE', two, cmp=lambda a, b: a.startswith(b'-ERR Library ') and
        a.endswith(b' already exists\r\n') and b.startswith(b'-ERR Library '))
    p.c('SET', 'dk', 'v')
    _, sdump = p.c('DUMP', 'dk')
    p.c('FUNCTION', 'RESTORE', harness.parse(sdump))
    p.c('FUNCTION', 'FLUSH')
    # a small library stays uncompressed (<= 20 bytes of code would; longer
    # compressible code is LZF-compressed, as rdbcompression does)
    p.c('FUNCTION', 'LOAD', '#!lua name=z\n' + REG % ('zf', 'return "' + 'a' * 200 + '"'))
    p.c('FUNCTION', 'DUMP')
    p.c('FUNCTION', 'FLUSH')


def sec_exchange(d, sa, sb):
    """Payloads and RDB files of one server loaded by the other."""
    d.section = 'exchange'
    a = sa.client()
    b = sb.client()
    try:
        for x in (a, b):
            x.cmd('FUNCTION', 'FLUSH')
        a.cmd('FUNCTION', 'LOAD', LIB1)
        a.cmd('FUNCTION', 'LOAD', lib('second', ('s1', 'return 1')))
        pa = harness.parse(a.cmd('FUNCTION', 'DUMP'))
        check(d, 'kvsd DUMP restored on redis', b.cmd('FUNCTION', 'RESTORE', pa), b'+OK\r\n')
        la = sorted_libs(a)
        check(d, 'libraries after restore on redis', sorted_libs(b), la)
        check(d, 'redis runs kvsd\'s function', b.cmd('FCALL', 'f1', '1', 'k', 'v'),
              a.cmd('FCALL', 'f1', '1', 'k', 'v'))
        pb = harness.parse(b.cmd('FUNCTION', 'DUMP'))
        a.cmd('FUNCTION', 'FLUSH')
        check(d, 'redis DUMP restored on kvsd', a.cmd('FUNCTION', 'RESTORE', pb), b'+OK\r\n')
        check(d, 'libraries after restore on kvsd', sorted_libs(a), la)
    finally:
        a.close()
        b.close()


def canon(v):
    """A parsed reply with every list of lists sorted: Redis lists libraries
    and a library's functions in the order of hash tables with a random seed
    (flags, flat lists of strings, keep their order)."""
    if isinstance(v, tuple):
        return tuple(canon(x) for x in v)
    if isinstance(v, list):
        items = [canon(x) for x in v]
        if items and all(isinstance(x, list) for x in items):
            items.sort(key=repr)
        return items
    return v


def list_eq(a, b):
    """FUNCTION LIST replies: the same type byte and the same canonical value."""
    try:
        return a[:1] == b[:1] and len(a) == len(b) and \
            canon(harness.parse(a)) == canon(harness.parse(b))
    except Exception:
        return a == b


def sorted_libs(cl):
    """FUNCTION LIST WITHCODE, canonical (see canon)."""
    return repr(canon(harness.parse(cl.cmd('FUNCTION', 'LIST', 'WITHCODE'))))


def check(d, what, got, want):
    d.count += 1
    if got != want:
        d.report([what], repr(got).encode(), repr(want).encode())


def sec_rdb(d):
    """SAVE on one server, start the other on that file: same libraries."""
    d.section = 'rdb'
    for first, second in (('kvsd', 'redis'), ('redis', 'kvsd')):
        tmp = tempfile.mkdtemp(prefix='kvsd-func-rdb-')
        try:
            s1 = (harness.kvsd_server if first == 'kvsd' else harness.redis_server)(
                ['--dir', tmp]).start()
            with s1.client() as c:
                c.cmd('FUNCTION', 'LOAD', LIB1)
                c.cmd('FUNCTION', 'LOAD', lib('second', ('s1', 'return 1')))
                c.cmd('SET', 'key', 'value')
                want = sorted_libs(c)
                check(d, first + ' SAVE', c.cmd('SAVE'), b'+OK\r\n')
            s1.stop()
            s2 = (harness.kvsd_server if second == 'kvsd' else harness.redis_server)(
                ['--dir', tmp]).start()
            with s2.client() as c:
                check(d, '%s loads %s\'s RDB: FUNCTION LIST' % (second, first),
                      sorted_libs(c), want)
                check(d, '%s loads %s\'s RDB: GET' % (second, first), c.cmd('GET', 'key'),
                      b'$5\r\nvalue\r\n')
                check(d, '%s loads %s\'s RDB: FCALL' % (second, first),
                      c.cmd('FCALL', 'ro1', '1', 'key'), b'$5\r\nvalue\r\n')
            s2.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def sec_workers(d, sa):
    """A library loaded on one connection is callable at once on every other
    (kvsd's workers each load it into their own Lua state)."""
    d.section = 'workers'
    conns = [sa.client() for _ in range(8)]
    try:
        for c in conns:
            c.cmd('PING')
        for gen in range(20):
            code = lib('gen', ('g', 'return %d' % gen))
            r = conns[gen % 8].cmd('FUNCTION', 'LOAD', 'REPLACE', code)
            if r != b'$3\r\ngen\r\n':
                check(d, 'load gen %d' % gen, r, b'$3\r\ngen\r\n')
            for c in conns:
                check(d, 'fcall after load %d' % gen, c.cmd('FCALL', 'g', '0'),
                      b':%d\r\n' % gen)
        conns[0].cmd('FUNCTION', 'DELETE', 'gen')
        for c in conns:
            check(d, 'fcall after delete', c.cmd('FCALL', 'g', '0'),
                  b'-ERR Function not found\r\n')
    finally:
        for c in conns:
            c.close()


def busy_until(cl, deadline):
    """Sends EVAL until it answers -BUSY (the function crossed the threshold;
    kvsd serves commands on keys a busy script has not touched, another
    script never)."""
    while time.time() < deadline:
        r = cl.cmd('EVAL', 'return 1', '0')
        if r.startswith(b'-BUSY'):
            return r
        time.sleep(0.02)
    return b'<never busy>'


def sec_busy(d, sa, sb):
    """A function past busy-reply-threshold: -BUSY naming FUNCTION KILL,
    FUNCTION STATS shows it, SCRIPT KILL refuses, FUNCTION KILL stops it."""
    d.section = 'busy'
    out = {}
    for name, s in (('kvsd', sa), ('redis', sb)):
        c = s.client(timeout=20)
        o = s.client(timeout=20)
        o.cmd('CONFIG', 'SET', 'busy-reply-threshold', '100')
        o.cmd('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=loop\nredis.register_function{"
              "function_name='spin', callback=function() while true do end end, "
              "flags={'no-writes'}}")
        c.send(harness.encode('FCALL', 'spin', '0'))
        r = [busy_until(o, time.time() + 10), o.cmd('SCRIPT', 'KILL'),
             o.cmd('EVAL', 'return 1', '0')]
        st = harness.parse(o.cmd('FUNCTION', 'STATS'))
        r.append(repr(st[1][:4]) if isinstance(st, list) and st[1] else repr(st))
        r.append(o.cmd('FUNCTION', 'KILL'))
        r.append(c.read_reply())
        r.append(o.cmd('FUNCTION', 'KILL'))
        r.append(o.cmd('SCRIPT', 'KILL'))
        # an EVAL busy: FUNCTION STATS and FUNCTION KILL name SCRIPT KILL
        c.send(harness.encode('EVAL', 'while true do end', '0'))
        r += [busy_until(o, time.time() + 10), o.cmd('FUNCTION', 'STATS'),
              o.cmd('FUNCTION', 'KILL'), o.cmd('SCRIPT', 'KILL')]
        r.append(c.read_reply())
        o.cmd('FUNCTION', 'DELETE', 'loop')
        o.cmd('CONFIG', 'SET', 'busy-reply-threshold', '5000')
        out[name] = r
        c.close()
        o.close()
    for x, y in zip(out['kvsd'], out['redis']):
        check(d, 'busy', x, y)


def sec_aof(d):
    """kvsd only: libraries and a function's writes survive restarts."""
    d.section = 'aof'
    for preamble in ('yes', 'no'):
        tmp = tempfile.mkdtemp(prefix='kvsd-func-aof-')
        try:
            args = ['--dir', tmp, '--appendonly', 'yes', '--aof-use-rdb-preamble', preamble]
            s = harness.kvsd_server(args).start()
            with s.client() as c:
                c.cmd('FUNCTION', 'LOAD', LIB1)
                c.cmd('FUNCTION', 'LOAD', lib('gone', ('g1', 'return 1')))
                c.cmd('FUNCTION', 'DELETE', 'gone')
                c.cmd('FCALL', 'incr2', '1', 'cnt')
                want = sorted_libs(c)
            s.stop()
            s = harness.kvsd_server(args).start()
            with s.client() as c:
                check(d, 'aof restart (%s): libraries' % preamble, sorted_libs(c), want)
                check(d, 'aof restart (%s): writes' % preamble, c.cmd('GET', 'cnt'),
                      b'$1\r\n2\r\n')
                c.cmd('BGREWRITEAOF')
                for _ in range(100):
                    info = harness.parse(c.cmd('INFO', 'persistence')).decode()
                    if 'aof_rewrite_in_progress:0' in info and \
                            'aof_rewrite_scheduled:0' in info:
                        break
                    time.sleep(0.1)
                c.cmd('FCALL', 'incr2', '1', 'cnt')
            s.stop()
            s = harness.kvsd_server(args).start()
            with s.client() as c:
                check(d, 'after rewrite (%s): libraries' % preamble, sorted_libs(c), want)
                check(d, 'after rewrite (%s): writes' % preamble, c.cmd('GET', 'cnt'),
                      b'$1\r\n4\r\n')
            s.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    servers = test_diff.start_pair('diff-function')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        for resp in (2, 3):
            if resp == 3:
                p.close()
                p = d.pair()
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            sec_load(d, p)
            sec_list(d, p)
            sec_fcall(d, p)
            sec_dump(d, p)
        p.close()
        sec_exchange(d, sa, sb)
        sec_workers(d, sa)
        sec_busy(d, sa, sb)
        sec_rdb(d)
        sec_aof(d)
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-function: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-function', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
