"""Integration tests for kvsd-loadgen against a real kvsd (Python 3 stdlib only).

Usage: test_loadgen.py LOADGEN_BIN json|stall|dbs|command|mix   (KVSD_BIN from the environment)

json:  short bounded runs (ratio mix, pipelined, two threads; the cache
       workload with --prefill and --verify) whose --json, --hist-out and
       --plot outputs are checked for shape and internal consistency: counts
       add up, percentiles are ordered, config echoes the options, keys are
       key: + 12 digits.
stall: the tool's reason to exist. A 2 s open-loop run at 2,000 ops/s while
       kvsd is stopped (SIGSTOP) for 200 ms (+5 ms, see STALL_S) must report max >= 200 ms and
       p99 >= 150 ms, and must still send rate x duration requests; a
       closed-loop run with the same stall reports p99 < 50 ms — the
       coordinated omission that open loop corrects. These check what the
       tool reports about a known event, never how fast anything is.
dbs:   --dbs 4 (the SELECT-switching workload of bench/select.sh): every
       database gets keys, the counted operations and the SELECTs add up to
       what kvsd's commandstats saw, and every SELECT answered +OK (no errors).
command: --command "SET k:__rand_int__ v:__rand_int__" --keys 300: every request is
       that command (commandstats counts them, per_type has only CMD), each
       placeholder became 12 zero-padded digits below --keys, the two placeholders
       of one request were drawn independently (as redis-benchmark's), and the
       JSON config echoes the template; then the issue's ZINCRBY leaderboard
       template, whose scores must sum to the ZINCRBYs kvsd ran (at least the
       requests reported: unmeasured warm-up requests come on top).
mix:   --ratio 1:3 plus --mix 10% HSET, 5% SADD, 5% ZADD (issue 13's mixed run): each
       class's share of what kvsd's commandstats counted is its weight (GET 60%, SET 20%,
       HSET 10%, SADD 5%, ZADD 5%) within 6 standard deviations of the binomial draw,
       the JSON's per_command rows name the templates and add up to per_type CMD, and
       commandstats saw at least what the JSON counts (requests sent in the moment before
       the measured window opens come on top, drawn from the same mix); --mix 100:...
       sends no GET/SET; weights over 100% and a malformed spec are refused (exit 1).
"""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from kvsd_server import command, start_kvsd

LOADGEN = sys.argv[1]
MODE = sys.argv[2]
KVSD = os.environ.get('KVSD_BIN') or os.path.join(
    os.path.dirname(__file__), '..', '..', '..', 'build', 'server', 'kvsd')
TMP = tempfile.mkdtemp(prefix='kvsd-loadgen-')
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def stop_kvsd(p):
    p.send_signal(signal.SIGCONT)
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()


def gets_served():
    """GETs kvsd has run so far (INFO commandstats; the INFO itself is not a GET)."""
    return cmdstats().get('get', 0)


def loadgen(port, *args, stall_at=None):
    """Run kvsd-loadgen; optionally SIGSTOP the server for STALL_S, stall_at s after its
    first GET reached kvsd. Counted from there, not from the start of the process: on a
    fresh machine (a cold binary, CI) the load generator took long enough to start that a
    stall timed from its exec began before its first request, and the open-loop max came
    out 192 ms for a 205 ms stop (the stall's first 13 ms charged to no request)."""
    out = os.path.join(TMP, 'out-%d.json' % time.monotonic_ns())
    argv = [LOADGEN, '-p', str(port), '--json', out] + list(args)
    base = gets_served() if stall_at is not None else 0
    lg = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stalled = None
    if stall_at is not None:
        deadline = time.monotonic() + 10
        while gets_served() == base and lg.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(stall_at)
        server.send_signal(signal.SIGSTOP)
        t = time.monotonic()
        time.sleep(STALL_S)
        server.send_signal(signal.SIGCONT)
        stalled = time.monotonic() - t
    so, se = lg.communicate(timeout=60)
    if lg.returncode != 0:
        print(so, se)
        sys.exit('kvsd-loadgen %s exited %d' % (' '.join(argv), lg.returncode))
    print('$ ' + ' '.join(argv))
    print(so)
    if stalled is not None:
        print('server stopped for %.1f ms' % (stalled * 1e3))
    with open(out) as f:
        return json.load(f)


# The stall lasts 205 ms rather than exactly 200: the first request due after SIGSTOP lands
# up to 1/rate (0.5 ms at 2,000/s) into the stall, and signal delivery adds jitter, so an
# exact 200 ms stop reports a max of 199.5-200.5 ms. The 5 ms margin keeps the check about
# the tool (does it charge the stall to the delayed requests?) and not about that jitter.
STALL_S = 0.205

LAT = ['p50_us', 'p90_us', 'p99_us', 'p999_us', 'p9999_us', 'max_us']


