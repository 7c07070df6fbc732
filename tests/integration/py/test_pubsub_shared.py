#!/usr/bin/env python3
"""Pub/Sub backlog stored once (issue 17, beyond Redis).

Subscribers that do not read share one copy of their backlog: a message is
written once into its channel's (and each matching pattern's) log, and a
subscriber's mailbox holds runs of it, not a word per message. The test
fills the sockets of CH channel subscribers and PAT pattern subscribers
(SO_RCVBUF 4096, never read) until each has omem > 0 (the kernel holds all
it will take), with `client-output-buffer-limit pubsub 0 0 0`, then
publishes M small messages and compares used_memory's growth with one copy
of them (one channel frame and one pattern frame per message). Before the
logs, each queued message cost an 8-byte word per subscriber on top (in
rings that double): used_memory grew 15.8 MB, 7.87x the 2 MB of frames,
and the test failed.
Then the subscribers close: used_memory must come back to about where it
was before the burst (the chunks are freed with the last run into them).
Last, the bytes: RESP2 and RESP3 subscribers of a channel and of a pattern
that read only after N messages of mixed sizes were published receive
exactly the frames Redis sends (a run is copied as it is for RESP2, with
'>' for each frame's first byte for RESP3, and cut between frames at each
16 KB window; a frame bigger than a chunk in a chunk of its own).

Usage: test_pubsub_shared.py   (environment: see harness.py)
"""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402

CH, PAT = 50, 50
M = 10000
PAYLOAD = b'p' * 64
FILL = b'f' * 8192
FILL_MAX = 2000  # 8 KB messages: 16 MB, far beyond any loopback socket buffer
SLOW = 3.0 if harness.sanitized() else 1.0
# one message's frames: *3 message ch payload, *4 pmessage c* ch payload
FRAME_CH = len(b'*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$64\r\n' + PAYLOAD + b'\r\n')
FRAME_PAT = FRAME_CH + 1 + len(b'$2\r\nc*\r\n')
SLACK = 512 * 1024  # buffers that come and go (the publisher's, the allocator's)


def used_memory(c):
    for line in harness.parse(c.cmd('INFO', 'memory')).decode().splitlines():
        if line.startswith('used_memory:'):
            return int(line.split(':')[1])
    raise harness.ProtocolError('INFO memory without used_memory')


def omems(c):
    r = harness.parse(c.cmd('CLIENT', 'LIST')).decode()
    out = []
    for line in r.splitlines():
        f = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
        if f.get('name', '').startswith('sub'):
            out.append(int(f['omem']))
    return out


def publish(c, msg, n):
    for done in range(0, n, 500):
        k = min(500, n - done)
        c.send(encode('PUBLISH', 'ch', msg) * k)
        for _ in range(k):
            r = c.read_reply()
            if r != b':%d\r\n' % (CH + PAT):
                raise harness.ProtocolError('PUBLISH answered %r' % (r,))


def bulk(b):
    return b'$%d\r\n%s\r\n' % (len(b), b)


def frames(resp, pattern, n):
    """The bytes Redis sends a subscriber for the messages of exact()."""
    out = []
    a = b'>' if resp == 3 else b'*'
    for i in range(n):
        body = bulk(b'xch') + bulk(payload(i))
        if pattern:
            out.append(a + b'4\r\n$8\r\npmessage\r\n' + bulk(b'x*') + body)
        else:
            out.append(a + b'3\r\n$7\r\nmessage\r\n' + body)
    return b''.join(out)


def payload(i):
    """Mixed sizes; every 400th past a log chunk (64 KB), in a chunk of its own."""
    return (b'%d:' % i) + b'y' * (70000 if i % 400 == 399 else (i * 7919) % 3000)


