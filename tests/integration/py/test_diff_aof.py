#!/usr/bin/env python3
"""The AOF's incr file against redis-server 7.0.15's (issue 15): the same
command script runs on kvsd and on redis-server, both with appendonly yes
and appendfsync always, and the incremental files are compared command for
command. Normalised, and nothing else: absolute times made from relative
ones (within the run) become 'T', RESTORE payloads 'P'
(test_aof.normalise).

(a) expiry: a GET / EXISTS of an expired key logs a bare DEL; a write of one
    logs MULTI, DEL, <write>, EXEC; inside MULTI/EXEC the DELs join the
    transaction; EXPIRE of an expired key logs the DEL alone; with
    lazyfree-lazy-expire yes the same as UNLINK; the active expire cycle
    logs DEL / UNLINK on its own; lazyfree-lazy-user-del leaves DEL logged
    as DEL.
(b) blocking pops served at once and served after blocking (BLPOP, BRPOP,
    BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP): logged as the
    pops done.
(d) functions: FUNCTION LOAD / LOAD REPLACE / DELETE / RESTORE / FLUSH
    logged as received (failed ones not at all), FCALL's writes as the
    writes (MULTI/EXEC when several), FCALL_RO and FUNCTION LIST nothing;
    the replay restores the libraries.
(c) eviction (kvsd and redis-server pick different victims, so each is
    checked on its own): every evicted key is logged as DEL (UNLINK with
    lazyfree-lazy-eviction yes), nothing else is, and the file replays to
    the same dataset.

Usage: test_diff_aof.py [scenario ...]
"""

import os
import re
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import log  # noqa: E402
import test_aof  # noqa: E402
from test_aof import Proc, incr_bytes, split_cmds, normalise, check  # noqa: E402


def wait_expired(c, n):
    """Until INFO's expired_keys reaches n (the active cycle ran)."""
    for _ in range(400):
        m = re.search(rb'expired_keys:(\d+)', c.cmd('INFO', 'stats'))
        if m and int(m.group(1)) >= n:
            return True
        time.sleep(0.01)
    return False


def expiry_script(c):
    c.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', '0')
    for k in ('a', 'b', 'c', 'd', 'g', 'h', 'i', 'j', 'k', 'l'):
        c.cmd('SET', k, '1', 'PX', '40')
    c.cmd('RPUSH', 'list', 'x')
    c.cmd('PEXPIRE', 'list', '40')
    time.sleep(0.15)
    c.cmd('GET', 'a')                       # DEL a
    c.cmd('SET', 'b', '2')                  # MULTI DEL b SET EXEC
    c.cmd('MULTI')
    c.cmd('GET', 'c')
    c.cmd('SET', 'x', '1')
    c.cmd('EXEC')                           # MULTI DEL c SET x EXEC
    c.cmd('MULTI')
    c.cmd('GET', 'g')
    c.cmd('GET', 'h')
    c.cmd('EXEC')                           # MULTI DEL g DEL h EXEC
    c.cmd('EXPIRE', 'i', '100')             # DEL i
    c.cmd('RPUSH', 'list', 'y')             # MULTI DEL list RPUSH EXEC
    c.cmd('EXISTS', 'nothing')
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-expire', 'yes')
    c.cmd('EXISTS', 'd')                    # UNLINK d
    c.cmd('APPEND', 'j', 'z')               # MULTI UNLINK j APPEND EXEC
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-user-del', 'yes')
    c.cmd('DEL', 'x', 'k')                  # del x k (as received; k expired)
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-user-del', 'no')
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-expire', 'no')
    c.cmd('GET', 'l')                       # DEL l
    # the active cycle: one key at a time, so the order is known
    c.cmd('DEBUG', 'SET-ACTIVE-EXPIRE', '1')
    base = int(re.search(rb'expired_keys:(\d+)', c.cmd('INFO', 'stats')).group(1))
    c.cmd('SET', 'e', '1', 'PX', '20')
    check(wait_expired(c, base + 1), 'expiry: active cycle never removed e')
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-expire', 'yes')
    c.cmd('SET', 'f', '1', 'PX', '20')
    check(wait_expired(c, base + 2), 'expiry: active cycle never removed f')
    c.cmd('CONFIG', 'SET', 'lazyfree-lazy-expire', 'no')
    c.cmd('SELECT', '3')
    c.cmd('SET', 'in3', '1', 'PX', '20')
    check(wait_expired(c, base + 3), 'expiry: active cycle never removed in3')
    c.cmd('SET', 'last', 'v')


