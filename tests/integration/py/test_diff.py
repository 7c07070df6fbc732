#!/usr/bin/env python3
"""Differential test: kvsd against redis-server 7.0, reply bytes compared exactly.

Both servers are started on free loopback ports and receive the same commands.
Part A is a hand-written list covering every command of the foundation issue,
its options and its error paths; Part B is a seeded random sequence of string
and key commands, pipelined in batches. Replies that legitimately differ
(ids, TTLs a millisecond apart, KEYS order, INFO, TIME...) are normalised or
compared by shape; everything else must match byte for byte.

Usage: test_diff.py [--seed N] [--count N] [--only A|B] [--keep-going]
Environment: see harness.py (KVSD_BIN, KVSD_EXTRA_ARGS, DIFF_A_BIN, REDIS_BIN);
DIFF_SEED overrides the default seed. Exit status 0 when no reply differs.
"""

import argparse
import os
import random
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode, escape, parse, Err  # noqa: E402

REPLY_TIMEOUT = 5.0
TRACE = os.environ.get('DIFF_TRACE') == '1'


# ---------------------------------------------------------------- comparators
# Each takes the raw replies (kvsd, redis) and returns True when they agree.

def exact(a, b):
    return a == b


def _int(r):
    if r is None or r[:1] != b':':
        return None
    return int(r[1:-2])


def int_close(tol):
    """Integers within tol of each other; negative values (-1, -2) exact."""
    def f(a, b):
        ia, ib = _int(a), _int(b)
        if ia is None or ib is None or ia < 0 or ib < 0:
            return a == b
        return abs(ia - ib) <= tol
    return f


def bulk_int_close(tol):
    """Bulk strings holding integers (e.g. CONFIG-like values) within tol."""
    def f(a, b):
        try:
            return abs(int(parse(a)) - int(parse(b))) <= tol
        except (TypeError, ValueError):
            return a == b
    return f


def sorted_array(a, b):
    """Arrays equal as multisets (KEYS order is unspecified)."""
    try:
        va, vb = parse(a), parse(b)
    except Exception:
        return a == b
    if isinstance(va, list) and isinstance(vb, list):
        return a[:1] == b[:1] and sorted(va, key=repr) == sorted(vb, key=repr)
    return a == b


def both_integer(a, b):
    return _int(a) is not None and _int(b) is not None


def same_type_byte(a, b):
    return a is not None and b is not None and a[:1] == b[:1]


def nullness(a, b):
    """RANDOMKEY with several keys: both null or both a bulk string."""
    nulls = (b'$-1\r\n', b'_\r\n')
    if a in nulls or b in nulls:
        return a == b
    return a[:1] == b[:1] == b'$'


_HELLO_ID = re.compile(rb'(\$2\r\nid\r\n):\d+\r\n')


def norm_hello(r):
    return _HELLO_ID.sub(rb'\1:<id>\r\n', r) if r else r


def hello_eq(a, b):
    return norm_hello(a) == norm_hello(b)


_TIME = re.compile(rb'^\*2\r\n\$(\d+)\r\n(\d+)\r\n\$(\d+)\r\n(\d+)\r\n$')


def time_shape(a, b):
    """TIME: two bulk integers (seconds, microseconds), seconds within 2."""
    ma, mb = _TIME.match(a or b''), _TIME.match(b or b'')
    if not ma or not mb:
        return False
    for m in (ma, mb):
        if int(m.group(1)) != len(m.group(2)) or \
                int(m.group(3)) != len(m.group(4)) or int(m.group(4)) >= 1000000:
            return False
    return abs(int(ma.group(2)) - int(mb.group(2))) <= 2


def config_port_norm(pa, pb):
    def f(a, b):
        return a.replace(str(pa).encode(), b'<port>') == \
            b.replace(str(pb).encode(), b'<port>')
    return f


def client_fields(name_expected=None):
    """CLIENT INFO / LIST: same reply type, the core fields present, and the
    values of name, db, cmd and resp equal."""
    core = ['id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db',
            'sub', 'psub', 'multi', 'qbuf', 'obl', 'oll', 'omem', 'events',
            'cmd', 'user', 'resp']

    def fields(r):
        v = parse(r)
        if not isinstance(v, bytes):
            return None
        if r[:1] == b'=':
            v = v[4:]
        line = v.decode('latin-1').split('\n')[0]
        out = {}
        for kv in line.split(' '):
            if '=' in kv:
                k, val = kv.split('=', 1)
                out[k] = val
        return out

    def f(a, b):
        if not same_type_byte(a, b):
            return False
        fa, fb = fields(a), fields(b)
        if fa is None or fb is None:
            return False
        for k in core:
            if k not in fa:
                return False
        for k in ('name', 'db', 'cmd', 'resp', 'user', 'flags'):
            if fa.get(k) != fb.get(k):
                return False
        return True
    return f


INFO_FIELDS = {
    'server': ['redis_version', 'redis_mode', 'os', 'arch_bits', 'process_id',
               'run_id', 'tcp_port', 'uptime_in_seconds', 'uptime_in_days',
               'hz', 'configured_hz', 'executable', 'config_file'],
    'clients': ['connected_clients', 'maxclients', 'blocked_clients'],
    'memory': ['used_memory', 'used_memory_human', 'used_memory_rss',
               'used_memory_peak', 'used_memory_peak_human', 'maxmemory',
               'maxmemory_human', 'maxmemory_policy', 'mem_allocator'],
    'stats': ['total_connections_received', 'total_commands_processed',
              'instantaneous_ops_per_sec', 'total_net_input_bytes',
              'total_net_output_bytes', 'rejected_connections', 'expired_keys',
              'evicted_keys', 'keyspace_hits', 'keyspace_misses',
              'total_error_replies'],
    'keyspace': [],
}


def info_sections(r):
    v = parse(r)
    if not isinstance(v, bytes):
        return None
    if r[:1] == b'=':
        v = v[4:]
    secs = {}
    cur = None
    for line in v.decode('latin-1').split('\r\n'):
        if line.startswith('# '):
            cur = line[2:].strip().lower()
            secs[cur] = {}
        elif ':' in line and cur is not None:
            k, val = line.split(':', 1)
            secs[cur][k] = val
    return secs


NOTES = []   # comparators explain a mismatch here; report() prints them


def info_check(sections):
    """INFO [section]: same reply type; the named sections and their core
    fields present in kvsd's reply; redis_version and the keyspace line equal."""
    def f(a, b):
        if not same_type_byte(a, b):
            return False
        sa, sb = info_sections(a), info_sections(b)
        if sa is None or sb is None:
            return False
        ok = True
        for s in sections:
            if s not in sa or s not in sb:
                NOTES.append('section %s missing' % s)
                ok = False
                continue
            for k in INFO_FIELDS[s]:
                if k in sb[s] and k not in sa[s]:
                    NOTES.append('field %s missing in # %s' % (k, s))
                    ok = False
        if 'server' in sections and sa['server'].get('redis_version') != \
                sb['server'].get('redis_version'):
            NOTES.append('redis_version differs')
            ok = False
        if 'keyspace' in sections and 'keyspace' in sa:
            ka = {k: v.split(',')[0] for k, v in sa['keyspace'].items()}
            kb = {k: v.split(',')[0] for k, v in sb['keyspace'].items()}
            if ka != kb:
                NOTES.append('keyspace differs: %r vs %r' % (ka, kb))
                ok = False
        return ok
    return f


def command_info_core(a, b):
    """COMMAND INFO: per command, name, arity, first/last key and step exact,
    flags as a set (later fields -- ACL categories, tips, key specs -- are
    not compared)."""
    va, vb = parse(a), parse(b)
    if not isinstance(va, list) or not isinstance(vb, list) or \
            len(va) != len(vb):
        return False
    for ea, eb in zip(va, vb):
        if ea is None or eb is None:
            if ea is not eb:
                return False
            continue
        if ea[0] != eb[0] or ea[1] != eb[1] or ea[3:6] != eb[3:6]:
            return False
        if sorted(ea[2]) != sorted(eb[2]):
            return False
    return True


# ---------------------------------------------------------------- the differ

def start_pair(label, kvsd_args=None, redis_args=None):
    """Starts kvsd and redis-server for a differential run (redis first, as
    kvsd's start is the one a test watches). Returns (kvsd, redis), or None
    after logging why they could not start (the caller then exits 1)."""
    sa = harness.kvsd_server(kvsd_args) if kvsd_args else harness.kvsd_server()
    sb = harness.redis_server(redis_args) if redis_args else harness.redis_server()
    try:
        sb.start()
        sa.start()
    except RuntimeError as e:
        harness.log('%s: cannot start servers: %s' % (label, e))
        sa.stop()
        sb.stop()
        return None
    return sa, sb


def finish(label, d, sa, sb, rc):
    """Ends a differential run: stops both servers, logs how many replies were
    compared, and returns the exit status: 1 when kvsd died during the run or
    did not exit 0, when a reply differed (d.mismatches), or when rc is 1 (the
    run aborted); else 0. d may be None (the run never started)."""
    alive = sa.alive()
    code = sa.stop()
    sb.stop()
    if not alive or code != 0:
        harness.log('%s: kvsd died or exited with %s' % (label, code))
        rc = 1
    if d is not None:
        harness.log('%s: %d replies compared, %d mismatches' % (label, d.count,
                                                                 len(d.mismatches)))
        if d.mismatches:
            rc = 1
    return rc


