"""Test harness for kvsd integration tests (Python 3 standard library only).

Starts a server process on a free loopback port -- the built kvsd (KVSD_BIN) or
Debian's redis-server -- waits until it answers PING, and talks to it through a
raw RESP client that returns the exact bytes of each reply, so tests can compare
kvsd against Redis 7.0 byte for byte.

Environment:
  KVSD_BIN         path of the kvsd binary (default: <repo>/build/server/kvsd)
  KVSD_EXTRA_ARGS  extra server flags for kvsd, split on spaces
  DIFF_A_BIN       override the "kvsd" side with another binary; if its name
                   contains "redis-server" it is started with redis-server flags
                   (used to prove the harness by diffing redis against redis)
  REDIS_BIN        redis-server binary (default: redis-server from PATH)

Every started server is stopped at interpreter exit (atexit) even when a test
fails; Server is also a context manager.
"""

import atexit
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from polling import poll_pauses, still_loading  # noqa: F401 (poll_pauses: re-exported)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))

_live_servers = []


def _cleanup_all():
    for s in list(_live_servers):
        try:
            s.stop()
        except Exception:
            pass


atexit.register(_cleanup_all)


_port_rng = random.SystemRandom()


def free_port():
    """Return a loopback TCP port that is free right now (never 6379), below
    the kernel's ephemeral range (32768 and up): a port from bind(0) is an
    ephemeral one, which any client connection of any test may take as its
    local port before the server binds it (ci13, ci15: EADDRINUSE)."""
    while True:
        port = _port_rng.randrange(10000, 32700)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            s.close()
        if port != 6379:
            return port


# ---------------------------------------------------------------- RESP encoding

def _b(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, int):
        return str(x).encode()
    if isinstance(x, float):
        return repr(x).encode()
    return str(x).encode()


def encode(*args):
    """Build one command as a RESP multibulk request. (The str and bytes cases
    first, inline: the tests encode millions of commands, and _b's chain of
    isinstance checks per argument was a third of the Python time of some.)"""
    if len(args) > 8:  # appending to bytes copies them: a list for long commands
        return b'*%d\r\n' % len(args) + b''.join([b'$%d\r\n%b\r\n' % (len(a), a) for a in (
            x.encode() if type(x) is str else x if type(x) is bytes else _b(x)
            for x in args)])
    out = b'*%d\r\n' % len(args)
    for a in args:
        t = type(a)
        if t is str:
            a = a.encode()
        elif t is not bytes:
            a = _b(a)
        out += b'$%d\r\n%b\r\n' % (len(a), a)
    return out


def escape(data, limit=400):
    """Printable, unambiguous form of reply bytes for messages."""
    if data is None:
        return '<EOF>'
    s = repr(bytes(data[:limit]))
    if len(data) > limit:
        s += '...(%d bytes)' % len(data)
    return s


# ---------------------------------------------------------------- RESP decoding

class ProtocolError(Exception):
    pass


def _line_end(buf, pos):
    i = buf.find(b'\r\n', pos)
    return -1 if i < 0 else i


def reply_end(buf, pos=0):
    """Index just past one complete RESP2/RESP3 reply starting at pos, or None
    if buf does not yet hold all of it. Raises ProtocolError on garbage."""
    if pos >= len(buf):
        return None
    t = buf[pos:pos + 1]
    e = _line_end(buf, pos + 1)
    if e < 0:
        return None
    line = buf[pos + 1:e]
    nxt = e + 2
    if t in (b'+', b'-', b':', b'_', b'#', b',', b'('):
        return nxt
    if t in (b'$', b'!', b'='):
        try:
            n = int(line)
        except ValueError:
            raise ProtocolError('bad bulk length %r' % line)
        if n < 0:
            return nxt
        if len(buf) < nxt + n + 2:
            return None
        if buf[nxt + n:nxt + n + 2] != b'\r\n':
            raise ProtocolError('bulk not terminated by CRLF')
        return nxt + n + 2
    if t in (b'*', b'~', b'>', b'%', b'|'):
        if line == b'?':
            raise ProtocolError('streamed aggregates not supported')
        try:
            n = int(line)
        except ValueError:
            raise ProtocolError('bad aggregate length %r' % line)
        if n < 0:
            return nxt
        if t in (b'%', b'|'):
            n *= 2
        p = nxt
        for _ in range(n):
            p = reply_end(buf, p)
            if p is None:
                return None
        if t == b'|':
            # An attribute precedes the reply it annotates.
            return reply_end(buf, p)
        return p
    raise ProtocolError('unknown RESP type byte %r at %d' % (t, pos))