def blocking_script(c, p):
    # served at once
    c.cmd('RPUSH', 'l', 'a', 'b', 'c', 'd', 'e', 'f')
    c.cmd('BRPOPLPUSH', 'l', 'l2', '0')
    c.cmd('BLMOVE', 'l', 'l2', 'LEFT', 'LEFT', '0')
    c.cmd('BLPOP', 'none', 'l', '0')
    c.cmd('BRPOP', 'l', '0')
    c.cmd('BLMPOP', '0', '2', 'none', 'l2', 'RIGHT', 'COUNT', '3')
    c.cmd('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd')
    c.cmd('BZPOPMIN', 'z', '0')
    c.cmd('BZPOPMAX', 'z', '0')
    c.cmd('BZMPOP', '0', '1', 'z', 'MIN', 'COUNT', '1')
    # served after blocking: the push (or ZADD) serves the waiting client
    served = [
        (['BLPOP', 'q1', '0'], ['RPUSH', 'q1', 'a', 'b']),
        (['BRPOP', 'q2', 'q0', '0'], ['LPUSH', 'q2', 'a', 'b', 'c']),
        (['BRPOPLPUSH', 'q5', 'd5', '0'], ['RPUSH', 'q5', 'a', 'b']),
        (['BLMOVE', 'q4', 'd4', 'RIGHT', 'LEFT', '0'], ['RPUSH', 'q4', 'a', 'b']),
        (['BLMPOP', '0', '1', 'q3', 'LEFT', 'COUNT', '5'], ['RPUSH', 'q3', 'a', 'b']),
        (['BZPOPMIN', 'z1', '0'], ['ZADD', 'z1', '1', 'a', '2', 'b']),
        (['BZPOPMAX', 'z3', '0'], ['ZADD', 'z3', '1', 'a', '2', 'b']),
        (['BZMPOP', '0', '1', 'z2', 'MAX', 'COUNT', '3'], ['ZADD', 'z2', '1', 'a', '2', 'b']),
    ]
    for block, push in served:
        b = p.client()
        b.send(harness.encode(*block))
        for _ in range(300):
            if test_aof.blocked_count(c) == 1:
                break
            time.sleep(0.01)
        c.cmd(*push)
        b.read_reply()
        b.close()


def compare(name, script):
    dk, dr = tempfile.mkdtemp(prefix='daof-k-'), tempfile.mkdtemp(prefix='daof-r-')
    k = Proc(test_aof.kvsd_bin(), dk, ['--appendfsync', 'always'])
    r = Proc(test_aof.redis_bin(), dr, ['--appendfsync', 'always'])
    try:
        k.start()
        r.start()
        t0 = int(time.time() * 1000)
        for p in (k, r):
            with p.client() as c:
                script(c, p)
        t1 = int(time.time() * 1000)
        a = normalise(split_cmds(incr_bytes(dk)), t0, t1)
        b = normalise(split_cmds(incr_bytes(dr)), t0, t1)
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                check(False, '%s: command %d: kvsd %r, redis %r (kvsd %r)'
                      % (name, i, x, y, a[max(0, i - 4):i + 4]))
                break
        check(len(a) == len(b), '%s: %d commands, redis %d' % (name, len(a), len(b)))
        want = test_aof.digest(k)
        check(want == test_aof.digest(r), '%s: kvsd and redis datasets differ' % name)
        k.stop()
        k.start()
        check(test_aof.digest(k) == want, '%s: kvsd replays to another dataset' % name)
        log('%s: %d commands compared' % (name, len(b)))
    finally:
        k.stop()
        r.stop()
        shutil.rmtree(dk, ignore_errors=True)
        shutil.rmtree(dr, ignore_errors=True)


FLIB = ("#!lua name=flib\n"
        "redis.register_function('two', function(keys, args)\n"
        "  redis.call('set', keys[1], args[1]) redis.call('incr', keys[2]) return 1 end)\n"
        "redis.register_function('one', function(keys, args)\n"
        "  return redis.call('lpush', keys[1], args[1]) end)\n"
        "redis.register_function{function_name='get', flags={'no-writes'},\n"
        "  callback=function(keys) return redis.call('get', keys[1]) end}\n")


