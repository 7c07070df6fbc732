"""CONFIG SET appendonly at run time (issue 15), as Redis 7.0.15's
startAppendOnly / stopAppendOnly.

on: many clients write (each with its own sequence: INCR of its counter,
RPUSH of the sequence number to its list, SET of a key per number) while
CONFIG SET appendonly yes switches the AOF on; once the rewrite it starts
is done the writers stop, kvsd is killed (kill -9) and restarted from the
AOF: DEBUG DIGEST equals the digest before the kill and, client by client,
the counter equals the writes it acknowledged and the list holds exactly
1..n in order (a write lost from both the base and the incr file, or in
both, fails it). Several rounds.

toggle: the same with on / off / on switches under the writers (an off
while the first rewrite runs abandons it).

diff: against redis-server with rdb-key-save-delay making the rewrite last:
the replies of CONFIG SET appendonly yes / yes again / BGREWRITEAOF / no,
and INFO persistence's aof_enabled, aof_rewrite_in_progress and
aof_rewrite_scheduled (and which aof_* fields exist) after each; a BGSAVE in
progress makes the switch-on's rewrite, and BGREWRITEAOF, scheduled on both;
inside MULTI/EXEC; and (diff-baddir) a directory that cannot be created.

diff-off-rewrite: BGREWRITEAOF with appendonly no against redis-server (a
base alone in the manifest, scheduled during a BGSAVE, a restart with
appendonly yes on such a directory).

diff-shutdown: SHUTDOWN [NOSAVE|FORCE] while the switch-on writes the
initial AOF, and SHUTDOWN during a plain rewrite, against redis-server.

diff-sigterm: SIGTERM during BGREWRITEAOF (the AOF on, and off), against
redis-server: a prompt exit, no temporary file, the same manifest, every key
after a restart.

on-everysec: one round of on with appendfsync everysec (on's second round).

Usage: test_aof_switch.py [--rounds N] [scenario ...]
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, log  # noqa: E402
from test_aof import Proc, check, failures, kvsd_bin, redis_bin  # noqa: E402

SANITIZED = bool(os.environ.get('ASAN_OPTIONS') or os.environ.get('TSAN_OPTIONS'))
WRITERS = 6


def info_fields(c, prefix='aof_'):
    text = c.cmd('INFO', 'persistence').decode()
    out = {}
    for ln in text.split('\r\n'):
        if ln.startswith(prefix) and ':' in ln:
            k, v = ln.split(':', 1)
            out[k] = v
    return out


def wait_rewrite_done(c, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        f = info_fields(c)
        if f.get('aof_rewrite_in_progress') == '0' and f.get('aof_rewrite_scheduled') == '0':
            return True
        time.sleep(0.02)
    check(False, '%s: the rewrite did not end' % what)
    return False


class Writer(threading.Thread):
    """One client's sequence: INCR ctr:<i>, RPUSH log:<i> <n>, SET k:<i>:<n>,
    two commands in flight at a time; acked counts what was answered."""

    def __init__(self, port, i):
        super().__init__(daemon=True)
        self.port, self.i = port, i
        self.acked = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            with Client(self.port, timeout=20.0) as c:
                n = 0
                while not self.stop.is_set() and n < 200000:
                    n += 1
                    c.send(harness.encode('INCR', 'ctr:%d' % self.i) +
                           harness.encode('RPUSH', 'log:%d' % self.i, str(n)) +
                           harness.encode('SET', 'k:%d:%d' % (self.i, n), 'v%d' % n))
                    r = c.read_replies(3)
                    if r[0] != b':%d\r\n' % n or r[1] != b':%d\r\n' % n or r[2] != b'+OK\r\n':
                        self.error = 'client %d write %d: %r' % (self.i, n, r)
                        return
                    self.acked = n
        except Exception as e:  # noqa: BLE001 - reported by the scenario
            self.error = 'client %d: %r' % (self.i, e)


def start_writers(port):
    ws = [Writer(port, i) for i in range(WRITERS)]
    for w in ws:
        w.start()
    return ws


def stop_writers(ws, what):
    for w in ws:
        w.stop.set()
    for w in ws:
        w.join(30)
        check(not w.is_alive(), '%s: writer %d hangs' % (what, w.i))
        check(w.error is None, '%s: %s' % (what, w.error))


def verify(k, ws, digest, what):
    """After the restart: the digest, and each client's writes exactly."""
    with k.client() as c:
        check(c.cmd('DEBUG', 'DIGEST') == digest, '%s: DEBUG DIGEST differs after restart' % what)
        check(c.cmd('GET', 'slept') == b'$1\r\n1\r\n', '%s: the write of a transaction that '
              'began before the switch is lost' % what)
        for w in ws:
            n = w.acked
            got = c.cmd('GET', 'ctr:%d' % w.i)
            want = b'$%d\r\n%d\r\n' % (len(str(n)), n)
            check(got == want, '%s: client %d acknowledged %d writes, counter %r'
                  % (what, w.i, n, got))
            lst = harness.parse(c.cmd('LRANGE', 'log:%d' % w.i, '0', '-1'))
            check(lst == [str(x).encode() for x in range(1, n + 1)],
                  '%s: client %d list is not 1..%d (%d items)' % (what, w.i, n, len(lst)))
            if n:
                check(c.cmd('GET', 'k:%d:%d' % (w.i, n)) == b'$%d\r\nv%d\r\n'
                      % (len(str(n)) + 1, n), '%s: client %d last key' % (what, w.i))


