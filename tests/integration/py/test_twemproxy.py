#!/usr/bin/env python3
"""twemproxy (Debian's nutcracker 0.5) in front of three kvsd shards (issue 18).

Usage: test_twemproxy.py TEST   (meson runs each as its own test, twemproxy-TEST)

  bench   redis-benchmark -P 16 through the proxy (pipelined client requests go to each
          shard over nutcracker's single backend connection, interleaved with other
          clients'): every command answers, no error; each shard got a share, in the
          database redis_db names (nutcracker SELECTs it on connect).
  ryw     a read-your-writes checker, with redis_auth (nutcracker AUTHs each backend
          connection; kvsd's requirepass must answer as Redis) and four client
          connections at once on disjoint keys: 20,000 keys written with SET and MSET
          (nutcracker splits an MSET by shard and recombines the replies), read back with
          GET and MGET, a third deleted with multi-key DEL (the replies summed by the
          proxy), others overwritten, EXISTS of each: zero mismatches against the model;
          each key lives on exactly one shard and every shard holds some.
  diff    the same command sequence through nutcracker in front of kvsd shards and in
          front of redis-server shards gives the same bytes, including errors; and with a
          redis_auth the shards refuse (wrong password, no password configured) the
          client sees the same as with redis-server shards.
  conf    conf/nutcracker.yml as shipped, its ports replaced by free ones: nutcracker -t
          accepts it and it serves an MSET/MGET spread over the three shards.
  eject   auto_eject_hosts: after kill -9 of one shard, the proxy ejects it and the two
          others keep serving: every key they held is still read back with its value,
          and new writes succeed (the dead shard's keys re-hash to the live ones).

Skips (77) when nutcracker is not installed. Environment: see harness.py.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Client, encode, escape  # noqa: E402

NUTCRACKER = shutil.which('nutcracker') or '/usr/sbin/nutcracker'
SLOW = harness.sanitized()


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def pipeline(c, cmds):
    c.send(b''.join(encode(*a) for a in cmds))
    return c.read_replies(len(cmds))


class Proxy:
    """nutcracker on free loopback ports (listen and stats) in front of shards."""

    def __init__(self, shards, auth=None, extra='', text=None):
        """text: a whole configuration, {listen} and {shardN} replaced by ports."""
        self.dir = tempfile.mkdtemp(prefix='kvsd-nutcracker-')
        self.port = harness.free_port()
        stats = harness.free_port()
        conf = os.path.join(self.dir, 'nutcracker.yml')
        with open(conf, 'w') as f:
            if text is not None:
                f.write(text.replace('{listen}', str(self.port)).replace(
                    '{shard0}', str(shards[0].port)).replace(
                    '{shard1}', str(shards[1].port)).replace('{shard2}', str(shards[2].port)))
            else:
                self.write_conf(f, shards, auth, extra)
        self.log = os.path.join(self.dir, 'nutcracker.log')
        self.start(conf, stats)

    def write_conf(self, f, shards, auth, extra):
        f.write('kvsd:\n  listen: 127.0.0.1:%d\n  hash: fnv1a_64\n'
                '  distribution: ketama\n  redis: true\n' % self.port)
        if auth:
            f.write('  redis_auth: %s\n' % auth)
        f.write(extra)
        f.write('  servers:\n')
        for i, s in enumerate(shards):
            f.write('   - 127.0.0.1:%d:1 shard%d\n' % (s.port, i))

    def start(self, conf, stats):
        self.proc = subprocess.Popen(
            [NUTCRACKER, '-c', conf, '-s', str(stats), '-a', '127.0.0.1', '-o', self.log,
             '-v', '5'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            check(self.proc.poll() is None, 'nutcracker exited %r: %s' %
                  (self.proc.returncode, self.tail()))
            try:
                Client(self.port, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise Fail('nutcracker did not listen: ' + self.tail())

    def tail(self):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def client(self, auth=None):
        c = Client(self.port)
        if auth:
            r = c.cmd('AUTH', auth)
            check(r == b'+OK\r\n', 'AUTH through the proxy: %s' % escape(r))
        return c

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def shards(n=3, extra=(), redis=False):
    make = harness.redis_server if redis else harness.kvsd_server
    return [make(list(extra)).start() for _ in range(n)]


def stop_all(proxy, ss):
    """Stops the proxy and the shards; returns the exit statuses of the shards that were not
    killed on purpose (kvsd under the sanitizers exits non-zero on a leak or an error)."""
    if proxy:
        proxy.stop()
    return [(s.port, s.stop()) for s in ss if not getattr(s, 'killed', False)]


def check_exits(rcs):
    bad = [(port, rc) for port, rc in rcs if rc != 0]
    check(not bad, 'shards exited with %s after SIGTERM (want 0)' % bad)


def shard_keys(s, auth=None, db=0):
    with s.client() as c:
        if auth:
            c.cmd('AUTH', auth)
        if db:
            c.cmd('SELECT', db)
        r = harness.parse(c.cmd('KEYS', '*'))
        check(isinstance(r, list), 'KEYS on shard %d: %r' % (s.port, r))
        return set(r)


# ------------------------------------------------------------------ bench

def test_bench():
    ss = shards()
    p = None
    try:
        # redis_db: nutcracker SELECTs it on each backend connection
        p = Proxy(ss, extra='  redis_db: 2\n')
        n = 2000 if SLOW else 20000
        r = subprocess.run(['redis-benchmark', '-p', str(p.port), '-P', '16', '-c', '20',
                            '-n', str(n), '-r', '10000', '-q', '--csv', '-t',
                            'set,get,incr,lpush,lpop,sadd,hset,mset'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        out = r.stdout
        harness.log(out)
        check(r.returncode == 0, 'redis-benchmark exited %d' % r.returncode)
        # --csv prints one line per test; an error reply stops it with "Error from server"
        check('rror' not in out, 'redis-benchmark saw an error')
        for t in ['SET', 'GET', 'INCR', 'LPUSH', 'LPOP', 'SADD', 'HSET', 'MSET']:
            check(any(line.startswith('"%s' % t) for line in out.splitlines()),
                  'no result line for %s' % t)
        for s in ss:
            check(len(shard_keys(s, db=2)) > 0, 'shard %d got no key in db 2' % s.port)
            check(len(shard_keys(s)) == 0, 'shard %d got keys in db 0' % s.port)
    finally:
        rcs = stop_all(p, ss)
    check_exits(rcs)


# ------------------------------------------------------------------ ryw

PW = 'tw-secret'


def ryw_worker(port, base, nkeys, errors):
    """Write, read back, delete and rewrite keys base..base+nkeys; count mismatches."""
    model = {}
    bad = []

    def key(i):
        return b'ryw:%d' % (base + i)

    def val(i, gen):
        return b'v%d-%d-%s' % (base + i, gen, b'x' * (i % 50))

    try:
        c = Client(port)
        if c.cmd('AUTH', PW) != b'+OK\r\n':
            bad.append('AUTH refused')
            return
        half = nkeys // 2
        # SET the first half, 500 a batch
        for b in range(0, half, 500):
            ids = range(b, min(b + 500, half))
            reps = pipeline(c, [('SET', key(i), val(i, 1)) for i in ids])
            for i, r in zip(ids, reps):
                if r != b'+OK\r\n':
                    bad.append('SET %s: %s' % (key(i), escape(r)))
                model[key(i)] = val(i, 1)
        # MSET the second half, 25 keys each (spanning the shards)
        cmds, groups = [], []
        for b in range(half, nkeys, 25):
            ids = list(range(b, min(b + 25, nkeys)))
            args = ['MSET']
            for i in ids:
                args += [key(i), val(i, 1)]
                model[key(i)] = val(i, 1)
            cmds.append(args)
            groups.append(ids)
        for r in pipeline(c, cmds):
            if r != b'+OK\r\n':
                bad.append('MSET: %s' % escape(r))

        def read_all(tag):
            ids = list(range(nkeys))
            # every key by GET, then all of them again by MGET of 40
            reps = pipeline(c, [('GET', key(i)) for i in ids])
            for i, r in zip(ids, reps):
                want = model.get(key(i))
                got = harness.parse(r)
                if got != want:
                    bad.append('%s GET %s: %r want %r' % (tag, key(i), got, want))
            cmds = [['MGET'] + [key(i) for i in ids[b:b + 40]] for b in range(0, nkeys, 40)]
            for b, r in zip(range(0, nkeys, 40), pipeline(c, cmds)):
                got = harness.parse(r)
                want = [model.get(key(i)) for i in ids[b:b + 40]]
                if got != want:
                    bad.append('%s MGET at %d: %r' % (tag, b, escape(r, 200)))

        read_all('after writing')
        # DEL every third key, 30 names a command (half of them already gone the 2nd time)
        dels = [key(i) for i in range(0, nkeys, 3)]
        cmds, wants = [], []
        for b in range(0, len(dels), 30):
            names = dels[b:b + 30] + dels[max(0, b - 15):b]  # some twice / already deleted
            cmds.append(['DEL'] + names)
            n = 0
            for k in dict.fromkeys(names):
                if k in model:
                    n += 1
                    del model[k]
            wants.append(n)
        for r, n in zip(pipeline(c, cmds), wants):
            if r != b':%d\r\n' % n:
                bad.append('DEL: %s want %d' % (escape(r), n))
        # rewrite every fifth key with generation 2
        ids = list(range(0, nkeys, 5))
        reps = pipeline(c, [('SET', key(i), val(i, 2)) for i in ids])
        for i, r in zip(ids, reps):
            if r != b'+OK\r\n':
                bad.append('SET gen 2 %s: %s' % (key(i), escape(r)))
            model[key(i)] = val(i, 2)
        read_all('after DEL and rewrite')
        # EXISTS one key a command: nutcracker 0.5 sends a multi-key EXISTS whole to
        # the first key's shard (with redis-server shards too), so it counts one shard
        reps = pipeline(c, [('EXISTS', key(i)) for i in range(nkeys)])
        for i, r in enumerate(reps):
            if r != b':%d\r\n' % (key(i) in model):
                bad.append('EXISTS %s: %s' % (key(i), escape(r)))
        c.close()
    except OSError as e:
        bad.append('connection: %r' % e)
    finally:
        errors.append((bad, model))


def test_ryw():
    ss = shards(extra=['--requirepass', PW])
    p = None
    try:
        p = Proxy(ss, auth=PW, extra='  server_connections: 1\n')
        # a client that has not sent AUTH is refused by the proxy itself
        with p.client() as c:
            r = c.cmd('GET', 'x')
            check(r.startswith(b'-NOAUTH'), 'GET before AUTH: %s' % escape(r))
        nthreads, per = 4, (1000 if SLOW else 5000)
        results = []
        ts = [threading.Thread(target=ryw_worker, args=(p.port, t * per, per, results))
              for t in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        check(len(results) == nthreads, 'a checker thread did not finish')
        bad = [b for r in results for b in r[0]]
        check(not bad, '%d mismatches, first: %s' % (len(bad), bad[:5]))
        model = {}
        for r in results:
            model.update(r[1])
        seen = {}
        for s in ss:
            ks = shard_keys(s, PW)
            check(len(ks) > len(model) // 10, 'shard %d holds only %d of %d keys' %
                  (s.port, len(ks), len(model)))
            for k in ks:
                check(k not in seen, 'key %r on two shards' % k)
                seen[k] = s.port
        check(set(seen) == set(model), 'the shards hold %d keys, the model %d' %
              (len(seen), len(model)))
        harness.log('ryw: %d keys checked, 0 mismatches; per shard %s' %
                    (nthreads * per, [sum(1 for v in seen.values() if v == s.port)
                                      for s in ss]))
    finally:
        rcs = stop_all(p, ss)
    check_exits(rcs)


# ------------------------------------------------------------------ diff

SEQ = [
    ('PING',),
    ('SET', 'a', '1'), ('GET', 'a'), ('SET', 'a', '2', 'GET'), ('SETNX', 'a', '3'),
    ('MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5'),
    ('MGET', 'a', 'b', 'nope', 'c', 'd', 'e'),
    ('EXISTS', 'a', 'b', 'nope', 'a'),
    ('DEL', 'a', 'nope', 'b'), ('MGET', 'a', 'b', 'c'),
    ('INCR', 'n'), ('INCRBY', 'n', '10'), ('INCR', 'c'), ('INCR', 'e'),
    ('SET', 'big', 'x' * 20000), ('STRLEN', 'big'), ('GETRANGE', 'big', '0', '9'),
    ('LPUSH', 'l', 'x', 'y', 'z'), ('LRANGE', 'l', '0', '-1'), ('GET', 'l'),
    ('HSET', 'h', 'f', 'v', 'g', 'w'), ('HGETALL', 'h'), ('HINCRBY', 'h', 'f', '1'),
    ('SADD', 's', 'm'), ('SCARD', 's'), ('SMEMBERS', 'nope'),
    ('ZADD', 'z', '1', 'a', '2.5', 'b'), ('ZRANGE', 'z', '0', '-1', 'WITHSCORES'),
    ('ZSCORE', 'z', 'b'), ('ZADD', 'z', 'x', 'a'),
    ('EXPIRE', 'c', '100'), ('TTL', 'c'), ('PERSIST', 'c'), ('TTL', 'c'), ('TYPE', 'h'),
    ('SET', 'k'), ('GET', 'k', 'extra'), ('GETSET', 'd', 'new'), ('APPEND', 'd', '!'),
    ('GET', 'd'), ('SETEX', 'x', '-1', 'v'), ('BITCOUNT', 'd'), ('PFADD', 'p', 'a', 'b'),
    ('PFCOUNT', 'p'), ('DEL', 'a', 'b', 'c', 'd', 'e', 'n', 'big', 'l', 'h', 's', 'z', 'p'),
]


def run_seq(port, auth=None):
    with Client(port) as c:
        if auth:
            c.cmd('AUTH', auth)
        return pipeline(c, SEQ)


def refused(port, auth):
    """What a client of a proxy with redis_auth sees when the shards refuse it."""
    with Client(port) as c:
        out = [c.cmd('AUTH', auth), c.cmd('SET', 'a', '1'), c.cmd('GET', 'a')]
    return out


def test_diff():
    for case, kx, px in [('plain', [], None),
                         ('auth', ['--requirepass', PW], PW)]:
        got = {}
        for name, redis in [('kvsd', False), ('redis', True)]:
            ss = shards(extra=kx, redis=redis)
            p = None
            try:
                p = Proxy(ss, auth=px)
                got[name] = run_seq(p.port, px)
            finally:
                rcs = stop_all(p, ss)
            check_exits(rcs)
        for cmd, a, b in zip(SEQ, got['kvsd'], got['redis']):
            check(a == b, '%s: %s through the proxy: kvsd %s, redis %s' %
                  (case, ' '.join(cmd)[:60], escape(a), escape(b)))
    # redis_auth set but the shards want another password, or none at all
    for case, kx in [('wrong password', ['--requirepass', 'other']), ('no password', [])]:
        got = {}
        for name, redis in [('kvsd', False), ('redis', True)]:
            ss = shards(extra=kx, redis=redis)
            p = None
            try:
                p = Proxy(ss, auth=PW)
                got[name] = refused(p.port, PW)
            finally:
                rcs = stop_all(p, ss)
            check_exits(rcs)
        check(got['kvsd'] == got['redis'], '%s: kvsd shards %s, redis shards %s' %
              (case, [escape(x) for x in got['kvsd']], [escape(x) for x in got['redis']]))
        harness.log('%s: %s' % (case, [escape(x) for x in got['kvsd']]))


# ------------------------------------------------------------------ eject

def test_eject():
    ss = shards()
    p = None
    try:
        # a failed server is ejected at once and not retried during the test
        # (a request timing out would count as a failure: generous under the sanitizers)
        p = Proxy(ss, extra='  auto_eject_hosts: true\n  server_retry_timeout: 30000\n'
                  '  server_failure_limit: 1\n  timeout: %d\n' % (5000 if SLOW else 2000))
        n = 3000
        with p.client() as c:
            for b in range(0, n, 500):
                reps = pipeline(c, [('SET', 'ej:%d' % i, 'v%d' % i) for i in range(b, b + 500)])
                bad = [escape(r) for r in reps if r != b'+OK\r\n']
                check(not bad, 'SET through the proxy failed: %s' % bad[:3])
        where = {}
        for s in ss:
            for k in shard_keys(s):
                where[k] = s
        check(len(where) == n, 'the shards hold %d of %d keys' % (len(where), n))
        dead = ss[2]
        dead.killed = True
        dead.proc.send_signal(signal.SIGKILL)
        dead.proc.wait()
        live = [k for k, s in where.items() if s is not dead]
        # requests for the dead shard fail until the proxy has ejected it
        deadline = time.time() + (20 if SLOW else 10)
        attempts = 0
        while True:
            attempts += 1
            with p.client() as c:
                reps = pipeline(c, [('SET', 'new:%d' % i, 'w%d' % i) for i in range(300)])
            if all(r == b'+OK\r\n' for r in reps):
                break
            check(time.time() < deadline, 'writes still fail %s after kill -9: %s' %
                  ('10 s', sorted(set(escape(r) for r in reps if r != b'+OK\r\n'))))
            time.sleep(0.2)
        with p.client() as c:
            reps = pipeline(c, [('GET', k) for k in live])
            wrong = [(k, r) for k, r in zip(live, reps)
                     if harness.parse(r) != b'v' + k.split(b':')[1]]
            check(not wrong, '%d of %d keys of the live shards not read back, e.g. %s' %
                  (len(wrong), len(live), [(k, escape(r)) for k, r in wrong[:3]]))
            reps = pipeline(c, [('GET', 'new:%d' % i) for i in range(300)])
            check(all(harness.parse(r) == b'w%d' % i for i, r in enumerate(reps)),
                  'new keys not read back')
        harness.log('eject: %d keys of the live shards read back after %d attempt(s)' %
                    (len(live), attempts))
    finally:
        rcs = stop_all(p, ss)
    check_exits(rcs)


# ------------------------------------------------------------------ conf

def test_conf():
    """conf/nutcracker.yml as shipped (its ports replaced) passes nutcracker -t and serves."""
    path = os.path.join(os.environ.get('KVSD_SRC', harness.REPO), 'conf', 'nutcracker.yml')
    with open(path) as f:
        text = f.read()
    check('127.0.0.1:22121' in text and all('127.0.0.1:700%d:1' % i in text for i in (1, 2, 3)),
          'conf/nutcracker.yml: ports changed, update this test')
    text = text.replace('127.0.0.1:22121', '127.0.0.1:{listen}')
    # the shipped 400 ms request budget is for production; a loaded test machine gets more
    check('  timeout: 400\n' in text, 'conf/nutcracker.yml: timeout changed, update this test')
    text = text.replace('  timeout: 400\n', '  timeout: 5000\n')
    for i in (1, 2, 3):
        text = text.replace('127.0.0.1:700%d:1' % i, '127.0.0.1:{shard%d}:1' % (i - 1))
    r = subprocess.run([NUTCRACKER, '-t', '-c', path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    check(r.returncode == 0 and 'syntax is ok' in r.stdout, 'nutcracker -t: %s' % r.stdout)
    ss = shards()
    p = None
    try:
        p = Proxy(ss, text=text)
        with p.client() as c:
            args = ['MSET']
            for i in range(3000):
                args += ['c:%d' % i, 'v%d' % i]
            check(c.cmd(*args) == b'+OK\r\n', 'MSET through conf/nutcracker.yml')
            got = harness.parse(c.cmd('MGET', *['c:%d' % i for i in range(3000)]))
            check(got == [b'v%d' % i for i in range(3000)], 'MGET: %r' % got[:5])
        per = [len(shard_keys(s)) for s in ss]
        check(all(per), 'keys per shard: %s' % per)
        harness.log('keys per shard: %s' % per)
    finally:
        rcs = stop_all(p, ss)
    check_exits(rcs)


TESTS = {'conf': test_conf, 'bench': test_bench, 'ryw': test_ryw, 'diff': test_diff, 'eject': test_eject}


def main():
    if not os.path.exists(NUTCRACKER):
        print('SKIP: nutcracker (twemproxy) is not installed')
        return 77
    return harness.run_one(TESTS, Fail)


if __name__ == '__main__':
    sys.exit(main())
