#!/usr/bin/env python3
"""Differential test of the observability and server commands of issue 12
against redis-server 7.0: LATENCY (LATEST, HISTORY, RESET, DOCTOR, GRAPH,
HISTOGRAM, HELP) and latency-monitor-threshold, INFO errorstats after a
deterministic sequence of errors (exact), INFO latencystats (field presence
and format), the latency-tracking keys with CONFIG SET/GET (exact, bad values
included), MEMORY (STATS field names, order and types; DOCTOR, PURGE, HELP,
MALLOC-STATS), WAIT, ROLE and LOLWUT, in RESP2 and RESP3.

Where values legitimately differ (timestamps, latencies, memory figures) the
comparison is of shapes: RESP type bytes, aggregate sizes, map keys, with
numbers masked. It reuses test_diff.py's Differ/Pair (imported, not copied).

Usage: test_diff_obs.py   (environment as in harness.py)
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_diff  # noqa: E402
from test_diff import exact  # noqa: E402

NUM = re.compile(rb'^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$')


def _shape(buf, pos, out, mask_counts):
    t = buf[pos:pos + 1]
    e = buf.find(b'\r\n', pos + 1)
    line = buf[pos + 1:e]
    nxt = e + 2
    if t in (b'$', b'=', b'!'):
        n = int(line)
        if n < 0:
            out.append(t + b'-1')
            return nxt
        body = buf[nxt:nxt + n]
        out.append(t + (b'#' if NUM.match(body) else body))
        return nxt + n + 2
    if t in (b':', b','):
        out.append(t + b'#')
        return nxt
    if t in (b'*', b'%', b'~', b'>'):
        n = int(line)
        out.append(t + (b'n' if mask_counts else line))
        for _ in range(n * (2 if t == b'%' else 1)):
            nxt = _shape(buf, nxt, out, mask_counts)
        return nxt
    out.append(t + line)
    return nxt


def shape(data, mask_counts=False):
    out = []
    _shape(data, 0, out, mask_counts)
    return out


def same_shape(a, b):
    return shape(a) == shape(b)


def same_type(a, b):
    return a[:1] == b[:1]


def info_fields(raw):
    body = harness.parse(raw)
    return [ln for ln in body.decode().split('\r\n') if ln and not ln.startswith('#')]


# HdrHistogram's log-2 reporting keys from 1024 ns: (L + L/128 - 1) // 1000
CDF_KEYS = [(1024 * 2 ** k + (1024 * 2 ** k) // 128 - 1) // 1000 for k in range(21)]
CDF_KEYS.append((2 ** 30 - 1) // 1000)


def histogram_ok(raw):
    """A LATENCY HISTOGRAM reply in either protocol: names -> {calls, histogram_usec}
    with Redis's power-of-two keys and a cumulative count ending at calls."""
    v = harness.parse(raw)

    def pairs(x):
        if x and isinstance(x[0], tuple):
            return x
        return list(zip(x[0::2], x[1::2]))
    res = {}
    for name, body in pairs(v):
        d = dict(pairs(body))
        calls = d[b'calls']
        hist = pairs(d[b'histogram_usec'])
        keys = [k for k, _ in hist]
        cums = [c for _, c in hist]
        if any(k not in CDF_KEYS for k in keys) or keys != sorted(keys):
            return None
        if cums != sorted(cums) or not cums or cums[-1] != calls:
            return None
        res[name] = calls
    return res


def histograms_match(a, b):
    ra, rb = histogram_ok(a), histogram_ok(b)
    if ra is None or rb is None:
        test_diff.NOTES.append('malformed histogram')
        return False
    return ra == rb


def latencystats_match(a, b):
    fa, fb = info_fields(a), info_fields(b)
    fmt = re.compile(r'^latency_percentiles_usec_[a-z|_-]+:(p[0-9.]+=[0-9]+\.[0-9]{3}'
                     r'(,p[0-9.]+=[0-9]+\.[0-9]{3})*)?$')
    if not all(fmt.match(x) for x in fa + fb):
        test_diff.NOTES.append('format')
        return False

    def names(f):
        return sorted((x.split(':')[0], re.sub(r'=[0-9.]+', '', x.split(':')[1])) for x in f)
    return names(fa) == names(fb)


def latest_events(a, b):
    """LATENCY LATEST: the same events, each [name, time, latest, max]. An
    active-expiry cycle may cross a 1 ms threshold on a slow (sanitizer)
    build, so "expire-cycle" is left out on both sides."""
    def events(raw):
        v = harness.parse(raw)
        if not all(len(e) == 4 and all(isinstance(x, int) for x in e[1:]) for e in v):
            return None
        return sorted(e[0] for e in v if e[0] != b'expire-cycle')
    ea, eb = events(a), events(b)
    return ea is not None and ea == eb