def preload(c, n):
    """n keys (MSET in chunks), so the rewrite has a base to write."""
    chunk = 500
    for s in range(0, n, chunk):
        args = []
        for i in range(s, min(n, s + chunk)):
            args += ['pre:%d' % i, 'x' * (i % 50)]
        c.send(harness.encode('MSET', *args))
    for s in range(0, n, chunk):
        check(c.read_reply() == b'+OK\r\n', 'preload')


def one_round(switches, what, fsync):
    """switches: the appendonly values set, in order, with pauses between;
    the last must be 'yes'."""
    d = tempfile.mkdtemp(prefix='aof-sw-')
    k = Proc(kvsd_bin(), d, ['--appendonly', 'no', '--appendfsync', fsync])
    try:
        k.start()
        with k.client() as c:
            preload(c, 5000 if SANITIZED else 30000)
            ws = start_writers(k.port)
            time.sleep(0.2)
            # a transaction that read the AOF off when it began and writes
            # after a sleep, while the switch-on happens: its write must be
            # in the base (the rewrite waits for it) or it is lost
            sleeper = Client(k.port, timeout=20.0)
            sleeper.send(harness.encode('MULTI') + harness.encode('DEBUG', 'SLEEP', '0.3') +
                         harness.encode('INCR', 'slept') + harness.encode('EXEC'))
            time.sleep(0.1)
            for v in switches:
                r = c.cmd('CONFIG', 'SET', 'appendonly', v)
                check(r == b'+OK\r\n', '%s: CONFIG SET appendonly %s: %r' % (what, v, r))
                time.sleep(random.uniform(0.0, 0.15))
            slept = sleeper.read_replies(4)
            sleeper.close()
            check(slept[3] == b'*2\r\n+OK\r\n:1\r\n', '%s: EXEC %r' % (what, slept))
            wait_rewrite_done(c, what)
            f = info_fields(c)
            check(f.get('aof_enabled') == '1', '%s: aof_enabled %r' % (what, f))
            time.sleep(0.2)  # writes after the rewrite, in the incr file only
            stop_writers(ws, what)
            check(all(w.acked > 0 for w in ws), '%s: a writer wrote nothing' % what)
            digest = c.cmd('DEBUG', 'DIGEST')
        k.kill9()
        k.extra = ['--appendonly', 'yes']
        k.start()
        verify(k, ws, digest, what)
        log('%s: %d writes by %d clients, switches %s' %
            (what, sum(w.acked for w in ws), len(ws), ' '.join(switches)))
        k.stop()
    finally:
        k.kill9()
        shutil.rmtree(d, ignore_errors=True)


def scenario_on(rounds, first=0):
    """Rounds alternate appendfsync always (even) and everysec (odd)."""
    for i in range(first, first + rounds):
        one_round(['yes'], 'on round %d' % i, 'always' if i % 2 == 0 else 'everysec')