class Mismatch(Exception):
    pass


def _fmt_cmd(data):
    if isinstance(data, (list, tuple)):
        return ' '.join(escape(harness._b(x), 80) for x in data)
    return 'raw ' + escape(data, 200)


class Pair:
    """One connection to each server; sends the same bytes to both."""

    def __init__(self, d):
        self.d = d
        self.a = d.sa.client(timeout=REPLY_TIMEOUT)
        self.b = d.sb.client(timeout=REPLY_TIMEOUT)

    def close(self):
        self.a.close()
        self.b.close()

    def _read(self, side, cl, n):
        out = []
        for _ in range(n):
            try:
                out.append(cl.read_reply())
            except socket.timeout:
                out.append(b'<TIMEOUT>')
                self.d.timeouts += 1
                if self.d.timeouts > 5:
                    raise OSError('%s stopped answering (%d timeouts)'
                                  % ('kvsd' if side == 'a' else 'redis',
                                     self.d.timeouts))
                break
            except harness.ProtocolError as e:
                out.append(b'<BAD REPLY: ' + str(e).encode() + b'>')
                break
        while len(out) < n:
            out.append(b'<NO REPLY>')
        return out

    def _resync(self, which):
        # After a timeout or garbage the stream is out of step: reconnect.
        if which == 'a':
            self.a.close()
            self.a = self.d.sa.client(timeout=REPLY_TIMEOUT)
        else:
            self.b.close()
            self.b = self.d.sb.client(timeout=REPLY_TIMEOUT)

    def send_both(self, data, n, what, cmp=exact, check=True):
        for cl in (self.a, self.b):
            try:
                cl.send(data)
            except OSError:
                pass
        ra = self._read('a', self.a, n)
        rb = self._read('b', self.b, n)
        if TRACE:
            harness.log('%s -> %s' % (_fmt_cmd(what), ' '.join(escape(y, 120) for y in rb)))
        if check:
            for x, y in zip(ra, rb):
                self.d.count += 1
                ok = False
                del NOTES[:]
                try:
                    # EOF where a reply is expected is never a match
                    ok = x is not None and y is not None and cmp(x, y)
                except Exception:
                    ok = False
                if not ok:
                    self.d.report(what, x, y)
        for side, rs in (('a', ra), ('b', rb)):
            if any(r is None or r.startswith((b'<TIMEOUT', b'<BAD',
                                              b'<NO REPLY'))
                   for r in rs):
                self._resync(side)
        return ra, rb

    def c(self, *args, cmp=exact):
        ra, rb = self.send_both(encode(*args), 1, list(args), cmp)
        return ra[0], rb[0]

    def raw(self, data, n=1, cmp=exact):
        return self.send_both(data, n, data, cmp)

    def quiet(self, what, secs=0.5):
        """Neither server sends anything more within secs (e.g. no push after a
        command that must not cause one): what each sent meanwhile must agree,
        nothing being the expected case. A raw(b'') for a reply that never
        comes checks the same but waits REPLY_TIMEOUT on each side."""
        got = []
        for cl in (self.a, self.b):
            cl.sock.settimeout(secs)
            try:
                r = cl.read_reply()
            except socket.timeout:
                r = b'<nothing>'
            finally:
                cl.sock.settimeout(REPLY_TIMEOUT)
            got.append(r)
        self.d.count += 1
        if got[0] != got[1] or got[0] is None:
            self.d.report(what + ' (then nothing)', got[0], got[1])
        for side, r in zip('ab', got):
            if r != b'<nothing>':
                self._resync(side)

    def raw_eof(self, data):
        """Send raw bytes; the server answers and then closes."""
        for cl in (self.a, self.b):
            try:
                cl.send(data)
            except OSError:
                pass
        self.eof(data)
        self.close()

    def eof(self, what):
        """Both servers close the connection with nothing more to say."""
        # the two waits side by side: a connection that stays open (the
        # answer may be that neither closes) costs 3 s, not 3 s per server
        got = {}

        def read_a():
            try:
                got['a'] = self.a.read_until_eof(3.0)
            except OSError as e:  # raised here, as before, once b is read
                got['err'] = e
        t = threading.Thread(target=read_a)
        t.start()
        xb, cb = self.b.read_until_eof(3.0)
        t.join()
        if 'err' in got:
            raise got['err']
        xa, ca = got['a']
        if TRACE:
            harness.log('%s -> %s %s' % (_fmt_cmd(what), escape(xb), cb))
        self.d.count += 1
        if (xa, ca) != (xb, cb):
            self.d.report(what + ' (then EOF)',
                          xa + (b'<EOF>' if ca else b'<open>'),
                          xb + (b'<EOF>' if cb else b'<open>'))


class Differ:
    def __init__(self, sa, sb, keep_going=True):
        self.sa, self.sb = sa, sb
        self.count = 0
        self.timeouts = 0
        self.mismatches = []
        self.section = ''
        self.keep_going = keep_going

    def report(self, what, a, b):
        self.mismatches.append((self.section, what, a, b))
        harness.log('MISMATCH [%s] %s\n   kvsd : %s\n   redis: %s' % (
            self.section, _fmt_cmd(what), escape(a), escape(b)))
        if NOTES:
            harness.log('   note : ' + '; '.join(NOTES))
        del NOTES[:]
        if not self.keep_going:
            raise Mismatch()

    def pair(self):
        return Pair(self)


# ---------------------------------------------------------------- part A

ALL_COMMANDS = [
    'PING', 'ECHO', 'HELLO', 'AUTH', 'SELECT', 'CLIENT',
    'GET', 'SET', 'SETNX', 'SETEX', 'PSETEX', 'GETSET', 'GETDEL', 'GETEX',
    'MGET', 'MSET', 'MSETNX', 'APPEND', 'STRLEN', 'INCR', 'DECR', 'INCRBY',
    'DECRBY', 'INCRBYFLOAT', 'GETRANGE', 'SETRANGE',
    'DEL', 'UNLINK', 'EXISTS', 'TOUCH', 'TYPE', 'KEYS', 'SCAN', 'RANDOMKEY',
    'RENAME', 'RENAMENX', 'DBSIZE', 'FLUSHDB', 'FLUSHALL', 'EXPIRE',
    'PEXPIRE', 'EXPIREAT', 'PEXPIREAT', 'TTL', 'PTTL', 'PERSIST',
    'EXPIRETIME', 'PEXPIRETIME', 'INFO', 'CONFIG', 'COMMAND', 'TIME',
]

FAR = 4102444800          # 2100-01-01, seconds
FAR_MS = FAR * 1000
I64MAX = '9223372036854775807'
I64MIN = '-9223372036854775808'


def sec_arity(d, p):
    d.section = 'arity'
    p.c('FLUSHALL')
    for name in ALL_COMMANDS:
        for n in range(0, 5):
            args = [name] + ['__a%d' % i for i in range(n)]
            if name in ('HELLO',) and n == 0:
                continue  # HELLO alone: compared in the hello section
            if name == 'COMMAND' and n == 0:
                continue  # full table: compared by shape
            if name in ('INFO', 'TIME') and n == 0:
                continue  # compared by shape in the server section
            p.c(*args, cmp=(int_close(2) if name in ('TTL', 'PTTL') else exact))
        if name not in ('INFO', 'TIME', 'COMMAND', 'HELLO'):
            p.c(name.lower())              # case-insensitive names
    p.c('RESET', 'x')
    p.c('RESET', 'x', 'y')
    # Subcommand arity.
    for sub in ('ID', 'GETNAME', 'SETNAME', 'INFO', 'LIST'):
        for n in range(0, 3):
            if sub in ('ID', 'GETNAME', 'INFO', 'LIST') and n == 0:
                continue
            p.c('CLIENT', sub, *['x'] * n)
    for sub in ('GET', 'SET', 'RESETSTAT'):
        p.c('CONFIG', sub)
    p.c('CONFIG', 'RESETSTAT', 'x')
    p.c('COMMAND', 'COUNT', 'x')
    p.c('COMMAND', 'GETKEYS')
    p.c('COMMAND', 'INFO', 'nosuchcmd')


def sec_unknown(d, p):
    d.section = 'unknown'
    p.c('foo')
    p.c('foo', 'a', 'b')
    p.c('FOO', 'a', 'b')
    p.c('foo', 'x' * 200)
    p.c('foo', *['arg%d' % i for i in range(40)])
    p.c('f' * 300, 'a')
    p.c('foo', 'a\r\nb', '')
    p.c('foo', b'\x00\xff')
    p.c('')
    p.c('', 'a')
    p.c('CLIENT', 'FOO')
    p.c('CLIENT', 'foo', 'bar')
    p.c('CONFIG', 'FOO')
    p.c('COMMAND', 'FOO')
    p.c('GET', 'a', 'b')


