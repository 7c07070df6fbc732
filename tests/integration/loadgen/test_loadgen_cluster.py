"""kvsd-loadgen --cluster against a three-master redis-server cluster (Python 3 stdlib).

Usage: test_loadgen_cluster.py LOADGEN_BIN

redis-server stands in for any Redis Cluster node (kvsd's cluster mode answers the same on
the wire); the test checks the client side: routing, redirects and the per-node report.

route:    --prefill --verify with the GET/SET mix over 6,000 keys: zero errors and zero
          redirects (every request went straight to the master of its slot: a wrong one
          would have answered -MOVED), each master's share of the requests is its share of
          the key space (computed here with CRC16), the per-node rows add up, and each
          master holds exactly the keys whose slots it serves.
template: --command "INCR c:__rand_int__" (the key is the first argument): zero errors,
          zero redirects, and the counters on the three masters add up to the requests.
tags:     templates with {} (empty: the whole key), x{N}y{z}, {{N}} and an unclosed {:
          zero redirects, every master served some.
moved:    a stale map: once kvsd-loadgen has read CLUSTER SLOTS (its "cluster:" line),
          1,000 of the first master's slots are handed to the second (CLUSTER SETSLOT
          IMPORTING + NODE, which the cluster bus spreads); the run must report moved > 0
          and still zero errors, and the second master must have served requests for keys
          in those slots.
ask:      one slot MIGRATING on its master and IMPORTING on another with no keys on the
          source: every INCR {tag}:... is answered -ASK; kvsd-loadgen sends ASKING + the
          request to the importing master, so asks == requests, zero errors, and the
          counters (on the importing master only) add up to the requests.

When KVSD_BIN's kvsd has a cluster mode (cluster-enabled, a static slot map), route and
template run again against three kvsd masters; otherwise that part is skipped with a line
saying so.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

LOADGEN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix='kvsd-lgcluster-')
failures = []
procs = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xffff
    return crc


def key_slot(key):
    s = key.find(b'{')
    if s >= 0:
        e = key.find(b'}', s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % 16384


def bindable(port):
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def cluster_ports(n):
    """n ports P (with P+10000 free too: the cluster bus), P and P+10000 below the kernel's
    ephemeral range (32768 and up), where no client connection takes them as its local port
    between this check and the node's bind (ci15: EADDRINUSE); never 6379."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    ports = []
    for _ in range(1000):
        p = rng.randrange(10000, 22700)
        if p == 6379 or p in ports or not bindable(p) or not bindable(p + 10000):
            continue
        ports.append(p)
        if len(ports) == n:
            return ports
    sys.exit('no free ports')


