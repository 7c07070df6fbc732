#!/usr/bin/env python3
"""Differential test of the HyperLogLog commands: kvsd against redis-server 7.0,
reply bytes compared exactly (test_diff.py's Differ and comparators).

PFADD / PFCOUNT with seeded random element sets from empty to ~200k elements
(sparse, the promotion boundary, dense) with GET of the stored bytes after
them; PFMERGE of sparse / dense mixes into missing, sparse and dense
destinations; PFCOUNT of several keys; HLL bytes taken from redis-server set
into both servers (and the other way); corrupt HLLs (SET with broken sparse
payloads, then PFADD / PFCOUNT / PFMERGE / PFDEBUG: -INVALIDOBJ, no crash);
strings that are not HLLs (-WRONGTYPE); PFDEBUG's subcommands; arity;
hll-sparse-max-bytes changes; RESP3; MULTI.

Usage: test_diff_hll.py [--seed N] [--big N]
Exit status 0 when no reply differs and kvsd survived.
"""

import argparse
import os
import random
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, parse  # noqa: E402
import test_diff  # noqa: E402
from test_diff import Differ, Mismatch, int_close  # noqa: E402

BATCH = 200   # commands per pipelined send


def pipeline(p, cmds):
    """Sends cmds (lists of args) to both servers in pipelined batches and
    compares every reply."""
    for i in range(0, len(cmds), BATCH):
        chunk = cmds[i:i + BATCH]
        p.raw(b''.join(encode(*c) for c in chunk), len(chunk))


def elements(rnd, n, tag):
    return [b'%s:%d:%d' % (tag, rnd.randrange(1 << 40), i) for i in range(n)]


def sec_basic(d, p):
    d.section = 'basic'
    p.c('FLUSHALL')
    for args in (['PFADD'], ['PFCOUNT'], ['PFMERGE'], ['PFDEBUG'], ['PFDEBUG', 'getreg'],
                 ['PFDEBUG', 'getreg', 'k', 'x'], ['PFSELFTEST', 'x']):
        p.c(*args)
    p.c('PFADD', 'h')             # a new key with no element: 1
    p.c('GET', 'h')
    p.c('PFADD', 'h')             # an existing one: 0
    p.c('PFCOUNT', 'h')
    p.c('GET', 'h')
    p.c('PFCOUNT', 'nokey')
    p.c('PFCOUNT', 'nokey', 'nokey2')
    p.c('PFADD', 'h', 'a', 'b', 'c', 'a')
    p.c('PFADD', 'h', 'a')
    p.c('GET', 'h')
    p.c('PFCOUNT', 'h')
    p.c('GET', 'h')               # the cache written back
    p.c('PFADD', 'h', '')         # the empty element
    p.c('PFADD', 'h', b'\x00\xff\r\n')
    p.c('PFCOUNT', 'h')
    p.c('GET', 'h')
    # strings that are not HLLs
    p.c('SET', 's', 'hello')
    p.c('SET', 'i', '12345')
    p.c('SET', 'e', '')
    p.c('SET', 'm', 'HYLL')
    p.c('SET', 'x', b'HYLL\x02' + b'\x00' * 11 + b'\x7f\xff')        # unknown encoding
    p.c('SET', 'dshort', b'HYLL\x00' + b'\x00' * 100)               # dense, wrong size
    p.c('SET', 'magic', b'HYLX\x01' + b'\x00' * 11 + b'\x7f\xff')
    for k in ('s', 'i', 'e', 'm', 'x', 'dshort', 'magic'):
        p.c('PFADD', k, 'a')
        p.c('PFADD', k)
        p.c('PFCOUNT', k)
        p.c('PFCOUNT', 'h', k)
        p.c('PFMERGE', k, 'h')
        p.c('PFMERGE', 'h2', k)
        p.c('PFMERGE', 'h2', 'h', k)
        p.c('PFDEBUG', 'encoding', k)
        p.c('GET', k)
    p.c('EXISTS', 'h2')
    # TTL kept by PFADD, PFCOUNT's write-back and PFMERGE
    p.c('SET', 't', 'x')
    p.c('DEL', 't')
    p.c('PFADD', 't', 'a')
    p.c('EXPIRE', 't', '1000')
    p.c('PFADD', 't', 'b', 'c')
    p.c('TTL', 't', cmp=int_close(1))
    p.c('PFCOUNT', 't')
    p.c('TTL', 't', cmp=int_close(1))
    p.c('PFMERGE', 't', 'h')
    p.c('TTL', 't', cmp=int_close(1))
    p.c('GET', 't')


