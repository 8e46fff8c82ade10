#!/bin/sh
# bench_find.sh - tracegrep --find --error's wall time on >= 1 GB of raw log files, next to
# `rg -c ERROR` and `grep -c ERROR` on the same files, in the same run (issue 12 item 4:
# target <= 1.5x rg's time).
#
# usage: bench/bench_find.sh [BUILD_DIR] [CORPUS_DIR]
#   BUILD_DIR   a release build with bench/gen_corpus and cli/tracegrep (default build/release)
#   CORPUS_DIR  where the corpus is generated once and kept (default /tmp/clew-tracegrep-bench,
#               the corpus bench_tracegrep.sh makes: the same files serve both)
# Environment: FILES (default 8), LINES per file (default 520000: ~1.1 GB in all), RUNS
# (default 5), THREADS (tracegrep -j, default: every CPU, as rg uses).
#
# The corpus is bench/gen_corpus --format mixed (pipe and JSON lines, stack traces), one seed per
# file. The page cache is warmed first; then RUNS rounds run every tool once each, in turn, after
# a warm-up round (so a change in machine load affects them alike), and the median and best wall
# times are printed, with tracegrep's median over rg's. The tools do not do the same work: rg
# counts lines holding a literal; tracegrep parses every record, summarises every transaction
# (an error may be a status >= 500 or a span status, not only the word ERROR) and lists those
# that failed.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-tracegrep-bench}
files=${FILES:-8}
lines=${LINES:-520000}
runs=${RUNS:-5}
threads=${THREADS:-$(nproc)}
gen=$build/bench/gen_corpus
tg=$build/cli/tracegrep

for x in "$gen" "$tg"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build bench/gen_corpus cli/tracegrep" >&2; exit 2; }
done
for x in rg grep; do
	command -v "$x" >/dev/null || { echo "missing $x (Debian: ripgrep, grep)" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
gen_mixed_corpus "$gen" "$dir" "$files" "$lines"
set -- "$dir"/app-*.log
bytes=$(cat "$@" | wc -c)
cat "$@" > /dev/null # warm the page cache

now() { date +%s%N; }

ntools=0
tool() {
	ntools=$((ntools + 1))
	eval "name_$ntools=\$1"
	shift
	eval "cmd_$ntools=\$*"
	: > "$dir/find-times.$ntools"
}

tool "tracegrep --find --error" "$tg" -j "$threads" --find --error --color=never
tool "tracegrep --find --error --json (all)" "$tg" -j "$threads" --find --error --json --limit 0
tool "rg -c ERROR" rg -c ERROR
tool "grep -c ERROR" grep -c ERROR

k=0
while [ "$k" -le "$runs" ]; do
	j=1
	while [ "$j" -le "$ntools" ]; do
		cmd=""
		eval "cmd=\$cmd_$j"
		s=$(now)
		# shellcheck disable=SC2086 # the command line is split on purpose; the paths hold no blanks
		$cmd "$@" > "$dir/find-out.$j" 2>/dev/null || true
		e=$(now)
		[ "$k" -eq 0 ] || echo $(((e - s) / 1000)) >> "$dir/find-times.$j" # round 0 warms up
		j=$((j + 1))
	done
	k=$((k + 1))
done

echo "corpus: $files files, $bytes bytes in $dir; $runs interleaved runs; $(nproc) CPUs; tracegrep -j $threads"
printf '%-40s %10s %10s %8s %10s\n' "tool" "median ms" "best ms" "GB/s" "out lines"
j=1
while [ "$j" -le "$ntools" ]; do
	name=""
	eval "name=\$name_$j"
	sorted=$(sort -n "$dir/find-times.$j")
	n=$(echo "$sorted" | wc -l)
	med=$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")
	best=$(echo "$sorted" | head -1)
	eval "med_$j=$med"
	printf '%-40s %10d %10d %8.2f %10d\n' "$name" $((med / 1000)) $((best / 1000)) \
		"$(echo "$bytes / $med / 1000" | bc -l)" "$(wc -l < "$dir/find-out.$j")"
	j=$((j + 1))
done
med_find=0 med_rg=0
eval "med_find=\$med_1 med_rg=\$med_3"
printf 'tracegrep --find --error / rg -c ERROR (medians): %.2fx (target <= 1.5x)\n' \
	"$(echo "$med_find / $med_rg" | bc -l)"
