#!/usr/bin/env python3
"""client-output-buffer-limit pubsub against redis-server 7.0 (issue 17).

The same scenario runs on kvsd and on redis-server, step by step, with
`pubsub 512kb 128kb 2`; after each step both must have kept or disconnected
the same subscribers, and CLIENT LIST's omem of a subscriber that does not
read must agree within two of Redis's reply blocks (Redis counts 20,504
bytes per 20,464-byte block; the kernel's socket buffer in front of it can
differ by a few KB between the servers). Subscribers:
  - reader:  on 'ch', reads everything: kept;
  - slow1/2: on 'ch', never read: over the soft limit, then, with nothing
             more published, disconnected once 2 s have passed (Redis's
             clientsCron checks every client's limits);
  - keep:    on 'few', never reads, stays under the soft limit: kept;
  - hard:    on 'ch2', never reads, passes the hard limit: disconnected at once.
Without pubsub_cron kvsd kept slow1/2 (it checked only when it queued).
Each never-reading subscriber's socket is first filled: messages are sent
until its omem is above 0 (the kernel holds all it will take), so the bytes
published after that are what either server has to keep.

Usage: test_diff_pubsub_limit.py   (environment: see harness.py)
"""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402
import test_diff  # noqa: E402

LIMIT = 'pubsub 512kb 128kb 2'
MSG = b'v' * 8192
BLOCK = 20504  # one Redis reply block as omem counts it
FILL_MAX = 2000  # messages: 16 MB, far beyond any loopback socket buffer
SLOW = 2.0 if harness.sanitized() else 1.0


