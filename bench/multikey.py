#!/usr/bin/env python3
"""bench/multikey.py — multi-key commands and large transactions, kvsd vs
redis-server 7.0 in the same run (issue 10, defect 3).

For each size N it times, on one connection to each server, from the first
byte sent to the last reply byte read (the request bytes are built before the
clock starts; this includes the client's sending and the server's parsing),
and reads the server's own time for the command from INFO commandstats
(usec of the command, or of EXEC for a transaction):
  MSET N new keys; MGET, EXISTS, TOUCH of the N keys; DEL of them; MSET again
  and UNLINK; MULTI + N SETs + EXEC; the same MULTI over existing keys.
Each figure is the median of --runs runs (FLUSHALL before each), and the
ratios kvsd / redis are printed beside them. A program that prints figures: it
never fails on speed (the regression test test_multikey.py asserts only
generous absolute bounds). Run it on an otherwise idle machine; figures from a
shared machine are noisy.

Usage: bench/multikey.py [--sizes 5000,20000,80000,100000] [--runs 3]
                         [--kvsd-args '--threads 2'] [--commands MSET,DEL,...]
Environment: KVSD_BIN (default build/server/kvsd), REDIS_BIN.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration', 'py'))
import harness  # noqa: E402
from harness import encode  # noqa: E402


def keys(n):
    return ['mk:%d' % i for i in range(n)]


def requests(n, only):
    ks = keys(n)
    mset = ['MSET']
    for i, k in enumerate(ks):
        mset += [k, 'v%d' % i]
    # the keys, created by pipelined SETs (untimed; fast on any version)
    fill = (b''.join(encode('SET', k, 'v%d' % i) for i, k in enumerate(ks)), n)
    multi = encode('MULTI') + b''.join(encode('SET', k, 'w') for k in ks) + encode('EXEC')
    out = [
        # (name, setup bytes and reply count (untimed), timed bytes and reply count)
        ('MSET', None, (encode(*mset), 1)),
        ('MGET', fill, (encode('MGET', *ks), 1)),
        ('EXISTS', fill, (encode('EXISTS', *ks), 1)),
        ('TOUCH', fill, (encode('TOUCH', *ks), 1)),
        ('DEL', fill, (encode('DEL', *ks), 1)),
        ('UNLINK', fill, (encode('UNLINK', *ks), 1)),
        ('MULTI SET new', None, (multi, n + 2)),
        ('MULTI SET existing', fill, (multi, n + 2)),
    ]
    return [r for r in out if not only or r[0] in only]


def read_exact(client, nbytes):
    """Reads exactly nbytes of replies (the harness's parser re-scans a growing
    buffer: too slow to time a 100k-element reply)."""
    got = bytearray(client.buf)
    client.buf.clear()
    while len(got) < nbytes:
        chunk = client.sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError('connection closed')
        got += chunk
    if len(got) != nbytes:
        raise RuntimeError('%d reply bytes, expected %d' % (len(got), nbytes))
    return bytes(got)


def server_usec(client, cmd):
    """usec of cmdstat_<cmd> in INFO commandstats: the server's own time."""
    text = harness.parse(client.cmd('INFO', 'commandstats')).decode()
    for line in text.split('\r\n'):
        if line.startswith('cmdstat_%s:' % cmd):
            return int(line.split('usec=')[1].split(',')[0])
    return 0


def run_one(client, setup, timed, nbytes, cmd):
    """Runs setup (untimed), then times the request; returns (wall seconds,
    server seconds from commandstats, reply bytes); nbytes None: parse the
    replies (slow) and return only their bytes."""
    client.cmd('FLUSHALL')
    if setup:
        client.send(setup[0])
        client.read_replies(setup[1])
    if nbytes is None:
        client.send(timed[0])
        return b''.join(client.read_replies(timed[1]))
    client.cmd('CONFIG', 'RESETSTAT')
    t0 = time.perf_counter()
    client.send(timed[0])
    out = read_exact(client, nbytes)
    dt = time.perf_counter() - t0
    return dt, server_usec(client, cmd) / 1e6, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='5000,20000,80000,100000')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--kvsd-args', default='--threads 2')
    ap.add_argument('--timeout', type=float, default=120.0)
    ap.add_argument('--commands', default='',
                    help="comma-separated subset, e.g. 'MSET,DEL,MULTI SET new'")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(',')]
    with harness.kvsd_server(a.kvsd_args.split()) as k, harness.redis_server() as r:
        ck = k.client(timeout=a.timeout)
        cr = r.client(timeout=a.timeout)
        print('%-20s %8s %10s %10s %7s %10s %10s %7s' %
              ('command', 'N', 'kvsd ms', 'redis ms', 'ratio', 'kvsd srv', 'redis srv',
               'ratio'))
        for n in sizes:
            only = [x for x in a.commands.split(',') if x]
            for name, setup, timed in requests(n, only):
                cmd = 'exec' if name.startswith('MULTI') else name.lower()
                # the exact reply bytes, from redis (kvsd must send the same)
                want = run_one(cr, setup, timed, None, cmd)
                tk, tr, sk, sr = [], [], [], []
                for _ in range(a.runs):  # alternate the servers
                    dt, srv, got = run_one(ck, setup, timed, len(want), cmd)
                    if got != want:
                        raise RuntimeError('%s %d: kvsd replied differently' % (name, n))
                    tk.append(dt)
                    sk.append(srv)
                    dt, srv, _ = run_one(cr, setup, timed, len(want), cmd)
                    tr.append(dt)
                    sr.append(srv)
                mk, mr = statistics.median(tk) * 1e3, statistics.median(tr) * 1e3
                vk, vr = statistics.median(sk) * 1e3, statistics.median(sr) * 1e3
                print('%-20s %8d %10.1f %10.1f %7.2f %10.1f %10.1f %7.2f' %
                      (name, n, mk, mr, mk / mr, vk, vr, vk / vr if vr else 0), flush=True)
        ck.close()
        cr.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
