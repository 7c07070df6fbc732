#!/usr/bin/env bash
# redis-cli -3 (RESP3): redis-cli sends HELLO 3 first and prints maps, nulls and arrays the way
# it does for Redis 7.0. The HELLO map's server name, version and client id are masked.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_start

mask_hello() {
	sed -E -e 's/^(1# "server" => )".*"$/\1"<server>"/' \
		-e 's/^(2# "version" => )".*"$/\1"<version>"/' \
		-e 's/^(4# "id" => \(integer\) )[0-9]+$/\1<id>/' \
		-e 's/^( 2\) )".*"$/\1"<server>"/' \
		-e 's/^( 4\) )".*"$/\1"<version>"/' \
		-e 's/^( 8\) \(integer\) )[0-9]+$/\1<id>/'
}

hello3='1# "server" => "<server>"
2# "version" => "<version>"
3# "proto" => (integer) 3
4# "id" => (integer) <id>
5# "mode" => "standalone"
6# "role" => "master"
7# "modules" => (empty array)'

got="$(rcli -3 --no-raw HELLO 3 </dev/null | mask_hello)"
expect_eq "HELLO 3 map (redis-cli -3 HELLO 3)" "$hello3" "$got"
expect_out "GET missing is (nil)" "(nil)" -3 --no-raw GET missing
expect_out "CONFIG GET is a map" "1# \"port\" => \"$PORT\"" -3 --no-raw CONFIG GET port
expect_out "CONFIG GET of nothing is an empty map" "(empty hash)" -3 --no-raw CONFIG GET nosuchparam
expect_out "CONFIG GET of nothing, RESP2" "(empty array)" --no-raw CONFIG GET nosuchparam

# One connection, several commands from stdin: HELLO 3, then back to RESP2 with HELLO 2.
got="$(printf '%s\n' 'HELLO 3' 'GET missing' 'SET f 1' 'INCRBYFLOAT f 0.5' 'MGET f missing' \
	'HELLO 2' 'EXISTS f' 'GET missing' | rcli -3 --no-raw | mask_hello)"
want="$hello3
(nil)
OK
\"1.5\"
1) \"1.5\"
2) (nil)
 1) \"server\"
 2) \"<server>\"
 3) \"version\"
 4) \"<version>\"
 5) \"proto\"
 6) (integer) 2
 7) \"id\"
 8) (integer) <id>
 9) \"mode\"
10) \"standalone\"
11) \"role\"
12) \"master\"
13) \"modules\"
14) (empty array)
(integer) 1
(nil)"
expect_eq "RESP3 session through stdin (redis-cli -3)" "$want" "$got"

cli_stop
cli_pass
