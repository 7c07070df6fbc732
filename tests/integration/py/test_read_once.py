#!/usr/bin/env python3
"""test_read_once: a run stops reading at a short read (one read per request
at pipeline 1, issue 19) without losing what the stop could hide.

- halfclose: commands and the FIN sent together, on a connection that is
  already attached and idle, so both arrive before the worker looks: the
  replies come back and the server closes, byte for byte as redis-server
  does. Stopping at the short read without the loop's EPOLLRDHUP (rdhup)
  leaves the FIN unseen and the connection open: the client times out.
- split: a request whose halves arrive apart (the first read is short and
  incomplete) is still answered: the second half's edge runs it.
- counters: INFO kvsd worker<i>_io counts reads, EAGAIN reads, writes and
  polls; N sequential PINGs on one connection cost at most N + small reads
  (reading to EAGAIN cost 2N).
- subscriber: a subscriber that only receives makes no reads (a delivery
  run reads only after a readable edge, conn.readable): N PUBLISHes to it
  cost about N reads in all (the publisher's), not 2N.
"""
import re
import socket
import sys
import time

import harness

ROUNDS = 20


def halfclose(port):
    """Replies and whether the server closed, for SET/GET + FIN."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5.0)
    try:
        time.sleep(0.05)  # attached, first run done: the socket is idle
        s.sendall(b'SET hc v\r\n*2\r\n$3\r\nGET\r\n$2\r\nhc\r\nPING\r\n')
        s.shutdown(socket.SHUT_WR)
        got = b''
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return got, False
            if not d:
                return got, True
            got += d
    finally:
        s.close()


def split(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=5.0)
    try:
        s.sendall(b'*2\r\n$4\r\nECHO\r\n$5\r\nhe')
        time.sleep(0.05)
        s.sendall(b'llo\r\n')
        got = b''
        while not got.endswith(b'\r\n') or len(got) < 11:
            d = s.recv(100)
            if not d:
                break
            got += d
        return got
    finally:
        s.close()


FIELDS = {'reads', 'reads_eagain', 'writes', 'writes_eagain', 'polls', 'reads_skipped',
          'ring', 'ring_submits', 'ring_sends', 'ring_reads'}


def subscriber(k, c):
    """N PUBLISHes, each waited for, to one raw subscriber: reads in all."""
    n = 200
    sub = socket.create_connection(('127.0.0.1', k.port), timeout=5.0)
    try:
        sub.sendall(b'*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nro\r\n')
        got = b''
        while got.count(b'\r\n') < 6:
            got += sub.recv(4096)
        frame = b'*3\r\n$7\r\nmessage\r\n$2\r\nro\r\n$1\r\nx\r\n'
        before = harness.worker_io(c)
        got = b''
        for i in range(n):
            if c.cmd('PUBLISH', 'ro', 'x') != b':1\r\n':
                return ['PUBLISH to the subscriber']
            while len(got) < (i + 1) * len(frame):
                d = sub.recv(65536)
                if not d:
                    return ['subscriber closed']
                got += d
        after = harness.worker_io(c)
        if got != frame * n:
            return ['subscriber got %r...' % got[:80]]
        reads = sum(after[i]['reads'] - before[i]['reads'] for i in after)
        if not n <= reads <= n + n // 10:
            return ['%d PUBLISHes to a subscriber: %d reads (the publisher makes %d)'
                    % (n, reads, n)]
        return []
    finally:
        sub.close()


def main():
    fails = []
    with harness.redis_server() as r, harness.kvsd_server() as k:
        for i in range(ROUNDS):
            want = halfclose(r.port)
            got = halfclose(k.port)
            if got != want:
                fails.append('halfclose round %d: kvsd %r, redis %r' % (i, got, want))
                break
        want, got = split(r.port), split(k.port)
        if got != want:
            fails.append('split: kvsd %r, redis %r' % (got, want))
        with k.client() as c:
            before = harness.worker_io(c)
            if not before or any(set(f) != FIELDS for f in before.values()):
                fails.append('INFO kvsd worker<i>_io: %r' % before)
            else:
                n = 200
                for _ in range(n):
                    if c.cmd('PING') != b'+PONG\r\n':
                        fails.append('PING')
                        break
                after = harness.worker_io(c)
                reads = sum(after[i]['reads'] - before[i]['reads'] for i in after)
                writes = sum(after[i]['writes'] - before[i]['writes'] for i in after)
                # the INFO calls themselves add a read and a write each
                if not (n <= reads <= n + n // 10 and n <= writes <= n + 5):
                    fails.append('%d PINGs: %d reads, %d writes' % (n, reads, writes))
            fails += subscriber(k, c)
    for f in fails:
        print('FAIL: ' + f)
    print('read_once: %d failures' % len(fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