def check_shape(r, name):
    for k in ['ops_per_sec', 'errors', 'requests', 'duration_s', 'per_type', 'get_hits',
              'get_misses', 'config'] + LAT:
        check(k in r, '%s: field %s missing' % (name, k))
    for scope, v in [('all', r)] + [(t, v) for t, v in r['per_type'].items()]:
        vals = [v[k] for k in LAT]
        check(vals == sorted(vals), '%s/%s: percentiles not ordered: %s' % (name, scope, vals))
        check(vals[0] > 0, '%s/%s: p50 is 0' % (name, scope))
        for k in ['ops_per_sec', 'errors', 'requests']:
            check(k in v, '%s/%s: field %s missing' % (name, scope, k))
    check(sum(v['requests'] for v in r['per_type'].values()) == r['requests'],
          '%s: per_type requests do not add up' % name)
    check(r['duration_s'] > 0 and r['ops_per_sec'] > 0, '%s: no throughput' % name)
    check(abs(r['ops_per_sec'] * r['duration_s'] - r['requests']) <= 1,
          '%s: ops_per_sec x duration_s != requests' % name)


def test_json():
    hist = os.path.join(TMP, 'lat.hgrm')
    plot = os.path.join(TMP, 'lat.png')
    r = loadgen(port, '-t', '2', '-c', '3', '-P', '8', '--requests', '5000', '--ratio', '1:3',
                '--keys', '1000', '-d', '10-100', '--hist-out', hist, '--plot', plot)
    check_shape(r, 'ratio')
    check(r['requests'] == 5000, 'ratio: requests %d != 5000' % r['requests'])
    check(r['errors'] == 0, 'ratio: errors %d' % r['errors'])
    check(set(r['per_type']) == {'GET', 'SET'}, 'ratio: per_type %s' % list(r['per_type']))
    check(r['get_hits'] + r['get_misses'] == r['per_type']['GET']['requests'],
          'ratio: hits + misses != GETs')
    c = r['config']
    check((c['threads'], c['connections'], c['pipeline'], c['ratio'], c['keys'],
           c['data_size_min'], c['data_size_max'], c['requests'], c['hist_out']) ==
          (2, 3, 8, '1:3', 1000, 10, 100, 5000, hist), 'ratio: config %s' % c)
    with open(hist) as f:
        text = f.read()
    check('Value     Percentile TotalCount 1/(1-Percentile)' in text and
          '#[Max     =' in text and 'Total count    =         5000]' in text,
          '.hgrm format:\n' + text[-400:])
    if shutil.which('gnuplot'):
        check(os.path.getsize(plot) > 1000, '--plot wrote no image')

    # cache workload: every miss is followed by a SET of the key
    r = loadgen(port, '-c', '4', '--workload', 'cache', '--keys', '300', '--dist', 'uniform',
                '--requests', '3000', '--verify')
    check_shape(r, 'cache')
    g, s = r['per_type']['GET'], r['per_type'].get('SET', {'requests': 0})
    check(g['requests'] == 3000, 'cache: GETs %d != 3000' % g['requests'])
    check(r['get_hits'] + r['get_misses'] == 3000, 'cache: hits + misses != 3000')
    check(s['requests'] == r['get_misses'], 'cache: SETs %d != misses %d' %
          (s['requests'], r['get_misses']))
    check(r['errors'] == 0 and r['verify_failures'] == 0, 'cache: errors %d verify %d' %
          (r['errors'], r['verify_failures']))

    # --prefill writes key:000000000000 .. key:000000000199 once; workload f re-reads them
    check(command(port, 'FLUSHALL') == b'+OK\r\n', 'FLUSHALL failed')
    r = loadgen(port, '-c', '2', '--workload', 'f', '--keys', '200', '--prefill', '--verify',
                '--requests', '2000', '-d', '32')
    check_shape(r, 'f')
    check(r['get_misses'] == 0 and r['verify_failures'] == 0 and r['errors'] == 0,
          'f after prefill: misses %d verify %d errors %d' %
          (r['get_misses'], r['verify_failures'], r['errors']))
    v = command(port, 'GET', 'key:000000000199')
    check(v.startswith(b'$32\r\n'), 'key:000000000199 not written by --prefill: %r' % v)
    check(command(port, 'DBSIZE') == b':200\r\n', 'prefill did not write exactly 200 keys')


