#!/usr/bin/env python3
"""RDB files (issue 15) against redis-server 7.0.15, both ways, and what
users see around them.

(a) kvsd -> redis: kvsd holds a seeded random dataset of every type and
    encoding (test_diff_dump's), with TTLs and keys in several databases;
    SAVE; `redis-check-rdb` passes on the file; redis-server started with
    --dir of that file loads it, and every key is the same on both servers:
    TYPE, contents (every element and score), OBJECT ENCODING, PEXPIRETIME.
    Once with rdbcompression yes, once with no, and once with
    list-compress-depth 1 on both servers and long compressible lists added
    (kvsd's inner list chunks held LZF-compressed when saved and loaded).
(b) redis -> kvsd: redis-server holds the same dataset and SAVEs; kvsd
    started with --dir of that file loads it; key by key as above. Also
    with list-compress-depth 2 on both (redis-server then writes its
    compressed quicklist nodes as LZF blobs) and the long lists.
(c) Replies compared with redis-server byte for byte: CONFIG GET / SET of
    save, dbfilename, rdbcompression, rdbchecksum, rdb-save-incremental-fsync,
    aof-rewrite-incremental-fsync (valid and invalid values),
    BGSAVE's syntax error, SAVE inside MULTI, LASTSAVE's type, INFO
    persistence's field names in Redis's order.
(d) kvsd only: BGSAVE while a client keeps writing (status ok, the file
    passes redis-check-rdb and loads), SHUTDOWN SAVE then a restart keeps
    the data, SIGTERM with save rules saves, a save rule fires a BGSAVE
    (rdb_saves, rdb_changes_since_last_save), LASTSAVE moves; a corrupt and
    a truncated file stop start-up with exit status 1 and a message naming
    the file and the byte offset; a redis-server file holding a stream is
    refused naming the key.

(d') a BGSAVE is a consistent cut: MULTI/EXEC transfers between accounts
    run while BGSAVEs are taken; every saved file, loaded, adds up to the
    exact total (3 saves of 1000 accounts; with --big 20 saves of 10000).
(d4) rdb-save-incremental-fsync / aof-rewrite-incremental-fsync: an 18 MB
    save (BGSAVE, SAVE, the AOF base in both forms) is written out in 4 MB
    chunks with yes and not with no (kvsd's verbose log counts them), its
    write-out started in 512 KB pieces with yes (persist/autosync.h: short
    system calls); the files pass redis-check-rdb and load with every key,
    and the BGSAVE files of yes and no hold the same bytes past the header's
    AUX fields.
(d'') stop-writes-on-bgsave-error: -MISCONF after a failed BGSAVE, as Redis.
(d3) the saver runs under SCHED_IDLE, and a BGSAVE ends while two clients
    keep kvsd's one worker busy (every thread on one CPU).
(e) --big N (the `long` setup): N keys (strings, hashes, sets, sorted sets,
    lists, a tenth with a TTL) saved by kvsd and loaded by redis-server, and
    saved by redis-server and loaded by kvsd; DEBUG DIGEST equal each way.

Usage: test_diff_rdb.py [--seed N] [--big N]   (environment: see harness.py)
"""

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import parse  # noqa: E402
import test_diff  # noqa: E402
import test_diff_dump  # noqa: E402

CHECK_RDB = shutil.which('redis-check-rdb') or '/usr/bin/redis-check-rdb'


def fill(cl, rng, long_lists=False):
    """The dataset of test_diff_dump plus TTLs and other databases (and
    with long_lists, a few lists of thousands of compressible elements);
    returns the list of (db, key)."""
    keys = []
    if long_lists:
        for i in range(4):
            k = 'longlist:%d' % i
            for j in range(0, 3000 + 500 * i, 250):
                cl.cmd('RPUSH', k, *['job:%d:%s' % ((j + m) % 97, 'x' * (m % 20))
                                     for m in range(250)])
            cl.cmd('LSET', k, '1000', rng.choice(['changed', '12345', 'y' * 300]))
            cl.cmd('LINSERT', k, 'BEFORE', 'job:50:', 'inserted')
            keys.append((0, k))
    for key, _kind, cmds in test_diff_dump.gen_dataset(rng):
        for c in cmds:
            cl.cmd(*c)
        keys.append((0, key))
    for i, (_db, key) in enumerate(list(keys)):
        if i % 4 == 0:
            cl.cmd('PEXPIREAT', key, str(int(time.time() * 1000) + 10**7 + i))
    for db in (1, 7):
        cl.cmd('SELECT', str(db))
        for i in range(30):
            k = 'db%d:%d' % (db, i)
            cl.cmd('SET', k, 'v%d' % (i * db))
            if i % 3 == 0:
                cl.cmd('EXPIRE', k, str(100000 + i))
            keys.append((db, k))
        cl.cmd('SELECT', '0')
    return keys