class Side:
    """One server's clients."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.pub = harness.Client(port)
        self.subs = {}
        self.ids = {}

    def subscribe(self, label, channel, reads):
        s = socket.socket()
        if not reads:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(('127.0.0.1', self.port))
        s.sendall(encode('CLIENT', 'SETNAME', label) + encode('SUBSCRIBE', channel))
        got = b''
        while got.count(b'\r\n') < 7:  # +OK and the confirmation
            chunk = s.recv(4096)
            if not chunk:
                raise harness.ProtocolError('%s: %s closed at SUBSCRIBE' % (self.name, label))
            got += chunk
        s.setblocking(False)
        self.subs[label] = s

    def drain(self, label):
        """Reads what the reader has waiting (its socket never fills)."""
        s = self.subs[label]
        while True:
            try:
                if not s.recv(1 << 20):
                    return
            except BlockingIOError:
                return

    def publish(self, channel, n):
        self.pub.send(encode('PUBLISH', channel, MSG) * n)
        for _ in range(n):
            r = self.pub.read_reply()
            if r is None or not r.startswith(b':'):
                raise harness.ProtocolError('%s: PUBLISH answered %r' % (self.name, r))
        self.drain('reader')

    def clients(self):
        """{name: (omem, tot-mem)} of the named clients CLIENT LIST shows."""
        r = harness.parse(self.pub.cmd('CLIENT', 'LIST'))
        out = {}
        for line in r.decode().splitlines():
            f = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
            if f.get('name'):
                out[f['name']] = (int(f['omem']), int(f['tot-mem']))
        return out

    def numsub(self, channel):
        return harness.parse(self.pub.cmd('PUBSUB', 'NUMSUB', channel))[1]

    def fill(self, channel, labels, batch=8):
        """Publishes to channel, batch messages at a time, until every one of
        labels has omem > 0 a moment after a batch (kvsd's runner has written
        what the socket takes). Returns the messages sent."""
        sent = 0
        while sent < FILL_MAX:
            self.publish(channel, batch)
            sent += batch
            time.sleep(0.02 * SLOW)
            cl = self.clients()
            if all(cl.get(x, (0, 0))[0] > 0 for x in labels):
                time.sleep(0.1 * SLOW)
                cl = self.clients()
                if all(cl.get(x, (0, 0))[0] > 0 for x in labels):
                    return sent
        raise harness.ProtocolError('%s: %s never filled' % (self.name, labels))

    def close(self):
        self.pub.close()
        for s in self.subs.values():
            s.close()


def wait_numsub(sides, channel, want, timeout=5.0):
    """NUMSUB channel on each side once it equals want (or at the deadline)."""
    deadline = time.time() + timeout * SLOW
    while True:
        got = [s.numsub(channel) for s in sides]
        if all(g == want for g in got) or time.time() > deadline:
            return got
        time.sleep(0.01)


def main():
    servers = test_diff.start_pair('diff-pubsub-limit')
    if servers is None:
        return 1
    sa, sb = servers
    fails = []
    checks = [0]
    sides = []

    def check(what, ok, detail):
        checks[0] += 1
        if not ok:
            fails.append(what)
            harness.log('MISMATCH %s: %s' % (what, detail))

    rc = 0
    try:
        sides = [Side('kvsd', sa.port), Side('redis', sb.port)]
        conf = []
        for s in sides:
            s.pub.cmd('CONFIG', 'SET', 'client-output-buffer-limit', LIMIT)
            conf.append(s.pub.cmd('CONFIG', 'GET', 'client-output-buffer-limit'))
        check('CONFIG GET', conf[0] == conf[1] and b'pubsub 524288 131072 2' in conf[0], conf)
        for s in sides:
            s.subscribe('reader', 'ch', True)
            s.subscribe('slow1', 'ch', False)
            s.subscribe('slow2', 'ch', False)
            s.subscribe('keep', 'few', False)
            s.subscribe('hard', 'ch2', False)

        # 1. over the soft limit, under the hard one: both keep everybody
        # the fills side by side (each is mostly its pauses); 'keep' gets at
        # most a batch (66 KB) beyond: under soft
        harness.side_by_side(lambda s: s.fill('few', ['keep']), sides)
        harness.side_by_side(lambda s: s.fill('ch', ['slow1', 'slow2']), sides)
        for s in sides:  # both past the soft limit at about the same time
            s.publish('ch', 32)  # ~263 KB more
        time.sleep(0.2 * SLOW)
        cl = [s.clients() for s in sides]
        for who in ('slow1', 'slow2', 'keep'):
            (ka, ta), (ra, _) = cl[0][who], cl[1][who]
            harness.log('omem %s: kvsd %d (tot-mem %d), redis %d' % (who, ka, ta, ra))
            check('omem %s' % who, abs(ka - ra) <= 2 * BLOCK and ta >= ka,
                  'kvsd omem %d tot-mem %d, redis omem %d' % (ka, ta, ra))
        for who in ('slow1', 'slow2'):
            check('omem %s over soft' % who,
                  all(131072 <= c[who][0] < 524288 for c in cl), [c[who] for c in cl])
        check('keep under soft', all(c['keep'][0] < 131072 for c in cl), [c['keep'] for c in cl])
        got = [s.numsub('ch') for s in sides]
        check('NUMSUB ch over soft', got == [3, 3], got)

        # 2. over the soft limit for more than 2 s, nothing published since:
        # the servers' crons close them (polled: this was a fixed 3 s sleep
        # before the same 5 s poll)
        got = wait_numsub(sides, 'ch', 1, timeout=8.0)
        check('NUMSUB ch after soft-seconds', got == [1, 1], got)
        got = [s.numsub('few') for s in sides]
        check('NUMSUB few (under soft)', got == [1, 1], got)
        names = [sorted(n for n in s.clients() if n in ('slow1', 'slow2', 'reader', 'keep'))
                 for s in sides]
        check('CLIENT LIST after soft', names[0] == names[1] == ['keep', 'reader'], names)

        # 3. the hard limit: closed as soon as its backlog passes 256 KB
        harness.side_by_side(lambda s: s.fill('ch2', ['hard']), sides)
        for s in sides:
            s.publish('ch2', 40)  # ~330 KB: over soft, under hard
        got = [s.numsub('ch2') for s in sides]
        check('NUMSUB ch2 under hard', got == [1, 1], got)
        for s in sides:
            s.publish('ch2', 40)  # ~660 KB in all: over hard
        got = wait_numsub(sides, 'ch2', 0)
        check('NUMSUB ch2 over hard', got == [0, 0], got)
        got = [s.numsub('ch') for s in sides]
        check('reader kept', got == [1, 1], got)
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-pubsub-limit: aborted: %r' % (e,))
        rc = 1
    finally:
        for s in sides:
            s.close()
    harness.log('diff-pubsub-limit: %d checks, %d mismatches' % (checks[0], len(fails)))
    if fails:
        rc = 1
    return test_diff.finish('diff-pubsub-limit', None, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
