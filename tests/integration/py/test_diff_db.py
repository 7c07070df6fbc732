#!/usr/bin/env python3
"""Differential test of the sixteen databases (issue 12) against redis-server 7.0.

SELECT, MOVE, SWAPDB, COPY (same database and DB), FLUSHDB/FLUSHALL per
database, DBSIZE, KEYS/SCAN/RANDOMKEY per database, MULTI/EXEC with SELECT
inside, WATCH per database (and across SWAPDB/FLUSHDB), RESET and HELLO and
the selected database, INFO keyspace lines and CLIENT LIST/INFO's db= field,
valid and invalid arguments, in RESP2 and RESP3. Reuses test_diff.py's
Differ/Pair and comparators; reply bytes compared exactly unless a
comparator says otherwise.

Usage: test_diff_db.py   (environment: see harness.py)
"""

import os
import re
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import parse  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact, int_close, sorted_array, info_sections  # noqa: E402


def keyspace_eq(a, b):
    """INFO keyspace: the same db lines with the same keys= and expires=
    (avg_ttl is a sampled estimate on both servers)."""
    sa, sb = info_sections(a), info_sections(b)
    if sa is None or sb is None:
        return False

    def strip(secs):
        ks = secs.get('keyspace', {})
        return {k: re.sub(r',avg_ttl=\d+', '', v) for k, v in ks.items()}
    return strip(sa) == strip(sb)


def db_field(a, b):
    """CLIENT INFO / CLIENT LIST (one client): the same db= value."""
    fa = re.search(rb'\bdb=(\d+)', parse(a) or b'')
    fb = re.search(rb'\bdb=(\d+)', parse(b) or b'')
    return fa is not None and fb is not None and fa.group(1) == fb.group(1)


def scan_keys(cl, db):
    cl.cmd('SELECT', str(db))
    cur, seen = b'0', set()
    while True:
        r = parse(cl.cmd('SCAN', cur, 'COUNT', '7'))
        cur = r[0]
        seen.update(r[1])
        if cur == b'0':
            return sorted(seen)


def sec_select(d, p):
    d.section = 'select'
    p.c('FLUSHALL')
    for a in ('0', '15', '16', '-1', '100', 'x', '', ' 1', '1.0', '99999999999',
              '-99999999999', '2147483647', '-2147483648', '2147483648', '00', '+1'):
        p.c('SELECT', a)
    p.c('SELECT')
    p.c('SELECT', '1', '2')
    p.c('CONFIG', 'GET', 'databases')
    p.c('SELECT', '0')


def sec_isolation(d, p):
    d.section = 'isolation'
    p.c('FLUSHALL')
    for db in range(16):
        p.c('SELECT', str(db))
        p.c('SET', 'k', 'v%d' % db)
        for i in range(db):
            p.c('SET', 'x%d' % i, str(db))
        p.c('DBSIZE')
    for db in range(16):
        p.c('SELECT', str(db))
        p.c('GET', 'k')
        p.c('MGET', 'k', 'x0', 'x5', 'nokey')
        p.c('EXISTS', 'k', 'x1', 'x14')
        p.c('DBSIZE')
        p.c('KEYS', '*', cmp=sorted_array)
        p.c('KEYS', 'x1*', cmp=sorted_array)
        p.c('TYPE', 'x0')
        p.c('STRLEN', 'k')
    # SCAN walks each database's keys only
    for db in (0, 1, 7, 15):
        ka, kb = scan_keys(p.a, db), scan_keys(p.b, db)
        d.count += 1
        if ka != kb:
            d.report(['SCAN ... in db %d' % db], repr(ka).encode(), repr(kb).encode())
    # RANDOMKEY: a one-key database answers that key, an empty one nil
    p.c('SELECT', '0')
    p.c('RANDOMKEY')
    p.c('SELECT', '5')
    p.c('DEL', 'k', 'x0', 'x1', 'x2', 'x3')
    p.c('RANDOMKEY')
    p.c('DEL', 'x4')
    p.c('RANDOMKEY')
    p.c('DBSIZE')
    p.c('SELECT', '6')
    p.c('RENAME', 'k', 'k2')
    p.c('GET', 'k2')
    p.c('SELECT', '7')
    p.c('GET', 'k2')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    p.c('SELECT', '0')