def same_keys(d, label, src, dst, keys):
    """Every key of src is in dst with the same type, contents, encoding and
    PEXPIRETIME, and the databases hold the same number of keys."""
    for db in sorted({k[0] for k in keys}):
        src.cmd('SELECT', str(db))
        dst.cmd('SELECT', str(db))
        d.count += 1
        na, nb = src.cmd('DBSIZE'), dst.cmd('DBSIZE')
        if na != nb:
            d.report([label, 'DBSIZE', 'db%d' % db], nb, na)
        for kdb, key in keys:
            if kdb != db:
                continue
            d.count += 1
            want, got = test_diff_dump.contents(src, key), test_diff_dump.contents(dst, key)
            if want != got:
                d.report([label, key, 'contents'], repr(got).encode()[:1000],
                         repr(want).encode()[:1000])
            for cmd in ('PEXPIRETIME', 'OBJECT'):
                args = [cmd, key] if cmd != 'OBJECT' else ['OBJECT', 'ENCODING', key]
                d.count += 1
                ra, rb = src.cmd(*args), dst.cmd(*args)
                if ra != rb:
                    d.report([label] + args, rb, ra)
    src.cmd('SELECT', '0')
    dst.cmd('SELECT', '0')


def check_rdb(d, label, path):
    d.count += 1
    r = subprocess.run([CHECK_RDB, path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or 'RDB looks OK' not in r.stdout:
        d.report([label, 'redis-check-rdb', path],
                 (r.stdout[-600:] + r.stderr[-300:]).encode(), b'RDB looks OK')


def wait_info(cl, field, pred, timeout=20.0):
    deadline = time.time() + timeout
    v = None
    while time.time() < deadline:
        for line in parse(cl.cmd('INFO', 'persistence')).decode().split('\r\n'):
            if line.startswith(field + ':'):
                v = line.split(':', 1)[1]
        if v is not None and pred(v):
            return v
        time.sleep(0.01)
    return v


# ---------------------------------------------------------------- (a) (b)

def sec_kvsd_to_redis(d, rng, compression, depth=None):
    d.section = 'kvsd->redis rdbcompression %s' % compression
    extra = ['--list-compress-depth', depth] if depth else []
    if depth:
        d.section += ' list-compress-depth %s' % depth
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    ka = harness.kvsd_server(['--dir', tmp, '--rdbcompression', compression] + extra).start()
    rb = None
    try:
        with ka.client() as a:
            keys = fill(a, rng, long_lists=bool(depth))
            d.count += 1
            r = a.cmd('SAVE')
            if r != b'+OK\r\n':
                d.report(['SAVE'], r, b'+OK\r\n')
                return
            check_rdb(d, 'kvsd SAVE', os.path.join(tmp, 'dump.rdb'))
            rb = harness.redis_server(['--dir', tmp] + extra).start()
            with rb.client() as b:
                same_keys(d, 'kvsd->redis', a, b, keys)
    finally:
        ka.stop()
        if rb:
            rb.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def sec_redis_to_kvsd(d, rng, depth=None):
    d.section = 'redis->kvsd'
    extra = ['--list-compress-depth', depth] if depth else []
    if depth:
        d.section += ' list-compress-depth %s' % depth
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    rb = harness.redis_server(['--dir', tmp] + extra).start()
    ka = None
    try:
        with rb.client() as b:
            keys = fill(b, rng, long_lists=bool(depth))
            if b.cmd('SAVE') != b'+OK\r\n':
                d.report(['redis SAVE'], b'', b'+OK')
                return
            ka = harness.kvsd_server(['--dir', tmp] + extra).start()
            with ka.client() as a:
                same_keys(d, 'redis->kvsd', b, a, keys)
                # kvsd re-saves what it loaded: still a good file
                d.count += 1
                if a.cmd('SAVE') != b'+OK\r\n':
                    d.report(['kvsd SAVE after load'], b'', b'+OK')
                check_rdb(d, 'kvsd re-SAVE', os.path.join(tmp, 'dump.rdb'))
    finally:
        rb.stop()
        if ka:
            ka.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- (c)

def info_names(r):
    return [line.split(':', 1)[0] for line in parse(r).decode().split('\r\n') if ':' in line]


def config_pairs(a, b):
    """CONFIG GET of a pattern: the same name/value pairs in any order."""
    va, vb = parse(a), parse(b)
    if not (isinstance(va, list) and isinstance(vb, list)):
        return a == b
    return sorted(zip(va[::2], va[1::2])) == sorted(zip(vb[::2], vb[1::2]))


def sec_replies(d):
    d.section = 'replies'
    p = d.pair()
    for name in ('save', 'dbfilename', 'rdbcompression', 'rdbchecksum'):
        p.c('CONFIG', 'GET', name)
    for val in ('3600 1 300 100', '1 0', '', '100', '100 a', '0 1', '10 -1', '5 5 5',
                ' ', '60 1 60 1'):
        p.c('CONFIG', 'SET', 'save', val)
        p.c('CONFIG', 'GET', 'save')
    p.c('CONFIG', 'SET', 'save', '')
    p.c('CONFIG', 'SET', 'dbfilename', 'x.rdb')
    p.c('CONFIG', 'SET', 'rdbchecksum', 'no')
    for val in ('no', 'maybe', 'yes'):
        p.c('CONFIG', 'SET', 'rdbcompression', val)
        p.c('CONFIG', 'GET', 'rdbcompression')
    for name in ('rdb-save-incremental-fsync', 'aof-rewrite-incremental-fsync'):
        p.c('CONFIG', 'GET', name)
        for val in ('no', 'maybe', 'YES', '1', '', 'yes'):
            p.c('CONFIG', 'SET', name, val)
            p.c('CONFIG', 'GET', name)
    # a pattern's pairs come in redis-server's dict order (seeded per process)
    p.c('CONFIG', 'GET', '*incremental-fsync', cmp=config_pairs)
    p.c('BGSAVE', 'foo')
    p.c('BGSAVE', 'schedule', 'x')
    p.c('SAVE', 'x')
    p.c('LASTSAVE', 'x')
    p.c('LASTSAVE', cmp=test_diff.both_integer)
    p.c('MULTI')
    p.c('SAVE')
    p.c('DISCARD')
    # BGSAVE inside EXEC is scheduled (the cron starts it) in both. A save
    # rule set above ('1 0': a second since the last save, any changes) may
    # have started a BGSAVE in a cron tick that fell between two CONFIG SETs,
    # on a server over a second old (a loaded machine): then redis answers
    # -ERR Background save already in progress. Both idle first.
    for cl in (p.a, p.b):
        wait_info(cl, 'rdb_bgsave_in_progress', lambda v: v == '0')
    p.c('MULTI')
    p.c('BGSAVE')
    p.c('EXEC')
    # writes inside EXEC count as changes (3 here), as outside
    p.c('CONFIG', 'SET', 'save', '')
    for cl in (p.a, p.b):
        wait_info(cl, 'rdb_bgsave_in_progress', lambda v: v == '0')
        cl.cmd('SAVE')
    p.c('MULTI')
    p.c('SET', 'x', '1')
    p.c('SET', 'y', '2')
    p.c('INCR', 'x')
    p.c('EXEC')
    d.count += 1
    ca = wait_info(p.a, 'rdb_changes_since_last_save', lambda v: True)
    cb = wait_info(p.b, 'rdb_changes_since_last_save', lambda v: True)
    if ca != cb:
        d.report(['rdb_changes_since_last_save after EXEC'], repr(ca).encode(),
                 repr(cb).encode())
    d.count += 1
    na = info_names(p.a.cmd('INFO', 'persistence'))
    nb = info_names(p.b.cmd('INFO', 'persistence'))
    if na != nb:
        d.report(['INFO', 'persistence', '(field names)'], ' '.join(na).encode(),
                 ' '.join(nb).encode())
    p.close()


def sec_config_file(d):
    """save lines from argv as a config file: the first replaces the
    default, later ones add; "" clears."""
    d.section = 'save lines'
    for extra in ([], ['--save', '60 1', '--save', '10 2'], ['--save', '60 1', '--save', ''],
                  ['--save', '', '--save', '5 5']):
        ka = harness.Server(harness.kvsd_binary(), extra, name='kvsd')
        ka.argv = (lambda port, ka=ka: [ka.binary, '--port', str(port), '--bind', '127.0.0.1',
                                        '--threads', '2', '--loglevel', 'warning'] + ka.extra)
        rb = harness.redis_server()
        rb.argv = (lambda port, rb=rb: [rb.binary, '--port', str(port), '--bind',
                                        '127.0.0.1', '--appendonly', 'no', '--dir', rb.dir] +
                   rb.extra)
        rb.extra = list(extra)
        ka.start()
        rb.start()
        try:
            with ka.client() as a, rb.client() as b:
                d.count += 1
                ra, rr = a.cmd('CONFIG', 'GET', 'save'), b.cmd('CONFIG', 'GET', 'save')
                if ra != rr:
                    d.report(['CONFIG GET save'] + extra, ra, rr)
                # nothing to save at shutdown into the test's temporary dirs
                a.cmd('CONFIG', 'SET', 'save', '')
                b.cmd('CONFIG', 'SET', 'save', '')
        finally:
            ka.stop()
            rb.stop()


# ---------------------------------------------------------------- (d)

def expect(d, what, got, want):
    d.count += 1
    if got != want:
        d.report(what, repr(got).encode(), repr(want).encode())


def sec_bgsave_while_writing(d):
    d.section = 'bgsave under writes'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    ka = harness.kvsd_server(['--dir', tmp]).start()
    stop = threading.Event()
    written = [0]

    def writer():
        with ka.client() as w:
            i = 0
            while not stop.is_set():
                w.cmd('SET', 'w:%d' % (i % 5000), 'x' * (i % 50))
                w.cmd('INCR', 'counter')
                i += 1
            written[0] = i

    try:
        with ka.client() as a:
            for i in range(0, 20000, 500):
                a.send(b''.join(harness.encode('SET', 'k:%d' % j, 'v' * 30)
                                for j in range(i, i + 500)))
                a.read_replies(500)
            before = int(parse(a.cmd('LASTSAVE')))
            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.1)
            expect(d, ['BGSAVE'], a.cmd('BGSAVE'), b'+Background saving started\r\n')
            r = a.cmd('BGSAVE')
            if r != b'-ERR Background save already in progress\r\n':
                # the save may already have ended: then it starts again
                expect(d, ['BGSAVE again'], r, b'+Background saving started\r\n')
            expect(d, ['rdb_bgsave_in_progress ends'],
                   wait_info(a, 'rdb_bgsave_in_progress', lambda v: v == '0'), '0')
            expect(d, ['rdb_last_bgsave_status'],
                   wait_info(a, 'rdb_last_bgsave_status', lambda v: True), 'ok')
            stop.set()
            t.join()
            d.count += 1
            if int(parse(a.cmd('LASTSAVE'))) < before:
                d.report(['LASTSAVE moved back'], b'', b'')
            check_rdb(d, 'BGSAVE under writes', os.path.join(tmp, 'dump.rdb'))
            saves = wait_info(a, 'rdb_saves', lambda v: True)
            d.count += 1
            if saves is None or int(saves) < 1:
                d.report(['rdb_saves'], repr(saves).encode(), b'>= 1')
        ka.stop()
        # the file loads: every k:* key is there, counter is a number
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client() as a:
            n = sum(1 for k in parse(a.cmd('KEYS', 'k:*')))
            expect(d, ['k:* keys after reload'], n, 20000)
            c = parse(a.cmd('GET', 'counter'))
            d.count += 1
            if c is not None and not c.isdigit():
                d.report(['counter'], repr(c).encode(), b'a number')
    finally:
        stop.set()
        ka.stop()
        shutil.rmtree(tmp, ignore_errors=True)

def logged_syncs(logf, pos, what):
    """The incremental syncs of the last `what` line (kvsd's verbose log
    line of a save or an AOF base) written to logf after offset pos."""
    with open(logf) as f:
        f.seek(pos)
        lines = [l for l in f.read().splitlines() if what in l and 'incremental syncs' in l]
    if not lines:
        return None
    return int(lines[-1].rsplit(',', 1)[1].split()[0])


def logged_starts(logf, pos, what):
    """The write-out starts (sync_file_range calls) of the last `what` line
    written to logf after offset pos."""
    with open(logf) as f:
        f.seek(pos)
        lines = [l for l in f.read().splitlines() if what in l and 'write-out starts' in l]
    if not lines:
        return None
    return int(lines[-1].split(' write-out starts')[0].rsplit(',', 1)[1].split()[0])


def rdb_body(path):
    """A dump's bytes from the first SELECTDB to the CRC (the AUX fields
    before it carry the save's time and memory, the CRC covers them)."""
    with open(path, 'rb') as f:
        b = f.read()
    return b[b.find(b'\xfe\x00\xfb'):-8]


def sec_incremental_fsync(d):
    """rdb-save-incremental-fsync / aof-rewrite-incremental-fsync: with yes a
    save of 18 MB is written out in 4 MB chunks (the log counts the chunks
    waited for: 3), with no it is not (0); either way redis-check-rdb
    accepts the file and it loads with every key."""
    d.section = 'incremental fsync'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    logf = os.path.join(tmp, 'kvsd.log')
    extra = ['--dir', tmp, '--loglevel', 'verbose', '--logfile', logf]
    n = 44000  # values that LZF cannot shrink: about 18 MB in either form

    def val(j):
        return random.Random(j).getrandbits(1600).to_bytes(200, 'little').hex()

    ka = harness.kvsd_server(extra).start()
    try:
        with ka.client() as a:
            for i in range(0, n, 500):
                a.send(b''.join(harness.encode('SET', 'k:%d' % j, val(j))
                                for j in range(i, i + 500)))
                a.read_replies(500)
            bodies = {}
            for setting, want in (('yes', 3), ('no', 0)):
                a.cmd('CONFIG', 'SET', 'rdb-save-incremental-fsync', setting)
                pos = os.path.getsize(logf)
                expect(d, ['BGSAVE', setting], a.cmd('BGSAVE'),
                       b'+Background saving started\r\n')
                expect(d, ['rdb_bgsave_in_progress ends', setting],
                       wait_info(a, 'rdb_bgsave_in_progress', lambda v: v == '0'), '0')
                expect(d, ['rdb_last_bgsave_status', setting],
                       wait_info(a, 'rdb_last_bgsave_status', lambda v: True), 'ok')
                expect(d, ['chunks synced by BGSAVE', setting],
                       logged_syncs(logf, pos, 'background save:'), want)
                # started a piece at a time: about one call per 512 KB
                # (AUTOSYNC_PIECE), not one per 4 MB chunk
                size = os.path.getsize(os.path.join(tmp, 'dump.rdb'))
                starts = logged_starts(logf, pos, 'background save:')
                expect(d, ['write-out started in 512 KB pieces', setting],
                       starts is not None and (starts == 0 if setting == 'no' else
                                               size // (512 << 10) - 1 <= starts
                                               <= size // (512 << 10) + 3), True)
                check_rdb(d, 'BGSAVE incremental %s' % setting, os.path.join(tmp, 'dump.rdb'))
                bodies[setting] = rdb_body(os.path.join(tmp, 'dump.rdb'))
            expect(d, ['BGSAVE files of yes and no hold the same keys and values'],
                   len(bodies['yes']) > 16000000 and bodies['yes'] == bodies['no'], True)
            a.cmd('CONFIG', 'SET', 'rdb-save-incremental-fsync', 'yes')
            pos = os.path.getsize(logf)
            expect(d, ['SAVE'], a.cmd('SAVE'), b'+OK\r\n')
            expect(d, ['chunks synced by SAVE'], logged_syncs(logf, pos, 'SAVE save:'), 3)
            check_rdb(d, 'SAVE incremental yes', os.path.join(tmp, 'dump.rdb'))
            # the AOF rewrite's base, in RDB and in command form
            a.cmd('CONFIG', 'SET', 'aof-use-rdb-preamble', 'yes')
            for preamble, setting, want in (('yes', 'yes', 3), ('no', 'yes', 3),
                                            ('yes', 'no', 0)):
                a.cmd('CONFIG', 'SET', 'aof-use-rdb-preamble', preamble)
                a.cmd('CONFIG', 'SET', 'aof-rewrite-incremental-fsync', setting)
                pos = os.path.getsize(logf)
                if parse(a.cmd('CONFIG', 'GET', 'appendonly'))[1] == b'no':
                    expect(d, ['appendonly yes'], a.cmd('CONFIG', 'SET', 'appendonly', 'yes'),
                           b'+OK\r\n')
                else:
                    a.cmd('BGREWRITEAOF')
                time.sleep(0.05)
                wait_info(a, 'aof_rewrite_in_progress', lambda v: v == '0')
                wait_info(a, 'aof_rewrite_scheduled', lambda v: v == '0')
                expect(d, ['aof_last_bgrewrite_status', preamble, setting],
                       wait_info(a, 'aof_last_bgrewrite_status', lambda v: True), 'ok')
                expect(d, ['chunks synced by the AOF base', preamble, setting],
                       logged_syncs(logf, pos, 'AOF base'), want)
            a.cmd('CONFIG', 'SET', 'save', '')
        ka.stop()
        for args in ([], ['--appendonly', 'yes']):
            ka = harness.kvsd_server(['--dir', tmp] + args).start()
            with ka.client() as a:
                expect(d, ['DBSIZE after reload'] + args, parse(a.cmd('DBSIZE')), n)
                expect(d, ['a value after reload'] + args, parse(a.cmd('GET', 'k:43999')),
                       val(43999).encode())
            ka.stop()
    finally:
        ka.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def thread_sched(pid):
    """{tid: (policy, nice)} of every thread of pid (/proc/<pid>/task/*/stat:
    fields 19 and 41 after the command's closing parenthesis)."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                rest = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue   # the thread ended meanwhile
        out[int(tid)] = (int(rest[38]), int(rest[16]))
    return out


def fill_strings(a, n):
    for i in range(0, n, 500):
        a.send(b''.join(harness.encode('SET', 'k:%d' % j, 'v' * 30)
                        for j in range(i, min(i + 500, n))))
        a.read_replies(min(500, n - i))


def sec_bgsave_busy_worker(d, n):
    """The saver stays out of the worker's way and still ends (issue 15's
    p99 during BGSAVE): kvsd with one worker, every thread pinned to one
    CPU. (1) While a BGSAVE runs (slowed by rdb-key-save-delay; SIGTERM
    then cancels it), a thread of kvsd runs under SCHED_IDLE (policy 5), or
    at nice 19 where SCHED_IDLE is refused. (2) Two clients keep the worker
    busy with pipelined SETs and GETs; a BGSAVE of n keys still ends within
    120 s with status ok (a SCHED_IDLE saver gets a sliver of a busy core),
    the clients were served during it, and the file loads with every key.
    """
    d.section = 'bgsave under a busy worker'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    cpus = sorted(os.sched_getaffinity(0))
    stop = threading.Event()
    ops = [0, 0]
    threads = []
    ka = harness.kvsd_server(['--dir', tmp, '--threads', '1']).start()

    def loader(slot):
        with ka.client(timeout=60) as w:
            i = 0
            while not stop.is_set():
                w.send(b''.join(harness.encode('SET', 'b:%d' % ((i + j) % 1000), 'x' * 40)
                                + harness.encode('GET', 'k:%d' % ((i + j) % n))
                                for j in range(50)))
                w.read_replies(100)
                i += 50
                ops[slot] = i

    try:
        # (1) the saver's scheduling policy, seen while it runs
        harness.pin_threads(ka.proc.pid, cpus[0])
        with ka.client(timeout=60) as a:
            fill_strings(a, 2000)
            expect(d, ['CONFIG SET rdb-key-save-delay'],
                   a.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '5000'), b'+OK\r\n')
            expect(d, ['BGSAVE (slow)'], a.cmd('BGSAVE'), b'+Background saving started\r\n')
            seen = set()
            deadline = time.time() + 10
            while time.time() < deadline and not seen:
                seen = {v for v in thread_sched(ka.proc.pid).values()
                        if v[0] == 5 or v[1] == 19}
                time.sleep(0.01)
            d.count += 1
            if not seen:
                d.report(['a SCHED_IDLE (or nice 19) thread during BGSAVE'],
                         repr(thread_sched(ka.proc.pid)).encode(), b'policy 5')
        ka.stop()   # cancels the slow save (--save '': nothing saved at exit)
        shutil.rmtree(tmp, ignore_errors=True)
        os.mkdir(tmp)
        # (2) the save ends while the worker is kept busy
        ka = harness.kvsd_server(['--dir', tmp, '--threads', '1']).start()
        harness.pin_threads(ka.proc.pid, cpus[0])
        with ka.client(timeout=60) as a:
            fill_strings(a, n)
            for slot in range(2):
                t = threading.Thread(target=loader, args=(slot,))
                t.start()
                threads.append(t)
            time.sleep(0.3)
            before = sum(ops)
            expect(d, ['BGSAVE (busy)'], a.cmd('BGSAVE'), b'+Background saving started\r\n')
            expect(d, ['BGSAVE under a busy worker ends'],
                   wait_info(a, 'rdb_bgsave_in_progress', lambda v: v == '0', 120), '0')
            served = sum(ops) - before
            expect(d, ['rdb_last_bgsave_status (busy)'],
                   wait_info(a, 'rdb_last_bgsave_status', lambda v: True), 'ok')
            stop.set()
            for t in threads:
                t.join()
            d.count += 1
            if served <= 0:
                d.report(['clients served during the save'], repr(served).encode(), b'> 0')
            harness.log('diff-rdb: busy worker: %d SET+GET pairs served during the save'
                        % served)
        ka.stop()
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client(timeout=60) as a:
            expect(d, ['DBSIZE after the busy save'], parse(a.cmd('DBSIZE')), n + 1000)
    finally:
        stop.set()
        for t in threads:
            t.join()
        ka.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def sec_cut(d, accounts, saves):
    """A BGSAVE is a consistent cut: while two clients move money between
    `accounts` keys with MULTI/EXEC, each of `saves` BGSAVEs is loaded into
    a fresh kvsd and the accounts add up to the exact total."""
    d.section = 'cut under transfers'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    ka = harness.kvsd_server(['--dir', tmp]).start()
    stop = threading.Event()
    moved = [0, 0]

    def mover(slot, seed):
        rng = random.Random(seed)
        with ka.client() as w:
            while not stop.is_set():
                a, b = rng.sample(range(accounts), 2)
                amt = str(rng.randint(1, 5))
                w.send(harness.encode('MULTI') + harness.encode('DECRBY', 'acct:%d' % a, amt) +
                       harness.encode('INCRBY', 'acct:%d' % b, amt) + harness.encode('EXEC'))
                w.read_replies(4)
                moved[slot] += 1

    copies = []
    try:
        with ka.client() as a:
            a.send(b''.join(harness.encode('SET', 'acct:%d' % i, '100')
                            for i in range(accounts)))
            a.read_replies(accounts)
            threads = [threading.Thread(target=mover, args=(i, 77 + i)) for i in range(2)]
            for t in threads:
                t.start()
            for k in range(saves):
                time.sleep(0.05)
                expect(d, ['BGSAVE', k], a.cmd('BGSAVE'), b'+Background saving started\r\n')
                expect(d, ['BGSAVE ends', k],
                       wait_info(a, 'rdb_bgsave_in_progress', lambda v: v == '0'), '0')
                cdir = os.path.join(tmp, 'copy%d' % k)
                os.mkdir(cdir)
                shutil.copy(os.path.join(tmp, 'dump.rdb'), cdir)
                copies.append(cdir)
            stop.set()
            for t in threads:
                t.join()
        harness.log('diff-rdb: %d transfers during %d saves' % (sum(moved), saves))
        for cdir in copies:
            kb = harness.kvsd_server(['--dir', cdir]).start()
            try:
                with kb.client() as b:
                    keys = ['acct:%d' % i for i in range(accounts)]
                    vals = parse(b.cmd('MGET', *keys))
                    total = sum(int(v) for v in vals if v is not None)
                    expect(d, ['accounts in', os.path.basename(cdir)],
                           sum(1 for v in vals if v is not None), accounts)
                    expect(d, ['total in', os.path.basename(cdir)], total, 100 * accounts)
            finally:
                kb.stop()
    finally:
        stop.set()
        ka.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def sec_shutdown_and_rules(d):
    d.section = 'shutdown, rules'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    try:
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client() as a:
            a.cmd('SET', 'kept', 'yes')
            a.cmd('RPUSH', 'l', 'a', 'b')
            a.send(harness.encode('SHUTDOWN', 'SAVE'))
            a.read_until_eof(10.0)
        ka.proc.wait(20)
        expect(d, ['exit status after SHUTDOWN SAVE'], ka.proc.returncode, 0)
        ka.stop()
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client() as a:
            expect(d, ['GET kept after restart'], a.cmd('GET', 'kept'), b'$3\r\nyes\r\n')
            expect(d, ['LRANGE after restart'], parse(a.cmd('LRANGE', 'l', '0', '-1')),
                   [b'a', b'b'])
            expect(d, ['rdb_last_load_keys_loaded'],
                   wait_info(a, 'rdb_last_load_keys_loaded', lambda v: True), '2')
            a.cmd('DEL', 'kept')
            # a rule that fires at once: one change, more than 1 second
            expect(d, ['CONFIG SET save 1 1'], a.cmd('CONFIG', 'SET', 'save', '1 1'),
                   b'+OK\r\n')
            changes = wait_info(a, 'rdb_changes_since_last_save', lambda v: True)
            d.count += 1
            if changes != '1':
                d.report(['rdb_changes_since_last_save after DEL'], repr(changes).encode(),
                         b'1')
            expect(d, ['save rule fired'],
                   wait_info(a, 'rdb_changes_since_last_save', lambda v: v == '0'), '0')
            a.cmd('SET', 'after', 'rule')
        # SIGTERM with rules: the final save keeps 'after'
        expect(d, ['exit status after SIGTERM'], ka.stop(), 0)
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client() as a:
            expect(d, ['GET after (SIGTERM saved)'], a.cmd('GET', 'after'),
                   b'$4\r\nrule\r\n')
            expect(d, ['GET kept (deleted before the save)'], a.cmd('GET', 'kept'),
                   b'$-1\r\n')
        ka.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sec_lfu(d):
    """Under an LFU policy kvsd writes each key's FREQ (as Redis does) and
    redis-server loads it: OBJECT FREQ is the same on both."""
    d.section = 'freq'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    ka = harness.kvsd_server(['--dir', tmp, '--maxmemory-policy', 'allkeys-lfu']).start()
    rb = None
    try:
        with ka.client() as a:
            a.cmd('SET', 'hot', 'x')
            a.cmd('SET', 'cold', 'y')
            for _ in range(300):
                a.cmd('GET', 'hot')
            fa = [a.cmd('OBJECT', 'FREQ', k) for k in ('hot', 'cold')]
            expect(d, ['SAVE'], a.cmd('SAVE'), b'+OK\r\n')
        rb = harness.redis_server(['--dir', tmp, '--maxmemory-policy', 'allkeys-lfu']).start()
        with rb.client() as b:
            fb = [b.cmd('OBJECT', 'FREQ', k) for k in ('hot', 'cold')]
        expect(d, ['OBJECT FREQ hot, cold after load'], fb, fa)
    finally:
        ka.stop()
        if rb:
            rb.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def sec_misconf(d):
    """stop-writes-on-bgsave-error: after a failed BGSAVE (dump.rdb is a
    directory, so the rename fails) writes and PING answer -MISCONF, reads
    work; the option off, or no save rules, lets writes through again."""
    d.section = 'misconf'
    ta, tb = tempfile.mkdtemp(prefix='kvsd-rdb-'), tempfile.mkdtemp(prefix='kvsd-rdb-')
    sa = harness.kvsd_server(['--dir', ta, '--save', '3600 1'])
    sb = harness.redis_server(['--dir', tb, '--save', '3600 1'])
    sa.start()
    sb.start()
    d2 = test_diff.Differ(sa, sb)
    try:
        for t in (ta, tb):
            os.mkdir(os.path.join(t, 'dump.rdb'))
        p = d2.pair()
        p.c('SET', 'a', '1')
        p.c('BGSAVE')
        for cl in (p.a, p.b):
            wait_info(cl, 'rdb_bgsave_in_progress', lambda v: v == '0')
        p.c('SET', 'b', '1')
        p.c('PING')
        p.c('GET', 'a')
        p.c('MULTI')
        p.c('SET', 'c', '1')
        p.c('EXEC')
        p.c('CONFIG', 'SET', 'stop-writes-on-bgsave-error', 'no')
        p.c('SET', 'b', '2')
        p.c('CONFIG', 'SET', 'stop-writes-on-bgsave-error', 'yes')
        p.c('INCR', 'a')
        p.c('CONFIG', 'SET', 'save', '')
        p.c('INCR', 'a')
        p.c('CONFIG', 'GET', 'stop-writes-on-bgsave-error')
        p.close()
    finally:
        sa.stop()
        sb.stop()
        d.count += d2.count
        d.mismatches += d2.mismatches
        shutil.rmtree(ta, ignore_errors=True)
        shutil.rmtree(tb, ignore_errors=True)


def start_fails(d, label, tmp, want):
    """kvsd with --dir tmp must exit 1 with `want` in its stderr."""
    argv = [harness.kvsd_binary(), '--port', str(harness.free_port()), '--bind', '127.0.0.1',
            '--threads', '2', '--dir', tmp]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        d.report([label, 'kvsd kept running'], b'', b'exit 1')
        return
    d.count += 1
    if r.returncode != 1 or want not in r.stderr:
        d.report([label], ('exit %d: %s' % (r.returncode, r.stderr[-500:])).encode(),
                 ('exit 1: ...%s...' % want).encode())


def sec_refusals(d):
    d.section = 'refusals'
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    try:
        ka = harness.kvsd_server(['--dir', tmp]).start()
        with ka.client() as a:
            for i in range(50):
                a.cmd('SET', 'key:%d' % i, 'value %d' % i)
            a.cmd('SAVE')
        ka.stop()
        path = os.path.join(tmp, 'dump.rdb')
        with open(path, 'rb') as f:
            good = f.read()
        bad = bytearray(good)
        bad[len(good) // 2] ^= 0x5a
        with open(path, 'wb') as f:
            f.write(bad)
        start_fails(d, 'flipped byte', tmp, 'dump.rdb at byte ')
        with open(path, 'wb') as f:
            f.write(good[:len(good) - 20])
        start_fails(d, 'truncated file', tmp, 'dump.rdb at byte ')
        os.unlink(path)
        # a redis-server file kvsd cannot hold: a stream (function libraries
        # load: test_diff_function.py)
        rb = harness.redis_server(['--dir', tmp]).start()
        with rb.client() as b:
            b.cmd('XADD', 'mystream', '*', 'f', 'v')
            b.cmd('SAVE')
        rb.stop(), None
        start_fails(d, 'stream key', tmp, "key 'mystream' (db 0) holds a stream")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def big_fill(cl, n, rng):
    batch = []
    for i in range(n):
        k = 'big:%d' % i
        t = i % 10
        if t < 6:
            batch.append(['SET', k, 'v' * rng.randint(1, 100)])
        elif t == 6:
            batch.append(['HSET', k, 'a', str(i), 'b', 'x' * 20])
        elif t == 7:
            batch.append(['SADD', k, str(i), str(i + 1), 'm%d' % i])
        elif t == 8:
            batch.append(['ZADD', k, '1.5', 'a', str(i), 'b'])
        else:
            batch.append(['RPUSH', k, 'a', str(i), 'c'])
        if i % 10 == 3:
            batch.append(['PEXPIRE', k, str(10**8 + i)])
        if len(batch) >= 2000:
            cl.send(b''.join(harness.encode(*c) for c in batch))
            cl.read_replies(len(batch))
            batch = []
    if batch:
        cl.send(b''.join(harness.encode(*c) for c in batch))
        cl.read_replies(len(batch))


def sec_big(d, n, rng):
    d.section = 'big %d keys' % n
    for first in ('kvsd', 'redis'):
        tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
        mk = {'kvsd': lambda: harness.kvsd_server(['--dir', tmp, '--enable-debug-command',
                                                   'yes']),
              'redis': lambda: harness.redis_server(['--dir', tmp, '--enable-debug-command',
                                                     'yes'])}
        src = mk[first]().start()
        dst = None
        try:
            with src.client(timeout=600) as a:
                big_fill(a, n, rng)
                digest = a.cmd('DEBUG', 'DIGEST')
                t0 = time.time()
                expect(d, [first, 'SAVE'], a.cmd('SAVE'), b'+OK\r\n')
                harness.log('diff-rdb: %s saved %d keys in %.2f s' % (first, n, time.time() - t0))
            src.stop()
            t0 = time.time()
            dst = mk['redis' if first == 'kvsd' else 'kvsd']().start(timeout=600)
            harness.log('diff-rdb: the other server started (loaded) in %.2f s' %
                        (time.time() - t0))
            with dst.client(timeout=600) as b:
                expect(d, [first + '->', 'DEBUG DIGEST'], b.cmd('DEBUG', 'DIGEST'), digest)
        finally:
            src.stop()
            if dst:
                dst.stop()
            shutil.rmtree(tmp, ignore_errors=True)


def sec_parallel_load(d, n, rng):
    """redis-server's file of n keys of every type (10% with a TTL) over 1 MB, so kvsd
    loads it on its parallel loader: kvsd --threads 2 and --threads 1 both end with
    redis-server's DEBUG DIGEST (values and expiry times), DBSIZE and the TTLs of a
    sample of keys."""
    d.section = 'parallel load %d keys' % n
    tmp = tempfile.mkdtemp(prefix='kvsd-rdb-')
    try:
        rb = harness.redis_server(['--dir', tmp, '--enable-debug-command', 'yes']).start()
        with rb.client(timeout=120) as b:
            big_fill(b, n, rng)
            digest = b.cmd('DEBUG', 'DIGEST')
            size = b.cmd('DBSIZE')
            sample = ['big:%d' % i for i in range(3, n, n // 50 * 10 + 10)]
            ttls = [b.cmd('PEXPIRETIME', k) for k in sample]
            expect(d, ['redis SAVE'], b.cmd('SAVE'), b'+OK\r\n')
        rb.stop()
        expect(d, ['dump.rdb over 1 MB (the parallel loader)'],
               os.path.getsize(os.path.join(tmp, 'dump.rdb')) > (1 << 20), True)
        for threads in ('2', '1'):
            ka = harness.kvsd_server(['--dir', tmp, '--threads', threads, '--save', '',
                                      '--enable-debug-command', 'yes']).start(timeout=120)
            try:
                with ka.client(timeout=120) as a:
                    expect(d, ['--threads', threads, 'DEBUG DIGEST'], a.cmd('DEBUG', 'DIGEST'),
                           digest)
                    expect(d, ['--threads', threads, 'DBSIZE'], a.cmd('DBSIZE'), size)
                    expect(d, ['--threads', threads, 'PEXPIRETIME sample'],
                           [a.cmd('PEXPIRETIME', k) for k in sample], ttls)
            finally:
                ka.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '1515')))
    ap.add_argument('--big', type=int, default=0)
    args = ap.parse_args()
    pair = test_diff.start_pair('diff-rdb')
    if pair is None:
        return 1
    sa, sb = pair
    d = test_diff.Differ(sa, sb)
    rc = 0
    harness.log('diff-rdb: seed %d' % args.seed)

    def timed(sec, *a, **kw):
        t = time.time()
        sec(*a, **kw)
        harness.log('== %s  %.1f s' % (d.section, time.time() - t))
    try:
        timed(sec_replies, d)
        timed(sec_kvsd_to_redis, d, random.Random(args.seed), 'yes')
        timed(sec_kvsd_to_redis, d, random.Random(args.seed + 1), 'no')
        timed(sec_redis_to_kvsd, d, random.Random(args.seed + 2))
        timed(sec_kvsd_to_redis, d, random.Random(args.seed + 4), 'yes', depth='1')
        timed(sec_redis_to_kvsd, d, random.Random(args.seed + 5), depth='2')
        timed(sec_config_file, d)
        timed(sec_bgsave_while_writing, d)
        timed(sec_incremental_fsync, d)
        timed(sec_bgsave_busy_worker, d, 10000 if harness.sanitized() else 30000)
        timed(sec_cut, d, 10000 if args.big else 1000, 20 if args.big else 3)
        timed(sec_shutdown_and_rules, d)
        timed(sec_refusals, d)
        timed(sec_lfu, d)
        timed(sec_misconf, d)
        timed(sec_parallel_load, d, 40000, random.Random(args.seed + 6))
        if args.big:
            sec_big(d, args.big, random.Random(args.seed + 3))
    except (OSError, socket.timeout, harness.ProtocolError, RuntimeError) as e:
        harness.log('diff-rdb: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-rdb', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
