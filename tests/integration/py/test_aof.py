"""The append-only file (issue 15): kvsd's incr file against redis-server
7.0.15's for the same commands (byte for byte, absolute times masked),
replay after restart, interop both ways (redis-server loads kvsd's
appendonlydir, kvsd loads redis-server's, redis-check-aof passes),
per-key order under concurrent writers, torn and corrupt tails, and kill -9
under a write load with appendfsync always: every acknowledged write is
present after restart; with everysec, every write acknowledged 2 s before
the kill, and (everysec-bound, through DEBUG AOF-FSYNC, since the page cache
survives kill -9) the fsynced offset never more than 2 s of writes behind,
with an fdatasync about once a second.

Usage: test_aof.py [--crash-iters N] [--without S1,S2...] [scenario ...]: the
named scenarios, or all but those after --without; N (or AOF_CRASH_ITERS,
default 6) is the number of kill -9 iterations (the `long` setup runs 50); AOF_CRASH_FSYNC=no runs them
with replies that do not wait for the log, to see the check fail.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, free_port, log  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        log('FAIL:', what)


class Proc:
    """A server on a directory that outlives it (restarts, kill -9)."""

    def __init__(self, binary, d, extra=()):
        self.binary = binary
        self.dir = d
        self.extra = list(extra)
        self.redis = 'redis-server' in os.path.basename(binary)
        self.proc = None
        self.port = None
        self.logfile = os.path.join(d, 'server.log')

    def start(self, expect_fail=False, timeout=15.0):
        self.port = free_port()
        argv = [self.binary, '--port', str(self.port), '--bind', '127.0.0.1',
                '--dir', self.dir, '--appendonly', 'yes', '--save', '',
                '--enable-debug-command', 'yes', '--logfile', self.logfile]
        if not self.redis:
            argv += ['--threads', '3']
        argv += self.extra
        # stderr: start-up errors, and sanitizer reports (printed when the
        # scenario fails)
        self.errfile = os.path.join(self.dir, 'stderr.%d' % self.port)
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.errfile, 'w'))
        deadline = time.time() + timeout
        pause = harness.poll_pauses()
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(self.errfile, errors='replace') as f:
                    self.stderr = f.read()
                if expect_fail:
                    return False
                # the server's own log says why (redis-server logs there,
                # not to stderr: ci25 saw one exit 0 at start-up, unexplained)
                try:
                    with open(self.logfile, errors='replace') as f:
                        log = ''.join(f.readlines()[-20:])
                except OSError:
                    log = '(no log file)'
                raise RuntimeError('%s exited %d on port %d: %s\nits log:\n%s' % (
                    self.binary, self.proc.returncode, self.port, self.stderr, log))
            try:
                with Client(self.port, timeout=1.0) as c:
                    r = c.cmd('PING') or b''
                    # kvsd answers PING while it loads (redis-server -LOADING):
                    # ready once the load is over (a caller on -NOAUTH waits
                    # for it itself)
                    if r == b'+PONG\r\n' and \
                            harness.still_loading(c.cmd('INFO', 'persistence')):
                        r = b''
                    if r == b'+PONG\r\n' or r.startswith(b'-NOAUTH'):
                        return True
            except OSError:
                pass
            time.sleep(next(pause))
        raise RuntimeError('no PONG')

    def client(self):
        return Client(self.port, timeout=20.0)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if not (self.redis and harness.redis_shutdown(self.port)):
                self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        if self.proc and self.proc.returncode not in (0, None):
            with open(self.errfile, errors='replace') as f:
                text = f.read()
            check(False, '%s exited %d: %s' % (self.binary, self.proc.returncode, text[-3000:]))
        self.proc = None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(20)
        self.proc = None

    def log_text(self):
        try:
            with open(self.logfile, errors='replace') as f:
                return f.read()
        except OSError:
            return ''


def kvsd_bin():
    return os.path.abspath(harness.kvsd_binary())


def redis_bin():
    return harness.redis_binary()


def aofdir(d):
    return os.path.join(d, 'appendonlydir')


def incr_bytes(d):
    with open(os.path.join(aofdir(d), 'appendonly.aof.manifest')) as f:
        names = [ln.split()[1] for ln in f if ' type i' in ln]
    out = b''
    for n in names:
        with open(os.path.join(aofdir(d), n), 'rb') as f:
            out += f.read()
    return out


def split_cmds(data):
    """The stream as a list of argv lists (bytes)."""
    cmds, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 1] == b'*', data[pos:pos + 40]
        e = data.index(b'\r\n', pos)
        argc = int(data[pos + 1:e])
        pos = e + 2
        argv = []
        for _ in range(argc):
            e = data.index(b'\r\n', pos)
            n = int(data[pos + 1:e])
            argv.append(data[e + 2:e + 2 + n])
            pos = e + 2 + n + 2
        cmds.append(argv)
    return cmds


def normalise(cmds, t0, t1):
    """Absolute times produced from relative ones (within [t0, t1 + 1 day])
    become 'T'; RESTORE payloads become 'P' (DUMP bytes are compared by
    test_diff_dump)."""
    out = []
    for argv in cmds:
        a = list(argv)
        for i, x in enumerate(a):
            if re.fullmatch(rb'\d{13}', x) and t0 <= int(x) <= t1 + 86400 * 1000:
                a[i] = b'T'
        if a and a[0].lower() == b'restore':
            a[3] = b'P'
        out.append(a)
    return out


SCRIPT = [
    ['SET', 'plain', 'v'],
    ['SET', 'ex', 'v', 'EX', '100'],
    ['SET', 'nxpxat', 'v', 'NX', 'PXAT', '99999999999999'],
    ['SET', 'ex', 'w', 'PX', '5000', 'GET'],
    ['set', 'lower', 'v', 'xx'],
    ['SETEX', 'se', '100', 'v'],
    ['PSETEX', 'pse', '100000', 'v'],
    ['EXPIRE', 'plain', '100'],
    ['PEXPIRE', 'plain', '200000', 'GT'],
    ['EXPIRE', 'plain', '1', 'GT'],
    ['EXPIREAT', 'plain', '99999999999'],
    ['PEXPIREAT', 'plain', '99999999999999'],
    ['PERSIST', 'plain'],
    ['PERSIST', 'plain'],
    ['GETEX', 'se', 'EX', '50'],
    ['GETEX', 'se', 'PERSIST'],
    ['GETEX', 'se'],
    ['INCRBYFLOAT', 'f', '1.5'],
    ['INCRBYFLOAT', 'f', '2.25'],
    ['HINCRBYFLOAT', 'h', 'fld', '1.25'],
    ['HSET', 'h', 'a', '1', 'b', '2'],
    ['HDEL', 'h', 'zz'],
    ['DEL', 'missing'],
    ['DEL', 'pse', 'missing'],
    ['SADD', 's1', 'only'],
    ['SPOP', 's1'],
    ['SADD', 's2', 'a', 'b', 'c'],
    ['SPOP', 's2', '10'],
    ['RPUSH', 'l', 'a', 'b', 'c', 'd', 'e', 'f', 'g'],
    ['LMPOP', '1', 'l', 'LEFT', 'COUNT', '2'],
    ['BLMPOP', '0', '1', 'l', 'RIGHT', 'COUNT', '2'],
    ['BLPOP', 'nothere', 'l', '0'],
    ['BRPOP', 'l', '0'],
    ['RPUSH', 'l', 'x', 'y'],
    ['BRPOPLPUSH', 'l', 'l2', '0'],
    ['BLMOVE', 'l2', 'l', 'LEFT', 'RIGHT', '0'],
    ['LPOP', 'nothere'],
    ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
    ['ZMPOP', '1', 'z', 'MIN', 'COUNT', '2'],
    ['BZPOPMIN', 'z', '0'],
    ['BZPOPMAX', 'z', '0'],
    ['BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '9'],
    ['ZADD', 'z', 'XX', '1', 'nope'],
    ['INCR', 'n'],
    ['INCRBY', 'n', '5'],
    ['APPEND', 'n', '0'],
    ['SETRANGE', 'n', '0', '9'],
    ['MSET', 'm1', '1', 'm2', '2'],
    ['MSETNX', 'm1', 'x', 'm3', '3'],
    ['RENAME', 'm1', 'm4'],
    ['COPY', 'm4', 'm5'],
    ['SELECT', '2'],
    ['SET', 'in2', 'v'],
    ['MOVE', 'in2', '3'],
    ['SELECT', '0'],
    ['SWAPDB', '2', '3'],
    ['MULTI'], ['SET', 't1', '1'], ['INCR', 't1'], ['GET', 't1'], ['EXEC'],
    ['MULTI'], ['SET', 't2', '1'], ['GET', 't2'], ['EXEC'],
    ['MULTI'], ['GET', 't2'], ['DEL', 'missing'], ['EXEC'],
    ['MULTI'], ['SET', 't3', '1', 'EX', '100'], ['SELECT', '4'], ['SET', 't4', 'x'], ['EXEC'],
    ['SELECT', '0'],
    # scripts (issue 16): their writes, in MULTI/EXEC when several; never the EVAL
    ['EVAL', "redis.call('set', KEYS[1], '1') redis.call('incr', KEYS[1]) return 1", '1', 'sc'],
    ['EVAL', "return redis.call('set', 'sc2', 'v')", '0'],
    ['EVAL', "return redis.call('get', 'sc2')", '0'],
    ['EVAL', "redis.call('select', 5) redis.call('set', 'sc5', 'x') return 1", '0'],
    ['EVAL', "redis.call('set', 'sc3', 'x') error('after a write')", '0'],
    ['PEXPIRE', 'n', '-1'],
    ['SET', 'r', 'payload'],
    ['SETBIT', 'bits', '7', '1'],
    ['PFADD', 'hll', 'a', 'b'],
    ['FLUSHDB'],
    ['SET', 'after', 'flush'],
    ['FLUSHALL'],
    ['SET', 'last', 'v'],
]


def run_script(p):
    with p.client() as c:
        for argv in SCRIPT:
            c.cmd(*argv)


def scenario_propagation():
    """The incr file kvsd writes equals redis-server's, command for command."""
    dk, dr = tempfile.mkdtemp(prefix='aof-k-'), tempfile.mkdtemp(prefix='aof-r-')
    k, r = Proc(kvsd_bin(), dk, ['--appendfsync', 'always']), \
        Proc(redis_bin(), dr, ['--appendfsync', 'always'])
    try:
        k.start()
        r.start()
        t0 = int(time.time() * 1000)
        run_script(k)
        run_script(r)
        t1 = int(time.time() * 1000)
        a = normalise(split_cmds(incr_bytes(dk)), t0, t1)
        b = normalise(split_cmds(incr_bytes(dr)), t0, t1)
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                check(False, 'propagation: command %d: kvsd %r, redis %r' % (i, x, y))
                break
        check(len(a) == len(b), 'propagation: %d commands, redis %d' % (len(a), len(b)))
        log('propagation: %d commands compared' % len(b))
    finally:
        k.stop()
        r.stop()
        shutil.rmtree(dk, ignore_errors=True)
        shutil.rmtree(dr, ignore_errors=True)