def sec_ping_echo(d, p):
    d.section = 'ping/echo/select'
    p.c('PING')
    p.c('PING', 'hello')
    p.c('PING', '')
    p.c('PING', b'bin\x00\r\n')
    p.c('PING', 'a', 'b')
    p.c('ECHO', 'hi')
    p.c('ECHO', '')
    p.c('ECHO', b'\x00\r\n\xff' * 10)
    p.c('ECHO')
    p.c('ECHO', 'a', 'b')
    for a in ('0', '1', '15', '16', '-1', 'abc', '', I64MAX, '99999999999999999999',
              ' 0', '0 ', '00', '+0', '-0'):
        p.c('SELECT', a)


def sec_get_set(d, p):
    d.section = 'get/set'
    p.c('FLUSHALL')
    p.c('GET', 'nokey')
    p.c('SET', 'k', 'v')
    p.c('GET', 'k')
    p.c('SET', 'k', '')
    p.c('GET', 'k')
    p.c('STRLEN', 'k')
    p.c('SET', b'bin\x00key\r\n', b'val\x00ue\r\n\xff')
    p.c('GET', b'bin\x00key\r\n')
    p.c('SET', '', 'emptykey')
    p.c('GET', '')
    big = os.urandom(1 << 20)
    p.c('SET', 'big', big)
    p.c('GET', 'big')
    p.c('STRLEN', 'big')
    p.c('APPEND', 'big', 'tail')
    p.c('GETRANGE', 'big', '-4', '-1')
    p.c('DEL', 'big')
    # every option, valid
    opts = [
        [], ['NX'], ['XX'], ['GET'], ['KEEPTTL'], ['EX', '1000'], ['PX', '1000000'],
        ['EXAT', str(FAR)], ['PXAT', str(FAR_MS)], ['NX', 'GET'], ['XX', 'GET'],
        ['EX', '1000', 'NX'], ['EX', '1000', 'XX'], ['PX', '5000000', 'GET'],
        ['XX', 'KEEPTTL'], ['KEEPTTL', 'GET'], ['nx'], ['ex', '2000'],
        ['EXAT', str(FAR), 'GET', 'XX'], ['GET', 'NX', 'EX', '3000'],
    ]
    for o in opts:
        for present in (False, True):
            p.c('DEL', 'so')
            if present:
                p.c('SET', 'so', 'old', 'EX', '5000')
            p.c('SET', 'so', 'new', *o)
            p.c('GET', 'so')
            p.c('TTL', 'so', cmp=int_close(2))
            p.c('PTTL', 'so', cmp=int_close(2000))
            p.c('EXPIRETIME', 'so', cmp=int_close(2))
    # options that do not go together, repeated, malformed
    bad = [
        ['NX', 'XX'], ['XX', 'NX'], ['EX', '10', 'PX', '100'], ['EX', '10', 'EX', '10'],
        ['PX', '10', 'EXAT', str(FAR)], ['EXAT', str(FAR), 'PXAT', str(FAR_MS)],
        ['KEEPTTL', 'EX', '10'], ['EX', '10', 'KEEPTTL'], ['PXAT', '1', 'KEEPTTL'],
        ['EX'], ['PX'], ['EXAT'], ['PXAT'], ['EX', 'abc'], ['PX', '1.5'],
        ['EX', '0'], ['EX', '-1'], ['PX', '0'], ['PX', '-100'], ['EXAT', '0'],
        ['EXAT', '-1'], ['PXAT', '0'], ['EX', I64MAX], ['EX', '9223372036854775'],
        ['EX', '9223372036854776'], ['PX', I64MAX], ['EXAT', I64MAX],
        ['PXAT', I64MAX], ['EX', '99999999999999999999'], ['EX', I64MIN],
        ['FOO'], ['GET', 'GET'], ['NX', 'NX'], ['EX', '10', 'FOO'], ['', ''],
        ['EX', ' 10'], ['EX', '10 '], ['EX', '+10'], ['EX', '010'],
        ['EXAT', '1'], ['PXAT', '1'], ['EXAT', '1', 'GET'],
        ['KEEPTTL', 'KEEPTTL'], ['GET', 'KEEPTTL', 'NX'],
    ]
    for o in bad:
        p.c('SET', 'so', 'old', 'EX', '5000')
        p.c('SET', 'so', 'new', *o)
        p.c('GET', 'so')
        p.c('EXISTS', 'so')
    # SET ... GET on a key that is not a string cannot be tested (no other
    # types in scope); GET on missing key with NX/XX
    p.c('DEL', 'so')
    p.c('SET', 'so', 'v', 'XX', 'GET')
    p.c('SET', 'so', 'v', 'NX', 'GET')
    p.c('SET', 'so', 'w', 'NX', 'GET')
    # KEEPTTL keeps, plain SET clears
    p.c('SET', 'kt', 'a', 'EX', '5000')
    p.c('SET', 'kt', 'b', 'KEEPTTL')
    p.c('TTL', 'kt', cmp=int_close(2))
    p.c('SET', 'kt', 'c')
    p.c('TTL', 'kt')


def sec_string_cmds(d, p):
    d.section = 'string commands'
    p.c('FLUSHALL')
    p.c('SETNX', 'a', '1')
    p.c('SETNX', 'a', '2')
    p.c('GET', 'a')
    for t in ('100', '0', '-1', 'abc', I64MAX, '9223372036854775', '', '1.5'):
        p.c('SETEX', 'se', t, 'v')
        p.c('TTL', 'se', cmp=int_close(2))
        p.c('PSETEX', 'pse', t, 'v')
        p.c('PTTL', 'pse', cmp=int_close(2000))
    p.c('GETSET', 'gs', 'one')
    p.c('GETSET', 'gs', 'two')
    p.c('SET', 'gs', 'x', 'EX', '1000')
    p.c('GETSET', 'gs', 'three')
    p.c('TTL', 'gs')
    p.c('GETDEL', 'gs')
    p.c('GETDEL', 'gs')
    p.c('EXISTS', 'gs')
    # GETEX
    p.c('GETEX', 'nokey')
    p.c('GETEX', 'nokey', 'EX', '100')
    p.c('SET', 'ge', 'val')
    for o in (['EX', '1000'], ['PX', '2000000'], ['EXAT', str(FAR)],
              ['PXAT', str(FAR_MS)], ['PERSIST'], [], ['ex', '100'],
              ['persist']):
        p.c('GETEX', 'ge', *o)
        p.c('TTL', 'ge', cmp=int_close(2))
    for o in (['EX'], ['EX', 'abc'], ['EX', '0'], ['EX', '-5'], ['PX', '0'],
              ['EXAT', '0'], ['PXAT', '-1'], ['EX', I64MAX], ['PX', I64MAX],
              ['EXAT', I64MAX], ['EX', '10', 'PX', '10'], ['PERSIST', 'EX', '10'],
              ['EX', '10', 'PERSIST'], ['FOO'], ['KEEPTTL'], ['PERSIST', 'PERSIST'],
              ['EX', '10', 'EX', '20'], ['NX']):
        p.c('SET', 'ge', 'val', 'EX', '5000')
        p.c('GETEX', 'ge', *o)
        p.c('TTL', 'ge', cmp=int_close(2))
    p.c('GETEX', 'ge', 'EXAT', '1')      # in the past: key deleted
    p.c('EXISTS', 'ge')
    p.c('SET', 'ge', 'v')
    p.c('GETEX', 'ge', 'PXAT', '1')
    p.c('EXISTS', 'ge')
    # MGET / MSET / MSETNX
    p.c('MSET', 'm1', 'a', 'm2', 'b')
    p.c('MGET', 'm1', 'm2', 'm3', 'm1')
    p.c('MSET', 'm1')
    p.c('MSET', 'm1', 'a', 'm2')
    p.c('MSET', 'm1', 'x', 'm1', 'y')
    p.c('GET', 'm1')
    p.c('MSETNX', 'm1', 'z', 'm9', 'z')
    p.c('EXISTS', 'm9')
    p.c('MSETNX', 'm8', 'z', 'm9', 'z')
    p.c('MSETNX', 'm8', 'z', 'm9')
    p.c('MSETNX', 'm7', '1', 'm7', '2')
    p.c('GET', 'm7')
    p.c('MGET', 'm7', 'm8', 'm9')
    # APPEND / STRLEN
    p.c('APPEND', 'ap', 'hello')
    p.c('APPEND', 'ap', ' world')
    p.c('APPEND', 'ap', '')
    p.c('APPEND', 'newap', '')
    p.c('EXISTS', 'newap')
    p.c('STRLEN', 'ap')
    p.c('STRLEN', 'nokey')
    p.c('SET', 'ap', '12')
    p.c('APPEND', 'ap', '34')
    p.c('INCR', 'ap')
    # GETRANGE
    p.c('SET', 'gr', 'Hello World')
    for s, e in [(0, 4), (-5, -1), (0, -1), (5, 2), (-100, 100), (100, 200),
                 (-1, -5), (0, 0), (-1, -1), (3, -100), (-100, -50), (10, 10),
                 (11, 11), (0, I64MAX), (I64MIN, 0), ('a', 1), (1, 'b'),
                 ('1.5', 2), ('', 1)]:
        p.c('GETRANGE', 'gr', str(s), str(e))
    p.c('GETRANGE', 'nokey', '0', '-1')
    p.c('SET', 'gr', '')
    p.c('GETRANGE', 'gr', '0', '-1')
    p.c('GETRANGE', 'gr', '0', '0')
    p.c('GETRANGE', 'gr', '-1', '-1')
    # SETRANGE
    p.c('SETRANGE', 'sr', '5', 'abc')
    p.c('GET', 'sr')
    p.c('SETRANGE', 'sr', '0', 'XY')
    p.c('SETRANGE', 'sr', '7', 'tail')
    p.c('GET', 'sr')
    p.c('SETRANGE', 'sr', '2', '')
    p.c('SETRANGE', 'newsr', '10', '')
    p.c('EXISTS', 'newsr')
    p.c('SETRANGE', 'newsr', '0', '')
    p.c('SETRANGE', 'sr', '-1', 'x')
    p.c('SETRANGE', 'sr', 'abc', 'x')
    p.c('SETRANGE', 'sr', '536870911', '')
    p.c('SETRANGE', 'sr', '536870912', 'x')
    p.c('SETRANGE', 'sr', '536870911', 'xy')
    p.c('SETRANGE', 'sr', I64MAX, 'x')
    p.c('SETRANGE', 'newsr2', '536870912', 'x')
    p.c('SETRANGE', 'newsr2', '536870912', '')
    p.c('EXISTS', 'newsr2')
    p.c('SET', 'sr', 'abc', 'EX', '1000')
    p.c('SETRANGE', 'sr', '1', 'Z')
    p.c('TTL', 'sr', cmp=int_close(2))


