#!/bin/sh
# bench_find_archive.sh - tracegrep --find and clewd's search API on an archive of >= 5 GB
# (issue 12 item 4: <= 100 ms warm, <= 1 s cold, reading only summaries; an HTTP search
# <= 200 ms).
#
# usage: bench/bench_find_archive.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  a release build with bench/gen_corpus, bench/archive_ingest, cli/tracegrep and
#              collector/clewd (default build/release)
#   WORK_DIR   where the archive is built once and kept (default /tmp/clew-find-archive)
# Environment: FILES (default 25) x LINES (default 4000000) records of `gen_corpus --format
# mixed` (~55 bytes each in the archive, summaries included: 25 x 4 M is ~5.5 GB), RUNS (default
# 5), SERVICE (default orders), SINCE (default 1h: RFC 3339 or an age, as tracegrep's --since).
#
# The archive: FILES corpus files, one seed each, generated one at a time and ingested with
# bench/archive_ingest (summaries on, 64 MB segments), the first record FILES x LINES ms before
# the build started and the last about when it ended (records are ~1 ms apart), so --since 1h
# meets the newest hour of a ~25 hour archive when run right after the build.
#
# Warm: each query RUNS times after one untimed run, median and best wall time. Cold: before
# each of RUNS runs, every file of the archive is synced and evicted from the page cache
# (posix_fadvise DONTNEED, python3: no root needed, the rest of the machine's cache stays), so
# the query reads from the disk. tracegrep --stats gives the summary bytes it read. The HTTP
# search: clewd serving the archive (`--http`), `curl -w %{time_total}` on /api/traces and on
# the search page, warm.
set -eu

build=${1:-build/release}
dir=${2:-/tmp/clew-find-archive}
files=${FILES:-25}
lines=${LINES:-4000000}
runs=${RUNS:-5}
service=${SERVICE:-orders}
since=${SINCE:-1h}
gen=$build/bench/gen_corpus
ingest=$build/bench/archive_ingest
tg=$build/cli/tracegrep
clewd=$build/collector/clewd
arch=$dir/archive

for x in "$gen" "$ingest" "$tg" "$clewd"; do
	[ -x "$x" ] || { echo "missing $x: meson compile -C $build bench/gen_corpus bench/archive_ingest cli/tracegrep collector/clewd" >&2; exit 2; }
done
for x in python3 curl; do
	command -v "$x" >/dev/null || { echo "missing $x" >&2; exit 2; }
done
mkdir -p "$dir"

# ---- the archive, built once ----
if [ ! -f "$arch/.built" ] || [ "$(cat "$arch/.built")" != "$files x $lines" ]; then
	rm -rf "$arch"
	start_us=$(($(date +%s) * 1000000 - files * lines * 1000))
	i=0
	while [ "$i" -lt "$files" ]; do
		echo "archive: file $((i + 1)) of $files ($lines records)" >&2
		"$gen" --format mixed --lines "$lines" --seed $((i + 1)) \
			--start-us $((start_us + i * lines * 1000)) >"$dir/part.log"
		"$ingest" "$arch" "$dir/part.log" >/dev/null
		i=$((i + 1))
	done
	rm -f "$dir/part.log"
	echo "$files x $lines" >"$arch/.built"
