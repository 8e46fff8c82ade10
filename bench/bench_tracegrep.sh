#!/bin/sh
# bench_tracegrep.sh - tracegrep's wall time for one ID on a >= 1 GB multi-file
# corpus, next to `rg -F ID` and `grep -F ID` on the same files, in the same run;
# and on the archive of the same data (target: <= 50 ms for one ID).
#
# usage: bench/bench_tracegrep.sh [BUILD_DIR] [CORPUS_DIR]
#   BUILD_DIR   a release build with bench/gen_corpus, bench/archive_ingest and cli/tracegrep
#               (default build/release)
#   CORPUS_DIR  where the corpus is generated once and kept (default /tmp/clew-tracegrep-bench)
# Environment: FILES (default 8), LINES per file (default 520000: ~1.1 GB in all), RUNS (default 7).
#
# The corpus is bench/gen_corpus --format mixed (pipe and JSON lines, stack traces), one seed
# per file. The ID is the transaction ID of a pipe record in the middle of the middle file;
# SPAN is that record's first span ID (a span query reads the files twice: once to find the
# span's transaction, once for the whole transaction).
# The page cache is warmed by reading every file first; then RUNS rounds run every tool once
# each, in turn, after one warm-up round, and the median and the best wall time of each are
# printed. Every tool writes its matches to a file in CORPUS_DIR (not /dev/null, where grep
# stops at the first match).
# The archive: the files are ingested once into CORPUS_DIR/archive by bench/archive_ingest
# (what clewd's archive output would hold: the records parsed, in chunks of up to 16384
# records, 64 MiB segments, zstd -1) and kept until the corpus changes. `tracegrep --archive
# DIR ID` reads no file: the segment indexes say which chunks hold the ID. A span ID is not in
# the index (trace IDs only), so `--archive DIR SPAN` reads every chunk once: it is timed too,
# but has no target.
# bench_tgscan.sh is the one for issue 16: two corpus shapes (rare IDs too), CPU and peak RSS.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-tracegrep-bench}
files=${FILES:-8}
lines=${LINES:-520000}
runs=${RUNS:-7}
gen=$build/bench/gen_corpus
tg=$build/cli/tracegrep
ingest=$build/bench/archive_ingest

for x in "$gen" "$tg" "$ingest"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build bench/gen_corpus bench/archive_ingest cli/tracegrep" >&2; exit 2; }
done
for x in rg grep; do
	command -v "$x" >/dev/null || { echo "missing $x (Debian: ripgrep, grep)" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
gen_mixed_corpus "$gen" "$dir" "$files" "$lines"
set -- "$dir"/app-*.log
bytes=$(cat "$@" | wc -c)

# The archive of the same files, made once (the stamp names what it was made from).
arch=$dir/archive
stamp="$files files, $lines lines"
if [ ! -d "$arch" ] || [ "$(cat "$dir/archive.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "ingesting the corpus into $arch" >&2
	rm -rf "$arch" "$dir/archive.stamp"
	s=$(date +%s%N)
	"$ingest" "$arch" "$@"
	e=$(date +%s%N)
	echo "ingested in $(((e - s) / 1000000)) ms" >&2
	echo "$stamp" > "$dir/archive.stamp"
fi
arch_bytes=$(cat "$arch"/* | wc -c)

mid=$dir/app-$((files / 2)).log
ids=$(awk -v n=$((lines / 2)) 'NR > n && $3 ~ /^[0-9a-f]+:[0-9a-f]+[:|]/ { split($3, a, /[:|]/); print a[1], a[2]; exit }' "$mid")
id=${ids% *}
span=${ids#* }
if [ -z "$id" ] || [ -z "$span" ]; then
	echo "no ID found in $mid" >&2
	exit 2
fi

cat "$@" "$arch"/* > /dev/null # warm the page cache

now() { date +%s%N; }

# Each tool is a numbered command line; rounds interleave the tools, so a change in machine
# load (the CPUs may be shared) affects them alike. Times go to $dir/times.N (microseconds).
# tool NAME CMD...: run with the corpus files as arguments; atool: without (the archive).
ntools=0
tool() {
	ntools=$((ntools + 1))
	eval "name_$ntools=\$1"
	shift
	eval "cmd_$ntools=\$*"
	eval "files_$ntools=1"
	: > "$dir/times.$ntools"
}
atool() {
	tool "$@"
	eval "files_$ntools=0"
}

tool "tracegrep --lines" "$tg" --lines "$id"
tool "tracegrep (waterfall)" "$tg" --color=never "$id"
tool "tracegrep --json" "$tg" --json "$id"
tool "tracegrep --lines SPAN" "$tg" --lines "$span"
tool "rg -F" rg -F "$id"
tool "grep -F" grep -F "$id"
atool "archive: tracegrep --lines" "$tg" --archive "$arch" --lines "$id"
atool "archive: tracegrep --json" "$tg" --archive "$arch" --json "$id"
atool "archive: tracegrep --lines SPAN" "$tg" --archive "$arch" --lines "$span"

k=0
while [ "$k" -le "$runs" ]; do
	j=1
	while [ "$j" -le "$ntools" ]; do
		cmd=""
		eval "cmd=\$cmd_$j"
		withfiles=1
		eval "withfiles=\$files_$j"
		s=$(now)
		# shellcheck disable=SC2086 # the command line is split on purpose; the paths hold no blanks
		if [ "$withfiles" -eq 1 ]; then
			$cmd "$@" > "$dir/out.$j" || true # 1 (not found) is not a failure here
		else
			$cmd > "$dir/out.$j" || true
		fi
		e=$(now)
		[ "$k" -eq 0 ] || echo $(((e - s) / 1000)) >> "$dir/times.$j" # round 0 warms up
		j=$((j + 1))
	done
	k=$((k + 1))
done

echo "corpus: $files files, $bytes bytes in $dir; ID $id (span $span); $runs interleaved runs; $(nproc) CPUs"
printf '%-28s %10s %10s %8s %10s\n' "tool" "median ms" "best ms" "GB/s" "out lines"
j=1
while [ "$j" -le "$ntools" ]; do
	name=""
	eval "name=\$name_$j"
	sorted=$(sort -n "$dir/times.$j")
	best=$(printf '%s\n' "$sorted" | head -1)
	median=$(printf '%s\n' "$sorted" | sed -n "$(((runs + 1) / 2))p")
	eval "median_$j=$median"
	printf '%-28s %10.1f %10.1f %8.2f %10s\n' "$name" "$(echo "$median / 1000" | bc -l)" \
		"$(echo "$best / 1000" | bc -l)" "$(echo "$bytes / $median / 1000" | bc -l)" "$(wc -l < "$dir/out.$j")"
	j=$((j + 1))
done
# shellcheck disable=SC2154 # median_N are set by eval above
printf 'tracegrep --lines / rg -F: %.2fx   tracegrep --lines / grep -F: %.2fx (medians)\n' \
	"$(echo "$median_1 / $median_5" | bc -l)" "$(echo "$median_1 / $median_6" | bc -l)"
# shellcheck disable=SC2154
printf 'archive (%s bytes): tracegrep --archive --lines ID: %.1f ms median (target <= 50 ms): %s\n' \
	"$arch_bytes" "$(echo "$median_7 / 1000" | bc -l)" "$([ "$median_7" -le 50000 ] && echo met || echo MISSED)"
"$tg" --stats --archive "$arch" -q "$id" || true
echo "--lines: $(wc -l < "$dir/out.1") lines from the files, $(wc -l < "$dir/out.7") from the archive (records written again by the formats library: same records, not the same bytes)"
