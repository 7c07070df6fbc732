#!/usr/bin/env python3
"""Glob patterns as redis-server 7.0 matches them (issue 17: "fuzz the glob matcher against
Redis's"): random patterns and subjects built from the special bytes (* ? [ ] ^ - \\, NUL,
bytes >= 0x80, both cases), matched on both servers three ways:

- KEYS pattern over ~150 random keys (each KEYS checks the pattern against every key);
- PUBSUB CHANNELS pattern over ~60 channels a subscriber holds;
- PUBLISH's receiver count to a client PSUBSCRIBEd to a batch of random patterns (the
  pattern subscription path of server/pubsub.c).
Results are compared as sets (Redis's order is its hash order). Then the pathological
patterns: '*a' x 999 / 1,001 (Redis gives up past 1,000 nested '*'), '*a*a*...*b' against
long runs of 'a' (exponential without the early give-up), unterminated classes and a
trailing backslash. A fixed seed; about 3,000 patterns in a few seconds.

Usage: test_diff_glob.py   (environment: see harness.py)
"""

import os
import random
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402
import test_diff  # noqa: E402

ALPHA = [b'a', b'b', b'c', b'A', b'B', b'z', b'-', b'^', b']', b'[', b'*', b'?', b'\\', b'\x00',
         b'\xff', b'\x80', b'0', b'_']
PIECES = [b'*', b'?', b'[', b']', b'[a-c]', b'[^a]', b'[z-a]', b'[\\]]', b'[a-]', b'\\',
          b'\\*', b'[^', b'[\xff-\x80]', b'[A-z]', b'**', b'[]', b'[!a]', b'[-a]']
NPATTERNS = 3000
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        if len(failures) <= 20:
            harness.log('FAIL: %s' % what)


def rand_subject(rng):
    return b''.join(rng.choice(ALPHA) for _ in range(rng.randint(0, 6)))


def rand_pattern(rng):
    out = []
    for _ in range(rng.randint(0, 6)):
        out.append(rng.choice(PIECES) if rng.random() < 0.45 else rng.choice(ALPHA))
    return b''.join(out)


def pipeline(cl, cmds):
    """Sends every command at once and returns the parsed replies."""
    cl.send(b''.join(encode(*c) for c in cmds))
    return [harness.parse(cl.read_reply()) for _ in cmds]


def as_set(v):
    return sorted(v) if isinstance(v, list) else ('not an array', v)


def keys_section(ka, kb, rng):
    keys = sorted({rand_subject(rng) for _ in range(200)})[:150]
    for cl in (ka, kb):
        pipeline(cl, [('FLUSHALL',)] + [('SET', k, b'1') for k in keys])
    pats = [rand_pattern(rng) for _ in range(NPATTERNS)]
    ra = pipeline(ka, [('KEYS', p) for p in pats])
    rb = pipeline(kb, [('KEYS', p) for p in pats])
    for p, a, b in zip(pats, ra, rb):
        check(as_set(a) == as_set(b), 'KEYS %r: kvsd %r, redis %r' % (p, as_set(a), as_set(b)))
    harness.log('KEYS: %d patterns x %d keys' % (len(pats), len(keys)))


def channels_section(sa, sb, rng):
    chans = sorted({rand_subject(rng) for _ in range(90)} - {b''})[:60]
    pats = [rand_pattern(rng) for _ in range(600)]
    subs = []
    for s in (sa, sb):
        sub = harness.Client(s.port)
        sub.send(encode('SUBSCRIBE', *chans))
        sub.read_replies(len(chans))
        subs.append(sub)
    qa, qb = harness.Client(sa.port), harness.Client(sb.port)
    ra = pipeline(qa, [('PUBSUB', 'CHANNELS', p) for p in pats])
    rb = pipeline(qb, [('PUBSUB', 'CHANNELS', p) for p in pats])
    for p, a, b in zip(pats, ra, rb):
        check(as_set(a) == as_set(b),
              'PUBSUB CHANNELS %r: kvsd %r, redis %r' % (p, as_set(a), as_set(b)))
    for c in subs + [qa, qb]:
        c.close()
    harness.log('PUBSUB CHANNELS: %d patterns x %d channels' % (len(pats), len(chans)))