def enc(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


def read_reply(f):
    line = f.readline()
    if not line:
        raise OSError('connection closed')
    t, rest = line[:1], line[1:-2]
    if t in (b'+', b':'):
        return int(rest) if t == b':' else rest
    if t == b'-':
        return Exception(rest.decode())
    if t == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b'*':
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise OSError('bad reply %r' % line)


def cmds(port, *commands):
    """Send commands pipelined on one connection; return their replies."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(b''.join(enc(*c) for c in commands))
        f = s.makefile('rb')
        return [read_reply(f) for _ in commands]


def cmd(port, *args):
    return cmds(port, args)[0]


def start_nodes():
    """Three cluster-enabled redis-servers answering PING; None when one could not start
    (a port taken between the check and the bind)."""
    ports = cluster_ports(3)
    mine = []
    for p in ports:
        d = os.path.join(TMP, str(p))
        os.mkdir(d)
        mine.append(subprocess.Popen(
            ['redis-server', '--port', str(p), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
             '--cluster-config-file', os.path.join(d, 'nodes.conf'), '--cluster-node-timeout',
             '2000', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', d,
             '--loglevel', 'warning'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.extend(mine)
    for p, proc in zip(ports, mine):
        deadline = time.monotonic() + 10
        while True:
            try:
                if cmd(p, 'PING') == b'PONG':
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                for q in mine:
                    q.kill()
                    q.wait()
                return None
            if time.monotonic() > deadline:
                sys.exit('redis-server on %d did not start' % p)
            time.sleep(0.05)
    return ports


def start_cluster():
    for _ in range(3):
        ports = start_nodes()
        if ports:
            break
    else:
        sys.exit('redis-server did not start on three free ports')
    r = subprocess.run(['redis-cli', '--cluster', 'create'] +
                       ['127.0.0.1:%d' % p for p in ports] + ['--cluster-yes'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        print(r.stdout)
        sys.exit('redis-cli --cluster create failed')
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(b'cluster_state:ok' in cmd(p, 'CLUSTER', 'INFO') and
               len(cmd(p, 'CLUSTER', 'SLOTS')) == 3 for p in ports):
            return ports
        time.sleep(0.1)
    sys.exit('the cluster did not reach cluster_state:ok')


def slot_owners(port):
    """slot -> master port, from CLUSTER SLOTS."""
    owner = {}
    for ent in cmd(port, 'CLUSTER', 'SLOTS'):
        for s in range(ent[0], ent[1] + 1):
            owner[s] = ent[2][1]
    return owner


def node_ids(ports):
    return {p: cmd(p, 'CLUSTER', 'MYID').decode() for p in ports}


def loadgen(seed, *args, during=None):
    """Run kvsd-loadgen --cluster; call during() once it has read the slot map."""
    out = os.path.join(TMP, 'out-%d.json' % time.monotonic_ns())
    argv = [LOADGEN, '--cluster', '-p', str(seed), '--json', out] + list(args)
    lg = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = lg.stderr.readline()
    check(first.startswith('cluster: 3 masters from CLUSTER SLOTS of 127.0.0.1:%d' % seed),
          'first stderr line: %r' % first)
    if during:
        during()
    so, se = lg.communicate(timeout=60)
    print('$ ' + ' '.join(argv))
    print(so)
    if lg.returncode != 0:
        print(se)
        sys.exit('kvsd-loadgen exited %d' % lg.returncode)
    with open(out) as f:
        return json.load(f)


def check_nodes(r, ports, name):
    addrs = ['127.0.0.1:%d' % p for p in ports]
    check(sorted(n['addr'] for n in r['nodes']) == sorted(addrs),
          '%s: nodes %s' % (name, [n['addr'] for n in r['nodes']]))
    check(sum(n['requests'] for n in r['nodes']) == r['requests'],
          '%s: per-node requests do not add up to %d' % (name, r['requests']))
    for n in r['nodes']:
        check(abs(n['ops_per_sec'] * r['duration_s'] - n['requests']) <= 1,
              '%s: %s ops_per_sec x duration_s != requests' % (name, n['addr']))
    return {int(n['addr'].rsplit(':', 1)[1]): n['requests'] for n in r['nodes']}


def flush(ports):
    for p in ports:
        cmd(p, 'FLUSHALL')


def test_route(ports):
    keys = 6000
    r = loadgen(ports[0], '-t', '2', '-c', '2', '-P', '8', '--keys', str(keys), '--prefill',
                '--verify', '--dist', 'uniform', '--requests', '24000', '--ratio', '1:3')
    check(r['errors'] == 0 and r['verify_failures'] == 0,
          'route: errors %d verify %d' % (r['errors'], r['verify_failures']))
    check(r['moved'] == 0 and r['asks'] == 0, 'route: moved %d asks %d (a request went to the '
          'wrong master)' % (r['moved'], r['asks']))
    check(r['get_misses'] == 0, 'route: %d GET misses after --prefill' % r['get_misses'])
    per = check_nodes(r, ports, 'route')
    owner = slot_owners(ports[0])
    share = {p: 0 for p in ports}
    for i in range(keys):
        share[owner[key_slot(b'key:%012d' % i)]] += 1
    for p in ports:
        want = share[p] / keys
        got = per.get(p, 0) / r['requests']
        # uniform draws: 24,000 requests give a standard deviation under 0.4%
        check(abs(got - want) < 0.03, 'route: node %d served %.3f of the requests, its keys '
              'are %.3f of the key space' % (p, got, want))
        check(cmd(p, 'DBSIZE') == share[p], 'route: node %d holds %d keys, its slots %d' %
              (p, cmd(p, 'DBSIZE'), share[p]))


def test_template(ports):
    flush(ports)
    r = loadgen(ports[1], '-c', '3', '-P', '4', '--keys', '500', '--requests', '6000',
                '--command', 'INCR c:__rand_int__')
    check(r['errors'] == 0 and r['moved'] == 0, 'template: errors %d moved %d' %
          (r['errors'], r['moved']))
    per = check_nodes(r, ports, 'template')
    total = 0
    for p in ports:
        ks = cmd(p, 'KEYS', 'c:*')
        vals = cmds(p, *[('GET', k) for k in ks]) if ks else []
        n = sum(int(v) for v in vals)
        # requests sent in the moment before the measured window opens come on top
        check(per.get(p, 0) <= n <= per.get(p, 0) * 1.2,
              'template: node %d counted %d INCRs, the report %d' % (p, n, per.get(p, 0)))
        total += n
    check(r['requests'] == 6000 and 6000 <= total <= 7200,
          'template: INCRs %d, requests %d' % (total, r['requests']))


def test_tags(ports):
    """Hash tags as Redis Cluster reads them: an empty {} hashes the whole key, the first
    '{' pairs with the next '}', a '{' inside a tag is part of it. A wrong slot would show
    as -MOVED."""
    flush(ports)
    for tmpl in ['INCR {}e:__rand_int__', 'INCR x{__rand_int__}y{z}',
                 'INCR {{__rand_int__}}', 'INCR {__rand_int__']:
        r = loadgen(ports[0], '-c', '2', '-P', '4', '--keys', '300', '--requests', '1500',
                    '--command', tmpl)
        check(r['errors'] == 0 and r['moved'] == 0 and r['asks'] == 0,
              'tags %s: errors %d moved %d asks %d' % (tmpl, r['errors'], r['moved'],
                                                      r['asks']))
        per = check_nodes(r, ports, 'tags')
        check(all(per.get(p, 0) > 0 for p in ports), 'tags %s: per node %s' % (tmpl, per))


def test_moved(ports):
    flush(ports)
    ids = node_ids(ports)
    src, dst = ports[0], ports[1]
    moved = [s for s, p in sorted(slot_owners(src).items()) if p == src][:1000]

    def move():
        cmds(dst, *[('CLUSTER', 'SETSLOT', s, 'IMPORTING', ids[src]) for s in moved])
        cmds(dst, *[('CLUSTER', 'SETSLOT', s, 'NODE', ids[dst]) for s in moved])

    r = loadgen(ports[2], '-c', '2', '-P', '4', '--keys', '20000', '--dist', 'uniform',
                '--duration', '3', '--ratio', '1:1', during=move)
    check(r['errors'] == 0, 'moved: errors %d: %s' % (r['errors'], r['error_texts']))
    check(r['moved'] > 0, 'moved: no -MOVED was followed')
    owner = slot_owners(src)
    check(all(owner[s] == dst for s in moved), 'moved: the slots did not move')
    ks = [k for k in cmd(dst, 'KEYS', 'key:*') if key_slot(k) in set(moved)]
    check(len(ks) > 0, 'moved: the new master holds no key of the moved slots')
    check_nodes(r, ports, 'moved')


def test_ask(ports):
    flush(ports)
    ids = node_ids(ports)
    owner = slot_owners(ports[0])
    src, dst = ports[2], ports[0]
    tag = next(t for t in ('t%d' % i for i in range(100000))
               if owner[key_slot(t.encode())] == src)
    slot = key_slot(tag.encode())
    cmd(dst, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[src])
    cmd(src, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[dst])
    try:
        r = loadgen(ports[1], '-c', '2', '-P', '4', '--keys', '200', '--requests', '3000',
                    '--command', 'INCR {%s}:__rand_int__' % tag)
        # the importing master answers for the slot only behind ASKING
        ks = cmd(dst, 'KEYS', '{%s}:*' % tag)
        reps = cmds(dst, *[c for k in ks for c in (('ASKING',), ('GET', k))]) if ks else []
        n = sum(int(v) for v in reps[1::2])
    finally:
        for p in (src, dst):
            cmd(p, 'CLUSTER', 'SETSLOT', slot, 'STABLE')
    check(r['errors'] == 0, 'ask: errors %d: %s' % (r['errors'], r['error_texts']))
    # unmeasured requests sent just before the window opens are asked too
    check(3000 <= r['asks'] <= 3600 and r['moved'] == 0, 'ask: asks %d moved %d' %
          (r['asks'], r['moved']))
    per = check_nodes(r, ports, 'ask')
    check(per.get(dst) == 3000, 'ask: the importing master served %s' % per.get(dst))
    check(n == r['asks'], 'ask: the importing master counted %d INCRs, asks %d' %
          (n, r['asks']))
    check(cmd(src, 'DBSIZE') == 0, 'ask: the migrating master got keys')


def start_kvsd_cluster():
    """Three kvsd masters in cluster mode over a static slot map (docs/CLUSTER.md's format,
    redis-cli --cluster create's ranges); None when this kvsd has no cluster mode."""
    kvsd = os.environ.get('KVSD_BIN')
    if not kvsd:
        return None
    ports = cluster_ports(3)
    mp = os.path.join(TMP, 'kvsd-cluster-map.conf')
    with open(mp, 'w') as f:
        for i, (p, r) in enumerate(zip(ports, ['0-5460', '5461-10922', '10923-16383'])):
            f.write('%040x 127.0.0.1:%d %s\n' % (0xa0 + i, p, r))
    for p in ports:
        proc = subprocess.Popen([kvsd, '--port', str(p), '--bind', '127.0.0.1', '--save', '',
                                 '--loglevel', 'warning', '--cluster-enabled', 'yes',
                                 '--cluster-config-file', mp], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while True:
            try:
                if cmd(p, 'PING') == b'PONG':
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                err = proc.stderr.read()
                if 'cluster-enabled' in err:
                    print('kvsd has no cluster mode (%s): its part skipped' % err.strip())
                    return None
                sys.exit('kvsd --cluster-enabled yes exited: %s' % err)
            if time.monotonic() > deadline:
                sys.exit('kvsd on %d did not start' % p)
            time.sleep(0.05)
    return ports


def main():
    if not shutil.which('redis-server') or not shutil.which('redis-cli'):
        print('SKIP: redis-server / redis-cli not installed')
        sys.exit(77)
    try:
        ports = start_cluster()
        test_route(ports)
        test_template(ports)
        test_tags(ports)
        test_ask(ports)
        test_moved(ports)
        # the same routing checks against kvsd's own cluster mode, where it exists
        kports = start_kvsd_cluster()
        if kports:
            test_route(kports)
            test_template(kports)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    if failures:
        sys.exit('%d failures' % len(failures))
    print('ok')


main()