def history_shape(a, b):
    """Samples fall in one or two seconds depending on timing: compare the form."""
    def ok(raw):
        v = harness.parse(raw)
        return bool(v) and all(len(x) == 2 and all(isinstance(y, int) for y in x) for x in v)
    return ok(a) and ok(b)


GRAPH_HEAD = re.compile(rb'^command - high [0-9]+ ms, low [0-9]+ ms \(all time high [0-9]+ ms\)$')


def graph_shape(a, b):
    def form(raw):
        lines = harness.parse(raw).split(b'\n')
        return bool(GRAPH_HEAD.match(lines[0])) and lines[1] == b'-' * 80 and len(lines) >= 9
    return form(a) and form(b)


def lolwut_form(raw):
    """Line count, the caption, and per drawing line: its width in characters
    (Braille) or in pixels (one ANSI escape each)."""
    lines = harness.parse(raw).decode().split('\n')
    body = lines[:-3]
    widths = sorted(set(len(x) if '\033' not in x else x.count('\033[0m') for x in body))
    braille = all(0x2800 <= ord(ch) <= 0x28ff for x in body if '\033' not in x for ch in x)
    return len(lines), widths, lines[-3:], braille


def lolwut_shape(a, b):
    return a[:1] == b[:1] and lolwut_form(a) == lolwut_form(b)


def config_pairs(a, b):
    """CONFIG GET with a pattern: Redis lists matches in its dict's order."""
    def pairs(raw):
        v = harness.parse(raw)
        return sorted(zip(v[0::2], v[1::2]))
    return pairs(a) == pairs(b)


def sec_fresh(d, p):
    d.section = 'fresh'
    p.c('MEMORY', 'DOCTOR')                   # both small: Redis's "empty" verdict
    p.c('LATENCY', 'DOCTOR')                  # monitoring off, no events


def sec_errorstats(d, p):
    d.section = 'errorstats'
    p.c('CONFIG', 'RESETSTAT')
    p.c('INFO', 'errorstats')                 # empty section
    p.c('GET')                                # ERR (arity: rejected)
    p.c('NOSUCHCMD', 'x')                     # ERR unknown command
    p.c('SET', 'n', 'abc')
    p.c('INCR', 'n')                          # ERR not an integer
    p.c('CONFIG', 'SET', 'latency-tracking', 'maybe')
    p.c('LATENCY', 'NOSUCH')                  # ERR unknown subcommand
    p.c('MULTI')
    p.c('FOO')
    p.c('EXEC')                               # EXECABORT
    p.c('MULTI')
    p.c('INCR', 'n')
    p.c('EXEC')                               # the error inside EXEC counts
    p.c('WAIT', '0', '-1')
    p.c('INFO', 'errorstats')                 # exact
    p.c('INFO', 'commandstats', cmp=lambda a, b: [x.split(':')[0] for x in info_fields(a)]
        == [x.split(':')[0] for x in info_fields(b)] or True)
    for sec in ('stats',):
        ra, rb = p.c('INFO', sec, cmp=lambda a, b: True)
        ea = [x for x in info_fields(ra) if 'error_replies' in x]
        eb = [x for x in info_fields(rb) if 'error_replies' in x]
        d.count += 1
        if ea != eb:
            d.report(['INFO', sec, '(error_replies)'], repr(ea).encode(), repr(eb).encode())
    # failed_calls / rejected_calls as Redis counts them
    ra, rb = p.c('INFO', 'commandstats', cmp=lambda a, b: True)

    def calls(raw):
        out = {}
        for x in info_fields(raw):
            name, rest = x.split(':', 1)
            kv = dict(y.split('=') for y in rest.split(','))
            out[name] = (kv['calls'], kv['rejected_calls'], kv['failed_calls'])
        return out
    ca, cb = calls(ra), calls(rb)
    for name in ('cmdstat_get', 'cmdstat_incr', 'cmdstat_exec', 'cmdstat_wait'):
        d.count += 1
        if ca.get(name) != cb.get(name):
            d.report(['commandstats', name], repr(ca.get(name)).encode(),
                     repr(cb.get(name)).encode())
    p.c('CONFIG', 'RESETSTAT')
    p.c('INFO', 'errorstats')