SERVED = [
    (['BLPOP', 'q1', '0'], ['RPUSH', 'q1', 'a', 'b']),
    (['BRPOP', 'q2', 'q0', '0'], ['LPUSH', 'q2', 'a', 'b', 'c']),
    (['BLMPOP', '0', '1', 'q3', 'LEFT', 'COUNT', '5'], ['RPUSH', 'q3', 'a', 'b']),
    (['BLMOVE', 'q4', 'd4', 'RIGHT', 'LEFT', '0'], ['RPUSH', 'q4', 'a', 'b']),
    (['BZPOPMIN', 'z1', '0'], ['ZADD', 'z1', '1', 'a', '2', 'b']),
    (['BZMPOP', '0', '1', 'z2', 'MAX', 'COUNT', '3'], ['ZADD', 'z2', '1', 'a', '2', 'b']),
]


def blocked_count(c):
    info = c.cmd('INFO', 'clients')
    m = re.search(rb'blocked_clients:(\d+)', info)
    return int(m.group(1)) if m else -1


def run_served(p):
    """Each blocking command waits first; the push serves it."""
    with p.client() as pusher:
        for block, push in SERVED:
            b = p.client()
            b.send(harness.encode(*block))
            for _ in range(200):
                if blocked_count(pusher) == 1:
                    break
                time.sleep(0.01)
            pusher.cmd(*push)
            b.read_reply()
            b.close()


def scenario_served():
    """A blocked client served by another client's push: the pop is logged
    (as redis-server logs it) and survives a restart."""
    dk, dr = tempfile.mkdtemp(prefix='aof-k-'), tempfile.mkdtemp(prefix='aof-r-')
    k, r = Proc(kvsd_bin(), dk), Proc(redis_bin(), dr)
    try:
        k.start()
        r.start()
        run_served(k)
        run_served(r)
        # everysec: either server may write(2) the last pop just after its
        # reply went out (kvsd's AOF thread; acknowledged writes are bounded
        # by the fsync policy, not ordered before the reply): wait, bounded
        for _ in range(200):
            a, b = split_cmds(incr_bytes(dk)), split_cmds(incr_bytes(dr))
            if a == b:
                break
            time.sleep(0.01)
        check(a == b, 'served: kvsd logged %r, redis %r' % (a, b))
        want = digest(k)
        k.stop()
        k.start()
        check(digest(k) == want, 'served: digest after restart differs')
        check(want == digest(r), 'served: kvsd and redis datasets differ')
    finally:
        k.stop()
        r.stop()
        shutil.rmtree(dk, ignore_errors=True)
        shutil.rmtree(dr, ignore_errors=True)


def fill_random(c, rnd, n=300):
    for i in range(n):
        t = rnd.randrange(7)
        k = 'k%d' % rnd.randrange(60)
        if t == 0:
            c.cmd('SET', k, 'v%d' % i)
        elif t == 1:
            c.cmd('SET', 'x' + k, 'v%d' % i, 'EX', str(rnd.randrange(100, 1000)))
        elif t == 2:
            c.cmd('HSET', 'h' + k, 'f%d' % rnd.randrange(5), str(i))
        elif t == 3:
            c.cmd('RPUSH', 'l' + k, str(i))
        elif t == 4:
            c.cmd('ZADD', 'z' + k, str(rnd.random()), 'm%d' % rnd.randrange(10))
        elif t == 5:
            c.cmd('SADD', 's' + k, str(rnd.randrange(20)))
        else:
            c.cmd('SELECT', str(rnd.randrange(3)))


def digest(p):
    with p.client() as c:
        return c.cmd('DEBUG', 'DIGEST')


