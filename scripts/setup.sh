#!/usr/bin/env bash
# Set up a Debian 12 machine for kvsd and build it into build/.
#
# 1. Installs the Debian packages kvsd needs to build and test that are missing (apt-get, and
#    apt-get update first, only when something is missing; as root directly, else via sudo).
# 2. Installs the client libraries the client-library tests (tests/clients/) drive: redis-py
#    (Debian's python3-redis, for /usr/bin/python3) in step 1, and node-redis, ioredis and the
#    script-based libraries (redlock, rate-limiter-flexible, rate-limit-redis, bee-queue) with
#    `npm ci` into tests/clients/node/node_modules, only when that is missing or the lock file
#    changed (Node.js and npm must already be on PATH; Debian's nodejs/npm are not used).
# 3. Stops and disables the redis-server service Debian's package starts on port 6379 (the
#    tests run their own redis-server on free ports; 6379 is kvsd's).
# 4. Configures build/ (release, warnings are errors) when needed and builds it.
#
# Idempotent: a second run installs nothing, reconfigures nothing and rebuilds only what changed.
# Usage: scripts/setup.sh [--no-build]    (KVSD_BUILD_DIR=dir builds there instead of build/)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
for arg in "$@"; do
	case "$arg" in
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) kvsd_die "setup.sh: unknown option '$arg' (try --help)" ;;
	esac
done

# Packages: toolchain and build system; libraries (libevent, jemalloc, liburcu; hiredis,
# Criterion for tests; Concurrency Kit for the peer benchmarks; Lua 5.1 for scripting);
# redis-server/redis-tools for the differential and redis-cli tests; clang + compiler-rt for
# libFuzzer; python3, nc, ps, taskset (util-linux) for tests and benchmarks; gnuplot for
# benchmark plots; nutcracker (twemproxy) for the twemproxy tests and bench/scaleout.py;
# python3-redis (redis-py) for the client-library tests; gdb, whose thread
# stacks the tests print when a kvsd they started does not exit after SIGTERM (a hang is then
# diagnosable from the CI log).
packages=(
	build-essential meson ninja-build pkg-config
	libevent-dev libjemalloc-dev liburcu-dev libhiredis-dev libcriterion-dev libck-dev liblzf-dev
	liburing-dev
	liblua5.1-0-dev
	redis-server redis-tools nutcracker
	clang libclang-rt-14-dev
	python3 netcat-openbsd procps util-linux gnuplot-nox python3-redis gdb
	liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
)

missing=()
for p in "${packages[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
	[ "$status" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		kvsd_die "missing packages (${missing[*]}) and not root and no sudo: install them and re-run"
	fi
	kvsd_say "installing missing packages: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# node-redis, ioredis and the script-based libraries for tests/clients/node, pinned by its package-lock.json. `npm ci` runs
# only when node_modules is missing or was installed from another lock (the stamp file holds
# the lock's checksum), so a second run costs one sha256sum.
install_node_clients() {
	local dir="$KVSD_ROOT/tests/clients/node"
	local stamp="$dir/node_modules/.kvsd-lock.sha256"
	local want
	want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
	[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || return 0
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		kvsd_die "node and npm not found: install Node.js >= 18 with its npm (not Debian's nodejs/npm packages) and re-run"
	fi
	kvsd_say "npm ci in tests/clients/node (node-redis, ioredis, redlock, rate limiters, bee-queue)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	printf '%s\n' "$want" >"$stamp"
}
install_node_clients

# Debian's redis-server package starts a service on 6379. Stop it, quietly, never failing.
stop_packaged_redis() {
	local sudo=()
	[ "$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null 2>&1 || sudo=(sudo -n)
	if [ -d /run/systemd/system ]; then
		if systemctl is-enabled --quiet redis-server 2>/dev/null ||
			systemctl is-active --quiet redis-server 2>/dev/null; then
			kvsd_say "disabling the redis-server service (port 6379)"
			"${sudo[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
		fi
		return 0
	fi
	local pidfile=/run/redis/redis-server.pid pid=""
	[ -r "$pidfile" ] && pid="$(cat "$pidfile" 2>/dev/null || true)"
	if service redis-server status >/dev/null 2>&1 ||
		{ [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }; then
		kvsd_say "stopping the redis-server service (port 6379)"
		"${sudo[@]}" service redis-server stop >/dev/null 2>&1 ||
			{ [ -n "$pid" ] && "${sudo[@]}" kill "$pid" >/dev/null 2>&1; } || true
	fi
	return 0
}
stop_packaged_redis || true

[ "$build" -eq 1 ] || exit 0

kvsd_configure "$KVSD_BUILD" -Dbuildtype=release -Dwerror=true
kvsd_say "ninja -C $KVSD_BUILD"
ninja -C "$KVSD_BUILD"