def sec_move(d, p):
    d.section = 'move'
    p.c('FLUSHALL')
    p.c('SET', 'a', '1')
    p.c('SET', 't', 'x', 'EX', '1000')
    for args in (('a', '0'), ('nokey', '0'), ('a', '16'), ('a', '-1'), ('a', 'x'),
                 ('a', '99999999999'), ('a', ''), ('nokey', '1'), ('a', '1'),
                 ('a', '1'), ('t', '3')):
        p.c('MOVE', *args)
    p.c('MOVE', 'a')
    p.c('MOVE', 'a', '1', '2')
    p.c('SELECT', '1')
    p.c('GET', 'a')
    p.c('SET', 'b', 'db1')
    p.c('SELECT', '0')
    p.c('SET', 'b', 'db0')
    p.c('MOVE', 'b', '1')          # exists in the target: 0
    p.c('GET', 'b')
    p.c('SELECT', '3')
    p.c('TTL', 't', cmp=int_close(2))
    p.c('GET', 't')
    p.c('MOVE', 't', '0')
    p.c('SELECT', '0')
    p.c('PTTL', 't', cmp=int_close(2000))
    p.c('DBSIZE')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)


def sec_copy(d, p):
    d.section = 'copy'
    p.c('FLUSHALL')
    p.c('SET', 'k', 'v')
    p.c('SET', 't', 'tv', 'PX', '500000')
    for args in (('k', 'k'), ('k', 'k', 'DB', '0'), ('k', 'k', 'db', '1'),
                 ('k', 'k', 'db', '1'), ('k', 'k', 'db', '1', 'replace'),
                 ('k', 'k2'), ('k', 'k2'), ('k', 'k2', 'REPLACE'),
                 ('nokey', 'k3'), ('nokey', 'k3', 'DB', '4'),
                 ('k', 'k2', 'db', 'x'), ('k', 'k2', 'db', '16'), ('k', 'k2', 'db', '-1'),
                 ('k', 'k2', 'db', '99999999999'), ('k', 'k2', 'db'), ('k', 'k2', 'foo'),
                 ('k', 'k2', 'replace', 'replace'), ('k', 'k2', 'db', '1', 'db', '2'),
                 ('k', 'k2', 'REPLACE', 'DB', '2'), ('t', 't', 'DB', '5'),
                 ('t', 't2'), ('k', 'k2', 'db', '16', 'foo'), ('k', 'k2', 'foo', 'db', '16')):
        p.c('COPY', *args)
    p.c('COPY', 'k')
    p.c('COPY')
    for db in (0, 1, 2, 4, 5):
        p.c('SELECT', str(db))
        p.c('KEYS', '*', cmp=sorted_array)
        p.c('MGET', 'k', 'k2', 't', 't2')
        p.c('PTTL', 't', cmp=int_close(2000))
    p.c('SELECT', '0')
    p.c('PTTL', 't2', cmp=int_close(2000))
    p.c('INFO', 'keyspace', cmp=keyspace_eq)


def sec_swapdb(d, p):
    d.section = 'swapdb'
    p.c('FLUSHALL')
    p.c('SET', 'a', 'in0')
    p.c('SELECT', '1')
    p.c('SET', 'a', 'in1')
    p.c('SET', 'b', 'only1', 'EX', '1000')
    for args in (('0', '1'), ('1', '0'), ('0', '0'), ('a', '1'), ('0', 'b'), ('x', 'y'),
                 ('0', '16'), ('16', '0'), ('-1', '0'), ('0', '99999999999'),
                 ('99999999999', '0'), ('', '1'), (' 1', '0'), ('1.0', '0'),
                 ('15', '2'), ('2', '15')):
        p.c('SWAPDB', *args)
        p.c('GET', 'a')
        p.c('DBSIZE')
    p.c('SWAPDB', '0')
    p.c('SWAPDB', '0', '1', '2')
    p.c('SWAPDB', '0', '1')
    for db in (0, 1, 2, 15):
        p.c('SELECT', str(db))
        p.c('MGET', 'a', 'b')
        p.c('TTL', 'b', cmp=int_close(2))
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    p.c('SWAPDB', '0', '5')       # with an empty one
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    p.c('SELECT', '0')


