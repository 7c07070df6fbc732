"""A kvsd for the loadgen tests: a free port, one raw RESP command, and a start that counts
only when the server answering on the port is our child (INFO process_id), retrying on fresh
ports when another test's server took the port first. Shared by test_loadgen.py and
test_loadgen_pubsub.py."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'py'))
from harness import free_port  # noqa: E402 (one port picker for every test)


def command(port, *args):
    """One RESP command over a raw socket; returns the raw reply bytes."""
    req = b'*%d\r\n' % len(args) + b''.join(
        b'$%d\r\n%s\r\n' % (len(a), a) for a in (x.encode() for x in args))
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(req)
        time.sleep(0.05)
        return s.recv(65536)


def start_kvsd(kvsd, threads=2):
    """(process, port) of a kvsd of ours; exits the test when three ports fail."""
    for _attempt in range(3):  # a port taken meanwhile: a fresh one
        port = free_port()
        p = subprocess.Popen([kvsd, '--port', str(port), '--bind', '127.0.0.1',
                              '--threads', str(threads), '--loglevel', 'warning', '--save', ''] +
                             os.environ.get('KVSD_EXTRA_ARGS', '').split(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if p.poll() is not None:
                    break  # exited: the port was taken (EADDRINUSE)?
                if command(port, 'PING') == b'+PONG\r\n':
                    # ours, or another test's server that bound the port first?
                    if b'process_id:%d\r\n' % p.pid in command(port, 'INFO', 'server'):
                        return p, port
                    break
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    sys.exit('kvsd did not start')