def parse(data):
    """Decode one raw reply into Python values (for tests that need values):
    simple string -> str, error -> Err, integer -> int, bulk -> bytes,
    null -> None, array/set/push -> list, map -> dict-ish list of pairs,
    double -> float, bool -> bool."""
    v, p = _parse(data, 0)
    return v


class Err(str):
    pass


def _parse(buf, pos):
    t = buf[pos:pos + 1]
    e = buf.find(b'\r\n', pos + 1)
    line = buf[pos + 1:e]
    nxt = e + 2
    if t == b'+':
        return line.decode('latin-1'), nxt
    if t == b'-':
        return Err(line.decode('latin-1')), nxt
    if t == b':':
        return int(line), nxt
    if t == b'(':
        return int(line), nxt
    if t == b'_':
        return None, nxt
    if t == b'#':
        return line == b't', nxt
    if t == b',':
        return float(line.replace(b'inf', b'inf')), nxt
    if t in (b'$', b'!', b'='):
        n = int(line)
        if n < 0:
            return None, nxt
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if t in (b'*', b'~', b'>', b'%', b'|'):
        n = int(line)
        if n < 0:
            return None, nxt
        if t in (b'%', b'|'):
            pairs = []
            p = nxt
            for _ in range(n):
                k, p = _parse(buf, p)
                v, p = _parse(buf, p)
                pairs.append((k, v))
            if t == b'|':
                return _parse(buf, p)
            return pairs, p
        items = []
        p = nxt
        for _ in range(n):
            v, p = _parse(buf, p)
            items.append(v)
        return items, p
    raise ProtocolError('unknown type %r' % t)


# ---------------------------------------------------------------- client