def sec_flush(d, p):
    d.section = 'flush'
    for cmd in ('FLUSHDB', 'FLUSHALL'):
        for opt in ([], ['ASYNC'], ['SYNC'], ['async'], ['FOO'], ['ASYNC', 'SYNC']):
            for db in (0, 3):
                p.c('SELECT', str(db))
                p.c('MSET', 'a', '1', 'b', '2')
                p.c('SET', 'c', '3', 'EX', '100')
            p.c('SELECT', '3')
            p.c(cmd, *opt)
            p.c('DBSIZE')
            p.c('SELECT', '0')
            p.c('DBSIZE')
            p.c('MGET', 'a', 'b', 'c')
            p.c('INFO', 'keyspace', cmp=keyspace_eq)
            p.c('SELECT', '3')
            p.c('SET', 'a', 'after')     # the flushed database is writable at once
            p.c('MGET', 'a', 'b')
            p.c('SELECT', '0')
    p.c('FLUSHALL')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)


def sec_multi(d, p):
    d.section = 'multi/exec'
    p.c('FLUSHALL')
    p.c('SELECT', '2')
    p.c('MULTI')
    p.c('SET', 'k', 'in2')
    p.c('SELECT', '4')
    p.c('SET', 'k', 'in4')
    p.c('GET', 'k')
    p.c('SELECT', '16')              # fails inside EXEC, the rest runs
    p.c('DBSIZE')
    p.c('EXEC')
    p.c('GET', 'k')                  # the client stays in db 4 (as Redis)
    p.c('SELECT', '2')
    p.c('GET', 'k')
    # MULTI keeps the database it was opened in
    p.c('SELECT', '6')
    p.c('MULTI')
    p.c('SET', 'm', '1')
    p.c('EXEC')
    p.c('DBSIZE')
    # SELECT x queued: an error at EXEC time
    p.c('MULTI')
    p.c('SELECT', 'x')
    p.c('GET', 'm')
    p.c('EXEC')
    # MOVE / COPY / SWAPDB / FLUSHDB inside a transaction
    p.c('MULTI')
    p.c('MOVE', 'm', '7')
    p.c('SELECT', '7')
    p.c('COPY', 'm', 'm2', 'DB', '8')
    p.c('SWAPDB', '7', '9')
    p.c('GET', 'm')                  # db 7 is now the old db 9: empty
    p.c('SELECT', '9')
    p.c('MGET', 'm', 'm2')
    p.c('FLUSHDB')
    p.c('DBSIZE')
    p.c('SELECT', '8')
    p.c('GET', 'm2')
    p.c('EXEC')
    p.c('DBSIZE')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    # DISCARD: the SELECT queued is not run
    p.c('SELECT', '1')
    p.c('MULTI')
    p.c('SELECT', '3')
    p.c('DISCARD')
    p.c('SET', 'where', 'one')
    p.c('SELECT', '3')
    p.c('GET', 'where')
    p.c('SELECT', '0')


def sec_watch(d):
    d.section = 'watch'
    p, q = d.pair(), d.pair()
    p.c('FLUSHALL')
    cases = [
        # (watcher db, writer db, writer command): does EXEC run?
        ('1', '0', ('SET', 'k', 'x')),       # another database: runs
        ('1', '1', ('SET', 'k', 'x')),       # the same: nil
        ('0', '2', ('DEL', 'k')),
        ('2', '2', ('DEL', 'k')),
        ('3', '3', ('FLUSHDB',)),            # k absent in 3: Redis does not touch it
        ('3', '4', ('FLUSHDB',)),
        ('1', '0', ('SWAPDB', '1', '5')),   # k exists in db 1: touched
        ('6', '0', ('SWAPDB', '6', '7')),   # absent in both: runs
        ('1', '0', ('FLUSHALL',)),
        ('1', '0', ('MOVE', 'k', '9')),      # writer in 0 moves its own k
        ('1', '1', ('MOVE', 'k', '9')),
        ('1', '1', ('COPY', 'k', 'k', 'DB', '9')),
        ('9', '1', ('COPY', 'k', 'k', 'DB', '9', 'REPLACE')),
    ]
    for wdb, odb, cmd in cases:
        for db in ('0', '1', '2'):
            p.c('SELECT', db)
            p.c('SET', 'k', 'v' + db)
        p.c('SELECT', wdb)
        p.c('WATCH', 'k')
        q.c('SELECT', odb)
        q.c(*cmd)
        p.c('MULTI')
        p.c('GET', 'k')
        p.c('EXEC')
        p.c('SELECT', '0')
        p.c('FLUSHALL')
    # a WATCH that fails: the queued SWAPDB / FLUSHDB / MOVE must not run
    for queued in (('SWAPDB', '0', '1'), ('FLUSHDB',), ('FLUSHALL',), ('MOVE', 'k', '2')):
        p.c('SELECT', '0')
        p.c('SET', 'k', 'v0')
        p.c('SET', 'w', 'x')
        p.c('WATCH', 'w')
        q.c('SELECT', '0')
        q.c('SET', 'w', 'touched')
        p.c('MULTI')
        p.c(*queued)
        p.c('SET', 'after', '1')
        p.c('EXEC')
        p.c('MGET', 'k', 'w', 'after')
        p.c('DBSIZE')
        p.c('SELECT', '1')
        p.c('DBSIZE')
        p.c('SELECT', '0')
        p.c('FLUSHALL')
    p.close()
    q.close()


