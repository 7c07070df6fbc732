#!/usr/bin/env python3
"""Bitmap writes under concurrency (kvsd only): SETBIT and BITFIELD are
compare-and-swap loops that rebuild the value, so two clients writing the
same key at once must never lose one another's update, and BITOP's result
must come from one state of its sources.

  - setbit_no_lost_update: THREADS clients (on both workers) each set their
    own PER bits of one key, pipelined; afterwards every one of those bits is
    set and BITCOUNT is exactly THREADS * PER, and every reply was :0.
  - bitfield_incr_no_lost_update: THREADS clients each INCRBY the same u32
    field (and one of their own i16 fields) PER times; the shared field ends
    at THREADS * PER and every INCRBY reply is distinct (linearizable).
  - bitop_one_state: one client alternates MSET a b to (x, x) and (y, y);
    BITOP XOR of a and b, read concurrently, is always all zeros (never a
    mix of two MSETs).
  - setbit_recycled_matches_model: SETBIT on bitmaps of BITPOOL_MIN bytes
    and more is built from recycled buffers (server/bitpool.h) brought up to
    date by replaying recorded byte changes. THREADS clients set and clear
    random bits, each only its own bits (bit % THREADS), keeping a model:
    every reply (the old bit) must match the model, and at the end GET must
    equal the models combined; then, from one client, the lineage is ended
    and restarted (SET, DEL, BITFIELD, a growing SETBIT, EXPIRE) and the
    value checked against a model after each step.
  - bitfield_past_storage_max (regression, found in review): with
    proto-max-bulk-len at storage's maximum (1 GB - 1), a BITFIELD write
    whose field starts below the limit but ends past it asked storage for an
    entry larger than it holds (an assertion: the server died); now it is
    refused with Redis's proto-max-bulk-len error and the server lives on.

Usage: test_bits_concurrent.py [scenario...]
"""

import contextlib
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402

THREADS = 4
PER = 1500
failures = []


def check(what, ok, detail=''):
    harness.log('%s %s %s' % ('ok  ' if ok else 'FAIL', what, detail))
    if not ok:
        failures.append(what)
    return ok


@contextlib.contextmanager
def server():
    """kvsd with two workers; its exit status on SIGTERM must be 0 (under
    ASan that includes LeakSanitizer's verdict on everything freed at exit)."""
    s = harness.kvsd_server(['--threads', '2'])
    s.start()
    try:
        yield s
    finally:
        code = s.stop()
        check('kvsd exits cleanly', code == 0, '(exit %s)' % code)


def run_threads(fn):
    errs = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # reported below, the test fails
            errs.append(repr(e))
    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return errs


def t_setbit_no_lost_update():
    with server() as s:
        # a 64 KB bitmap, so each rebuild is a real copy
        s.client().cmd('SETBIT', 'bm', str(64 * 1024 * 8 - 1), '0')
        bad = []

        def writer(i):
            c = s.client(timeout=60)
            offs = [j * THREADS + i for j in range(PER)]
            c.send(b''.join(encode('SETBIT', 'bm', str(o * 37 % (64 * 1024 * 8 - 1)), '1')
                            for o in offs))
            for r in c.read_replies(len(offs)):
                if r != b':0\r\n':
                    bad.append(r)
            c.close()
        errs = run_threads(writer)
        c = s.client()
        n = c.cmd('BITCOUNT', 'bm')
        check('setbit: no client error', not errs, str(errs[:2]))
        check('setbit: every SETBIT answered :0 (its bit was new)', not bad, str(bad[:3]))
        check('setbit: BITCOUNT counts every bit', n == b':%d\r\n' % (THREADS * PER), repr(n))
        c.close()


def t_bitfield_incr_no_lost_update():
    with server() as s:
        seen = []
        lock = threading.Lock()

        def writer(i):
            c = s.client(timeout=60)
            c.send(encode('BITFIELD', 'bf', 'INCRBY', 'u32', '0', '1',
                          'INCRBY', 'i16', '#%d' % (4 + i), '-1') * PER)
            mine = []
            for r in c.read_replies(PER):
                mine.append(harness.parse(r)[0])
            with lock:
                seen.extend(mine)
            c.close()
        errs = run_threads(writer)
        c = s.client()
        r = harness.parse(c.cmd('BITFIELD', 'bf', 'GET', 'u32', '0',
                                *sum((['GET', 'i16', '#%d' % (4 + i)]
                                      for i in range(THREADS)), [])))
        check('bitfield: no client error', not errs, str(errs[:2]))
        check('bitfield: shared counter reached THREADS * PER', r[0] == THREADS * PER, str(r))
        check('bitfield: each client\'s own field', r[1:] == [-PER] * THREADS, str(r))
        check('bitfield: every INCRBY reply distinct (1..N)',
              sorted(seen) == list(range(1, THREADS * PER + 1)))
        c.close()


