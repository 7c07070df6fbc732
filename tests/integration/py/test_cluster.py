"""Cluster mode (issue 18) against a real Redis Cluster.

Tests (one per meson test; all by default):
  vs-redis   a redis-server cluster made by `redis-cli --cluster create`, then a
             kvsd cluster from scripts/cluster.sh on the same three ports: the
             same command sequences (MOVED, CROSSSLOT, MULTI/EXEC, WATCH, scripts,
             SELECT/MOVE/SWAPDB/COPY refusals, CLUSTER subcommands' replies and
             errors) answer byte for byte the same; CLUSTER SLOTS / SHARDS / NODES
             / INFO agree once node ids are mapped; CLUSTER KEYSLOT of random keys
             (CLUSTER_KEYSLOT_KEYS, 100k) equals redis-server's.
  redis-cli  redis-cli -c writes and reads CLUSTER_KEYS keys (half with hash
             tags) through node 0: zero errors, every key on the node its slot
             names, each node 33 +- 2 % of the untagged keys.
  maps       bad slot maps (overlap, hole, bad id, unreachable address, unknown
             self, missing file) stop kvsd with a message and a non-zero exit;
             cluster-announce-ip picks the entry; cluster.sh refuses BASEPORT >
             55525 and stop ends exactly the nodes it started.
  disabled   without cluster-enabled, CLUSTER / READONLY / ASKING answer as a
             plain redis-server does, and INFO says cluster_enabled:0.
"""

import os
import random
import re
import subprocess
import sys
import tempfile

import clusterlib
import harness

failures = []


def check(name, ok, detail=''):
    if ok:
        return
    failures.append(name)
    harness.log('FAIL %s %s' % (name, detail))