def sec_conn(d, p):
    d.section = 'reset/hello/client'
    p.c('FLUSHALL')
    p.c('SELECT', '3')
    p.c('SET', 'h', 'in3')
    p.c('CLIENT', 'INFO', cmp=db_field)
    p.c('HELLO', '3', cmp=test_diff.hello_eq)
    p.c('GET', 'h')                  # HELLO keeps the database
    p.c('CLIENT', 'INFO', cmp=db_field)
    p.c('DBSIZE')
    p.c('INFO', 'keyspace', cmp=keyspace_eq)
    p.c('SELECT', '16')
    p.c('SWAPDB', '3', 'x')
    p.c('MOVE', 'h', '4')
    p.c('COPY', 'h', 'h', 'DB', '3')
    p.c('HELLO', '2', cmp=test_diff.hello_eq)
    p.c('RESET')
    p.c('GET', 'h')                  # RESET goes back to db 0
    p.c('CLIENT', 'INFO', cmp=db_field)
    p.c('SELECT', '4')
    p.c('GET', 'h')
    p.c('MULTI')
    p.c('SELECT', '5')
    p.c('RESET')                     # RESET inside MULTI: discarded, back to 0
    p.c('CLIENT', 'INFO', cmp=db_field)
    p.c('GET', 'h')


def check_key_too_long(d):
    """kvsd only (Redis takes keys up to proto-max-bulk-len): a key longer
    than 2 MiB - 1 (storage/kvmap.h KV_KEY_MAX) is refused with an error, not an assertion that stops
    the server; the longest one is stored, in any database."""
    d.section = 'key-too-long (kvsd only)'
    c = d.sa.client(timeout=30.0)
    big = b'x' * (2 * 1024 * 1024)
    for args, want in (((b'SET', big, b'v'), b'-ERR key is too long (at most 2097151 bytes)\r\n'),
                       ((b'COPY', b'a', big), b'-ERR key is too long (at most 2097151 bytes)\r\n'),
                       ((b'SELECT', b'3'), b'+OK\r\n'),
                       ((b'SET', big[1:], b'v'), b'+OK\r\n'),
                       ((b'STRLEN', big[1:]), b':1\r\n'),
                       ((b'DEL', big[1:]), b':1\r\n')):
        r = c.cmd(*args)
        d.count += 1
        if r != want:
            d.report([args[0], b'<%d bytes>' % len(args[1])], r, want)
    c.close()


def main():
    servers = test_diff.start_pair('diff-db')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        for sec in (sec_select, sec_isolation, sec_move, sec_copy, sec_swapdb, sec_flush,
                    sec_multi):
            sec(d, p)
        p.close()
        sec_watch(d)
        sec_conn(d, d.pair())
        # RESP3: the same sections where replies could differ by protocol
        p = d.pair()
        p.c('HELLO', '3', cmp=test_diff.hello_eq)
        for sec in (sec_select, sec_move, sec_copy, sec_swapdb, sec_multi):
            sec(d, p)
        p.close()
        check_key_too_long(d)
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-db: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-db', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