def sec_incr(d, p):
    d.section = 'incr family'
    p.c('FLUSHALL')
    p.c('INCR', 'n')
    p.c('INCR', 'n')
    p.c('DECR', 'n')
    p.c('DECR', 'newdec')
    p.c('INCRBY', 'n', '100')
    p.c('INCRBY', 'n', '-300')
    p.c('DECRBY', 'n', '-5')
    p.c('DECRBY', 'n', '5')
    for v in ('abc', '', '1.5', ' 1', '1 ', '+1', '-0', '00', '0x10', '1e3',
              '9223372036854775808', '-9223372036854775809', b'1\x00',
              '99999999999999999999', '-', '12345678901234567890123'):
        p.c('SET', 's', v)
        p.c('INCR', 's')
        p.c('DECR', 's')
        p.c('INCRBY', 'n', v)
        p.c('DECRBY', 'n', v)
        p.c('INCRBYFLOAT', 's', '1')
        p.c('INCRBYFLOAT', 'n', v)
    p.c('SET', 'o', I64MAX)
    p.c('INCR', 'o')
    p.c('INCRBY', 'o', '0')
    p.c('INCRBY', 'o', '-1')
    p.c('INCRBY', 'o', '1')
    p.c('INCRBY', 'o', '2')
    p.c('GET', 'o')
    p.c('SET', 'o', I64MIN)
    p.c('DECR', 'o')
    p.c('INCRBY', 'o', '-1')
    p.c('DECRBY', 'o', '1')
    p.c('SET', 'o', '0')
    p.c('DECRBY', 'o', I64MIN)
    p.c('DECRBY', 'o', I64MAX)
    p.c('INCRBY', 'o', I64MIN)
    p.c('SET', 'o', '-1')
    p.c('DECRBY', 'o', I64MIN)
    p.c('SET', 'o', '10', 'EX', '1000')
    p.c('INCR', 'o')
    p.c('TTL', 'o', cmp=int_close(2))
    # INCRBYFLOAT formatting and limits
    p.c('DEL', 'f')
    for inc in ('10.5', '0.1', '0.2', '-5', '1e3', '3.0e-3', '5.0e3', '1', '-1.5',
                '0', '-0', '2.5e2', '.5', '5.', '1.7976931348623157e308',
                '1e308', '-1e308', 'inf', '-inf', '+inf', 'nan', 'abc', '',
                ' 1', '1 ', '0x10', '1e', '1e400', '-1e400', '1e-400',
                '123456789012345678901234567890', '0.00000000001',
                '3.14159265358979323846264338327950288'):
        p.c('INCRBYFLOAT', 'f', inc)
        p.c('GET', 'f')
    for start in ('1.5', '10.50', '1e10', '-0', '3.0', '5.0e3', '1.1e-10',
                  '1e308', 'inf', 'nan', '  1.5', '1.5  ', '17', I64MAX,
                  '0.1', '1/3', '1e+2', '7E2'):
        p.c('SET', 'f', start)
        p.c('INCRBYFLOAT', 'f', '0')
        p.c('SET', 'f', start)
        p.c('INCRBYFLOAT', 'f', '1.1')
        p.c('SET', 'f', start)
        p.c('INCRBYFLOAT', 'f', '1e308')
        p.c('INCR', 'f')
    p.c('SET', 'f', '1', 'EX', '1000')
    p.c('INCRBYFLOAT', 'f', '0.5')
    p.c('TTL', 'f', cmp=int_close(2))


def sec_keys(d, p):
    d.section = 'key commands'
    p.c('FLUSHALL')
    p.c('MSET', 'a', '1', 'b', '2', 'c', '3')
    p.c('EXISTS', 'a')
    p.c('EXISTS', 'a', 'a', 'b', 'zz', 'a')
    p.c('TOUCH', 'a', 'a', 'zz')
    p.c('TYPE', 'a')
    p.c('TYPE', 'zz')
    p.c('DEL', 'a', 'a', 'zz')
    p.c('DEL', 'zz')
    p.c('UNLINK', 'b', 'c', 'b')
    p.c('DBSIZE')
    p.c('MSET', 'a', '1', 'b', '2', 'c', '3')
    p.c('DEL', 'a', 'b', 'c')
    # RENAME / RENAMENX
    p.c('SET', 'r1', 'v1', 'EX', '1000')
    p.c('RENAME', 'r1', 'r1')
    p.c('RENAMENX', 'r1', 'r1')
    p.c('RENAME', 'nokey', 'x')
    p.c('RENAME', 'nokey', 'nokey')
    p.c('RENAMENX', 'nokey', 'x')
    p.c('RENAME', 'r1', 'r2')
    p.c('TTL', 'r2', cmp=int_close(2))
    p.c('EXISTS', 'r1', 'r2')
    p.c('SET', 'r3', 'v3')
    p.c('RENAMENX', 'r2', 'r3')
    p.c('RENAMENX', 'r2', 'r4')
    p.c('MGET', 'r2', 'r3', 'r4')
    p.c('SET', 'r5', 'x', 'EX', '1000')
    p.c('RENAME', 'r3', 'r5')
    p.c('TTL', 'r5')
    p.c('GET', 'r5')
    # RANDOMKEY
    p.c('FLUSHDB')
    p.c('RANDOMKEY')
    p.c('SET', 'only', '1')
    p.c('RANDOMKEY')
    p.c('SET', 'two', '2')
    p.c('RANDOMKEY', cmp=nullness)
    # KEYS patterns
    p.c('FLUSHDB')
    keys = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo', 'h?llo',
            'h[ae]llo', 'a', 'ab', 'abc', 'x\\y', 'k1', 'k2', 'k10', '',
            'foo:bar', 'foo:baz', 'fo', b'n\x00ul', 'sp ace', 'UP']
    for k in keys:
        p.c('SET', k, 'v')
    for pat in ('*', 'h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo',
                'h[!e]llo', '\\*', 'h\\*llo', 'h\\?llo', 'k?', 'k*', 'k[0-9]*',
                '*o', '*:*', '', '?', 'a*', '*[', '[', '[a', '\\', 'x\\\\y',
                'up', 'UP', '*ll*', '[z-a]*', 'h[ae', b'n\x00*', '**', '***o',
                'h[[]llo', 'sp ace'):
        p.c('KEYS', pat, cmp=sorted_array)
    p.c('DBSIZE')
    p.c('KEYS', '*', 'x')


def scan_all(cl, opts, limit=10000):
    keys = []
    cursor = b'0'
    for _ in range(limit):
        r = cl.cmd('SCAN', cursor, *opts)
        v = parse(r)
        if isinstance(v, Err):
            return ('error', r)
        cursor, batch = v
        keys.extend(batch)
        if cursor == b'0':
            return ('ok', sorted(keys))
    return ('no end', sorted(keys))