def n_keys(var, default):
    n = int(os.environ.get(var, default))
    return max(1000, n // 4) if harness.sanitized() else n


def run_seq(port, seq):
    with harness.Client(port) as c:
        out = []
        for args in seq:
            r = c.cmd(*args)
            # HELLO's client id differs between servers; GETKEYSINSLOT's order is the index's
            r = re.sub(rb'\$2\r\nid\r\n:[0-9]+', b'id', r)
            if args[:2] == ('CLUSTER', 'GETKEYSINSLOT') and r.startswith(b'*'):
                r = repr(sorted(harness.parse(r))).encode()
            out.append(r)
        return out


# Node 0 owns slots 0-5460: b (3300), key3 (935), {b}... are local; foo (12182)
# and a (15495) are on node 2, c (7365) on node 1.
SEQS = [
    [('SET', 'foo', '1')], [('GET', 'a')], [('GET', 'c')], [('SET', 'b', '1')], [('GET', 'b')],
    [('MSET', 'a', '1', 'b', '2')], [('MSET', 'a', '1', 'a', '2')], [('MSET', 'b', '1', '{b}x', '2')],
    [('DEL', 'b', 'key3')], [('EXISTS', 'c')], [('RENAME', 'b', 'a')],
    [('ZUNIONSTORE', 'd', '2', 'a', 'b')], [('LMOVE', 'b', 'foo', 'LEFT', 'LEFT')],
    [('OBJECT', 'ENCODING', 'foo')], [('EVALSHA', '0' * 40, '1', 'foo')],
    [('FCALL', 'nosuch', '1', 'foo')], [('SORT', 'b', 'STORE', 'foo')],
    [('SORT', 'b', 'LIMIT', '0', '1', 'STORE', 'c', 'STORE', '{b}1')], [('SORT_RO', 'foo')],
    [('SORT_RO', 'b', 'BY', 'nosort')], [('BLPOP', 'foo', 'c', '0')],
    [('SPUBLISH', 'foo', 'x')], [('SPUBLISH', 'b', 'x')], [('SSUBSCRIBE', 'foo', 'b')],
    [('GET', '')], [('GET', '{}')],
    [('SELECT', '0')], [('SELECT', '1')], [('SELECT', 'x')], [('MOVE', 'b', '1')],
    [('SWAPDB', '0', '1')], [('COPY', '{b}1', '{b}2', 'DB', '1')], [('COPY', 'a', 'b', 'DB', '1')],
    [('COPY', '{b}1', '{b}2')], [('COPY', '{b}1', '{b}2', 'DB', '0')],
    [('MULTI',), ('SET', 'b', '1'), ('SET', '{b}x', '2'), ('EXEC',)],
    [('MULTI',), ('SET', 'b', '1'), ('SET', 'c', '2'), ('EXEC',)],
    [('MULTI',), ('SET', 'b', '1'), ('SET', 'key3', '2'), ('EXEC',)],
    [('MULTI',), ('GET', 'b'), ('SELECT', '1'), ('EXEC',)],
    [('MULTI',), ('PING',), ('EXEC',)], [('EXEC',)],
    [('WATCH', 'b', 'c')], [('WATCH', 'b', '{b}2'), ('MULTI',), ('GET', 'b'), ('EXEC',)],
    [('WATCH', 'foo')],
    [('EVAL', 'return 1', '2', 'b', 'c')],
    [('EVAL', "return redis.call('get',KEYS[1])", '1', 'foo')],
    [('EVAL', "return redis.call('get','c')", '1', 'b')],
    [('EVAL', "return redis.call('get','foo')", '0')],
    [('EVAL', "return redis.pcall('get','foo')", '0')],
    [('EVAL', "redis.call('get','b'); return redis.call('get','key3')", '0')],
    [('EVAL', "return redis.call('mset','b','1','key3','2')", '0')],
    [('EVAL', "#!lua flags=no-cluster\nreturn 1", '0')],
    [('EVAL', "#!lua flags=no-writes,no-cluster\nreturn 1", '1', 'b')],
    [('SCRIPT', 'LOAD', "#!lua flags=no-cluster\nreturn 2"),
     ('EVALSHA', '02cc52c2c536fd15336e1bc52c58b4555e8a6332', '0')],
    [('EVAL', "#!lua flags=allow-cross-slot-keys\n"
      "redis.call('get','b'); return redis.call('get','key3')", '0')],
    [('FUNCTION', 'LOAD', "#!lua name=nc\nredis.register_function{function_name='ncf', "
      "callback=function() return 1 end, flags={'no-cluster'}}"),
     ('FCALL', 'ncf', '0'), ('FCALL_RO', 'ncf', '0'), ('FUNCTION', 'DELETE', 'nc')],
    [('CLUSTER', 'KEYSLOT', 'foo')], [('CLUSTER', 'KEYSLOT', '{user}a')], [('CLUSTER', 'KEYSLOT')],
    [('CLUSTER', 'KEYSLOT', 'a', 'b')],
    [('CLUSTER', 'COUNTKEYSINSLOT', '3300')], [('CLUSTER', 'COUNTKEYSINSLOT', '16384')],
    [('CLUSTER', 'COUNTKEYSINSLOT', '-1')], [('CLUSTER', 'COUNTKEYSINSLOT', 'x')],
    [('CLUSTER', 'GETKEYSINSLOT', '3300', '10')], [('CLUSTER', 'GETKEYSINSLOT', '3300', '0')],
    [('CLUSTER', 'GETKEYSINSLOT', '5', '-1')], [('CLUSTER', 'GETKEYSINSLOT', '16384', '1')],
    [('CLUSTER', 'GETKEYSINSLOT', 'x', '1')], [('CLUSTER', 'GETKEYSINSLOT', '1', 'x')],
    [('CLUSTER', 'FOO')], [('CLUSTER',)], [('CLUSTER', 'INFO', 'x')], [('CLUSTER', 'SLOTS', 'x')],
    [('CLUSTER', 'HELP')], [('CLUSTER', 'REPLICAS', 'x')], [('CLUSTER', 'LINKS', 'x')],
    [('READONLY',)], [('READWRITE',)], [('ASKING',)], [('INFO', 'cluster')],
    [('HELLO', '3'), ('CLUSTER', 'SLOTS', 'x'), ('SET', 'foo', '1'), ('MSET', 'a', '1', 'b', '2')],
]


def ids_of(port):
    """Node ids in slot order (CLUSTER SLOTS), to map one cluster's ids onto the other's."""
    out = subprocess.run(['redis-cli', '-p', str(port), 'cluster', 'slots'],
                         stdout=subprocess.PIPE, timeout=10).stdout.split()
    return [w for w in out if len(w) == 40]


def views(port, ids):
    """CLUSTER SLOTS, SHARDS (sorted by first slot), NODES (sorted; ping/pong
    times zeroed) and INFO (without bus message counters), ids replaced by
    node0/1/2."""
    def norm(b):
        for i, nid in enumerate(ids):
            b = b.replace(nid, b'node%d' % i + b' ' * 35)
        return b
    with harness.Client(port) as c:
        slots = norm(c.cmd('CLUSTER', 'SLOTS'))
        shards = harness.parse(norm(c.cmd('CLUSTER', 'SHARDS')))
        nodes = harness.parse(norm(c.cmd('CLUSTER', 'NODES')))
        info = harness.parse(c.cmd('CLUSTER', 'INFO'))
        # RESP3: maps for SHARDS and SLOTS' metadata, verbatim strings for NODES / INFO
        c.cmd('HELLO', '3')
        slots3 = norm(c.cmd('CLUSTER', 'SLOTS'))
        shards3 = norm(c.cmd('CLUSTER', 'SHARDS'))
        nodes3 = c.cmd('CLUSTER', 'NODES')[:8]
    # one shard's bytes in RESP3, sorted, so the dict order of Redis does not matter
    shards3 = sorted(b'%' + x.rstrip(b'\r\n') for x in shards3.split(b'\r\n%2\r\n')[1:])
    shards = sorted(shards, key=lambda s: s[1][0])
    lines = []
    for ln in nodes.decode().strip().split('\n'):
        w = ln.split()
        lines.append(' '.join(w[:4] + ['-', '-'] + w[6:]))
    info = [ln for ln in info.decode().split('\r\n') if not ln.startswith('cluster_stats_messages')]
    return slots, repr(shards), sorted(lines), info, slots3, shards3, nodes3[:1]


def keyslot_requests(keys):
    """CLUSTER KEYSLOT of every key, in (request bytes, count) chunks of 1000:
    encoded once for both clusters (2 s of Python per encoding of 100,000)."""
    return [(b''.join(harness.encode('CLUSTER', 'KEYSLOT', k) for k in keys[i:i + 1000]),
             len(keys[i:i + 1000])) for i in range(0, len(keys), 1000)]


def keyslot_replies(port, requests):
    with harness.Client(port, timeout=60) as c:
        out = []
        for req, n in requests:
            c.send(req)
            out += c.read_replies(n)
        return out


def vs_redis():
    rnd = random.Random(18)
    alphabet = b'ab{}xyz019\r\n\x00\xff'
    keys = [bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 24)))
            for _ in range(n_keys('CLUSTER_KEYSLOT_KEYS', 100000))]
    requests = keyslot_requests(keys)

    # one cluster's replies: the sequences, each node's views, the KEYSLOTs
    def phase(cluster, base):
        cl = cluster.start()
        try:
            seqs = [run_seq(base, s) for s in SEQS]
            ids = ids_of(base)
            return seqs, [views(p, ids) for p in cl.ports], keyslot_replies(base, requests)
        finally:
            cl.stop()

    # both clusters on the same ports (the replies name them); a port taken
    # in either phase starts both again on fresh ones
    def both(base):
        want = phase(clusterlib.RedisCluster(base, harness.redis_binary()), base)
        got = phase(clusterlib.KvsdCluster(base, harness.kvsd_binary()), base)
        return want + got

    want, want_views, want_slots, got, got_views, got_slots = clusterlib.on_free_ports(
        both, bus=True)
    for s, w, g in zip(SEQS, want, got):
        check('vs-redis %r' % (s,), w == g, '\n  redis: %r\n  kvsd:  %r' % (w, g))
    names = ['CLUSTER SLOTS', 'CLUSTER SHARDS', 'CLUSTER NODES', 'CLUSTER INFO',
             'RESP3 CLUSTER SLOTS', 'RESP3 CLUSTER SHARDS', 'RESP3 CLUSTER NODES type']
    for i in range(3):
        for n, w, g in zip(names, want_views[i], got_views[i]):
            check('vs-redis node %d %s' % (i, n), w == g, '\n  redis: %r\n  kvsd:  %r' % (w, g))
    bad = [(k, w, g) for k, w, g in zip(keys, want_slots, got_slots) if w != g]
    check('vs-redis CLUSTER KEYSLOT of %d keys' % len(keys), not bad,
          '%d mismatches, first %r' % (len(bad), bad[:3]))
    pybad = [k for k, w in zip(keys, want_slots) if w != b':%d\r\n' % clusterlib.keyslot(k)]
    check('clusterlib.keyslot agrees with redis-server', not pybad, repr(pybad[:3]))
    harness.log('vs-redis: %d sequences, %d keyslots compared, %d keyslot mismatches' %
                (len(SEQS), len(keys), len(bad)))