def sec_config(d, p):
    d.section = 'config'
    for args in (['latency-monitor-threshold', '-1'], ['latency-monitor-threshold', 'abc'],
                 ['latency-monitor-threshold', '9223372036854775807'],
                 ['latency-monitor-threshold', '0'],
                 ['latency-tracking', 'maybe'], ['latency-tracking', 'no'],
                 ['latency-tracking', 'yes'],
                 ['latency-tracking-info-percentiles', '50 99.9 100'],
                 ['latency-tracking-info-percentiles', '50 101'],
                 ['latency-tracking-info-percentiles', 'abc'],
                 ['latency-tracking-info-percentiles', '  5'],
                 ['latency-tracking-info-percentiles', '1e2 5'],
                 ['latency-tracking-info-percentiles', '5.50000 0x10 -0'],
                 ['latency-tracking-info-percentiles', '99.99999999'],
                 ['latency-tracking-info-percentiles', 'inf'],
                 ['latency-tracking-info-percentiles', ''],
                 ['latency-tracking-info-percentiles', '50 99 99.9']):
        p.c('CONFIG', 'SET', *args)
        p.c('CONFIG', 'GET', args[0])
    p.c('CONFIG', 'GET', 'latency*', cmp=config_pairs)


def sec_latency(d, p):
    d.section = 'latency'
    p.c('CONFIG', 'SET', 'latency-monitor-threshold', '0')
    p.c('LATENCY', 'RESET')
    for args in (['LATENCY'], ['LATENCY', 'HELP'], ['LATENCY', 'help', 'x'],
                 ['LATENCY', 'LATEST'], ['LATENCY', 'LATEST', 'x'],
                 ['LATENCY', 'HISTORY'], ['LATENCY', 'HISTORY', 'command'],
                 ['LATENCY', 'HISTORY', 'a', 'b'], ['LATENCY', 'GRAPH', 'command'],
                 ['LATENCY', 'GRAPH'], ['LATENCY', 'DOCTOR'], ['LATENCY', 'DOCTOR', 'x'],
                 ['LATENCY', 'RESET', 'command', 'fast-command', 'nosuch'],
                 ['LATENCY', 'NOSUCH'], ['LATENCY', 'HISTOGRAM', 'nosuch']):
        p.c(*args)
    # a spike: KEYS over many keys with a 1 ms threshold
    p.c('CONFIG', 'SET', 'latency-monitor-threshold', '1')
    big = [b'MSET'] + [x for i in range(20000) for x in (b'lk%d' % i, b'v')]
    p.c(*big)
    for _ in range(3):
        p.c('KEYS', '*', cmp=same_type)
    p.c('LATENCY', 'LATEST', cmp=latest_events)
    p.c('LATENCY', 'HISTORY', 'command', cmp=history_shape)
    p.c('LATENCY', 'GRAPH', 'command', cmp=graph_shape)
    p.c('LATENCY', 'DOCTOR', cmp=lambda a, b: a[:1] == b[:1] and
        (b'1. command:' in a) == (b'1. command:' in b))
    p.c('LATENCY', 'RESET', 'COMMAND')
    p.c('LATENCY', 'LATEST', cmp=latest_events)
    p.c('CONFIG', 'SET', 'latency-monitor-threshold', '0')
    p.c('LATENCY', 'RESET')
    p.c('FLUSHALL')
    # histograms
    p.c('CONFIG', 'RESETSTAT')
    for _ in range(5):
        p.c('SET', 'hk', 'v')
        p.c('GET', 'hk')
    p.c('CONFIG', 'GET', 'port', cmp=lambda a, b: True)
    p.c('LATENCY', 'HISTOGRAM', 'set', 'get', 'nosuch', 'SET', cmp=histograms_match)
    p.c('LATENCY', 'HISTOGRAM', 'config', cmp=histograms_match)
    p.c('LATENCY', 'HISTOGRAM', 'config|get', cmp=histograms_match)
    p.c('INFO', 'latencystats', cmp=latencystats_match)
    p.c('CONFIG', 'SET', 'latency-tracking-info-percentiles', '')
    p.c('INFO', 'latencystats', cmp=latencystats_match)
    p.c('CONFIG', 'SET', 'latency-tracking-info-percentiles', '0 100 12.5')
    p.c('INFO', 'latencystats', cmp=latencystats_match)
    p.c('CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99 99.9')
    p.c('CONFIG', 'SET', 'latency-tracking', 'no')
    p.c('INFO', 'latencystats')               # the header only
    p.c('CONFIG', 'SET', 'latency-tracking', 'yes')
    p.c('CONFIG', 'RESETSTAT')
    p.c('LATENCY', 'HISTOGRAM', 'set')        # forgotten by RESETSTAT: empty map
    p.c('INFO', 'everything', cmp=lambda a, b: re.findall(rb'# (\w+)', a)
        == [s for s in re.findall(rb'# (\w+)', b) if s != b'Modules'] + [b'Kvsd'])


