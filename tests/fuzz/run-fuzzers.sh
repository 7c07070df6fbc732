#!/bin/sh
# run-fuzzers.sh — build kvsd's libFuzzer targets with clang in build-fuzz/ and run
# each for a bounded time.
#
# usage: tests/fuzz/run-fuzzers.sh [seconds-per-target] [target...]
#   seconds-per-target  default 30
#   target              default: every fuzz_* target meson defines (fuzz_config and
#                       fuzz_argv appear once server/config.c implements the loaders)
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
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'
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
failed=""
for t in $targets; do
	echo "=== $t (${secs}s)"
	if ! ninja -C "$build" "tests/fuzz/$t"; then
		echo "=== $t: build failed"
		failed="$failed $t"
		continue
	fi
	mkdir -p "$build/fuzz-corpus/$t"
	if ! "$build/tests/fuzz/$t" \
		-max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$t-" \
		"$build/fuzz-corpus/$t" "$root/tests/fuzz/corpus/$t"; then
		echo "=== $t: FAILED (see $build/fuzz-artifacts/)"
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzzing failed:$failed"
	exit 1
fi
echo "fuzzing passed: $(echo $targets | wc -w) targets, ${secs}s each"
