#!/bin/sh
# bench_daemon_parse.sh - issue 16 item 3: clewd end to end (stdin -> parse -> chunk -> null,
# and -> archive) next to its own parser alone (bench_parse on the same file), in one run, on
# two corpus shapes: gen_corpus's (pipe and JSON) and gen_rare.py's (rare IDs, 64 transactions
# interleaved, 16-hex pipe roots, 32-hex JSON traces).
#
# usage: bench/bench_daemon_parse.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd, bench/gen_corpus and bench/bench_parse
#              (default build/release)
#   WORK_DIR   where the corpora are generated once and kept (default /tmp/clew-daemon-bench,
#              bench_daemon.sh's: the gen_corpus files are the same)
# Environment: LINES per corpus (2000000), RUNS (3), SHAPES ("gen rare"),
#   BASE=DIR   a second release build (the starting commit): every case runs on both,
#              alternated run by run (base, new, base, new, ...), so load elsewhere on the
#              machine spoils one run of each rather than all runs of one.
#
# The figure is records per CPU-second (user + system, GNU time), the least of RUNS runs:
# what the issue's targets are in. "parse only" is bench_parse's parse stage over the same
# file held in memory (line split + fmt_pipe_parse / fmt_json_parse into one record), its
# records per CPU-second; "% parse" is the daemon's figure over it (the target: >= 50 %
# for -> null). The archive rows write zstd segments with an fdatasync per chunk (no
# summaries: bench_daemon.sh has that row).
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-daemon-bench}
lines=${LINES:-2000000}
runs=${RUNS:-3}
shapes=${SHAPES:-gen rare}
here=$(dirname "$0")
builds=$build
[ -n "${BASE:-}" ] && builds="$BASE $build"
for b in $builds; do
	for x in collector/clewd bench/bench_parse bench/gen_corpus; do
		[ -x "$b/$x" ] || {
			echo "missing $b/$x: meson compile -C $b collector/clewd bench/bench_parse bench/gen_corpus" >&2
			exit 2
		}
	done
done
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
mkdir -p "$dir"

# corpus SHAPE FMT - the corpus file's path, generated when missing or of another size
corpus() {
	if [ "$1" = gen ]; then f=$dir/$2.log; else f=$dir/$1-$2.log; fi
	if [ ! -s "$f" ] || [ "$(cat "$f.lines" 2>/dev/null)" != "$lines" ]; then
		echo "generating $f ($lines records)" >&2
		if [ "$1" = gen ]; then
			"$build/bench/gen_corpus" --format "$2" --lines "$lines" >"$f"
		else
			python3 "$here/gen_rare.py" "$2" "$lines" 1 >"$f"
		fi
		echo "$lines" >"$f.lines"
	fi
	echo "$f"
}

# run TAG CMD... - one run of CMD (stdin from $input); keep the least CPU-seconds in $dir/TAG
run() {
	tag=$1
	shift
	rm -rf "$dir/archive"
	/usr/bin/time -f '%U %S %M' -o "$dir/time.out" "$@" <"$input" >/dev/null 2>"$dir/err.log" ||
		{ cat "$dir/err.log" >&2; exit 1; }
	awk '{ printf "%.2f %d\n", $1 + $2, $3 }' "$dir/time.out" >"$dir/new.out"
	if [ ! -s "$dir/$tag" ] || awk 'NR == FNR { a = $1; next } { exit !(a < $1) }' "$dir/new.out" "$dir/$tag"; then
		cp "$dir/new.out" "$dir/$tag"
	fi
}

# parse_only BUILD - bench_parse's parse stage on $input: records per CPU-second
# (records/s x cpu MB/s / MB/s of its fastest run)
parse_only() {
	"$1/bench/bench_parse" --repeat "$runs" "$input" |
		awk '$2 == "parse" && $3 > 0 { printf "%.0f\n", $4 * $7 / $3; found = 1 } END { exit !found }'
}

row() { # WHAT BUILD CPU_RSS_FILE PARSE_ONLY
	awk -v what="$1" -v b="$2" -v n="$lines" -v po="$4" '{
		r = $1 > 0 ? n / $1 : 0
		printf "%-16s %-14s %7.2f CPU-s %8.0f k rec/CPU-s %5.0f %% of parse %7.1f MB RSS\n",
			what, b, $1, r / 1000, (po > 0 ? 100 * r / po : 0), $2 / 1024 }' "$3"
}

echo "clewd end to end beside parse only, $lines records per corpus, least CPU of $runs runs, $(nproc) cores"
for shape in $shapes; do
	for fmt in pipe json; do
		input=$(corpus "$shape" "$fmt")
		bytes=$(stat -c %s "$input")
		cat "$input" >/dev/null # warm the page cache
		echo "== $shape $fmt: $(awk -v b="$bytes" -v n="$lines" 'BEGIN { printf "%.0f MB, %.0f B a line", b / 1e6, b / n }')"
		rm -f "$dir"/cpu.*
		i=0
		while [ "$i" -lt "$runs" ]; do
			k=0
			for b in $builds; do
				run "cpu.null.$k" "$b/collector/clewd" -i stdin -p "$fmt" -o null
				run "cpu.arch.$k" "$b/collector/clewd" -i stdin -p "$fmt" -o "archive:$dir/archive"
				k=$((k + 1))
			done
			i=$((i + 1))
		done
		k=0
		for b in $builds; do
			po=$(parse_only "$b")
			printf '%-16s %-14s %17.0f k rec/CPU-s\n' "parse only" "$b" "$((po / 1000))"
			row "clewd -> null" "$b" "$dir/cpu.null.$k" "$po"
			row "clewd -> archive" "$b" "$dir/cpu.arch.$k" "$po"
			k=$((k + 1))
		done
	done
done
