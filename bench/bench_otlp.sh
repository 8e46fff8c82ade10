#!/bin/sh
# bench_otlp.sh - clewd's otlp output (protobuf and OTLP/JSON) into a sink, next to its
# Kafka output into librdkafka's mock cluster and its null output, on the same corpus in the
# same run.
#
# usage: bench/bench_otlp.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with collector/clewd, bench/gen_corpus and
#              tests/helpers/kafka_mock (default build/release)
#   WORK_DIR   where the corpus is generated once and kept (default /tmp/clew-otlp-bench)
# Environment: LINES records in the corpus (default 1000000), RUNS (default 3).
#
# The corpus is gen_corpus --format mixed (bench/lib.sh's gen_mixed_corpus): pipe and JSON
# records, ~5 % spans, some with stack traces; its trace IDs are 16 hex digits and its span
# IDs 8, so the otlp output hashes every ID to OTLP's length (the original kept as an
# attribute): the costly path. clewd reads it on stdin and exits once every record is
# acknowledged, so the wall time covers delivery. The sink (bench/otlp_sink.py) reads and
# discards each request and answers 200; the Kafka mock (tests/helpers/kafka_mock, 3
# brokers, topic bench with 6 partitions) runs on the same machine. Each case runs RUNS
# times; the fastest is kept with its CPU seconds (clewd's user + system) and peak RSS
# (GNU time). Records/CPU-second is clewd's own cost; the sink's and the mock's CPU are not
# counted.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-otlp-bench}
lines=${LINES:-1000000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
clewd=$build/collector/clewd
gen=$build/bench/gen_corpus
mock=$build/tests/helpers/kafka_mock
for x in "$clewd" "$gen" "$mock"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
gen_mixed_corpus "$gen" "$dir" 1 "$lines"
input=$dir/app-0.log
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-otlp-bench-XXXXXX")
sink_pid="" mock_pid=""
cleanup() {
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	[ -z "$mock_pid" ] || kill "$mock_pid" 2>/dev/null || true
	exec 3>&- 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# the sink
python3 "$here/otlp_sink.py" "$work/sink.port" "$work/sink.stats" &
sink_pid=$!
while [ ! -s "$work/sink.port" ]; do sleep 0.05; done
sink=127.0.0.1:$(cat "$work/sink.port")

# the Kafka mock: its first line is the bootstrap list; it quits at EOF on its stdin (fd 3)
mkfifo "$work/mock.in"
"$mock" bench:6 <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/mock.in"
while [ ! -s "$work/mock.out" ]; do sleep 0.05; done
brokers=$(head -1 "$work/mock.out")

# best_of CMD... - run CMD (stdin from $input) $runs times; print "wall user+sys maxrss_kb" of the fastest.
best_of() {
	best=""
	i=0
	while [ "$i" -lt "$runs" ]; do
		rm -rf "$work/state"
		t0=$(date +%s%N)
		/usr/bin/time -f '%U %S %M' -o "$work/time.out" "$@" -s "$work/state" <"$input" >/dev/null \
			2>"$work/err.log" || { cat "$work/err.log" >&2; exit 1; }
		t1=$(date +%s%N)
		line=$(awk -v ns=$((t1 - t0)) '{ printf "%.4f %.3f %d\n", ns / 1e9, $1 + $2, $3 }' "$work/time.out")
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x); split(b, y); exit !(x[1] < y[1]) }'; then
			best=$line
		fi
		i=$((i + 1))
	done
	echo "$best"
}

row() { # NAME "wall cpu rss"
	echo "$2" | awk -v name="$1" -v lines="$lines" '{
		wall = $1; cpu = $2; rss = $3
		printf "%-34s %8.3f s %8.2f CPU-s %8.0f k rec/s %8.0f k rec/CPU-s %6.1f MB RSS\n",
			name, wall, cpu, lines / wall / 1000, (cpu > 0 ? lines / cpu / 1000 : 0), rss / 1024 }'
}

bytes=$(stat -c %s "$input")
cat "$input" >/dev/null # warm the page cache
echo "clewd $($clewd --version | cut -d' ' -f2), $lines mixed records ($(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }')), best of $runs, $(nproc) cores"
row "clewd -o null" "$(best_of "$clewd" -i stdin -o null)"
row "clewd -o kafka (json, zstd)" "$(best_of "$clewd" -i stdin -o "kafka://$brokers/bench")"
row "clewd -o otlp (protobuf, gzip)" "$(best_of "$clewd" -i stdin -o "otlp://$sink")"
row "clewd -o otlp (protobuf, no gzip)" "$(best_of "$clewd" -i stdin -o "otlp://$sink?gzip=false")"
row "clewd -o otlp (json, gzip)" "$(best_of "$clewd" -i stdin -o "otlp://$sink?encoding=json")"
kill "$sink_pid"
wait "$sink_pid" 2>/dev/null || true
sink_pid=""
awk '{ printf "sink: %d requests, %.0f MB of bodies in all runs\n", $1, $2 / 1e6 }' "$work/sink.stats"
