#!/bin/sh
# bench_tgscan.sh - tracegrep's scan of raw files next to ripgrep, on two corpus shapes in one
# run (issue 16 item 1; issue 12 item 4's --find --error against rg -c ERROR).
#
# usage: bench/bench_tgscan.sh [BUILD_DIR] [CORPUS_DIR]
#   BUILD_DIR   a release build with bench/gen_corpus and cli/tracegrep (default build/release)
#   CORPUS_DIR  where the corpora are generated once and kept (default /tmp/clew-tgscan)
# Environment: RUNS (default 5), BENCH_LINES (records per file of the bench shape, default
# 1040000: ~1.1 GB in 4 files), RARE_LINES (records per file of the rare shape, default 1000000:
# ~1.06 GB in 4 files), HOT (every HOT-th record of the rare shape is the common ID's, default 200),
# BEFORE (another tracegrep binary, e.g. a build of the previous commit: timed in the same
# rounds as a third tool, A/B/C, and printed on a line of its own).
#
# Shapes, 4 files each:
#   bench  bench/gen_corpus --format mixed (pipe and JSON lines, stack traces), a seed per file
#   rare   bench/gen_rare.py (written apart from gen_corpus): 2 pipe files and 2 JSON files,
#          64 transactions interleaved over 8 services, 16-hex pipe roots, 32-hex JSON traces,
#          an ID on 15-30 lines; plus one common ID on every HOT-th line
# Queries (each against the same-run peer):
#   rare ID     tracegrep --lines ID FILES  vs  rg -F ID FILES
#   common ID   the same with an ID on many lines (bench/'s IDs are all rare too, so the rare
#               shape's HOT ID is the common one)
#   1 thread    the rare ID with -j 1 for both (what the second core buys each)
#   find        tracegrep --find --error FILES  vs  rg -c ERROR FILES (target 1.5x, issue 12)
# Every tool writes to a file (rg stops early when it writes to /dev/null). Rounds alternate the
# tools (A, B, A, B...) after one warm-up round, so a change of load (the CPUs are shared)
# touches both alike; each figure is the median of RUNS (wall, user + system CPU, peak RSS: see
# run()). The ratio is tracegrep / rg of the medians, same run.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-tgscan}
runs=${RUNS:-5}
blines=${BENCH_LINES:-1040000}
rlines=${RARE_LINES:-1000000}
hot=${HOT:-200}
gen=$build/bench/gen_corpus
rare=$(dirname "$0")/gen_rare.py
tg=$build/cli/tracegrep

