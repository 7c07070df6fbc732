#!/usr/bin/env python3
"""Raw-socket protocol tests: kvsd against redis-server 7.0, byte for byte.

- requests written one byte at a time, and split at every byte offset;
- one write holding a pipeline of 10,000 commands, replies checked in order;
- protocol errors (bad multibulk / bulk lengths, wrong type byte, unbalanced
  quotes, over-long inline and length lines, bulks above proto-max-bulk-len):
  the exact error text, then the server closes the connection -- compared
  with redis-server -- while a second client on the same server keeps working.

Usage: test_protocol.py   (environment as in harness.py). Exit 0 when all pass.
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, escape  # noqa: E402

failures = []
checks = [0]


def fail(what, got, want):
    failures.append((what, got, want))
    harness.log('FAIL %s\n   kvsd : %s\n   redis: %s' % (what, escape(got), escape(want)))


def check(what, got, want):
    checks[0] += 1
    if got != want:
        fail(what, got, want)
        return False
    return True


def send_slowly(cl, data, delay=0.0005):
    for i in range(len(data)):
        cl.send(data[i:i + 1])
        if delay:
            time.sleep(delay)


def byte_by_byte(sa, sb):
    reqs = [
        (encode('SET', 'bk', b'v\x00\r\nal'), 1),
        (encode('GET', 'bk'), 1),
        (encode('MSET', 'a', '1', 'b', '22') + encode('MGET', 'a', 'b', 'c'), 2),
        (b'PING\r\n', 1),
        (b'ECHO "split \\x41 inline"\r\n', 1),
        (encode('INCRBY', 'ctr', '12345678'), 1),
        (encode('foo', 'bar'), 1),
        (encode('SET', 'big', 'x' * 3000) + encode('STRLEN', 'big'), 2),
    ]
    with sa.client() as ca, sb.client() as cb:
        for data, n in reqs:
            send_slowly(ca, data)
            got = b''.join(ca.read_replies(n))
            cb.send(data)
            want = b''.join(cb.read_replies(n))
            check('byte-by-byte %s' % escape(data, 60), got, want)
        # every split offset of a two-command pipeline, RESP and inline
        for data, n in ((encode('SET', 'sp', 'value') + encode('GET', 'sp'), 2),
                        (b'SET sp "a b"\r\nGET sp\r\n', 2),
                        (encode('HELLO', '3') + encode('GET', 'nokey') +
                         encode('HELLO', '2'), 3)):
            cb.send(data)
            want = b''.join(cb.read_replies(n))
            for i in range(1, len(data)):
                ca.send(data[:i])
                time.sleep(0.001)
                ca.send(data[i:])
                got = b''.join(ca.read_replies(n))
                if not check('split at %d of %s' % (i, escape(data, 60)),
                             _norm_hello(got), _norm_hello(want)):
                    break


def _norm_hello(r):
    import re
    return re.sub(rb'(\$2\r\nid\r\n):\d+\r\n', rb'\1:<id>\r\n', r or b'')


def big_pipeline(sa, sb, n=10000):
    def build():
        parts = []
        for i in range(n):
            m = i % 4
            if m == 0:
                parts.append(encode('SET', 'pk%d' % i, 'val%d' % i))
            elif m == 1:
                parts.append(encode('GET', 'pk%d' % (i - 1)))
            elif m == 2:
                parts.append(encode('INCR', 'pctr'))
            else:
                parts.append(b'ECHO e%d\r\n' % i)
        return b''.join(parts)

    data = build()
    results = {}
    for name, srv in (('kvsd', sa), ('redis', sb)):
        with srv.client(timeout=20) as cl:
            cl.send(encode('DEL', 'pctr'))
            cl.read_reply()
            err = []

            def writer():
                try:
                    cl.send(data)   # one sendall: the kernel may split it
                except OSError as e:
                    err.append(e)
            t = threading.Thread(target=writer)
            t0 = time.time()
            t.start()
            replies = cl.read_replies(n)
            t.join()
            results[name] = (replies, time.time() - t0, err)
    ra, ta, ea = results['kvsd']
    rb, tb, eb = results['redis']
    checks[0] += 1
    if ea:
        fail('pipeline write', repr(ea).encode(), b'')
    bad = [i for i in range(n) if ra[i] != rb[i]]
    if bad:
        i = bad[0]
        fail('pipeline of %d: %d replies differ, first #%d' % (n, len(bad), i),
             ra[i], rb[i])
    # and the values are the ones expected in order (redis is the oracle,
    # but check the order explicitly too)
    ok = all(ra[i] == b':%d\r\n' % (i // 4 + 1) for i in range(2, n, 4))
    checks[0] += 1
    if not ok:
        fail('pipeline INCR replies out of order', b'', b'')
    harness.log('pipeline %d commands: kvsd %.2f s, redis %.2f s' % (n, ta, tb))


PROTO_ERRORS = [
    b'*abc\r\n',
    b'*1x\r\n',
    b'* 1\r\n',
    b'*2147483648\r\n',
    b'*9223372036854775808\r\n',
    b'*1\r\n$-5\r\n',
    b'*1\r\n$abc\r\n',
    b'*1\r\n$\r\n',
    b'*1\r\n+x\r\n',
    b'*1\r\n:1\r\n',
    b'*2\r\n$3\r\nGET\r\n*1\r\n',
    b'*1\r\n$536870913\r\n',
    b'*1\r\n$9223372036854775808\r\n',
    b'SET "a b\r\n',
    b"SET 'a b\r\n",
    b'SET "a"b c\r\n',
    b'ECHO "unterminated \\"\r\n',
    b'x' * (64 * 1024 + 10),                  # inline without newline
    b'*' + b'1' * (64 * 1024 + 10),           # multibulk length line too long
    b'*1\r\n$' + b'1' * (64 * 1024 + 10),     # bulk length line too long
    encode('PING') + b'*abc\r\n' + encode('PING'),   # earlier replies first
    encode('SET', 'k', 'v') + b'*1\r\n$-1\r\n',
]

# Not errors, but unusual framing both servers must treat alike.
ODD_BUT_VALID = [
    (b'*0\r\n' + encode('PING'), 1),
    (b'*-1\r\n' + encode('PING'), 1),
    (b'\r\n\r\n' + encode('PING'), 1),
    (b'*1\r\n$0\r\n\r\n', 1),
    (b'*1\r\n$3\r\nabcde\r\n', 1),
    (b'$5\r\n', 1),
    (b'+PING\r\n', 1),
    (b'*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n', 2),
    (b'PING\n', 1),
    (b'*1\n$4\r\nPING\r\n', 1),
    (b'*01\r\n$04\r\nPING\r\n', 1),
]


def protocol_errors(sa, sb):
    with sa.client() as other_a:
        other_a.cmd('SET', 'witness', '0')
        for idx, data in enumerate(PROTO_ERRORS):
            outs = []
            for srv in (sa, sb):
                with srv.client() as cl:
                    try:
                        cl.send(data)
                    except OSError:
                        pass
                    outs.append(cl.read_until_eof(5.0))
            (ga, ca), (gb, cbl) = outs
            check('protocol error %s' % escape(data, 60),
                  ga + (b'<EOF>' if ca else b'<still open>'),
                  gb + (b'<EOF>' if cbl else b'<still open>'))
            # the other client is unaffected
            check('second client after %s' % escape(data, 40),
                  other_a.cmd('INCR', 'witness'), b':%d\r\n' % (idx + 1))
        # proto-max-bulk-len lowered at run time
        for srv, name in ((sa, 'kvsd'), (sb, 'redis')):
            with srv.client() as cl:
                r = cl.cmd('CONFIG', 'SET', 'proto-max-bulk-len', '1048576')
                if not check('CONFIG SET proto-max-bulk-len on %s' % name, r, b'+OK\r\n'):
                    continue
        outs = []
        for srv in (sa, sb):
            with srv.client() as cl:
                r1 = cl.cmd('SET', 'x', 'y' * 1048576)
                cl.send(b'*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1048577\r\n')
                outs.append((r1,) + cl.read_until_eof(5.0))
        check('bulk above lowered proto-max-bulk-len', repr(outs[0]).encode(),
              repr(outs[1]).encode())
        for srv in (sa, sb):
            with srv.client() as cl:
                cl.cmd('CONFIG', 'SET', 'proto-max-bulk-len', '536870912')
        def framing(srv):
            with srv.client() as cl:
                cl.send(data)
                rs = cl.read_replies(n)
                extra, closed = cl.read_until_eof(0.15)
                return (b''.join(r or b'<EOF>' for r in rs) + extra +
                        (b'<EOF>' if closed else b''))
        for data, n in ODD_BUT_VALID:
            # the two servers side by side: each stays open, a 0.15 s wait
            outs = harness.side_by_side(framing, (sa, sb))
            check('framing %s' % escape(data, 60), outs[0], outs[1])
        check('second client at the end', other_a.cmd('GET', 'witness'),
              b'$%d\r\n%d\r\n' % (len(str(len(PROTO_ERRORS))), len(PROTO_ERRORS)))


def shutdown_cmd():
    """SHUTDOWN on a fresh kvsd: syntax errors as Redis; NOSAVE closes the
    connection and the process exits 0. (SHUTDOWN SAVE: test_rdb.py, and a
    failing one in hiredis test_shutdown.c.)"""
    sa = harness.kvsd_server().start()
    sb = harness.redis_server().start()
    try:
        with sa.client() as ca, sb.client() as cb:
            for args in (['SHUTDOWN', 'FOO'], ['SHUTDOWN', 'NOSAVE', 'SAVE'],
                         ['SHUTDOWN', 'a', 'b', 'c', 'd', 'e', 'f']):
                check(' '.join(args), ca.cmd(*args), cb.cmd(*args))
            ca.send(encode('SHUTDOWN', 'NOSAVE'))
            got, closed = ca.read_until_eof(5.0)
            check('SHUTDOWN NOSAVE then EOF', got + (b'<EOF>' if closed else b'<open>'),
                  b'<EOF>')
            try:
                sa.proc.wait(10)
            except Exception:
                pass
            check('exit status after SHUTDOWN NOSAVE',
                  str(sa.proc.poll()).encode(), b'0')
    finally:
        sa.stop()
        sb.stop()


def main():
    sa = harness.kvsd_server()
    sb = harness.redis_server()
    try:
        sb.start()
        sa.start()
    except RuntimeError as e:
        harness.log('protocol: cannot start servers: %s' % e)
        return 1
    t0 = time.time()
    rc = 0
    try:
        byte_by_byte(sa, sb)
        big_pipeline(sa, sb)
        protocol_errors(sa, sb)
        shutdown_cmd()
    except (OSError, harness.ProtocolError) as e:
        harness.log('protocol: aborted: %r' % (e,))
        rc = 1
    alive = sa.alive()
    code = sa.stop()
    sb.stop()
    if not alive:
        harness.log('protocol: kvsd died during the test (exit %s)' % code)
        rc = 1
    elif code != 0:
        harness.log('protocol: kvsd exited with %s on SIGTERM' % code)
        rc = 1
    harness.log('protocol: %d checks, %d failures, %.1f s' % (
        checks[0], len(failures), time.time() - t0))
    return 1 if failures or rc else 0


if __name__ == '__main__':
    sys.exit(main())
