#!/usr/bin/env python3
"""COMMAND DOCS and COMMAND INFO: kvsd against redis-server 7.0, byte for byte.

For every command kvsd lists (COMMAND LIST) and every subcommand of its
containers, in RESP2 and in RESP3, `COMMAND DOCS <name>` and
`COMMAND INFO <name>` must answer the same bytes as redis-server. A container
(CLIENT, CONFIG, COMMAND) lists only the subcommands kvsd implements, and
Redis lists its subcommands in hash-table order, so for containers Redis's
reply is cut down to kvsd's subcommands in kvsd's order before comparing;
everything else about the reply must still be identical. redis-cli builds
its argument hints from these replies.

Environment: see harness.py (KVSD_BIN, REDIS_BIN). Exit status 0 on success.
"""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import escape, parse  # noqa: E402


# ---------------------------------------------------------------- typed RESP

def tparse(buf, pos=0):
    """One reply as a typed tree: (type byte, header line, payload)."""
    t = buf[pos:pos + 1]
    e = buf.index(b'\r\n', pos + 1)
    line = buf[pos + 1:e]
    nxt = e + 2
    if t in (b'$', b'=', b'!'):
        n = int(line)
        if n < 0:
            return (t, line, None), nxt
        return (t, line, buf[nxt:nxt + n]), nxt + n + 2
    if t in (b'*', b'~', b'%', b'>'):
        n = int(line)
        items = []
        for _ in range(max(n, 0) * (2 if t == b'%' else 1)):
            v, nxt = tparse(buf, nxt)
            items.append(v)
        return (t, line, items), nxt
    return (t, line, None), nxt


def tdump(node):
    t, line, payload = node
    if t in (b'$', b'=', b'!'):
        if payload is None:
            return t + line + b'\r\n'
        return t + b'%d\r\n' % len(payload) + payload + b'\r\n'
    if t in (b'*', b'~', b'%', b'>'):
        n = len(payload) // 2 if t == b'%' else len(payload)
        return t + b'%d\r\n' % n + b''.join(tdump(x) for x in payload)
    return t + line + b'\r\n'


def agg(t, items):
    return (t, b'', items)


def bulk_text(node):
    return node[2].decode() if node[0] == b'$' else None


# A container's DOCS map: key "subcommands" -> map of full name -> docs.
def restrict_docs(redis_reply, kvsd_reply):
    """Redis's DOCS reply for one container, cut down to kvsd's subcommands."""
    r, _ = tparse(redis_reply)
    k, _ = tparse(kvsd_reply)
    outer_t, _, (rname, rdocs) = r[0], r[1], r[2]
    ksubs = _field(k[2][1], 'subcommands')
    rsubs = _field(rdocs, 'subcommands')
    if ksubs is None or rsubs is None:
        return redis_reply
    want = [bulk_text(ksubs[2][i]) for i in range(0, len(ksubs[2]), 2)]
    rmap = {bulk_text(rsubs[2][i]): (rsubs[2][i], rsubs[2][i + 1])
            for i in range(0, len(rsubs[2]), 2)}
    items = []
    for name in want:
        if name in rmap:
            items.extend(rmap[name])
    new_subs = agg(rsubs[0], items)
    fields = list(rdocs[2])
    for i in range(0, len(fields), 2):
        if bulk_text(fields[i]) == 'subcommands':
            fields[i + 1] = new_subs
    return tdump(agg(outer_t, [rname, agg(rdocs[0], fields)]))


def _field(mapnode, key):
    if mapnode[0] not in (b'%', b'*'):
        return None
    items = mapnode[2]
    for i in range(0, len(items) - 1, 2):
        if bulk_text(items[i]) == key:
            return items[i + 1]
    return None


def restrict_info(redis_reply, kvsd_reply):
    """Redis's INFO reply for one container, cut down to kvsd's subcommands."""
    r, _ = tparse(redis_reply)
    k, _ = tparse(kvsd_reply)
    rinfo = r[2][0]
    kinfo = k[2][0]
    if rinfo[0] != b'*' or kinfo[0] != b'*' or len(rinfo[2]) != 10 or len(kinfo[2]) != 10:
        return redis_reply
    want = [bulk_text(s[2][0]) for s in kinfo[2][9][2]]
    rsubs = {bulk_text(s[2][0]): s for s in rinfo[2][9][2]}
    subs = agg(rinfo[2][9][0], [rsubs[n] for n in want if n in rsubs])
    fields = list(rinfo[2][:9]) + [subs]
    return tdump(agg(r[0], [agg(rinfo[0], fields)]))


# ---------------------------------------------------------------- the test

failures = []


def check(what, got, want):
    if got != want:
        # show where they part
        i = 0
        while i < min(len(got), len(want)) and got[i] == want[i]:
            i += 1
        lo = max(0, i - 60)
        failures.append('%s differs at byte %d:\n  kvsd:  %s\n  redis: %s'
                        % (what, i, escape(got[lo:lo + 200]), escape(want[lo:lo + 200])))


def main():
    kvsd = harness.Server(harness.kvsd_binary(), name='kvsd').start()
    redis = harness.Server(harness.redis_binary(), name='redis-server').start()
    with kvsd.client() as k:
        # COMMAND LIST names subcommands too ("config|get"), as Redis 7.0
        names = sorted(x.decode() for x in parse(k.cmd('COMMAND', 'LIST'))
                       if b'|' not in x)
        subs = {}
        for n in names:
            info = parse(k.cmd('COMMAND', 'INFO', n))[0]
            subs[n] = [s[0].decode() for s in info[9]]
    ncheck = 0
    for proto in (2, 3):
        with kvsd.client() as k, redis.client() as r:
            if proto == 3:
                k.cmd('HELLO', '3')
                r.cmd('HELLO', '3')
            for n in names:
                for full in [n] + subs[n]:
                    for sub in ('DOCS', 'INFO'):
                        got = k.cmd('COMMAND', sub, full)
                        want = r.cmd('COMMAND', sub, full)
                        if subs.get(full):
                            want = (restrict_docs if sub == 'DOCS' else restrict_info)(want, got)
                        check('RESP%d COMMAND %s %s' % (proto, sub, full), got, want)
                        ncheck += 1
            # several names at once, unknown ones skipped (DOCS) or null (INFO)
            for sub in ('DOCS', 'INFO'):
                args = ('COMMAND', sub, 'get', 'no-such-command', 'config|get', 'SET')
                check('RESP%d %s' % (proto, ' '.join(args)), k.cmd(*args), r.cmd(*args))
            # all of them: one entry per command kvsd lists
            everything = parse(k.cmd('COMMAND', 'DOCS'))
            got = sorted(x[0].decode() for x in everything) if proto == 3 else \
                sorted(everything[i].decode() for i in range(0, len(everything), 2))
            if got != names:
                failures.append('RESP%d COMMAND DOCS (all) names %r' % (proto, got))
    if failures:
        for f in failures:
            print('FAIL', f)
        print('%d of %d comparisons differ' % (len(failures), ncheck))
        return 1
    print('ok: %d COMMAND DOCS/INFO replies identical to redis-server (RESP2 and RESP3)'
          % ncheck)
    return 0


if __name__ == '__main__':
    sys.exit(main())
