"""The start-up load while clients are served (issue 15): with Redis's
key-load-delay making the load last about a second, kvsd and redis-server
7.0.15 load the same dump.rdb and answer the same commands with the same
bytes (-LOADING for what Redis refuses while loading, the rest as usual);
INFO persistence shows loading:1 and Redis's loading_* fields in its order;
then the whole dataset is there. kvsd alone: a corrupt file gives clients
-LOADING and then the process exits 1 naming the file and byte offset;
SHUTDOWN SAVE and SIGTERM during the load exit 0 without writing the file;
CLIENT KILL works; an AOF directory (RDB base + incr file) loads the same
way with appendonly yes.

Usage: test_loading.py [scenario ...]
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, encode, free_port, log  # noqa: E402

failures = []
KEYS = 3000
# microseconds per key: at least KEYS * DELAY = 0.9 s of loading (sleeps
# overshoot, so about 1-2 s), long enough to look at it
DELAY = 300
LOADING = b'-LOADING Redis is loading the dataset in memory\r\n'


def check(name, cond, what):
    if not cond:
        failures.append('%s: %s' % (name, what))
        log('FAIL %s: %s' % (name, what))


class Loader:
    """A server started on a directory holding a dataset, slowed by
    key-load-delay; start() returns once it answers anything (-LOADING)."""

    def __init__(self, binary, d, extra=()):
        self.binary = binary
        self.dir = d
        self.redis = 'redis-server' in os.path.basename(binary)
        self.extra = list(extra)
        self.proc = None

    def start(self, delay=DELAY, timeout=15.0):
        self.port = free_port()
        argv = [self.binary, '--port', str(self.port), '--bind', '127.0.0.1', '--dir', self.dir,
                '--save', '', '--key-load-delay', str(delay),
                '--loading-process-events-interval-bytes', '1024',
                '--enable-debug-command', 'yes']
        if self.redis:
            argv += ['--appendonly', 'no']
        else:
            argv += ['--threads', '2']
        argv += self.extra
        self.errfile = os.path.join(self.dir, 'stderr.%d' % self.port)
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.errfile, 'w'))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return None
            try:
                with Client(self.port, timeout=2.0) as c:
                    r = c.cmd('PING')
                    if r:
                        return r
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError('%s did not answer within %.0f s' % (self.binary, timeout))

    def stderr(self):
        with open(self.errfile, errors='replace') as f:
            return f.read()

    def wait_loaded(self, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with Client(self.port) as c:
                if info_fields(c).get('loading') == '0':
                    return True
            time.sleep(0.01)
        return False

    def wait_exit(self, timeout=30.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.wait_exit(20)


def info_fields(c, section='persistence'):
    raw = c.cmd('INFO', section) or b''
    body = raw.split(b'\r\n', 1)[1] if raw.startswith(b'$') else b''
    out = {}
    for line in body.decode(errors='replace').split('\r\n'):
        if ':' in line and not line.startswith('#'):
            k, v = line.split(':', 1)
            out[k] = v
    return out


def info_names(c):
    raw = c.cmd('INFO', 'persistence') or b''
    return [ln.split(b':', 1)[0] for ln in raw.split(b'\r\n')[1:] if b':' in ln]


def make_dataset(d):
    """redis-server writes d/dump.rdb: KEYS strings and one of each collection."""
    rb = harness.redis_server(['--dir', d, '--enable-debug-command', 'yes']).start()
    try:
        with rb.client() as c:
            c.send(b''.join(encode('SET', 'key:%d' % i, 'value-%d' % i) for i in range(KEYS)))
            c.read_replies(KEYS)
            c.cmd('HSET', 'h', 'a', '1', 'b', '2')
            c.cmd('RPUSH', 'l', 'x', 'y', 'z')
            c.cmd('SADD', 's', 'm1', 'm2')
            c.cmd('ZADD', 'z', '1', 'one', '2', 'two')
            c.cmd('SET', 'ttl', 'v', 'PX', '100000000')
            c.cmd('SAVE')
            want = {'dbsize': c.cmd('DBSIZE'), 'digest': c.cmd('DEBUG', 'DIGEST')}
    finally:
        rb.stop()
    return want


# commands sent while loading: Redis refuses those without its `loading`
# flag; the rest answer as usual (replies that differ by nature are left out)
DURING = [
    ('PING',), ('GET', 'key:1'), ('SET', 'a', 'b'), ('DBSIZE',), ('KEYS', 'nomatch*'),
    ('EXISTS', 'key:1'), ('FLUSHALL',), ('SAVE',), ('BGSAVE',), ('BGREWRITEAOF',),
    ('CONFIG', 'SET', 'appendonly', 'yes'), ('CONFIG', 'SET', 'maxclients', '1000'),
    ('CONFIG', 'GET', 'key-load-delay'), ('ECHO', 'hi'), ('SELECT', '1'), ('SELECT', '0'),
    ('MULTI',), ('SET', 'x', '1'), ('PING',), ('EXEC',), ('CLIENT', 'SETNAME', 'n'),
    ('CLIENT', 'GETNAME'), ('MEMORY', 'USAGE', 'key:1'), ('DEBUG', 'DIGEST-VALUE', 'x'),
    ('TYPE', 'h'), ('HELLO', '3'), ('PING',), ('HELLO', '2'), ('AUTH', 'x'),
    ('COMMAND', 'INFO', 'get'), ('SLOWLOG', 'LEN'), ('OBJECT', 'FREQ', 'key:1'),
]


def during(server, c):
    """The replies to DURING, INFO persistence while loading, and whether it
    was still loading after them."""
    # HELLO's client id differs by nature
    replies = [re.sub(rb'\$2\r\nid\r\n:\d+\r\n', b'<id>', c.cmd(*a) or b'') for a in DURING]
    names = info_names(c)
    fields = info_fields(c)
    still = info_fields(c).get('loading') == '1'
    return replies, names, fields, still


def sc_rdb_vs_redis():
    name = 'rdb-vs-redis'
    tmp = tempfile.mkdtemp(prefix='kvsd-loading-')
    try:
        want = make_dataset(tmp)
        size = os.path.getsize(os.path.join(tmp, 'dump.rdb'))
        res = {}
        for label, binary in (('redis', harness.redis_binary()),
                              ('kvsd', harness.kvsd_binary())):
            d = os.path.join(tmp, label)
            os.mkdir(d)
            shutil.copy(os.path.join(tmp, 'dump.rdb'), d)
            s = Loader(binary, d)
            try:
                first = s.start()
                check(name, first == LOADING, '%s: first PING got %r' % (label, first))
                with Client(s.port) as c:
                    res[label] = during(label, c)
                    check(name, res[label][3], '%s finished loading before the checks ended '
                          '(raise DELAY)' % label)
                check(name, s.wait_loaded(), '%s: still loading after 60 s' % label)
                with Client(s.port) as c:
                    check(name, c.cmd('DBSIZE') == want['dbsize'],
                          '%s: DBSIZE after the load' % label)
                    check(name, c.cmd('DEBUG', 'DIGEST') == want['digest'],
                          '%s: DEBUG DIGEST after the load' % label)
                    check(name, c.cmd('PING') == b'+PONG\r\n', '%s: PING after the load' % label)
                    f = info_fields(c)
                    check(name, f.get('loading') == '0' and 'loading_start_time' not in f,
                          '%s: INFO after the load: %r' % (label, f.get('loading')))
                    check(name, f.get('rdb_last_load_keys_loaded') == str(KEYS + 5),
                          '%s: rdb_last_load_keys_loaded %r' % (label,
                                                                 f.get('rdb_last_load_keys_loaded')))
            finally:
                s.stop()
        if len(res) != 2:
            return
        (ra, na, fa, _), (rb, nb, fb, _) = res['kvsd'], res['redis']
        for i, a in enumerate(DURING):
            check(name, ra[i] == rb[i], '%s: kvsd %s, redis %s' % (
                ' '.join(a), harness.escape(ra[i]), harness.escape(rb[i])))
        check(name, na == nb, 'INFO persistence names while loading:\n kvsd %r\n redis %r' %
              (na, nb))
        for label, f in (('kvsd', fa), ('redis', fb)):
            check(name, f.get('loading') == '1' and f.get('async_loading') == '0',
                  '%s: loading %r' % (label, f.get('loading')))
            check(name, f.get('loading_total_bytes') == str(size),
                  '%s: loading_total_bytes %r, file %d' % (label, f.get('loading_total_bytes'),
                                                           size))
            loaded = int(f.get('loading_loaded_bytes', '-1'))
            check(name, 0 <= loaded <= size, '%s: loading_loaded_bytes %d' % (label, loaded))
            perc = f.get('loading_loaded_perc', '')
            check(name, perc == '%.2f' % (100.0 * loaded / size),
                  '%s: loading_loaded_perc %r for %d of %d' % (label, perc, loaded, size))
            check(name, f.get('loading_eta_seconds', '').isdigit(), '%s: eta' % label)
            check(name, abs(int(f.get('loading_start_time', '0')) - time.time()) < 120,
                  '%s: loading_start_time' % label)
        check(name, fa.get('loading_rdb_used_mem') == fb.get('loading_rdb_used_mem'),
              'loading_rdb_used_mem: kvsd %r, redis %r (the file\'s used-mem)' % (
                  fa.get('loading_rdb_used_mem'), fb.get('loading_rdb_used_mem')))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def kvsd_dataset(d, n=KEYS):
    """kvsd writes d/dump.rdb with n keys."""
    ka = harness.kvsd_server(['--dir', d]).start()
    with ka.client() as c:
        c.send(b''.join(encode('SET', 'key:%d' % i, 'value-%d' % i) for i in range(n)))
        c.read_replies(n)
        c.cmd('SAVE')
    ka.stop()


def sc_corrupt():
    name = 'corrupt'
    tmp = tempfile.mkdtemp(prefix='kvsd-loading-')
    try:
        kvsd_dataset(tmp)
        path = os.path.join(tmp, 'dump.rdb')
        with open(path, 'rb') as f:
            data = bytearray(f.read())
        data[len(data) - 40] ^= 0x5a  # in the last keys: found at the end
        with open(path, 'wb') as f:
            f.write(data)
        s = Loader(harness.kvsd_binary(), tmp)
        first = s.start()
        check(name, first == LOADING, 'first PING got %r' % (first,))
        replies = []
        try:
            with Client(s.port) as c:
                while s.proc.poll() is None and len(replies) < 2000:
                    r = c.cmd('GET', 'key:1')
                    if r is None:
                        break
                    replies.append(r)
                    time.sleep(0.01)
        except OSError:
            pass
        code = s.wait_exit()
        check(name, code == 1, 'exit status %r' % (code,))
        check(name, replies and all(r == LOADING for r in replies),
              'replies while loading a corrupt file: %r' % (set(replies),))
        err = s.stderr()
        check(name, 'dump.rdb at byte ' in err, 'stderr names no file and offset: %r' % err[-300:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sc_shutdown():
    name = 'shutdown'
    tmp = tempfile.mkdtemp(prefix='kvsd-loading-')
    try:
        kvsd_dataset(tmp)
        path = os.path.join(tmp, 'dump.rdb')
        with open(path, 'rb') as f:
            before = f.read()
        mtime = os.stat(path).st_mtime_ns
        # SHUTDOWN SAVE while loading: no reply, no save, exit 0 (as Redis)
        s = Loader(harness.kvsd_binary(), tmp, ['--save', '3600 1'])
        check(name, s.start() == LOADING, 'not loading at start')
        with Client(s.port) as c:
            r = c.cmd('SHUTDOWN', 'SAVE')
            check(name, r is None, 'SHUTDOWN SAVE answered %r' % (r,))
        code = s.wait_exit(10)
        check(name, code == 0, 'SHUTDOWN during the load: exit %r' % (code,))
        with open(path, 'rb') as f:
            check(name, f.read() == before and os.stat(path).st_mtime_ns == mtime,
                  'dump.rdb was rewritten by a shutdown during the load')
        # SIGTERM while loading: the same
        s = Loader(harness.kvsd_binary(), tmp)
        check(name, s.start() == LOADING, 'not loading at start (2)')
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        code = s.wait_exit(10)
        check(name, code == 0, 'SIGTERM during the load: exit %r' % (code,))
        check(name, time.time() - t0 < 5, 'SIGTERM waited for the load to finish')
        with open(path, 'rb') as f:
            check(name, f.read() == before, 'dump.rdb changed after SIGTERM')
        # CLIENT KILL while loading: the other connection closes, as Redis
        s = Loader(harness.kvsd_binary(), tmp)
        check(name, s.start() == LOADING, 'not loading at start (3)')
        try:
            with Client(s.port) as victim, Client(s.port) as c:
                vid = victim.cmd('CLIENT', 'ID')
                r = c.cmd('CLIENT', 'KILL', 'ID', vid[1:-2].decode())
                check(name, r == b':1\r\n', 'CLIENT KILL ID answered %r' % (r,))
                _, closed = victim.read_until_eof(5)
                check(name, closed, 'the killed connection stayed open')
                check(name, info_fields(c).get('loading') == '1', 'load over before the check')
            check(name, s.wait_loaded(), 'still loading after 60 s')
            with Client(s.port) as c:
                check(name, c.cmd('DBSIZE') == b':%d\r\n' % KEYS, 'DBSIZE after the load')
        finally:
            s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sc_aof():
    name = 'aof'
    tmp = tempfile.mkdtemp(prefix='kvsd-loading-')
    try:
        aof = ['--appendonly', 'yes']
        ka = harness.kvsd_server(['--dir', tmp] + aof).start()
        with ka.client() as c:
            c.send(b''.join(encode('SET', 'key:%d' % i, 'v%d' % i) for i in range(KEYS)))
            c.read_replies(KEYS)
            c.cmd('BGREWRITEAOF')  # the keys so far go to the RDB base
            deadline = time.time() + 30
            while info_fields(c).get('aof_rewrite_in_progress') != '0' and time.time() < deadline:
                time.sleep(0.05)
            c.cmd('SET', 'after', 'rewrite')  # in the incr file
            c.cmd('DEL', 'key:0')
        ka.stop()
        s = Loader(harness.kvsd_binary(), tmp, aof)
        check(name, s.start() == LOADING, 'not loading at start')
        try:
            with Client(s.port) as c:
                check(name, c.cmd('GET', 'after') == LOADING, 'GET while loading the AOF')
                f = info_fields(c)
                check(name, f.get('loading') == '1' and f.get('aof_enabled') == '1',
                      'INFO while loading the AOF: loading %r aof_enabled %r' %
                      (f.get('loading'), f.get('aof_enabled')))
                # the base and incr files' size from the first answer on (Redis sets it
                # with loading:1; kvsd once set it on the loading thread, a moment later)
                adir = os.path.join(tmp, 'appendonlydir')
                size = sum(os.path.getsize(os.path.join(adir, n)) for n in os.listdir(adir)
                           if not n.endswith('.manifest'))
                check(name, f.get('loading_total_bytes') == str(size),
                      'loading_total_bytes %r, files %d' % (f.get('loading_total_bytes'), size))
                check(name, f.get('loading_rdb_used_mem', '').isdigit(), 'loading_rdb_used_mem')
            check(name, s.wait_loaded(), 'still loading after 60 s')
            with Client(s.port) as c:
                check(name, c.cmd('DBSIZE') == b':%d\r\n' % KEYS, 'DBSIZE after the AOF load')
                check(name, c.cmd('GET', 'after') == b'$7\r\nrewrite\r\n', 'the incr file')
                check(name, c.cmd('EXISTS', 'key:0') == b':0\r\n', 'the DEL in the incr file')
                c.cmd('SET', 'new', '1')  # logged after the load
        finally:
            s.stop()
        s = Loader(harness.kvsd_binary(), tmp, aof)
        s.start(delay=0)
        try:
            check(name, s.wait_loaded(), 'still loading after 60 s (2)')
            with Client(s.port) as c:
                check(name, c.cmd('GET', 'new') == b'$1\r\n1\r\n', 'a write after the load')
        finally:
            s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TESTS = {'rdb': sc_rdb_vs_redis, 'corrupt': sc_corrupt, 'shutdown': sc_shutdown, 'aof': sc_aof}


if __name__ == '__main__':
    sys.exit(harness.run_all(TESTS, failures, check, 'test_loading'))