def t_bitop_one_state():
    with server() as s:
        x, y = b'\x0f' * 4096, b'\xf0' * 4096
        s.client().cmd('MSET', 'a', x, 'b', x)
        stop = threading.Event()

        def flipper():
            c = s.client(timeout=60)
            i = 0
            while not stop.is_set():
                v = x if i % 2 else y
                c.cmd('MSET', 'a', v, 'b', v)
                i += 1
            c.close()
        t = threading.Thread(target=flipper)
        t.start()
        c = s.client(timeout=60)
        mixed = 0
        for _ in range(800):
            c.cmd('BITOP', 'XOR', 'd', 'a', 'b')
            if c.cmd('BITCOUNT', 'd') != b':0\r\n':
                mixed += 1
        stop.set()
        t.join(30)
        check('bitop: XOR of two keys always written together is all zeros', mixed == 0,
              '(%d of 800 mixed)' % mixed)
        c.close()


def _getbit(buf, off):
    return (buf[off >> 3] >> (7 - (off & 7))) & 1


def _setbit(buf, off, v):
    mask = 1 << (7 - (off & 7))
    buf[off >> 3] = (buf[off >> 3] | mask) if v else (buf[off >> 3] & ~mask)


def t_setbit_recycled_matches_model():
    import random
    size = 64 * 1024
    nbits = size * 8
    with server() as s:
        c = s.client(timeout=60)
        c.cmd('SETBIT', 'bm', str(nbits - 1), '0')
        models = [bytearray(size) for _ in range(THREADS)]
        bad = []

        def writer(i):
            rng = random.Random(100 + i)
            w = s.client(timeout=60)
            m = models[i]
            for _ in range(10):
                batch = []
                for _ in range(400):
                    off = rng.randrange(nbits // THREADS) * THREADS + i
                    batch.append((off, rng.randrange(2)))
                w.send(b''.join(encode('SETBIT', 'bm', str(o), str(v)) for o, v in batch))
                for (o, v), r in zip(batch, w.read_replies(len(batch))):
                    if r != b':%d\r\n' % _getbit(m, o):
                        bad.append((i, o, r))
                    _setbit(m, o, v)
            w.close()
        errs = run_threads(writer)
        want = bytearray(size)
        for m in models:
            for j in range(size):
                want[j] |= m[j]
        got = harness.parse(c.cmd('GET', 'bm'))
        check('recycled: no client error', not errs, str(errs[:2]))
        check('recycled: every reply is the model\'s old bit', not bad, str(bad[:3]))
        check('recycled: the value is the models combined', got == bytes(want))
        # end and restart the lineage; check against a model after each step
        rng = random.Random(5)
        model = bytearray(want)
        steps_bad = []

        def burst(n=300):
            for _ in range(n):
                o, v = rng.randrange(len(model) * 8), rng.randrange(2)
                r = c.cmd('SETBIT', 'bm', str(o), str(v))
                if r != b':%d\r\n' % _getbit(model, o):
                    steps_bad.append(('setbit', o, r))
                _setbit(model, o, v)
        for step in ('set', 'del', 'bitfield', 'grow', 'expire', 'plain'):
            if step == 'set':
                model = bytearray(rng.randbytes(size))
                c.cmd('SET', 'bm', bytes(model))
            elif step == 'del':
                c.cmd('DEL', 'bm')
                c.cmd('SETBIT', 'bm', str(nbits - 1), '0')
                model = bytearray(size)
            elif step == 'bitfield':
                c.cmd('BITFIELD', 'bm', 'SET', 'u8', '0', '170')
                model[0] = 170
            elif step == 'grow':
                c.cmd('SETBIT', 'bm', str(len(model) * 8 + 7), '1')
                model += b'\x01'
            elif step == 'expire':
                c.cmd('EXPIRE', 'bm', '1000')
            burst()
            if harness.parse(c.cmd('GET', 'bm')) != bytes(model):
                steps_bad.append(('value after', step))
        check('recycled: lineage restarts keep the value right', not steps_bad,
              str(steps_bad[:3]))
        c.close()


def t_bitfield_past_storage_max():
    with server() as s:
        c = s.client()
        c.cmd('CONFIG', 'SET', 'proto-max-bulk-len', str((1 << 30) - 1))
        r = c.cmd('BITFIELD', 'bf', 'SET', 'i64', '#134217727', '1')
        check('bitfield past the maximum: refused',
              r == b'-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n',
              repr(r))
        check('bitfield past the maximum: server alive', c.cmd('PING') == b'+PONG\r\n')
        check('bitfield past the maximum: nothing created', c.cmd('EXISTS', 'bf') == b':0\r\n')
        c.close()


TESTS = {
    'setbit_no_lost_update': t_setbit_no_lost_update,
    'bitfield_incr_no_lost_update': t_bitfield_incr_no_lost_update,
    'bitop_one_state': t_bitop_one_state,
    'bitfield_past_storage_max': t_bitfield_past_storage_max,
    'setbit_recycled_matches_model': t_setbit_recycled_matches_model,
}


def main():
    return harness.run_all(TESTS, failures, check, 'bits-concurrent')


if __name__ == '__main__':
    sys.exit(main())