def sec_scan(d, p):
    d.section = 'scan'
    p.c('FLUSHALL')
    p.c('SCAN', '0')
    for i in range(300):
        p.c('SET', 'key:%d' % i, str(i))
    p.c('SET', 'other', 'x')
    p.c('SET', b'bin\x00scan', 'x')
    for opts in ([], ['COUNT', '1'], ['COUNT', '7'], ['COUNT', '1000'],
                 ['MATCH', 'key:1*'], ['MATCH', 'key:1*', 'COUNT', '5'],
                 ['MATCH', 'nomatch*'], ['TYPE', 'string'], ['TYPE', 'list'],
                 ['TYPE', 'STRING'], ['MATCH', '*', 'TYPE', 'string', 'COUNT', '3'],
                 ['count', '10', 'match', '*9'], ['MATCH', 'a', 'MATCH', 'key:2*']):
        ra = scan_all(p.a, opts)
        rb = scan_all(p.b, opts)
        d.count += 1
        if ra != rb:
            d.report(['SCAN loop'] + opts, repr(ra).encode()[:2000],
                     repr(rb).encode()[:2000])
    for bad in (['abc'], ['-1'], ['18446744073709551616'], ['1.5'],
                ['0', 'COUNT'], ['0', 'COUNT', '0'], ['0', 'COUNT', '-1'],
                ['0', 'COUNT', 'abc'], ['0', 'MATCH'], ['0', 'TYPE'],
                ['0', 'FOO', 'bar'], ['0', 'COUNT', I64MAX, 'MATCH', 'zz*'],
                ['0', 'TYPE', 'nosuchtype'], ['18446744073709551615', 'MATCH', 'zz']):
        # cursor values other than 0 may return any keys: compare type only,
        # errors exactly
        def f(a, b):
            if a[:1] == b'-' or b[:1] == b'-':
                return a == b
            return same_type_byte(a, b)
        p.c('SCAN', *bad, cmp=f)


def sec_expire(d, p):
    d.section = 'expire'
    p.c('FLUSHALL')
    cmds = ['EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT']
    val = {'EXPIRE': ['1000', '2000', '500'], 'PEXPIRE': ['1000000', '2000000', '500000'],
           'EXPIREAT': [str(FAR), str(FAR + 1000), str(FAR - 1000)],
           'PEXPIREAT': [str(FAR_MS), str(FAR_MS + 1000000), str(FAR_MS - 1000000)]}
    ttlcmp = int_close(2)
    for c in cmds:
        mid, hi, lo = val[c]
        p.c(c, 'nokey', mid)
        for opts in ([], ['NX'], ['XX'], ['GT'], ['LT'], ['nx'], ['NX', 'XX'],
                     ['GT', 'LT'], ['NX', 'GT'], ['NX', 'LT'], ['XX', 'GT'],
                     ['XX', 'LT'], ['XX', 'XX'], ['FOO'], ['GT', 'GT'],
                     ['XX', 'GT', 'LT']):
            for start in (None, mid):
                for new in (hi, lo, mid):
                    if start == new and c in ('EXPIRE', 'PEXPIRE'):
                        continue  # now+N twice: depends on the clock tick
                    p.c('SET', 'e', 'v')
                    if start:
                        p.c(c, 'e', start)
                    p.c(c, 'e', new, *opts)
                    p.c('TTL', 'e', cmp=ttlcmp)
                    p.c('EXPIRETIME', 'e', cmp=ttlcmp)
        for bad in ('abc', '', '1.5', ' 10', I64MAX, I64MIN, '9223372036854775808',
                    '9223372036854775', '9223372036854776', '-9223372036854775',
                    '-9223372036854776', '99999999999999999999'):
            p.c('SET', 'e', 'v')
            p.c(c, 'e', bad)
            p.c('EXISTS', 'e')
            p.c('TTL', 'e', cmp=ttlcmp)
        for gone in ('0', '-1', '-1000', '1'):
            if gone == '1' and c in ('EXPIRE', 'PEXPIRE'):
                continue
            p.c('SET', 'e', 'v')
            p.c(c, 'e', gone)
            p.c('EXISTS', 'e')
            p.c('SET', 'e', 'v', 'EX', '1000')
            p.c(c, 'e', gone, 'GT')
            p.c('EXISTS', 'e')
            p.c(c, 'e', gone, 'LT')
            p.c('EXISTS', 'e')
    # TTL family
    p.c('SET', 'e', 'v')
    for c in ('TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME', 'PERSIST'):
        p.c(c, 'nokey')
        p.c(c, 'e')
    p.c('EXPIREAT', 'e', str(FAR))
    p.c('EXPIRETIME', 'e')
    p.c('PEXPIRETIME', 'e')
    p.c('TTL', 'e', cmp=int_close(2))
    p.c('PTTL', 'e', cmp=int_close(2000))
    p.c('PEXPIREAT', 'e', str(FAR_MS + 123))
    p.c('PEXPIRETIME', 'e')
    p.c('EXPIRETIME', 'e')
    p.c('PERSIST', 'e')
    p.c('PERSIST', 'e')
    p.c('TTL', 'e')
    p.c('EXPIRETIME', 'e')
    p.c('PEXPIRE', 'e', '100')
    time.sleep(0.25)
    p.c('GET', 'e')
    p.c('TTL', 'e')
    p.c('EXISTS', 'e')
    p.c('SET', 'e', 'v', 'PX', '100')
    time.sleep(0.25)
    p.c('EXISTS', 'e')
    p.c('DBSIZE')
    p.c('SETEX', 'e', '1', 'v')
    p.c('SET', 'e2', 'v', 'PX', '50')
    time.sleep(1.2)
    p.c('MGET', 'e', 'e2')
    p.c('KEYS', '*', cmp=sorted_array)


def sec_flush(d, p):
    d.section = 'flush/dbsize'
    for c in ('FLUSHDB', 'FLUSHALL'):
        for o in ([], ['ASYNC'], ['SYNC'], ['async'], ['FOO'], ['ASYNC', 'SYNC'],
                  ['SYNC', 'SYNC']):
            p.c('MSET', 'a', '1', 'b', '2')
            p.c(c, *o)
            p.c('DBSIZE')


def sec_hello_auth_client(d):
    d.section = 'hello/auth/client'
    p = d.pair()
    p.c('AUTH', 'pw')
    p.c('AUTH', 'default', 'pw')
    p.c('AUTH', 'nouser', 'pw')
    p.c('AUTH', '', '')
    p.c('AUTH')
    p.c('AUTH', 'a', 'b', 'c')
    p.c('HELLO', cmp=hello_eq)
    for args in (['2'], ['3'], ['2'], ['1'], ['4'], ['0'], ['-1'], ['abc'], [''],
                 ['3.0'], [I64MAX], ['2', 'SETNAME', 'myname'], ['2', 'SETNAME'],
                 ['2', 'SETNAME', 'bad name'], ['2', 'SETNAME', 'a\nb'],
                 ['2', 'AUTH', 'default', 'pw'], ['2', 'AUTH', 'default'],
                 ['2', 'AUTH', 'nouser', 'pw'], ['2', 'AUTH'],
                 ['2', 'FOO'], ['2', 'setname', 'n2', 'auth', 'default', 'x'],
                 ['AUTH', 'default', 'pw'], ['SETNAME', 'x'],
                 ['3', 'SETNAME', 'r3name'], ['2', 'SETNAME', '']):
        p.c('HELLO', *args, cmp=hello_eq)
        p.c('CLIENT', 'GETNAME')
    p.c('HELLO', '2', cmp=hello_eq)
    # CLIENT
    p.c('CLIENT', 'ID', cmp=both_integer)
    p.c('CLIENT', 'GETNAME')
    for n in ('conn1', '', 'with space', 'new\nline', 'tab\t', b'\x7f', b'\x01',
              'ok-name_1.2:3', 'x' * 300, '"quoted"', 'é'):
        p.c('CLIENT', 'SETNAME', n)
        p.c('CLIENT', 'GETNAME')
    p.c('client', 'setname', 'lower')
    p.c('CLIENT', 'INFO', cmp=client_fields())
    p.c('CLIENT', 'LIST', cmp=client_fields())
    p.c('CLIENT', 'LIST', 'TYPE', 'normal', cmp=client_fields())
    p.c('CLIENT', 'LIST', 'TYPE', 'foo')
    p.c('CLIENT', 'LIST', 'FOO')
    # RESET: back to RESP2, no name
    p.c('HELLO', '3', 'SETNAME', 'before', cmp=hello_eq)
    p.c('RESET')
    p.c('CLIENT', 'GETNAME')
    p.c('GET', 'nokey')
    p.c('HELLO', cmp=hello_eq)
    # QUIT: +OK then EOF
    p.c('QUIT')
    p.eof('QUIT')
    p.close()
    p = d.pair()
    p.c('QUIT', 'with', 'args')
    p.eof('QUIT with args')
    p.close()
    # QUIT pipelined with more commands behind it
    p = d.pair()
    p.raw(encode('PING') + encode('QUIT') + encode('PING'), n=2)
    p.eof('PING QUIT PING')
    p.close()