def exact(srv, fails):
    """4 subscribers (RESP2/3, channel/pattern) receive exact frames."""
    n = 1200
    kinds = [(2, False), (3, False), (2, True), (3, True)]
    subs = []
    c = srv.client()
    try:
        for resp, pattern in kinds:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10 * SLOW)
            s.connect(('127.0.0.1', srv.port))
            hello = encode('HELLO', '3') if resp == 3 else b''
            s.sendall(hello + encode(*(('PSUBSCRIBE', 'x*') if pattern else ('SUBSCRIBE', 'xch'))))
            want = (b'%s3\r\n' % (b'>' if resp == 3 else b'*')
                    + bulk(b'psubscribe' if pattern else b'subscribe')
                    + bulk(b'x*' if pattern else b'xch') + b':1\r\n')
            got = b''
            while not got.endswith(want):
                chunk = s.recv(65536)
                if not chunk:
                    raise harness.ProtocolError('closed at SUBSCRIBE')
                got += chunk
            subs.append(s)
        for done in range(0, n, 200):
            c.send(b''.join(encode('PUBLISH', 'xch', payload(i)) for i in range(done, done + 200)))
            for _ in range(200):
                r = c.read_reply()
                if r != b':4\r\n':
                    raise harness.ProtocolError('PUBLISH answered %r' % (r,))
        for s, (resp, pattern) in zip(subs, kinds):
            want = frames(resp, pattern, n)
            got = bytearray()
            while len(got) < len(want):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
            ok = bytes(got) == want
            harness.log('RESP%d %s subscriber: %d bytes of %d messages, %s'
                        % (resp, 'pattern' if pattern else 'channel', len(got), n,
                           'exact' if ok else 'DIFFERENT'))
            if not ok:
                at = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                          min(len(got), len(want)))
                fails.append('RESP%d %s: bytes differ at %d of %d: got %r want %r'
                             % (resp, 'pattern' if pattern else 'channel', at, len(want),
                                bytes(got[at:at + 40]), want[at:at + 40]))
    finally:
        for s in subs:
            s.close()
        c.close()


def main():
    fails = []
    subs = []
    srv = harness.kvsd_server()
    srv.start()
    try:
        c = srv.client()
        c.cmd('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 0 0')
        for i in range(CH + PAT):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(('127.0.0.1', srv.port))
            sub = ('SUBSCRIBE', 'ch') if i < CH else ('PSUBSCRIBE', 'c*')
            s.sendall(encode('CLIENT', 'SETNAME', 'sub%d' % i) + encode(*sub))
            got = b''
            while got.count(b'\r\n') < 7:  # +OK and the confirmation
                chunk = s.recv(4096)
                if not chunk:
                    raise harness.ProtocolError('closed at SUBSCRIBE')
                got += chunk
            subs.append(s)
        before = used_memory(c)
        sent = 0
        while True:
            publish(c, FILL, 8)
            sent += 8
            time.sleep(0.02 * SLOW)
            if min(omems(c)) > 0:
                time.sleep(0.1 * SLOW)
                if min(omems(c)) > 0:
                    break
            if sent >= FILL_MAX:
                raise harness.ProtocolError('the subscribers never filled')
        m0 = used_memory(c)
        publish(c, PAYLOAD, M)
        time.sleep(0.1 * SLOW)
        m1 = used_memory(c)
        copy = M * (FRAME_CH + FRAME_PAT)
        grew = m1 - m0
        harness.log('filled with %d messages of 8 KB; %d messages of 64 B to %d + %d '
                    'subscribers: used_memory +%d bytes, one copy %d (%.2fx), a word per '
                    'message per subscriber would add %d'
                    % (sent, M, CH, PAT, grew, copy, grew / copy, M * (CH + PAT) * 8))
        if grew > copy * 5 // 4 + SLACK:
            fails.append('used_memory grew %d bytes for %d of frames' % (grew, copy))
        for s in subs:
            s.close()
        subs = []
        deadline = time.time() + 10 * SLOW
        while True:
            n = harness.parse(c.cmd('PUBSUB', 'NUMSUB', 'ch'))[1]
            npat = harness.parse(c.cmd('PUBSUB', 'NUMPAT'))
            if (n == 0 and npat == 0) or time.time() > deadline:
                break
            time.sleep(0.05)
        m2 = used_memory(c)
        harness.log('after the subscribers closed: used_memory %+d bytes from before the '
                    'fill' % (m2 - before))
        if n != 0 or npat != 0:
            fails.append('subscribers still counted: NUMSUB %d NUMPAT %d' % (n, npat))
        if m2 - before > SLACK:
            fails.append('used_memory %+d bytes after every subscriber closed' % (m2 - before))
        c.close()
        exact(srv, fails)
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        fails.append('aborted: %r' % (e,))
    finally:
        for s in subs:
            s.close()
        alive = srv.alive()
        code = srv.stop()
        if not alive or code != 0:
            fails.append('kvsd died or exited with %s' % (code,))
    for f in fails:
        harness.log('FAIL: ' + f)
    harness.log('pubsub-shared: %d failures' % len(fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
