#!/usr/bin/env python3
"""Graceful shutdown tests against the real kvsd (issue 6, "Graceful shutdown").

- 10,000 INCRs in one write; SIGTERM as soon as the first reply arrives: the
  client receives at least one reply, every reply correct and in order
  (:1, :2, ...), then EOF; the number received equals the "commands
  completed in total" figure kvsd logs minus the count INFO gave just before
  the INCRs (whatever the harness's readiness check sent) and that INFO
  itself; exit status 0. New connections are refused once shutdown began.
- A client that never reads (its replies over the pause limit, the socket
  full) does not hold shutdown past shutdown-timeout; exit status 0.
- A second SIGTERM during the drain exits at once.

Usage: test_shutdown_drain.py [name...]   (environment as in ../py/harness.py)
"""

import os
import re
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'py'))
import harness  # noqa: E402
from harness import encode  # noqa: E402

failures = []


def check(what, ok, detail=''):
    (failures.append(what) if not ok else None)
    harness.log('%s %s %s' % ('ok  ' if ok else 'FAIL', what, detail))
    return ok


def wait_exit(proc, timeout):
    t0 = time.time()
    try:
        proc.wait(timeout)
    except Exception:
        return None, time.time() - t0
    return proc.returncode, time.time() - t0


def logfile_server(extra=()):
    fd, path = tempfile.mkstemp(prefix='kvsd-shutdown-', suffix='.log')
    os.close(fd)
    return harness.kvsd_server(['--logfile', path, '--loglevel', 'notice'] + list(extra)), path


def t_ten_thousand():
    s, logpath = logfile_server()
    s.start()
    # The commands completed before ours (the harness's readiness check sends
    # some; how many is its business): INFO's figure, which as Redis's
    # total_commands_processed counts every command completed before this
    # INFO, not the INFO itself (that one is counted as it completes).
    with s.client() as c:
        info = c.cmd('INFO', 'stats') or b''
    m = re.search(rb'total_commands_processed:(\d+)', info)
    before = int(m.group(1)) + 1 if m else -1  # + this INFO
    check('10k: INFO gives total_commands_processed', m is not None)
    n = 10000
    k = socket.create_connection(('127.0.0.1', s.port))
    k.sendall(encode('INCR', 'ctr') * n)
    buf = b''
    while b'\r\n' not in buf:
        buf += k.recv(65536)
    s.proc.send_signal(signal.SIGTERM)
    k.settimeout(15)
    try:
        while True:
            d = k.recv(1 << 20)
            if not d:
                break
            buf += d
    except (ConnectionResetError, socket.timeout) as e:
        check('10k: EOF after the replies', False, repr(e))
    code, _ = wait_exit(s.proc, 15)
    replies = buf.split(b'\r\n')
    tail = replies.pop()  # after the last CRLF
    ok = tail == b'' and all(r == b':%d' % (i + 1) for i, r in enumerate(replies))
    check('10k: at least one reply', len(replies) >= 1, '(%d replies)' % len(replies))
    check('10k: every reply correct and in order', ok)
    check('10k: exit status 0', code == 0, '(%s)' % code)
    try:
        socket.create_connection(('127.0.0.1', s.port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    check('10k: connections refused after shutdown', refused)
    with open(logpath) as f:
        log = f.read()
    m = re.search(r'(\d+) commands completed in total', log)
    total = int(m.group(1)) if m else -1
    # every command completed after the INFO is an INCR whose reply arrived
    check('10k: replies received == commands completed in the log',
          total - before == len(replies),
          '(log %d, %d before the INCRs, received %d)' % (total, before, len(replies)))
    os.unlink(logpath)
    s.proc = None
    s.stop()


def fill_unread(s):
    c = s.client()
    c.cmd('SET', 'big', 'x' * 65536)
    hog = socket.create_connection(('127.0.0.1', s.port))
    hog.setblocking(False)
    req = encode('GET', 'big') * 100
    sent = 0
    # until kvsd has stopped reading the hog: its sends blocked for 0.5 s on
    # end (both socket buffers full, kvsd's reply backlog past the pause
    # limit), at most 3 s (the fixed 3 s this used to take every time)
    t_end = time.time() + 3
    blocked_since = None
    while time.time() < t_end:
        try:
            sent += hog.send(req)
            blocked_since = None
        except BlockingIOError:
            now = time.time()
            if blocked_since is None:
                blocked_since = now
            elif now - blocked_since >= 0.5:
                break
            time.sleep(0.05)
    c.close()
    return hog


def t_never_reading():
    s = harness.kvsd_server(['--shutdown-timeout', '1'])
    s.start()
    hog = fill_unread(s)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    code, dt = wait_exit(s.proc, 10)
    check('never-reading: shutdown within the timeout', code is not None and dt < 4,
          '(%.2f s)' % dt)
    check('never-reading: exit status 0', code == 0, '(%s)' % code)
    hog.close()
    s.proc = None
    s.stop()


def t_second_signal():
    s = harness.kvsd_server(['--shutdown-timeout', '30'])
    s.start()
    hog = fill_unread(s)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    check('second signal: still draining', s.proc.poll() is None)
    s.proc.send_signal(signal.SIGTERM)
    code, dt = wait_exit(s.proc, 5)
    check('second signal: exits at once', code is not None and dt < 2, '(%.2f s, %s)' % (dt, code))
    hog.close()
    s.proc = None
    s.stop()


TESTS = {'ten_thousand': t_ten_thousand, 'never_reading': t_never_reading,
         'second_signal': t_second_signal}


def main():
    for n in sys.argv[1:] or list(TESTS):
        try:
            TESTS[n]()
        except (OSError, RuntimeError) as e:
            check(n, False, 'aborted: %r' % (e,))
    harness.log('shutdown-drain: %d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
