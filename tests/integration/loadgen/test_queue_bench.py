"""Integration test for build/bench/queue-bench (bench/queue_bench.c), issue 14's job-queue
load generator, against a real kvsd --threads 2 (Python 3 stdlib only).

Usage: test_queue_bench.py QUEUE_BENCH_BIN   (KVSD_BIN from the environment; QUEUE_TEST_SERVER
       names another server binary, e.g. redis-server, to run the same checks against it)

- 3 producers and 2 consumers move 3000 jobs: exit 0, the JSON says 3000 pushed and popped,
  no duplicate, malformed or missing job, the list is empty at the end, and the latency
  percentiles are present and ordered (their values are not asserted).
- The checker catches a loss: a foreign client parked in BRPOP on the queue's key before the
  run starts is the first waiter, so it takes the first job pushed; queue-bench must then
  report exactly 1 missing job and exit 2, within its --drain bound.
- Bad options exit 1.
Skips (77) while the server has no BRPOP (blocking commands not merged yet).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'py'))
sys.dont_write_bytecode = True  # keep the source tree clean
import harness  # noqa: E402

QB = sys.argv[1]
SERVER = os.environ.get('QUEUE_TEST_SERVER') or os.environ.get('KVSD_BIN')
TMP = tempfile.mkdtemp(prefix='kvsd-queue-bench-')
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def request(sock, *args):
    sock.sendall(b'*%d\r\n' % len(args) + b''.join(
        b'$%d\r\n%s\r\n' % (len(a), a) for a in (x.encode() for x in args)))


def command(port, *args):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        request(s, *args)
        time.sleep(0.05)
        return s.recv(65536)


def start():
    port = harness.free_port()
    argv = [SERVER, '--port', str(port), '--bind', '127.0.0.1', '--loglevel', 'warning']
    if os.path.basename(SERVER) == 'redis-server':
        argv += ['--save', '', '--appendonly', 'no']
    else:
        argv += ['--threads', '2', '--save', ''] + os.environ.get('KVSD_EXTRA_ARGS', '').split()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if command(port, 'PING') == b'+PONG\r\n':
                return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit('server did not start')


def run(port, *args):
    out = os.path.join(TMP, 'q-%d.json' % time.monotonic_ns())
    argv = [QB, '-p', str(port), '--json', out] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    print('$ ' + ' '.join(argv))
    print(p.stdout, p.stderr)
    rep = None
    if os.path.exists(out):
        with open(out) as f:
            rep = json.load(f)
    return p.returncode, rep


def test(port):
    rc, r = run(port, '--producers', '3', '--consumers', '2', '--jobs', '3000', '--size', '40')
    check(rc == 0, 'clean run exited %d' % rc)
    check(r is not None, 'no JSON written')
    if r:
        check(r['pushed'] == r['popped'] == r['jobs'] == 3000, 'pushed %d popped %d of %d' %
              (r['pushed'], r['popped'], r['jobs']))
        check(r['duplicates'] == r['malformed'] == r['missing'] == r['errors'] == 0,
              'duplicates %d malformed %d missing %d errors %d' %
              (r['duplicates'], r['malformed'], r['missing'], r['errors']))
        check(r['left_in_list'] == 0, 'left in list %d' % r['left_in_list'])
        check(r['producers'] == 3 and r['consumers'] == 2 and r['config']['size'] == 40,
              'config echo %r' % r['config'])
        lat = r['latency']
        check(0 < lat['p50_us'] <= lat['p90_us'] <= lat['p99_us'] <= lat['p999_us'] <=
              lat['max_us'] * 1.01, 'latency percentiles out of order: %r' % lat)
        check(r['jobs_per_sec'] > 0 and r['duration_s'] > 0, 'no rate: %r' % r)

    # a thief parked first on the key takes the first job: queue-bench must see it missing
    key = 'queue-bench-test'
    thief = socket.create_connection(('127.0.0.1', port), timeout=30)
    request(thief, 'BRPOP', key, '30')
    time.sleep(0.2)  # let the server park it (ordering, not a speed assert)
    t0 = time.monotonic()
    rc, r = run(port, '--key', key, '--producers', '2', '--consumers', '2', '--jobs', '500',
                '--drain', '0.5')
    took = time.monotonic() - t0
    got = thief.recv(4096)
    thief.close()
    check(rc == 2, 'a stolen job: exit %d, want 2' % rc)
    check(r is not None and r['missing'] == 1 and r['popped'] == 499 and r['duplicates'] == 0,
          'a stolen job: %r' % (r and {k: r[k] for k in ('missing', 'popped', 'duplicates')}))
    check(got.startswith(b'*2\r\n') and b':0:' in got, 'the thief got %r' % got[:80])
    check(took < 60, 'queue-bench took %.1f s to give up with --drain 0.5' % took)

    for bad in (['--producers', '0'], ['--jobs', '2', '--producers', '3'], ['--timeout', '0'],
                ['--bogus']):
        p = subprocess.run([QB, '-p', str(port)] + bad, capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 1, '%r exited %d' % (bad, p.returncode))


server, port = start()
try:
    if not command(port, 'COMMAND', 'INFO', 'BRPOP').startswith(b'*1\r\n*'):
        print('SKIP: the server has no BRPOP yet')
        sys.exit(77)
    test(port)
finally:
    server.terminate()
    server.wait(timeout=10)
if failures:
    sys.exit('%d check(s) failed' % len(failures))
print('PASS: queue-bench')