fi
bytes=$(du -sb "$arch" | cut -f1)
sum_bytes=$(cat "$arch"/*.sum | wc -c)
nseg=$(find "$arch" -name '*.seg' | wc -l)

# evict - drop the archive's files from the page cache (clean pages only: synced first)
evict() {
	python3 - "$arch" <<'EOF'
import os, sys
d = sys.argv[1]
for n in os.listdir(d):
    fd = os.open(os.path.join(d, n), os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
EOF
}

now() { date +%s%N; }

# stats LIST - "median best" in ms of the µs values in LIST (one a line)
stats() {
	sorted=$(echo "$1" | sort -n)
	n=$(echo "$sorted" | wc -l)
	med=$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")
	best=$(echo "$sorted" | head -1)
	awk -v m="$med" -v b="$best" 'BEGIN { printf "%8.1f %8.1f", m / 1000, b / 1000 }'
}

# query NAME ARGS... - warm and cold wall times, summary bytes read, transactions found
query() {
	name=$1
	shift
	CLEW_ARCHIVE=$arch "$tg" --find "$@" --color=never >/dev/null 2>&1 || true # warm-up
	warm="" cold=""
	k=0
	while [ "$k" -lt "$runs" ]; do
		s=$(now)
		CLEW_ARCHIVE=$arch "$tg" --find "$@" --color=never --json >"$dir/out" 2>/dev/null || true
		e=$(now)
		warm="$warm$(((e - s) / 1000))
"
		k=$((k + 1))
	done
	k=0
	while [ "$k" -lt "$runs" ]; do
		evict
		s=$(now)
		CLEW_ARCHIVE=$arch "$tg" --find "$@" --color=never --json >/dev/null 2>&1 || true
		e=$(now)
		cold="$cold$(((e - s) / 1000))
"
		k=$((k + 1))
	done
	st=$(CLEW_ARCHIVE=$arch "$tg" --find "$@" --stats --color=never >/dev/null 2>"$dir/stats" || true
		grep -o '[0-9]* examined, [0-9]* from summary files ([0-9]* bytes), [0-9]* scanned' "$dir/stats" || echo "?")
	printf '%-44s %s  %s  %6d   %s\n' "$name" "$(stats "$(echo "$warm" | sed '/^$/d')")" \
		"$(stats "$(echo "$cold" | sed '/^$/d')")" "$(wc -l <"$dir/out")" "$st"
}

echo "archive: $arch, $bytes bytes ($nseg segments, summary files $sum_bytes bytes); $runs runs; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %8s  %8s %8s  %6s   %s\n' "query" "warm med" "best" "cold med" "best" "found" "segments / bytes read (--stats)"
query "--find --error --since $since" --error --since "$since"
query "--find --service $service --min-duration 1s" --service "$service" --min-duration 1s

# ---- the HTTP search: clewd serving the archive ----
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/state"
"$clewd" --state-dir "$dir/state" -i tcp://127.0.0.1:0 -o "archive:$arch" --http "127.0.0.1:$port" \
	>/dev/null 2>"$dir/clewd.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
i=0
until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$dir/clewd.log" >&2; exit 1; }
	sleep 0.1
done
# http NAME URL - warm: one untimed request, then RUNS; median and best of curl's time_total
http() {
	curl -s -o /dev/null "$2"
	t=""
	k=0
	while [ "$k" -lt "$runs" ]; do
		t="$t$(curl -s -o "$dir/http.out" -w '%{time_total}' "$2" | awk '{ printf "%d", $1 * 1e6 }')
"
		k=$((k + 1))
	done
	printf '%-44s %s  (%s bytes, HTTP %s)\n' "$1" "$(stats "$(echo "$t" | sed '/^$/d')")" \
		"$(wc -c <"$dir/http.out")" "$(curl -s -o /dev/null -w '%{http_code}' "$2")"
}
end_us=$(($(date +%s) * 1000000))
printf '%-44s %8s %8s\n' "HTTP (warm)" "med ms" "best ms"
http "GET /api/traces?service=$service&minDuration=1s" \
	"http://127.0.0.1:$port/api/traces?service=$service&minDuration=1s&limit=20"
http "GET /api/traces?tags={\"error\":\"true\"} (1 h)" \
	"http://127.0.0.1:$port/api/traces?tags=%7B%22error%22%3A%22true%22%7D&start=$((end_us - 3600000000))&end=$end_us&limit=20"
http "GET /?service=$service&min-duration=1s (page)" \
	"http://127.0.0.1:$port/?service=$service&min-duration=1s"
