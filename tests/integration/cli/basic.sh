#!/usr/bin/env bash
# redis-cli one-shot commands: SET/GET/INCR/DEL/EXPIRE/TTL and friends, compared with what
# redis-cli prints for Redis 7.0, in both its piped (raw) and its terminal (--no-raw) formats.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

# Piped stdout: redis-cli prints bare values.
expect_out "SET" "OK" SET greeting hello
expect_out "GET" "hello" GET greeting
expect_out "GET missing (raw nil is an empty line)" "" GET missing
expect_out "INCR new" "1" INCR counter
expect_out "INCRBY" "11" INCRBY counter 10
expect_out "DECR" "10" DECR counter
expect_out "INCR non-integer" "ERR value is not an integer or out of range" INCR greeting
expect_out "EXISTS" "2" EXISTS greeting counter missing
expect_out "EXPIRE" "1" EXPIRE greeting 100
expect_ttl "TTL" "" TTL greeting
expect_out "TTL no expiry" "-1" TTL counter
expect_out "TTL missing" "-2" TTL missing
expect_out "PERSIST" "1" PERSIST greeting
expect_out "DEL" "2" DEL greeting counter missing
expect_out "GET after DEL" "" GET greeting
expect_out "wrong arity" "ERR wrong number of arguments for 'get' command" GET
expect_out "unknown command" \
	"ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' " NOSUCHCMD x

# Terminal formatting (--no-raw): types are spelled out.
expect_out "SET EX (no-raw)" "OK" --no-raw SET k v EX 100
expect_out "GET (no-raw)" '"v"' --no-raw GET k
expect_out "GET missing (no-raw)" "(nil)" --no-raw GET missing
expect_out "INCR (no-raw)" "(integer) 1" --no-raw INCR n
expect_ttl "TTL (no-raw)" "(integer) " --no-raw TTL k
expect_out "MSET (no-raw)" "OK" --no-raw MSET a 1 b 2
expect_out "MGET (no-raw)" '1) "1"
2) "2"
3) (nil)' --no-raw MGET a b missing
expect_out "error (no-raw)" "(error) ERR wrong number of arguments for 'get' command" --no-raw GET
expect_out "binary value (no-raw)" "OK" --no-raw SET bin "$(printf 'a\tb')"
expect_out "binary GET (no-raw)" '"a\tb"' --no-raw GET bin
expect_out "DBSIZE" "(integer) 5" --no-raw DBSIZE
expect_out "FLUSHALL" "OK" FLUSHALL
expect_out "DBSIZE after FLUSHALL" "0" DBSIZE

cli_stop
cli_pass