def sec_resp3(d):
    d.section = 'resp3'
    p = d.pair()
    p.c('HELLO', '3', cmp=hello_eq)
    p.c('FLUSHALL')
    p.c('GET', 'nokey')
    p.c('SET', 'k', 'v')
    p.c('GET', 'k')
    p.c('MGET', 'k', 'nokey')
    p.c('SET', 'k', 'w', 'GET')
    p.c('SET', 'nk', 'w', 'GET')
    p.c('SET', 'k', 'z', 'NX')
    p.c('SET', 'k', 'z', 'NX', 'GET')
    p.c('GETDEL', 'nokey')
    p.c('GETEX', 'nokey')
    p.c('GETSET', 'nokey2', 'x')
    p.c('INCRBYFLOAT', 'fl', '1.5')
    p.c('INCR', 'i')
    p.c('EXISTS', 'k', 'i')
    p.c('TTL', 'k')
    p.c('RANDOMKEY', cmp=nullness)
    p.c('FLUSHDB')
    p.c('RANDOMKEY')
    p.c('KEYS', '*')
    p.c('SCAN', '0')
    p.c('PING')
    p.c('PING', 'x')
    p.c('ECHO', 'e')
    p.c('CLIENT', 'GETNAME')
    p.c('CLIENT', 'SETNAME', 'r3')
    p.c('CLIENT', 'GETNAME')
    p.c('CLIENT', 'INFO', cmp=client_fields())
    p.c('CLIENT', 'ID', cmp=both_integer)
    p.c('CONFIG', 'GET', 'timeout')
    p.c('CONFIG', 'GET', 'nosuchparam')
    p.c('CONFIG', 'GET', 'maxclients', 'timeout', cmp=sorted_array)
    p.c('TIME', cmp=lambda a, b: a[:1] == b[:1] == b'*')
    p.c('INFO', 'keyspace', cmp=info_check(['keyspace']))
    p.c('foo', 'bar')
    p.c('GET')
    p.c('INCR', 'k')
    p.c('DBSIZE')
    p.c('COMMAND', 'COUNT', cmp=both_integer)
    p.c('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')
    p.c('HELLO', '2', cmp=hello_eq)
    p.c('GET', 'nokey')
    p.close()


def sec_inline(d):
    d.section = 'inline'
    p = d.pair()
    p.raw(b'FLUSHALL\r\n')
    p.raw(b'SET k v\r\n')
    p.raw(b'GET k\r\n')
    p.raw(b'get k\n')
    p.raw(b'  SET   k2   v2  \r\n')
    p.raw(b'GET k2\r\n')
    p.raw(b'SET "a b" "c d"\r\n')
    p.raw(b'GET "a b"\r\n')
    p.raw(b'SET q "\\x41\\x00\\n\\r\\t\\b\\a\\"\\\\"\r\n')
    p.raw(b'GET q\r\n')
    p.raw_eof(b"SET sq 'it''s'\r\n")
    p = d.pair()
    p.raw(b"SET sq 'it\\'s'\r\n")
    p.raw(b"GET sq\r\n")
    p.raw(b'SET e ""\r\n')
    p.raw(b'STRLEN e\r\n')
    p.raw(b'\r\n' + encode('PING'))          # empty line is skipped
    p.raw(b'   \r\n' + encode('PING'))
    p.raw(b'\n' + encode('PING'))
    p.raw(b'PING\r\nPING\r\nECHO hi\r\n', n=3)
    p.raw(b'foo bar baz\r\n')
    p.raw(b'EXISTS k k2 "a b" nokey\r\n')
    p.raw_eof(b'SET "x"y z\r\n')
    p = d.pair()
    p.raw(b'SET x "\\xZZ" \r\n')
    p.raw(b'GET x\r\n')
    p.raw(b'SET x "\\x4"\r\n')
    p.raw(b'MGET "k" \'k2\'\r\n')
    p.close()


def sec_server(d):
    d.section = 'server'
    p = d.pair()
    p.c('FLUSHALL')
    p.c('MSET', 'a', '1', 'b', '2')
    p.c('SET', 'c', '3', 'EX', '1000')
    p.c('TIME', cmp=time_shape)
    p.c('TIME', 'x')
    p.c('INFO', cmp=info_check(['server', 'clients', 'memory', 'stats', 'keyspace']))
    p.c('INFO', 'default', cmp=info_check(['server', 'clients', 'memory', 'stats', 'keyspace']))
    p.c('INFO', 'all', cmp=info_check(['server', 'clients', 'memory', 'stats', 'keyspace']))
    for s in ('server', 'clients', 'memory', 'stats', 'keyspace'):
        p.c('INFO', s, cmp=info_check([s]))
        p.c('INFO', s.upper(), cmp=info_check([s]))
    p.c('INFO', 'server', 'keyspace', cmp=info_check(['server', 'keyspace']))
    p.c('INFO', 'nosuchsection')
    p.c('FLUSHALL')
    p.c('INFO', 'keyspace')
    # CONFIG
    pf = config_port_norm(d.sa.port, d.sb.port)
    p.c('CONFIG', 'GET', 'port', cmp=pf)
    for k in ('bind', 'timeout', 'maxclients', 'proto-max-bulk-len', 'hz',
              'tcp-keepalive', 'requirepass', 'client-query-buffer-limit',
              'protected-mode', 'unixsocket', 'nosuchparam', 'proto-max-*',
              'PORT', 'Timeout'):
        p.c('CONFIG', 'GET', k, cmp=pf)
    p.c('CONFIG', 'GET', 'timeout', 'hz', cmp=sorted_array)
    p.c('CONFIG', 'SET', 'hz', '20')
    p.c('CONFIG', 'GET', 'hz')
    p.c('CONFIG', 'SET', 'hz', 'abc')
    p.c('CONFIG', 'SET', 'hz', '10')
    p.c('CONFIG', 'SET', 'timeout', '-1')
    p.c('CONFIG', 'SET', 'timeout', '0')
    p.c('CONFIG', 'SET', 'maxclients', 'lots')
    p.c('CONFIG', 'SET', 'nosuchparam', '1')
    p.c('CONFIG', 'SET', 'hz')
    p.c('CONFIG', 'SET', 'hz', '10', 'timeout')
    p.c('CONFIG', 'SET', 'hz', '11', 'timeout', '0')
    p.c('CONFIG', 'GET', 'hz')
    p.c('CONFIG', 'SET', 'hz', '10')
    p.c('CONFIG', 'SET', 'protected-mode', 'maybe')
    p.c('CONFIG', 'RESETSTAT')
    # COMMAND
    p.c('COMMAND', 'COUNT', cmp=both_integer)
    p.c('COMMAND', cmp=lambda a, b: a[:1] == b[:1] == b'*')
    names = [c.lower() for c in ALL_COMMANDS] + ['quit', 'reset', 'shutdown']
    for n in names:
        p.c('COMMAND', 'INFO', n, cmp=command_info_core)
    p.c('COMMAND', 'INFO', 'get', 'set', 'nosuch', 'mset', cmp=command_info_core)
    p.c('COMMAND', 'INFO', 'GET', cmp=command_info_core)
    p.c('COMMAND', 'DOCS', 'get', cmp=same_type_byte)
    for args in (['GET', 'k'], ['SET', 'k', 'v', 'EX', '10'], ['MSET', 'a', '1', 'b', '2'],
                 ['MGET', 'a', 'b', 'c'], ['DEL', 'a', 'b'], ['RENAME', 'a', 'b'],
                 ['EXISTS', 'a'], ['PING'], ['GET'], ['nosuch', 'a'],
                 ['MSET', 'a'], ['EXPIRE', 'k', '10'], ['GETEX', 'k', 'PERSIST'],
                 ['TOUCH', 'a', 'b', 'c'], ['KEYS', '*']):
        p.c('COMMAND', 'GETKEYS', *args)
    p.close()


def client_list_names(a, b):
    """CLIENT LIST with several clients: same number of lines, same
    (name, db, cmd, resp) per client."""
    def rows(r):
        v = parse(r)
        if not isinstance(v, bytes):
            return None
        if r[:1] == b'=':
            v = v[4:]
        out = []
        for line in v.decode('latin-1').split('\n'):
            if not line:
                continue
            f = dict(kv.split('=', 1) for kv in line.split(' ') if '=' in kv)
            out.append((f.get('name'), f.get('db'), f.get('cmd'), f.get('resp')))
        return sorted(out, key=repr)
    if not same_type_byte(a, b) or not a.endswith(b'\n\r\n') == b.endswith(b'\n\r\n'):
        return False
    ra, rb = rows(a), rows(b)
    if ra != rb:
        NOTES.append('kvsd %r redis %r' % (ra, rb))
    return ra is not None and ra == rb


