#!/usr/bin/env bash
# redis-cli --pipe (mass insertion): 10,000 SET commands in RESP in one stream; redis-cli must
# see every reply ("errors: 0, replies: 10000") and DBSIZE must count 10,000 keys. A second
# stream mixes in failing commands, whose errors --pipe counts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

python3 - "$CLI_TMP/sets.resp" "$CLI_TMP/mixed.resp" <<'PY'
import sys

def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

with open(sys.argv[1], "wb") as f:
    for i in range(10000):
        # Values of varied length, some binary, so replies cross buffer boundaries.
        f.write(resp("SET", "key:%05d" % i, b"v\r\n\x00" * (i % 7) + b"%d" % i))
with open(sys.argv[2], "wb") as f:
    for i in range(100):
        f.write(resp("INCR", "ctr"))
        f.write(resp("INCR", "key:%05d" % (7 * i + 1)))  # "v\r\n\0..1": not an integer
        f.write(resp("GET", "key:%05d" % (i + 7000)))
PY

out="$(rcli --pipe <"$CLI_TMP/sets.resp" 2>&1)" || cli_fail "redis-cli --pipe exited non-zero: $out"
last="$(printf '%s\n' "$out" | tail -n 1)"
expect_eq "--pipe summary" "errors: 0, replies: 10000" "$last"
expect_out "DBSIZE after --pipe" "10000" DBSIZE
expect_out "a binary value written by --pipe" '"v\r\n\x00v\r\n\x00v\r\n\x003"' --no-raw GET key:00003
expect_out "another" "7000" GET key:07000

# Errors stay per command: 100 INCR on non-integers fail, the other 200 replies succeed.
out="$(rcli --pipe <"$CLI_TMP/mixed.resp" 2>&1)" || true
last="$(printf '%s\n' "$out" | tail -n 1)"
expect_eq "--pipe summary with errors" "errors: 100, replies: 300" "$last"
expect_out "INCR count after --pipe" "100" GET ctr

cli_stop
cli_pass
