#!/usr/bin/env bash
# The kvmap-bench matrix recorded in docs/BENCHMARKS.md: kvsd's map vs liburcu's
# cds_lfht vs Concurrency Kit's ck_hs, for each key count, read percentage,
# distribution and thread count; medians of R runs (each run is one process that
# prefills and times every map in turn). Prints a markdown table.
#
# Usage: bench/kvmap-matrix.sh [--runs R] [--duration S] [--keys "1000000 10000000"]
#        [--mixes "90 50 100"] [--dists "uniform zipf"] [--threads "1 2"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${KVMAP_BENCH:-build/bench/kvmap-bench}"
runs=5 duration=2 keys="1000000 10000000" mixes="90 50 100" dists="uniform zipf" threads="1 2"
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs="$2" ;;
	--duration) duration="$2" ;;
	--keys) keys="$2" ;;
	--mixes) mixes="$2" ;;
	--dists) dists="$2" ;;
	--threads) threads="$2" ;;
	*) echo "usage: $0 [--runs R] [--duration S] [--keys LIST] [--mixes LIST] [--dists LIST] [--threads LIST]" >&2; exit 2 ;;
	esac
	shift 2
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| keys | read % | dist | threads | kvsd Mops/s | urcu Mops/s | ck Mops/s | kvsd/urcu | ck/urcu | B/entry kvsd / urcu / ck |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"
for k in $keys; do for r in $mixes; do for d in $dists; do for t in $threads; do
	: > "$tmp/runs"
	for i in $(seq "$runs"); do
		"$bin" --map kvsd,urcu,ck --threads "$t" --keys "$k" --read-pct "$r" --dist "$d" \
			--duration "$duration" --json "$tmp/r.json" > /dev/null
		python3 -c '
import json, sys
rows = {x["map"]: x for x in json.load(open(sys.argv[1]))}
print(" ".join(str(rows[m][f]) for m in ("kvsd", "urcu", "ck") for f in ("mops", "bytes_per_entry")))' "$tmp/r.json" >> "$tmp/runs"
	done
	col() { awk -v c="$1" '{ print $c }' "$tmp/runs" | median; }
	kv="$(col 1)" ur="$(col 3)" ck="$(col 5)"
	printf '| %s | %s | %s | %s | %.3f | %.3f | %.3f | %.2fx | %.2fx | %.0f / %.0f / %.0f |\n' \
		"$k" "$r" "$d" "$t" "$kv" "$ur" "$ck" \
		"$(awk -v a="$kv" -v b="$ur" 'BEGIN { print a / b }')" \
		"$(awk -v a="$ck" -v b="$ur" 'BEGIN { print a / b }')" "$(col 2)" "$(col 4)" "$(col 6)"
done; done; done; done
echo
echo "(medians of $runs runs, ${duration}s timed per map per run; $(nproc) CPUs; $bin)"
