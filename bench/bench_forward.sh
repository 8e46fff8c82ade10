#!/bin/sh
# bench_forward.sh - clewd's forward input: records/s and records per CPU-second of clewd, with
# ack: durable (each ack after the write-ahead log's fdatasync) and ack: memory, in the same run,
# for two corpus shapes, from bench/fwd_load (PackedForward messages of BATCH events over CONNS
# connections, each waiting for its ack before the next, as Fluent Bit's forward output does).
#
# usage: bench/bench_forward.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd and bench/fwd_load (default build/release)
#   WORK_DIR   clewd's state directories (default /tmp/clew-forward-bench)
# Environment: RECORDS per case (default 1000000), CONNS (8), BATCH (200), RUNS (3).
#
# clewd runs `-i forward://127.0.0.1:0?ack=MODE -o null`, so the figure is the input (decode,
# render as clew JSON lines, the intake, parse, chunk) without an output's cost. Wall time is the
# load generator's, from its first send to its last ack; CPU seconds are clewd's (user + system,
# /proc/PID/stat) over the same interval. The best wall time of RUNS is kept.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-forward-bench}
records=${RECORDS:-1000000}
conns=${CONNS:-8}
batch=${BATCH:-200}
runs=${RUNS:-3}
clewd=$build/collector/clewd
load=$build/bench/fwd_load
for x in "$clewd" "$load"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build collector/clewd bench/fwd_load" >&2; exit 2; }
done
mkdir -p "$dir"
tck=$(getconf CLK_TCK)

cpu_ticks() { # PID: utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# one MODE SHAPE: append "wall cpu records bytes" of one run to $dir/runs
one() {
	rm -rf "$dir/state"
	"$clewd" -s "$dir/state" -i "forward://127.0.0.1:0?ack=$1" -o null </dev/null >/dev/null 2>"$dir/err.log" &
	pid=$!
	port=""
	while [ -z "$port" ]; do
		grep -q '"level":"\(ERROR\|FATAL\)"' "$dir/err.log" && { cat "$dir/err.log" >&2; exit 1; }
		port=$(sed -n 's/.*"message":"listening","input":"forward".*"port":"\([0-9]*\)".*/\1/p' "$dir/err.log")
		[ -n "$port" ] || sleep 0.05
	done
	c0=$(cpu_ticks "$pid")
	"$load" 127.0.0.1 "$port" "$records" "$conns" "$batch" "$2" >"$dir/load.out" </dev/null
	c1=$(cpu_ticks "$pid")
	kill -TERM "$pid"
	wait "$pid" || { cat "$dir/err.log" >&2; exit 1; }
	awk -v c=$((c1 - c0)) -v tck="$tck" '{ printf "%.4f %.3f %d %d\n", $2, c / tck, $1, $3 }' "$dir/load.out" >>"$dir/runs"
}

best_of() { # MODE SHAPE: the run with the best wall time
	: >"$dir/runs"
	i=0
	while [ "$i" -lt "$runs" ]; do
		one "$1" "$2"
		i=$((i + 1))
	done
	sort -n "$dir/runs" | head -1
}

echo "clewd $($clewd --version | cut -d' ' -f2), $records records per case, $conns connections, $batch events per message, best of $runs, $(nproc) cores"
for shape in small docker; do
	for mode in memory durable; do
		best_of "$mode" "$shape" | awk -v name="$shape, ack: $mode" '{
			wall = $1; cpu = $2; n = $3; bytes = $4
			printf "%-22s %8.3f s %7.2f CPU-s %8.0f k rec/s %8.0f k rec/CPU-s %7.1f MB/s\n",
				name, wall, cpu, n / wall / 1000, (cpu > 0 ? n / cpu / 1000 : 0), bytes / wall / 1e6 }'
	done
done