def test_stall():
    # open loop: the stall is charged to every request it delayed
    r = loadgen(port, '--rate', '2000', '--duration', '2', '-c', '4', stall_at=0.8)
    check_shape(r, 'open')
    check(r['max_us'] >= 200000, 'open loop: max %.0f us < 200 ms' % r['max_us'])
    check(r['p99_us'] >= 150000, 'open loop: p99 %.0f us < 150 ms' % r['p99_us'])
    check(abs(r['requests'] - 4000) <= 4, 'open loop: sent %d requests, not 4000 (rate x '
          'duration)' % r['requests'])
    check(r['errors'] == 0, 'open loop: errors %d' % r['errors'])
    # closed loop: the same stall hides in one sample per connection
    r = loadgen(port, '--duration', '2', '-c', '4', stall_at=0.8)
    check_shape(r, 'closed')
    check(r['max_us'] >= 150000, 'closed loop: max %.0f us: the stall was not seen' %
          r['max_us'])
    check(r['p99_us'] < 50000, 'closed loop: p99 %.0f us >= 50 ms' % r['p99_us'])


def test_dbs():
    r = loadgen(port, '--dbs', '4', '--requests', '20000', '-c', '4', '-P', '8',
                '--ratio', '1:1', '--keys', '1000')
    check_shape(r, 'dbs')
    check(r['errors'] == 0, 'dbs: errors %d (%s)' % (r['errors'], r['error_texts']))
    check(r['config']['dbs'] == 4, 'dbs: config echoes %r' % r['config'].get('dbs'))
    keyspace = command(port, 'INFO', 'keyspace').decode()
    for i in range(4):
        check('db%d:keys=' % i in keyspace, 'dbs: database %d got no key:\n%s' % (i, keyspace))
    check('db4:' not in keyspace, 'dbs: a key outside databases 0-3:\n%s' % keyspace)
    stats = command(port, 'INFO', 'commandstats').decode()
    calls = {}
    for line in stats.split('\r\n'):
        if line.startswith('cmdstat_'):
            name, rest = line[len('cmdstat_'):].split(':', 1)
            calls[name] = int(rest.split(',')[0].split('=')[1])
    # a SELECT precedes an operation when the draw (1 in 4 stays) moves the connection
    check(calls.get('select', 0) >= r['selects'] > 20000 // 2,
          'dbs: %d SELECTs counted, kvsd saw %d' % (r['selects'], calls.get('select', 0)))
    check(calls.get('get', 0) + calls.get('set', 0) >= 20000,
          'dbs: kvsd saw %r GET/SET calls for 20000 requests' % calls)


def resp_array(raw):
    """The bulk strings of a flat RESP array reply."""
    lines = raw.split(b'\r\n')
    return [lines[i + 1].decode() for i in range(1, len(lines) - 1, 2)
            if lines[i].startswith(b'$') and lines[i] != b'$-1']


