# shellcheck shell=bash
# shellcheck disable=SC2034 # KVSD_BUILD and KVSD_ROOT are used by the scripts that source this.
# Helpers shared by scripts/setup.sh, scripts/run.sh and scripts/test.sh: messages, timing,
# and an idempotent "configure this build directory with these options" step.
# Sourced, never run. Everything here is safe to call any number of times.

KVSD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The main build directory (relative to the repo root); the sanitizer builds sit beside it.
KVSD_BUILD="${KVSD_BUILD_DIR:-build}"

kvsd_say() {
	printf '==> %s\n' "$*"
}

kvsd_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# kvsd_now: seconds since the epoch with millisecond precision (for phase timing).
kvsd_now() {
	date +%s.%N | cut -c1-14
}

# kvsd_elapsed START: seconds since START, one decimal.
kvsd_elapsed() {
	awk -v a="$1" -v b="$(kvsd_now)" 'BEGIN { printf "%.1f", b - a }'
}

# kvsd_meson_opts_differ DIR -Dk=v...: exit 0 when some wanted option differs from what DIR
# holds (or DIR cannot be introspected), 1 when all of them already have the wanted value.
kvsd_meson_opts_differ() {
	local dir="$1"
	shift
	local json
	json="$(meson introspect "$dir" --buildoptions 2>/dev/null)" || return 0
	printf '%s' "$json" | python3 -c '
import json, sys
have = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for arg in sys.argv[1:]:
    k, _, v = arg[2:].partition("=")
    cur = have.get(k)
    if isinstance(cur, bool):
        cur = "true" if cur else "false"
    elif isinstance(cur, list):
        cur = ",".join(cur)
    if str(cur) != v:
        sys.exit(0)
sys.exit(1)
' "$@"
}

# kvsd_configure DIR -Dk=v...: make DIR a configured Meson build directory with these options,
# doing as little as possible: `meson setup` when DIR is new, `meson setup --reconfigure` when
# it is stale (e.g. an earlier set-up failed, or another Meson version made it), `meson
# configure` when only option values differ, nothing otherwise. A directory without Meson state,
# or one that neither --reconfigure nor --wipe can repair, is removed and set up afresh.
kvsd_configure() {
	local dir="$1"
	shift
	cd "$KVSD_ROOT" || return 1
	if [ ! -f "$dir/meson-private/coredata.dat" ]; then
		# No Meson state: whatever is there (a half-made directory) cannot be reused.
		kvsd_say "meson setup $dir $*"
		rm -rf -- "$dir"
		meson setup "$dir" "$@"
		return
	fi
	if [ ! -f "$dir/build.ninja" ] || ! meson introspect "$dir" --buildoptions >/dev/null 2>&1; then
		kvsd_say "meson setup --reconfigure $dir $*"
		meson setup --reconfigure "$dir" "$@" && return
		kvsd_say "meson setup --wipe $dir $*"
		meson setup --wipe "$dir" "$@" && return
		rm -rf -- "$dir"
		meson setup "$dir" "$@"
		return
	fi
	if kvsd_meson_opts_differ "$dir" "$@"; then
		kvsd_say "meson configure $dir $*"
		meson configure "$dir" "$@"
	fi
}
