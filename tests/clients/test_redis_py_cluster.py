#!/usr/bin/python3
"""redis-py's RedisCluster against a three-node kvsd cluster (issue 18).

Run by Debian's /usr/bin/python3 (python3-redis 4.3.4, whose RedisCluster starts
with CLUSTER SLOTS and COMMAND). scripts/cluster.sh starts the nodes on free
loopback ports (tests/integration/py/clusterlib.py). RedisCluster writes and
reads CLUSTER_KEYS keys (default 20000; half untagged, half with hash tags)
one command at a time and through its pipeline, and runs a multi-key command
on one tag; then, connecting to each node directly: zero errors, every key on
the node its slot names, each node 33 +- 2 % of the untagged keys.

Usage: KVSD_BIN=build/server/kvsd /usr/bin/python3 tests/clients/test_redis_py_cluster.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration', 'py'))
sys.dont_write_bytecode = True  # keep the source tree clean
import clusterlib  # noqa: E402
import harness  # noqa: E402

try:
    from redis.cluster import RedisCluster
except ImportError:
    sys.stderr.write('FAIL: redis-py (with redis.cluster) is not installed for %s: run '
                     'scripts/setup.sh (Debian package python3-redis)\n' % sys.executable)
    sys.exit(1)


def main():
    n = int(os.environ.get('CLUSTER_KEYS', '20000'))
    if harness.sanitized():
        n = max(1000, n // 4)
    errors = []
    kc = clusterlib.start_kvsd_cluster(harness.kvsd_binary())
    try:
        rc = RedisCluster(host='127.0.0.1', port=kc.ports[1], decode_responses=True,
                          socket_timeout=10)
        nodes = sorted((nd.host, nd.port) for nd in rc.get_nodes())
        if nodes != [('127.0.0.1', p) for p in kc.ports]:
            errors.append('discovered nodes %r' % (nodes,))
        half = n // 2
        untagged = ['py:%d' % i for i in range(half)]
        tagged = ['{user%d}py:%d' % (i % 11, i) for i in range(n - half)]
        # one command at a time for a part, the pipeline for the rest
        single = untagged[:2000] + tagged[:2000]
        for k in single:
            if rc.set(k, 'v' + k) is not True:
                errors.append('SET %s' % k)
        rest = untagged[2000:] + tagged[2000:]
        for i in range(0, len(rest), 1000):
            p = rc.pipeline()
            for k in rest[i:i + 1000]:
                p.set(k, 'v' + k)
            bad = [r for r in p.execute() if r is not True]
            if bad:
                errors.append('pipelined SET: %r' % bad[:3])
        keys = untagged + tagged
        mism = 0
        for k in single:
            mism += rc.get(k) != 'v' + k
        for i in range(0, len(rest), 1000):
            p = rc.pipeline()
            for k in rest[i:i + 1000]:
                p.get(k)
            mism += sum(1 for k, v in zip(rest[i:i + 1000], p.execute()) if v != 'v' + k)
        if mism:
            errors.append('%d values read back differ' % mism)
        # multi-key commands on one hash tag run on the tag's node
        tag = ['{user3}py:%d' % i for i in range(3, 300, 11)]
        got = rc.mget(tag)
        if got != ['v' + k for k in tag]:
            errors.append('MGET on one tag: %r' % got[:3])
        if rc.execute_command('CLUSTER KEYSLOT', 'py:1') != clusterlib.keyslot(b'py:1'):
            errors.append('CLUSTER KEYSLOT')
        total = 0
        for port in kc.ports:
            with harness.Client(port) as c:
                total += harness.parse(c.cmd('DBSIZE'))
        if total != len(keys):
            errors.append('DBSIZE of the nodes sums to %d, want %d' % (total, len(keys)))
        rc.close()
        counts = clusterlib.check_placement(kc.ports, b'py:', errors, 'redis-py')
        for e in errors[:10]:
            harness.log(e)
        harness.log('redis-py RedisCluster: %d keys, untagged per node %r, %d mismatches, '
                    '%d errors' % (len(keys), counts, mism, len(errors)))
    finally:
        kc.stop()
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