def sec_more(d):
    d.section = 'more'
    p = d.pair()
    p.c('FLUSHALL')
    others = [d.pair() for _ in range(3)]
    for i, o in enumerate(others):
        o.c('CLIENT', 'SETNAME', 'other%d' % i)
        if i == 1:
            o.c('HELLO', '3', cmp=hello_eq)
        if i == 2:
            o.c('GET', 'x')
    p.c('CLIENT', 'LIST', cmp=client_list_names)
    p.c('CLIENT', 'LIST', 'TYPE', 'normal', cmp=client_list_names)
    for o in others:
        o.close()
    # many keys in one command, long keys
    keys = ['mk%d' % i for i in range(1000)]
    args = []
    for i, k in enumerate(keys):
        args += [k, str(i)]
    p.c('MSET', *args)
    p.c('MGET', *keys)
    p.c('MGET', *(keys + ['nokey'] * 10))
    p.c('EXISTS', *keys)
    p.c('MSETNX', *args)
    p.c('DEL', *keys[:500])
    p.c('UNLINK', *keys)
    p.c('DBSIZE')
    lk = 'K' * 70000
    p.c('SET', lk, 'v')
    p.c('GET', lk)
    p.c('KEYS', 'K*', cmp=sorted_array)
    p.c('RENAME', lk, lk + 'x')
    p.c('EXISTS', lk + 'x')
    p.c('DEL', lk + 'x')
    # integer-looking values through string commands
    for v in ('12345', '-12', '0', I64MAX, '007'):
        p.c('SET', 'n', v)
        p.c('GETRANGE', 'n', '1', '3')
        p.c('GETRANGE', 'n', '-2', '-1')
        p.c('STRLEN', 'n')
        p.c('SETRANGE', 'n', '1', '9')
        p.c('GET', 'n')
        p.c('APPEND', 'n', '1')
        p.c('INCR', 'n')
        p.c('GET', 'n')
    p.c('SET', 'n', '10')
    p.c('INCRBYFLOAT', 'n', '0.5')
    p.c('INCRBYFLOAT', 'n', '-0.5')
    p.c('GET', 'n')
    p.c('INCR', 'n')
    p.c('SET', 'n', '1.0')
    p.c('INCR', 'n')
    p.close()


def sec_arity_sweep_resp3(d):
    d.section = 'errors under resp3'
    p = d.pair()
    p.c('HELLO', '3', cmp=hello_eq)
    for name in ('GET', 'SET', 'INCR', 'EXPIRE', 'SCAN', 'CLIENT', 'HELLO'):
        p.c(name, 'x', 'y', 'z', 'w', 'v', 'u')
    p.c('SET', 'n', 'abc')
    p.c('INCR', 'n')
    p.close()


def part_a(d):
    p = d.pair()
    sec_arity(d, p)
    sec_unknown(d, p)
    sec_ping_echo(d, p)
    sec_get_set(d, p)
    sec_string_cmds(d, p)
    sec_incr(d, p)
    sec_keys(d, p)
    sec_scan(d, p)
    sec_expire(d, p)
    sec_flush(d, p)
    p.close()
    sec_hello_auth_client(d)
    sec_resp3(d)
    sec_inline(d)
    sec_server(d)
    sec_arity_sweep_resp3(d)
    sec_more(d)


# ---------------------------------------------------------------- part C

def part_c(d):
    """Both servers restarted with requirepass: NOAUTH for everything but
    AUTH / HELLO / QUIT, wrong passwords, HELLO AUTH, the limits Redis puts on
    unauthenticated requests."""
    d.section = 'requirepass'
    p = d.pair()
    for args in (['PING'], ['GET', 'k'], ['SET', 'k', 'v'], ['foo'], ['GET'],
                 ['CLIENT', 'ID'], ['SELECT', '0'], ['ECHO', 'x'], ['CONFIG', 'GET', 'port'],
                 ['HELLO'], ['HELLO', '2'], ['HELLO', '3'], ['HELLO', '4'],
                 ['HELLO', '3', 'SETNAME', 'n'], ['AUTH', 'wrong'],
                 ['AUTH', 'default', 'wrong'], ['AUTH', 'nouser', 'secret'],
                 ['AUTH'], ['HELLO', '2', 'AUTH', 'default', 'wrong'],
                 ['HELLO', '3', 'AUTH', 'default'], ['RESET']):
        p.c(*args, cmp=hello_eq)
    p.raw(b'PING\r\n')
    p.c('AUTH', 'secret')
    p.c('PING')
    p.c('SET', 'k', 'v')
    p.c('GET', 'k')
    p.c('AUTH', 'wrong')
    p.c('GET', 'k')                       # a failed AUTH does not log out
    p.c('RESET')
    p.c('GET', 'k')                       # RESET does log out
    p.c('HELLO', '3', 'AUTH', 'default', 'secret', 'SETNAME', 'cn', cmp=hello_eq)
    p.c('CLIENT', 'GETNAME')
    p.c('GET', 'k')
    p.c('QUIT')
    p.eof('QUIT')
    p.close()
    p = d.pair()
    p.c('AUTH', 'default', 'secret')
    p.c('GET', 'k')
    p.close()
    # unauthenticated clients may not send big requests
    for data in (b'*11\r\n', b'*10\r\n$16385\r\n', b'*1\r\n$16384\r\n' + b'a' * 16384
                 + b'\r\n', b'*2\r\n$4\r\nAUTH\r\n$20000\r\n'):
        p = d.pair()
        p.raw_eof(data)


# ---------------------------------------------------------------- part B

KEYS = [b'k%d' % i for i in range(44)] + [b'bin\x00key', b'sp ace', b'crlf\r\nk',
                                           b'', b'\xff\xfe', b'n']
