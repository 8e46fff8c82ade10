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
# (default 5), THREADS (tracegrep -j, default: every CPU, as rg uses), BASE (another build's
# cli/tracegrep, e.g. of the starting commit: its --find --error runs in the same rounds, A/B).
#
# The corpus is bench/gen_corpus --format mixed (pipe and JSON lines, stack traces), one seed per
# file. The page cache is warmed first; then RUNS rounds run every tool once each, in turn, after
# a warm-up round (so a change in machine load affects them alike), and the median and best wall
# times, the median CPU time (user + sys) and the largest peak RSS are printed, with tracegrep's
# median over rg's and the load average. The tools do not do the same work: rg counts lines
# holding a literal (the floor rows: every line, or four literals); tracegrep finds the transactions
# with a failed record (an error may be a status >= 500 or a span status, not only the word ERROR;
# cli/find_pre.c), summarises those that may be listed and lists them.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-tracegrep-bench}
files=${FILES:-8}
lines=${LINES:-520000}
runs=${RUNS:-5}
threads=${THREADS:-$(nproc)}
base=${BASE:-}
gen=$build/bench/gen_corpus
tg=$build/cli/tracegrep
time=/usr/bin/time

for x in "$gen" "$tg" $base; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build bench/gen_corpus cli/tracegrep" >&2; exit 2; }
done
for x in rg grep "$time"; do
	command -v "$x" >/dev/null || { echo "missing $x (Debian: ripgrep, grep, time)" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
gen_mixed_corpus "$gen" "$dir" "$files" "$lines"
set -- "$dir"/app-*.log
bytes=$(cat "$@" | wc -c)
cat "$@" > /dev/null # warm the page cache

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
if [ -n "$base" ]; then
	tool "BASE --find --error" "$base" -j "$threads" --find --error --color=never
	tool "BASE --find --error --json (all)" "$base" -j "$threads" --find --error --json --limit 0
fi
tool "rg -c ERROR" rg -c ERROR
rg_tool=$ntools
tool "grep -c ERROR" grep -c ERROR
# Floors: what only looking at every line costs (the error rule needs each record's status value),
# and rg asked for the failure words as literals (not the rule: it misses err, critical, a span's
# error status, a status written otherwise), each already above 1.5x rg -c ERROR on this corpus.
tool "floor: wc -l (every newline)" wc -l
tool "floor: rg -c ^ (every line)" rg -c ^
tool "floor: rg -c ERROR|FATAL|status=5|\"status\":5" rg -c -e ERROR -e FATAL -e status=5 -e '"status":5'

now() { date +%s%N; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
k=0
while [ "$k" -le "$runs" ]; do
	j=1
	while [ "$j" -le "$ntools" ]; do
		cmd=""
		eval "cmd=\$cmd_$j"
		# wall ms (from the clock: time(1)'s is in 10 ms steps), user s, sys s, peak RSS KiB
		s=$(now)
		# shellcheck disable=SC2086 # the command line is split on purpose; the paths hold no blanks
		"$time" -f '%U %S %M' -o "$dir/find-time.out" $cmd "$@" > "$dir/find-out.$j" 2>/dev/null || true
		e=$(now)
		[ "$k" -eq 0 ] || echo "$(((e - s) / 1000)) $(tail -1 "$dir/find-time.out")" >> "$dir/find-times.$j"
		j=$((j + 1))
	done
	k=$((k + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "corpus: $files files, $bytes bytes in $dir; $runs interleaved runs; $(nproc) CPUs; tracegrep -j $threads"
echo "load average before: $load0, after: $load1"
printf '%-40s %10s %10s %10s %8s %8s %10s\n' "tool" "median ms" "best ms" "CPU ms" "RSS MB" "GB/s" "out lines"
j=1
while [ "$j" -le "$ntools" ]; do
	name=""
	eval "name=\$name_$j"
	med=$(awk '{print $1 / 1000}' "$dir/find-times.$j" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	best=$(awk '{print $1 / 1000}' "$dir/find-times.$j" | sort -n | head -1)
	cpu=$(awk '{print ($2 + $3) * 1000}' "$dir/find-times.$j" | sort -n |
		awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	rss=$(awk 'BEGIN {m = 0} $4 > m {m = $4} END {print m / 1024}' "$dir/find-times.$j")
	eval "med_$j=$med"
	printf '%-40s %10.0f %10.0f %10.0f %8.1f %8.2f %10d\n' "$name" "$med" "$best" "$cpu" "$rss" \
		"$(echo "$bytes / ($med + 0.001) / 1000000" | bc -l)" "$(wc -l < "$dir/find-out.$j")"
	j=$((j + 1))
done
med_find=0 med_rg=0
eval "med_find=\$med_1 med_rg=\$med_$rg_tool"
printf 'tracegrep --find --error / rg -c ERROR (medians): %.2fx (target <= 1.5x)\n' \
	"$(echo "$med_find / ($med_rg + 0.001)" | bc -l)"