def sec_random_sets(d, p, seed, big):
    """Seeded random element sets of many sizes, added in batches of varying
    size; PFCOUNT and the stored bytes compared after each set."""
    d.section = 'random-sets'
    rnd = random.Random(seed)
    sizes = [0, 1, 2, 3, 5, 10, 30, 100, 300, 700, 1000, 1500, 2000, 3000, 5000, 10000, 50000, big]
    for n in sizes:
        key = 'r%d' % n
        els = elements(rnd, n, b'e')
        # some repeats: they change nothing
        els += [rnd.choice(els) for _ in range(n // 10)] if els else []
        rnd.shuffle(els)
        cmds, i = [], 0
        while i < len(els):
            k = rnd.choice((1, 1, 2, 7, 50, 300))
            cmds.append(['PFADD', key] + els[i:i + k])
            i += k
            if rnd.random() < 0.05:
                cmds.append(['PFCOUNT', key])
        pipeline(p, cmds)
        p.c('PFCOUNT', key)
        p.c('GET', key)
        p.c('PFDEBUG', 'ENCODING', key)
        p.c('PFCOUNT', key)
        p.c('STRLEN', key)


def sec_promotion(d, p, seed):
    """Single-element PFADDs across the sparse -> dense boundary, the bytes
    compared after every one of them."""
    d.section = 'promotion'
    rnd = random.Random(seed + 1)
    p.c('DEL', 'pb')
    cmds = []
    for e in elements(rnd, 2500, b'p'):
        cmds.append(['PFADD', 'pb', e])
        cmds.append(['GET', 'pb'])
    pipeline(p, cmds)
    p.c('PFDEBUG', 'ENCODING', 'pb')
    # a register above 32 promotes a tiny HLL. Such an element is 1 in 2^32:
    # this one was made by inverting MurmurHash64A for the hash 1 << 46 | 5
    # (register 5, count 33). (A search over b'x0'..b'x1999999' used to run
    # here on every run, 5-6 s of Python, and never found one: it sent
    # PFADD p33 None.)
    big = b'I\x9b\xde_a\xa0\x9cU'
    h = murmur64a(big) >> 14 | 1 << 50
    if (h & -h).bit_length() <= 32:
        raise RuntimeError('promotion: %r has no register above 32' % big)
    p.c('DEL', 'p33')
    p.c('PFADD', 'p33', 'a', 'b')
    p.c('PFADD', 'p33', big)
    p.c('PFDEBUG', 'ENCODING', 'p33')
    p.c('GET', 'p33')
    p.c('PFCOUNT', 'p33')


def murmur64a(data, seed=0xadc83b19):
    m, r, mask = 0xc6a4a7935bd1e995, 47, (1 << 64) - 1
    h = (seed ^ (len(data) * m)) & mask
    n8 = len(data) - len(data) % 8
    for i in range(0, n8, 8):
        k = struct.unpack_from('<Q', data, i)[0]
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h ^= k
        h = (h * m) & mask
    rest = data[n8:]
    if rest:
        for i in range(len(rest) - 1, -1, -1):
            h ^= rest[i] << (8 * i)
        h = (h * m) & mask
    h ^= h >> r
    h = (h * m) & mask
    h ^= h >> r
    return h


def sec_merge(d, p, seed):
    d.section = 'merge'
    rnd = random.Random(seed + 2)
    p.c('FLUSHALL')
    # sparse s1 s2 (overlapping), dense d1 d2
    specs = {'s1': 200, 's2': 300, 's3': 5, 'd1': 4000, 'd2': 20000}
    shared = elements(rnd, 100, b'shared')
    for k, n in specs.items():
        els = elements(rnd, n, k.encode()) + shared
        pipeline(p, [['PFADD', k] + els[i:i + 100] for i in range(0, len(els), 100)])
        p.c('PFDEBUG', 'ENCODING', k)
    combos = [['s1'], ['s1', 's2'], ['s1', 's2', 's3'], ['s1', 'd1'], ['d1', 's1'],
              ['d1', 'd2'], ['s1', 'd1', 'd2', 's2', 'missing'], ['missing'],
              ['missing', 'missing2']]
    for i, src in enumerate(combos):
        p.c('PFCOUNT', *src)
        for dest in ('new%d' % i, 's3', 'd1', 's1'):
            p.c('DEL', 'tmp')
            # the destination as an existing copy (sparse or dense) or missing
            if dest != 'new%d' % i:
                p.c('PFMERGE', 'tmp', dest)
            p.c('PFMERGE', 'tmp', *src)
            p.c('GET', 'tmp')
            p.c('PFCOUNT', 'tmp')
            p.c('PFDEBUG', 'ENCODING', 'tmp')
    p.c('PFMERGE', 's3', 's3')
    p.c('GET', 's3')
    p.c('PFMERGE', 'only')
    p.c('GET', 'only')
    p.c('PFCOUNT', 's1', 's2', 'd1', 'd2')
    p.c('PFCOUNT', 's1', 's1')
    # a merged HLL keeps counting
    p.c('PFADD', 'tmp', 'one', 'more')
    p.c('PFCOUNT', 'tmp')
    p.c('GET', 'tmp')


def get_bytes(cl, key):
    return parse(cl.cmd('GET', key))


def sec_cross(d, p, seed):
    """HLLs built by one server, SET into both: each server keeps working on
    the other's bytes."""
    d.section = 'cross'
    rnd = random.Random(seed + 3)
    for n in (3, 300, 3000, 30000):
        for src_side in ('b', 'a'):
            cl = p.b if src_side == 'b' else p.a
            cl.cmd('DEL', 'src')
            els = elements(rnd, n, b'c')
            for i in range(0, n, 500):
                cl.cmd('PFADD', 'src', *els[i:i + 500])
            if n % 2:
                cl.cmd('PFCOUNT', 'src')   # with a valid cache
            blob = get_bytes(cl, 'src')
            p.c('SET', 'copy', blob)
            p.c('PFCOUNT', 'copy')
            p.c('PFADD', 'copy', *elements(rnd, 20, b'more'))
            p.c('PFCOUNT', 'copy')
            p.c('GET', 'copy')
            p.c('PFMERGE', 'copy2', 'copy', 'r1000')
            p.c('GET', 'copy2')
    # the cached cardinality is believed when valid, as in Redis
    p.c('SET', 'liar', b'HYLL\x01\x00\x00\x00' + struct.pack('<Q', 12345) + b'\x7f\xff')
    p.c('PFCOUNT', 'liar')
    p.c('SET', 'liar', b'HYLL\x01\x00\x00\x00' + struct.pack('<Q', 1 << 62) + b'\x7f\xff')
    p.c('PFCOUNT', 'liar')
    p.c('PFADD', 'liar', 'a')
    p.c('PFCOUNT', 'liar')


def sparse(ops, card=b'\x00' * 7 + b'\x80'):
    return b'HYLL\x01\x00\x00\x00' + card + bytes(ops)


CORRUPT = [
    [],                              # no opcode at all
    [0x7f],                          # XZERO cut in half (reads a 0 byte past the end)
    [0x7f, 0xfe],                    # 16383 registers
    [0x7f, 0xff, 0x00],              # 16385
    [0x7f, 0xff, 0x80],              # 16384 + a VAL
    [0x3f] * 256,                    # 16384 in ZEROs: valid
    [0x3f] * 255,                    # 16320
    [0x3f] * 255 + [0xff] * 16,      # VAL runs to the end: valid
    [0x3f] * 255 + [0xff] * 17,      # one VAL too many
    [0xff] * 4096,                   # 16384 registers of 32: valid
    [0xff] * 4097,
    [0x40, 0x00] * 16384,            # XZERO of one, 16384 times: valid
    [0x40, 0x00] * 100,
    [0x7f, 0xff] * 2,                # 32768
    [0x3f, 0x7f],                    # ZERO then a half XZERO
    [0x80] + [0x7f, 0xfe],           # VAL then XZERO: valid
    [0x7f, 0xfe, 0x83],              # 16383 zeros then VAL of len 4: overflow
]


def sec_corrupt(d, p, seed):
    d.section = 'corrupt'
    rnd = random.Random(seed + 4)
    blobs = [sparse(ops) for ops in CORRUPT]
    blobs.append(b'HYLL\x01\x00\x00\x00' + b'\x00' * 7)   # 15 bytes: not an HLL
    # valid HLLs with random damage
    for n in (0, 5, 100, 700):
        p.a.cmd('DEL', 'v')
        if n:
            p.a.cmd('PFADD', 'v', *elements(rnd, n, b'v'))
        else:
            p.a.cmd('PFADD', 'v')
        good = get_bytes(p.a, 'v')
        for _ in range(25):
            b = bytearray(good)
            for _ in range(rnd.randint(1, 3)):
                what = rnd.random()
                pos = rnd.randrange(16, len(b)) if len(b) > 16 else 16
                if what < 0.4 and len(b) > 16:
                    b[pos] = rnd.randrange(256)
                elif what < 0.7 and len(b) > 17:
                    del b[pos]
                else:
                    b[pos:pos] = bytes([rnd.randrange(256)])
            blobs.append(bytes(b))
    for blob in blobs:
        p.c('SET', 'bad', blob)
        p.c('PFCOUNT', 'bad')
        p.c('PFCOUNT', 'bad', 'r100')
        p.c('PFMERGE', 'dst', 'bad')
        p.c('GET', 'dst')
        p.c('PFDEBUG', 'DECODE', 'bad')
        p.c('PFADD', 'bad', 'a', 'b', 'c', 'd')
        p.c('GET', 'bad')
        p.c('PFADD', 'bad', *elements(rnd, 30, b'z'))
        p.c('GET', 'bad')
        p.c('PFCOUNT', 'bad')
        p.c('PFMERGE', 'bad', 'r100')
        p.c('GET', 'bad')
        p.c('SET', 'bad', blob)
        p.c('PFMERGE', 'bad', 'd1')
        p.c('GET', 'bad')
        p.c('SET', 'bad', blob)
        p.c('PFDEBUG', 'TODENSE', 'bad')
        p.c('GET', 'bad')
        p.c('SET', 'bad', blob)
        p.c('PFDEBUG', 'GETREG', 'bad')
        p.c('DEL', 'dst')
    p.c('PING')


def sec_pfdebug(d, p):
    d.section = 'pfdebug'
    p.c('PFDEBUG', 'getreg', 'nokey')
    p.c('PFDEBUG', 'nosuch', 'nokey')
    p.c('SET', 'str', 'abc')
    p.c('PFDEBUG', 'getreg', 'str')
    p.c('PFDEBUG', 'nosuch', 'str')
    p.c('DEL', 'g')
    p.c('PFADD', 'g', 'a', 'b', 'c')
    for sub in ('encoding', 'ENCODING', 'decode', 'Decode', 'nosuch', 'getreg'):
        p.c('PFDEBUG', sub, 'g')
    p.c('GET', 'g')                   # GETREG left it dense
    for sub in ('encoding', 'decode', 'todense', 'getreg'):
        p.c('PFDEBUG', sub, 'g')
    p.c('DEL', 'g')
    p.c('PFADD', 'g', 'x')
    p.c('PFDEBUG', 'todense', 'g')
    p.c('GET', 'g')
    p.c('PFDEBUG', 'todense', 'g')
    p.c('PFDEBUG', 'decode', 'r1000')
    p.c('PFDEBUG', 'getreg', 'r50000')


def sec_config(d, p, seed):
    d.section = 'config'
    rnd = random.Random(seed + 5)
    for v in ('-1', 'abc', '1kb', '0', '100', '3000', '9223372036854775807',
              '9223372036854775808', '50000'):
        p.c('CONFIG', 'SET', 'hll-sparse-max-bytes', v)
        p.c('CONFIG', 'GET', 'hll-sparse-max-bytes')
    for v in ('0', '30', '200', '1000', '20000'):
        p.c('CONFIG', 'SET', 'hll-sparse-max-bytes', v)
        p.c('DEL', 'c')
        els = elements(rnd, 3000, b'cfg')
        cmds = []
        for i in range(0, len(els), 10):
            cmds.append(['PFADD', 'c'] + els[i:i + 10])
            cmds.append(['PFDEBUG', 'encoding', 'c'])
            if i % 100 == 0:
                cmds.append(['GET', 'c'])
        pipeline(p, cmds)
        p.c('GET', 'c')
        p.c('PFMERGE', 'c2', 'r1000', 'r300')
        p.c('GET', 'c2')
        p.c('DEL', 'c2')
    p.c('CONFIG', 'SET', 'hll-sparse-max-bytes', '3000')


def sec_resp3_multi(d, p):
    d.section = 'resp3-multi'
    p.c('HELLO', '3', cmp=lambda a, b: a[:1] == b[:1])
    p.c('PFADD', 'h3', 'a', 'b')
    p.c('PFCOUNT', 'h3')
    p.c('PFCOUNT', 'h3', 'r100')
    p.c('PFDEBUG', 'encoding', 'h3')
    p.c('PFDEBUG', 'decode', 'h3')
    p.c('PFDEBUG', 'getreg', 'h3')
    p.c('PFMERGE', 'h3', 'r10')
    p.c('PFDEBUG', 'nosuch', 'h3')
    p.c('HELLO', '2', cmp=lambda a, b: a[:1] == b[:1])
    p.c('MULTI')
    p.c('PFADD', 'hm', 'a')
    p.c('PFCOUNT', 'hm')
    p.c('PFCOUNT', 'hm', 'h3')
    p.c('PFMERGE', 'hm', 'h3')
    p.c('PFADD', 'str', 'a')
    p.c('GET', 'hm')
    p.c('EXEC')
    # PFSELFTEST runs for seconds (longer under sanitizers): its own clients
    ra, rb = [s.client(timeout=300).cmd('PFSELFTEST') for s in (d.sa, d.sb)]
    d.count += 1
    if ra != rb:
        d.report(['PFSELFTEST'], ra, rb)


def sec_concurrent(d, p, seed):
    """kvsd only: four clients PFADD disjoint element sets into one key at
    once (each add a read-copy-update that must not lose another's), while
    a fifth runs PFMERGE and PFCOUNT of several keys over it. The registers
    must be those of the union (redis-server, built sequentially), and no
    reply an error."""
    d.section = 'concurrent'
    rnd = random.Random(seed + 6)
    sets = [elements(rnd, 4000, b'w%d' % t) for t in range(4)]
    p.c('DEL', 'cc', 'ccm')
    errors = []

    def writer(els):
        cl = d.sa.client(timeout=30)
        try:
            # pipelined, so that the two workers update the key at once
            cmds = [encode('PFADD', 'cc', *els[i:i + 2]) for i in range(0, len(els), 2)]
            cl.send(b''.join(cmds))
            for _ in cmds:
                r = cl.read_reply()
                if r not in (b':0\r\n', b':1\r\n'):
                    errors.append(r)
        finally:
            cl.close()

    def merger(stop):
        cl = d.sa.client(timeout=30)
        try:
            while not stop.is_set():
                for cmd in (('PFMERGE', 'ccm', 'cc', 'r1000'), ('PFCOUNT', 'cc', 'r100'),
                            ('PFCOUNT', 'cc')):
                    r = cl.cmd(*cmd)
                    if r.startswith(b'-'):
                        errors.append(r)
        finally:
            cl.close()

    stop = threading.Event()
    m = threading.Thread(target=merger, args=(stop,))
    m.start()
    ws = [threading.Thread(target=writer, args=(els,)) for els in sets]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    m.join()
    for els in sets:
        for i in range(0, len(els), 500):
            p.b.cmd('PFADD', 'cc', *els[i:i + 500])
    p.c('PFDEBUG', 'GETREG', 'cc')
    p.c('PFCOUNT', 'cc')
    p.c('PFMERGE', 'ccm', 'cc', 'r1000')
    p.c('PFDEBUG', 'GETREG', 'ccm')
    if errors:
        d.report(['concurrent PFADD / PFMERGE'], b'errors: %r' % errors[:3], b'none')


def sec_selftest_others_answered(d):
    """kvsd only: while PFSELFTEST keeps one worker busy for about a second,
    new clients (some land on the busy worker) get PING answered within
    300 ms each — Redis would stall them all."""
    d.section = 'selftest-others-answered'
    if harness.sanitized():
        return  # the bound is for release builds
    busy = d.sa.client(timeout=300)
    busy.send(encode('PFSELFTEST'))
    time.sleep(0.05)
    slow = []
    t_end = time.monotonic() + 0.6
    while time.monotonic() < t_end:
        c = d.sa.client(timeout=5)
        t0 = time.monotonic()
        r = c.cmd('PING')
        dt = time.monotonic() - t0
        c.close()
        d.count += 1
        if r != b'+PONG\r\n' or dt > 0.3:
            slow.append((r, round(dt, 3)))
    r = busy.read_reply()
    busy.close()
    d.count += 1
    if r != b'+OK\r\n':
        d.report(['PFSELFTEST'], r, b'+OK\r\n')
    if slow:
        d.report(['PING during PFSELFTEST'], b'%r' % slow[:5], b'all within 300 ms')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=int(os.environ.get('DIFF_SEED', '12')))
    ap.add_argument('--big', type=int, default=200000)
    args = ap.parse_args()
    servers = test_diff.start_pair('diff-hll')
    if servers is None:
        return 1
    sa, sb = servers
    harness.log('diff-hll: kvsd port %d, redis port %d, seed %d' % (sa.port, sb.port, args.seed))
    d = Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        sec_basic(d, p)
        sec_random_sets(d, p, args.seed, args.big)
        sec_promotion(d, p, args.seed)
        sec_pfdebug(d, p)
        sec_merge(d, p, args.seed)
        sec_random_sets(d, p, args.seed, 1000)   # r10, r100, r1000 for what follows
        sec_cross(d, p, args.seed)
        sec_corrupt(d, p, args.seed)
        sec_config(d, p, args.seed)
        sec_resp3_multi(d, p)
        sec_concurrent(d, p, args.seed)
        p.close()
        sec_selftest_others_answered(d)
    except Mismatch:
        pass
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-hll: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-hll', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
