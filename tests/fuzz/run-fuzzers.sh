#!/bin/sh
# run-fuzzers.sh — build kvsd's libFuzzer targets with clang in build-fuzz/ and run
# each for a bounded time.
#
# usage: tests/fuzz/run-fuzzers.sh [seconds-per-target] [target...]
#   seconds-per-target  default 30
#   target              default: every fuzz_* target meson defines (fuzz_config and
#                       fuzz_argv appear once server/config.c implements the loaders)
#   FUZZ_JOBS           targets fuzzed at once (default: the online CPUs)
#   FUZZ_BUILD_ONLY=1   build the targets and stop (scripts/test.sh builds them ahead)
#
# Each target starts from its seed corpus (tests/fuzz/corpus/<target>/, never
# written to) plus a scratch corpus in build-fuzz/fuzz-corpus/<target>/ that keeps
# what it learned between runs. A crash leaves build-fuzz/fuzz-artifacts/<target>-crash-*
# and makes the script exit 1; copy such a file into the seed corpus once fixed so
# the default `meson test` replays it forever.
set -eu

secs=${1:-30}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz

if [ ! -f "$build/build.ninja" ]; then
	# -fsanitize=fuzzer-no-link instruments the libraries too (coverage for the
	# server_dep targets); UBSan findings abort so libFuzzer records them.
	CC=clang meson setup "$build" "$root" \
		-Dfuzz=true \
		-Db_sanitize=address,undefined \
		-Db_lundef=false \
		-Dbuildtype=debugoptimized \
		-Dc_args='-g1 -fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'
fi

ninja -C "$build" build.ninja >/dev/null # reconfigure if meson files changed

if [ $# -gt 0 ]; then
	targets=$*
else
	# every fuzz target meson defined in this configuration
	targets=$(ninja -C "$build" -t targets all | sed -n 's|^tests/fuzz/\(fuzz_[a-z_]*\): c_LINKER.*|\1|p' |
		sort -u)
fi
[ -n "$targets" ] || { echo "no fuzz targets found in $build"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/fuzz-artifacts"
logs=$build/fuzz-logs
rm -rf "$logs"
mkdir -p "$logs"

# Every target runs for the same time, so FUZZ_JOBS lanes (default: one per
# online CPU) take the targets round-robin and run side by side; each target's
# output goes to its own log, printed in order once all have ended.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

run_target() {
	t=$1
	: >"$logs/$t.log"
	if [ ! -x "$build/tests/fuzz/$t" ]; then
		echo "=== $t: build failed (the build's output is above)" >>"$logs/$t.log"
		echo failed >"$logs/$t.status"
		return 0
	fi
	mkdir -p "$build/fuzz-corpus/$t"
	if ! "$build/tests/fuzz/$t" \
		-max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$t-" \
		"$build/fuzz-corpus/$t" "$root/tests/fuzz/corpus/$t" >>"$logs/$t.log" 2>&1; then
		echo "=== $t: FAILED (see $build/fuzz-artifacts/)" >>"$logs/$t.log"
		echo failed >"$logs/$t.status"
	fi
}

# the targets first, in one ninja run (parallel compiles; the lanes must not
# run ninja in the same directory at once); a target that fails to build is
# reported as failed below
# shellcheck disable=SC2086
buildfail=""
if ! ninja -C "$build" -k 0 $(for t in $targets; do printf 'tests/fuzz/%s ' "$t"; done); then
	echo "=== some fuzz targets did not build"
	buildfail=" (the build)" # a target left from an earlier build must not pass for this one
fi
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
	[ -z "$buildfail" ]
	exit
fi

lane=0
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for t in $targets; do
			[ $((i % jobs)) -eq "$lane" ] && run_target "$t"
			i=$((i + 1))
		done
	) &
	lane=$((lane + 1))
done
wait

failed=$buildfail
for t in $targets; do
	echo "=== $t (${secs}s)"
	cat "$logs/$t.log"
	[ -f "$logs/$t.status" ] && failed="$failed $t"
done

if [ -n "$failed" ]; then
	echo "fuzzing failed:$failed"
	exit 1
fi
echo "fuzzing passed: $(echo $targets | wc -w) targets, ${secs}s each, $jobs at a time"
