#!/usr/bin/env bash
# redis-cli reading commands from stdin, as a user pipes a script into it: one connection,
# replies in order, redis-cli's own quoting ("a b", '\x00' escapes), errors and nils in line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

got="$(printf 'SET a 1\nGET a\n' | rcli)"
expect_eq "printf 'SET a 1\\nGET a\\n' | redis-cli" "OK
1" "$got"

got="$(printf '%s\n' 'SET "hello world" "x y"' 'GET "hello world"' 'APPEND "hello world" "\x00z"' \
	'STRLEN "hello world"' 'GETRANGE "hello world" 0 2' 'INCR a' 'INCR "hello world"' 'GET nothing' \
	'NOSUCH thing' 'MGET a nothing a' 'DEL a "hello world"' 'EXISTS a' | rcli --no-raw)"
want='OK
"x y"
(integer) 5
(integer) 5
"x y"
(integer) 2
(error) ERR value is not an integer or out of range
(nil)
(error) ERR unknown command '"'"'NOSUCH'"'"', with args beginning with: '"'"'thing'"'"' 
1) "2"
2) (nil)
3) "2"
(integer) 2
(integer) 0'
expect_eq "a session through stdin (redis-cli --no-raw)" "$want" "$got"

# Raw output (stdout not a terminal): bare values, a missing key is an empty line.
got="$(printf '%s\n' 'SET k v' 'GET k' 'GET missing' 'TTL k' 'EXPIRE k 50' 'TTL k' 'PING' \
	'ECHO "two words"' | rcli)"
want='OK
v

-1
1
50
PONG
two words'
expect_eq "a session through stdin (raw)" "$want" "$got"

cli_stop
cli_pass
