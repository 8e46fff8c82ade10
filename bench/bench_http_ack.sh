#!/bin/sh
# bench_http_ack.sh - clewd's http input with ack: durable (write-ahead log, group commit) next to
# ack: memory, same run, same load: CONNS keep-alive connections POSTing LINES-record bodies, each
# waiting for its answer (bench/http_load.c), into `-o null`.
#
# usage: bench/bench_http_ack.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd, bench/gen_corpus, bench/http_load (default build/rel)
#   WORK_DIR   corpora and state (default /tmp/clew-http-bench)
# Environment: REQUESTS (default 20000), CONNS (8), LINES (100), RUNS (3; the best is kept).
#
# Figures: records/s (wall, as the client sees it) and records per CPU-second of clewd (utime +
# stime from /proc/PID/stat, so the load generator's CPU is not counted). Targets (issue 13):
# durable >= 300 k records/s at 100-record requests from 8 connections, and durable costing
# <= 30 % against memory. Corpus shapes: clew pipe and JSON lines (gen_corpus), and Logstash-style
# JSON from ../shared/corpora/tamarco-logs when present (written by others).
set -eu

build=${1:-build/rel}
dir=${2:-/tmp/clew-http-bench}
requests=${REQUESTS:-20000}
conns=${CONNS:-8}
lines=${LINES:-100}
runs=${RUNS:-3}
clewd=$build/collector/clewd
gen=$build/bench/gen_corpus
load=$build/bench/http_load
for x in "$clewd" "$gen" "$load"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build collector/clewd bench/gen_corpus bench/http_load" >&2; exit 2; }
done
mkdir -p "$dir"
here=$(cd "$(dirname "$0")/.." && pwd)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# one MODE CORPUS - one run; prints "records wall cpu"
one() {
	rm -rf "$dir/state"
	"$clewd" -i "http://127.0.0.1:0/ingest?ack=$1" -o null -s "$dir/state" >/dev/null 2>"$dir/clewd.log" &
	pid=$!
	port=""
	for _ in $(seq 200); do
		port=$(sed -n 's/.*"message":"listening".*"port":"\([0-9]*\)".*/\1/p' "$dir/clewd.log" | head -1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { kill "$pid"; cat "$dir/clewd.log" >&2; exit 1; }
	c0=$(cpu_ticks "$pid")
	out=$("$load" "$port" /ingest "$2" "$conns" "$lines" "$requests") ||
		{ kill "$pid"; echo "http_load failed on $2" >&2; exit 1; }
	c1=$(cpu_ticks "$pid")
	kill -TERM "$pid"
	wait "$pid"
	echo "$out" | awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '{ print $4, $6, c / hz }'
}

best() { # MODE CORPUS
	b=""
	for _ in $(seq "$runs"); do
		r=$(one "$1" "$2")
		if [ -z "$b" ] || awk -v a="$r" -v b="$b" 'BEGIN { split(a, x); split(b, y); exit !(x[2] < y[2]) }'; then
			b=$r
		fi
	done
	echo "$b"
}

row() { # NAME "records wall cpu"
	echo "$2" | awk -v name="$1" '{ printf "%-22s %9.0f k rec/s %9.0f k rec/CPU-s %7.2f s %6.2f CPU-s\n", name, $1 / $2 / 1000, ($3 > 0 ? $1 / $3 / 1000 : 0), $2, $3 }'
}

[ -s "$dir/pipe.log" ] || "$gen" --format pipe --lines 200000 >"$dir/pipe.log"
[ -s "$dir/json.log" ] || "$gen" --format json --lines 200000 >"$dir/json.log"
corpora="pipe json"
if [ -s "$here/../shared/corpora/tamarco-logs/tamarco-logstash.log" ]; then
	for _ in $(seq 1000); do cat "$here/../shared/corpora/tamarco-logs/tamarco-logstash.log"; done >"$dir/logstash.log"
	corpora="$corpora logstash"
fi
echo "clewd http input: $requests requests of $lines records from $conns connections, best of $runs, $(nproc) cores"
for c in $corpora; do
	echo "== $c"
	m=$(best memory "$dir/$c.log")
	d=$(best durable "$dir/$c.log")
	row "ack: memory" "$m"
	row "ack: durable" "$d"
	echo "$m $d" | awk '{ printf "%-22s %9.1f %% of memory records/s, %5.1f %% of its records per CPU-second\n", "durable cost", 100 - 100 * ($4 / $5) / ($1 / $2), 100 - 100 * ($4 / $6) / ($1 / $3) }'
done
