#!/usr/bin/env python3
"""Generate server/cmd_docs.c: Redis 7.0's COMMAND DOCS and COMMAND INFO
metadata for every command kvsd implements.

The facts come from a real redis-server (7.0.15 on Debian): the script asks it
`COMMAND DOCS <name>` and `COMMAND INFO <name>` over RESP3 (HELLO 3, so maps,
sets and simple strings keep their types), checks that every reply has exactly
the shape and field order server/cmd.c knows how to re-emit, and writes static
C tables. Which commands: the top-level names kvsd's own `COMMAND LIST`
answers, plus every subcommand Redis has for the containers among them
(CLIENT, CONFIG, COMMAND...), so a subcommand kvsd adds later finds its docs
without re-running this script.

Usage (from the repository root; stdlib only):
  python3 tools/gen_cmd_docs.py --kvsd build/server/kvsd -o server/cmd_docs.c
Options:
  --kvsd BIN | --kvsd-port P      where the command list comes from
  --redis BIN | --redis-port P    the reference server (default: redis-server
                                  from PATH, started on a free port, never 6379)
  --commands a,b,...              extra top-level names to include
The output is run through clang-format (the repository's .clang-format) when
clang-format is on PATH. Exit status 1 with a message on any surprise in the
reply shapes: extend the tables in cmd_docs.h and cmd.c first, then here.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# Field orders exactly as Redis 7.0 emits them (server.c: addReplyCommandDocs,
# addReplyCommandArgList, addReplyCommandKeySpecs).
DOC_FIELDS = ['summary', 'since', 'group', 'complexity', 'doc_flags', 'deprecated_since',
              'replaced_by', 'history', 'arguments', 'subcommands']
ARG_FIELDS = ['name', 'type', 'key_spec_index', 'token', 'summary', 'since',
              'deprecated_since', 'flags', 'arguments']
ARG_FLAGS = ['optional', 'multiple', 'multiple_token']
KEYSPEC_FIELDS = ['notes', 'flags', 'begin_search', 'find_keys']
BS_SPECS = {'index': [('index', ':')], 'keyword': [('keyword', '$'), ('startfrom', ':')],
            'unknown': []}
FK_SPECS = {'range': ['lastkey', 'keystep', 'limit'],
            'keynum': ['keynumidx', 'firstkey', 'keystep'], 'unknown': []}


def die(msg):
    sys.exit('gen_cmd_docs: ' + msg)


# ---------------------------------------------------------------- RESP client

class Conn:
    """A blocking RESP client whose replies keep their RESP3 types:
    (type_byte, value) with value a str, an int, or a list of nodes (a map's
    list alternates keys and values)."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.buf = b''

    def _line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                die('connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                die('connection closed')
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t in '+-':
            return (t, rest.decode())
        if t == ':':
            return (t, int(rest))
        if t == '_':
            return (t, None)
        if t in '$=!':
            n = int(rest)
            return (t, None if n < 0 else self._exact(n).decode())
        if t in '*~%>':
            n = int(rest)
            if t == '%':
                n *= 2
            return (t, [self.read() for _ in range(max(n, 0))])
        die('unexpected RESP type %r' % t)

    def cmd(self, *args):
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a.encode()
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        self.sock.sendall(out)
        r = self.read()
        if r[0] == '-':
            die('%s: %s' % (' '.join(args), r[1]))
        return r


def free_port():
    while True:
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port != 6379:
            return port


def start(argv_fn, name):
    """Start a server on a free port in a fresh directory; returns (proc, port, dir)."""
    tmp = tempfile.mkdtemp(prefix='gen-cmd-docs-')
    port = free_port()
    proc = subprocess.Popen(argv_fn(port, tmp), cwd=tmp, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            die('%s exited with %d' % (name, proc.returncode))
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
                s.sendall(b'PING\r\n')
                if s.recv(16).startswith(b'+PONG'):
                    return proc, port, tmp
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    die('%s did not answer PING' % name)


# ---------------------------------------------------------------- shape checks

def pairs(node, what):
    if node[0] != '%':
        die('%s: expected a map, got %r' % (what, node[0]))
    v = node[1]
    return [(v[i][1], v[i + 1]) for i in range(0, len(v), 2)]


def ordered(fields, order, what):
    """Fields as a dict, after checking each name is known and in Redis's order."""
    idx = -1
    for k, _ in fields:
        if k not in order:
            die('%s: unknown field %r (teach cmd_docs.h, cmd.c and this script)' % (what, k))
        if order.index(k) <= idx:
            die('%s: field %r out of the expected order' % (what, k))
        idx = order.index(k)
    return dict(fields)


def text(node, what, t='$'):
    if node[0] != t:
        die('%s: expected %r, got %r' % (what, t, node))
    return node[1]


def words(node, what, elem='+', container='~'):
    if node[0] != container:
        die('%s: expected a %r aggregate, got %r' % (what, container, node[0]))
    out = []
    for e in node[1]:
        w = text(e, what, elem)
        if not w or ' ' in w:
            die('%s: %r cannot be stored as a space-separated word' % (what, w))
        out.append(w)
    return out


def parse_arg(node, what):
    a = ordered(pairs(node, what), ARG_FIELDS, what)
    name = text(a['name'], what)
    what = '%s/%s' % (what, name)
    arg = {'name': name, 'type': text(a['type'], what)}
    for k in ('token', 'summary', 'since', 'deprecated_since'):
        if k in a:
            arg[k] = text(a[k], what + '.' + k)
    if 'key_spec_index' in a:
        arg['key_spec_index'] = text(a['key_spec_index'], what, ':')
    flags = words(a['flags'], what + '.flags') if 'flags' in a else []
    if 'flags' in a and not flags:
        die('%s: empty flags set (Redis omits the field then)' % what)
    if flags != [f for f in ARG_FLAGS if f in flags] or len(set(flags)) != len(flags):
        die('%s: flags %r not a subset of %r in order' % (what, flags, ARG_FLAGS))
    arg['flags'] = flags
    has_children = arg['type'] in ('oneof', 'block')
    if has_children != ('arguments' in a):
        die('%s: "arguments" present iff the type is oneof/block, Redis says' % what)
    if has_children:
        arg['args'] = parse_args(a['arguments'], what)
    return arg


def parse_args(node, what):
    if node[0] != '*':
        die('%s: arguments must be an array' % what)
    return [parse_arg(n, what) for n in node[1]]


def parse_docs(name, node):
    what = 'DOCS ' + name
    d = ordered(pairs(node, what), DOC_FIELDS, what)
    doc = {'name': name}
    for k in ('summary', 'since', 'group', 'complexity', 'deprecated_since', 'replaced_by'):
        if k in d:
            doc[k] = text(d[k], what + '.' + k)
    if 'group' not in doc:
        die('%s: no group (Redis always sends one)' % what)
    doc['doc_flags'] = words(d['doc_flags'], what) if 'doc_flags' in d else []
    doc['history'] = []
    if 'history' in d:
        if d['history'][0] != '~':
            die('%s: history is not a set' % what)
        for h in d['history'][1]:
            if h[0] != '*' or len(h[1]) != 2:
                die('%s: history entry is not a pair' % what)
            doc['history'].append((text(h[1][0], what), text(h[1][1], what)))
    doc['args'] = parse_args(d['arguments'], what) if 'arguments' in d else []
    if 'arguments' in d and not doc['args']:
        die('%s: empty arguments array (cmd.c omits the field then)' % what)
    doc['subcommands'] = []
    if 'subcommands' in d:
        for sub, sn in pairs(d['subcommands'], what + '.subcommands'):
            doc['subcommands'].append(parse_docs(sub, sn))
    return doc


def parse_keyspec(node, what):
    k = ordered(pairs(node, what), KEYSPEC_FIELDS, what)
    ks = {'notes': text(k['notes'], what) if 'notes' in k else None,
          'flags': words(k['flags'], what + '.flags')}
    bs = ordered(pairs(k['begin_search'], what), ['type', 'spec'], what)
    bt = text(bs['type'], what)
    if bt not in BS_SPECS:
        die('%s: begin_search type %r' % (what, bt))
    spec = pairs(bs['spec'], what)
    if [f for f, _ in spec] != [f for f, _ in BS_SPECS[bt]]:
        die('%s: begin_search spec fields %r' % (what, spec))
    ks['bs'] = (bt, [text(v, what, t) for (_, v), (_, t) in zip(spec, BS_SPECS[bt])])
    fk = ordered(pairs(k['find_keys'], what), ['type', 'spec'], what)
    ft = text(fk['type'], what)
    if ft not in FK_SPECS:
        die('%s: find_keys type %r' % (what, ft))
    spec = pairs(fk['spec'], what)
    if [f for f, _ in spec] != FK_SPECS[ft]:
        die('%s: find_keys spec fields %r' % (what, spec))
    ks['fk'] = (ft, [text(v, what, ':') for _, v in spec])
    return ks


def parse_info(name, node):
    what = 'INFO ' + name
    if node[0] != '*' or len(node[1]) != 1 or node[1][0][0] != '*':
        die('%s: unknown command?' % what)
    f = node[1][0][1]
    if len(f) != 10:
        die('%s: %d fields, not 10' % (what, len(f)))
    if text(f[0], what) != name:
        die('%s: reply names %r' % (what, f[0]))
    info = {'arity': text(f[1], what, ':'), 'flags': words(f[2], what + '.flags'),
            'first': text(f[3], what, ':'), 'last': text(f[4], what, ':'),
            'step': text(f[5], what, ':'), 'acl': words(f[6], what + '.acl'),
            'tips': words(f[7], what + '.tips', elem='$')}
    if f[8][0] != '~':
        die('%s: key specs not a set' % what)
    info['keyspecs'] = [parse_keyspec(k, what) for k in f[8][1]]
    return info


# ---------------------------------------------------------------- C output

def cstr(s):
    if s is None:
        return 'NULL'
    out = []
    for ch in s.encode():
        c = chr(ch)
        if c in '"\\':
            out.append('\\' + c)
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append('\\%03o' % ch)
    return '"' + ''.join(out) + '"'


def ident(name):
    return ''.join(c if c.isalnum() else '_' for c in name)


class Emitter:
    def __init__(self):
        self.out = []

    def args(self, base, args):
        """Emit the arrays for an argument list (children first); returns the
        array's C name."""
        cname = base
        rows = []
        for i, a in enumerate(args):
            child = None
            if a.get('args'):
                child = self.args('%s_%d' % (base, i), a['args'])
            fields = ['.name = %s' % cstr(a['name']), '.type = %s' % cstr(a['type'])]
            flags = ['CMD_DOC_ARG_' + f.upper() for f in a['flags']]
            if 'key_spec_index' in a:
                flags.append('CMD_DOC_ARG_KEY_SPEC')
                fields.append('.key_spec_index = %d' % a['key_spec_index'])
            for k in ('token', 'summary', 'since', 'deprecated_since'):
                if k in a:
                    fields.append('.%s = %s' % (k, cstr(a[k])))
            if flags:
                fields.append('.flags = ' + ' | '.join(flags))
            if child:
                fields.append('.args = %s' % child)
                fields.append('.nargs = %d' % len(a['args']))
            rows.append('\t{' + ', '.join(fields) + '},')
        self.out.append('static const struct cmd_doc_arg %s[] = {' % cname)
        self.out.extend(rows)
        self.out.append('};')
        return cname

    def command(self, doc, info):
        base = ident(doc['name'])
        self.out.append('')
        self.out.append('/* %s */' % doc['name'].upper().replace('|', ' '))
        fields = ['.name = %s' % cstr(doc['name'])]
        for k in ('summary', 'since', 'group', 'complexity'):
            if k in doc:
                fields.append('.%s = %s' % (k, cstr(doc[k])))
        if doc['doc_flags']:
            fields.append('.doc_flags = %s' % cstr(' '.join(doc['doc_flags'])))
        for k in ('deprecated_since', 'replaced_by'):
            if k in doc:
                fields.append('.%s = %s' % (k, cstr(doc[k])))
        if doc['history']:
            self.out.append('static const struct cmd_doc_history %s_history[] = {' % base)
            for v, ch in doc['history']:
                self.out.append('\t{%s, %s},' % (cstr(v), cstr(ch)))
            self.out.append('};')
            fields.append('.history = %s_history' % base)
            fields.append('.nhistory = %d' % len(doc['history']))
        if doc['args']:
            fields.append('.args = %s' % self.args(base + '_args', doc['args']))
            fields.append('.nargs = %d' % len(doc['args']))
        fields.append('.arity = %d' % info['arity'])
        fields.append('.flags = %s' % cstr(' '.join(info['flags'])))
        fields.append('.first_key = %d' % info['first'])
        fields.append('.last_key = %d' % info['last'])
        fields.append('.key_step = %d' % info['step'])
        fields.append('.acl = %s' % cstr(' '.join(info['acl'])))
        fields.append('.tips = %s' % cstr(' '.join(info['tips'])))
        if info['keyspecs']:
            self.out.append('static const struct cmd_doc_keyspec %s_keyspecs[] = {' % base)
            for ks in info['keyspecs']:
                bt, bv = ks['bs']
                ft, fv = ks['fk']
                kf = ['.notes = %s' % cstr(ks['notes']),
                      '.flags = %s' % cstr(' '.join(ks['flags'])),
                      '.bs_type = CMD_DOC_BS_%s' % bt.upper()]
                if bt == 'index':
                    kf.append('.bs_index = %d' % bv[0])
                elif bt == 'keyword':
                    kf.append('.bs_keyword = %s' % cstr(bv[0]))
                    kf.append('.bs_startfrom = %d' % bv[1])
                kf.append('.fk_type = CMD_DOC_FK_%s' % ft.upper())
                if fv:
                    kf.append('.fk = {%s}' % ', '.join(str(x) for x in fv))
                self.out.append('\t{' + ', '.join(kf) + '},')
            self.out.append('};')
            fields.append('.keyspecs = %s_keyspecs' % base)
            fields.append('.nkeyspecs = %d' % len(info['keyspecs']))
        return '\t{' + ', '.join(fields) + '},'


HEADER = '''/*
 * cmd_docs.c — GENERATED by tools/gen_cmd_docs.py from %(server)s; do not edit.
 *
 * Redis's documentation and metadata (COMMAND DOCS, COMMAND INFO) for every
 * command kvsd implements and every subcommand of its containers, as facts
 * about the command interface, read from a running reference server. To
 * regenerate after adding a command (from the repository root):
 *
 *   python3 tools/gen_cmd_docs.py --kvsd build/server/kvsd -o server/cmd_docs.c
 *
 * Rows are sorted by full name ("config|get") for cmd_docs_find().
 */
#include "server/cmd_docs.h"

#include <string.h>
'''

FOOTER = '''
const size_t cmd_docs_count = sizeof(cmd_docs_table) / sizeof(cmd_docs_table[0]);

const struct cmd_doc *cmd_docs_find(const char *name)
{
	size_t lo = 0, hi = cmd_docs_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, cmd_docs_table[mid].name);

		if (c == 0)
			return &cmd_docs_table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kvsd', help='kvsd binary to start for COMMAND LIST')
    ap.add_argument('--kvsd-port', type=int, help='a running kvsd')
    ap.add_argument('--redis', default=shutil.which('redis-server') or '/usr/bin/redis-server')
    ap.add_argument('--redis-port', type=int, help='a running reference redis-server')
    ap.add_argument('--commands', default='', help='extra top-level command names')
    ap.add_argument('-o', '--output', default=os.path.join(REPO, 'server', 'cmd_docs.c'))
    ns = ap.parse_args()

    procs = []
    try:
        kport = ns.kvsd_port
        if kport is None:
            if not ns.kvsd:
                die('give --kvsd BIN or --kvsd-port P')
            kvsd = os.path.abspath(ns.kvsd)
            p, kport, tmp = start(lambda port, d: [kvsd, '--port', str(port), '--bind',
                                                   '127.0.0.1', '--loglevel', 'warning',
                                                   '--save', ''], 'kvsd')
            procs.append((p, tmp))
        rport = ns.redis_port
        if rport is None:
            p, rport, tmp = start(lambda port, d: [ns.redis, '--port', str(port), '--bind',
                                                   '127.0.0.1', '--save', '', '--appendonly',
                                                   'no', '--dir', d], 'redis-server')
            procs.append((p, tmp))

        k = Conn(kport)
        names = [n[1] for n in k.cmd('COMMAND', 'LIST')[1]]
        names += [n for n in ns.commands.split(',') if n]
        # top-level names only: a container's subcommands come with it
        # (COMMAND LIST names them too, as Redis's does)
        names = sorted(set(n.lower() for n in names if '|' not in n))

        r = Conn(rport)
        r.cmd('HELLO', '3')
        version = [l for l in r.cmd('INFO', 'server')[1].splitlines()
                   if l.startswith('redis_version:')][0].split(':')[1]
        docs = []
        for n in names:
            reply = pairs(r.cmd('COMMAND', 'DOCS', n), 'DOCS ' + n)
            if len(reply) != 1:
                die('redis-server does not know %r (kvsd-only command?)' % n)
            docs.append(parse_docs(n, reply[0][1]))
        flat = []
        for d in docs:
            flat.append(d)
            flat.extend(d['subcommands'])
        flat.sort(key=lambda d: d['name'])

        em = Emitter()
        rows = []
        for d in flat:
            info = parse_info(d['name'], r.cmd('COMMAND', 'INFO', d['name']))
            rows.append(em.command(d, info))
    finally:
        for p, tmp in procs:
            p.terminate()
            p.wait()
            shutil.rmtree(tmp, ignore_errors=True)

    src = [HEADER % {'server': 'redis-server ' + version}]
    src.extend(em.out)
    src.append('')
    src.append('const struct cmd_doc cmd_docs_table[] = {')
    src.extend(rows)
    src.append('};')
    src.append(FOOTER)
    with open(ns.output, 'w') as f:
        f.write('\n'.join(src))
    cf = shutil.which('clang-format')
    if cf:
        subprocess.run([cf, '-i', '--style=file:' + os.path.join(REPO, '.clang-format'),
                        ns.output], check=True)
    print('gen_cmd_docs: %d commands (%d top-level) from redis-server %s -> %s'
          % (len(flat), len(docs), version, ns.output))


if __name__ == '__main__':
    main()
