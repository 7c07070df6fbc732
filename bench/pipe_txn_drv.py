#!/usr/bin/env python3
"""One connection, batches of 16 pipelined writes to one large key, plain or inside MULTI/EXEC
(bench/pipe_txn_ir.sh). Usage: pipe_txn_drv.py PORT plain|multi TEST NBATCHES [P]"""
import random, socket, sys
port, mode, test, nb = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
P = int(sys.argv[5]) if len(sys.argv) > 5 else 16
def enc(argv):
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
def cmd():
    r = b"element:%012d" % random.randrange(1000000)
    return {"hset": [b"HSET", b"myhash", r, b"xxx"], "sadd": [b"SADD", b"myset", r],
            "spop": [b"SPOP", b"myset"], "zpopmin": [b"ZPOPMIN", b"myzset"],
            "zadd": [b"ZADD", b"myzset", b"%d" % random.randrange(1000000), r],
            "lpush": [b"LPUSH", b"mylist", b"xxx"], "rpush": [b"RPUSH", b"mylist", b"xxx"],
            "lpop": [b"LPOP", b"mylist"], "rpop": [b"RPOP", b"mylist"]}[test]
c = socket.create_connection(("127.0.0.1", port))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def replies_done(buf, n):
    # count top-level replies crudely: ok for simple/int/bulk/array-of-bulk replies
    i = cnt = 0
    def one(i):
        t = buf[i:i+1]
        j = buf.find(b"\r\n", i)
        if j < 0: return -1
        if t in (b"+", b"-", b":"): return j + 2
        if t == b"$":
            l = int(buf[i+1:j])
            if l < 0: return j + 2
            e = j + 2 + l + 2
            return e if e <= len(buf) else -1
        if t == b"*":
            l = int(buf[i+1:j]); k = j + 2
            for _ in range(max(l, 0)):
                k = one(k)
                if k < 0: return -1
            return k
        return -1
    while cnt < n:
        k = one(i) if i < len(buf) else -1
        if k < 0: return False
        i = k; cnt += 1
    return True
for _ in range(nb):
    cmds = [cmd() for _ in range(P)]
    if mode == "multi":
        cmds = [[b"MULTI"]] + cmds + [[b"EXEC"]]
    c.sendall(b"".join(enc(a) for a in cmds))
    buf = b""
    while not replies_done(buf, len(cmds)):
        buf += c.recv(1 << 16)
    if b"-ERR" in buf or b"WRONGTYPE" in buf:
        sys.exit("error %r" % buf[:200])