def redis_cli():
    n = n_keys('CLUSTER_KEYS', 6000)
    kc = clusterlib.start_kvsd_cluster(harness.kvsd_binary())
    base = kc.base
    try:
        errors = []
        # half untagged (spread by slot), half tagged (a few slots each)
        keys = ['cli:%d' % i for i in range(n // 2)] + \
               ['{tag%d}cli:%d' % (i % 7, i) for i in range(n - n // 2)]
        sets = ''.join('SET %s v%s\n' % (k, k) for k in keys)
        r = subprocess.run(['redis-cli', '-c', '-p', str(base)], input=sets.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        oks = [ln for ln in r.stdout.split(b'\n') if ln and not ln.startswith(b'-> Redirected')]
        check('redis-cli -c SET: %d OK' % n, r.returncode == 0 and oks == [b'OK'] * n,
              'rc %d, %d replies, others: %r' % (r.returncode, len(oks),
                                                 [x for x in oks if x != b'OK'][:3]))
        gets = ''.join('GET %s\n' % k for k in keys)
        r = subprocess.run(['redis-cli', '-c', '-p', str(base)], input=gets.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        vals = [ln for ln in r.stdout.split(b'\n') if ln and not ln.startswith(b'-> Redirected')]
        want = [('v' + k).encode() for k in keys]
        mism = sum(1 for a, b in zip(vals, want) if a != b) + abs(len(vals) - len(want))
        check('redis-cli -c GET reads every value back', mism == 0, '%d mismatches' % mism)
        counts = clusterlib.check_placement(kc.ports, b'cli:', errors, 'redis-cli')
        for e in errors[:10]:
            harness.log(e)
        check('redis-cli keys placed by slot, 33 +- 2 % each', not errors,
              '%d errors' % len(errors))
        harness.log('redis-cli: %d keys, untagged per node %r, %d mismatches' % (n, counts, mism))
    finally:
        kc.stop()


def start_fails(args, want):
    """kvsd with args must exit non-zero, saying want on stderr."""
    with tempfile.TemporaryDirectory() as d:
        try:
            r = subprocess.run([harness.kvsd_binary(), '--bind', '127.0.0.1', '--save', ''] + args,
                               cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            check('maps: %s' % want, False, 'kvsd did not exit')
            return
        check('maps: %s' % want, r.returncode != 0 and want.encode() in r.stderr,
              'rc %d stderr %r' % (r.returncode, r.stderr[-300:]))


def maps():
    id_a, id_b = 'a' * 40, 'b' * 40
    port = harness.free_port()

    def mapfile(text):
        f = tempfile.NamedTemporaryFile('w', suffix='.map', delete=False)
        f.write(text)
        f.close()
        return f.name

    cases = [
        ('%s 127.0.0.1:%d 0-9000\n%s 127.0.0.1:7001 9000-16383\n' % (id_a, port, id_b),
         'line 2: slot 9000 is already assigned to node ' + id_a),
        ('%s 127.0.0.1:%d 0-16382\n' % (id_a, port), 'slot 16383 is assigned to no node'),
        ('zz 127.0.0.1:%d 0-16383\n' % port, 'line 1: a node id must be 40 lower-case hex digits'),
        ('%s 0.0.0.0:%d 0-16383\n' % (id_a, port), 'no address a client can connect to'),
        ('%s 127.0.0.1:%d 0-16383\n' % (id_a, port + 1), 'is not in the cluster map'),
        ('%s 127.0.0.3:%d 0-100\n%s 127.0.0.2:%d 101-16383\n' % (id_a, port, id_b, port),
         'several nodes of the cluster map have port'),
    ]
    files = []
    try:
        for text, want in cases:
            files.append(mapfile(text))
            start_fails(['--port', str(port), '--cluster-enabled', 'yes',
                         '--cluster-config-file', files[-1]], want)
        start_fails(['--port', str(port), '--cluster-enabled', 'yes', '--cluster-config-file',
                     '/nonexistent/map'], "can't open the cluster config file '/nonexistent/map'")
        # two entries share the port: cluster-announce-ip says which one we are
        files.append(mapfile('%s 127.0.0.1:%d 0-5460\n%s 127.0.0.2:%d 5461-16383\n' %
                             (id_a, port, id_b, port)))
        with harness.kvsd_server(['--cluster-enabled', 'yes', '--cluster-config-file', files[-1],
                                  '--cluster-announce-ip', '127.0.0.2',
                                  '--cluster-announce-port', str(port)]) as s:
            with s.client() as c:
                check('maps: announce-ip picks the entry', c.cmd('CLUSTER', 'MYID') ==
                      b'$40\r\n' + id_b.encode() + b'\r\n')
                check('maps: the other node is told by MOVED',
                      c.cmd('GET', 'b') == b'-MOVED 3300 127.0.0.1:%d\r\n' % port)
                check('maps: CONFIG SET cluster-enabled refused',
                      c.cmd('CONFIG', 'SET', 'cluster-enabled', 'no').startswith(
                          b"-ERR CONFIG SET failed (possibly related to argument "
                          b"'cluster-enabled') - can't set immutable config"))
    finally:
        for f in files:
            os.unlink(f)
    # scripts/cluster.sh
    kc = clusterlib.KvsdCluster(55526, harness.kvsd_binary())
    r = kc.sh('start', check=False)
    check('cluster.sh refuses BASEPORT 55526', r.returncode != 0 and b'55525' in r.stdout,
          repr(r.stdout))
    kc.stop()
    kc = clusterlib.start_kvsd_cluster(harness.kvsd_binary())
    other = harness.kvsd_server().start()
    try:
        pids = kc.pids()
        r = kc.sh('start', check=False)
        check('cluster.sh start twice is refused', r.returncode != 0 and b'already runs' in
              r.stdout, repr(r.stdout))
        for p in kc.ports:
            with harness.Client(p) as c:
                check('cluster.sh node %d answers' % p, c.cmd('CLUSTER', 'INFO').find(
                    b'cluster_state:ok') > 0)
        r = kc.sh('stop', check=False)
        kc.up = False
        gone = [not os.path.exists('/proc/%d' % pid) for pid in pids if pid]
        check('cluster.sh stop ends the three nodes', r.returncode == 0 and len(gone) == 3 and
              all(gone), repr((r.stdout, pids)))
        check('cluster.sh stop leaves other kvsd processes alone', other.alive())
    finally:
        other.stop()
        kc.stop()


def disabled():
    seqs = [[('CLUSTER', 'INFO')], [('CLUSTER', 'KEYSLOT', 'foo')], [('CLUSTER', 'SLOTS')],
            [('CLUSTER', 'MEET', '1', '2')], [('CLUSTER', 'HELP')], [('CLUSTER', 'FOO')],
            [('READONLY',)], [('READWRITE',)], [('ASKING',)], [('INFO', 'cluster')],
            [('SELECT', '1')]]
    with harness.redis_server() as r, harness.kvsd_server() as k:
        for s in seqs:
            w, g = run_seq(r.port, s), run_seq(k.port, s)
            check('disabled %r' % (s,), w == g, '\n  redis: %r\n  kvsd:  %r' % (w, g))


TESTS = {'vs-redis': vs_redis, 'redis-cli': redis_cli, 'maps': maps, 'disabled': disabled}

if __name__ == '__main__':
    sys.exit(harness.run_all(TESTS, failures, check, 'cluster'))