for x in "$gen" "$tg"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build bench/gen_corpus cli/tracegrep" >&2; exit 2; }
done
for x in rg python3 /usr/bin/time; do
	command -v "$x" >/dev/null || { echo "missing $x (Debian: ripgrep, python3, time)" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
gen_mixed_corpus "$gen" "$dir/bench" 4 "$blines"
mkdir -p "$dir/rare"
for f in pipe-0:1 pipe-1:2 json-0:101 json-1:102; do
	name=${f%:*} seed=${f#*:} out=$dir/rare/${f%:*}.log
	if [ ! -s "$out" ] || [ "$(cat "$out.stamp" 2>/dev/null)" != "$rlines $hot" ]; then
		echo "generating $out ($rlines records)" >&2
		python3 "$rare" "${name%-*}" "$rlines" "$seed" "$hot" > "$out"
		echo "$rlines $hot" > "$out.stamp"
	fi
done

# IDs: bench's from the middle of its middle file (as bench_tracegrep.sh), rare's from the
# middle of a JSON file, the common one the rare shape's hot pipe ID.
bmid=$dir/bench/app-2.log
bid=$(awk -v n=$((blines / 2)) 'NR > n && $3 ~ /^[0-9a-f]+:[0-9a-f]+[:|]/ { split($3, a, /[:|]/); print a[1]; exit }' "$bmid")
rid=$(sed -n "$((rlines / 2 + 7))p" "$dir/rare/json-0.log" | sed 's/.*"trace":"\([0-9a-f]*\)".*/\1/')
hid=$(python3 "$rare" pipe 0 0 hot)

cat "$dir"/bench/*.log "$dir"/rare/*.log > /dev/null # warm the page cache

# case NAME TG-ARGS... -- RG-ARGS... FILES: one A/B pair, timed RUNS times after a warm-up.
ncase=0
case_() {
	ncase=$((ncase + 1))
	eval "cname_$ncase=\$1"
	shift
	eval "cargs_$ncase=\$*"
}
case_ "bench: rare ID" "$tg --lines $bid -- rg -F $bid -- $dir/bench/app-*.log"
case_ "rare: rare ID" "$tg --lines $rid -- rg -F $rid -- $dir/rare/*.log"
case_ "rare: common ID" "$tg --lines $hid -- rg -F $hid -- $dir/rare/*.log"
case_ "rare: rare ID, 1 thread" "$tg -j 1 --lines $rid -- rg -j 1 -F $rid -- $dir/rare/*.log"
case_ "bench: --find --error" "$tg --find --error --json --limit 1000000 -- rg -c ERROR -- $dir/bench/app-*.log"
case_ "rare: --find --error" "$tg --find --error --json --limit 1000000 -- rg -c ERROR -- $dir/rare/*.log"

# run TAG CMD...: one line "wall_s cpu_s maxrss_kb" appended to $dir/t.TAG. Wall and CPU
# (user + system, the tool's and its waited children's) come from wait4() in a Python parent at
# microsecond resolution (/usr/bin/time prints 10 ms); peak RSS from /usr/bin/time between them,
# whose own few hundred KiB cannot raise the tool's figure (a process forked from Python would
# start its high-water mark at Python's size).
run() {
	_tag=$1
	shift
	python3 -c '
import os, sys, time
out, rss, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.execv("/usr/bin/time", ["/usr/bin/time", "-f", "%M", "-o", rss] + cmd)
_, _, ru = os.wait4(pid, 0)
wall = time.monotonic() - t
print("%.4f %.4f %s" % (wall, ru.ru_utime + ru.ru_stime, open(rss).read().split()[-1]))
' "$dir/out.$_tag" "$dir/one.rss" "$@" >> "$dir/t.$_tag"
}

c=1
while [ "$c" -le "$ncase" ]; do
	args=""
	eval "args=\$cargs_$c"
	a=${args%% -- *}
	rest=${args#* -- }
	b=${rest%% -- *}
	files=${rest#* -- }
	: > "$dir/t.$c.a"
	: > "$dir/t.$c.b"
	: > "$dir/t.$c.c"
	k=0
	while [ "$k" -le "$runs" ]; do
		# shellcheck disable=SC2086 # split on purpose: the paths hold no blanks
		run "$c.a" $a $files
		# shellcheck disable=SC2086
		run "$c.b" $b $files
		if [ -n "${BEFORE:-}" ]; then
			# shellcheck disable=SC2086
			run "$c.c" "$BEFORE" ${a#"$tg"} $files
		fi
		if [ "$k" -eq 0 ]; then # round 0 warms up
			: > "$dir/t.$c.a"
			: > "$dir/t.$c.b"
			: > "$dir/t.$c.c"
		fi
		k=$((k + 1))
	done
	c=$((c + 1))
done

# median FILE COLUMN: the median of one column of a t.TAG file
median() {
	awk -v f="$2" '{ print $f }' "$1" | sort -g | sed -n "$(((runs + 1) / 2))p"
}

echo "bench: $(cat "$dir"/bench/app-*.log | wc -c) bytes in 4 files; rare: $(cat "$dir"/rare/*.log | wc -c) bytes in 4 files"
echo "IDs: bench $bid ($(rg -c -F "$bid" "$dir"/bench/app-*.log | awk -F: '{ s += $2 } END { print s + 0 }') lines), rare $rid ($(rg -c -F "$rid" "$dir"/rare/*.log | awk -F: '{ s += $2 } END { print s + 0 }') lines), common $hid ($(rg -c -F "$hid" "$dir"/rare/*.log | awk -F: '{ s += $2 } END { print s + 0 }') lines)"
echo "$runs alternated runs each, medians; $(nproc) CPUs; $(rg --version | sed -n 1p); load: $(uptime | sed 's/.*load/load/')"
printf '%-24s %9s %9s %9s | %9s %9s %9s | %6s %6s\n' "case" "tg wall" "tg CPU" "tg RSS" "rg wall" "rg CPU" "rg RSS" "wall x" "CPU x"
c=1
while [ "$c" -le "$ncase" ]; do
	name=""
	eval "name=\$cname_$c"
	aw=$(median "$dir/t.$c.a" 1) ac=$(median "$dir/t.$c.a" 2) ar=$(median "$dir/t.$c.a" 3)
	bw=$(median "$dir/t.$c.b" 1) bc=$(median "$dir/t.$c.b" 2) br=$(median "$dir/t.$c.b" 3)
	printf '%-24s %8.3fs %8.3fs %7dMi | %8.3fs %8.3fs %7dMi | %6.2f %6.2f\n' "$name" "$aw" "$ac" $((ar / 1024)) \
		"$bw" "$bc" $((br / 1024)) "$(echo "$aw / $bw" | bc -l)" "$(echo "$ac / $bc" | bc -l)"
	if [ -s "$dir/t.$c.c" ]; then
		cw=$(median "$dir/t.$c.c" 1) cc=$(median "$dir/t.$c.c" 2) cr=$(median "$dir/t.$c.c" 3)
		printf '%-24s %8.3fs %8.3fs %7dMi | %31s | %6.2f %6.2f\n' "  (BEFORE)" "$cw" "$cc" $((cr / 1024)) \
			"same rg run as above" "$(echo "$cw / $bw" | bc -l)" "$(echo "$cc / $bc" | bc -l)"
	fi
	c=$((c + 1))
done
echo "(out lines, last run: $(for c in 1 2 3 4; do printf '%s/%s ' "$(wc -l < "$dir/out.$c.a")" "$(wc -l < "$dir/out.$c.b")"; done)tracegrep/rg)"
