#!/usr/bin/env bash
# bench_influx.sh - clewd's influxdb output into a local influxd: points/s, CPU seconds and
# peak RSS of clewd; then, in the same run, a plain writer (curl, 4 at a time, the same
# points as line protocol in batches of 5000) into the same server, to show the server's
# own limit on this machine.
#
# usage: bench/bench_influx.sh [BUILD_DIR]      (default build/release)
# Environment: POINTS (default 300000): span records, one point each.
#
# influxd is started by tests/helpers/influxd on free loopback ports in a temp folder and
# stopped at the end. The spans are pipe lines with distinct IDs and timestamps (one per
# 10 us), 3 services, 4 span names, 5 routes; clewd reads them from a file on stdin
# (-o influxdb://.../bench1?red=false&logs=false&health=false: the span points alone), and
# is timed by /usr/bin/time -v (wall, user+sys CPU, max RSS). Every point is then counted
# on the server. The second writer posts the same points (as clewd would write them) to
# database bench2 with curl; its figure is the server's ingest rate without clewd.
set -euo pipefail

build=${1:-build/release}
points=${POINTS:-300000}
here=$(cd "$(dirname "$0")/.." && pwd)
clewd=$build/collector/clewd
[ -x "$clewd" ] || { echo "no $clewd: build first (meson compile -C $build)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-bench-influx-XXXXXX")
trap '"$here/tests/helpers/influxd" stop "$work/influxd"; rm -rf "$work"' EXIT

port=$("$here/tests/helpers/influxd" start "$work/influxd")
url=http://127.0.0.1:$port
curl -s -XPOST "$url/query" --data-urlencode 'q=CREATE DATABASE bench1' >/dev/null
curl -s -XPOST "$url/query" --data-urlencode 'q=CREATE DATABASE bench2' >/dev/null

# the spans, and the same points as line protocol
awk -v n="$points" 'BEGIN {
	split("gateway orders billing", svc, " "); split("db charge fetch render", nm, " ")
	split("/checkout /api/v1/orders/:id /api/v1/users/:id /health /api/v1/items", rt, " ")
	t0 = 1795413600
	for (i = 0; i < n; i++) {
		us = i * 10; s = t0 + int(us / 1000000); f = us % 1000000
		path = rt[i % 5 + 1]; sub(/:id/, i, path)
		# t0 is 2026-11-23T06:00:00Z; 10 us a span stays within the hour up to 360 M points
		printf "2026-11-23T06:%02d:%02d.%06dZ INFO t%08d:s%08d|%s|GET|%s|event=span|name=%s|dur_us=%d|status=%s\n",
			int((s - t0) / 60), (s - t0) % 60, f, i, i, svc[i % 3 + 1], path, nm[i % 4 + 1],
			100 + (i * 7919) % 50000, (i % 9 ? "ok" : "error") > "'"$work"'/spans.log"
		printf "spans,method=GET,name=%s,route=%s,service=%s,status=%s dur_us=%di,trace=\"t%08d\",span=\"s%08d\" %d%06d000\n",
			nm[i % 4 + 1], rt[i % 5 + 1], svc[i % 3 + 1], (i % 9 ? "ok" : "error"),
			100 + (i * 7919) % 50000, i, i, s, f > "'"$work"'/spans.lp"
	}
}'
bytes=$(wc -c <"$work/spans.log")
echo "points: $points span records ($((bytes / 1024 / 1024)) MiB of pipe lines), influxd $(influxd version 2>/dev/null | awk '{print $2}') on $url"

# 1. clewd -> influxdb
/usr/bin/time -v -o "$work/time.txt" "$clewd" -i stdin \
	-o "influxdb://127.0.0.1:$port/bench1?red=false&logs=false&health=false${OPTS:+&$OPTS}" <"$work/spans.log" 2>"$work/clewd.log" ||
	{ cat "$work/clewd.log" >&2; exit 1; }
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")
user=$(awk -F': ' '/User time/ { print $2 }' "$work/time.txt")
sys=$(awk -F': ' '/System time/ { print $2 }' "$work/time.txt")
rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$work/time.txt")
got=$(curl -s "$url/query?db=bench1" --data-urlencode 'q=SELECT count("dur_us") FROM spans' |
	sed -E 's/.*"values":\[\[[^,]*,([0-9]+)\]\].*/\1/')
[ "$got" = "$points" ] || { echo "clewd: the server holds $got points, not $points" >&2; exit 1; }
awk -v p="$points" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
	printf "clewd -> influxdb: %d points in %.2f s wall = %.0f points/s; clewd CPU %.2f s (user %.2f + sys %.2f); peak RSS %.1f MB\n",
		p, w, p / w, u + s, u, s, r / 1024 }'

# 2. the server alone: the same points, posted by curl, 4 requests at a time
split -l 5000 "$work/spans.lp" "$work/part."
start=$(date +%s.%N)
find "$work" -name 'part.*' -print0 | xargs -0 -P 4 -I{} \
	curl -s -o /dev/null -f -XPOST "$url/write?db=bench2&precision=ns" --data-binary @{}
end=$(date +%s.%N)
got=$(curl -s "$url/query?db=bench2" --data-urlencode 'q=SELECT count("dur_us") FROM spans' |
	sed -E 's/.*"values":\[\[[^,]*,([0-9]+)\]\].*/\1/')
[ "$got" = "$points" ] || { echo "curl: the server holds $got points, not $points" >&2; exit 1; }
awk -v p="$points" -v a="$start" -v b="$end" 'BEGIN {
	printf "curl -> influxdb (same points, batches of 5000, 4 at a time): %.2f s wall = %.0f points/s\n", b - a, p / (b - a) }'