def scenario_toggle(rounds):
    for i in range(max(1, rounds - 1)):
        one_round(['yes', 'no', 'yes'], 'toggle round %d' % i, 'always')
        # an off while the first rewrite is still running abandons it
        one_round(['yes', 'no', 'no', 'yes', 'no', 'yes'], 'toggle-fast round %d' % i,
                  'everysec')


def strip_info(f):
    """The fields both servers print with values comparable across them."""
    keep = ('aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled',
            'aof_last_bgrewrite_status', 'aof_rewrites')
    return {k: v for k, v in f.items() if k in keep}


def scenario_diff():
    """Replies and INFO against redis-server while a rewrite runs."""
    def run(binary):
        d = tempfile.mkdtemp(prefix='aof-swd-')
        k = Proc(binary, d, ['--appendonly', 'no', '--rdb-key-save-delay', '2000'])
        seen = []
        try:
            k.start()
            with k.client() as c:
                preload(c, 1000)  # 1000 keys x 2 ms: the rewrite lasts 2 s
                seen.append(('fields off', sorted(info_fields(c))))
                seen.append(('set yes', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                f = info_fields(c)
                seen.append(('info while rewriting', strip_info(f)))
                seen.append(('fields on', sorted(f)))
                seen.append(('set yes again', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                seen.append(('bgrewriteaof', c.cmd('BGREWRITEAOF')))
                seen.append(('get', c.cmd('CONFIG', 'GET', 'appendonly')))
                seen.append(('set no', c.cmd('CONFIG', 'SET', 'appendonly', 'no')))
                seen.append(('info after no', strip_info(info_fields(c))))
                # a BGSAVE in progress: the switch-on's rewrite is scheduled
                seen.append(('bgsave', c.cmd('BGSAVE')))
                seen.append(('set yes in bgsave', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                seen.append(('info in bgsave', strip_info(info_fields(c))))
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '0')
                seen.append(('set no in bgsave', c.cmd('CONFIG', 'SET', 'appendonly', 'no')))
                seen.append(('info after no 2', strip_info(info_fields(c))))
                deadline = time.time() + 30
                while time.time() < deadline and \
                        info_fields(c, 'rdb_').get('rdb_bgsave_in_progress') != '0':
                    time.sleep(0.05)
                seen.append(('set yes 3', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                wait_rewrite_done(c, 'diff %s' % os.path.basename(binary))
                seen.append(('info done', strip_info(info_fields(c))))
                seen.append(('incr', c.cmd('INCR', 'after')))
                # BGREWRITEAOF while a BGSAVE runs: scheduled, then run
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '1000')
                seen.append(('bgsave 2', c.cmd('BGSAVE')))
                seen.append(('bgrewriteaof in bgsave', c.cmd('BGREWRITEAOF')))
                seen.append(('info scheduled', strip_info(info_fields(c))))
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '0')
                wait_rewrite_done(c, 'diff scheduled %s' % os.path.basename(binary))
                seen.append(('info scheduled done', strip_info(info_fields(c))))
                # inside MULTI/EXEC: off at once; on is scheduled (Redis: "AOF
                # was enabled during a transaction"), then runs
                c.send(harness.encode('MULTI') + harness.encode('SET', 'm', '1') +
                       harness.encode('CONFIG', 'SET', 'appendonly', 'no') +
                       harness.encode('EXEC'))
                seen.append(('exec off', c.read_replies(4)))
                seen.append(('info exec off', strip_info(info_fields(c))))
                c.send(harness.encode('MULTI') + harness.encode('SET', 'm', '2') +
                       harness.encode('CONFIG', 'SET', 'appendonly', 'yes') +
                       harness.encode('EXEC'))
                seen.append(('exec on', c.read_replies(4)))
                wait_rewrite_done(c, 'diff exec %s' % os.path.basename(binary))
                seen.append(('info exec on done', strip_info(info_fields(c))))
            k.stop()
        finally:
            k.kill9()
            shutil.rmtree(d, ignore_errors=True)
        return seen
    # side by side: each run is mostly the save delays' waits
    r, v = harness.side_by_side(run, (redis_bin(), kvsd_bin()))
    for (what, a), (_, b) in zip(r, v):
        # the rewrite counter: the abandoned one counts in both; kvsd may
        # count the scheduled one differently only if it never ran
        check(a == b, 'diff %s: redis %r, kvsd %r' % (what, a, b))


def scenario_diff_baddir():
    """A switch-on that cannot create the AOF directory (a file has its
    name): Redis's error, appendonly stays no; once the file is gone the
    next CONFIG SET appendonly yes works. Against redis-server."""
    out = {}
    for binary in (redis_bin(), kvsd_bin()):
        d = tempfile.mkdtemp(prefix='aof-swb-')
        k = Proc(binary, d, ['--appendonly', 'no'])
        seen = []
        try:
            k.start()
            with open(os.path.join(d, 'appendonlydir'), 'w') as f:
                f.write('not a directory')
            with k.client() as c:
                c.cmd('SET', 'a', '1')
                seen.append(('set yes', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                seen.append(('get', c.cmd('CONFIG', 'GET', 'appendonly')))
                seen.append(('info', strip_info(info_fields(c))))
                os.unlink(os.path.join(d, 'appendonlydir'))
                seen.append(('set yes 2', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                wait_rewrite_done(c, 'baddir %s' % os.path.basename(binary))
                seen.append(('info 2', strip_info(info_fields(c))))
                seen.append(('dir', os.path.isdir(os.path.join(d, 'appendonlydir'))))
            k.stop()
        finally:
            k.kill9()
            shutil.rmtree(d, ignore_errors=True)
        out[binary] = seen
    for (what, a), (_, b) in zip(out[redis_bin()], out[kvsd_bin()]):
        check(a == b, 'diff-baddir %s: redis %r, kvsd %r' % (what, a, b))


def aof_dir_state(d):
    """The AOF directory's file names and its manifest's text."""
    ad = os.path.join(d, 'appendonlydir')
    if not os.path.isdir(ad):
        return None
    names = sorted(n for n in os.listdir(ad) if not n.startswith('temp-'))
    man = os.path.join(ad, 'appendonly.aof.manifest')
    text = open(man).read() if os.path.exists(man) else None
    return names, text


def wait_rewrites(c, n, what, timeout=60.0):
    """Until aof_rewrites reaches n and no rewrite runs or waits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        f = info_fields(c)
        if int(f.get('aof_rewrites', '0')) >= n and f.get('aof_rewrite_in_progress') == '0' \
                and f.get('aof_rewrite_scheduled') == '0':
            return
        time.sleep(0.02)
    check(False, '%s: rewrite %d did not end' % (what, n))


def scenario_diff_off_rewrite():
    """BGREWRITEAOF while appendonly is no, against redis-server 7.0.15: the
    reply, INFO, the directory (a base alone in the manifest: no incr file;
    the next one replaces it, the old base deleted), BGREWRITEAOF during a
    BGSAVE scheduled and then run by the cron, redis-check-aof passes,
    CONFIG SET appendonly yes afterwards (base 3 and incr 1), and a restart
    with appendonly yes on a base alone loads it and adds incr 1."""
    out = {}
    check_aof = shutil.which('redis-check-aof') or '/usr/bin/redis-check-aof'
    for binary in (redis_bin(), kvsd_bin()):
        name = os.path.basename(binary)
        d = tempfile.mkdtemp(prefix='aof-swo-')
        k = Proc(binary, d, ['--appendonly', 'no'])
        seen = []
        try:
            k.start()
            with k.client() as c:
                preload(c, 300)
                seen.append(('bgrewriteaof off', c.cmd('BGREWRITEAOF')))
                wait_rewrites(c, 1, 'off-rewrite %s' % name)
                seen.append(('info 1', strip_info(info_fields(c))))
                seen.append(('dir 1', aof_dir_state(d)))
                c.cmd('SET', 'between', '1')
                seen.append(('bgrewriteaof off 2', c.cmd('BGREWRITEAOF')))
                wait_rewrites(c, 2, 'off-rewrite 2 %s' % name)
                seen.append(('dir 2', aof_dir_state(d)))
                r = subprocess.run([check_aof, os.path.join(d, 'appendonlydir',
                                                            'appendonly.aof.manifest')],
                                   capture_output=True, text=True)
                seen.append(('redis-check-aof', r.returncode))
                # during a BGSAVE: scheduled, then started by the cron
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '2000')
                seen.append(('bgsave', c.cmd('BGSAVE')))
                seen.append(('bgrewriteaof in bgsave', c.cmd('BGREWRITEAOF')))
                seen.append(('info scheduled', strip_info(info_fields(c))))
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '0')
                wait_rewrites(c, 3, 'off-rewrite scheduled %s' % name)
                seen.append(('dir 3', aof_dir_state(d)))
            k.stop()
            # a base alone, loaded with appendonly yes: incr 1 is added
            k = Proc(binary, d, [])
            k.start()
            with k.client() as c:
                seen.append(('dbsize base alone', c.cmd('DBSIZE')))
                c.cmd('SET', 'after', '1')
                seen.append(('dir 4', aof_dir_state(d)))
                seen.append(('info 4', strip_info(info_fields(c))))
            k.stop()
        finally:
            k.kill9()
            shutil.rmtree(d, ignore_errors=True)
        out[binary] = seen
    for (what, a), (_, b) in zip(out[redis_bin()], out[kvsd_bin()]):
        check(a == b, 'diff-off-rewrite %s: redis %r, kvsd %r' % (what, a, b))


def shutdown_reply(c, *args):
    """SHUTDOWN's reply, or 'closed' when the server closed the connection."""
    try:
        r = c.cmd('SHUTDOWN', *args)
    except (OSError, harness.ProtocolError):
        return 'closed'
    return r if r else 'closed'


def scenario_diff_shutdown():
    """SHUTDOWN while CONFIG SET appendonly yes writes the initial AOF (the
    rewrite slowed by rdb-key-save-delay: 30 keys x 200 ms), against
    redis-server 7.0.15: SHUTDOWN and SHUTDOWN NOSAVE are refused ("Writing
    initial AOF, can't exit." in the log) and the server keeps serving;
    SHUTDOWN FORCE exits at once, without waiting for the rewrite. Then a
    plain BGREWRITEAOF with the AOF on: SHUTDOWN abandons it and exits at
    once, and the directory still loads every key."""
    out = {}
    for binary in (redis_bin(), kvsd_bin()):
        name = os.path.basename(binary)
        d = tempfile.mkdtemp(prefix='aof-sws-')
        k = Proc(binary, d, ['--appendonly', 'no', '--rdb-key-save-delay', '200000'])
        seen = []
        try:
            k.start()
            with k.client() as c:
                preload(c, 30)
                seen.append(('set yes', c.cmd('CONFIG', 'SET', 'appendonly', 'yes')))
                seen.append(('shutdown', shutdown_reply(c)))
                seen.append(('shutdown nosave', shutdown_reply(c, 'NOSAVE')))
                seen.append(('ping', c.cmd('PING')))
                seen.append(('info', strip_info(info_fields(c))))
                t0 = time.time()
                seen.append(('shutdown force', shutdown_reply(c, 'FORCE')))
            k.proc.wait(20)
            seen.append(('force exits before the rewrite could end', time.time() - t0 < 4.0))
            seen.append(('exit status', k.proc.returncode))
            log_text = k.log_text()
            seen.append(('logged', ("Writing initial AOF, can't exit." in log_text,
                                    'Writing initial AOF. Exit anyway.' in log_text)))
            k.proc = None
            shutil.rmtree(d, ignore_errors=True)
            os.mkdir(d)
            # the AOF on, a rewrite running: SHUTDOWN abandons it
            k = Proc(binary, d, [])
            k.start()
            with k.client() as c:
                preload(c, 30)
                c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '200000')
                seen.append(('bgrewriteaof', c.cmd('BGREWRITEAOF')))
                time.sleep(0.3)
                t0 = time.time()
                seen.append(('shutdown in rewrite', shutdown_reply(c)))
            k.proc.wait(20)
            seen.append(('exits before the rewrite could end', time.time() - t0 < 4.0))
            seen.append(('exit status 2', k.proc.returncode))
            k.proc = None
            k = Proc(binary, d, [])
            k.start()
            with k.client() as c:
                seen.append(('dbsize after restart', c.cmd('DBSIZE')))
            k.stop()
        finally:
            k.kill9()
            shutil.rmtree(d, ignore_errors=True)
        out[binary] = seen
        log('diff-shutdown %s: %r' % (name, seen))
    for (what, a), (_, b) in zip(out[redis_bin()], out[kvsd_bin()]):
        check(a == b, 'diff-shutdown %s: redis %r, kvsd %r' % (what, a, b))


def scenario_diff_sigterm():
    """SIGTERM while BGREWRITEAOF runs (the rewrite slowed by
    rdb-key-save-delay: 30 keys x 200 ms, about 6 s), with the AOF on and
    with it off, against redis-server 7.0.15, which kills its rewrite child
    and exits: both exit 0 well before the rewrite could end (< 5 s; kvsd
    used to wait for it), log that the rewrite was given up, leave no
    temporary file and the same manifest, and the directory loads every key
    with its value after a restart."""
    out = {}
    for binary in (redis_bin(), kvsd_bin()):
        name = os.path.basename(binary)
        seen = []
        for aof_on in ('yes', 'no'):
            d = tempfile.mkdtemp(prefix='aof-sigterm-')
            k = Proc(binary, d, ['--appendonly', aof_on])
            try:
                k.start()
                with k.client() as c:
                    preload(c, 30)
                    c.cmd('SET', 'last', 'value')
                    c.cmd('CONFIG', 'SET', 'rdb-key-save-delay', '200000')
                    seen.append(('bgrewriteaof ' + aof_on, c.cmd('BGREWRITEAOF')))
                    time.sleep(0.3)
                    seen.append(('in progress', b'aof_rewrite_in_progress:1' in
                                 c.cmd('INFO', 'persistence')))
                t0 = time.time()
                k.proc.send_signal(signal.SIGTERM)
                k.proc.wait(30)
                seen.append(('exits before the rewrite could end', time.time() - t0 < 5.0))
                seen.append(('exit status', k.proc.returncode))
                text = k.log_text()
                seen.append(('logged', 'Killing it!' in text if 'redis' in name
                             else 'Abandoning it!' in text))
                k.proc = None
                ad = os.path.join(d, 'appendonlydir')
                files = sorted(os.listdir(ad)) if os.path.isdir(ad) else []
                seen.append(('no temp file', [f for f in files if 'temp' in f]))
                man = os.path.join(ad, 'appendonly.aof.manifest')
                seen.append(('manifest', open(man).read() if os.path.exists(man) else None))
                k = Proc(binary, d, ['--appendonly', 'yes'])
                k.start()
                with k.client() as c:
                    seen.append(('dbsize after restart', c.cmd('DBSIZE')))
                    seen.append(('values', [c.cmd('GET', 'pre:%d' % i) for i in (0, 7, 29)] +
                                 [c.cmd('GET', 'last')]))
                k.stop()
            finally:
                k.kill9()
                shutil.rmtree(d, ignore_errors=True)
        out[binary] = seen
        log('diff-sigterm %s: %r' % (name, seen))
    for (what, a), (_, b) in zip(out[redis_bin()], out[kvsd_bin()]):
        check(a == b, 'diff-sigterm %s: redis %r, kvsd %r' % (what, a, b))


def main(argv):
    rounds = 3 if not SANITIZED else 2
    names = []
    i = 0
    while i < len(argv):
        if argv[i] == '--rounds':
            rounds = int(argv[i + 1])
            i += 2
        else:
            names.append(argv[i])
            i += 1
    scenarios = {'on': lambda: scenario_on(rounds),
                 # the odd rounds alone: what --rounds 1 on (always) leaves out
                 'on-everysec': lambda: scenario_on(1, first=1),
                 'toggle': lambda: scenario_toggle(rounds),
                 'diff': scenario_diff,
                 'diff-baddir': scenario_diff_baddir,
                 'diff-off-rewrite': scenario_diff_off_rewrite,
                 'diff-shutdown': scenario_diff_shutdown,
                 'diff-sigterm': scenario_diff_sigterm}
    for name in names or [n for n in scenarios if n != 'on-everysec']:
        t0 = time.time()
        scenarios[name]()
        log('%s: %.1f s' % (name, time.time() - t0))
    if failures:
        log('%d failure(s)' % len(failures))
        return 1
    log('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