def test_command():
    tmpl = 'SET k:__rand_int__ v:__rand_int__'
    r = loadgen(port, '--command', tmpl, '--requests', '5000', '-c', '4', '-P', '4',
                '--keys', '300')
    check_shape(r, 'command')
    check(r['errors'] == 0, 'command: errors %d (%s)' % (r['errors'], r['error_texts']))
    check(list(r['per_type']) == ['CMD'], 'command: per_type %r' % list(r['per_type']))
    check(r['config'].get('command') == tmpl, 'command: config echoes %r' %
          r['config'].get('command'))
    keys = resp_array(command(port, 'KEYS', '*'))
    check(0 < len(keys) <= 300, 'command: %d keys for --keys 300' % len(keys))
    differ = 0
    for k in keys[:50]:
        check(len(k) == 14 and k.startswith('k:') and k[2:].isdigit() and int(k[2:]) < 300,
              'command: key %r is not k: + 12 digits below 300' % k)
        v = command(port, 'GET', k).split(b'\r\n')[1].decode()
        check(len(v) == 14 and v.startswith('v:') and v[2:].isdigit() and int(v[2:]) < 300,
              'command: value %r is not v: + 12 digits below 300' % v)
        differ += v[2:] != k[2:]
    check(differ > 0, 'command: every value repeats its key: placeholders not drawn apart')
    stats = command(port, 'INFO', 'commandstats').decode()
    sets = [int(line.split('calls=')[1].split(',')[0]) for line in stats.split('\r\n')
            if line.startswith('cmdstat_set:')]
    check(sets and sets[0] >= 5000, 'command: kvsd saw %r SET calls for 5000 requests' % sets)
    # the leaderboard: every ZINCRBY adds 1, so the scores sum to the requests
    r = loadgen(port, '--command', 'ZINCRBY lb 1 m:__rand_int__', '--requests', '3000', '-c', '2',
                '-P', '8', '--keys', '100')
    check(r['errors'] == 0, 'command zincrby: errors %d (%s)' % (r['errors'], r['error_texts']))
    members = resp_array(command(port, 'ZRANGE', 'lb', '0', '-1', 'WITHSCORES'))
    check(0 < len(members) // 2 <= 100, 'command zincrby: %d members' % (len(members) // 2))
    stats = command(port, 'INFO', 'commandstats').decode()
    calls = [int(line.split('calls=')[1].split(',')[0]) for line in stats.split('\r\n')
             if line.startswith('cmdstat_zincrby:')]
    total = sum(float(x) for x in members[1::2])
    check(calls and total == calls[0] >= r['requests'] >= 3000,
          'command zincrby: scores sum to %r, kvsd saw %r calls, %d requests reported'
          % (total, calls, r['requests']))


def cmdstats():
    calls = {}
    for line in command(port, 'INFO', 'commandstats').decode().split('\r\n'):
        if line.startswith('cmdstat_'):
            name, rest = line[len('cmdstat_'):].split(':', 1)
            calls[name] = int(rest.split(',')[0].split('=')[1])
    return calls


def test_mix():
    n, conns, depth = 20000, 4, 4
    mix = [('HSET', 'HSET h:__rand_int__ f v:__rand_int__', 10),
           ('SADD', 'SADD s:__rand_int__ __rand_int__', 5),
           ('ZADD', 'ZADD z:__rand_int__ __rand_int__ m', 5)]
    args = ['--requests', str(n), '-c', str(conns), '-P', str(depth), '--keys', '200',
            '--ratio', '1:3']
    for _, tmpl, w in mix:
        args += ['--mix', '%d:%s' % (w, tmpl)]
    before = cmdstats()
    r = loadgen(port, *args)
    after = cmdstats()
    seen = {k: after.get(k, 0) - before.get(k, 0) for k in ('get', 'set', 'hset', 'sadd', 'zadd')}
    check_shape(r, 'mix')
    check(r['errors'] == 0, 'mix: errors %d (%s)' % (r['errors'], r['error_texts']))
    pc = r.get('per_command', [])
    check([(x['name'], x['template'], x['weight_pct']) for x in pc] == mix,
          'mix: per_command rows %r' % [(x.get('name'), x.get('template'),
                                          x.get('weight_pct')) for x in pc])
    check(r['config'].get('mix_getset_pct') == 80, 'mix: GET/SET share %r' %
          r['config'].get('mix_getset_pct'))
    check([x['template'] for x in r['config'].get('mix', [])] == [m[1] for m in mix],
          'mix: config echoes %r' % r['config'].get('mix'))
    pt = {k: v['requests'] for k, v in r['per_type'].items()}
    check(sum(x['requests'] for x in pc) == pt.get('CMD'),
          'mix: per_command adds up to %d, per_type CMD %r' %
          (sum(x['requests'] for x in pc), pt.get('CMD')))
    check(sum(pt.values()) == r['requests'] == n, 'mix: per_type %r for %d requests' % (pt, n))
    counted = {'get': pt.get('GET', 0), 'set': pt.get('SET', 0)}
    for x in pc:
        counted[x['name'].lower()] = x['requests']
    total = sum(seen.values())
    check(total >= n, 'mix: kvsd saw %d commands for %d requests: %r' % (total, n, seen))
    for cls, share in (('get', 0.6), ('set', 0.2), ('hset', 0.1), ('sadd', 0.05),
                       ('zadd', 0.05)):
        check(seen[cls] >= counted[cls],
              'mix: %s: kvsd saw %d, the JSON counts %d' % (cls, seen[cls], counted[cls]))
        tol = 6 * math.sqrt(total * share * (1 - share))
        check(abs(seen[cls] - total * share) <= tol,
              'mix: %s: %d of %d commands, want %.0f +- %.0f' % (cls, seen[cls], total,
                                                                total * share, tol))
    before = cmdstats()
    r = loadgen(port, '--requests', '2000', '-c', '2', '--mix', '100:SISMEMBER s:__rand_int__ 1')
    after = cmdstats()
    check(after.get('get', 0) == before.get('get', 0) and
          after.get('set', 0) == before.get('set', 0), 'mix 100%: GET/SET were sent')
    check(after.get('sismember', 0) - before.get('sismember', 0) >= 2000,
          'mix 100%%: kvsd saw %d SISMEMBER' % (after.get('sismember', 0) -
                                                before.get('sismember', 0)))
    for bad in (['--mix', '60:GET a', '--mix', '41:GET b'], ['--mix', 'GET a'],
                ['--mix', '0:GET a'], ['--mix', '5:GET a', '--command', 'GET b']):
        p = subprocess.run([LOADGEN, '-p', str(port), '--requests', '10'] + bad,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and '--mix' in p.stderr,
              'mix: %r exited %d: %s' % (bad, p.returncode, p.stderr.strip()))


server, port = start_kvsd(KVSD)
try:
    {'json': test_json, 'stall': test_stall, 'dbs': test_dbs, 'command': test_command,
     'mix': test_mix}[MODE]()
finally:
    stop_kvsd(server)
    shutil.rmtree(TMP, ignore_errors=True)
if failures:
    sys.exit('%d check(s) failed' % len(failures))
print('PASS: loadgen', MODE)
