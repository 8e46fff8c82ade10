#!/bin/sh
# bench_otlp_in.sh - clewd's otlp input: OTLP/HTTP protobuf and JSON requests of 512 spans
# into the null output, next to the floor in the same run: the same spans as clew ndjson
# lines POSTed to the http input (the line path the otlp input's records take after
# decoding). Spans per second (wall) and per CPU-second of clewd (user + system from /proc,
# start-up excluded; the load generator's own CPU is not counted).
#
# usage: bench/bench_otlp_in.sh [BUILD_DIR]   (default build/release: a release build with
#        collector/clewd). Environment: REQUESTS per case (2000), SPANS per request (512),
#        CONNS (4 keep-alive connections), RUNS (3: the best wall time is kept), ACK (memory).
# The load generator is bench/otlp_load.py (python3): it builds each body once and POSTs it
# REQUESTS times, waits until clewd's /metrics counts every record read and no chunk queued.
set -eu
build=${1:-build/release}
clewd=$build/collector/clewd
[ -x "$clewd" ] || { echo "missing $clewd: meson compile -C $build collector/clewd" >&2; exit 2; }
here=$(dirname "$0")
runs=${RUNS:-3}
echo "clewd $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs," \
	"${REQUESTS:-2000} requests x ${SPANS:-512} spans, ${CONNS:-4} connections, ack ${ACK:-memory}, best of $runs"
for case in proto json ndjson; do
	best=""
	i=0
	while [ "$i" -lt "$runs" ]; do
		line=$(python3 "$here/otlp_load.py" "$clewd" "$case")
		wall=$(echo "$line" | awk '{ print $4 }')
		if [ -z "$best" ] || awk -v a="$wall" -v b="$(echo "$best" | awk '{ print $4 }')" 'BEGIN { exit !(a < b) }'; then
			best=$line
		fi
		i=$((i + 1))
	done
	echo "$best"
done
