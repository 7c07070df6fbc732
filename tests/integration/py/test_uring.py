#!/usr/bin/env python3
"""test_uring: batched sends through each worker's io_uring (io-uring yes,
net/uring.h, net/task.c's send queue) answer exactly what send(2) answers
(io-uring no), under a short mixed workload run against both, and against
one worker too:

- many connections at once, each a series of SET/GET/INCR at pipeline 1 and
  pipelines of 50, with replies checked byte for byte (a reply sent on the
  wrong connection, twice, or lost, fails);
- a large reply that fills the socket (the client reads only after a pause,
  so the send completes short or with -EAGAIN and the writable edge must
  bring the rest), checked in full;
- clients that close in the middle of a large reply, and one that sends a
  pipeline and closes at once: the server goes on serving (PING, and
  connected_clients drops back);
- QUIT's reply arrives before the close (a run that ends with a send queued
  and CLOSE_AFTER_REPLY);
- CLIENT PAUSE: the paused clients' replies, released together, go out in
  one batch: with a ring (INFO kvsd worker<i>_io ring=1) ring_sends grows;
  with io-uring no the workers report ring=0 and no ring sends.
- read-ahead (net/task.c): clients that become readable while the worker
  sleeps in a DEBUG SLEEP are answered, and with one worker and a ring their
  first reads were made on the ring (ring_reads grows); none without. A
  request whose second half arrives after the read-ahead took its first
  half (the task waiting its turn) is answered too.

worker-pipeline-nap-us (one worker, default 10): a pass of pipelining
clients naps, a pass of as many pipeline-1 clients does not, 0 turns it
off, CONFIG GET / SET and the range.

The same workload runs once more with worker-nap-us 200 (one worker): the
replies are the same when a worker sleeps before it waits. Then that
setting's own checks: CONFIG GET / SET and its range; with many clients at
pipeline 1 the worker naps (INFO kvsd worker0 naps grows); a lone
connection's requests never make it nap; 0 turns it off.
"""
import re
import socket
import sys
import threading
import time

import harness

CONNS = 24
ROUNDS = 40
BIG = 4 * 1024 * 1024


def bulk(v):
    return b'$%d\r\n%s\r\n' % (len(v), v)


def recv_upto(s, n, chunk=65536):
    """Up to n bytes from socket s: fewer if it closes or times out first."""
    got = bytearray()
    try:
        while len(got) < n:
            d = s.recv(chunk)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    return bytes(got)