def wait_no_subscriptions(port):
    """Waits (bounded) until the server holds no channel or pattern
    subscription: a closed subscriber's are dropped when the server reads its
    EOF, which on kvsd's worker threads may come after another client's
    PUBLISH (an earlier round's client counted in this round's PUBLISH)."""
    c = harness.Client(port)
    try:
        for _ in range(500):
            if (harness.parse(c.cmd('PUBSUB', 'NUMPAT')) == 0
                    and harness.parse(c.cmd('PUBSUB', 'CHANNELS')) == []):
                return
            time.sleep(0.01)
        check(False, 'subscriptions still held 5 s after their clients closed')
    finally:
        c.close()


def psubscribe_section(sa, sb, rng):
    """A client PSUBSCRIBEd to 40 patterns; PUBLISH's count is how many of them match."""
    total = 0
    for _ in range(8):
        pats = sorted({rand_pattern(rng) for _ in range(40)})
        chans = [rand_subject(rng) for _ in range(60)]
        res = []
        for s in (sa, sb):
            wait_no_subscriptions(s.port)
            sub = harness.Client(s.port)
            sub.send(encode('PSUBSCRIBE', *pats))
            sub.read_replies(len(pats))
            pub = harness.Client(s.port)
            res.append(pipeline(pub, [('PUBLISH', c, b'm') for c in chans]))
            pub.close()
            sub.close()
        for c, a, b in zip(chans, res[0], res[1]):
            check(a == b, 'PUBLISH %r to PSUBSCRIBE %r: kvsd %r, redis %r' % (c, pats, a, b))
        total += len(chans) * len(pats)
    harness.log('PSUBSCRIBE + PUBLISH: %d pattern x channel pairs' % total)


def pathological_section(ka, kb):
    keys = [b'a' * 1100, b'a' * 1100 + b'b', b'a' * 30, b'a' * 30 + b'b', b'x[', b'x\\',
            b'ab\\', b'\\']
    pats = [b'*a' * 999, b'*a' * 1001, b'*a' * 1001 + b'b', b'*a' * 999 + b'*b',
            b'*a' * 30 + b'*b', b'*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
            b'*' * 3000 + b'b', b'?' * 1100, b'*?' * 600 + b'b', b'x[', b'x[\\', b'x\\',
            b'ab\\', b'\\', b'[', b'[^', b'*[a-', b'x\\\\']
    for cl in (ka, kb):
        pipeline(cl, [('FLUSHALL',)] + [('SET', k, b'1') for k in keys])
    ra = pipeline(ka, [('KEYS', p) for p in pats])
    rb = pipeline(kb, [('KEYS', p) for p in pats])
    for p, a, b in zip(pats, ra, rb):
        check(as_set(a) == as_set(b), 'KEYS %r...: kvsd %r, redis %r' %
              (p[:40], [k[:12] for k in as_set(a)], [k[:12] for k in as_set(b)]))
    harness.log('pathological: %d patterns' % len(pats))


def main():
    servers = test_diff.start_pair('diff-glob')
    if servers is None:
        return 1
    sa, sb = servers
    rng = random.Random(17)
    rc = 0
    try:
        ka, kb = harness.Client(sa.port), harness.Client(sb.port)
        keys_section(ka, kb, rng)
        channels_section(sa, sb, rng)
        psubscribe_section(sa, sb, rng)
        pathological_section(ka, kb)
        ka.close()
        kb.close()
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff-glob: aborted: %r' % (e,))
        rc = 1
    if failures:
        harness.log('diff-glob: %d mismatches' % len(failures))
        rc = 1
    return test_diff.finish('diff-glob', None, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