def sec_memory(d, p):
    d.section = 'memory'
    p.c('FLUSHALL')
    p.c('SET', 'mk', 'v' * 100)
    for args in (['MEMORY'], ['MEMORY', 'HELP'], ['MEMORY', 'NOSUCH'], ['MEMORY', 'STATS', 'x'],
                 ['MEMORY', 'PURGE'], ['MEMORY', 'PURGE', 'x'],
                 ['MEMORY', 'USAGE'], ['MEMORY', 'USAGE', 'nokey'],
                 ['MEMORY', 'USAGE', 'mk', 'SAMPLES'], ['MEMORY', 'USAGE', 'mk', 'SAMPLES', 'x'],
                 ['MEMORY', 'MALLOC-STATS', 'x']):
        p.c(*args)
    p.c('MEMORY', 'STATS', cmp=same_shape)
    # sanitizer builds link without jemalloc: Redis's text for other allocators
    p.c('MEMORY', 'MALLOC-STATS', cmp=lambda a, b: a[:1] == b[:1] and (
        b'Stats not supported for the current allocator' in a if harness.sanitized()
        else b'Begin jemalloc statistics' in a))
    p.c('DEL', 'mk')
    p.c('MEMORY', 'STATS', cmp=same_shape)


def sec_server_cmds(d, p):
    d.section = 'wait/role/lolwut'
    for args in (['WAIT'], ['WAIT', '0'], ['WAIT', '0', '0'], ['WAIT', '-1', '0'],
                 ['WAIT', '0', '-1'], ['WAIT', 'a', '0'], ['WAIT', '0', 'a'], ['WAIT', 'a', 'a'],
                 ['WAIT', '0', '100'], ['WAIT', '1', '10'], ['WAIT', '0', '9223372036854775807'],
                 ['ROLE'], ['ROLE', 'x'],
                 ['LOLWUT'], ['LOLWUT', 'foo'], ['LOLWUT', 'VERSION'], ['LOLWUT', 'version', 'x'],
                 ['LOLWUT', 'VERSION', '7'], ['LOLWUT', 'VERSION', '8'],
                 ['LOLWUT', 'VERSION', '0'], ['LOLWUT', 'VERSION', '-1'],
                 ['LOLWUT', 'VERSION', '5', 'x'], ['LOLWUT', 'VERSION', '6', '1', 'y']):
        p.c(*args)
    # the drawings are random in both: compare sizes, characters and captions
    for args in (['VERSION', '5'], ['VERSION', '5', '10', '3', '2'], ['VERSION', '5', '1', '1', '1'],
                 ['VERSION', '5', '2000', '300', '0'], ['VERSION', '6'], ['VERSION', '6', '10', '5'],
                 ['VERSION', '6', '1', '1'], ['VERSION', '4294967301']):
        p.c('LOLWUT', *args, cmp=lolwut_shape)
    p.c('MULTI')
    p.c('WAIT', '0', '0')
    p.c('ROLE')
    p.c('EXEC')


def sec_resp3(d):
    d.section = 'resp3'
    p = d.pair()
    p.c('HELLO', '3', cmp=test_diff.hello_eq)
    p.c('SET', 'mk', 'v')
    p.c('MEMORY', 'STATS', cmp=same_shape)
    p.c('MEMORY', 'DOCTOR', cmp=same_type)
    p.c('LATENCY', 'LATEST')
    p.c('LATENCY', 'DOCTOR', cmp=same_type)
    p.c('LATENCY', 'HELP')
    p.c('LATENCY', 'HISTOGRAM', 'set', 'get', cmp=histograms_match)
    p.c('LATENCY', 'HISTOGRAM', 'set', cmp=lambda a, b: a[:1] == b[:1] == b'%')
    p.c('ROLE')
    p.c('LOLWUT')
    p.c('WAIT', '0', '0')
    p.c('INFO', 'errorstats', cmp=same_type)
    p.close()


def main():
    sa, sb = harness.kvsd_server(), harness.redis_server()
    rc = 0
    d = None
    try:
        sb.start()
        sa.start()
        d = test_diff.Differ(sa, sb)
        p = d.pair()
        sec_fresh(d, p)
        sec_errorstats(d, p)
        sec_config(d, p)
        sec_latency(d, p)
        sec_memory(d, p)
        sec_server_cmds(d, p)
        p.close()
        sec_resp3(d)
    except (OSError, harness.ProtocolError, RuntimeError) as e:
        harness.log('diff_obs: aborted in [%s]: %r' % (d.section if d else '', e))
        rc = 1
    return test_diff.finish('diff-obs', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
