#!/bin/sh
# bench_many_files.sh - clewd tailing many files (issue 16, item 7): FILES files of LINES records
# under one glob against one file of the same total size, both read by `clewd --oneshot` (tail ->
# parse -> null) in the same run; prints records delivered, wall, CPU-s per record, the ratio
# many/one, peak RSS, and the load average before the run.
#
# usage: bench/bench_many_files.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd and bench/gen_corpus (default build/release)
#   WORK_DIR   where the corpus is generated once and kept (default /tmp/clew-many-files-bench)
# Environment: FILES (default 10000), LINES per file (1000), RUNS (3; best wall kept),
#   MAX_OPEN (max_open_files; default 1024, clewd's own default).
#
# Targets: every record delivered; peak RSS <= 64 MiB; CPU per record within 1.5x of one file.
# The one file is the many files concatenated (split(1) cuts it), so both read the same bytes.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-many-files-bench}
files=${FILES:-10000}
lines=${LINES:-1000}
runs=${RUNS:-3}
max_open=${MAX_OPEN:-1024}
clewd=$build/collector/clewd
gen=$build/bench/gen_corpus
for x in "$clewd" "$gen"; do
	[ -x "$x" ] || {
		echo "missing $x: meson compile -C $build collector/clewd bench/gen_corpus" >&2
		exit 2
	}
done
[ -x /usr/bin/time ] || {
	echo "needs GNU time: apt-get install -y time" >&2
	exit 2
}
total=$((files * lines))
mkdir -p "$dir"
one=$dir/one-$files-$lines.log
many=$dir/many-$files-$lines
if [ ! -s "$one" ]; then
	echo "generating $one ($total records)" >&2
	"$gen" --format pipe --lines "$total" >"$one.tmp"
	mv "$one.tmp" "$one"
fi
if [ "$(find "$many" -name 'app-*.log' 2>/dev/null | wc -l)" -ne "$files" ]; then
	echo "splitting it into $files files under $many" >&2
	rm -rf "$many"
	mkdir -p "$many"
	split -l "$lines" -a 6 -d --additional-suffix=.log "$one" "$many/app-"
fi
cat "$one" >/dev/null
find "$many" -name 'app-*.log' -exec cat {} + >/dev/null # warm the page cache

# run PATH_OR_GLOB - clewd --oneshot over it, RUNS times; prints "wall cpu rss_kb records" of the fastest
run() {
	best=""
	i=0
	while [ "$i" -lt "$runs" ]; do
		rm -rf "$dir/state"
		printf 'state_dir: %s\ninputs:\n  - { type: tail, path: "%s", max_open_files: %s }\noutputs:\n  - { type: "null" }\n' \
			"$dir/state" "$1" "$max_open" >"$dir/clewd.yaml"
		t0=$(date +%s%N)
		/usr/bin/time -f '%U %S %M' -o "$dir/time.out" "$clewd" --oneshot -c "$dir/clewd.yaml" \
			>/dev/null 2>"$dir/err.log" || {
			tail -5 "$dir/err.log" >&2
			exit 1
		}
		t1=$(date +%s%N)
		recs=$(sed -n 's/.*"message":"summary","records_in":"tail#1=\([0-9]*\)".*/\1/p' "$dir/err.log")
		line=$(awk -v ns=$((t1 - t0)) -v r="$recs" '{ printf "%.3f %.3f %d %d\n", ns / 1e9, $1 + $2, $3, r }' "$dir/time.out")
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x); split(b, y); exit !(x[1] < y[1]) }'; then
			best=$line
		fi
		i=$((i + 1))
	done
	echo "$best"
}

row() { # NAME "wall cpu rss records"
	echo "$2" | awk -v name="$1" '{
		printf "%-34s %10d rec %8.3f s %7.2f CPU-s %7.3f us/rec %9.0f k rec/CPU-s %6.1f MiB RSS\n",
			name, $4, $1, $2, ($4 > 0 ? $2 / $4 * 1e6 : 0), ($2 > 0 ? $4 / $2 / 1000 : 0), $3 / 1024 }'
}

echo "clewd $($clewd --version | cut -d' ' -f2), $files files x $lines records ($total), $(nproc) cores," \
	"max_open_files $max_open, best of $runs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
r_one=$(run "$one")
r_many=$(run "$many/app-*.log")
row "one file ($(du -m "$one" | cut -f1) MB)" "$r_one"
row "$files files under one glob" "$r_many"
echo "$r_one|$r_many" | awk -F'|' -v total="$total" '{
	split($1, a, " "); split($2, b, " ")
	printf "CPU per record, many/one: %.2fx (target <= 1.5x); wall many/one: %.2fx; peak RSS many: %.1f MiB (target <= 64)\n",
		(b[2] / b[4]) / (a[2] / a[4]), b[1] / a[1], b[3] / 1024
	if (a[4] != total || b[4] != total) printf "NOT ALL DELIVERED: one %d, many %d of %d\n", a[4], b[4], total
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