def client_work(port, idx, fails):
    """Pipeline-1 and pipelined rounds on one connection, each reply checked."""
    try:
        with harness.Client(port, timeout=20.0) as c:
            for r in range(ROUNDS):
                key = 'k:%d:%d' % (idx, r)
                val = b'v%d-%d-' % (idx, r) + b'x' * (r * 37 % 300)
                if c.cmd('SET', key, val) != b'+OK\r\n':
                    fails.append('conn %d round %d: SET' % (idx, r))
                    return
                got = c.cmd('GET', key)
                if got != bulk(val):
                    fails.append('conn %d round %d: GET %r' % (idx, r, got[:60]))
                    return
                if r % 8 == 0:
                    # a pipeline of 50: INCRs on our own counter, then a GET
                    n = 50
                    c.send(b''.join(harness.encode('INCR', 'ctr:%d' % idx)
                                    for _ in range(n)) +
                           harness.encode('GET', 'ctr:%d' % idx))
                    replies = c.read_replies(n + 1)
                    base = (r // 8) * n
                    want = [b':%d\r\n' % (base + i + 1) for i in range(n)]
                    want.append(bulk(b'%d' % (base + n)))
                    if replies != want:
                        fails.append('conn %d round %d: pipeline %r' % (idx, r, replies[:3]))
                        return
    except Exception as e:  # noqa: BLE001 -- any failure is the test's
        fails.append('conn %d: %r' % (idx, e))


def big_reply(port, fails):
    """GET of a BIG value, three times pipelined, read only after a pause."""
    s = socket.create_connection(('127.0.0.1', port), timeout=20.0)
    try:
        s.sendall(harness.encode('GET', 'big') * 3 + harness.encode('PING'))
        time.sleep(0.3)  # the replies fill both socket buffers meanwhile
        want = bulk(b'b' * BIG) * 3 + b'+PONG\r\n'
        got = recv_upto(s, len(want), 1 << 20)
        if got != want:
            fails.append('big reply: %d bytes of %d, equal prefix %s'
                         % (len(got), len(want), bytes(got[:len(want)]) == want[:len(got)]))
    finally:
        s.close()


def closers(port):
    """Clients that close mid-reply or right after sending a pipeline."""
    for i in range(8):
        s = socket.create_connection(('127.0.0.1', port), timeout=5.0)
        s.sendall(harness.encode('GET', 'big') * 2)
        if i % 2:
            s.recv(1000)  # part of the first reply, then gone
        s.close()
        s = socket.create_connection(('127.0.0.1', port), timeout=5.0)
        s.sendall(harness.encode('PING') * 100)
        s.close()


def quit_reply(port, fails):
    s = socket.create_connection(('127.0.0.1', port), timeout=5.0)
    try:
        s.sendall(harness.encode('PING') + harness.encode('QUIT'))
        got = b''
        while True:
            d = s.recv(100)
            if not d:
                break
            got += d
        if got != b'+PONG\r\n+OK\r\n':
            fails.append('QUIT: %r' % got)
    finally:
        s.close()


def paused_batch(port, fails, ring_expected):
    """CLIENT PAUSE holds N clients' GETs; its end releases them together."""
    n = 8
    socks = [socket.create_connection(('127.0.0.1', port), timeout=10.0) for _ in range(n)]
    try:
        with harness.Client(port) as c:
            before = harness.worker_io(c)
            if c.cmd('CLIENT', 'PAUSE', '300', 'ALL') != b'+OK\r\n':
                fails.append('CLIENT PAUSE')
                return
            for i, s in enumerate(socks):
                s.sendall(harness.encode('ECHO', 'p%d' % i))
            for i, s in enumerate(socks):
                want = bulk(b'p%d' % i)
                got = recv_upto(s, len(want))
                if got != want:
                    fails.append('paused client %d: %r' % (i, got))
            after = harness.worker_io(c)
        rings = {w['ring'] for w in after.values()}
        sends = sum(after[w]['ring_sends'] - before[w]['ring_sends'] for w in after)
        if ring_expected is False and (rings != {0} or sends):
            fails.append('io-uring no: ring=%r, %d ring sends' % (rings, sends))
        if ring_expected and rings == {1} and sends < 2:
            fails.append('paused clients released together: %d ring sends' % sends)
    finally:
        for s in socks:
            s.close()


def read_ahead(port, fails, ring_expected, one_worker):
    """Connections that become readable while the worker is busy are read
    together: one DEBUG SLEEP keeps the worker in a task (20 ms: too short
    for the reserve guest to take its loop, which makes no read-ahead), N
    clients send a PING each meanwhile, and its next poll finds them all.
    With a ring (--threads 1) their first reads go out in one submit
    (INFO kvsd worker0_io ring_reads grows by about N); with io-uring no
    there are none. Every reply is checked either way."""
    n = 8
    socks = [socket.create_connection(('127.0.0.1', port), timeout=10.0) for _ in range(n)]
    try:
        with harness.Client(port) as c, harness.Client(port) as sleeper:
            for attempt in range(5):  # bounded: a slow machine may split the batch
                before = harness.worker_io(c)
                sleeper.send(harness.encode('DEBUG', 'SLEEP', '0.02'))
                time.sleep(0.005)
                for i, s in enumerate(socks):
                    s.sendall(harness.encode('ECHO', 'r%d-%d' % (attempt, i)))
                if sleeper.read_replies(1) != [b'+OK\r\n']:
                    fails.append('DEBUG SLEEP')
                    return
                for i, s in enumerate(socks):
                    want = bulk(b'r%d-%d' % (attempt, i))
                    got = recv_upto(s, len(want))
                    if got != want:
                        fails.append('read-ahead client %d: %r' % (i, got))
                        return
                after = harness.worker_io(c)
                reads = sum(after[w]['ring_reads'] - before[w]['ring_reads'] for w in after)
                if not ring_expected:
                    if reads:
                        fails.append('io-uring no: %d ring reads' % reads)
                    return
                # with two workers the clients are spread over both, and the
                # idle one steals: the replies are the check there
                if not one_worker or reads >= n // 2:
                    return
            fails.append('%d clients ready in one poll: %d ring reads' % (n, reads))
    finally:
        for s in socks:
            s.close()


def read_ahead_late_bytes(port, fails):
    """A request's second half that arrives after the read-ahead took its
    first half, while the task waits its turn: its edge finds the task
    SCHEDULED (nothing to do), so the run itself must read again. Eight
    clients each send DEBUG SLEEP 0.005 and half an ECHO while the worker
    sleeps, then the other halves once the worker has taken the batch and
    is in the first client's sleep: every ECHO must be answered."""
    n = 8
    socks = [socket.create_connection(('127.0.0.1', port), timeout=3.0) for _ in range(n)]
    try:
        with harness.Client(port) as sleeper:
            for attempt in range(2):
                sleeper.send(harness.encode('DEBUG', 'SLEEP', '0.02'))
                time.sleep(0.005)
                echo = [harness.encode('ECHO', 'late%d-%d' % (attempt, i)) for i in range(n)]
                for i, s in enumerate(socks):
                    s.sendall(harness.encode('DEBUG', 'SLEEP', '0.005') + echo[i][:9])
                if sleeper.read_replies(1) != [b'+OK\r\n']:
                    fails.append('DEBUG SLEEP (late bytes)')
                    return
                time.sleep(0.008)
                for i, s in enumerate(socks):
                    s.sendall(echo[i][9:])
                for i, s in enumerate(socks):
                    want = b'+OK\r\n' + bulk(b'late%d-%d' % (attempt, i))
                    got = recv_upto(s, len(want))
                    if got != want:
                        fails.append('late second half, client %d: %r' % (i, got))
                        return
    finally:
        for s in socks:
            s.close()


def workload(k, ring_expected, one_worker):
    fails = []
    port = k.port
    with k.client() as c:
        if c.cmd('SET', 'big', b'b' * BIG) != b'+OK\r\n':
            return ['SET big']
        clients0 = int(re.search(rb'connected_clients:(\d+)', c.cmd('INFO', 'clients')).group(1))
    threads = [threading.Thread(target=client_work, args=(port, i, fails))
               for i in range(CONNS)]
    threads.append(threading.Thread(target=big_reply, args=(port, fails)))
    threads.append(threading.Thread(target=closers, args=(port,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    quit_reply(port, fails)
    paused_batch(port, fails, ring_expected)
    read_ahead(port, fails, ring_expected, one_worker)
    read_ahead_late_bytes(port, fails)
    with k.client() as c:
        if c.cmd('PING') != b'+PONG\r\n':
            fails.append('PING after the workload')
        deadline = time.time() + 10
        while True:
            n = int(re.search(rb'connected_clients:(\d+)', c.cmd('INFO', 'clients')).group(1))
            if n <= clients0 or time.time() > deadline:
                break
            time.sleep(0.05)
        if n > clients0:
            fails.append('connected_clients %d after the closers (was %d)' % (n, clients0))
    return fails


def naps(c):
    """INFO kvsd worker0's naps (worker-nap-us sleeps)."""
    info = c.cmd('INFO', 'kvsd').decode()
    return int(re.search(r'worker0:[^\r]*naps=(\d+)', info).group(1))


def many_clients(c, port):
    """CONNS connections running client_work at once, on a flushed keyspace
    (its counters start from nothing); their failures."""
    c.cmd('FLUSHALL')
    got = []
    threads = [threading.Thread(target=client_work, args=(port, i, got))
               for i in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def setting_checks(c, name, value):
    """A nap setting's CONFIG GET (value, as the server was started) and
    CONFIG SET refusing what is out of its 0-1000 range or not a number."""
    fails = []
    if c.cmd('CONFIG', 'GET', name) != b'*2\r\n' + bulk(name.encode()) + bulk(value.encode()):
        fails.append('CONFIG GET %s' % name)
    for bad in ('1001', '-1', 'x'):
        r = c.cmd('CONFIG', 'SET', name, bad)
        if not r.startswith(b"-ERR CONFIG SET failed (possibly related to argument '%s')"
                            % name.encode()):
            fails.append('CONFIG SET %s %s: %r' % (name, bad, r))
    return fails


def nap_checks(k):
    fails = []
    with harness.Client(k.port) as c:
        fails += setting_checks(c, 'worker-nap-us', '200')
        # a lone connection: one run per wait, never a nap
        n0 = naps(c)
        for i in range(200):
            if c.cmd('SET', 'lone', str(i)) != b'+OK\r\n':
                fails.append('lone SET')
                break
        if naps(c) != n0:
            fails.append('a lone connection made the worker nap (%d -> %d)' % (n0, naps(c)))
        # many connections at pipeline 1: runs of several per wait, naps
        fails += many_clients(c, k.port)
        if naps(c) <= n0:
            fails.append('%d connections at pipeline 1 and no nap' % CONNS)
        # off: no more naps (counted from after the CONFIG SET: a pass that
        # ended before it may still have napped)
        if c.cmd('CONFIG', 'SET', 'worker-nap-us', '0') != b'+OK\r\n':
            fails.append('CONFIG SET worker-nap-us 0')
        n1 = naps(c)
        fails += many_clients(c, k.port)
        if naps(c) != n1:
            fails.append('worker-nap-us 0 and still naps (%d -> %d)' % (n1, naps(c)))
    return fails


def burst(port, socks, sleeper, per_client):
    """Every client sends per_client PINGs (one write) while the worker sleeps
    in a DEBUG SLEEP, so its next pass runs them all; False if a reply is
    wrong."""
    sleeper.send(harness.encode('DEBUG', 'SLEEP', '0.02'))
    time.sleep(0.005)
    for s in socks:
        s.sendall(harness.encode('PING') * per_client)
    if sleeper.read_replies(1) != [b'+OK\r\n']:
        return False
    for s in socks:
        want = b'+PONG\r\n' * per_client
        if recv_upto(s, len(want)) != want:
            return False
    return True


def pipeline_nap_checks(port):
    """worker-pipeline-nap-us (default 10, one worker): a pass that ran
    pipelining connections (32 commands each) naps; a pass of as many
    pipeline-1 connections does not; 0 turns it off."""
    fails = []
    socks = [socket.create_connection(('127.0.0.1', port), timeout=10.0) for _ in range(8)]
    try:
        with harness.Client(port) as c, harness.Client(port) as sleeper:
            fails += setting_checks(c, 'worker-pipeline-nap-us', '10')
            n0 = naps(c)
            for _ in range(3):
                if not burst(port, socks, sleeper, 1):
                    fails.append('pipeline-1 burst replies')
            if naps(c) != n0:
                fails.append('pipeline-1 clients made the worker nap (%d -> %d)'
                             % (n0, naps(c)))
            n1 = naps(c)
            if not burst(port, socks, sleeper, 32):
                fails.append('pipelined burst replies')
            if naps(c) <= n1:
                fails.append('a pass of 8 pipelining clients made no nap')
            if c.cmd('CONFIG', 'SET', 'worker-pipeline-nap-us', '0') != b'+OK\r\n':
                fails.append('CONFIG SET worker-pipeline-nap-us 0')
            n2 = naps(c)
            if not burst(port, socks, sleeper, 32):
                fails.append('pipelined burst replies (off)')
            if naps(c) != n2:
                fails.append('worker-pipeline-nap-us 0 and still naps (%d -> %d)'
                             % (n2, naps(c)))
    finally:
        for s in socks:
            s.close()
    return fails


def main():
    fails = []
    for extra, ring in ((['--io-uring', 'yes'], True), (['--io-uring', 'no'], False),
                        (['--io-uring', 'yes', '--threads', '1'], True),
                        (['--io-uring', 'yes', '--threads', '1', '--worker-nap-us', '200'],
                         True)):
        # DEBUG SLEEP: read_ahead's busy worker
        with harness.kvsd_server(extra + ['--enable-debug-command', 'yes']) as k:
            got = workload(k, ring, '--threads' in extra)
            if not k.alive():
                got.append('kvsd exited')
        fails += ['%s: %s' % (' '.join(extra), f) for f in got]
    # the pipeline nap off: nap_checks counts worker-nap-us's naps alone
    with harness.kvsd_server(['--threads', '1', '--worker-nap-us', '200',
                              '--worker-pipeline-nap-us', '0']) as k:
        fails += ['worker-nap-us: %s' % f for f in nap_checks(k)]
    with harness.kvsd_server(['--threads', '1', '--enable-debug-command', 'yes']) as k:
        fails += ['worker-pipeline-nap-us: %s' % f for f in pipeline_nap_checks(k.port)]
    for f in fails:
        print('FAIL: ' + f)
    print('uring: %d failures' % len(fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
