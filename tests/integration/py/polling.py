"""Start-up polling shared by the test helpers: harness.py (its servers),
test_aof.py (servers on a directory that outlives them) and clusterlib.py
(cluster nodes). Standard library only, so that Debian's python3 (the client
tests in tests/clients import clusterlib) can import it as well as the pyenv
python3 of tests/integration/py.
"""


def poll_pauses(first=0.002, most=0.05):
    """The pauses of a poll loop: 2 ms doubling up to 50 ms. A server is
    listening 10-30 ms after its exec, so a start-up wait polled at a fixed
    50 ms cost each start a whole 50 ms (hundreds of starts per suite run);
    later polls back off to the old 50 ms, so a slow start costs no more
    connection attempts than before."""
    p = first
    while True:
        yield p
        p = min(p * 2, most)


def still_loading(info_persistence):
    """True while a server still loads its data set at start-up, from its
    reply to INFO persistence (bytes or None): kvsd answers PING then but
    other commands get -LOADING, so a test's first commands would fail; a
    poll every 50 ms hid this, as loading an empty data set ends within it."""
    info = info_persistence or b''
    return b'\r\nloading:1\r\n' in info or info.startswith(b'-LOADING')