class Client:
    """Raw RESP client. cmd() sends one command and returns the raw bytes of
    its reply; read_reply() returns None at EOF."""

    def __init__(self, port, host='127.0.0.1', timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b''
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_reply(self):
        while True:
            end = reply_end(self.buf, 0)
            if end is not None:
                r = bytes(self.buf[:end])
                del self.buf[:end]
                return r
            if self.eof or not self._fill():
                return None

    def read_replies(self, n):
        out = []
        for _ in range(n):
            out.append(self.read_reply())
        return out

    def cmd(self, *args):
        self.send(encode(*args))
        return self.read_reply()

    def raw(self, data):
        """Send raw bytes and read one reply."""
        self.send(data)
        return self.read_reply()

    def read_until_eof(self, timeout=5.0):
        """Everything the server still sends before closing the connection;
        returns (bytes, closed) where closed is False on timeout."""
        deadline = time.time() + timeout
        self.sock.settimeout(0.2)
        closed = False
        while time.time() < deadline:
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            self.buf += chunk
        self.sock.settimeout(10.0)
        r = bytes(self.buf)
        self.buf.clear()
        return r, closed


# ---------------------------------------------------------------- servers

def _is_redis(binary):
    return 'redis-server' in os.path.basename(binary)


def kvsd_binary():
    b = os.environ.get('DIFF_A_BIN')
    if b:
        return b
    return os.environ.get('KVSD_BIN',
                          os.path.join(REPO, 'build', 'server', 'kvsd'))


def redis_binary():
    return os.environ.get('REDIS_BIN') or shutil.which('redis-server') \
        or '/usr/bin/redis-server'


def redis_shutdown(port):
    """Stops the redis-server on port with SHUTDOWN, for a caller that would
    send SIGTERM: redis-server acts on SIGTERM in its next cron, up to 100 ms
    later (hz 10); SHUTDOWN does what SIGTERM does (a save if save points are
    set, the AOF flushed) at once. True if the server closed the connection
    on it (it exits); False if it refused (-NOAUTH, a failed save) or did not
    answer within a second: the caller sends SIGTERM as before."""
    try:
        with Client(port, timeout=1.0) as c:
            return c.cmd('SHUTDOWN') is None
    except (OSError, ProtocolError):
        return False


class Server:
    """One server process on a free loopback port."""

    def __init__(self, binary, extra=(), name=None):
        if os.sep in binary:
            binary = os.path.abspath(binary)
        self.binary = binary
        self.redis = _is_redis(binary)
        self.extra = list(extra)
        self.name = name or os.path.basename(binary)
        self.port = None
        self.proc = None
        self.dir = None

    def argv(self, port):
        if self.redis:
            return [self.binary, '--port', str(port), '--bind', '127.0.0.1',
                    '--save', '', '--appendonly', 'no',
                    '--dir', self.dir] + self.extra
        # --save '': kvsd's default save rules would write dump.rdb (a test
        # that wants them passes its own --save and --dir in extra)
        return [self.binary, '--port', str(port), '--bind', '127.0.0.1',
                '--threads', '2', '--loglevel', 'warning', '--save', ''] + self.extra

    def start(self, timeout=10.0):
        last_err = None
        # A private working directory: redis-server must not load a stray
        # dump.rdb from the caller's cwd.
        for _attempt in range(3):
            self.dir = tempfile.mkdtemp(prefix='kvsd-test-')
            self.port = free_port()
            self.proc = subprocess.Popen(self.argv(self.port),
                                         cwd=self.dir,
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=None)
            _live_servers.append(self)
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as e:
                last_err = e
                self.stop()
        raise RuntimeError('%s did not start: %s' % (self.name, last_err))

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        pause = poll_pauses()
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('exited with %d' % self.proc.returncode)
            try:
                with Client(self.port, timeout=1.0) as c:
                    # -NOAUTH also proves it is serving (requirepass set)
                    r = c.cmd('PING')
                    if (r == b'+PONG\r\n' or (r or b'').startswith(b'-NOAUTH')) and \
                            not self._loading(c, r):
                        self._check_ours(c)
                        return
            except OSError:
                pass
            time.sleep(next(pause))
        raise RuntimeError('no PONG within %.0f s' % timeout)

    def _loading(self, c, ping_reply):
        """True while the server still loads its data set at start-up
        (polling.still_loading). Behind requirepass, the password given in
        the server's flags, if any, is used to ask."""
        if ping_reply.startswith(b'-NOAUTH'):
            pw = None
            for i, a in enumerate(self.extra[:-1]):
                if a == '--requirepass':
                    pw = self.extra[i + 1]
            if pw is None or not (c.cmd('AUTH', pw) or b'').startswith(b'+OK'):
                return False
        return still_loading(c.cmd('INFO', 'persistence'))

    def _check_ours(self, c):
        """Another test's server may bind the port between free_port() and our
        server's bind: it answers PING while ours exits on 'Address already in
        use'. INFO's process_id must be our child's (a server that refuses INFO,
        -NOAUTH, is taken on PING alone); else start() retries on a fresh port."""
        info = c.cmd('INFO', 'server') or b''
        at = info.find(b'process_id:')
        if at >= 0:
            pid = int(info[at + 11:].split(b'\r\n', 1)[0])
            if pid != self.proc.pid:
                raise RuntimeError('port %d is served by pid %d, not ours (%d)'
                                   % (self.port, pid, self.proc.pid))

    def client(self, timeout=10.0):
        return Client(self.port, timeout=timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, wait, return the exit code (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            if not (self.redis and redis_shutdown(self.port)):
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self in _live_servers:
            _live_servers.remove(self)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return p.returncode

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def kvsd_server(extra=()):
    """The server under test; extra flags (e.g. --requirepass x) come after
    KVSD_EXTRA_ARGS."""
    b = kvsd_binary()
    env_extra = [] if _is_redis(b) else \
        os.environ.get('KVSD_EXTRA_ARGS', '').split()
    return Server(b, env_extra + list(extra), name='kvsd')


def redis_server(extra=()):
    return Server(redis_binary(), list(extra), name='redis')


def side_by_side(fn, items):
    """[fn(x) for x in items], the calls run at the same time in threads; an
    exception in one is raised here once all have ended (the first item's
    first). For a comparison run against kvsd and redis-server in turn whose
    time is mostly waiting (save delays, crons, timeouts): run one after the
    other, the waits added up; each call must use only its own servers and
    clients."""
    items = list(items)
    out = [None] * len(items)
    errs = [None] * len(items)

    def one(i):
        try:
            out[i] = fn(items[i])
        except BaseException as e:  # noqa: B036 (re-raised below)
            errs[i] = e
    threads = [threading.Thread(target=one, args=(i,), daemon=True)
               for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errs:
        if e is not None:
            raise e
    return out


def worker_io(c):
    """{worker index: {field: int}} from INFO kvsd's worker<i>_io lines (reads,
    writes, ring_sends, ...): the system calls a worker made, by kind."""
    info = c.cmd('INFO', 'kvsd').decode()
    out = {}
    for line in info.split('\r\n'):
        m = re.fullmatch(r'worker(\d+)_io:(.*)', line)
        if m:
            f = dict(kv.split('=') for kv in m.group(2).split(','))
            out[int(m.group(1))] = {k: int(v) for k, v in f.items()}
    return out


def log(*a):
    print(*a, flush=True)
    sys.stdout.flush()


def pin_threads(pid, cpu):
    """Every thread of pid on one CPU (threads created later inherit it)."""
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except OSError:
            pass


def sanitized():
    """True if the kvsd binary is built with ASan or TSan (slower: wider bounds)."""
    try:
        with open(kvsd_binary(), 'rb') as f:
            data = f.read()
    except OSError:
        return False
    return b'__asan_init' in data or b'__tsan_init' in data


def run_one(tests, fail_exc):
    """main() of a file of tests run one per process, named on the command line:
    0 if it passed, 1 if it raised fail_exc, 2 for a bad name."""
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        sys.stderr.write('usage: %s {%s}\n' % (sys.argv[0], '|'.join(sorted(tests))))
        return 2
    name = sys.argv[1]
    try:
        tests[name]()
    except fail_exc as e:
        log('FAIL %s: %s' % (name, e))
        return 1
    log('ok %s' % name)
    return 0


def run_all(tests, failures, check, label, beside=()):
    """main() of a file whose tests record failures through check(): runs the ones
    named on the command line (all without names), an exception counting as a
    failure of the test it ended; 1 if anything failed. The tests named in
    beside (ones that mostly wait on a server of their own, and whose checks
    count only that server's doing) run in threads beside the others."""
    names = sys.argv[1:] or list(tests)

    def one(n):
        try:
            tests[n]()
        except (OSError, ProtocolError, RuntimeError) as e:
            check(n, False, 'aborted: %r' % (e,))
    threads = [threading.Thread(target=one, args=(n,)) for n in names
               if n in beside and len(names) > 1]
    for t in threads:
        t.start()
    for n in names:
        if not (n in beside and len(names) > 1):
            one(n)
    for t in threads:
        t.join()
    log('%s: %d failures' % (label, len(failures)))
    return 1 if failures else 0