def scenario_interop():
    """kvsd's directory loads in redis-server (and passes redis-check-aof)
    with the same DEBUG DIGEST; redis-server's (with an RDB base written by
    BGREWRITEAOF, and incr commands after it) loads in kvsd."""
    rnd = random.Random(15)
    dk = tempfile.mkdtemp(prefix='aof-k-')
    k = Proc(kvsd_bin(), dk)
    try:
        k.start()
        with k.client() as c:
            fill_random(c, rnd)
        want = digest(k)
        k.stop()
        out = subprocess.run(['redis-check-aof',
                              os.path.join(aofdir(dk), 'appendonly.aof.manifest')],
                             capture_output=True, text=True)
        check(out.returncode == 0 and 'All AOF files and manifest are valid' in out.stdout,
              'redis-check-aof on kvsd dir: %s' % out.stdout[-300:])
        r = Proc(redis_bin(), dk)
        r.start()
        got = digest(r)
        r.stop()
        check(got == want, 'redis loads kvsd dir: digest %r, want %r' % (got, want))
        k.start()
        check(digest(k) == want, 'kvsd reloads its dir')
        k.stop()
    finally:
        shutil.rmtree(dk, ignore_errors=True)
    dr = tempfile.mkdtemp(prefix='aof-r-')
    r = Proc(redis_bin(), dr)
    try:
        r.start()
        with r.client() as c:
            fill_random(c, rnd)
            c.cmd('BGREWRITEAOF')
            for _ in range(500):  # 5 s
                info = c.cmd('INFO', 'persistence')
                if b'aof_rewrite_in_progress:0' in info and \
                        b'aof_rewrite_scheduled:0' in info:
                    break
                time.sleep(0.01)
            fill_random(c, rnd, 100)
        want = digest(r)
        r.stop()
        k = Proc(kvsd_bin(), dr)
        k.start()
        got = digest(k)
        k.stop()
        check(got == want, 'kvsd loads redis dir: digest %r, want %r' % (got, want))
    finally:
        shutil.rmtree(dr, ignore_errors=True)