NOW = int(time.time())


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def key(self):
        return self.r.choice(KEYS)

    def keys(self, lo=1, hi=5):
        return [self.key() for _ in range(self.r.randint(lo, hi))]

    def intval(self):
        r = self.r
        return str(r.choice([0, 1, -1, 2, 10, 100, r.randint(-1000, 1000),
                             r.randint(-2 ** 63, 2 ** 63 - 1), 2 ** 63 - 1,
                             -2 ** 63, 2 ** 63 - 2, -2 ** 63 + 1,
                             r.randint(-10 ** 6, 10 ** 6)])).encode()

    def floatval(self):
        r = self.r
        return r.choice([b'3.14', b'-0.5', b'1e10', b'1.5e-5', b'0.1', b'10.50',
                         b'inf', b'1e308', b'-1e308', b'  1', b'1 ', b'+5',
                         b'0x10', b'1e', b'.5', b'5.', b'00012', b'-0',
                         b'1.0e3', b'nan', b'2.5',
                         ('%.6f' % r.uniform(-1e6, 1e6)).encode(),
                         repr(r.uniform(-1, 1)).encode(),
                         ('%de%d' % (r.randint(1, 9), r.randint(-20, 20))).encode()])

    def strval(self):
        r = self.r
        c = r.random()
        if c < 0.4:
            return r.choice([b'hello', b'', b'world', b'x', b'abc', b'a b',
                             b'\x00\r\n'])
        if c < 0.7:
            return bytes(r.getrandbits(8) for _ in range(r.randint(0, 40)))
        if c < 0.95:
            return b'x' * r.randint(1, 200)
        return bytes([65 + r.randint(0, 25)]) * r.randint(1000, 20000)

    def value(self):
        c = self.r.random()
        if c < 0.4:
            return self.intval()
        if c < 0.6:
            return self.floatval()
        return self.strval()

    def badint(self):
        return self.r.choice([b'abc', b'', b'1.5', b' 1', b'9223372036854775808',
                              b'-9223372036854775809', b'1e3', b'+1', b'0x1'])

    def int_arg(self):
        return self.intval() if self.r.random() < 0.85 else self.badint()

    def rel_secs(self):
        r = self.r.random()
        if r < 0.8:
            return str(self.r.randint(1000, 10 ** 7)).encode()
        return self.r.choice([b'0', b'-1', b'-100', b'abc', I64MAX.encode(),
                              b'9223372036854775', I64MIN.encode(), b'1.5', b''])

    def rel_ms(self):
        r = self.r.random()
        if r < 0.8:
            return str(self.r.randint(10 ** 6, 10 ** 10)).encode()
        return self.r.choice([b'0', b'-1', b'-100000', b'abc', I64MAX.encode(),
                              I64MIN.encode(), b'1.5'])

    def abs_secs(self):
        r = self.r.random()
        if r < 0.8:
            return str(NOW + self.r.randint(10 ** 5, 10 ** 8)).encode()
        return self.r.choice([b'0', b'1', str(NOW - 1000).encode(), b'-1', b'abc',
                              I64MAX.encode(), b'9223372036854775'])

    def abs_ms(self):
        r = self.r.random()
        if r < 0.8:
            return str((NOW + self.r.randint(10 ** 5, 10 ** 8)) * 1000 +
                       self.r.randint(0, 999)).encode()
        return self.r.choice([b'0', b'1', str((NOW - 1000) * 1000).encode(),
                              b'-1', b'abc', I64MAX.encode()])

    def expire_opts(self):
        r = self.r.random()
        if r < 0.5:
            return []
        if r < 0.9:
            return [self.r.choice([b'NX', b'XX', b'GT', b'LT', b'nx', b'gt'])]
        return self.r.sample([b'NX', b'XX', b'GT', b'LT', b'FOO'], 2)

    def set_opts(self):
        r = self.r
        # SET EXAT/PXAT in the past stores a key that is already expired; it
        # stays counted by DBSIZE until Redis's active expiry (timing-
        # dependent) removes it, so only future or invalid times here.
        ab = self.abs_secs()
        if ab.isdigit() and int(ab) < NOW:
            ab = b'abc'
        am = self.abs_ms()
        if am.isdigit() and int(am) < NOW * 1000:
            am = I64MAX.encode()
        pool = [[b'NX'], [b'XX'], [b'GET'], [b'KEEPTTL'], [b'EX', self.rel_secs()],
                [b'PX', self.rel_ms()], [b'EXAT', ab], [b'PXAT', am]]
        out = []
        for _ in range(r.choice([0, 0, 1, 1, 1, 2, 2, 3])):
            out += r.choice(pool)
        if r.random() < 0.03:
            out.append(r.choice([b'FOO', b'EX', b'PX']))
        return out

    def getex_opts(self):
        r = self.r
        pool = [[], [b'EX', self.rel_secs()], [b'PX', self.rel_ms()],
                [b'EXAT', self.abs_secs()], [b'PXAT', self.abs_ms()], [b'PERSIST'],
                [b'PERSIST', b'EX', b'100'], [b'FOO'], [b'EX']]
        return r.choice(pool)

    def command(self):
        """Return (args, comparator)."""
        r = self.r
        k = self.key
        c = r.random() * 100
        if c < 10:
            return [b'GET', k()], exact
        if c < 20:
            return [b'SET', k(), self.value()] + self.set_opts(), exact
        if c < 22:
            return [b'SETNX', k(), self.value()], exact
        if c < 23:
            return [b'SETEX', k(), self.rel_secs(), self.value()], exact
        if c < 24:
            return [b'PSETEX', k(), self.rel_ms(), self.value()], exact
        if c < 25:
            return [b'GETSET', k(), self.value()], exact
        if c < 26:
            return [b'GETDEL', k()], exact
        if c < 28:
            return [b'GETEX', k()] + self.getex_opts(), exact
        if c < 30:
            return [b'MGET'] + self.keys(), exact
        if c < 32:
            a = [b'MSET']
            for kk in self.keys():
                a += [kk, self.value()]
            if r.random() < 0.05:
                a.pop()
            return a, exact
        if c < 33:
            a = [b'MSETNX']
            for kk in self.keys(1, 3):
                a += [kk, self.value()]
            return a, exact
        if c < 36:
            return [b'APPEND', k(), self.strval() if r.random() < 0.5 else self.intval()], exact
        if c < 37:
            return [b'STRLEN', k()], exact
        if c < 41:
            return [r.choice([b'INCR', b'DECR']), k()], exact
        if c < 45:
            return [r.choice([b'INCRBY', b'DECRBY']), k(), self.int_arg()], exact
        if c < 49:
            inc = self.floatval() if r.random() < 0.7 else self.intval()
            return [b'INCRBYFLOAT', k(), inc], exact
        if c < 52:
            return [b'GETRANGE', k(), str(r.randint(-30, 30)).encode(),
                    str(r.randint(-30, 30)).encode() if r.random() < 0.95
                    else self.badint()], exact
        if c < 55:
            off = r.choice([str(r.randint(0, 100)).encode()] * 8 +
                           [str(r.randint(0, 3000)).encode(), b'-1', b'abc'])
            return [b'SETRANGE', k(), off, self.strval()[:100]], exact
        if c < 58:
            return [r.choice([b'DEL', b'UNLINK'])] + self.keys(1, 3), exact
        if c < 61:
            return [r.choice([b'EXISTS', b'TOUCH'])] + self.keys(), exact
        if c < 62:
            return [b'TYPE', k()], exact
        if c < 64:
            return [r.choice([b'RENAME', b'RENAMENX']), k(), k()], exact
        if c < 67:
            return [b'EXPIRE', k(), self.rel_secs()] + self.expire_opts(), exact
        if c < 69:
            return [b'PEXPIRE', k(), self.rel_ms()] + self.expire_opts(), exact
        if c < 71:
            return [b'EXPIREAT', k(), self.abs_secs()] + self.expire_opts(), exact
        if c < 73:
            return [b'PEXPIREAT', k(), self.abs_ms()] + self.expire_opts(), exact
        if c < 76:
            return [b'TTL', k()], int_close(2)
        if c < 78:
            return [b'PTTL', k()], int_close(2000)
        if c < 79:
            return [b'EXPIRETIME', k()], int_close(2)
        if c < 80:
            return [b'PEXPIRETIME', k()], int_close(2000)
        if c < 82:
            return [b'PERSIST', k()], exact
        if c < 83:
            return [b'DBSIZE'], exact
        if c < 84:
            pat = r.choice([b'*', b'k1*', b'k?', b'*[0-5]', b'k[^1]*', b'\\*',
                            b'bin*', b'*e*', b'k[1-3]?'])
            return [b'KEYS', pat], sorted_array
        if c < 85:
            return [b'RANDOMKEY'], nullness
        if c < 86:
            return [b'EXISTS'] + KEYS, exact
        if c < 87:
            # an error path: wrong arity, unknown command, bad numbers
            return r.choice([
                [b'GET'], [b'SET', k()], [b'INCR', k(), b'x'], [b'nosuch', k()],
                [b'EXPIRE', k()], [b'GETRANGE', k(), b'0'], [b'MSET', k()],
                [b'SET', k(), b'v', b'EX', b'0'], [b'TTL', k(), k()],
                [b'ECHO', self.strval()], [b'PING', b'p'], [b'SELECT', b'1'],
            ]), exact
        if c < 87.1:
            return [b'FLUSHDB'], exact
        if c < 93:
            return [b'SET', k(), self.value()], exact
        return [b'GET', k()], exact


def part_b(d, seed, count, batch=100, proto=2):
    d.section = 'random seed=%d resp%d' % (seed, proto)
    g = Gen(seed)
    cmds = [g.command() for _ in range(count)]
    p = d.pair()
    p.c('FLUSHALL')
    p.c('HELLO', str(proto), cmp=hello_eq)
    t0 = time.time()
    for i in range(0, count, batch):
        chunk = cmds[i:i + batch]
        data = b''.join(encode(*a) for a, _ in chunk)
        for cl in (p.a, p.b):
            cl.send(data)
        ra = p._read('a', p.a, len(chunk))
        rb = p._read('b', p.b, len(chunk))
        for j, ((args, cmp), x, y) in enumerate(zip(chunk, ra, rb)):
            d.count += 1
            try:
                ok = cmp(x, y)
            except Exception:
                ok = False
            if not ok:
                harness.log('diff: seed %d, command #%d differs' % (seed, i + j))
                # Context: the previous commands on the same keys.
                keys = set(a for a in args[1:])
                prev = [(n, cmds[n][0]) for n in range(max(0, i + j - 400), i + j)
                        if keys & set(cmds[n][0][1:])][-8:]
                for n, a in prev:
                    harness.log('   before #%d: %s' % (n, _fmt_cmd(a)))
                d.report(args, x, y)
                try:
                    ka = set(parse(p.a.cmd('KEYS', '*')))
                    kb = set(parse(p.b.cmd('KEYS', '*')))
                    if ka != kb:
                        harness.log('   keys only in kvsd: %r; only in redis: %r' % (
                            sorted(ka - kb)[:10], sorted(kb - ka)[:10]))
                except Exception:
                    pass
                return
    p.close()
    harness.log('part B: %d commands (RESP%d) in %.1f s' % (
        count, proto, time.time() - t0))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int,
                    default=int(os.environ.get('DIFF_SEED', '20240601')))
    ap.add_argument('--count', type=int, default=12000)
    ap.add_argument('--only', choices=['A', 'B', 'C'])
    args = ap.parse_args()

    servers = start_pair('diff')
    if servers is None:
        return 1
    sa, sb = servers
    harness.log('diff: kvsd=%s port %d, redis=%s port %d, seed %d' % (
        sa.binary, sa.port, sb.binary, sb.port, args.seed))
    d = Differ(sa, sb)
    rc = 0
    try:
        if args.only in (None, 'A'):
            t0 = time.time()
            part_a(d)
            harness.log('part A: %d replies compared in %.1f s, %d mismatches' % (
                d.count, time.time() - t0, len(d.mismatches)))
        if args.only in (None, 'B'):
            before = len(d.mismatches)
            part_b(d, args.seed, args.count)
            if len(d.mismatches) == before:
                part_b(d, args.seed + 1, max(1, args.count // 4), proto=3)
    except Mismatch:
        pass
    except (OSError, harness.ProtocolError) as e:
        harness.log('diff: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    alive = sa.alive()
    code_a = sa.stop()
    code_b = sb.stop()
    if rc == 0 and alive and args.only in (None, 'C'):
        sa = harness.kvsd_server(['--requirepass', 'secret'])
        sb = harness.redis_server(['--requirepass', 'secret'])
        try:
            sb.start()
            sa.start()
            d.sa, d.sb = sa, sb
            part_c(d)
        except (RuntimeError, OSError, harness.ProtocolError) as e:
            harness.log('diff: part C aborted: %r' % (e,))
            rc = 1
        except Mismatch:
            pass
        alive = sa.alive()
        code_a = sa.stop()
        sb.stop()
    if not alive:
        harness.log('diff: kvsd died during the test (exit %s)' % code_a)
        rc = 1
    elif code_a != 0:
        harness.log('diff: kvsd exited with %s on SIGTERM' % code_a)
        rc = 1
    harness.log('diff: %d commands, %d mismatches' % (d.count, len(d.mismatches)))
    if d.mismatches:
        rc = 1
    return rc


if __name__ == '__main__':
    sys.exit(main())
