"""Helpers for the cluster-mode tests (issue 18): start three kvsd nodes with
scripts/cluster.sh, or three redis-server nodes joined by `redis-cli --cluster
create`, on the same loopback ports; Redis Cluster's key slot in Python; and the
check that every key lives on the node its slot names.

Standard library only, so the Debian python3 client tests (tests/clients) can
import it as well as the pyenv python3 of tests/integration/py.
"""

import atexit
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

from polling import poll_pauses

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
CLUSTER_SH = os.path.join(REPO, 'scripts', 'cluster.sh')
# redis-cli --cluster create's ranges for three masters, as conf/cluster-nodes.example
RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]

_crc_table = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x1021) if _c & 0x8000 else (_c << 1)
    _crc_table.append(_c & 0xffff)


def crc16(data):
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xffff) ^ _crc_table[((crc >> 8) ^ b) & 0xff]
    return crc


def keyslot(key):
    """Redis's keyHashSlot of a bytes key."""
    s = key.find(b'{')
    if s >= 0:
        e = key.find(b'}', s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) & 16383


def node_of_slot(slot):
    for i, (a, b) in enumerate(RANGES):
        if a <= slot <= b:
            return i
    raise AssertionError(slot)


def _port_free(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_base(bus=False):
    """A BASEPORT (<= 55525) whose three ports (and their bus ports +10000
    when bus is set) are free now."""
    for _ in range(200):
        base = random.randrange(20000, 45000 if bus else 55500)
        ports = [base, base + 1, base + 2]
        if bus:
            ports += [p + 10000 for p in ports]
        if 6379 not in ports and all(_port_free(p) for p in ports):
            return base
    raise RuntimeError('no free port range')


class PortsTaken(RuntimeError):
    """A node could not have its port: another process bound it between
    free_base() and the node's bind (the node exited on EADDRINUSE, or the
    server answering there is not the node started). The nodes are stopped;
    on_free_ports() tries again on fresh ports."""


def on_free_ports(fn, bus=False, tries=5):
    """fn(base) on a fresh free_base(bus) each time it raises PortsTaken, at
    most `tries` times; returns what fn returns. RuntimeError when every try
    found a port taken (each try's reason in the message)."""
    why = []
    for _ in range(tries):
        try:
            return fn(free_base(bus))
        except PortsTaken as e:
            why.append(str(e))
    raise RuntimeError('ports taken on %d tries in a row: %s' % (tries, '; '.join(why)))


def start_kvsd_cluster(binary):
    """A started KvsdCluster on free ports (retried as on_free_ports)."""
    return on_free_ports(lambda base: KvsdCluster(base, binary).start())


class KvsdCluster:
    """Three kvsd nodes started and stopped by scripts/cluster.sh."""

    def __init__(self, base, binary):
        self.base = base
        self.ports = [base, base + 1, base + 2]
        self.dir = tempfile.mkdtemp(prefix='kvsd-cluster-')
        self.env = dict(os.environ, KVSD_BIN=os.path.abspath(binary), KVSD_CLUSTER_DIR=self.dir)
        self.up = False

    def sh(self, action, base=None, check=True):
        return subprocess.run(['bash', CLUSTER_SH, action, str(self.base if base is None else base)],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120, check=check)

    def start(self):
        atexit.register(self.stop)
        r = self.sh('start', check=False)
        if r.returncode == 3:  # cluster.sh: a port was taken (its nodes stopped)
            self.stop()
            raise PortsTaken('cluster.sh start %d: %s' % (self.base,
                                                          r.stdout.decode(errors='replace')))
        if r.returncode != 0:
            raise RuntimeError('cluster.sh start failed: %s' % r.stdout.decode(errors='replace'))
        self.up = True
        return self

    def pids(self):
        out = []
        for p in self.ports:
            try:
                with open(os.path.join(self.dir, '%d.pid' % p)) as f:
                    out.append(int(f.read()))
            except (OSError, ValueError):
                out.append(None)
        return out

    def stop(self):
        """Stops the nodes; raises RuntimeError when a node's output shows a
        sanitizer report (the nodes' stderr goes to <dir>/<port>.out)."""
        if self.up:
            self.sh('stop', check=False)
            self.up = False
        reports = []
        for p in self.ports:
            try:
                with open(os.path.join(self.dir, '%d.out' % p), 'rb') as f:
                    out = f.read()
            except OSError:
                continue
            if b'Sanitizer' in out or b'runtime error:' in out:
                reports.append('node %d:\n%s' % (p, out[-4000:].decode(errors='replace')))
        shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise RuntimeError('sanitizer report from kvsd: ' + '\n'.join(reports))


class RedisCluster:
    """Three redis-server nodes joined by redis-cli --cluster create."""

    def __init__(self, base, binary='redis-server'):
        self.base = base
        self.ports = [base, base + 1, base + 2]
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix='redis-cluster-')
        self.procs = []

    def start(self):
        """Raises PortsTaken (the nodes stopped) when a node's port or bus
        port (+10000) was taken."""
        atexit.register(self.stop)
        for p in self.ports:
            with open(os.path.join(self.dir, '%d.out' % p), 'wb') as out:
                self.procs.append(subprocess.Popen(
                    [self.binary, '--port', str(p), '--bind', '127.0.0.1', '--cluster-enabled',
                     'yes', '--cluster-config-file', 'nodes-%d.conf' % p, '--save', '',
                     '--appendonly', 'no', '--dir', self.dir], cwd=self.dir,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))
        for p, pr in zip(self.ports, self.procs):
            try:
                wait_pong(p, proc=pr)
            except RuntimeError as e:
                with open(os.path.join(self.dir, '%d.out' % p), 'rb') as f:
                    taken = b'Address already in use' in f.read()
                self.stop()
                raise (PortsTaken if taken or isinstance(e, PortsTaken) else RuntimeError)(
                    'redis-server node %d: %s' % (p, e))
        r = subprocess.run(['redis-cli', '--cluster', 'create'] +
                           ['127.0.0.1:%d' % p for p in self.ports] + ['--cluster-yes'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise RuntimeError('redis-cli --cluster create: %s' % r.stdout.decode(errors='replace'))
        # every node must see the whole cluster before the replies are comparable
        deadline = time.time() + 30
        while time.time() < deadline:
            ok = 0
            for p in self.ports:
                out = subprocess.run(['redis-cli', '-p', str(p), 'cluster', 'info'],
                                     stdout=subprocess.PIPE, timeout=10).stdout
                ok += b'cluster_state:ok' in out and b'cluster_known_nodes:3' in out
            if ok == 3:
                return self
            time.sleep(0.1)
        raise RuntimeError('the redis cluster did not converge')

    def stop(self):
        for pr in self.procs:
            if pr.poll() is None:
                pr.terminate()
                try:
                    pr.wait(10)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_pong(port, timeout=10.0, proc=None):
    """Waits for a PONG on port. With proc (a Popen), the server answering
    must be that process (INFO process_id), else PortsTaken; and proc exiting
    first is a RuntimeError."""
    deadline = time.time() + timeout
    pause = poll_pauses()
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('exited with %d before answering' % proc.returncode)
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1.0) as s:
                s.sendall(b'PING\r\n')
                if s.recv(64).startswith(b'+PONG'):
                    if proc is not None:
                        _check_pid(s, port, proc.pid)
                    return
        except OSError:
            pass
        time.sleep(next(pause))
    raise RuntimeError('port %d: no PONG' % port)


def _check_pid(s, port, pid):
    s.sendall(b'INFO server\r\n')
    info = b''
    while True:  # one bulk reply: $N CRLF, N bytes, CRLF
        head, sep, _ = info.partition(b'\r\n')
        if sep and (not head.startswith(b'$') or
                    len(info) >= len(head) + 2 + int(head[1:]) + 2):
            break
        d = s.recv(65536)
        if not d:
            break
        info += d
    at = info.find(b'process_id:')
    got = int(info[at + 11:].split(b'\r\n', 1)[0]) if at >= 0 else None
    if got != pid:
        raise PortsTaken('port %d is served by pid %s, not ours (%d)' % (port, got, pid))


def scan_keys(port):
    """Every key of a node (SCAN over a raw connection)."""
    keys = []
    with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
        f = s.makefile('rb')
        cursor = b'0'
        while True:
            s.sendall(b'*4\r\n$4\r\nSCAN\r\n$%d\r\n%s\r\n$5\r\nCOUNT\r\n$4\r\n1000\r\n' %
                      (len(cursor), cursor))
            assert f.readline() == b'*2\r\n'
            f.readline()
            cursor = f.readline().rstrip(b'\r\n')
            n = int(f.readline()[1:])
            for _ in range(n):
                ln = int(f.readline()[1:])
                keys.append(f.read(ln + 2)[:-2])
            if cursor == b'0':
                return keys


def check_placement(ports, untagged_prefix, errors, label):
    """Appends to errors unless every key is on the node its slot names and
    each node holds 33 +- 2 % of the keys starting with untagged_prefix.
    Returns the per-node counts of those keys."""
    counts = [0, 0, 0]
    total = 0
    for i, p in enumerate(ports):
        seen = set()
        for k in scan_keys(p):
            if k in seen:
                continue  # SCAN may return a key twice
            seen.add(k)
            owner = node_of_slot(keyslot(k))
            if owner != i:
                errors.append('%s: key %r (slot %d) is on node %d, its slot names node %d' %
                              (label, k, keyslot(k), i, owner))
            if k.startswith(untagged_prefix):
                counts[i] += 1
                total += 1
    for i, n in enumerate(counts):
        share = 100.0 * n / total if total else 0
        if abs(share - 100.0 / 3) > 2:
            errors.append('%s: node %d holds %.2f %% of the untagged keys (want 33 +- 2 %%)' %
                          (label, i, share))
    return counts