def scenario_order():
    """Several clients write the same few keys at once (SET, APPEND, DEL,
    RPUSH, MULTI/EXEC, MSET across keys); after a restart every key is
    what it was: the file's order per key is the order writes took
    effect."""
    d = tempfile.mkdtemp(prefix='aof-o-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'no'])
    try:
        k.start()

        def writer(seed):
            rnd = random.Random(seed)
            with k.client() as c:
                for i in range(1500):
                    key = 'o%d' % rnd.randrange(6)
                    t = rnd.randrange(8)
                    v = '%d.%d' % (seed, i)
                    if t == 0:
                        c.cmd('SET', key, v)
                    elif t == 1:
                        c.cmd('APPEND', key, v)
                    elif t == 2:
                        c.cmd('DEL', key)
                    elif t == 3:
                        c.cmd('MSET', key, v, 'o%d' % rnd.randrange(6), v)
                    elif t == 4:
                        c.cmd('MULTI')
                        c.cmd('APPEND', key, v)
                        c.cmd('APPEND', 'o%d' % rnd.randrange(6), v)
                        c.cmd('EXEC')
                    elif t == 5:
                        c.cmd('RPUSH', 'L' + key, v)
                    elif t == 6:
                        # expires while the others write it: the DEL of a
                        # lazy or active expiry is ordered with them
                        c.cmd('SET', key, v, 'PX', str(rnd.randrange(1, 20)))
                    else:
                        c.cmd('GET', key)
        ts = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        time.sleep(0.03)  # every short TTL has passed

        def expire_all():
            # DEBUG DIGEST counts an expired key not yet removed (as
            # Redis's): touch every key so both sides have removed them
            with k.client() as c:
                c.cmd('EXISTS', *['o%d' % i for i in range(6)])
        expire_all()
        want = digest(k)
        k.stop()
        k.start()
        expire_all()
        check(digest(k) == want, 'order: digest after restart differs')
        k.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wait_rewrite(c):
    for _ in range(600):
        if b'aof_rewrite_in_progress:0' in c.cmd('INFO', 'persistence'):
            return True
        time.sleep(0.02)
    return False


def scenario_rewrite():
    """BGREWRITEAOF (no fork) while four clients write: the new base is the
    snapshot, the writes after its cut go to the new incr file; after a
    restart the dataset is the same, redis-check-aof passes and redis-server
    loads it to the same digest."""
    d = tempfile.mkdtemp(prefix='aof-w-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'everysec'])
    try:
        k.start()
        stop = threading.Event()

        def writer(seed):
            rnd = random.Random(seed)
            with k.client() as c:
                i = 0
                while not stop.is_set() or i < 300:
                    key = 'w%d' % rnd.randrange(40)
                    t = rnd.randrange(4)
                    if t == 0:
                        c.cmd('SET', key, str(i))
                    elif t == 1:
                        c.cmd('APPEND', key, '.%d' % seed)
                    elif t == 2:
                        c.cmd('RPUSH', 'L' + key, str(i))
                    else:
                        c.cmd('HSET', 'H' + key, 'f%d' % rnd.randrange(3), str(i))
                    i += 1
        ts = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
        for t in ts:
            t.start()
        with k.client() as c:
            time.sleep(0.1)
            r1 = c.cmd('BGREWRITEAOF')
            check(r1 == b'+Background append only file rewriting started\r\n',
                  'rewrite: reply %r' % r1)
            check(wait_rewrite(c), 'rewrite: never finished')
            stop.set()
            for t in ts:
                t.join()
            c.cmd('BGREWRITEAOF')
            check(wait_rewrite(c), 'rewrite: second never finished')
            c.cmd('SET', 'after', 'rewrite')
        want = digest(k)
        k.stop()
        man = open(os.path.join(aofdir(d), 'appendonly.aof.manifest')).read()
        check(man == 'file appendonly.aof.3.base.rdb seq 3 type b\n'
                     'file appendonly.aof.3.incr.aof seq 3 type i\n', 'rewrite: manifest %r' % man)
        check(sorted(os.listdir(aofdir(d))) == ['appendonly.aof.3.base.rdb',
                                                'appendonly.aof.3.incr.aof',
                                                'appendonly.aof.manifest'],
              'rewrite: files %r' % os.listdir(aofdir(d)))
        k.start()
        check(digest(k) == want, 'rewrite: digest after restart differs')
        k.stop()
        out = subprocess.run(['redis-check-aof',
                              os.path.join(aofdir(d), 'appendonly.aof.manifest')],
                             capture_output=True, text=True)
        check(out.returncode == 0, 'rewrite: redis-check-aof: %s' % out.stdout[-300:])
        r = Proc(redis_bin(), d)
        r.start()
        check(digest(r) == want, 'rewrite: redis-server loads a different dataset')
        r.stop()
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_requirepass():
    """The start-up replay needs no password (its connection is the
    server's own) while clients still do."""
    d = tempfile.mkdtemp(prefix='aof-a-')
    k = Proc(kvsd_bin(), d, ['--requirepass', 'sekret', '--appendfsync', 'always'])
    try:
        k.start()
        with k.client() as c:
            c.cmd('AUTH', 'sekret')
            # start() returned on -NOAUTH, which may come before the (empty) load
            # is over: writes then get -LOADING (ci17, a loaded machine: 9 of 50 landed)
            deadline = time.time() + 20
            while harness.still_loading(c.cmd('INFO', 'persistence')) and \
                    time.time() < deadline:
                time.sleep(0.02)
            for i in range(50):
                r = c.cmd('RPUSH', 'l', str(i))
                if r != b':%d\r\n' % (i + 1):
                    check(False, 'requirepass: RPUSH %d: %r' % (i, r))
                    break
        k.stop()
        k.start()
        with k.client() as c:
            check(c.cmd('LLEN', 'l').startswith(b'-NOAUTH'), 'requirepass: no auth needed')
            c.cmd('AUTH', 'sekret')
            # start() returned on -NOAUTH, which comes before -LOADING
            deadline = time.time() + 20
            r = c.cmd('LLEN', 'l')
            while r.startswith(b'-LOADING') and time.time() < deadline:
                time.sleep(0.02)
                r = c.cmd('LLEN', 'l')
            check(r == b':50\r\n', 'requirepass: replay lost writes (%r)' % r)
        k.stop()
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_config():
    """appendfsync set at run time: after CONFIG SET appendfsync always,
    every answered write survives kill -9; appendonly yes again changes
    nothing; the AOF rows read back as set."""
    d = tempfile.mkdtemp(prefix='aof-g-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'no'])
    try:
        k.start()
        with k.client() as c:
            check(c.cmd('CONFIG', 'SET', 'appendfsync', 'always') == b'+OK\r\n',
                  'config: set appendfsync')
            check(c.cmd('CONFIG', 'GET', 'appendfsync') ==
                  b'*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n', 'config: get')
            check(c.cmd('CONFIG', 'SET', 'appendonly', 'yes') == b'+OK\r\n',
                  'config: appendonly yes again')
            check(b'aof_rewrite_in_progress:0' in c.cmd('INFO', 'persistence'),
                  'config: appendonly yes again started a rewrite')
            c.send(b''.join(harness.encode('SET', 'g%d' % i, str(i)) for i in range(300)))
            c.read_replies(300)
        k.kill9()
        k.start()
        with k.client() as c:
            check(c.cmd('DBSIZE') == b':300\r\n', 'config: writes lost after kill -9')
        k.stop()
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def write_cmds(p, n):
    with p.client() as c:
        for i in range(n):
            c.cmd('SET', 'key%d' % i, 'value%d' % i)


def scenario_truncated():
    """A torn last command is cut (logged) with aof-load-truncated yes and
    refused with no; a corrupt byte mid-file is refused naming file and
    offset, whatever aof-load-truncated says."""
    d = tempfile.mkdtemp(prefix='aof-t-')
    try:
        # always: the 20 answered SETs are in the file when kill -9 comes
        k = Proc(kvsd_bin(), d, ['--appendfsync', 'always'])
        k.start()
        write_cmds(k, 20)
        k.kill9()
        incr = os.path.join(aofdir(d), 'appendonly.aof.1.incr.aof')
        good = os.path.getsize(incr)
        with open(incr, 'ab') as f:
            f.write(b'*3\r\n$3\r\nSET\r\n$4\r\nkey9')
        k = Proc(kvsd_bin(), d, ['--aof-load-truncated', 'no'])
        check(not k.start(expect_fail=True), 'truncated, no: kvsd started')
        check('appendonly.aof.1.incr.aof' in k.stderr and 'Unexpected end of file' in k.stderr,
              'truncated, no: message %r' % k.stderr)
        check(os.path.getsize(incr) > good, 'truncated, no: file was changed')
        k = Proc(kvsd_bin(), d, ['--aof-load-truncated', 'yes'])
        k.start()
        with k.client() as c:
            check(c.cmd('DBSIZE') == b':20\r\n', 'truncated, yes: dbsize')
            c.cmd('SET', 'after', 'cut')
        k.stop()
        check('short read' in k.log_text(), 'truncated, yes: no log line')
        k.start()
        with k.client() as c:
            check(c.cmd('GET', 'after') == b'$3\r\ncut\r\n', 'write after a cut tail')
        k.stop()
        with open(incr, 'r+b') as f:
            f.seek(36)  # the '$' of SET's second argument
            f.write(b'#')
        k = Proc(kvsd_bin(), d, ['--aof-load-truncated', 'yes'])
        check(not k.start(expect_fail=True), 'corrupt: kvsd started')
        check('Bad file format' in k.stderr and 'offset 36' in k.stderr,
              'corrupt: message %r' % k.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenario_crash():
    """kill -9 at a random moment under a write load (appendfsync always,
    several clients): every SET that was answered is there after restart."""
    iters = CRASH_ITERS
    d = tempfile.mkdtemp(prefix='aof-c-')
    rnd = random.Random(1515)
    acked = {}
    lock = threading.Lock()
    try:
        # AOF_CRASH_FSYNC=no shows the test failing when replies do not wait
        k = Proc(kvsd_bin(), d, ['--appendfsync', os.environ.get('AOF_CRASH_FSYNC', 'always')])
        for it in range(iters):
            k.start()
            stop = threading.Event()

            def writer(w, it=it, k=k, stop=stop):
                seq = 0
                try:
                    with k.client() as c:
                        while not stop.is_set():
                            key = 'c%d.%d' % (w, seq % 50)
                            val = '%d.%d' % (it, seq)
                            # pipeline of 4: every reply acknowledges its SET
                            c.send(b''.join(harness.encode('SET', key + '.%d' % j, val)
                                            for j in range(4)))
                            for j in range(4):
                                if c.read_reply() != b'+OK\r\n':
                                    return
                                with lock:
                                    acked[key + '.%d' % j] = val
                            seq += 1
                except (OSError, harness.ProtocolError, ConnectionError):
                    pass
            ts = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in ts:
                t.start()
            time.sleep(rnd.uniform(0.05, 0.4))
            with lock:
                snapshot = dict(acked)
                k.kill9()
            stop.set()
            for t in ts:
                t.join()
            k.start()
            missing = 0
            with k.client() as c:
                for key, val in snapshot.items():
                    got = c.cmd('GET', key)
                    # a later, unacknowledged SET of the key may have landed
                    if got is None or not got.startswith(b'$'):
                        missing += 1
                    else:
                        g = got.split(b'\r\n')[1].decode()
                        gi, gs = map(int, g.split('.'))
                        vi, vs = map(int, val.split('.'))
                        if (gi, gs) < (vi, vs):
                            missing += 1
            check(missing == 0, 'crash %d: %d of %d acknowledged writes lost'
                  % (it, missing, len(snapshot)))
            k.kill9()
        log('crash: %d iterations, %d keys checked' % (iters, len(acked)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def manifest_files(d):
    """(base seq, {file name: size}) of the files the manifest names. A
    rewrite that ends between reading the manifest and a file's size
    replaces the manifest and removes the files it no longer names: read
    again (a bounded number of times)."""
    for _ in range(100):
        with open(os.path.join(aofdir(d), 'appendonly.aof.manifest')) as f:
            lines = [ln.split() for ln in f if ln.strip()]
        seq = 0
        sizes = {}
        try:
            for ln in lines:
                name = ln[1]
                if ln[5] == 'b':
                    seq = int(ln[3])
                sizes[name] = os.path.getsize(os.path.join(aofdir(d), name))
        except FileNotFoundError:
            time.sleep(0.01)
            continue
        return seq, sizes
    raise AssertionError('the manifest kept naming files that were gone')


def info_sizes(c):
    info = c.cmd('INFO', 'persistence').decode()
    cur = int(re.search(r'aof_current_size:(\d+)', info).group(1))
    base = int(re.search(r'aof_base_size:(\d+)', info).group(1))
    busy = 'aof_rewrite_in_progress:1' in info
    return cur, base, busy


def wait_until(pred, secs=20.0):
    deadline = time.time() + secs
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def scenario_auto_rewrite():
    """auto-aof-rewrite-percentage / -min-size set at run time (Redis's
    rule): no rewrite under the 64mb default; a small min-size starts one
    (the manifest's base moves on); with percentage 0 none starts; INFO's
    aof_current_size is what the files on disk hold and aof_base_size the
    AOF's size after the rewrite (at start-up: the base file's)."""
    d = tempfile.mkdtemp(prefix='aof-ar-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'everysec'])
    rnd = random.Random(1505)
    # incompressible: the RDB base holds each about as big as its SET in the
    # incr file, so the growths below are what the comments say
    vals = ['%0100x' % rnd.getrandbits(400) for _ in range(700)]
    try:
        k.start()
        with k.client() as c:
            check(c.cmd('CONFIG', 'GET', 'auto-aof-rewrite-*') ==
                  b'*4\r\n$27\r\nauto-aof-rewrite-percentage\r\n$3\r\n100\r\n'
                  b'$25\r\nauto-aof-rewrite-min-size\r\n$8\r\n67108864\r\n',
                  'auto-rewrite: defaults %r' % c.cmd('CONFIG', 'GET', 'auto-aof-rewrite-*'))
            for i in range(200):
                c.cmd('SET', 'a%d' % i, vals[i])

            def files_match():
                cur, base, busy = info_sizes(c)
                return not busy and cur == sum(manifest_files(d)[1].values())
            check(wait_until(files_match), 'auto-rewrite: INFO %r, files %r'
                  % (info_sizes(c), manifest_files(d)))
            check(manifest_files(d)[0] == 1, 'auto-rewrite: rewrote under the 64mb minimum')
            check(c.cmd('CONFIG', 'SET', 'auto-aof-rewrite-min-size', '4kb') == b'+OK\r\n',
                  'auto-rewrite: set min-size')
            check(wait_until(lambda: manifest_files(d)[0] == 2 and files_match()),
                  'auto-rewrite: no rewrite after min-size 4kb: %r' % (manifest_files(d),))
            cur, base, _ = info_sizes(c)
            check(base == cur, 'auto-rewrite: base %d after the rewrite, current %d'
                  % (base, cur))
            # 50 more SETs: about 30% growth, under 100%: no rewrite
            for i in range(50):
                c.cmd('SET', 'b%d' % i, vals[200 + i])
            check(wait_until(files_match), 'auto-rewrite: INFO %r, files %r after more writes'
                  % (info_sizes(c), manifest_files(d)))
            cur2, base2, _ = info_sizes(c)
            check(base2 == base and cur2 > cur and manifest_files(d)[0] == 2,
                  'auto-rewrite: sizes %r then %r, seq %d' % ((cur, base), (cur2, base2),
                                                               manifest_files(d)[0]))
            check(c.cmd('CONFIG', 'SET', 'auto-aof-rewrite-percentage', '0') == b'+OK\r\n',
                  'auto-rewrite: set percentage 0')
            for i in range(400):  # about 250% growth
                c.cmd('SET', 'c%d' % i, vals[250 + i])
            check(wait_until(files_match), 'auto-rewrite: INFO %r, files %r (percentage 0)'
                  % (info_sizes(c), manifest_files(d)))
            time.sleep(0.3)  # several checks (every 100 ms) with growth > 100%
            check(manifest_files(d)[0] == 2, 'auto-rewrite: rewrote with percentage 0')
            c.cmd('CONFIG', 'SET', 'auto-aof-rewrite-percentage', '100')
            check(wait_until(lambda: manifest_files(d)[0] == 3 and files_match()),
                  'auto-rewrite: no rewrite after percentage 100 again: %r'
                  % (manifest_files(d),))
            c.cmd('SET', 'after', 'rewrite')
        want = digest(k)
        k.stop()
        # start-up: current = the files, base = the base file (Redis 7.0)
        k.start()
        with k.client() as c:
            check(digest(k) == want, 'auto-rewrite: digest after restart differs')
            seq, sizes = manifest_files(d)
            cur, base, _ = info_sizes(c)
            check(cur == sum(sizes.values()) and
                  base == sizes['appendonly.aof.%d.base.rdb' % seq],
                  'auto-rewrite: after restart INFO %r, files %r' % ((cur, base), sizes))
        k.stop()
        out = subprocess.run(['redis-check-aof',
                              os.path.join(aofdir(d), 'appendonly.aof.manifest')],
                             capture_output=True, text=True)
        check(out.returncode == 0, 'auto-rewrite: redis-check-aof: %s' % out.stdout[-300:])
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_hold_close():
    """appendfsync always: clients closed (CLIENT KILL) while their replies
    wait for the fsync leave the AOF thread's held list (large values keep
    the fsyncs long, so replies are held often); the server stays up and
    exits cleanly, and what was answered to a survivor is there."""
    d = tempfile.mkdtemp(prefix='aof-hc-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'always'])
    stop = threading.Event()
    try:
        k.start()

        def quitter(w):
            for r in range(40):
                try:
                    with k.client() as c:
                        c.send(b''.join(harness.encode('SET', 'q%d.%d' % (w, j), str(r))
                                        for j in range(20)))
                        c.read_reply()
                except (OSError, harness.ProtocolError, ConnectionError):
                    pass

        def big():
            while not stop.is_set():  # killed too: connects again
                try:
                    with k.client() as c:
                        while not stop.is_set():
                            c.cmd('SET', 'big', 'x' * (2 << 20))
                except (OSError, harness.ProtocolError, ConnectionError):
                    pass

        def killer():
            while not stop.is_set():
                try:
                    with k.client() as c:
                        while not stop.is_set():
                            c.cmd('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
                            time.sleep(0.002)
                except (OSError, harness.ProtocolError, ConnectionError):
                    pass
        ts = [threading.Thread(target=quitter, args=(w,)) for w in range(6)]
        for t in ts:
            t.start()
        bs = [threading.Thread(target=big), threading.Thread(target=killer)]
        for t in bs:
            t.start()
        for t in ts:
            t.join()
        stop.set()
        for t in bs:
            t.join()
        with k.client() as c:
            for i in range(100):
                check(c.cmd('INCR', 'n') == b':%d\r\n' % (i + 1), 'hold-close: INCR')
        k.kill9()
        k.start()
        with k.client() as c:
            check(c.cmd('GET', 'n') == b'$3\r\n100\r\n', 'hold-close: acknowledged INCRs')
        k.stop()
    finally:
        stop.set()
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def fill_types(c, rnd):
    """Every type in both encodings, TTLs, several databases: what a
    command-form base must rebuild (lists, sets, hashes and sorted sets
    longer than 64 elements take several commands)."""
    for db in (0, 5):
        c.cmd('SELECT', str(db))
        c.cmd('SET', 'str', 'v' * 50)
        c.cmd('SET', 'num', '12345')
        c.cmd('SET', 'ttl', 'x', 'EX', '1000')
        c.cmd('RPUSH', 'lsmall', 'a', 'b', '1')
        c.cmd('RPUSH', 'lbig', *['e%d' % i for i in range(200)])
        c.cmd('SADD', 'sint', '1', '2', '-7')
        c.cmd('SADD', 'sintbig', *[str(i) for i in range(150)])
        c.cmd('SADD', 'sstr', *['m%d' % i for i in range(150)])
        c.cmd('ZADD', 'zsmall', '1.5', 'a', '2', 'b', 'inf', 'c', '-inf', 'd', '0.1', 'e')
        c.cmd('ZADD', 'zbig', *sum([[repr(rnd.random() * 100), 'z%d' % i]
                                     for i in range(200)], []))
        # (not -0: no command-form base keeps its sign, Redis's neither: the
        # first ZADD of a reload makes a listpack, which stores it as 0)
        c.cmd('ZADD', 'zbig', '3', 'int')
        c.cmd('HSET', 'hsmall', 'f', 'v', 'g', '1')
        c.cmd('HSET', 'hbig', *sum([['f%d' % i, 'v%d' % i] for i in range(150)], []))
        c.cmd('PEXPIRE', 'hbig', '5000000')
    c.cmd('SELECT', '0')
    fill_random(c, rnd, 200)


def scenario_preamble():
    """aof-use-rdb-preamble no: a new directory starts with an empty
    .base.aof; BGREWRITEAOF writes the dataset as commands into
    appendonly.aof.2.base.aof (the manifest says so); kvsd reloads it,
    redis-check-aof passes, redis-server 7.0.15 loads it to the same DEBUG
    DIGEST; and kvsd loads redis-server's own command-form base."""
    rnd = random.Random(44)
    d = tempfile.mkdtemp(prefix='aof-p-')
    k = Proc(kvsd_bin(), d, ['--aof-use-rdb-preamble', 'no'])
    try:
        k.start()
        man = open(os.path.join(aofdir(d), 'appendonly.aof.manifest')).read()
        check(man == 'file appendonly.aof.1.base.aof seq 1 type b\n'
                     'file appendonly.aof.1.incr.aof seq 1 type i\n',
              'preamble: new manifest %r' % man)
        check(os.path.getsize(os.path.join(aofdir(d), 'appendonly.aof.1.base.aof')) == 0,
              'preamble: the new base is not empty')
        with k.client() as c:
            fill_types(c, rnd)
            c.cmd('BGREWRITEAOF')
            check(wait_rewrite(c), 'preamble: rewrite never finished')
            c.cmd('SET', 'after', 'rewrite')
            c.cmd('DEL', 'str')
        want = digest(k)
        k.stop()
        man = open(os.path.join(aofdir(d), 'appendonly.aof.manifest')).read()
        check(man == 'file appendonly.aof.2.base.aof seq 2 type b\n'
                     'file appendonly.aof.2.incr.aof seq 2 type i\n',
              'preamble: manifest %r' % man)
        with open(os.path.join(aofdir(d), 'appendonly.aof.2.base.aof'), 'rb') as f:
            base = f.read()
        cmds = split_cmds(base)
        names = set(a[0] for a in cmds)
        check(cmds[:1] == [[b'SELECT', b'0']], 'preamble: base starts %r' % base[:40])
        check(names == {b'SELECT', b'SET', b'RPUSH', b'SADD', b'ZADD', b'HMSET', b'PEXPIREAT'},
              'preamble: base commands %r' % names)
        check(max(len(a) for a in cmds) <= 2 + 2 * 64, 'preamble: over 64 elements a command')
        k.start()
        check(digest(k) == want, 'preamble: kvsd reloads another dataset')
        k.stop()
        out = subprocess.run(['redis-check-aof',
                              os.path.join(aofdir(d), 'appendonly.aof.manifest')],
                             capture_output=True, text=True)
        check(out.returncode == 0, 'preamble: redis-check-aof: %s' % out.stdout[-300:])
        r = Proc(redis_bin(), d)
        r.start()
        check(digest(r) == want, 'preamble: redis-server loads another dataset')
        r.stop()
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)
    d = tempfile.mkdtemp(prefix='aof-p-')
    r = Proc(redis_bin(), d, ['--aof-use-rdb-preamble', 'no'])
    try:
        r.start()
        with r.client() as c:
            fill_types(c, rnd)
            c.cmd('BGREWRITEAOF')
            check(wait_rewrite(c), 'preamble: redis rewrite never finished')
            time.sleep(0.1)
            c.cmd('SET', 'after', 'rewrite')
        want = digest(r)
        r.stop()
        check(any(n.endswith('.base.aof') and os.path.getsize(os.path.join(aofdir(d), n)) > 0
                  for n in os.listdir(aofdir(d))), 'preamble: redis wrote no command base')
        k = Proc(kvsd_bin(), d)
        k.start()
        check(digest(k) == want, 'preamble: kvsd loads redis\'s command base differently')
        k.stop()
    finally:
        r.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_everysec():
    """appendfsync everysec, kill -9 under a write load: every write
    acknowledged more than 2 s before the kill is there after restart (the
    bounded loss Redis documents: about 2 s)."""
    d = tempfile.mkdtemp(prefix='aof-e-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'everysec'])
    try:
        k.start()
        acked = []  # (time acknowledged, seq)
        with k.client() as c:
            start, seq = time.time(), 0
            while time.time() - start < 3.0:
                c.send(b''.join(harness.encode('SET', 'e%d' % (seq + j), str(seq + j))
                                for j in range(8)))
                c.read_replies(8)
                now = time.time()
                acked.extend((now, seq + j) for j in range(8))
                seq += 8
            killed = time.time()
            k.kill9()
        k.start()
        old = [s for t, s in acked if t < killed - 2.0]
        with k.client() as c:
            got = c.cmd('DBSIZE')
            n = int(got[1:-2])
            missing = []
            for i in range(0, len(old), 1000):
                part = old[i:i + 1000]
                if c.cmd('EXISTS', *['e%d' % s for s in part]) != b':%d\r\n' % len(part):
                    missing += [s for s in part if c.cmd('EXISTS', 'e%d' % s) != b':1\r\n']
        check(len(old) > 0, 'everysec: nothing acknowledged 2 s before the kill')
        check(not missing, 'everysec: %d of %d writes older than 2 s lost (first e%d)'
              % (len(missing), len(old), missing[0] if missing else -1))
        log('everysec: %d acknowledged, %d older than 2 s, %d after restart'
            % (len(acked), len(old), n))
        k.stop()
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def aof_fsync(c):
    """DEBUG AOF-FSYNC as a dict: appended, written, fsynced, fsyncs."""
    v = harness.parse(c.cmd('DEBUG', 'AOF-FSYNC'))
    return {v[i].decode(): v[i + 1] for i in range(0, len(v), 2)}


def scenario_everysec_bound():
    """appendfsync everysec's loss bound, which kill -9 cannot show (the page
    cache keeps what was written): under a steady write load, sampled every
    50 ms, the offset the last fdatasync covered is never behind what was
    appended 2 s before, and fdatasync runs about once a second (Redis's
    bound: a crash loses at most about 2 s of writes). With the fdatasync
    left out of the AOF thread this fails."""
    d = tempfile.mkdtemp(prefix='aof-eb-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'everysec'])
    stop = threading.Event()

    def writer():
        with k.client() as c:
            seq = 0
            while not stop.is_set() and seq < 10 ** 7:
                c.send(b''.join(harness.encode('SET', 'b%d' % (seq + j), 'x' * 20)
                                for j in range(16)))
                c.read_replies(16)
                seq += 16
                time.sleep(0.001)  # steady, not flat out

    try:
        k.start()
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        samples = []  # (time, appended, written, fsynced, fsyncs)
        with k.client() as c:
            start = time.time()
            while time.time() - start < 4.5:
                f = aof_fsync(c)
                samples.append((time.time(), f['appended'], f['written'], f['fsynced'],
                                f['fsyncs']))
                time.sleep(0.05)
        stop.set()
        t.join(20)
        lag = []
        for (ts, app, wr, fs, n) in samples:
            old = [a for (t0, a, _, _, _) in samples if t0 <= ts - 2.0]
            if old:
                lag.append(old[-1] - fs)  # > 0: appended 2 s ago, not yet fsynced
            check(wr <= app and fs <= wr, 'everysec-bound: offsets out of order %r'
                  % ((app, wr, fs),))
        check(len(lag) >= 20, 'everysec-bound: %d samples 2 s apart' % len(lag))
        check(max(lag) <= 0, 'everysec-bound: the fsynced offset was %d bytes behind what '
              'was appended 2 s before' % max(lag))
        # fdatasyncs over the samples after the first second: about 1 a second
        first = [x for x in samples if x[0] >= samples[0][0] + 1.0][0]
        last = samples[-1]
        span, nfs = last[0] - first[0], last[4] - first[4]
        check(span - 1.5 <= nfs <= span + 1.5, 'everysec-bound: %d fdatasyncs in %.1f s'
              % (nfs, span))
        check(last[1] > samples[0][1] + 100000, 'everysec-bound: no write load (%d bytes)'
              % (last[1] - samples[0][1]))
        log('everysec-bound: %d bytes appended, %d fdatasyncs in %.1f s, worst lag vs 2 s '
            'before %d bytes' % (last[1] - samples[0][1], nfs, span, max(lag)))
        k.stop()
    finally:
        stop.set()
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_always_bound():
    """appendfsync always, group commit at the workers' batch ends: no reply
    leaves before the fdatasync that covers its record. Eight clients on
    three workers each read DEBUG AOF-FSYNC, SET a key, and read it again:
    the SET's record ends at least `len(record)` bytes after the offset
    appended before it, so the offset fsynced when its reply has arrived
    must reach that far (with appendfsync no, AOF_BOUND_FSYNC=no, it does
    not: the check fails). Then one client pipelines 200 SETs in one write:
    one batch of one worker, covered by few fdatasyncs (not one each)."""
    fsync = os.environ.get('AOF_BOUND_FSYNC', 'always')
    d = tempfile.mkdtemp(prefix='aof-ab-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', fsync])
    bad = []
    try:
        k.start()

        def client(w):
            with k.client() as c:
                for i in range(60):
                    key, val = 'ab%d.%d' % (w, i), 'v' * (i % 7)
                    rec = len(harness.encode('SET', key, val))
                    before = aof_fsync(c)['appended']
                    if c.cmd('SET', key, val) != b'+OK\r\n':
                        bad.append('SET failed')
                    after = aof_fsync(c)['fsynced']
                    if after < before + rec:
                        bad.append((w, i, before + rec, after))
        ts = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(not bad, 'always-bound: replies before their fsync: %r' % bad[:5])
        with k.client() as c:
            f0 = aof_fsync(c)['fsyncs']
            c.send(b''.join(harness.encode('SET', 'p%d' % i, 'v') for i in range(200)))
            replies = c.read_replies(200)
            check(all(r == b'+OK\r\n' for r in replies), 'always-bound: pipeline replies')
            n = aof_fsync(c)['fsyncs'] - f0
            log('always-bound: 200 pipelined SETs, %d fdatasync(s)' % n)
            if fsync == 'always':
                check(1 <= n <= 50, 'always-bound: 200 pipelined SETs took %d fdatasyncs' % n)
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def info_fields(c, section='persistence'):
    """INFO section as a dict of str -> str."""
    out = {}
    for line in c.cmd('INFO', section).decode(errors='replace').split('\r\n'):
        if ':' in line and not line.startswith('$'):
            k, v = line.split(':', 1)
            out[k] = v
    return out


def scenario_group():
    """appendfsync always, the group commit's counters (INFO kvsd's
    aof_gc_records ... aof_gc_wake_passes): 16 clients on three workers write in a
    loop at pipeline 1, some mixing GETs in (they come back without a
    record), four closing half-way (released, never back): once every reply
    has arrived, every record is covered by an fdatasync (aof_fsync_records
    == aof_records: with AOF_GROUP_FSYNC=no it is not, the check fails),
    every held reply was woken, fdatasyncs are fewer than records, and a
    reply read back says what was written."""
    fsync = os.environ.get('AOF_GROUP_FSYNC', 'always')
    d = tempfile.mkdtemp(prefix='aof-gr-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', fsync])
    bad = []
    n_clients, n_ops = 16, 40
    try:
        k.start()
        with k.client() as c:
            f0 = info_fields(c, 'kvsd')

        def client(w):
            with k.client() as c:
                for i in range(n_ops if w >= 4 else n_ops // 2):
                    key = 'gr%d' % w
                    if c.cmd('SET', key, str(i)) != b'+OK\r\n':
                        bad.append((w, i, 'SET'))
                    if w % 3 == 0 and c.cmd('GET', key) != b'$%d\r\n%d\r\n' % (len(str(i)), i):
                        bad.append((w, i, 'GET'))
        ts = [threading.Thread(target=client, args=(w,)) for w in range(n_clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        check(not bad, 'group: wrong replies %r' % bad[:5])
        with k.client() as c:
            f = info_fields(c, 'kvsd')
        sets = 12 * n_ops + 4 * (n_ops // 2)
        g = {'aof_' + x[7:]: int(f.get(x, -1)) - int(f0.get(x, 0)) for x in (
            'aof_gc_records', 'aof_gc_writes', 'aof_gc_fsyncs', 'aof_gc_fsync_records',
            'aof_gc_replies_held', 'aof_gc_held_woken', 'aof_gc_wake_passes',
            'aof_gc_inline_commits')}
        log('group: %r' % g)
        check(g['aof_records'] == sets, 'group: %d records for %d SETs'
              % (g['aof_records'], sets))
        check(g['aof_fsync_records'] == g['aof_records'],
              'group: %d of %d acknowledged records covered by an fdatasync'
              % (g['aof_fsync_records'], g['aof_records']))
        check(0 < g['aof_fsyncs'] < sets and g['aof_writes'] >= g['aof_fsyncs'],
              'group: %d fdatasyncs, %d writes for %d SETs'
              % (g['aof_fsyncs'], g['aof_writes'], sets))
        check(g['aof_held_woken'] == g['aof_replies_held'] and
              g['aof_wake_passes'] <= g['aof_fsyncs'],
              'group: %d replies held, %d woken in %d passes'
              % (g['aof_replies_held'], g['aof_held_woken'], g['aof_wake_passes']))
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def gc_delta(f0, f1):
    """aof_gc_* counters of INFO kvsd between two readings, without the prefix."""
    return {x[7:]: int(f1[x]) - int(f0.get(x, 0)) for x in f1 if x.startswith('aof_gc_')}


def scenario_group_wait():
    """appendfsync always, the group wait (aof-group-wait-us, server/aof.h
    "Group wait"), checked by counting, not timing. Off by default; with
    the bound at 1000 us a lone client doing sequential SETs never waits: aof_gc_group_waits stays 0 and every SET has
    an fdatasync of its own. With the bound at 0 (CONFIG SET) eight
    concurrent clients never wait. With it on, once seven of them go idle
    (connected, released, never back) the eighth's 100 SETs wait at most
    twice (an expectation is dropped after two wake passes; a pass that
    released one client starts no wait), not once per SET. Acknowledged writes of eight concurrent
    clients, which do wait for each other, are all there after kill -9
    (AOF_GW_FSYNC=no: with appendfsync no they need not be, and the lone
    client's fdatasync count fails)."""
    fsync = os.environ.get('AOF_GW_FSYNC', 'always')
    d = tempfile.mkdtemp(prefix='aof-gw-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', fsync])
    n = 100
    try:
        k.start()
        with k.client() as c:
            check(c.cmd('CONFIG', 'GET', 'aof-group-wait-us') ==
                  b'*2\r\n$17\r\naof-group-wait-us\r\n$1\r\n0\r\n',
                  'group-wait: default bound is not 0 (off)')
            check(c.cmd('CONFIG', 'SET', 'aof-group-wait-us', '1000') == b'+OK\r\n',
                  'group-wait: CONFIG SET aof-group-wait-us 1000')
            f0 = info_fields(c, 'kvsd')
            for i in range(n):
                c.cmd('SET', 'lone%d' % i, 'v')
            g = gc_delta(f0, info_fields(c, 'kvsd'))
        log('group-wait: lone client %r' % {x: g[x] for x in (
            'records', 'fsyncs', 'group_waits', 'group_timeouts')})
        check(g['group_waits'] == 0, 'group-wait: a lone client waited %d times'
              % g['group_waits'])
        check(g['records'] == n and g['fsyncs'] == n,
              'group-wait: lone client, %d records, %d fdatasyncs for %d SETs'
              % (g['records'], g['fsyncs'], n))

        with k.client() as c:
            check(c.cmd('CONFIG', 'SET', 'aof-group-wait-us', '0') == b'+OK\r\n',
                  'group-wait: CONFIG SET aof-group-wait-us 0')
            f0 = info_fields(c, 'kvsd')
        acked = []

        def client(w, tag):
            with k.client() as c:
                for i in range(30):
                    key = 'gw:%s:%d:%d' % (tag, w, i)
                    if c.cmd('SET', key, key) == b'+OK\r\n':
                        acked.append(key)
        ts = [threading.Thread(target=client, args=(w, 'off')) for w in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        with k.client() as c:
            g = gc_delta(f0, info_fields(c, 'kvsd'))
            check(g['group_waits'] == 0, 'group-wait: %d waits with the bound at 0'
                  % g['group_waits'])
            c.cmd('CONFIG', 'SET', 'aof-group-wait-us', '1000')
            f0 = info_fields(c, 'kvsd')
        # the same with the bound on; then seven stay connected but idle
        # (released, expected back, never back) while the eighth goes on
        # alone: at most two waits of its 100 SETs
        idle, done7, lone = threading.Event(), threading.Semaphore(0), {}

        def waiter(w):
            client(w, 'on')
            with k.client() as c:  # a fresh connection keeps nothing held
                pass
            done7.release()
            idle.wait(60)

        def loner():
            with k.client() as c:
                for i in range(30):
                    key = 'gw:on:0:%d' % i
                    if c.cmd('SET', key, key) == b'+OK\r\n':
                        acked.append(key)
                for _ in range(7):
                    done7.acquire(timeout=60)
                with k.client() as c2:
                    g0 = info_fields(c2, 'kvsd')
                for i in range(n):
                    c.cmd('SET', 'gw:lone', str(i))
                with k.client() as c2:
                    lone['g'] = gc_delta(g0, info_fields(c2, 'kvsd'))
            idle.set()
        ts = [threading.Thread(target=waiter, args=(w,)) for w in range(1, 8)]
        ts.append(threading.Thread(target=loner))
        for t in ts:
            t.start()
        for t in ts:
            t.join(90)
        with k.client() as c:
            g = gc_delta(f0, info_fields(c, 'kvsd'))
        log('group-wait: 8 clients %r' % {x: g[x] for x in (
            'records', 'fsyncs', 'group_waits', 'group_timeouts', 'group_wait_us')})
        g = lone.get('g', {})
        log('group-wait: then one alone %r' % {x: g.get(x) for x in (
            'records', 'fsyncs', 'group_waits', 'group_timeouts')})
        check(g.get('group_waits', 99) <= 2,
              'group-wait: clients gone idle made the last one wait %s times in %d SETs'
              % (g.get('group_waits'), n))
        check(g.get('fsyncs') == n, 'group-wait: the last client alone had %s fdatasyncs '
              'for %d SETs' % (g.get('fsyncs'), n))
        check(len(acked) == 8 * 60, 'group-wait: %d of %d SETs acknowledged'
              % (len(acked), 8 * 60))
        k.kill9()
        k.start()
        with k.client() as c:
            lost = [key for key in acked if c.cmd('GET', key) != b'$%d\r\n%s\r\n' % (len(key), key.encode())]
        check(not lost, 'group-wait: %d acknowledged SETs lost after kill -9: %r'
              % (len(lost), lost[:5]))
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)


def scenario_big_base():
    """An RDB base over 1 MB loads on every worker (the parallel load of
    persist/rdb_file.c, as dump.rdb): the same digest after the restart;
    a byte flipped inside it stops the start-up naming the file."""
    d = tempfile.mkdtemp(prefix='aof-bb-')
    k = Proc(kvsd_bin(), d, ['--appendfsync', 'no'])
    try:
        k.start()
        with k.client() as c:
            n = 60000  # values under 20 bytes: not LZF-compressed
            for s0 in range(0, n, 1000):
                args = []
                for i in range(s0, s0 + 1000):
                    args += ['big:%d' % i, '%018d' % (i * 7919)]
                c.send(harness.encode('MSET', *args))
            c.read_replies(n // 1000)
            c.cmd('RPUSH', 'lst', *[str(i) for i in range(2000)])
            c.cmd('BGREWRITEAOF')
            deadline = time.time() + 60
            while b'aof_rewrite_in_progress:1' in c.cmd('INFO', 'persistence') and \
                    time.time() < deadline:
                time.sleep(0.01)
            c.cmd('INCR', 'after')  # in the incr file
            want = c.cmd('DEBUG', 'DIGEST')
        k.stop()
        base = [f for f in os.listdir(aofdir(d)) if '.base.rdb' in f][0]
        size = os.path.getsize(os.path.join(aofdir(d), base))
        check(size > 1 << 20, 'big-base: the base has %d bytes, not over 1 MB' % size)
        k.start()
        with k.client() as c:
            check(c.cmd('DEBUG', 'DIGEST') == want, 'big-base: another dataset after restart')
        k.stop()
        with open(os.path.join(aofdir(d), base), 'r+b') as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0xff]))
        check(k.start(expect_fail=True) is False, 'big-base: a corrupt base loaded')
        check(base in k.log_text(), 'big-base: the error does not name %s' % base)
    finally:
        k.kill9()
        shutil.rmtree(d, ignore_errors=True)


SCENARIOS = {
    'propagation': scenario_propagation,
    'served': scenario_served,
    'interop': scenario_interop,
    'order': scenario_order,
    'truncated': scenario_truncated,
    'requirepass': scenario_requirepass,
    'config': scenario_config,
    'rewrite': scenario_rewrite,
    'crash': scenario_crash,
    'auto-rewrite': scenario_auto_rewrite,
    'hold-close': scenario_hold_close,
    'everysec': scenario_everysec,
    'everysec-bound': scenario_everysec_bound,
    'big-base': scenario_big_base,
    'always-bound': scenario_always_bound,
    'group': scenario_group,
    'group-wait': scenario_group_wait,
    'preamble': scenario_preamble,
}


CRASH_ITERS = int(os.environ.get('AOF_CRASH_ITERS', '6'))


def main():
    global CRASH_ITERS
    args = sys.argv[1:]
    without = []
    while args[:1] in (['--crash-iters'], ['--without']):
        if args[0] == '--crash-iters':
            CRASH_ITERS = int(args[1])
        else:
            without = args[1].split(',')
            for n in without:
                if n not in SCENARIOS:
                    sys.exit('test_aof.py: no scenario %r' % n)
        args = args[2:]
    names = args or [n for n in SCENARIOS if n not in without]
    for n in names:
        t = time.time()
        SCENARIOS[n]()
        log('%s: %.1f s' % (n, time.time() - t))
    if failures:
        log('%d failure(s)' % len(failures))
        sys.exit(1)
    log('ok')


if __name__ == '__main__':
    main()