def functions_script(c, p):
    c.cmd('FUNCTION', 'LOAD', FLIB)
    c.cmd('FUNCTION', 'LOAD', FLIB)  # exists: not logged
    c.cmd('FUNCTION', 'LOAD', '#!lua name=bad\nreturn 1')
    c.cmd('FCALL', 'two', '2', 'fa', 'fb', 'v')
    c.cmd('FCALL', 'one', '1', 'fl', 'x')
    c.cmd('FCALL_RO', 'get', '1', 'fa')
    c.cmd('FCALL', 'get', '1', 'fa')
    c.cmd('FUNCTION', 'LIST')
    c.cmd('FUNCTION', 'LOAD', 'REPLACE', FLIB)
    dump = harness.parse(c.cmd('FUNCTION', 'DUMP'))
    c.cmd('FUNCTION', 'DELETE', 'flib')
    c.cmd('FUNCTION', 'DELETE', 'flib')  # not found: not logged
    c.cmd('FUNCTION', 'RESTORE', dump)
    c.cmd('FUNCTION', 'FLUSH', 'SYNC')
    c.cmd('FUNCTION', 'RESTORE', dump, 'FLUSH')
    c.cmd('FCALL', 'two', '2', 'fc', 'fb', 'w')


def scenario_functions():
    compare('functions', functions_script)


def scenario_expiry():
    compare('expiry', lambda c, p: expiry_script(c))


def scenario_blocking():
    compare('blocking', blocking_script)


def evict_run(binary, lazy):
    """Writes past maxmemory; returns (the incr file's commands, the keys
    written, the keys left)."""
    d = tempfile.mkdtemp(prefix='daof-e-')
    p = Proc(binary, d, ['--appendfsync', 'no', '--maxmemory-policy', 'allkeys-random',
                         '--lazyfree-lazy-eviction', 'yes' if lazy else 'no'])
    try:
        p.start()
        val = 'v' * 1000
        written = []
        with p.client() as c:
            used = int(re.search(rb'used_memory:(\d+)', c.cmd('INFO', 'memory')).group(1))
            c.cmd('CONFIG', 'SET', 'maxmemory', str(used + 1000 * 1024))
            for i in range(3000):
                key = 'ev%d' % i
                if c.cmd('SET', key, val) == b'+OK\r\n':
                    written.append(key)
            # the limit off first: a command over it evicts before it runs
            c.cmd('CONFIG', 'SET', 'maxmemory', '0')
            left = set()
            cur = b'0'
            while True:
                rep = harness.parse(c.cmd('SCAN', cur, 'COUNT', '1000'))
                cur = rep[0]
                left.update(k.decode() for k in rep[1])
                if cur == b'0':
                    break
            want = c.cmd('DEBUG', 'DIGEST')
        p.stop()
        cmds = split_cmds(incr_bytes(d))
        p.start()
        got = test_aof.digest(p)
        p.stop()
        return cmds, written, left, want == got
    finally:
        p.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_eviction():
    for lazy in (False, True):
        verb = b'UNLINK' if lazy else b'DEL'
        for name, binary in (('kvsd', test_aof.kvsd_bin()), ('redis', test_aof.redis_bin())):
            cmds, written, left, same = evict_run(binary, lazy)
            dels = [c[1].decode() for c in cmds if c[0].upper() in (b'DEL', b'UNLINK')]
            verbs = set(c[0] for c in cmds if c[0].upper() in (b'DEL', b'UNLINK'))
            evicted = set(written) - left
            what = 'eviction %s lazy=%s' % (name, lazy)
            check(len(evicted) > 100, '%s: only %d keys evicted' % (what, len(evicted)))
            check(verbs <= {verb}, '%s: logged %r' % (what, verbs))
            check(sorted(dels) == sorted(evicted),
                  '%s: %d logged deletions, %d evicted keys' % (what, len(dels), len(evicted)))
            check(same, '%s: the file replays to another dataset' % what)
            log('%s: %d evicted' % (what, len(evicted)))


SCENARIOS = {
    'expiry': scenario_expiry,
    'blocking': scenario_blocking,
    'functions': scenario_functions,
    'eviction': scenario_eviction,
}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    for n in names:
        t = time.time()
        SCENARIOS[n]()
        log('%s: %.1f s' % (n, time.time() - t))
    if test_aof.failures:
        log('%d failure(s)' % len(test_aof.failures))
        sys.exit(1)
    log('ok')


if __name__ == '__main__':
    main()
