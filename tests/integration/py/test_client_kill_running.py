#!/usr/bin/env python3
"""test_client_kill_running.py — regression: "CLIENT KILL lets a running client go on".

Found by the torture client (tests/stress/torture/): a client killed while a worker was
running it went on executing commands after CLIENT KILL had answered — what it had already
read, and what it sent afterwards, until the end of that run (with the default
run-budget-commands 64 commands; with a large budget a whole 1 MB read, some 100,000
commands). Redis runs nothing more of a client once CLIENT KILL has returned.

The test keeps the victim busy (a pipeline of 400,000 INCRs, run-budget-commands raised so
that one run lasts long), kills it by ID while its counter is still climbing, and checks
that the counter no longer moves once the kill has answered, and that the victim is closed.
The same checks pass against redis-server (KVSD_BIN=/usr/bin/redis-server), where
run-budget-commands does not exist and is skipped.

Environment: see harness.py (KVSD_BIN, KVSD_EXTRA_ARGS). Exit status 0 on success.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep the source tree clean
import harness  # noqa: E402

PIPELINE = 400000
failures = []


def counter(c):
    r = c.cmd('GET', 'kc')
    return 0 if r == b'$-1\r\n' else int(r.split(b'\r\n')[1])


def attempt(s):
    """One kill of a busy victim: None if the victim was not caught running, else
    (counter when the kill answered, counter 300 ms later, victim closed)."""
    k, v = s.client(), s.client()
    k.cmd('DEL', 'kc')
    vid = int(v.cmd('CLIENT', 'ID')[1:-2])
    payload = b'INCR kc\r\n' * PIPELINE
    sender = threading.Thread(target=lambda: v.sock.sendall(payload), daemon=True)
    sender.start()
    deadline = time.time() + 5
    while counter(k) == 0 and time.time() < deadline:
        time.sleep(0.001)
    r = k.cmd('CLIENT', 'KILL', 'ID', vid)
    at_kill = counter(k)
    time.sleep(0.3)
    later = counter(k)
    _, closed = v.read_until_eof(5.0)
    for c in (k, v):
        c.close()
    sender.join(5)
    if r != b':1\r\n' or at_kill == 0 or at_kill >= PIPELINE:
        return None  # the victim had not started, or had already finished
    return at_kill, later, closed


def main():
    with harness.kvsd_server() as s:
        c = s.client()
        if not s.redis:
            r = c.cmd('CONFIG', 'SET', 'run-budget-commands', '100000000')
            if r != b'+OK\r\n':
                failures.append('CONFIG SET run-budget-commands answered %r' % r)
        c.close()
        for _ in range(5):
            got = attempt(s)
            if got is None:
                continue
            at_kill, later, closed = got
            # The INCR being executed when the kill flag was set may still finish.
            if later - at_kill > 1:
                failures.append('%d INCRs of the killed client ran after CLIENT KILL answered '
                                '(counter %d when it answered, %d 300 ms later)'
                                % (later - at_kill, at_kill, later))
            if not closed:
                failures.append('the killed client was not closed within 5 s')
            break
        else:
            failures.append('the victim was never caught running in 5 attempts')
    for f in failures:
        harness.log('FAIL: ' + f)
    harness.log('client_kill_running: %d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
